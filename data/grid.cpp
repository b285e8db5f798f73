// make_grid and write_png: tile same-sized images into one u8 picture, and write a picture as a
// PNG (encoded by stb_image_write, compiled in data/decode/stb_impl.cpp) to a temporary file that
// is renamed into place, so readers never see half a file.
#include "data/grid.h"

#include <stb_image_write.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "engine/core/error.h"

namespace qbh::data {
namespace {

// [0, 1] -> 0..255, rounding half up and clamping (NaN -> 0): floor(clamp(255 x) + 0.5), as
// torchvision's save_image. Written branch-free so the compiler vectorises it.
void f32_to_u8(const float* in, uint8_t* out, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        float v = in[i] * 255.0f;
        v = v > 0.0f ? v : 0.0f;
        v = v < 255.0f ? v : 255.0f;
        out[i] = static_cast<uint8_t>(v + 0.5f);
    }
}

// `image`'s 8-bit pixels: its own buffer, or for floats a conversion kept in `storage`.
const uint8_t* u8_pixels(const Image& image, Image& storage) {
    if (image.type() == PixelType::u8) return image.u8();
    storage = Image(image.height(), image.width(), image.channels());
    f32_to_u8(image.f32(), storage.u8(), image.num_values());
    return storage.u8();
}

// Copies one row of `width` pixels of `from` channels (1 or 3) into `to` channels (1 or 3).
void copy_row(const uint8_t* in, int from, uint8_t* out, int to, int width) {
    if (from == to) {
        std::memcpy(out, in, static_cast<size_t>(width) * to);
        return;
    }
    for (int x = 0; x < width; ++x) out[3 * x] = out[3 * x + 1] = out[3 * x + 2] = in[x];
}

void append(void* context, void* data, int size) {
    auto* out = static_cast<std::vector<uint8_t>*>(context);
    out->insert(out->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
}

// The PNG file's bytes (empty when stb cannot allocate). stb's own file writer ignores fwrite and
// fclose errors, so a full disk would leave a truncated PNG; we write the bytes ourselves.
std::vector<uint8_t> encode_png(const Image& image, const uint8_t* pixels) {
    std::vector<uint8_t> png;
    if (!stbi_write_png_to_func(append, &png, image.width(), image.height(), image.channels(),
                                pixels, image.width() * image.channels()))
        png.clear();
    return png;
}

// Writes `bytes` to `path`; false, with errno set, when opening, writing or closing fails.
bool write_all(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (!file) return false;
    bool ok = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
    return std::fclose(file) == 0 && ok;
}

}  // namespace

Image make_grid(const std::vector<Image>& images, int columns, int gap, int gap_value) {
    QBH_CHECK(!images.empty(), "make_grid: no images");
    QBH_CHECK(columns > 0, "make_grid: columns must be positive, got " << columns);
    QBH_CHECK(gap >= 0, "make_grid: gap must be >= 0, got " << gap);
    QBH_CHECK(gap_value >= 0 && gap_value <= 255,
              "make_grid: gap_value must be 0..255, got " << gap_value);
    const int h = images[0].height(), w = images[0].width();
    int channels = 1;
    for (size_t i = 0; i < images.size(); ++i) {
        const Image& im = images[i];
        QBH_CHECK(!im.empty(), "make_grid: image " << i << " is empty");
        QBH_CHECK(im.height() == h && im.width() == w,
                  "make_grid: image " << i << " is " << im.shape_str() << ", image 0 is "
                                      << images[0].shape_str() << "; all must be the same size");
        QBH_CHECK(im.channels() == 1 || im.channels() == 3,
                  "make_grid: image " << i << " has " << im.channels()
                                      << " channels; only 1 (grey) or 3 (RGB) are tiled");
        if (im.channels() == 3) channels = 3;
    }
    const int n = static_cast<int>(images.size());
    const int cols = std::min(columns, n);
    const int rows = (n + cols - 1) / cols;
    Image grid(rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap, channels);
    std::memset(grid.u8(), gap_value, grid.num_values());  // gaps and empty cells
    const size_t grid_row = static_cast<size_t>(grid.width()) * channels;
    Image storage;
    for (int i = 0; i < n; ++i) {
        const uint8_t* tile = u8_pixels(images[i], storage);
        const int c = images[i].channels();
        uint8_t* corner = grid.u8() + static_cast<size_t>((i / cols) * (h + gap)) * grid_row +
                          static_cast<size_t>((i % cols) * (w + gap)) * channels;
        for (int y = 0; y < h; ++y)
            copy_row(tile + static_cast<size_t>(y) * w * c, c, corner + y * grid_row, channels, w);
    }
    return grid;
}

void write_png(const std::string& path, const Image& image) {
    QBH_CHECK(!image.empty(), path << ": cannot write an empty image");
    QBH_CHECK(static_cast<int64_t>(image.width()) * image.channels() <= INT_MAX,
              path << ": image " << image.shape_str() << " is too wide for PNG");
    Image storage;
    std::vector<uint8_t> png = encode_png(image, u8_pixels(image, storage));
    QBH_CHECK(!png.empty(), path << ": cannot encode " << image.shape_str() << " as PNG");
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    std::error_code ec;
    errno = 0;
    if (!write_all(tmp, png)) {
        const int err = errno;
        std::filesystem::remove(tmp, ec);
        QBH_FAIL(path << ": cannot write PNG (" << (err ? std::strerror(err) : "short write")
                      << "); check that the folder exists and is writable");
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::error_code ignored;
        std::filesystem::remove(tmp, ignored);
        QBH_FAIL(path << ": cannot write PNG (renaming " << tmp << ": " << ec.message() << ")");
    }
}

}  // namespace qbh::data
