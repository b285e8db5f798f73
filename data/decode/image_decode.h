// Decoding PNG, JPEG (baseline and progressive), BMP and GIF (first frame) with stb_image, 8- or
// 16-bit (16-bit is reduced to 8-bit), grey, grey+alpha, RGB or RGBA, converted to the requested
// channel count. The header is read first so absurd dimensions are refused before any
// allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "data/image.h"

namespace qbh::data {

// Refuse images larger than this on either side or in total pixels (a hostile header must not
// make us allocate gigabytes).
inline constexpr int kMaxImageSide = 1 << 14;                 // 16384
inline constexpr int64_t kMaxImagePixels = int64_t(1) << 26;  // 64 Mpixel

struct ImageInfo {
    int height = 0, width = 0, channels = 0;  // channels as stored in the file (1..4)
};

// Reads the header only. Throws DataError naming `name` when the bytes are not an image stb
// can read or the dimensions are absurd.
ImageInfo probe_image(const uint8_t* bytes, size_t size, const std::string& name);

// Decodes to `channels` channels (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA; 0 keeps the file's).
// Throws DataError naming `name` on corrupt/truncated data or absurd dimensions, and qbh::Error
// on a channel count outside 0..4.
Image decode_image(const uint8_t* bytes, size_t size, int channels, const std::string& name);

// read_file_bytes + decode_image.
Image load_image(const std::string& path, int channels);

// True for the extensions we decode (.png .jpg .jpeg .bmp .gif, any case).
bool has_image_extension(const std::string& path);

}  // namespace qbh::data
