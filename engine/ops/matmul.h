// Matrix products: matmul (1-D, 2-D and batched with broadcast batch axes, as torch.matmul) and
// linear (x W^T + b, PyTorch's weight layout [out, in]). CPU GEMMs run on Eigen.
#pragma once

#include "engine/core/tensor.h"

namespace qbh {

Tensor matmul(const Tensor& a, const Tensor& b);
// x [..., in], weight [out, in], bias [out] or undefined -> [..., out].
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace qbh
