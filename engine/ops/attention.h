// Scaled dot-product attention over heads, as torch.nn.functional.scaled_dot_product_attention:
// softmax(q k^T * scale + mask) v, one fused op with its own backward.
#pragma once

#include "engine/core/tensor.h"

namespace qbh {

// q [B, H, Lq, D], k and v [B, H, Lk, D] (v may have its own last size Dv) -> [B, H, Lq, Dv].
// mask: undefined, or broadcastable to [B, H, Lq, Lk]; 0 = may not attend (added as -inf),
// non-zero = may attend (the boolean-mask convention of PyTorch, as 0/1 in q's dtype).
// scale <= 0 means 1 / sqrt(D). q, k, v must share B and H (no broadcasting between them).
// A query row whose mask forbids EVERY key is defined here as output 0 with zero gradient
// (PyTorch returns NaN there): such rows then cannot poison a loss or a parameter update.
// The CPU forward saves only the per-row logsumexp; the backward recomputes the probabilities.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const Tensor& mask = Tensor(), double scale = 0.0);

}  // namespace qbh
