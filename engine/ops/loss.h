// Losses: mean squared error and cross-entropy over class logits (with label smoothing).
#pragma once

#include "engine/core/tensor.h"

namespace qbh {

enum class Reduction { mean, sum, none };

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);

// logits [N, C], target i64 [N] with classes in [0, C). Label smoothing eps mixes the one-hot
// target with the uniform distribution, as torch.nn.functional.cross_entropy.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, double label_smoothing = 0.0,
                     Reduction reduction = Reduction::mean);

}  // namespace qbh
