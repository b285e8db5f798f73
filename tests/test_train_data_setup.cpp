// Tests of train/data_setup: splits with limits, the size/channel checks against the model
// config, channel statistics, and the two transform pipelines (on the installed Fashion-MNIST).
#include <filesystem>

#include "data/sample_rng.h"
#include "tests/test_util.h"
#include "train/data_setup.h"

using namespace qbh;
using namespace qbh::train;
using Catch::Contains;

namespace {

bool have_fashion_mnist() {
    if (std::filesystem::exists(data::kDefaultDatasetPath)) return true;
    WARN("SKIPPED: Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)");
    return false;
}

}  // namespace

TEST_CASE("data setup: splits, limits and the checks against the model", "[train][data]") {
    if (!have_fashion_mnist()) return;
    RunConfig config = preset("quick");
    config.data.limit_train = 300;
    config.data.limit_test = 0;
    auto train = open_split(config, "train");
    CHECK(train->size() == 300);
    CHECK(train->describe().rfind("first 300 of IDX (Fashion-MNIST)", 0) == 0);
    CHECK(train->get(0).label == 9);  // Fashion-MNIST's first training label (Ankle boot)
    CHECK_THROWS_WITH(train->get(300), Contains("outside 0..299"));
    CHECK(open_split(config, "test")->size() == 10000);

    RunConfig wrong_size = config;
    wrong_size.data.pad = 0;
    CHECK_THROWS_WITH(open_split(wrong_size, "train"),
                      Contains("data.pad / model.image_size: train images are 28x28, padded by "
                               "0 per side to 28x28, but the model expects 32x32"));
    RunConfig wrong_channels = config;
    wrong_channels.model.in_channels = 3;
    CHECK_THROWS_WITH(open_split(wrong_channels, "train"),
                      Contains("data.channels / model.in_channels"));
}

TEST_CASE("data setup: statistics and transform pipelines", "[train][data]") {
    if (!have_fashion_mnist()) return;
    RunConfig config = preset("quick");
    config.data.limit_train = 2000;
    auto train = open_split(config, "train");
    ChannelStats stats = channel_stats(*train);
    REQUIRE(stats.mean.size() == 1);
    CHECK(stats.mean[0] == Approx(0.286).margin(0.01));  // the full set's 0.2860 / 0.3530
    CHECK(stats.std[0] == Approx(0.353).margin(0.01));

    const data::Image raw = train->get(0).image;
    data::SampleRng rng(1, 0, 0);
    data::Image plain = eval_transform(config, stats)->apply(raw, rng);
    REQUIRE(plain.height() == 32);
    REQUIRE(plain.type() == data::PixelType::f32);
    // The border is padding: pixel 0 normalised; the centre is the raw pixel normalised.
    const double border = (0.0 - stats.mean[0]) / stats.std[0];
    CHECK(plain.at(0, 0, 0) == Approx(border));
    CHECK(plain.at(2 + 10, 2 + 14, 0) ==
          Approx((raw.at(10, 14, 0) / 255.0 - stats.mean[0]) / stats.std[0]).epsilon(1e-5));

    auto augment = train_transform(config, stats);
    data::SampleRng rng1(1, 0, 0), rng1_again(1, 0, 0), rng2(2, 0, 0);
    data::Image a = augment->apply(raw, rng1), b = augment->apply(raw, rng1_again);
    data::Image c = augment->apply(raw, rng2);
    REQUIRE(a.height() == 32);
    REQUIRE(a.width() == 32);
    bool same = true, differs = false;
    for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) {
            same = same && a.at(y, x, 0) == b.at(y, x, 0);
            differs = differs || a.at(y, x, 0) != c.at(y, x, 0);
        }
    CHECK(same);     // the same stream gives the same crop and flip
    CHECK(differs);  // another seed, another crop
}
