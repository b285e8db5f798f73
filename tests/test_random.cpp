// Counter-based RNG: reproducible streams, sensible moments, permutations, dropout.
#include <algorithm>

#include "tests/test_util.h"

using namespace qbh;

TEST_CASE("random: same seed, same numbers; streams advance", "[random]") {
    Generator g1(42), g2(42), g3(43);
    Tensor a = rand({1000}, g1), b = rand({1000}, g2), c = rand({1000}, g3);
    CHECK(a.to_vector() == b.to_vector());
    CHECK(a.to_vector() != c.to_vector());
    Tensor a2 = rand({1000}, g1);
    CHECK(a2.to_vector() != a.to_vector());
    CHECK(g1.offset() == 2000);
    // restoring the state replays the stream
    Generator g4(0);
    g4.set_state(42, 1000);
    CHECK(rand({1000}, g4).to_vector() == a2.to_vector());
}

TEST_CASE("random: moments of uniform, normal and bernoulli", "[random]") {
    Generator g(7);
    Tensor u = rand({100000}, g, DType::f64);
    CHECK(mean(u).item() == Approx(0.5).margin(0.01));
    CHECK(max(u).item() < 1.0);
    Tensor n = randn({100000}, g, DType::f64, 2.0, 3.0);
    CHECK(mean(n).item() == Approx(2.0).margin(0.05));
    CHECK(std::sqrt(var(n, {0}).item()) == Approx(3.0).margin(0.05));
    Tensor b = bernoulli({100000}, 0.25, g);
    CHECK(mean(b).item() == Approx(0.25).margin(0.01));
}

TEST_CASE("random: randperm is a permutation and reproducible", "[random]") {
    Generator g(1), h(1);
    std::vector<double> p = randperm(100, g).to_vector();
    CHECK(p == randperm(100, h).to_vector());
    std::vector<double> sorted = p;
    std::sort(sorted.begin(), sorted.end());
    for (int i = 0; i < 100; ++i) CHECK(sorted[i] == i);
    CHECK(p != sorted);
}

TEST_CASE("random: dropout keeps the mean and routes gradients through the mask", "[random]") {
    Generator g(3);
    Tensor x = Tensor::ones({10000}, DType::f64).set_requires_grad();
    Tensor y = dropout(x, 0.3, true, g);
    std::vector<double> v = y.to_vector();
    int64_t zeros = std::count(v.begin(), v.end(), 0.0);
    CHECK(zeros == Approx(3000).margin(200));
    CHECK(mean(y).item() == Approx(1.0).margin(0.03));
    sum(y).backward();
    CHECK(x.grad().to_vector() == v);  // d y / d x = mask / (1 - p) = y for x = 1
    CHECK(dropout(x, 0.3, false, g).same(x));
    CHECK_THROWS_WITH(dropout(x, 1.0, true, g), Catch::Contains("[0, 1)"));
}
