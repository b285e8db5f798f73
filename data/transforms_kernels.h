// The pixel kernels behind data/transforms.h, shared by its .cpp files (private to data/).
// They read a window of the source directly, so padding + cropping and cropping + resizing each
// cost one pass over the output instead of an intermediate image.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <type_traits>

#include "data/image.h"

namespace qbh::data::detail {

// The pixel buffer as T (uint8_t or float), for kernels templated on the pixel type.
template <typename T>
T* pixels(Image& image) {
    if constexpr (std::is_same_v<T, uint8_t>)
        return image.u8();
    else
        return image.f32();
}
template <typename T>
const T* pixels(const Image& image) {
    if constexpr (std::is_same_v<T, uint8_t>)
        return image.u8();
    else
        return image.f32();
}

// A number in describe(): 4 significant digits ("0.08", "1", "1.333").
inline std::string fmt_number(double v) {
    std::ostringstream os;
    os.precision(4);
    os << v;
    return os.str();
}

// The height x width window whose top-left corner is (top, left) in `image`; the window may
// reach outside the image (negative top/left included), and those pixels get `fill`. Sizes must
// be positive; `fill` must already be valid for the pixel type.
Image crop_fill(const Image& image, int top, int left, int height, int width, double fill);

// Bilinear resize (torch interpolate, align_corners = false, no antialias) of the window
// (top, left, height, width), which must lie inside `image`, to out_height x out_width.
Image resize_window(const Image& image, int top, int left, int height, int width, int out_height,
                    int out_width);

}  // namespace qbh::data::detail
