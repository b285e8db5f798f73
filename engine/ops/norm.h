// Normalisation layers: layer_norm over the last axis and batch_norm over all axes but the
// channel axis 1 (training with running statistics, or evaluation from them).
#pragma once

#include "engine/core/tensor.h"

namespace qbh {

// Normalises each row of the last axis: (x - mean) / sqrt(var + eps) * weight + bias, with
// the biased variance. weight/bias [C] or undefined.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);

// x [N, C] or [N, C, ...]. In training, normalises with the batch statistics (biased variance)
// and, when running_mean/var are defined, updates them in place with
// running = (1 - momentum) running + momentum stat (the variance stat unbiased, as PyTorch).
// In evaluation, normalises with running_mean/var. weight/bias [C] or undefined (no affine).
Tensor batch_norm(const Tensor& x, Tensor running_mean, Tensor running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);

}  // namespace qbh
