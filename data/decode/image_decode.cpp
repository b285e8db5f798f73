// Image decoding with stb_image (compiled in stb_impl.cpp): probe the header, refuse absurd sizes
// and the inputs Debian's stb mishandles before it allocates, decode to the requested channels,
// and turn every failure into a DataError naming the file. Thread-safe (stb's error is per thread).
#include "data/decode/image_decode.h"

#include <stb_image.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>
#include <filesystem>
#include <memory>

#include "data/decode/data_error.h"
#include "data/decode/file_bytes.h"
#include "data/decode/stb_guards.h"

namespace qbh::data {
namespace {

const uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

uint32_t be16(const uint8_t* p) {
    return (uint32_t(p[0]) << 8) | p[1];
}
uint32_t be32(const uint8_t* p) {
    return (be16(p) << 16) | be16(p + 2);
}
uint32_t le16(const uint8_t* p) {
    return (uint32_t(p[1]) << 8) | p[0];
}
uint32_t le32(const uint8_t* p) {
    return (le16(p + 2) << 16) | le16(p);
}

// The JPEG frame size: walk the markers to the first SOFn (not DHT C4, JPG C8, DAC CC).
bool jpeg_declared_size(const uint8_t* b, size_t size, int64_t& width, int64_t& height) {
    size_t pos = 2;
    while (pos + 9 <= size) {
        if (b[pos] != 0xFF) return false;
        uint8_t marker = b[pos + 1];
        if (marker == 0xFF) {  // fill byte
            ++pos;
            continue;
        }
        if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
            marker != 0xCC) {
            height = be16(b + pos + 5);
            width = be16(b + pos + 7);
            return true;
        }
        pos += 2 + be16(b + pos + 2);
    }
    return false;
}

// The width and height a header declares, read by hand: stb refuses sides over kMaxImageSide
// without saying what they were, and the message should.
bool declared_size(const uint8_t* b, size_t size, int64_t& width, int64_t& height) {
    if (size >= 24 && std::memcmp(b, kPngSignature, 8) == 0) {
        width = be32(b + 16);
        height = be32(b + 20);
        return true;
    }
    if (size >= 10 && std::memcmp(b, "GIF8", 4) == 0) {
        width = le16(b + 6);
        height = le16(b + 8);
        return true;
    }
    if (size >= 26 && b[0] == 'B' && b[1] == 'M') {
        width = int32_t(le32(b + 18));
        height = int32_t(le32(b + 22));
        height = height < 0 ? -height : height;  // negative height: rows stored top-down
        return true;
    }
    if (size >= 4 && b[0] == 0xFF && b[1] == 0xD8)
        return jpeg_declared_size(b, size, width, height);
    return false;
}

void check_dimensions(int64_t width, int64_t height, const std::string& name) {
    QBH_DATA_CHECK(width <= kMaxImageSide && height <= kMaxImageSide,
                   name << ": image header declares " << width << "x" << height
                        << " pixels; the limit is " << kMaxImageSide << " per side");
    QBH_DATA_CHECK(width * height <= kMaxImagePixels, name << ": image header declares " << width
                                                           << "x" << height << " pixels ("
                                                           << width * height << "); the limit is "
                                                           << kMaxImagePixels << " pixels in all");
    QBH_DATA_CHECK(width > 0 && height > 0,
                   name << ": image header declares " << width << "x" << height << " pixels");
}

const char* failure_reason() {
    const char* reason = stbi_failure_reason();
    return reason ? reason : "unknown reason";
}

void check_buffer(const uint8_t* bytes, size_t size, const std::string& name) {
    QBH_DATA_CHECK(bytes != nullptr && size > 0, name << ": empty file (0 bytes), not an image");
    QBH_DATA_CHECK(size <= size_t(INT_MAX),
                   name << ": " << size << " bytes is too large for an image file");
}

}  // namespace

ImageInfo probe_image(const uint8_t* bytes, size_t size, const std::string& name) {
    check_buffer(bytes, size, name);
    check_stb_hazards(bytes, size, name);  // before stbi_info, which reads JPEG tables
    int width = 0, height = 0, channels = 0;
    if (!stbi_info_from_memory(bytes, static_cast<int>(size), &width, &height, &channels)) {
        const char* reason = failure_reason();
        int64_t w = 0, h = 0;
        if (declared_size(bytes, size, w, h)) check_dimensions(w, h, name);
        throw DataError(name + ": not a PNG, JPEG, BMP or GIF image (" + reason + ")");
    }
    check_dimensions(width, height, name);
    QBH_DATA_CHECK(channels >= 1 && channels <= 4,
                   name << ": image declares " << channels << " channels");
    return {height, width, channels};
}

Image decode_image(const uint8_t* bytes, size_t size, int channels, const std::string& name) {
    QBH_CHECK(channels >= 0 && channels <= 4,
              "decode_image: channels must be 0 (keep) or 1..4, got " << channels);
    ImageInfo info = probe_image(bytes, size, name);
    int width = 0, height = 0, stored = 0;
    std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
        stbi_load_from_memory(bytes, static_cast<int>(size), &width, &height, &stored, channels),
        stbi_image_free);
    QBH_DATA_CHECK(pixels != nullptr,
                   name << ": corrupt or truncated image (" << failure_reason() << ")");
    // The decoder reads the same header as the probe; a mismatch would be an stb bug, but a
    // wrong size here would overrun the copy below, so check rather than trust.
    QBH_DATA_CHECK(width == info.width && height == info.height,
                   name << ": decoded " << width << "x" << height << " but the header declares "
                        << info.width << "x" << info.height);
    Image image(height, width, channels != 0 ? channels : stored);
    std::memcpy(image.u8(), pixels.get(), image.num_values());
    return image;
}

Image load_image(const std::string& path, int channels) {
    QBH_CHECK(channels >= 0 && channels <= 4,
              "load_image: channels must be 0 (keep) or 1..4, got " << channels);
    // stb takes an int size: refuse larger files before reading them.
    std::vector<uint8_t> bytes = read_file_bytes(path, size_t(INT_MAX));
    return decode_image(bytes.data(), bytes.size(), channels, path);
}

bool has_image_extension(const std::string& path) {
    std::string ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".gif";
}

}  // namespace qbh::data
