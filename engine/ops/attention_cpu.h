// CPU kernels for fused scaled dot-product attention: forward (saving the per-row logsumexp)
// and backward (recomputing the probabilities from it), over packed [B, H, L, D] arrays. Plain
// functions over raw pointers with no autograd (the llm.c pattern); attention.cpp calls them.
#pragma once

#include <cstdint>

namespace qbh::cpu {

// The sizes of one attention call. q [b, h, lq, d], k [b, h, lk, d], v [b, h, lk, dv] and
// out [b, h, lq, dv] are contiguous. The mask (may be null) is read as mask[bi * mask_strides[0]
// + hi * mask_strides[1] + i * mask_strides[2] + j * mask_strides[3]] (0 strides broadcast);
// a zero entry forbids query i to attend to key j.
struct AttentionDims {
    int64_t b, h, lq, lk, d, dv;
    double scale;
    int64_t mask_strides[4];
};

// out = softmax(q k^T scale, masked) v; lse [b, h, lq] = the logsumexp of each masked score row,
// -inf for a row whose mask forbids every key (that row's output is 0).
template <class T>
void attention_forward(T* out, T* lse, const T* q, const T* k, const T* v, const T* mask,
                       const AttentionDims& dims);

// Gradients from dout, the forward's out and lse. Any of dq, dk, dv may be null when not wanted.
template <class T>
void attention_backward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v,
                        const T* out, const T* lse, const T* mask, const AttentionDims& dims);

}  // namespace qbh::cpu
