// Elementwise ops: forward against std:: math, broadcasting, and gradients by finite
// differences, on contiguous and non-contiguous inputs.
#include <cmath>

#include "tests/test_util.h"

using namespace qbh;

namespace {

// Applies f to each value of x (the naive reference).
Tensor map_ref(const Tensor& x, double (*f)(double)) {
    std::vector<double> v = x.to_vector();
    for (double& e : v) e = f(e);
    return Tensor::from_vector(v, x.shape(), x.dtype());
}

double ref_gelu(double x) {
    return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
}
double ref_gelu_tanh(double x) {
    return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
}
double ref_relu(double x) {
    return x > 0 ? x : 0;
}
double ref_sigmoid(double x) {
    return 1 / (1 + std::exp(-x));
}
double ref_rsqrt(double x) {
    return 1 / std::sqrt(x);
}
double ref_neg(double x) {
    return -x;
}
double ref_abs(double x) {
    return std::abs(x);
}
double ref_square(double x) {
    return x * x;
}
double ref_exp(double x) {
    return std::exp(x);
}
double ref_log(double x) {
    return std::log(x);
}
double ref_sqrt(double x) {
    return std::sqrt(x);
}
double ref_tanh(double x) {
    return std::tanh(x);
}

struct UnaryCase {
    const char* name;
    Tensor (*op)(const Tensor&);
    double (*ref)(double);
    bool positive;  // domain needs x > 0
};

Tensor gelu_exact(const Tensor& x) {
    return gelu(x);
}
Tensor gelu_tanh(const Tensor& x) {
    return gelu(x, GeluApprox::tanh);
}

const UnaryCase kUnary[] = {
    {"neg", neg, ref_neg, false},
    {"exp", exp, ref_exp, false},
    {"log", log, ref_log, true},
    {"sqrt", sqrt, ref_sqrt, true},
    {"rsqrt", rsqrt, ref_rsqrt, true},
    {"abs", abs, ref_abs, false},
    {"square", square, ref_square, false},
    {"relu", relu, ref_relu, false},
    {"gelu", gelu_exact, ref_gelu, false},
    {"gelu_tanh", gelu_tanh, ref_gelu_tanh, false},
    {"sigmoid", sigmoid, ref_sigmoid, false},
    {"tanh", tanh, ref_tanh, false},
};

}  // namespace

TEST_CASE("elementwise: unary forward matches std math in f32 and f64", "[elementwise]") {
    for (const auto& c : kUnary) {
        INFO(c.name);
        for (DType dt : {DType::f32, DType::f64}) {
            Tensor x =
                c.positive ? test::uniform({5, 7}, 3, 0.1, 3.0, dt) : test::randn({5, 7}, 3, dt);
            double tol = dt == DType::f32 ? 1e-6 : 1e-14;
            QBH_CHECK_CLOSE(c.op(x), map_ref(x, c.ref), tol, tol);
            QBH_CHECK_CLOSE(c.op(test::noncontiguous(x)), map_ref(x, c.ref), tol, tol);
        }
    }
}

TEST_CASE("elementwise: unary gradients by finite differences", "[elementwise][gradcheck]") {
    for (const auto& c : kUnary) {
        INFO(c.name);
        // keep relu/abs away from their kink at 0
        Tensor x = c.positive ? test::uniform({3, 4}, 4, 0.2, 2.0) : test::randn({3, 4}, 4);
        if (std::string(c.name) == "relu" || std::string(c.name) == "abs")
            x = x + 0.05 * (x / abs(x));
        auto op = c.op;
        auto f = [op](const std::vector<Tensor>& in) { return op(in[0]); };
        QBH_GRADCHECK(f, {x.detach().set_requires_grad()});
        QBH_GRADCHECK(f, {test::noncontiguous(x).set_requires_grad()});
    }
}

TEST_CASE("elementwise: binary ops broadcast like numpy", "[elementwise]") {
    Tensor a = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
    Tensor b = Tensor::from_vector({10, 20, 30}, {3});
    Tensor col = Tensor::from_vector({100, 200}, {2, 1});
    CHECK((a + b).to_vector() == std::vector<double>{11, 22, 33, 14, 25, 36});
    CHECK((a - col).to_vector() == std::vector<double>{-99, -98, -97, -196, -195, -194});
    CHECK((a * 2.0).to_vector() == std::vector<double>{2, 4, 6, 8, 10, 12});
    CHECK((1.0 / Tensor::from_vector({2, 4}, {2})).to_vector() == std::vector<double>{0.5, 0.25});
    CHECK(pow(a, 2.0).to_vector() == std::vector<double>{1, 4, 9, 16, 25, 36});
    CHECK(maximum(a, Tensor::scalar(3.5)).to_vector() ==
          std::vector<double>{3.5, 3.5, 3.5, 4, 5, 6});
    CHECK(minimum(a, Tensor::scalar(3.5)).to_vector() ==
          std::vector<double>{1, 2, 3, 3.5, 3.5, 3.5});
    CHECK(gt(a, Tensor::scalar(3.0)).to_vector() == std::vector<double>{0, 0, 0, 1, 1, 1});
    CHECK(eq(a, Tensor::scalar(2.0)).to_vector() == std::vector<double>{0, 1, 0, 0, 0, 0});
    CHECK((col + b).shape() == Shape{2, 3});
    Tensor i = Tensor::from_vector({1, 2, 3}, {3}, DType::i64);
    CHECK(eq(i, Tensor::scalar(2, DType::i64)).to_vector() == std::vector<double>{0, 1, 0});
    CHECK((test::noncontiguous(a) + b).to_vector() == (a + b).to_vector());
}

TEST_CASE("elementwise: binary gradients with broadcasting", "[elementwise][gradcheck]") {
    using Fn = Tensor (*)(const Tensor&, const Tensor&);
    const std::pair<const char*, Fn> ops[] = {
        {"add", add}, {"sub", sub},         {"mul", mul},        {"div", div},
        {"pow", pow}, {"maximum", maximum}, {"minimum", minimum}};
    for (auto [name, op] : ops) {
        INFO(name);
        Tensor a = test::uniform({2, 3, 4}, 5, 0.5, 2.0).set_requires_grad();
        Tensor b = test::uniform({3, 1}, 6, 0.5, 2.0).set_requires_grad();
        auto f = [op](const std::vector<Tensor>& in) { return op(in[0], in[1]); };
        QBH_GRADCHECK(f, (std::vector<Tensor>{a, b}));
        Tensor an = test::noncontiguous(a).set_requires_grad();
        QBH_GRADCHECK(f, (std::vector<Tensor>{an, b}));
    }
}

TEST_CASE("elementwise: where selects and routes gradients", "[elementwise][gradcheck]") {
    Tensor cond = Tensor::from_vector({1, 0, 0, 1}, {2, 2}, DType::f64);
    Tensor a = test::randn({2, 2}, 7).set_requires_grad();
    Tensor b = test::randn({2}, 8).set_requires_grad();
    Tensor y = where(cond, a, b);
    CHECK(y.at({0, 0}) == a.at({0, 0}));
    CHECK(y.at({0, 1}) == b.at({1}));
    auto f = [cond](const std::vector<Tensor>& in) { return where(cond, in[0], in[1]); };
    QBH_GRADCHECK(f, (std::vector<Tensor>{a, b}));
}

TEST_CASE("elementwise: errors name op, shapes and dtypes", "[elementwise][errors]") {
    Tensor a = Tensor::zeros({2, 3});
    CHECK_THROWS_WITH(a + Tensor::zeros({4}), Catch::Contains("add") && Catch::Contains("[2, 3]") &&
                                                  Catch::Contains("[4]"));
    CHECK_THROWS_WITH(a * Tensor::zeros({2, 3}, DType::f64), Catch::Contains("dtype mismatch"));
    CHECK_THROWS_WITH(exp(Tensor::zeros({2}, DType::i64)), Catch::Contains("f32 or f64"));
    CHECK_THROWS_WITH(add(a, Tensor()), Catch::Contains("undefined"));
}
