// View and copy ops: reshape, permute, slice, expand ... share storage with their input and
// record a node whose backward maps the gradient back to the input's geometry. contiguous,
// clone and the dtype/device conversions copy. Tensor's methods of the same names call these.
#pragma once

#include "engine/core/tensor.h"

namespace qbh {

Tensor reshape(const Tensor& x, Shape shape);  // one entry may be -1 (inferred)
Tensor view(const Tensor& x, Shape shape);     // like reshape, but never copies
Tensor permute(const Tensor& x, const std::vector<int64_t>& order);
Tensor transpose(const Tensor& x, int64_t a, int64_t b);
// Elements start, start+step, ... < end along `axis` (end is clamped; negative start/end count
// from the end, as in Python).
Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t end, int64_t step = 1);
Tensor select(const Tensor& x, int64_t axis, int64_t index);
Tensor expand(const Tensor& x, const Shape& shape);  // size-1 axes repeat with stride 0
Tensor unsqueeze(const Tensor& x, int64_t axis);
Tensor squeeze(const Tensor& x, int64_t axis);
Tensor flatten(const Tensor& x, int64_t start_axis = 0, int64_t end_axis = -1);

Tensor contiguous(const Tensor& x);
// x itself when contiguous, else an unrecorded contiguous copy: for an op's forward that records
// its own node on the original x and only needs the values densely packed.
Tensor contiguous_for_kernel(const Tensor& x);
Tensor clone(const Tensor& x);
Tensor to_dtype(const Tensor& x, DType dtype);
Tensor to_device(const Tensor& x, Device device);

// In-place copy of `src` (broadcast to dst's shape, converted to dst's dtype) into `dst`.
// Not recorded by autograd: use under NoGradGuard or on tensors that do not require grad.
void copy_(Tensor& dst, const Tensor& src);
void fill_(Tensor& dst, double value);

}  // namespace qbh
