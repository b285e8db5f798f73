// Shape ops that move data: cat, stack, pad, and the index ops MAE's random masking needs
// (gather, scatter, index_select). Views (reshape, permute, slice) live in view.h.
#pragma once

#include <vector>

#include "engine/core/tensor.h"

namespace qbh {

Tensor cat(const std::vector<Tensor>& tensors, int64_t axis);
Tensor stack(const std::vector<Tensor>& tensors, int64_t axis);

// Constant padding. `pads` lists (before, after) pairs starting from the LAST axis, as
// torch.nn.functional.pad: {left, right, top, bottom} pads W then H of an NCHW tensor.
// Negative pads crop, as in PyTorch.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value = 0.0);

// out[i][j][k] = x[i][index[i][j][k]][k] for axis 1 (torch.gather); index i64, same number of
// axes as x, index.size(d) <= x.size(d) for d != axis.
Tensor gather(const Tensor& x, int64_t axis, const Tensor& index);
// A copy of x with out[i][index[i][j][k]][k] = src[i][j][k] for axis 1 (torch.scatter); the
// gradient to x is zero at the written positions. Indices must not repeat along the axis.
Tensor scatter(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& src);
// Like scatter but adds src into the copy of x, so repeated indices accumulate
// (torch.scatter_add); the gradient of gather.
Tensor scatter_add(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& src);
// Picks whole slices along `axis`: index is a 1-D i64 tensor (torch.index_select).
Tensor index_select(const Tensor& x, int64_t axis, const Tensor& index);

}  // namespace qbh
