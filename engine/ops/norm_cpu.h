// CPU kernels for the normalisation layers: fused layer_norm forward/backward over rows of a
// [rows, cols] array, and batch_norm over a [N, C, S] array (S = product of spatial axes).
// Plain functions over raw pointers with no autograd (the llm.c pattern); norm.cpp calls them.
#pragma once

#include <cstdint>

namespace qbh::cpu {

// out[r, :] = (x[r, :] - mean[r]) * rstd[r] * w + b, saving mean[r] and rstd[r] =
// 1 / sqrt(biased var + eps) for the backward. w and b may be null (no scale / no shift).
template <class T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* x, const T* w, const T* b, int64_t rows,
                       int64_t cols, double eps);

// From dout and the saved mean/rstd: dx (overwritten), dw and db (overwritten with the sums
// over rows). Any of dx, dw, db may be null when not wanted; w may be null (scale 1).
template <class T>
void layernorm_backward(T* dx, T* dw, T* db, const T* dout, const T* x, const T* w, const T* mean,
                        const T* rstd, int64_t rows, int64_t cols);

// Per-channel mean and biased variance of x [N, C, S] over N and S.
template <class T>
void batchnorm_stats(T* mean, T* var, const T* x, int64_t n, int64_t c, int64_t s);

// out = (x - mean[c]) * invstd[c] * w[c] + b[c] over x [N, C, S]; w and b may be null.
template <class T>
void batchnorm_forward(T* out, const T* x, const T* mean, const T* invstd, const T* w, const T* b,
                       int64_t n, int64_t c, int64_t s);

// Backward of batchnorm_forward. `training`: mean/invstd are the batch statistics of x, so dx
// flows through them; otherwise they are constants (running stats) and dx is a per-channel
// scale of dout. Any of dx, dw, db may be null when not wanted; w may be null (scale 1).
template <class T>
void batchnorm_backward(T* dx, T* dw, T* db, const T* dout, const T* x, const T* mean,
                        const T* invstd, const T* w, int64_t n, int64_t c, int64_t s,
                        bool training);

}  // namespace qbh::cpu
