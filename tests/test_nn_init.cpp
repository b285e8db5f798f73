// nn initialisers: statistics on large tensors, bounds, fan computation, gains, determinism,
// erfinv accuracy and error paths.
#include <cmath>

#include "engine/nn/init.h"
#include "tests/test_util.h"

using namespace qbh;
namespace init = qbh::nn::init;

namespace {

struct Stats {
    double mean = 0, std = 0, min = 1e300, max = -1e300;
};

Stats stats_of(const Tensor& t) {
    std::vector<double> v = t.to_vector();
    Stats s;
    for (double x : v) {
        s.mean += x;
        s.min = std::min(s.min, x);
        s.max = std::max(s.max, x);
    }
    s.mean /= static_cast<double>(v.size());
    for (double x : v) s.std += (x - s.mean) * (x - s.mean);
    s.std = std::sqrt(s.std / static_cast<double>(v.size() - 1));
    return s;
}

}  // namespace

TEST_CASE("nn init: fan in/out and gains as torch", "[nn][init]") {
    CHECK(init::fan_in_and_fan_out(Tensor::zeros({8, 4})) == std::pair<int64_t, int64_t>{4, 8});
    // conv weight [out 16, in 4, 3, 3]: receptive field 9
    CHECK(init::fan_in_and_fan_out(Tensor::zeros({16, 4, 3, 3})) ==
          std::pair<int64_t, int64_t>{36, 144});
    CHECK(init::calculate_gain(init::Nonlinearity::linear) == 1.0);
    CHECK(init::calculate_gain(init::Nonlinearity::sigmoid) == 1.0);
    CHECK(init::calculate_gain(init::Nonlinearity::tanh) == Approx(5.0 / 3.0));
    CHECK(init::calculate_gain(init::Nonlinearity::relu) == Approx(std::sqrt(2.0)));
    CHECK(init::calculate_gain(init::Nonlinearity::leaky_relu, std::sqrt(5.0)) ==
          Approx(std::sqrt(1.0 / 3.0)));
    CHECK(init::calculate_gain(init::Nonlinearity::leaky_relu) == Approx(std::sqrt(2.0)));
}

TEST_CASE("nn init: uniform, normal and constants", "[nn][init]") {
    Generator gen(1);
    for (DType dt : {DType::f32, DType::f64}) {
        Tensor t = Tensor::empty({400, 500}, dt);
        Stats u = stats_of(init::uniform_(t, gen, -1.0, 3.0));
        CHECK(u.min >= -1.0);
        CHECK(u.max < 3.0);
        CHECK(u.mean == Approx(1.0).margin(0.01));
        CHECK(u.std == Approx(4.0 / std::sqrt(12.0)).epsilon(0.01));
        Stats n = stats_of(init::normal_(t, gen, 0.5, 2.0));
        CHECK(n.mean == Approx(0.5).margin(0.01));
        CHECK(n.std == Approx(2.0).epsilon(0.01));
    }
    // On a parameter that requires grad, outside NoGradGuard: the initialiser guards itself.
    Tensor p = Tensor::empty({3, 2}).set_requires_grad();
    CHECK(init::zeros_(p).to_vector() == std::vector<double>(6, 0.0));
    CHECK(init::ones_(p).to_vector() == std::vector<double>(6, 1.0));
    CHECK(init::constant_(p, 0.25).to_vector() == std::vector<double>(6, 0.25));
    CHECK(p.requires_grad());
    CHECK(p.is_leaf());
    // A non-contiguous view is filled through its strides.
    Tensor base = Tensor::zeros({4, 6});
    init::constant_(base.slice(1, 0, 6, 2), 7.0);
    CHECK(base.at({2, 2}) == 7.0);
    CHECK(base.at({2, 3}) == 0.0);
}

TEST_CASE("nn init: xavier and kaiming bounds and standard deviations", "[nn][init]") {
    Generator gen(2);
    Tensor w = Tensor::empty({256, 512});  // fan_in 512, fan_out 256
    const double xb = std::sqrt(6.0 / 768.0);
    Stats xu = stats_of(init::xavier_uniform_(w, gen));
    CHECK(xu.max <= xb);
    CHECK(xu.min >= -xb);
    CHECK(xu.max > 0.99 * xb);  // the bound is reached, not a smaller one
    CHECK(xu.std == Approx(xb / std::sqrt(3.0)).epsilon(0.02));
    Stats xg = stats_of(init::xavier_uniform_(w, gen, 2.0));
    CHECK(xg.max > 1.98 * xb);
    Stats xn = stats_of(init::xavier_normal_(w, gen));
    CHECK(xn.std == Approx(std::sqrt(2.0 / 768.0)).epsilon(0.02));

    Stats kn = stats_of(
        init::kaiming_normal_(w, gen, 0.0, init::FanMode::fan_in, init::Nonlinearity::relu));
    CHECK(kn.std == Approx(std::sqrt(2.0 / 512.0)).epsilon(0.02));
    CHECK(kn.mean == Approx(0.0).margin(0.002));
    Stats ko = stats_of(
        init::kaiming_normal_(w, gen, 0.0, init::FanMode::fan_out, init::Nonlinearity::relu));
    CHECK(ko.std == Approx(std::sqrt(2.0 / 256.0)).epsilon(0.02));
    // torch's Linear default: kaiming_uniform(a = sqrt 5) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    Stats ku = stats_of(init::kaiming_uniform_(w, gen, std::sqrt(5.0)));
    CHECK(ku.max <= 1.0 / std::sqrt(512.0) * (1 + 1e-6));
    CHECK(ku.max > 0.99 / std::sqrt(512.0));
    Stats kl = stats_of(
        init::kaiming_uniform_(w, gen, 0.0, init::FanMode::fan_in, init::Nonlinearity::linear));
    CHECK(kl.max > 0.99 * std::sqrt(3.0 / 512.0));
    CHECK(kl.max <= std::sqrt(3.0 / 512.0) * (1 + 1e-6));
}

TEST_CASE("nn init: trunc_normal stays within absolute bounds", "[nn][init]") {
    Generator gen(3);
    Tensor t = Tensor::empty({200000}, DType::f64);
    // Standard normal cut at +-2: std of the truncated law is 0.8796.
    Stats s = stats_of(init::trunc_normal_(t, gen));
    CHECK(s.min >= -2.0);
    CHECK(s.max <= 2.0);
    CHECK(s.max > 1.99);
    CHECK(s.mean == Approx(0.0).margin(0.01));
    CHECK(s.std == Approx(0.8796).epsilon(0.01));
    // timm's ViT use: std 0.02 with the default absolute bounds +-2 is a plain normal.
    Stats vit = stats_of(init::trunc_normal_(t, gen, 0.0, 0.02));
    CHECK(vit.std == Approx(0.02).epsilon(0.01));
    // A one-sided window far in the tail: inverse CDF needs no rejection loop.
    Stats tail = stats_of(init::trunc_normal_(t, gen, 0.0, 1.0, 3.0, 3.5));
    CHECK(tail.min >= 3.0);
    CHECK(tail.max <= 3.5);
    CHECK(tail.mean > 3.0);
    CHECK(tail.mean < 3.3);
    Tensor f = Tensor::empty({1000}, DType::f32);
    Stats sf = stats_of(init::trunc_normal_(f, gen, 1.0, 1.0, 0.5, 1.5));
    CHECK(sf.min >= 0.5);
    CHECK(sf.max <= 1.5);
}

TEST_CASE("nn init: erfinv inverts erf", "[nn][init]") {
    for (double y : {-0.999999, -0.9, -0.5, -1e-8, 0.0, 0.3, 0.7, 0.99, 0.9999999999})
        CHECK(std::erf(init::erfinv(y)) == Approx(y).epsilon(1e-13).margin(1e-15));
    CHECK(init::erfinv(0.5) == Approx(0.4769362762044699).epsilon(1e-14));
    CHECK(std::isinf(init::erfinv(1.0)));
    CHECK(init::erfinv(-1.0) < 0);
    CHECK(std::isnan(init::erfinv(1.5)));
}

TEST_CASE("nn init: same generator state gives the same values", "[nn][init]") {
    Generator a(9), b(9), c(10);
    Tensor x = init::trunc_normal_(Tensor::empty({50}), a, 0.0, 0.02);
    Tensor y = init::trunc_normal_(Tensor::empty({50}), b, 0.0, 0.02);
    Tensor z = init::trunc_normal_(Tensor::empty({50}), c, 0.0, 0.02);
    CHECK(x.to_vector() == y.to_vector());
    CHECK(x.to_vector() != z.to_vector());
    // The generator advances: a second draw differs from the first.
    CHECK(init::normal_(Tensor::empty({50}), a).to_vector() !=
          init::normal_(Tensor::empty({50}), c).to_vector());
}

TEST_CASE("nn init: errors", "[nn][init][errors]") {
    Generator gen(4);
    CHECK_THROWS_WITH(init::fan_in_and_fan_out(Tensor::zeros({5})),
                      Catch::Contains("at least 2 axes") && Catch::Contains("[5]"));
    CHECK_THROWS_WITH(init::xavier_uniform_(Tensor::zeros({5}), gen),
                      Catch::Contains("at least 2 axes"));
    CHECK_THROWS_WITH(init::uniform_(Tensor::zeros({2}, DType::i64), gen),
                      Catch::Contains("init.uniform_") && Catch::Contains("i64"));
    CHECK_THROWS_WITH(init::uniform_(Tensor::zeros({2}), gen, 1.0, 0.0),
                      Catch::Contains("below low"));
    CHECK_THROWS_WITH(init::normal_(Tensor::zeros({2}), gen, 0.0, -1.0),
                      Catch::Contains("non-negative"));
    CHECK_THROWS_WITH(init::trunc_normal_(Tensor::zeros({2}), gen, 0.0, 1.0, 1.0, -1.0),
                      Catch::Contains("a < b"));
    CHECK_THROWS_WITH(init::constant_(Tensor(), 1.0), Catch::Contains("undefined"));
}
