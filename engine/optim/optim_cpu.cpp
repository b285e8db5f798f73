// Optimiser kernels (see optim_cpu.h). The arithmetic follows PyTorch's op order in the
// parameter's precision (scalars rounded to T), so f32 results track torch to rounding and f64
// results agree to ~1e-15. OpenMP splits large parameters; small ones stay on one thread.
#include "engine/optim/optim_cpu.h"

#include <cmath>

namespace qbh::cpu {

namespace {
// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;
}  // namespace

template <class T>
void sgd_step(T* p, const T* g, T* buf, int64_t n, const SgdHyper& h) {
    const T wd = static_cast<T>(h.weight_decay), mom = static_cast<T>(h.momentum);
    const T keep = static_cast<T>(1.0 - h.dampening), lr = static_cast<T>(h.lr);
    const bool decay = h.weight_decay != 0, use_buf = h.momentum != 0;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
        T d = decay ? g[i] + wd * p[i] : g[i];
        if (use_buf) {
            T b = h.first ? d : buf[i] * mom + keep * d;
            buf[i] = b;
            d = h.nesterov ? d + mom * b : b;
        }
        p[i] = p[i] - lr * d;
    }
}

template <class T>
void adamw_step(T* p, const T* g, T* m, T* v, int64_t n, const AdamWHyper& h) {
    const double t = static_cast<double>(h.step);
    const T decay = static_cast<T>(1.0 - h.lr * h.weight_decay);
    const T w1 = static_cast<T>(1.0 - h.beta1), b2 = static_cast<T>(h.beta2);
    const T w2 = static_cast<T>(1.0 - h.beta2), eps = static_cast<T>(h.eps);
    const T neg_step = static_cast<T>(-h.lr / (1.0 - std::pow(h.beta1, t)));
    const T bc2_sqrt = static_cast<T>(std::sqrt(1.0 - std::pow(h.beta2, t)));
    const bool lerp_low = std::abs(1.0 - h.beta1) < 0.5;  // torch's two-sided lerp formula
    const bool decay_on = h.weight_decay != 0;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
        T pi = decay_on ? p[i] * decay : p[i];
        T mi = lerp_low ? m[i] + w1 * (g[i] - m[i]) : g[i] - (g[i] - m[i]) * (T(1) - w1);
        T vi = v[i] * b2 + w2 * g[i] * g[i];
        m[i] = mi;
        v[i] = vi;
        T denom = std::sqrt(vi) / bc2_sqrt + eps;
        p[i] = pi + neg_step * mi / denom;
    }
}

template <class T>
void lars_step(T* p, const T* g, T* mu, int64_t n, const LarsHyper& h) {
    const T wd = static_cast<T>(h.weight_decay), mom = static_cast<T>(h.momentum);
    const T lr = static_cast<T>(h.lr);
    T q = T(1);
    if (h.adapt) {
        double pn2 = 0, dn2 = 0;
#pragma omp parallel for schedule(static) reduction(+ : pn2, dn2) if (n >= kParallelMin)
        for (int64_t i = 0; i < n; ++i) {
            T d = g[i] + wd * p[i];
            pn2 += static_cast<double>(p[i]) * p[i];
            dn2 += static_cast<double>(d) * d;
        }
        if (pn2 > 0 && dn2 > 0)
            q = static_cast<T>(h.trust_coefficient * std::sqrt(pn2) / std::sqrt(dn2));
    }
    const bool adapt = h.adapt;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
        T d = adapt ? (g[i] + wd * p[i]) * q : g[i];
        T b = mu[i] * mom + d;
        mu[i] = b;
        p[i] = p[i] - lr * b;
    }
}

template <class T>
double sum_squares(const T* x, int64_t n) {
    double acc = 0;
#pragma omp parallel for schedule(static) reduction(+ : acc) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) acc += static_cast<double>(x[i]) * x[i];
    return acc;
}

template <class T>
void scale(T* x, int64_t n, double factor) {
    const T f = static_cast<T>(factor);
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) x[i] *= f;
}

#define QBH_INSTANTIATE(T)                                                         \
    template void sgd_step<T>(T*, const T*, T*, int64_t, const SgdHyper&);         \
    template void adamw_step<T>(T*, const T*, T*, T*, int64_t, const AdamWHyper&); \
    template void lars_step<T>(T*, const T*, T*, int64_t, const LarsHyper&);       \
    template double sum_squares<T>(const T*, int64_t);                             \
    template void scale<T>(T*, int64_t, double);
QBH_INSTANTIATE(float)
QBH_INSTANTIATE(double)
#undef QBH_INSTANTIATE

}  // namespace qbh::cpu
