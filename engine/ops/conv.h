// Convolution and pooling over NCHW tensors: conv2d (stride, padding, dilation 1, groups,
// depthwise when groups = channels), avg_pool2d, max_pool2d, global_avg_pool2d.
#pragma once

#include <array>

#include "engine/core/tensor.h"

namespace qbh {

struct Conv2dOptions {
    std::array<int64_t, 2> stride{1, 1};
    std::array<int64_t, 2> padding{0, 0};  // zero padding on both sides of H and W
    int64_t groups = 1;
};

// x [N, C_in, H, W], weight [C_out, C_in / groups, kH, kW], bias [C_out] or undefined.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              const Conv2dOptions& options = {});

struct Pool2dOptions {
    std::array<int64_t, 2> kernel{2, 2};
    std::array<int64_t, 2> stride{2, 2};
    std::array<int64_t, 2> padding{0, 0};
};
// Average pooling; padded cells count in the divisor (PyTorch's count_include_pad=True).
Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options = {});
// Max pooling; padded cells never win; the gradient goes to the first maximum in each window.
Tensor max_pool2d(const Tensor& x, const Pool2dOptions& options = {});
// [N, C, H, W] -> [N, C], the mean over H and W.
Tensor global_avg_pool2d(const Tensor& x);

}  // namespace qbh
