// Losses: mse_loss and cross_entropy (with label smoothing) against naive references and a
// hand-computed value, gradients by finite differences for every reduction, and errors.
#include "tests/test_util.h"

#include <cmath>

using namespace qbh;

namespace {

using F = std::function<Tensor(const std::vector<Tensor>&)>;

// Naive per-row cross-entropy with label smoothing eps, in double.
std::vector<double> naive_cross_entropy(const Tensor& logits, const Tensor& target, double eps) {
    const int64_t n = logits.shape()[0], c = logits.shape()[1];
    std::vector<double> x = logits.to_vector(), t = target.to_vector(), r(n);
    for (int64_t i = 0; i < n; ++i) {
        double m = -INFINITY, s = 0, mean_logp = 0;
        for (int64_t j = 0; j < c; ++j) m = std::max(m, x[i * c + j]);
        for (int64_t j = 0; j < c; ++j) s += std::exp(x[i * c + j] - m);
        const double lse = m + std::log(s);
        for (int64_t j = 0; j < c; ++j) mean_logp += (x[i * c + j] - lse) / c;
        const double nll = lse - x[i * c + static_cast<int64_t>(t[i])];
        r[i] = (1 - eps) * nll + eps * -mean_logp;
    }
    return r;
}

double reduce(const std::vector<double>& v, Reduction r) {
    double s = 0;
    for (double x : v) s += x;
    return r == Reduction::mean ? s / v.size() : s;
}

const Reduction kReductions[] = {Reduction::none, Reduction::sum, Reduction::mean};

}  // namespace

TEST_CASE("loss: mse_loss matches a naive reference", "[loss]") {
    for (DType dt : {DType::f32, DType::f64}) {
        Tensor x = test::randn({3, 5, 4}, 1, dt), t = test::randn({3, 5, 4}, 2, dt);
        std::vector<double> xv = x.to_vector(), tv = t.to_vector(), sq(xv.size());
        for (size_t i = 0; i < xv.size(); ++i) sq[i] = (xv[i] - tv[i]) * (xv[i] - tv[i]);
        const double tol = dt == DType::f32 ? 1e-6 : 1e-13;
        QBH_CHECK_CLOSE(mse_loss(x, t, Reduction::none), Tensor::from_vector(sq, x.shape(), dt),
                        tol, tol);
        CHECK(mse_loss(x, t).shape() == Shape{});
        CHECK(mse_loss(test::noncontiguous(x), t).item() ==
              Approx(reduce(sq, Reduction::mean)).epsilon(tol));
        CHECK(mse_loss(x, test::noncontiguous(t), Reduction::sum).item() ==
              Approx(reduce(sq, Reduction::sum)).epsilon(tol));
        CHECK(mse_loss(x, t).dtype() == dt);
    }
    // Threaded path: 2^16 elements of difference 0.5.
    Tensor a = Tensor::full({256, 256}, 1.5), b = Tensor::ones({256, 256});
    CHECK(mse_loss(a, b).item() == 0.25);
    CHECK(mse_loss(a, b, Reduction::sum).item() == 16384.0);
}

TEST_CASE("loss: mse_loss gradients", "[loss][gradcheck]") {
    Tensor x = test::randn({3, 4}, 3).set_requires_grad();
    Tensor t = test::noncontiguous(test::randn({3, 4}, 4)).set_requires_grad();
    for (Reduction r : kReductions) {
        F f = [r](const std::vector<Tensor>& in) { return mse_loss(in[0], in[1], r); };
        QBH_GRADCHECK(f, {x, t});
        QBH_GRADCHECK(f, {t, x});
    }
    // Only the target needs a gradient: -2 (x - t) / n.
    Tensor c = Tensor::from_vector({1, 2}, {2}, DType::f64);
    Tensor target = Tensor::from_vector({0, 4}, {2}, DType::f64).set_requires_grad();
    mse_loss(c, target).backward();
    CHECK(target.grad().to_vector() == std::vector<double>{-1, 2});
}

TEST_CASE("loss: cross_entropy on a hand-computed example", "[loss]") {
    // logits {1, 2, 3}, class 2: lse = log(e + e^2 + e^3) = 3.40760596444438;
    // nll = lse - 3; smoothing term = lse - mean(logits) = lse - 2.
    const double lse = 3.40760596444438;
    for (DType dt : {DType::f32, DType::f64}) {
        const double tol = dt == DType::f32 ? 1e-6 : 1e-12;
        Tensor logits = Tensor::from_vector({1, 2, 3, 1, 2, 3}, {2, 3}, dt);
        Tensor target = Tensor::from_vector({2, 0}, {2}, DType::i64);
        std::vector<double> l = cross_entropy(logits, target, 0.0, Reduction::none).to_vector();
        CHECK(l[0] == Approx(lse - 3).epsilon(tol));
        CHECK(l[1] == Approx(lse - 1).epsilon(tol));
        CHECK(cross_entropy(logits, target).item() == Approx(lse - 2).epsilon(tol));
        CHECK(cross_entropy(logits, target, 0.0, Reduction::sum).item() ==
              Approx(2 * lse - 4).epsilon(tol));
        // eps = 0.1: 0.9 * nll + 0.1 * (lse - 2).
        CHECK(cross_entropy(logits, target, 0.1, Reduction::none).at({0}) ==
              Approx(0.9 * (lse - 3) + 0.1 * (lse - 2)).epsilon(tol));
        // Gradient of the mean: (softmax - onehot) / N.
        Tensor w = logits.detach().set_requires_grad();
        cross_entropy(w, target).backward();
        const double p0 = std::exp(1 - lse);
        CHECK(w.grad().at({0, 0}) == Approx(p0 / 2).epsilon(tol));
        CHECK(w.grad().at({1, 0}) == Approx((p0 - 1) / 2).epsilon(tol));
    }
}

TEST_CASE("loss: cross_entropy matches a naive reference", "[loss]") {
    for (DType dt : {DType::f32, DType::f64}) {
        const double tol = dt == DType::f32 ? 2e-6 : 1e-12;
        // 300 rows of 120 classes: large enough for the threaded path.
        Tensor logits = test::randn({300, 120}, 5, dt) * 4.0;
        Tensor target =
            Tensor::from_vector(test::uniform({300}, 6, 0, 120).to_vector(), {300}, DType::i64);
        for (double eps : {0.0, 0.1, 1.0}) {
            std::vector<double> expect = naive_cross_entropy(logits, target, eps);
            INFO("dtype " << dtype_name(dt) << " eps " << eps);
            QBH_CHECK_CLOSE(cross_entropy(logits, target, eps, Reduction::none),
                            Tensor::from_vector(expect, {300}, dt), tol, tol);
            CHECK(cross_entropy(test::noncontiguous(logits), target, eps).item() ==
                  Approx(reduce(expect, Reduction::mean)).epsilon(tol));
            CHECK(cross_entropy(logits, test::noncontiguous(target), eps, Reduction::sum).item() ==
                  Approx(reduce(expect, Reduction::sum)).epsilon(tol));
        }
    }
    // Stable and precise for huge f32 logits: the max is subtracted before anything is rounded.
    Tensor big = Tensor::from_vector({1000, 0, -1000}, {1, 3});
    CHECK(cross_entropy(big, Tensor::from_vector({1}, {1}, DType::i64)).item() == 1000.0f);
    Tensor close = Tensor::from_vector({1000, 1001, 999}, {1, 3}).set_requires_grad();
    Tensor loss = cross_entropy(close, Tensor::from_vector({1}, {1}, DType::i64));
    const double z = 1 + std::exp(-1.0) + std::exp(-2.0);
    CHECK(loss.item() == Approx(std::log(z)).epsilon(1e-6));
    loss.backward();
    CHECK(close.grad().at({0, 1}) == Approx(1 / z - 1).epsilon(1e-6));
}

TEST_CASE("loss: cross_entropy gradients", "[loss][gradcheck]") {
    Tensor target = Tensor::from_vector({2, 0, 4, 2}, {4}, DType::i64);
    Tensor x = test::randn({4, 5}, 7).set_requires_grad();
    Tensor xn = test::noncontiguous(test::randn({4, 5}, 8)).set_requires_grad();
    for (Reduction r : kReductions) {
        for (double eps : {0.0, 0.2}) {
            INFO("eps " << eps);
            F f = [=](const std::vector<Tensor>& in) {
                return cross_entropy(in[0], target, eps, r);
            };
            QBH_GRADCHECK(f, {x});
            QBH_GRADCHECK(f, {xn});
        }
    }
}

TEST_CASE("loss: errors", "[loss][errors]") {
    Tensor x = Tensor::zeros({2, 3});
    CHECK_THROWS_WITH(mse_loss(x, Tensor::zeros({3})),
                      Catch::Contains("mse_loss") && Catch::Contains("same shape"));
    CHECK_THROWS_WITH(mse_loss(x, Tensor::zeros({2, 3}, DType::f64)),
                      Catch::Contains("dtype mismatch"));
    CHECK_THROWS_WITH(mse_loss(Tensor::zeros({2}, DType::i64), Tensor::zeros({2}, DType::i64)),
                      Catch::Contains("f32 or f64"));
    Tensor t = Tensor::from_vector({0, 3}, {2}, DType::i64);
    CHECK_THROWS_WITH(cross_entropy(x, t),
                      Catch::Contains("cross_entropy") && Catch::Contains("target value 3") &&
                          Catch::Contains("position 1") && Catch::Contains("3 classes"));
    CHECK_THROWS_WITH(cross_entropy(x, Tensor::from_vector({-1, 0}, {2}, DType::i64)),
                      Catch::Contains("target value -1"));
    CHECK_THROWS_WITH(cross_entropy(x, Tensor::zeros({2})), Catch::Contains("i64"));
    CHECK_THROWS_WITH(cross_entropy(x, Tensor::zeros({3}, DType::i64)),
                      Catch::Contains("must be [N] = [2]"));
    CHECK_THROWS_WITH(cross_entropy(Tensor::zeros({2}), t),
                      Catch::Contains("logits") && Catch::Contains("2 dimensions"));
    CHECK_THROWS_WITH(cross_entropy(x, Tensor::zeros({2}, DType::i64), 1.5),
                      Catch::Contains("label_smoothing"));
    CHECK_THROWS_WITH(cross_entropy(Tensor::zeros({2, 0}), Tensor::zeros({2}, DType::i64)),
                      Catch::Contains("no classes"));
}
