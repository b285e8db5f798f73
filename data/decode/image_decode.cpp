// Image decoding with stb_image (compiled in stb_impl.cpp): probe the header, refuse absurd sizes
// before anything is allocated, decode to the requested channels, and turn every stb failure
// into a DataError that names the file. Thread-safe: stb keeps its failure reason per thread.
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

// True when every Huffman table of the DHT segment whose tables start at `pos` holds at most 256
// symbols. Mirrors stb: it reads tables (1 + 16 count bytes + the symbols) while the declared
// length lasts, even past the segment's end, and reads zeros past the end of the file.
bool dht_ok(const uint8_t* b, size_t size, size_t pos, long remaining) {
    auto byte = [&](size_t i) -> size_t { return i < size ? b[i] : 0; };
    while (remaining > 0) {
        size_t symbols = 0;
        for (size_t i = 1; i <= 16; ++i) symbols += byte(pos + i);
        if (symbols > 256) return false;
        pos += 17 + symbols;
        remaining -= static_cast<long>(17 + symbols);
    }
    return true;
}

// The stb_image in Debian 12 (2022-09 snapshot) trusts a DHT segment's symbol counts: more than
// 256 symbols in one table write past its arrays (nothings/stb#1289, found here by fuzz_image).
// Walk every marker segment the way stb does, entropy-coded data included (DHT segments may sit
// between the scans of a progressive JPEG), and refuse such tables before stb sees them.
bool jpeg_tables_ok(const uint8_t* b, size_t size) {
    size_t pos = 0;  // stb takes FF FF .. FF D8 as the SOI too: start at 0, fill bytes skipped
    while (pos + 4 <= size) {
        const void* ff = std::memchr(b + pos, 0xFF, size - pos);  // skips entropy-coded data
        if (ff == nullptr) return true;
        pos = static_cast<size_t>(static_cast<const uint8_t*>(ff) - b);
        if (pos + 4 > size) return true;
        const uint8_t marker = b[pos + 1];
        if (marker == 0xFF) {  // fill byte
            ++pos;
        } else if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {
            pos += 2;  // a stuffed 0xFF byte, TEM, RSTn or SOI: no length follows
        } else {
            const size_t length = be16(b + pos + 2);
            if (marker == 0xC4 && !dht_ok(b, size, pos + 4, static_cast<long>(length) - 2))
                return false;
            pos += 2 + std::max<size_t>(length, 2);
        }
    }
    return true;
}

// stb_image grows its IDAT buffer to a chunk's declared length before reading the chunk, so a
// 100-byte PNG declaring a 2 GB chunk makes it allocate 2 GB (found by fuzz_image). Walk the
// chunks as stb does (length, type, data, CRC; up to IEND) and refuse one longer than the file.
// An empty IDAT before any image data is refused too: stb copies it into a null buffer
// (memcpy(nullptr, p, 0), undefined behaviour that UBSan reports); no common encoder writes one.
void check_png_chunks(const uint8_t* b, size_t size, const std::string& name) {
    size_t pos = 8;  // after the signature
    bool image_data = false;
    while (pos + 8 <= size) {
        const size_t length = be32(b + pos);
        const std::string type(reinterpret_cast<const char*>(b + pos + 4), 4);
        QBH_DATA_CHECK(length <= size - pos - 8,
                       name << ": truncated or corrupt PNG: chunk " << type << " declares "
                            << length << " bytes but " << size - pos - 8 << " remain");
        if (type == "IEND") return;
        if (type == "IDAT") {
            QBH_DATA_CHECK(length > 0 || image_data,
                           name << ": unsupported PNG: an empty IDAT chunk before the image data");
            image_data = true;
        }
        pos += 12 + length;
    }
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
    // Before stbi_info, which reads the JPEG header's Huffman tables (a JPEG starts with 0xFF).
    QBH_DATA_CHECK(bytes[0] != 0xFF || jpeg_tables_ok(bytes, size),
                   name << ": corrupt JPEG (a Huffman table declares more than 256 symbols)");
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
    if (size >= 8 && std::memcmp(bytes, kPngSignature, 8) == 0) check_png_chunks(bytes, size, name);
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
