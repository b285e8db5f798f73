// Bilinear resize, bit-for-bit the arithmetic of torch.nn.functional.interpolate(mode="bilinear",
// align_corners=False, antialias=False) on the CPU: float weights from half-pixel centres, each
// output row blended from two horizontally interpolated source rows (cached, so every source row
// is interpolated once). The hot op of RandomResizedCrop, hence the precomputed gather tables.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "data/transforms.h"
#include "data/transforms_kernels.h"
#include "engine/core/error.h"

namespace qbh::data {
namespace {

using detail::pixels;

// One output coordinate's two source neighbours (window-relative) and their weights.
struct Tap {
    int i0, i1;
    float w0, w1;
};

// torch's area_pixel_compute_source_index + guard_index_and_lambda, in float.
Tap tap(int dst, int in_size, float scale) {
    float src = scale * (static_cast<float>(dst) + 0.5f) - 0.5f;
    if (src < 0.0f) src = 0.0f;
    const int i0 = std::min(static_cast<int>(src), in_size - 1);
    const float lambda = std::clamp(src - static_cast<float>(i0), 0.0f, 1.0f);
    const int i1 = i0 < in_size - 1 ? i0 + 1 : i0;
    return Tap{i0, i1, 1.0f - lambda, lambda};
}

// Per output value (x, c) of a row: the two source value indices within a source row (the
// window's left offset included) and their weights, so the inner loop is a plain gather.
struct RowTable {
    std::vector<int> i0, i1;
    std::vector<float> w0, w1;
};

RowTable row_table(int left, int in_width, int out_width, int channels) {
    RowTable t;
    const size_t n = static_cast<size_t>(out_width) * channels;
    t.i0.resize(n), t.i1.resize(n), t.w0.resize(n), t.w1.resize(n);
    const float scale = static_cast<float>(in_width) / static_cast<float>(out_width);
    for (int x = 0; x < out_width; ++x) {
        const Tap p = tap(x, in_width, scale);
        for (int c = 0; c < channels; ++c) {
            const size_t j = static_cast<size_t>(x) * channels + c;
            t.i0[j] = (left + p.i0) * channels + c;
            t.i1[j] = (left + p.i1) * channels + c;
            t.w0[j] = p.w0;
            t.w1[j] = p.w1;
        }
    }
    return t;
}

template <typename T>
void interpolate_row(const T* row, const RowTable& t, float* out) {
    const size_t n = t.w0.size();
    const int* i0 = t.i0.data();
    const int* i1 = t.i1.data();
    const float* w0 = t.w0.data();
    const float* w1 = t.w1.data();
    for (size_t j = 0; j < n; ++j)
        out[j] = static_cast<float>(row[i0[j]]) * w0[j] + static_cast<float>(row[i1[j]]) * w1[j];
}

// u8 results: clamp, then round half up (add 0.5 and truncate).
inline void store(float v, uint8_t& out) {
    out = static_cast<uint8_t>(std::clamp(v, 0.0f, 255.0f) + 0.5f);
}
inline void store(float v, float& out) {
    out = v;
}

// Two horizontally interpolated source rows, reused while consecutive output rows need them.
template <typename T>
class RowCache {
  public:
    RowCache(const Image& image, int top, const RowTable& table)
        : src_(pixels<T>(image)),
          stride_(static_cast<size_t>(image.width()) * image.channels()),
          top_(top),
          table_(table) {
        for (auto& b : buf_) b.resize(table.w0.size());
    }
    // The interpolated window row `y`, never evicting window row `keep`.
    const float* get(int y, int keep) {
        for (int k = 0; k < 2; ++k)
            if (row_[k] == y) return buf_[k].data();
        const int k = row_[0] == keep ? 1 : 0;
        interpolate_row(src_ + static_cast<size_t>(top_ + y) * stride_, table_, buf_[k].data());
        row_[k] = y;
        return buf_[k].data();
    }

  private:
    const T* src_;
    size_t stride_;
    int top_;
    const RowTable& table_;
    std::vector<float> buf_[2];
    int row_[2] = {-1, -1};
};

template <typename T>
void resize_kernel(const Image& image, int top, int left, int height, int width, Image& out) {
    const int out_h = out.height(), channels = image.channels();
    const RowTable table = row_table(left, width, out.width(), channels);
    const size_t n = table.w0.size();
    const float scale_y = static_cast<float>(height) / static_cast<float>(out_h);
    RowCache<T> cache(image, top, table);
    T* dst = pixels<T>(out);
    for (int y = 0; y < out_h; ++y) {
        const Tap p = tap(y, height, scale_y);
        const float* r0 = cache.get(p.i0, p.i1);
        const float* r1 = cache.get(p.i1, p.i0);
        T* out_row = dst + static_cast<size_t>(y) * n;
        for (size_t j = 0; j < n; ++j) store(r0[j] * p.w0 + r1[j] * p.w1, out_row[j]);
    }
}

}  // namespace

namespace detail {

Image resize_window(const Image& image, int top, int left, int height, int width, int out_height,
                    int out_width) {
    Image out(out_height, out_width, image.channels(), image.type());
    if (image.type() == PixelType::u8)
        resize_kernel<uint8_t>(image, top, left, height, width, out);
    else
        resize_kernel<float>(image, top, left, height, width, out);
    return out;
}

}  // namespace detail

Image resize_image(const Image& image, int height, int width) {
    QBH_CHECK(!image.empty(), "resize_image: got an empty image");
    QBH_CHECK(height > 0 && width > 0,
              "resize_image: size must be positive, got " << height << "x" << width);
    if (height == image.height() && width == image.width()) return image;  // weights are 1, 0
    return detail::resize_window(image, 0, 0, image.height(), image.width(), height, width);
}

}  // namespace qbh::data
