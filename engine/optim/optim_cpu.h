// CPU kernels of the optimisers: one in-place update over one parameter's raw values (the llm.c
// pattern: plain loops over pointers, no autograd, f32/f64 templates). The classes in sgd.h,
// adamw.h and lars.h own the state buffers and call these once per parameter.
#pragma once

#include <cstdint>

namespace qbh::cpu {

struct SgdHyper {
    double lr, momentum, dampening, weight_decay;
    bool nesterov;
    bool first;  // the momentum buffer is fresh: torch sets it to the update, undamped
};
// torch.optim.SGD: d = g + wd p; buf = momentum buf + (1 - dampening) d (buf = d when first);
// d = nesterov ? d + momentum buf : buf; p -= lr d. `buf` may be null when momentum == 0.
template <class T>
void sgd_step(T* p, const T* g, T* buf, int64_t n, const SgdHyper& h);

struct AdamWHyper {
    double lr, beta1, beta2, eps, weight_decay;
    int64_t step;  // 1 on the first update (bias correction)
};
// torch.optim.AdamW: p *= 1 - lr wd; m = lerp(m, g, 1 - beta1); v = beta2 v + (1 - beta2) g^2;
// p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
template <class T>
void adamw_step(T* p, const T* g, T* m, T* v, int64_t n, const AdamWHyper& h);

struct LarsHyper {
    double lr, weight_decay, momentum, trust_coefficient;
    bool adapt;  // ndim > 1: weight decay and the trust ratio apply; else the plain momentum step
};
// MAE's util/lars.py: d = g + wd p; q = trust ||p|| / ||d|| (1 when a norm is 0); d *= q;
// mu = momentum mu + d; p -= lr mu.
template <class T>
void lars_step(T* p, const T* g, T* mu, int64_t n, const LarsHyper& h);

// Sum of squares accumulated in double, the same bits for any thread count (clipping).
template <class T>
double sum_squares(const T* x, int64_t n);

// x *= factor.
template <class T>
void scale(T* x, int64_t n, double factor);

}  // namespace qbh::cpu
