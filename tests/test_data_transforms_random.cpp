// Transforms, random part: random_crop and random_resized_crop place their windows from the
// SampleRng exactly as a copy of the same stream predicts (torchvision's get_params written out
// plainly below), reach every position, stay in range, and replay for the same seed.
#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "data/transforms.h"
#include "tests/test_util.h"

using namespace qbh::data;
using Catch::Contains;

namespace {

std::vector<double> values(const Image& img) {
    std::vector<double> v;
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x)
            for (int c = 0; c < img.channels(); ++c) v.push_back(img.at(y, x, c));
    return v;
}

// Value (y, x) = 16 y + x + 1 in every channel (u8), or (16 y + x + 1) / 256 (f32).
Image coords(int h, int w, int c = 1, PixelType type = PixelType::u8) {
    Image img(h, w, c, type);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int k = 0; k < c; ++k) {
                const size_t i = (static_cast<size_t>(y) * w + x) * c + k;
                if (type == PixelType::u8)
                    img.u8()[i] = static_cast<uint8_t>(16 * y + x + 1);
                else
                    img.f32()[i] = static_cast<float>((16 * y + x + 1) / 256.0);
            }
    return img;
}

// torchvision RandomResizedCrop.get_params, line by line (Python round = half to even).
CropBox reference_box(int H, int W, double s0, double s1, double r0, double r1, SampleRng& rng) {
    const double area = static_cast<double>(H) * W;
    for (int i = 0; i < 10; ++i) {
        double target_area = area * rng.uniform(s0, s1);
        double aspect_ratio = std::exp(rng.uniform(std::log(r0), std::log(r1)));
        int w = static_cast<int>(std::nearbyint(std::sqrt(target_area * aspect_ratio)));
        int h = static_cast<int>(std::nearbyint(std::sqrt(target_area / aspect_ratio)));
        if (0 < w && w <= W && 0 < h && h <= H) {
            int top = static_cast<int>(rng.integer(0, H - h));
            int left = static_cast<int>(rng.integer(0, W - w));
            return {top, left, h, w};
        }
    }
    double in_ratio = static_cast<double>(W) / H;
    int w = W, h = H;
    if (in_ratio < r0) {
        h = static_cast<int>(std::nearbyint(w / r0));
    } else if (in_ratio > r1) {
        w = static_cast<int>(std::nearbyint(h * r1));
    }
    return {(H - h) / 2, (W - w) / 2, h, w};
}

}  // namespace

TEST_CASE("transforms: random_crop takes the window the rng picks", "[data][transforms]") {
    Image img = coords(6, 7, 3);
    for (uint64_t seed = 0; seed < 20; ++seed) {
        SampleRng rng(seed, 1, 2), copy(seed, 1, 2);
        const int top = static_cast<int>(copy.integer(0, 6 - 4));
        const int left = static_cast<int>(copy.integer(0, 7 - 3));
        Image out = random_crop(4, 3)->apply(img, rng);
        CHECK(values(out) == values(crop_image(img, top, left, 4, 3)));
        CHECK(out.at(0, 0, 2) == 16 * top + left + 1);
    }
}

TEST_CASE("transforms: random_crop reaches every position", "[data][transforms]") {
    Image img = coords(4, 5, 1, PixelType::f32);
    std::set<double> corners;  // the window's first pixel names its position
    for (uint64_t seed = 0; seed < 300; ++seed) {
        SampleRng rng(seed, 0, seed);
        corners.insert(random_crop(2, 3)->apply(img, rng).at(0, 0, 0));
    }
    CHECK(corners.size() == 9);  // 3 tops x 3 lefts
    SampleRng rng(5, 0, 0);
    CHECK(values(random_crop(4, 5)->apply(img, rng)) == values(img));  // the only position
}

TEST_CASE("transforms: random_crop pads first", "[data][transforms]") {
    Image img = coords(3, 3, 2);
    Image padded = pad_image(img, 2, 2, 2, 2, 0);
    std::set<std::pair<int, int>> seen;
    for (uint64_t seed = 0; seed < 400; ++seed) {
        SampleRng rng(seed, 0, 0), copy(seed, 0, 0);
        const int top = static_cast<int>(copy.integer(0, 7 - 3));
        const int left = static_cast<int>(copy.integer(0, 7 - 3));
        seen.insert({top, left});
        Image out = random_crop(3, 3, 2)->apply(img, rng);
        CHECK(values(out) == values(crop_image(padded, top, left, 3, 3)));
    }
    CHECK(seen.size() == 25);
    SampleRng rng(0, 0, 0);
    // the padded window may be bigger than the image itself
    CHECK(random_crop(7, 7, 2)->apply(img, rng).at(2, 2, 0) == 1);
    CHECK(random_crop(28, 28, 4)->describe() == "RandomCrop(28x28, padding=4)");
    CHECK(random_crop(28, 28)->describe() == "RandomCrop(28x28)");
}

TEST_CASE("transforms: random_crop argument errors", "[data][transforms]") {
    SampleRng rng(0, 0, 0);
    Image img = coords(28, 28);
    CHECK_THROWS_WITH(random_crop(32, 32)->apply(img, rng),
                      Contains("window 32x32 is larger than the 28x28 image"));
    CHECK_THROWS_WITH(random_crop(40, 30, 2)->apply(img, rng),
                      Contains("window 40x30") && Contains("32x32") && Contains("padded by 2"));
    CHECK_THROWS_WITH(random_crop(0, 5), Contains("random_crop: size must be positive"));
    CHECK_THROWS_WITH(random_crop(5, 5, -1), Contains("padding must not be negative"));
    CHECK_THROWS_WITH(random_crop(5, 5)->apply(Image(), rng), Contains("empty image"));
}

TEST_CASE("transforms: random_resized_crop follows torchvision's get_params",
          "[data][transforms]") {
    Image img = coords(12, 15, 3);
    const auto step = random_resized_crop(5, 4, 0.1, 0.9, 0.5, 2.0);
    for (uint64_t seed = 0; seed < 50; ++seed) {
        SampleRng rng(seed, 0, 0), copy(seed, 0, 0), copy2(seed, 0, 0);
        const CropBox want = reference_box(12, 15, 0.1, 0.9, 0.5, 2.0, copy);
        const CropBox got = random_resized_crop_box(12, 15, 0.1, 0.9, 0.5, 2.0, copy2);
        CHECK(got.top == want.top);
        CHECK(got.left == want.left);
        CHECK(got.height == want.height);
        CHECK(got.width == want.width);
        Image out = step->apply(img, rng);
        REQUIRE(out.height() == 5);
        REQUIRE(out.width() == 4);
        REQUIRE(out.channels() == 3);
        Image expected =
            resize_image(crop_image(img, want.top, want.left, want.height, want.width), 5, 4);
        CHECK(values(out) == values(expected));
        CHECK(rng.uniform() == copy.uniform());  // and it drew exactly as many numbers
    }
    CHECK(random_resized_crop(24, 24)->describe() ==
          "RandomResizedCrop(24x24, scale=[0.08, 1], ratio=[0.75, 1.333])");
}

TEST_CASE("transforms: random_resized_crop boxes stay in the scale and ratio ranges",
          "[data][transforms]") {
    const int H = 90, W = 120;
    for (uint64_t seed = 0; seed < 1000; ++seed) {
        SampleRng rng(seed, 2, 9);
        const CropBox b = random_resized_crop_box(H, W, 0.08, 1.0, 0.75, 4.0 / 3.0, rng);
        INFO("seed " << seed << " box " << b.top << "," << b.left << " " << b.height << "x"
                     << b.width);
        REQUIRE(b.top >= 0);
        REQUIRE(b.left >= 0);
        REQUIRE(b.top + b.height <= H);
        REQUIRE(b.left + b.width <= W);
        // sides are rounded to whole pixels: allow half a pixel on each
        const double area_lo = (b.height - 0.5) * (b.width - 0.5) / (H * W);
        const double area_hi = (b.height + 0.5) * (b.width + 0.5) / (H * W);
        CHECK(area_hi >= 0.08);
        CHECK(area_lo <= 1.0);
        CHECK((b.width + 0.5) / (b.height - 0.5) >= 0.75);
        CHECK((b.width - 0.5) / (b.height + 0.5) <= 4.0 / 3.0);
    }
}

TEST_CASE("transforms: random_resized_crop falls back to a centred crop", "[data][transforms]") {
    SampleRng rng(3, 0, 0);
    // ratio (10, 20) cannot fit a square with half its area: 10 tries fail, then w = W, h =
    // round(W / 10), centred
    CropBox b = random_resized_crop_box(10, 10, 0.5, 1.0, 10, 20, rng);
    CHECK((b.top == 4 && b.left == 0 && b.height == 1 && b.width == 10));
    b = random_resized_crop_box(10, 10, 0.5, 1.0, 0.05, 0.1, rng);
    CHECK((b.top == 0 && b.left == 4 && b.height == 10 && b.width == 1));
    // in-range aspect but too much area (scale above 1): the whole image
    b = random_resized_crop_box(6, 8, 2.0, 3.0, 1.0, 2.0, rng);
    CHECK((b.top == 0 && b.left == 0 && b.height == 6 && b.width == 8));
    // a one-pixel-wide image never gets an empty side
    b = random_resized_crop_box(5, 1, 0.5, 1.0, 10, 20, rng);
    CHECK((b.height == 1 && b.width == 1 && b.top == 2));
    // the fallback costs exactly 20 draws
    SampleRng a(8, 0, 0), c(8, 0, 0);
    random_resized_crop_box(10, 10, 0.5, 1.0, 10, 20, a);
    for (int i = 0; i < 20; ++i) c.uniform();
    CHECK(a.uniform() == c.uniform());
    Image out = random_resized_crop(4, 4, 0.5, 1.0, 10, 20)->apply(coords(10, 10), a);
    // every output row samples source row 4 (values 65..74); columns 10 -> 4 sample source
    // x = 0.75 and 8.25: 65 + 0.75 = 65.75 -> 66, 65 + 8.25 = 73.25 -> 73
    CHECK(out.at(0, 0, 0) == 66);
    CHECK(out.at(3, 3, 0) == 73);
    CHECK(out.at(3, 0, 0) == 66);
}

TEST_CASE("transforms: random_resized_crop argument errors", "[data][transforms]") {
    CHECK_THROWS_WITH(random_resized_crop(0, 4), Contains("random_resized_crop: size"));
    CHECK_THROWS_WITH(random_resized_crop(4, 4, 0.0, 1.0), Contains("scale must satisfy"));
    CHECK_THROWS_WITH(random_resized_crop(4, 4, 0.5, 0.4), Contains("scale must satisfy"));
    CHECK_THROWS_WITH(random_resized_crop(4, 4, 0.5, 1, 0, 1), Contains("ratio must satisfy"));
    CHECK_THROWS_WITH(random_resized_crop(4, 4, 0.5, 1, 2, 1), Contains("ratio must satisfy"));
    SampleRng rng(0, 0, 0);
    CHECK_THROWS_WITH(random_resized_crop(4, 4)->apply(Image(), rng), Contains("empty image"));
}

TEST_CASE("transforms: a random pipeline replays for the same seed", "[data][transforms]") {
    Compose steps({random_resized_crop(8, 8, 0.2, 1.0), horizontal_flip(), random_crop(6, 6, 1),
                   to_float(), normalize({0.5}, {0.25})});
    Image img = coords(20, 16, 3);
    int differ = 0;
    for (uint64_t seed = 0; seed < 10; ++seed) {
        SampleRng a(seed, 4, 11), b(seed, 4, 11), other(seed + 100, 4, 11);
        const std::vector<double> first = values(steps.apply(img, a));
        CHECK(first == values(steps.apply(img, b)));
        differ += first != values(steps.apply(img, other));
    }
    CHECK(differ >= 8);
    CHECK(steps.describe() ==
          "RandomResizedCrop(8x8, scale=[0.2, 1], ratio=[0.75, 1.333]) -> "
          "RandomHorizontalFlip(p=0.5) -> RandomCrop(6x6, padding=1) -> ToFloat() -> "
          "Normalize(mean=[0.5], std=[0.25])");
}
