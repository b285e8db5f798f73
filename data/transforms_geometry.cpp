// Geometric pixel kernels of data/transforms.h: pad, crop (both through one windowed copy that
// fills what lies outside the image) and the horizontal flip. Templated on the pixel type, so u8
// and f32 images share one code path; rows are copied with memcpy, fills with std::fill.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "data/transforms.h"
#include "data/transforms_kernels.h"
#include "engine/core/error.h"

namespace qbh::data {
namespace {

using detail::pixels;

template <typename T>
void crop_fill_kernel(const Image& image, Image& out, int top, int left, T fill) {
    const int in_h = image.height(), in_w = image.width(), channels = image.channels();
    const int h = out.height(), w = out.width();
    const size_t row = static_cast<size_t>(w) * channels;
    // Output columns [x_begin, x_end) come from the image; the rest are fill.
    const int x_begin = std::clamp(-left, 0, w);
    const int x_end = std::max(
        x_begin, static_cast<int>(std::clamp<int64_t>(static_cast<int64_t>(in_w) - left, 0, w)));
    const size_t fill_left = static_cast<size_t>(x_begin) * channels;
    const size_t copy = static_cast<size_t>(x_end - x_begin) * channels;
    const T* src = pixels<T>(image);
    T* dst = pixels<T>(out);
    for (int y = 0; y < h; ++y) {
        T* out_row = dst + y * row;
        const int64_t sy = static_cast<int64_t>(top) + y;
        if (sy < 0 || sy >= in_h || copy == 0) {
            std::fill(out_row, out_row + row, fill);
            continue;
        }
        const T* in_row = src + (static_cast<size_t>(sy) * in_w + (left + x_begin)) * channels;
        std::fill(out_row, out_row + fill_left, fill);
        std::memcpy(out_row + fill_left, in_row, copy * sizeof(T));
        std::fill(out_row + fill_left + copy, out_row + row, fill);
    }
}

// One row reversed pixel by pixel; CHANNELS is a constant so the inner copy unrolls.
template <typename T, int CHANNELS>
void flip_kernel(const T* src, T* dst, int height, int width) {
    const size_t row = static_cast<size_t>(width) * CHANNELS;
    for (int y = 0; y < height; ++y) {
        const T* in_row = src + y * row;
        T* out_row = dst + y * row;
        for (int x = 0; x < width; ++x)
            for (int c = 0; c < CHANNELS; ++c)
                out_row[x * CHANNELS + c] = in_row[(width - 1 - x) * CHANNELS + c];
    }
}

template <typename T>
void flip_typed(const Image& image, Image& out) {
    const T* src = pixels<T>(image);
    T* dst = pixels<T>(out);
    switch (image.channels()) {
        case 1:
            return flip_kernel<T, 1>(src, dst, image.height(), image.width());
        case 2:
            return flip_kernel<T, 2>(src, dst, image.height(), image.width());
        case 3:
            return flip_kernel<T, 3>(src, dst, image.height(), image.width());
        default:
            return flip_kernel<T, 4>(src, dst, image.height(), image.width());
    }
}

void check_not_empty(const Image& image, const char* op) {
    QBH_CHECK(!image.empty(), op << ": got an empty image");
}

}  // namespace

namespace detail {

Image crop_fill(const Image& image, int top, int left, int height, int width, double fill) {
    Image out(height, width, image.channels(), image.type());
    if (image.type() == PixelType::u8)
        crop_fill_kernel<uint8_t>(image, out, top, left, static_cast<uint8_t>(fill));
    else
        crop_fill_kernel<float>(image, out, top, left, static_cast<float>(fill));
    return out;
}

}  // namespace detail

Image pad_image(const Image& image, int top, int bottom, int left, int right, double fill) {
    check_not_empty(image, "pad_image");
    QBH_CHECK(top >= 0 && bottom >= 0 && left >= 0 && right >= 0,
              "pad_image: padding must not be negative, got top="
                  << top << " bottom=" << bottom << " left=" << left << " right=" << right);
    const int64_t height = static_cast<int64_t>(image.height()) + top + bottom;
    const int64_t width = static_cast<int64_t>(image.width()) + left + right;
    QBH_CHECK(height <= INT_MAX && width <= INT_MAX,
              "pad_image: padded size " << height << "x" << width << " is too large");
    double value = fill;
    if (image.type() == PixelType::u8) {
        QBH_CHECK(fill >= 0 && fill <= 255,
                  "pad_image: fill " << fill << " is outside 0..255 for a u8 image");
        value = std::nearbyint(fill);
    } else {
        QBH_CHECK(std::isfinite(fill), "pad_image: fill must be finite, got " << fill);
    }
    return detail::crop_fill(image, -top, -left, static_cast<int>(height), static_cast<int>(width),
                             value);
}

Image crop_image(const Image& image, int top, int left, int height, int width) {
    check_not_empty(image, "crop_image");
    QBH_CHECK(height > 0 && width > 0,
              "crop_image: window size must be positive, got " << height << "x" << width);
    const bool inside =
        top >= 0 && left >= 0 && height <= image.height() - top && width <= image.width() - left;
    QBH_CHECK(inside, "crop_image: window " << height << "x" << width << " at (top=" << top
                                            << ", left=" << left << ") is outside the "
                                            << image.shape_str() << " image");
    return detail::crop_fill(image, top, left, height, width, 0.0);
}

Image flip_image(const Image& image) {
    check_not_empty(image, "flip_image");
    Image out(image.height(), image.width(), image.channels(), image.type());
    if (image.type() == PixelType::u8)
        flip_typed<uint8_t>(image, out);
    else
        flip_typed<float>(image, out);
    return out;
}

}  // namespace qbh::data
