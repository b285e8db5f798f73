// softmax and log_softmax along every axis against a naive reference (max-subtracted loops in
// double), their gradients, extreme inputs, the vectorised f32 exp, and errors.
#include "engine/ops/softmax_cpu.h"
#include "tests/test_util.h"

#include <cmath>
#include <limits>

using namespace qbh;

namespace {

using F = std::function<Tensor(const std::vector<Tensor>&)>;

// Naive (log-)softmax of x along `axis`, computed in double.
std::vector<double> naive_softmax(const Tensor& x, int64_t axis, bool log) {
    const Shape& s = x.shape();
    int64_t outer = 1, inner = 1, n = s[axis];
    for (int64_t d = 0; d < axis; ++d) outer *= s[d];
    for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= s[d];
    std::vector<double> v = x.to_vector(), r(v.size());
    for (int64_t o = 0; o < outer; ++o) {
        for (int64_t k = 0; k < inner; ++k) {
            auto at = [&](int64_t j) { return (o * n + j) * inner + k; };
            double m = -INFINITY, sum = 0;
            for (int64_t j = 0; j < n; ++j) m = std::max(m, v[at(j)]);
            for (int64_t j = 0; j < n; ++j) sum += std::exp(v[at(j)] - m);
            for (int64_t j = 0; j < n; ++j)
                r[at(j)] = log ? v[at(j)] - m - std::log(sum) : std::exp(v[at(j)] - m) / sum;
        }
    }
    return r;
}

}  // namespace

TEST_CASE("softmax: forward along every axis matches a naive reference", "[softmax]") {
    for (DType dt : {DType::f32, DType::f64}) {
        const double tol = dt == DType::f32 ? 2e-6 : 1e-13;
        // [2, 3, 300]: axis 2 is the row path, axes 0 and 1 the strided path with two chunks.
        Tensor x = test::randn({2, 3, 300}, 1, dt) * 3.0;
        for (int64_t axis : {0, 1, 2, -1, -3}) {
            const int64_t a = axis < 0 ? axis + 3 : axis;
            for (bool log : {false, true}) {
                INFO("dtype " << dtype_name(dt) << " axis " << axis << " log " << log);
                Tensor expect = Tensor::from_vector(naive_softmax(x, a, log), x.shape(), dt);
                Tensor y = log ? log_softmax(x, axis) : softmax(x, axis);
                QBH_CHECK_CLOSE(y, expect, tol, tol);
                Tensor yn = log ? log_softmax(test::noncontiguous(x), axis)
                                : softmax(test::noncontiguous(x), axis);
                QBH_CHECK_CLOSE(yn, expect, tol, tol);
            }
        }
        // Large enough to run threaded on both paths.
        Tensor big = test::randn({64, 40, 16}, 2, dt);
        QBH_CHECK_CLOSE(softmax(big, 1),
                        Tensor::from_vector(naive_softmax(big, 1, false), big.shape(), dt), tol,
                        tol);
        QBH_CHECK_CLOSE(log_softmax(big, 2),
                        Tensor::from_vector(naive_softmax(big, 2, true), big.shape(), dt), tol,
                        tol);
    }
    CHECK(softmax(Tensor::scalar(5.0)).item() == 1.0);
}

TEST_CASE("softmax: extreme inputs stay finite", "[softmax]") {
    const double inf = std::numeric_limits<double>::infinity();
    for (DType dt : {DType::f32, DType::f64}) {
        // Huge logits overflow exp without the max subtraction; -inf entries get exactly 0.
        Tensor x = Tensor::from_vector({1000, 1001, 999, -inf, 5, -inf}, {2, 3}, dt);
        std::vector<double> y = softmax(x, 1).to_vector();
        const double e1 = std::exp(-1.0), e2 = std::exp(-2.0), z = 1 + e1 + e2;
        CHECK(y[0] == Approx(e1 / z).epsilon(1e-6));
        CHECK(y[1] == Approx(1 / z).epsilon(1e-6));
        CHECK(y[3] == 0.0);
        CHECK(y[4] == 1.0);
        CHECK(y[5] == 0.0);
        std::vector<double> l = log_softmax(x, 1).to_vector();
        CHECK(l[1] == Approx(-std::log(z)).epsilon(1e-6));
        CHECK(l[3] == -inf);
        CHECK(l[4] == 0.0);
        // Column path: the same through axis 0 of the transpose.
        std::vector<double> yt = softmax(x.transpose(0, 1).contiguous(), 0).to_vector();
        CHECK(yt[2] == Approx(1 / z).epsilon(1e-6));
        CHECK(yt[1] == 0.0);
        CHECK(yt[3] == 1.0);
        // A NaN poisons its row only, as in PyTorch.
        Tensor nan_row = Tensor::from_vector({1, std::nan(""), 2, 1, 2, 3}, {2, 3}, dt);
        std::vector<double> yn = softmax(nan_row, 1).to_vector();
        CHECK(std::isnan(yn[0]));
        CHECK(std::isnan(yn[2]));
        CHECK(yn[5] == Approx(std::exp(0.0) / (1 + e1 + e2)).epsilon(1e-6));
    }
}

TEST_CASE("softmax: gradients by finite differences", "[softmax][gradcheck]") {
    Tensor x = test::randn({3, 4, 5}, 3).set_requires_grad();
    Tensor xn = test::noncontiguous(test::randn({3, 4, 5}, 4)).set_requires_grad();
    for (int64_t axis : {0, 1, 2}) {
        INFO("axis " << axis);
        F s = [axis](const std::vector<Tensor>& in) { return softmax(in[0], axis); };
        F l = [axis](const std::vector<Tensor>& in) { return log_softmax(in[0], axis); };
        QBH_GRADCHECK(s, {x});
        QBH_GRADCHECK(s, {xn});
        QBH_GRADCHECK(l, {x});
        QBH_GRADCHECK(l, {xn});
    }
    // An expanded (stride-0) incoming gradient reaches the kernel packed.
    Tensor y = test::randn({2, 3}, 5).set_requires_grad();
    sum(softmax(y, 1)).backward();  // softmax rows sum to 1, so the gradient is 0
    QBH_CHECK_CLOSE(y.grad(), Tensor::zeros({2, 3}, DType::f64), 1e-12, 0);
}

TEST_CASE("softmax: the f32 exp is accurate to a few ulp", "[softmax]") {
    double worst = 0;
    for (int i = 0; i <= 200000; ++i) {
        const float x = -87.0f + 175.0f * static_cast<float>(i) / 200000.0f;
        const double exact = std::exp(static_cast<double>(x));
        worst = std::max(worst, std::abs(cpu::exp_approx(x) - exact) / exact);
    }
    CHECK(worst < 4e-7);  // f32 epsilon is 1.19e-7
    CHECK(cpu::exp_approx(-INFINITY) == 0.0f);
    CHECK(cpu::exp_approx(-100.0f) == 0.0f);
    CHECK(cpu::exp_approx(0.0f) == 1.0f);
    CHECK(std::isinf(cpu::exp_approx(100.0f)));
    CHECK(std::isnan(cpu::exp_approx(NAN)));
}

TEST_CASE("softmax: errors", "[softmax][errors]") {
    CHECK_THROWS_WITH(softmax(Tensor::zeros({2, 3}), 2),
                      Catch::Contains("softmax") && Catch::Contains("out of range"));
    CHECK_THROWS_WITH(log_softmax(Tensor::zeros({2}, DType::i64)),
                      Catch::Contains("log_softmax") && Catch::Contains("f32 or f64"));
    CHECK_THROWS_WITH(softmax(Tensor()), Catch::Contains("undefined"));
}
