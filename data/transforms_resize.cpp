// Bilinear resize with the arithmetic of torch.nn.functional.interpolate(mode="bilinear",
// align_corners=False, antialias=False) on the CPU: float weights from half-pixel centres and
// separable passes, ordered to do the fewest gathers. The hot op of RandomResizedCrop, hence
// the precomputed per-column tables.
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

// Per output column: the two source pixels' value offsets within a source row (the window's
// left edge included) and their weights, so the inner loop is a plain gather.
struct RowTable {
    int channels = 1;
    std::vector<int> o0, o1;
    std::vector<float> w0, w1;
    size_t row_values() const { return w0.size() * channels; }
};

RowTable row_table(int left, int in_width, int out_width, int channels) {
    RowTable t;
    t.channels = channels;
    t.o0.resize(out_width), t.o1.resize(out_width), t.w0.resize(out_width), t.w1.resize(out_width);
    const float scale = static_cast<float>(in_width) / static_cast<float>(out_width);
    for (int x = 0; x < out_width; ++x) {
        const Tap p = tap(x, in_width, scale);
        t.o0[x] = (left + p.i0) * channels;
        t.o1[x] = (left + p.i1) * channels;
        t.w0[x] = p.w0;
        t.w1[x] = p.w1;
    }
    return t;
}

// CHANNELS is a constant so the per-pixel loop unrolls.
template <typename T, int CHANNELS>
void interpolate_row(const T* row, const RowTable& t, float* out) {
    const size_t n = t.w0.size();
    const int* o0 = t.o0.data();
    const int* o1 = t.o1.data();
    const float* w0 = t.w0.data();
    const float* w1 = t.w1.data();
    for (size_t x = 0; x < n; ++x) {
        const T* a = row + o0[x];
        const T* b = row + o1[x];
        for (int c = 0; c < CHANNELS; ++c)
            out[x * CHANNELS + c] =
                static_cast<float>(a[c]) * w0[x] + static_cast<float>(b[c]) * w1[x];
    }
}

template <typename T>
void interpolate_row(const T* row, const RowTable& t, float* out) {
    switch (t.channels) {
        case 1:
            return interpolate_row<T, 1>(row, t, out);
        case 2:
            return interpolate_row<T, 2>(row, t, out);
        case 3:
            return interpolate_row<T, 3>(row, t, out);
        default:
            return interpolate_row<T, 4>(row, t, out);
    }
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
        for (auto& b : buf_) b.resize(table.row_values());
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

// Growing (or keeping) the height: interpolate each needed source row across once (cached),
// then blend pairs of those rows; torch's order of operations.
template <typename T>
void resize_rows_across_first(const Image& image, int top, int left, int height, int width,
                              Image& out) {
    const int out_h = out.height();
    const RowTable table = row_table(left, width, out.width(), image.channels());
    const size_t n = table.row_values();
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

// Shrinking the height: most output rows need two fresh source rows, so blend the two rows
// first (a contiguous, vectorised pass over the window's width) and gather across once per
// output row, about half the gathers. Same weights; the sum associates differently from
// torch's (differences of an ulp).
template <typename T>
void resize_rows_down_first(const Image& image, int top, int left, int height, int width,
                            Image& out) {
    const int out_h = out.height(), channels = image.channels();
    const RowTable table = row_table(0, width, out.width(), channels);
    const size_t n = table.row_values();
    const size_t in_n = static_cast<size_t>(width) * channels;
    const size_t stride = static_cast<size_t>(image.width()) * channels;
    const float scale_y = static_cast<float>(height) / static_cast<float>(out_h);
    const T* src =
        pixels<T>(image) + static_cast<size_t>(top) * stride + static_cast<size_t>(left) * channels;
    std::vector<float> blended(in_n), across(n);
    T* dst = pixels<T>(out);
    for (int y = 0; y < out_h; ++y) {
        const Tap p = tap(y, height, scale_y);
        const T* a = src + static_cast<size_t>(p.i0) * stride;
        const T* b = src + static_cast<size_t>(p.i1) * stride;
        for (size_t j = 0; j < in_n; ++j)
            blended[j] = static_cast<float>(a[j]) * p.w0 + static_cast<float>(b[j]) * p.w1;
        interpolate_row(blended.data(), table, across.data());
        T* out_row = dst + static_cast<size_t>(y) * n;
        for (size_t j = 0; j < n; ++j) store(across[j], out_row[j]);
    }
}

template <typename T>
void resize_kernel(const Image& image, int top, int left, int height, int width, Image& out) {
    if (height > out.height())
        resize_rows_down_first<T>(image, top, left, height, width, out);
    else
        resize_rows_across_first<T>(image, top, left, height, width, out);
}

}  // namespace

namespace detail {

Image resize_window(const Image& image, int top, int left, int height, int width, int out_height,
                    int out_width) {
    if (height == out_height && width == out_width)  // weights 1 and 0: a plain crop
        return crop_fill(image, top, left, height, width, 0.0);
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
    return detail::resize_window(image, 0, 0, image.height(), image.width(), height, width);
}

}  // namespace qbh::data
