// Reductions over axes: sum, mean, max, var, argmax, and sum_to (the broadcasting backward).
// `axes` may be negative; keepdim keeps reduced axes with size 1.
#pragma once

#include <vector>

#include "engine/core/tensor.h"

namespace qbh {

Tensor sum(const Tensor& x);  // over all axes, a 0-d tensor
Tensor sum(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim = false);
// Maximum over the axes; the gradient goes to the first position holding the maximum.
Tensor max(const Tensor& x);
Tensor max(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim = false);
// Variance over the axes; unbiased divides by n - 1 (PyTorch's default), else by n.
Tensor var(const Tensor& x, const std::vector<int64_t>& axes, bool unbiased = true,
           bool keepdim = false);
// Index (i64) of the first maximum along `axis`; not differentiable.
Tensor argmax(const Tensor& x, int64_t axis, bool keepdim = false);

// Sums x down to `shape`, which x's shape must broadcast from (the gradient of a broadcast).
Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace qbh
