// Shape arithmetic shared by every op: sizes, contiguous strides, broadcasting, axis
// normalisation, and printing shapes into error messages.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qbh {

using Shape = std::vector<int64_t>;
using Strides = std::vector<int64_t>;

int64_t numel_of(const Shape& shape);
Strides contiguous_strides(const Shape& shape);
std::string shape_str(const Shape& shape);

// Maps a possibly negative axis into [0, ndim); throws naming `op` when out of range.
int64_t normalize_axis(int64_t axis, int64_t ndim, const char* op);

// The broadcast result of two shapes (numpy rules); throws naming `op` when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// Strides that read a tensor of `shape`/`strides` as if it had `target` shape (stride 0 on
// broadcast axes). `shape` must be broadcastable to `target`.
Strides broadcast_strides(const Shape& shape, const Strides& strides, const Shape& target);

}  // namespace qbh
