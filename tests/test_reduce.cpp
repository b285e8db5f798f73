// Reductions: sum, mean, max, var, argmax over axes with keepdim, and their gradients.
#include "tests/test_util.h"

using namespace qbh;

TEST_CASE("reduce: values over axes with keepdim", "[reduce]") {
    Tensor x = Tensor::from_vector({1, 5, 3, 4, 2, 6}, {2, 3}, DType::f64);
    CHECK(sum(x).item() == 21);
    CHECK(sum(x, {0}).to_vector() == std::vector<double>{5, 7, 9});
    CHECK(sum(x, {1}, true).shape() == Shape{2, 1});
    CHECK(sum(x, {-1}).to_vector() == std::vector<double>{9, 12});
    CHECK(mean(x, {1}).to_vector() == std::vector<double>{3, 4});
    CHECK(mean(x).item() == 3.5);
    CHECK(max(x, {1}).to_vector() == std::vector<double>{5, 6});
    CHECK(max(x).item() == 6);
    CHECK(argmax(x, 1).to_vector() == std::vector<double>{1, 2});
    CHECK(argmax(x, 0, true).shape() == Shape{1, 3});
    CHECK(argmax(x, 1).dtype() == DType::i64);
    // var of {1,5,3}: mean 3, squares 4+4+0 = 8 -> unbiased 4, biased 8/3
    CHECK(var(x, {1}).at({0}) == Approx(4.0));
    CHECK(var(x, {1}, false).at({0}) == Approx(8.0 / 3));
    Tensor y = test::randn({2, 3, 4}, 9);
    QBH_CHECK_CLOSE(sum(y, {0, 2}), sum(sum(y, {2}), {0}), 1e-12, 1e-12);
    QBH_CHECK_CLOSE(sum(test::noncontiguous(y), {1}), sum(y, {1}), 1e-12, 1e-12);
    CHECK(sum_to(Tensor::ones({2, 3, 4}), {3, 1}).to_vector() == std::vector<double>{8, 8, 8});
}

TEST_CASE("reduce: gradients by finite differences", "[reduce][gradcheck]") {
    Tensor x = test::randn({2, 3, 4}, 10).set_requires_grad();
    QBH_GRADCHECK([](const std::vector<Tensor>& in) { return sum(in[0], {0, 2}, true); }, {x});
    QBH_GRADCHECK([](const std::vector<Tensor>& in) { return mean(in[0], {1}); }, {x});
    QBH_GRADCHECK([](const std::vector<Tensor>& in) { return max(in[0], {2}); }, {x});
    QBH_GRADCHECK([](const std::vector<Tensor>& in) { return max(in[0], {0, 1}, true); }, {x});
    QBH_GRADCHECK([](const std::vector<Tensor>& in) { return var(in[0], {1, 2}); }, {x});
    QBH_GRADCHECK([](const std::vector<Tensor>& in) { return sum_to(in[0], {3, 1}); }, {x});
    Tensor nc = test::noncontiguous(test::randn({3, 4}, 11)).set_requires_grad();
    QBH_GRADCHECK([](const std::vector<Tensor>& in) { return var(in[0], {0}, false); }, {nc});
}

TEST_CASE("reduce: errors", "[reduce][errors]") {
    Tensor x = Tensor::zeros({2, 3});
    CHECK_THROWS_WITH(sum(x, {2}), Catch::Contains("sum") && Catch::Contains("out of range"));
    CHECK_THROWS_WITH(sum(x, {1, -1}), Catch::Contains("twice"));
    CHECK_THROWS_WITH(var(Tensor::zeros({2, 1}), {1}), Catch::Contains("too few"));
    CHECK_THROWS_WITH(max(Tensor::zeros({2, 0}), {1}), Catch::Contains("empty"));
}
