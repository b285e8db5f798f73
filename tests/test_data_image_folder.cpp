// ImageFolderDataset (listing order, labels, channels, every bad-folder error) and PNG grids
// (exact tiling, f32 scaling, atomic write_png and its errors). Fixtures come from
// tests/data_image_fixtures.h and are written into a fresh temporary folder per test.
#include <stb_image.h>

#include "data/datasets.h"
#include "data/decode/data_error.h"
#include "data/grid.h"
#include "tests/data_image_fixtures.h"

using namespace qbh::data;
using namespace qbh::test_images;

namespace {

// root/<class>/<file> with `pixels` as a 2x2 PNG of `c` channels.
void put_png(const TempDir& dir, const std::string& rel, int c, int seed = 0) {
    fs::create_directories((dir.path / rel).parent_path());
    write_file(dir.file(rel), png_bytes(2, 2, c, pattern(2, 2, c, seed)));
}

Image filled(int h, int w, int c, std::vector<uint8_t> values) {
    Image image(h, w, c);
    REQUIRE(values.size() == image.num_values());
    std::copy(values.begin(), values.end(), image.u8());
    return image;
}

}  // namespace

TEST_CASE("ImageFolderDataset: sorted classes and files, labels, pixels", "[data][images]") {
    TempDir dir;
    put_png(dir, "dog/b.png", 3, 1);
    put_png(dir, "dog/a.PNG", 3, 2);
    put_png(dir, "cat/z.png", 3, 3);
    write_file(dir.file("cat/x.bmp"), bmp_bytes(2, 2, 3, pattern(2, 2, 3, 4)));
    write_file(dir.file("cat/notes.txt"), {'h', 'i'});
    put_png(dir, "cat/.hidden.png", 3);  // hidden files and folders are skipped
    put_png(dir, ".cache/y.png", 3);
    write_file(dir.file("readme.md"), {'x'});  // a file at the root is not a class

    ImageFolderDataset ds(dir.path.string(), 0);
    CHECK(ds.classes() == std::vector<std::string>{"cat", "dog"});
    REQUIRE(ds.size() == 4);
    CHECK(ds.file(0) == dir.file("cat/x.bmp"));
    CHECK(ds.file(1) == dir.file("cat/z.png"));
    CHECK(ds.file(2) == dir.file("dog/a.PNG"));  // byte order: 'a' < 'b'
    CHECK(ds.file(3) == dir.file("dog/b.png"));
    CHECK(ds.channels() == 3);
    std::vector<int64_t> labels;
    for (int64_t i = 0; i < ds.size(); ++i) labels.push_back(ds.get(i).label);
    CHECK(labels == std::vector<int64_t>{0, 0, 1, 1});
    Example e = ds.get(2);
    CHECK(pixels_of(e.image) == pattern(2, 2, 3, 2));
    CHECK(pixels_of(ds.get(0).image) == pattern(2, 2, 3, 4));
    CHECK(ds.describe() == "image folder, 2 classes, 4 images: " + dir.path.string());
    CHECK_THROWS_AS(ds.get(4), qbh::Error);
    CHECK_THROWS_AS(ds.get(-1), qbh::Error);
}

TEST_CASE("ImageFolderDataset: channels from the first image or as asked", "[data][images]") {
    TempDir dir;
    put_png(dir, "a/1.png", 2);  // grey+alpha first -> 1 channel
    put_png(dir, "b/2.png", 4);
    ImageFolderDataset grey(dir.path.string(), 0);
    CHECK(grey.channels() == 1);
    CHECK(grey.get(1).image.shape_str() == "2x2x1 u8");
    for (int c : {1, 2, 3, 4})
        CHECK(ImageFolderDataset(dir.path.string(), c).get(0).image.channels() == c);
    CHECK_THROWS_AS(ImageFolderDataset(dir.path.string(), 5), qbh::Error);
    CHECK_THROWS_AS(ImageFolderDataset(dir.path.string(), -1), qbh::Error);

    TempDir rgb;
    put_png(rgb, "a/1.png", 4);  // RGBA first -> 3 channels
    CHECK(ImageFolderDataset(rgb.path.string(), 0).channels() == 3);
}

TEST_CASE("ImageFolderDataset: bad folders throw DataError naming them", "[data][images]") {
    TempDir dir;
    auto check_bad = [](const std::string& root, const std::string& what) {
        CHECK_THROWS_AS(ImageFolderDataset(root, 0), DataError);
        CHECK_THROWS_WITH(ImageFolderDataset(root, 0), Catch::Contains(what));
    };
    check_bad(dir.file("missing"), dir.file("missing") + ": no such folder");
    write_file(dir.file("file.png"), {1});
    check_bad(dir.file("file.png"), dir.file("file.png") + ": not a folder");
    fs::create_directories(dir.path / "empty");
    check_bad(dir.file("empty"), dir.file("empty") + ": no class folders");
    put_png(dir, "one/a/x.png", 3);
    fs::create_directories(dir.path / "one" / "b");
    check_bad(dir.file("one"), dir.file("one/b") + ": class folder holds no images");
    fs::create_directories(dir.path / "text" / "a");
    write_file(dir.file("text/a/notes.txt"), {'x'});
    check_bad(dir.file("text"), dir.file("text/a") + ": class folder holds no images");
}

TEST_CASE("ImageFolderDataset: a corrupt image fails in get(), naming it", "[data][images]") {
    TempDir dir;
    put_png(dir, "a/1.png", 3);
    write_file(dir.file("a/2.png"), Bytes(100, 0x55));
    ImageFolderDataset ds(dir.path.string(), 3);
    CHECK(ds.get(0).image.channels() == 3);
    CHECK_THROWS_AS(ds.get(1), DataError);
    CHECK_THROWS_WITH(ds.get(1), Catch::StartsWith(dir.file("a/2.png") + ": not a PNG"));
    // The first image decides the channels, so a corrupt first image fails the constructor.
    TempDir bad;
    fs::create_directories(bad.path / "a");
    write_file(bad.file("a/1.jpg"), {0xFF, 0xD8, 0xFF});
    CHECK_THROWS_WITH(ImageFolderDataset(bad.path.string(), 0),
                      Catch::StartsWith(bad.file("a/1.jpg") + ": "));
}

TEST_CASE("make_grid: exact tiling, gaps and empty cells", "[data][images]") {
    // Five 1x2 grey images in 3 columns: 2 rows, gap 1 of value 9.
    std::vector<Image> images;
    for (int i = 0; i < 5; ++i)
        images.push_back(filled(1, 2, 1, {uint8_t(10 * i), uint8_t(10 * i + 1)}));
    Image grid = make_grid(images, 3, 1, 9);
    CHECK(grid.shape_str() == "3x8x1 u8");
    CHECK(pixels_of(grid) == Bytes{0,  1,  9, 10, 11, 9, 20, 21,  //
                                   9,  9,  9, 9,  9,  9, 9,  9,   //
                                   30, 31, 9, 40, 41, 9, 9,  9});
    // 2x3: six 1x1 images, no gap; one is RGB, so grey ones become (v, v, v).
    std::vector<Image> six;
    for (int i = 0; i < 6; ++i) six.push_back(filled(1, 1, 1, {uint8_t(i)}));
    six[4] = filled(1, 1, 3, {100, 101, 102});
    Image rgb = make_grid(six, 3, 0);
    CHECK(rgb.shape_str() == "2x3x3 u8");
    CHECK(pixels_of(rgb) == Bytes{0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 100, 101, 102, 5, 5, 5});
    // More columns than images: one row of them.
    CHECK(make_grid(six, 10, 0).shape_str() == "1x6x3 u8");
}

TEST_CASE("make_grid: f32 images scaled by 255, rounded and clamped", "[data][images]") {
    Image f(1, 6, 1, PixelType::f32);
    const float values[6] = {0.0f, 1.0f, 0.5f, -0.3f, 7.0f, 0.1f};
    std::copy(values, values + 6, f.f32());
    f.f32()[0] = std::numeric_limits<float>::quiet_NaN();  // NaN -> 0
    Image grid = make_grid({f}, 1);
    // 0.5 * 255 = 127.5 -> 128 (half up); 0.1 * 255 = 25.5 -> 26.
    CHECK(pixels_of(grid) == Bytes{0, 255, 128, 0, 255, 26});
}

TEST_CASE("make_grid: bad calls throw qbh::Error", "[data][images]") {
    CHECK_THROWS_WITH(make_grid({}, 2), Catch::Contains("no images"));
    CHECK_THROWS_WITH(make_grid({Image(2, 2, 1), Image(2, 3, 1)}, 2), Catch::Contains("same size"));
    CHECK_THROWS_WITH(make_grid({Image(2, 2, 4)}, 2), Catch::Contains("4 channels"));
    CHECK_THROWS_AS(make_grid({Image(2, 2, 1)}, 0), qbh::Error);
    CHECK_THROWS_AS(make_grid({Image(2, 2, 1)}, 1, -1), qbh::Error);
    CHECK_THROWS_AS(make_grid({Image(2, 2, 1)}, 1, 1, 256), qbh::Error);
}

TEST_CASE("write_png: round trip, atomic, errors name the path", "[data][images]") {
    TempDir dir;
    Image rgb = filled(2, 3, 3, pattern(2, 3, 3));
    write_png(dir.file("out.png"), rgb);
    int w = 0, h = 0, c = 0;
    std::unique_ptr<stbi_uc, void (*)(void*)> back(
        stbi_load(dir.file("out.png").c_str(), &w, &h, &c, 0), stbi_image_free);
    REQUIRE(back);
    CHECK((w == 3 && h == 2 && c == 3));
    CHECK(Bytes(back.get(), back.get() + 18) == pattern(2, 3, 3));
    write_png(dir.file("out.png"), filled(1, 1, 1, {7}));  // overwrites in place
    CHECK(pixels_of(load_image(dir.file("out.png"), 0)) == Bytes{7});
    Image f(1, 2, 1, PixelType::f32);
    f.f32()[0] = 0.5f, f.f32()[1] = 2.0f;
    write_png(dir.file("f.png"), f);
    CHECK(pixels_of(load_image(dir.file("f.png"), 0)) == Bytes{128, 255});
    CHECK(dir.listing() == std::vector<std::string>{"f.png", "out.png"});

    const std::string missing = dir.file("no/such/folder/x.png");
    CHECK_THROWS_AS(write_png(missing, rgb), qbh::Error);
    CHECK_THROWS_WITH(write_png(missing, rgb), Catch::StartsWith(missing + ": cannot write PNG"));
    fs::create_directories(dir.path / "taken.png");  // writing works, the rename cannot
    CHECK_THROWS_WITH(write_png(dir.file("taken.png"), rgb),
                      Catch::StartsWith(dir.file("taken.png") + ": cannot write PNG"));
    CHECK(dir.listing() == std::vector<std::string>{"f.png", "out.png", "taken.png"});
    CHECK_THROWS_AS(write_png(dir.file("e.png"), Image()), qbh::Error);
}
