// CPU kernels of the losses: squared error and a fused log-softmax + negative log-likelihood
// over [N, C] logits (with label smoothing). Plain loops over contiguous arrays, no autograd.
#pragma once

#include <cstdint>

namespace qbh::cpu {

// sum over i < n of (x[i] - t[i])^2, accumulated in double.
template <class T>
double squared_error_sum(const T* x, const T* t, int64_t n);

// out[i] = (x[i] - t[i])^2.
template <class T>
void squared_error(T* out, const T* x, const T* t, int64_t n);

// dx[i] = scale * g[i * g_stride] * (x[i] - t[i]); g_stride 0 broadcasts one gradient.
template <class T>
void squared_error_backward(T* dx, const T* x, const T* t, const T* g, int64_t g_stride, T scale,
                            int64_t n);

// Per-row cross-entropy of logits [N, C] against classes target[N], smoothed by eps:
// loss[i] = (1 - eps) * (lse_i - x[i, t_i]) + eps * (lse_i - mean_c x[i, c]), where lse_i is
// the row's log-sum-exp. stats [N, 2] receives (max_i, log sum_c exp(x[i, c] - max_i)) for the
// backward pass: kept apart, they give softmax exactly even for huge logits.
template <class T>
void cross_entropy_forward(T* loss, T* stats, const T* logits, const int64_t* target, int64_t rows,
                           int64_t classes, T eps);

// dx[i, c] = scale * g[i * g_stride] * (softmax(x)[i, c] - q[i, c]) with the smoothed target
// distribution q = (1 - eps) * onehot(t_i) + eps / C.
template <class T>
void cross_entropy_backward(T* dx, const T* logits, const T* stats, const int64_t* target,
                            const T* g, int64_t g_stride, T scale, int64_t rows, int64_t classes,
                            T eps);

}  // namespace qbh::cpu
