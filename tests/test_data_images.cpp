// Image decoding (PNG 8/16-bit, JPEG baseline/progressive, BMP, GIF), channel conversion, image
// folders and PNG grids. Fixtures are made here: stb_image_write for PNG/JPEG/BMP, 16-bit PNG by
// hand with zlib, GIF and progressive JPEG as byte arrays pasted from PIL (generator in comments).
#include <stb_image.h>
#include <stb_image_write.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <fstream>
#include <thread>

#include "data/datasets.h"
#include "data/decode/data_error.h"
#include "data/decode/image_decode.h"
#include "data/grid.h"
#include "tests/data_image_fixtures.h"
#include "tests/test_util.h"

using namespace qbh::data;
using namespace qbh::test_images;

namespace {

// A PNG chunk: length, type, data, CRC-32 of type + data.
void put_chunk(Bytes& png, const char* type, const Bytes& data) {
    auto put32 = [&](uint32_t v) {
        for (int s = 24; s >= 0; s -= 8) png.push_back(uint8_t(v >> s));
    };
    put32(uint32_t(data.size()));
    Bytes body(type, type + 4);
    body.insert(body.end(), data.begin(), data.end());
    png.insert(png.end(), body.begin(), body.end());
    put32(uint32_t(crc32(0, body.data(), uInt(body.size()))));
}

// A 16-bit grey PNG written by hand (stb_image_write only writes 8-bit).
Bytes png16_grey(int h, int w, const std::vector<uint16_t>& values) {
    Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    Bytes ihdr = {0, 0, 0, uint8_t(w), 0, 0, 0, uint8_t(h), 16, 0, 0, 0, 0};  // depth 16, grey
    put_chunk(png, "IHDR", ihdr);
    Bytes raw;  // each row: filter byte 0, then big-endian samples
    for (int y = 0; y < h; ++y) {
        raw.push_back(0);
        for (int x = 0; x < w; ++x) {
            raw.push_back(uint8_t(values[y * w + x] >> 8));
            raw.push_back(uint8_t(values[y * w + x] & 0xFF));
        }
    }
    uLongf size = compressBound(uLong(raw.size()));
    Bytes idat(size);
    REQUIRE(compress(idat.data(), &size, raw.data(), uLong(raw.size())) == Z_OK);
    idat.resize(size);
    put_chunk(png, "IDAT", idat);
    put_chunk(png, "IEND", {});
    return png;
}

// A smooth 8x8 RGB gradient (JPEG keeps such images within a few levels).
Bytes smooth_rgb() {
    Bytes p(8 * 8 * 3);
    for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 8; ++x) {
            uint8_t* q = &p[(y * 8 + x) * 3];
            q[0] = uint8_t(32 * x), q[1] = uint8_t(32 * y), q[2] = 128;
        }
    return p;
}

int max_abs_diff(const Bytes& a, const Bytes& b) {
    REQUIRE(a.size() == b.size());
    int m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(int(a[i]) - int(b[i])));
    return m;
}

}  // namespace

TEST_CASE("decode_image: 8-bit PNG grey, grey+alpha, RGB, RGBA exactly", "[data][images]") {
    for (int c = 1; c <= 4; ++c) {
        INFO("channels " << c);
        Bytes pixels = pattern(3, 5, c);
        Bytes png = png_bytes(3, 5, c, pixels);
        ImageInfo info = probe_image(png.data(), png.size(), "x.png");
        CHECK(info.height == 3);
        CHECK(info.width == 5);
        CHECK(info.channels == c);
        Image image = decode(png);
        CHECK(image.shape_str() == "3x5x" + std::to_string(c) + " u8");
        CHECK(pixels_of(image) == pixels);
    }
}

TEST_CASE("decode_image: channel conversion", "[data][images]") {
    Bytes rgb = {10, 20, 30, 200, 100, 50};  // two pixels
    Image grey = decode(png_bytes(1, 2, 3, rgb), 1);
    // stb's luma: (77 r + 150 g + 29 b) >> 8.
    CHECK(pixels_of(grey) ==
          Bytes{(77 * 10 + 150 * 20 + 29 * 30) >> 8, (77 * 200 + 150 * 100 + 29 * 50) >> 8});
    CHECK(pixels_of(decode(png_bytes(1, 2, 1, {7, 250}), 3)) == Bytes{7, 7, 7, 250, 250, 250});
    CHECK(pixels_of(decode(png_bytes(1, 2, 1, {7, 250}), 2)) == Bytes{7, 255, 250, 255});
    CHECK(pixels_of(decode(png_bytes(1, 2, 4, {1, 2, 3, 4, 5, 6, 7, 8}), 3)) ==
          Bytes{1, 2, 3, 5, 6, 7});
    CHECK(pixels_of(decode(png_bytes(1, 2, 3, rgb), 4)) ==
          Bytes{10, 20, 30, 255, 200, 100, 50, 255});
    CHECK_THROWS_AS(decode(png_bytes(1, 2, 3, rgb), 5), qbh::Error);
    CHECK_THROWS_WITH(decode(png_bytes(1, 2, 3, rgb), -1), Catch::Contains("channels"));
}

TEST_CASE("decode_image: BMP exactly, 16-bit PNG to its high byte", "[data][images]") {
    Bytes pixels = pattern(4, 3, 3, 5);
    CHECK(pixels_of(decode(bmp_bytes(4, 3, 3, pixels))) == pixels);

    Bytes png16 = png16_grey(2, 2, {0x1234, 0xABCD, 0xFF00, 0x00FF});
    Image image = decode(png16);
    CHECK(image.shape_str() == "2x2x1 u8");
    CHECK(pixels_of(image) == Bytes{0x12, 0xAB, 0xFF, 0x00});
}

TEST_CASE("decode_image: JPEG baseline and progressive within a few levels", "[data][images]") {
    Bytes expected = smooth_rgb();
    Image baseline = decode(jpg_bytes(8, 8, 3, expected));
    CHECK(baseline.shape_str() == "8x8x3 u8");
    CHECK(max_abs_diff(pixels_of(baseline), expected) <= 4);

    Bytes progressive(kProgressiveJpeg, kProgressiveJpeg + sizeof(kProgressiveJpeg));
    Image image = decode(progressive);
    CHECK(image.shape_str() == "8x8x3 u8");
    CHECK(max_abs_diff(pixels_of(image), expected) <= 6);
    Bytes luma(64);  // stb's grey conversion of the source
    for (int i = 0; i < 64; ++i)
        luma[i] = uint8_t(
            (77 * expected[3 * i] + 150 * expected[3 * i + 1] + 29 * expected[3 * i + 2]) >> 8);
    CHECK(max_abs_diff(pixels_of(decode(progressive, 1)), luma) <= 6);
}

TEST_CASE("decode_image: GIF, first frame of an animation", "[data][images]") {
    const Bytes rgbw = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255};
    Image one = decode(Bytes(kGif2x2, kGif2x2 + sizeof(kGif2x2)), 3);
    CHECK(one.shape_str() == "2x2x3 u8");
    CHECK(pixels_of(one) == rgbw);
    Image rgba = decode(Bytes(kGif2x2, kGif2x2 + sizeof(kGif2x2)));
    CHECK(rgba.channels() == 4);
    CHECK(rgba.at(1, 1, 3) == 255);
    // Frame 2 is all red: the result must still be frame 1.
    CHECK(pixels_of(decode(Bytes(kGif2Frames, kGif2Frames + sizeof(kGif2Frames)), 3)) == rgbw);
}

TEST_CASE("has_image_extension", "[data][images]") {
    for (const char* yes : {"a.png", "b.JPG", "c.jpeg", "d.Bmp", "e.gif", "/x/y.z/f.PnG"})
        CHECK(has_image_extension(yes));
    for (const char* no : {"a.txt", "png", "b.png.bak", "c.tif", "d.webp", "/x.png/readme", ""})
        CHECK_FALSE(has_image_extension(no));
}

TEST_CASE("decode_image: bad bytes throw DataError naming the file", "[data][images]") {
    auto check_bad = [](const Bytes& bytes, const std::string& what) {
        CHECK_THROWS_AS(decode_image(bytes.data(), bytes.size(), 0, "bad.png"), DataError);
        CHECK_THROWS_WITH(decode_image(bytes.data(), bytes.size(), 0, "bad.png"),
                          Catch::StartsWith("bad.png: ") && Catch::Contains(what));
    };
    Bytes random(1000);
    for (size_t i = 0; i < random.size(); ++i) random[i] = uint8_t((i * 7919 + 13) % 251);
    check_bad(random, "not a PNG, JPEG, BMP or GIF image");

    Bytes png = png_bytes(32, 32, 3, pattern(32, 32, 3));
    check_bad(Bytes(png.begin(), png.begin() + png.size() / 2),
              "truncated or corrupt PNG: chunk IDAT declares");
    Bytes long_chunk = png;  // IDAT (after IHDR at 8..32) claims 2 GB: refused, not allocated
    long_chunk[33] = 0x7F, long_chunk[34] = 0xFF, long_chunk[35] = 0, long_chunk[36] = 0;
    check_bad(long_chunk, "chunk IDAT declares 2147418112 bytes");
    Bytes empty_idat = png;  // an empty IDAT first: stb would memcpy into a null buffer
    const Bytes chunk = {0, 0, 0, 0, 'I', 'D', 'A', 'T', 0, 0, 0, 0};
    empty_idat.insert(empty_idat.begin() + 33, chunk.begin(), chunk.end());
    check_bad(empty_idat, "an empty IDAT chunk before the image data");
    Bytes jpg = jpg_bytes(8, 8, 3, smooth_rgb());
    check_bad(Bytes(jpg.begin(), jpg.begin() + jpg.size() / 2), "corrupt or truncated");
    check_bad(Bytes(png.begin(), png.begin() + 20), "chunk IHDR declares 13 bytes but 4 remain");

    Bytes huge = png;  // IHDR width and height at bytes 16 and 20, big-endian; stb skips CRCs
    for (int at : {16, 20}) huge[at + 1] = 0x01, huge[at + 2] = 0x86, huge[at + 3] = 0xA0;
    check_bad(huge, "image header declares 100000x100000 pixels; the limit is 16384 per side");
    Bytes big = png;  // 16000 x 16000: each side fine, 256 Mpixel too many
    for (int at : {16, 20}) big[at + 2] = 0x3E, big[at + 3] = 0x80;
    check_bad(big, "16000x16000 pixels (256000000); the limit is 67108864 pixels in all");
    Bytes gif(kGif2x2, kGif2x2 + sizeof(kGif2x2));
    gif[6] = 0xFF, gif[7] = 0xFF;  // logical screen width 65535
    check_bad(gif, "declares 65535x2 pixels; the limit is 16384 per side");
    // A DHT segment (FF C4, length, class/id, 16 symbol counts) with 510 more symbols: refused
    // before stb_image, whose Debian version would write past its tables (nothings/stb#1289).
    Bytes dht = jpg;
    const Bytes dht_marker = {0xFF, 0xC4};
    auto at = std::search(dht.begin(), dht.end(), dht_marker.begin(), dht_marker.end());
    REQUIRE(at != dht.end());
    at[19] = 255, at[20] = 255;
    check_bad(dht, "corrupt JPEG (a Huffman table declares more than 256 symbols)");
    Bytes cut(dht.begin(), at + 9);  // counts cut by the end of the file (stb reads zeros on)
    std::fill(cut.end() - 4, cut.end(), 0x9E);
    check_bad(cut, "more than 256 symbols");
    dht.insert(dht.begin(), 3, 0xFF);  // stb skips fill bytes before the SOI marker too
    check_bad(dht, "more than 256 symbols");
    // A scan whose first component uses DC table 2, never defined (stb would read garbage).
    Bytes sos = jpg;
    const Bytes sos_marker = {0xFF, 0xDA};
    auto scan = std::search(sos.begin(), sos.end(), sos_marker.begin(), sos_marker.end());
    REQUIRE(scan != sos.end());
    scan[6] = 0x20;  // FF DA, length (2), Ns, then component id and DC << 4 | AC
    check_bad(sos, "corrupt JPEG (a scan uses a DC Huffman table that was never defined)");
    check_bad({}, "empty file");
    CHECK_THROWS_AS(decode_image(nullptr, 10, 0, "bad.png"), DataError);
    Bytes one(1);  // the size is refused before a byte is read
    CHECK_THROWS_WITH(decode_image(one.data(), size_t(INT_MAX) + 1, 0, "big.png"),
                      Catch::Contains("big.png: 2147483648 bytes is too large"));
    CHECK_THROWS_AS(probe_image(random.data(), random.size(), "bad.png"), DataError);
}

TEST_CASE("load_image: files, and the path in every error", "[data][images]") {
    TempDir dir;
    Bytes pixels = pattern(2, 3, 3);
    write_file(dir.file("ok.png"), png_bytes(2, 3, 3, pixels));
    CHECK(pixels_of(load_image(dir.file("ok.png"), 3)) == pixels);
    write_file(dir.file("empty.png"), {});
    CHECK_THROWS_AS(load_image(dir.file("empty.png"), 0), DataError);
    CHECK_THROWS_WITH(load_image(dir.file("empty.png"), 0),
                      Catch::StartsWith(dir.file("empty.png") + ": empty file"));
    CHECK_THROWS_AS(load_image(dir.file("missing.png"), 0), DataError);
    CHECK_THROWS_WITH(load_image(dir.file("missing.png"), 0),
                      Catch::StartsWith(dir.file("missing.png") + ": no such file"));
    CHECK_THROWS_WITH(load_image(dir.path.string(), 0), Catch::Contains("is a folder"));
}

TEST_CASE("decode_image: threads decode and fail independently", "[data][images]") {
    Bytes png = png_bytes(16, 16, 3, pattern(16, 16, 3));
    Bytes jpg = jpg_bytes(8, 8, 3, smooth_rgb());
    Bytes bad(64, 0x42);
    Bytes png_expected = pixels_of(decode(png)), jpg_expected = pixels_of(decode(jpg));
    std::vector<int> ok(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 50; ++i) {
                bool good = pixels_of(decode(png)) == png_expected &&
                            pixels_of(decode(jpg)) == jpg_expected;
                try {
                    decode(bad);
                    good = false;
                } catch (const DataError& e) {
                    good = good && std::string(e.what()).find("test.img: not a") == 0;
                }
                ok[t] += good;
            }
        });
    for (auto& t : threads) t.join();
    CHECK(ok == std::vector<int>(4, 50));
}
