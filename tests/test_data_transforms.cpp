// Transforms, deterministic part: pad, crops, flip, bilinear resize, to_float, normalize and
// Compose, each against hand-computed pixels (resize also against torch interpolate numbers).
// Random placement (random_crop, random_resized_crop) is in test_data_transforms_random.cpp.
#include <cmath>
#include <vector>

#include "data/transforms.h"
#include "tests/test_util.h"

using namespace qbh::data;
using Catch::Contains;

namespace {

// An image from a flat list of values (HWC order).
Image make(int h, int w, int c, PixelType type, const std::vector<double>& v) {
    Image img(h, w, c, type);
    REQUIRE(v.size() == img.num_values());
    for (size_t i = 0; i < v.size(); ++i) {
        if (type == PixelType::u8)
            img.u8()[i] = static_cast<uint8_t>(v[i]);
        else
            img.f32()[i] = static_cast<float>(v[i]);
    }
    return img;
}

std::vector<double> values(const Image& img) {
    std::vector<double> v;
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x)
            for (int c = 0; c < img.channels(); ++c) v.push_back(img.at(y, x, c));
    return v;
}

// Value (y, x, c) = ((y * W + x) * C + c) * 37 % 101 (/ 100 for f32): the fixtures' pattern.
Image pattern(int h, int w, int c, PixelType type) {
    std::vector<double> v;
    for (int i = 0; i < h * w * c; ++i) {
        const int k = i * 37 % 101;
        v.push_back(type == PixelType::u8 ? k : static_cast<float>(k / 100.0));
    }
    return make(h, w, c, type, v);
}

// Value (y, x) = 16 y + x + 1 in every channel: a pixel tells where it came from; 0 = padding.
Image coords(int h, int w, int c = 1, PixelType type = PixelType::u8) {
    std::vector<double> v;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int k = 0; k < c; ++k) v.push_back(16 * y + x + 1);
    return make(h, w, c, type, v);
}

void check_image(const Image& img, int h, int w, int c, const std::vector<double>& expected,
                 double tol = 0) {
    REQUIRE(img.height() == h);
    REQUIRE(img.width() == w);
    REQUIRE(img.channels() == c);
    const std::vector<double> got = values(img);
    for (size_t i = 0; i < expected.size(); ++i) {
        INFO("value " << i);
        CHECK(got[i] == Approx(expected[i]).margin(tol));
    }
}

SampleRng rng0() {
    return SampleRng(1, 0, 0);
}

}  // namespace

TEST_CASE("transforms: pad_image writes exact pixels and the fill", "[data][transforms]") {
    Image u = make(2, 2, 1, PixelType::u8, {1, 2, 3, 4});
    check_image(pad_image(u, 1, 0, 2, 1, 9), 3, 5, 1,
                {9, 9, 9, 9, 9, 9, 9, 1, 2, 9, 9, 9, 3, 4, 9});
    // f32, two channels, fill in the 0..1 scale
    Image f = make(1, 2, 2, PixelType::f32, {0.1, 0.2, 0.3, 0.4});
    check_image(pad_image(f, 0, 1, 0, 1, 0.5), 2, 3, 2,
                {0.1, 0.2, 0.3, 0.4, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, 1e-7);
    // the step: same amount on every side, zero fill by default
    SampleRng rng = rng0();
    Image p = pad(1)->apply(make(1, 1, 3, PixelType::u8, {7, 8, 9}), rng);
    std::vector<double> expected(27, 0);
    expected[12] = 7, expected[13] = 8, expected[14] = 9;
    check_image(p, 3, 3, 3, expected);
    check_image(pad_image(u, 0, 0, 0, 0, 0), 2, 2, 1, {1, 2, 3, 4});
}

TEST_CASE("transforms: pad argument errors", "[data][transforms]") {
    Image u(2, 2, 1);
    CHECK_THROWS_AS(pad(-1), qbh::Error);
    CHECK_THROWS_WITH(pad(0, 0, -2, 0), Contains("pad: amounts must not be negative"));
    CHECK_THROWS_WITH(pad(1, std::nan("")), Contains("fill must be finite"));
    CHECK_THROWS_WITH(pad_image(u, 0, -1, 0, 0, 0), Contains("must not be negative"));
    CHECK_THROWS_WITH(pad_image(u, 1, 1, 1, 1, 256), Contains("outside 0..255"));
    CHECK_THROWS_WITH(pad_image(u, 1, 1, 1, 1, -1), Contains("outside 0..255"));
    CHECK_THROWS_WITH(pad_image(Image(), 1, 1, 1, 1, 0), Contains("empty image"));
    CHECK_THROWS_WITH(pad_image(u, 2000000000, 2000000000, 0, 0, 0), Contains("too large"));
    SampleRng rng = rng0();
    CHECK_THROWS_WITH(pad(1, 300)->apply(u, rng), Contains("outside 0..255"));
}

TEST_CASE("transforms: crop_image takes the window and checks bounds", "[data][transforms]") {
    Image img = coords(3, 4, 2);
    check_image(crop_image(img, 1, 2, 2, 2), 2, 2, 2, {19, 19, 20, 20, 35, 35, 36, 36});
    check_image(crop_image(img, 0, 0, 3, 4), 3, 4, 2, values(img));
    CHECK_THROWS_WITH(crop_image(img, 2, 0, 2, 1), Contains("window 2x1 at (top=2, left=0)") &&
                                                       Contains("outside the 3x4x2 u8 image"));
    CHECK_THROWS_AS(crop_image(img, 0, 3, 1, 2), qbh::Error);
    CHECK_THROWS_AS(crop_image(img, -1, 0, 1, 1), qbh::Error);
    CHECK_THROWS_AS(crop_image(img, 0, -1, 1, 1), qbh::Error);
    CHECK_THROWS_WITH(crop_image(img, 0, 0, 0, 1), Contains("must be positive"));
    CHECK_THROWS_WITH(crop_image(Image(), 0, 0, 1, 1), Contains("empty image"));
}

TEST_CASE("transforms: center_crop rounds offsets half to even, as torchvision",
          "[data][transforms]") {
    // Expected values from torchvision.transforms.functional.center_crop on the same coords().
    SampleRng rng = rng0();
    check_image(center_crop(1, 2)->apply(coords(1, 5), rng), 1, 2, 1, {3, 4});     // 1.5 -> 2
    check_image(center_crop(1, 2)->apply(coords(1, 7), rng), 1, 2, 1, {3, 4});     // 2.5 -> 2
    check_image(center_crop(1, 3)->apply(coords(1, 6), rng), 1, 3, 1, {3, 4, 5});  // 1.5 -> 2
    check_image(center_crop(1, 3)->apply(coords(1, 8), rng), 1, 3, 1, {3, 4, 5});  // 2.5 -> 2
    check_image(center_crop(2, 1)->apply(coords(7, 1), rng), 2, 1, 1, {33, 49});
    check_image(center_crop(4, 4)->apply(coords(9, 9), rng), 4, 4, 1,
                {35, 36, 37, 38, 51, 52, 53, 54, 67, 68, 69, 70, 83, 84, 85, 86});
    check_image(center_crop(2, 2)->apply(coords(4, 4), rng), 2, 2, 1, {18, 19, 34, 35});
    CHECK(center_crop(24, 20)->describe() == "CenterCrop(24x20)");
    CHECK_THROWS_WITH(center_crop(0, 3), Contains("center_crop: size must be positive"));
}

TEST_CASE("transforms: center_crop pads an image smaller than the crop", "[data][transforms]") {
    SampleRng rng = rng0();
    // 2x3 -> 5x6: (5-2)//2 = 1 row above, 2 below; 1 column left, 2 right.
    check_image(center_crop(5, 6)->apply(coords(2, 3), rng), 5, 6, 1,
                {0,  0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 17, 18,
                 19, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0});
    // taller but narrower: pad rows, round the column offset
    check_image(center_crop(4, 2)->apply(coords(2, 5), rng), 4, 2, 1, {0, 0, 3, 4, 19, 20, 0, 0});
    Image f = center_crop(3, 1)->apply(make(1, 1, 1, PixelType::f32, {0.25}), rng);
    check_image(f, 3, 1, 1, {0, 0.25, 0});
}

TEST_CASE("transforms: flip_image and horizontal_flip", "[data][transforms]") {
    Image u = make(2, 3, 2, PixelType::u8, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
    check_image(flip_image(u), 2, 3, 2, {5, 6, 3, 4, 1, 2, 11, 12, 9, 10, 7, 8});
    Image f = make(1, 3, 1, PixelType::f32, {0.5, 0.25, 1});
    check_image(flip_image(f), 1, 3, 1, {1, 0.25, 0.5});
    for (int c : {3, 4}) {
        Image img = coords(2, 3, c);
        CHECK(values(flip_image(flip_image(img))) == values(img));
        CHECK(flip_image(img).at(1, 0, c - 1) == 19);
    }
    const std::vector<double> flipped = values(flip_image(u));
    for (uint64_t seed = 0; seed < 50; ++seed) {
        SampleRng a(seed, 0, 0), b(seed, 0, 0);
        CHECK(values(horizontal_flip(0)->apply(u, a)) == values(u));
        CHECK(values(horizontal_flip(1)->apply(u, b)) == flipped);
    }
    // exactly one draw per call, flipped or not, and the draw decides
    int flips = 0;
    for (uint64_t seed = 0; seed < 200; ++seed) {
        SampleRng rng(seed, 3, 7), copy(seed, 3, 7);
        const bool expect = copy.bernoulli(0.5);
        const bool did = values(horizontal_flip(0.5)->apply(u, rng)) == flipped;
        CHECK(did == expect);
        CHECK(rng.uniform() == copy.uniform());
        flips += did;
    }
    CHECK(flips > 60);
    CHECK(flips < 140);
    CHECK(horizontal_flip()->describe() == "RandomHorizontalFlip(p=0.5)");
    CHECK_THROWS_WITH(horizontal_flip(1.5), Contains("p must be in [0, 1]"));
    CHECK_THROWS_AS(horizontal_flip(-0.1), qbh::Error);
    CHECK_THROWS_WITH(flip_image(Image()), Contains("empty image"));
}

TEST_CASE("transforms: resize 2x2 -> 4x4 by hand", "[data][transforms]") {
    // Per axis, in = 2, out = 4: sources -0.25 (clamped to 0), 0.25, 0.75, 1.25, so
    // [p0, p1] -> [p0, 0.75 p0 + 0.25 p1, 0.25 p0 + 0.75 p1, p1].
    const std::vector<double> expected = {0, 1, 3, 4, 2, 3, 5, 6, 6, 7, 9, 10, 8, 9, 11, 12};
    check_image(resize_image(make(2, 2, 1, PixelType::f32, {0, 4, 8, 12}), 4, 4), 4, 4, 1,
                expected);
    check_image(resize_image(make(2, 2, 1, PixelType::u8, {0, 4, 8, 12}), 4, 4), 4, 4, 1, expected);
}

TEST_CASE("transforms: resize matches torch interpolate (bilinear, align_corners=False)",
          "[data][transforms]") {
    // Generated once with torch 2 (pattern() as above):
    //   import torch, torch.nn.functional as F
    //   def pattern(H, W, C):
    //       return [[[((y * W + x) * C + c) * 37 % 101 / 100.0 for c in range(C)]
    //                for x in range(W)] for y in range(H)]
    //   for (H, W, C, h, w) in [(3, 5, 1, 4, 2), (4, 4, 3, 7, 3), (7, 4, 2, 3, 5)]:
    //       x = torch.tensor(pattern(H, W, C), dtype=torch.float32).permute(2, 0, 1)[None]
    //       y = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False,
    //                         antialias=False)
    //       print(", ".join(f"{v:.9g}" for v in y[0].permute(1, 2, 0).flatten().tolist()))
    const std::vector<double> down = {0.277500004, 0.192499995, 0.329062492, 0.559687495,
                                      0.296250015, 0.716250002, 0.190000013, 0.609999955};
    check_image(resize_image(pattern(3, 5, 1, PixelType::f32), 4, 2), 4, 2, 1, down, 1e-6);
    const std::vector<double> mixed = {
        0.0166666694, 0.386666685, 0.75666666,  0.150000006, 0.519999981, 0.889999986,
        0.283333361,  0.653333366, 0.181666523, 0.15952383,  0.52952379,  0.538809478,
        0.29285717,   0.662857115, 0.672142804, 0.426190495, 0.495595157, 0.264404684,
        0.38809526,   0.758095264, 0.190238073, 0.521428585, 0.89142859,  0.323571414,
        0.65476191,   0.24321413,  0.396785736, 0.616666734, 0.481666595, 0.346666694,
        0.75000006,   0.61499995,  0.480000049, 0.462499917, 0.327499956, 0.613333404,
        0.773095131,  0.205238178, 0.563214302, 0.906428456, 0.338571519, 0.636428475,
        0.258214176,  0.471904874, 0.769761741, 0.424523681, 0.433809578, 0.695595205,
        0.557857037,  0.567142904, 0.287857056, 0.390595227, 0.700476229, 0.421190381,
        0.206666663,  0.576666653, 0.778333366, 0.340000004, 0.710000038, 0.0700000003,
        0.473333359,  0.843333364, 0.203333348};
    check_image(resize_image(pattern(4, 4, 3, PixelType::f32), 7, 3), 7, 3, 3, mixed, 1e-6);
    // shrinking the height takes the rows-first path
    const std::vector<double> rows_down = {
        0.626666605, 0.323333353, 0.673333347, 0.134333327, 0.558333337, 0.423333317,
        0.342333347, 0.712333322, 0.153333336, 0.523333311, 0.800000012, 0.159999996,
        0.610999942, 0.678000033, 0.394999981, 0.764999986, 0.481999964, 0.549000025,
        1,           0.360000014, 0.636666715, 0.333333015, 0.447666645, 0.615666628,
        0.231666684, 0.601666689, 0.318666637, 0.385666698, 0.836666703, 0.196666703};
    check_image(resize_image(pattern(7, 4, 2, PixelType::f32), 3, 5), 3, 5, 2, rows_down, 1e-6);
}

TEST_CASE("transforms: resize of u8 rounds to nearest; size errors", "[data][transforms]") {
    // [0, 2] -> 1x4: 0, 0.5, 1.5, 2 -> halves round up: 0, 1, 2, 2
    check_image(resize_image(make(1, 2, 1, PixelType::u8, {0, 2}), 1, 4), 1, 4, 1, {0, 1, 2, 2});
    // u8 equals the f32 result on the same values, rounded half up
    Image u = pattern(5, 6, 3, PixelType::u8);
    Image f = make(5, 6, 3, PixelType::f32, values(u));
    const std::vector<double> ru = values(resize_image(u, 3, 8));
    const std::vector<double> rf = values(resize_image(f, 3, 8));
    for (size_t i = 0; i < ru.size(); ++i) CHECK(ru[i] == std::floor(rf[i] + 0.5));
    // same size is the identity; the step wraps resize_image
    CHECK(values(resize_image(u, 5, 6)) == values(u));
    SampleRng rng = rng0();
    CHECK(values(resize(3, 8)->apply(u, rng)) == ru);
    CHECK(resize(32, 16)->describe() == "Resize(32x16)");
    CHECK_THROWS_WITH(resize(0, 4), Contains("resize: size must be positive, got 0x4"));
    CHECK_THROWS_WITH(resize_image(u, 4, -1), Contains("resize_image: size must be positive"));
    CHECK_THROWS_WITH(resize_image(Image(), 4, 4), Contains("empty image"));
}

TEST_CASE("transforms: to_float and normalize", "[data][transforms]") {
    SampleRng rng = rng0();
    Image u = make(1, 2, 2, PixelType::u8, {0, 51, 255, 128});
    Image f = to_float()->apply(u, rng);
    REQUIRE(f.type() == PixelType::f32);
    CHECK(f.f32()[0] == 0.0f);
    CHECK(f.f32()[1] == 0.2f);
    CHECK(f.f32()[2] == 1.0f);
    CHECK(f.f32()[3] == 128.0f / 255.0f);
    CHECK(values(to_float()->apply(f, rng)) == values(f));
    check_image(normalize({0.5}, {0.5})->apply(f, rng), 1, 2, 2, {-1, -0.6, 1, 0.003921568}, 1e-6);
    check_image(normalize({0, 1}, {2, 0.5})->apply(f, rng), 1, 2, 2,
                {0, -1.6, 0.5, (128.0 / 255 - 1) / 0.5}, 1e-6);
    CHECK(to_float()->describe() == "ToFloat()");
    CHECK(normalize({0.4914, 0.4822}, {0.2})->describe() ==
          "Normalize(mean=[0.4914, 0.4822], std=[0.2])");
    CHECK_THROWS_WITH(normalize({0.5}, {0.5})->apply(u, rng),
                      Contains("normalize: needs a float image; put to_float() before it"));
    CHECK_THROWS_WITH(normalize({0.1, 0.2, 0.3}, {1})->apply(f, rng),
                      Contains("mean has 3 values and std 1") && Contains("1x2x2 f32"));
    CHECK_THROWS_WITH(normalize({0}, {1, 1, 1})->apply(f, rng), Contains("needs 1 or 2 each"));
    CHECK_THROWS_WITH(normalize({0.5}, {0}), Contains("std must be positive, got 0"));
    CHECK_THROWS_WITH(normalize({0.5}, {-1}), Contains("std must be positive"));
    CHECK_THROWS_WITH(normalize({}, {1}), Contains("need 1..4 values"));
    CHECK_THROWS_WITH(normalize({0}, {1, 1, 1, 1, 1}), Contains("need 1..4 values"));
    CHECK_THROWS_WITH(normalize({std::nan("")}, {1}), Contains("mean must be finite"));
}

TEST_CASE("transforms: Compose applies in order and describes the chain", "[data][transforms]") {
    SampleRng rng = rng0();
    Image img = coords(2, 2);
    // pad then centre crop gives the image back; crop then pad surrounds one pixel with fill
    Compose pad_crop({pad(1, 9), center_crop(2, 2)});
    Compose crop_pad({center_crop(1, 1), pad(1, 9)});
    check_image(pad_crop.apply(img, rng), 2, 2, 1, {1, 2, 17, 18});
    check_image(crop_pad.apply(img, rng), 3, 3, 1, {9, 9, 9, 9, 1, 9, 9, 9, 9});  // round(0.5) = 0
    check_image(Compose({pad(1, 9), center_crop(3, 3)}).apply(img, rng), 3, 3, 1,
                {9, 9, 9, 9, 1, 2, 9, 17, 18});
    CHECK(Compose({pad(1, 2, 3, 4), to_float()}).describe() ==
          "Pad(top=1, bottom=2, left=3, right=4, fill=0) -> ToFloat()");
    CHECK(pad(4)->describe() == "Pad(4, fill=0)");
    // an empty Compose returns an equal copy
    Compose none({});
    CHECK(values(none.apply(img, rng)) == values(img));
    CHECK(none.describe() == "Identity()");
    CHECK_THROWS_WITH(Compose({pad(1), nullptr}), Contains("Compose: step 1 is null"));
}
