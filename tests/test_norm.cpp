// layer_norm and batch_norm: forward against naive loops, running statistics by hand, gradients
// by finite differences (contiguous and strided inputs), large shapes (the parallel kernel
// paths) against the same formula built from tested elementwise/reduce ops, and error paths.
#include <cmath>

#include "tests/test_util.h"

using namespace qbh;

namespace {

// Naive layer norm over the last axis, in double, from to_vector() values.
Tensor ref_layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, double eps) {
    const int64_t cols = x.size(-1), rows = x.numel() / cols;
    std::vector<double> v = x.to_vector(), out(v.size());
    std::vector<double> wv = w.defined() ? w.to_vector() : std::vector<double>(cols, 1.0);
    std::vector<double> bv = b.defined() ? b.to_vector() : std::vector<double>(cols, 0.0);
    for (int64_t r = 0; r < rows; ++r) {
        double mean = 0, var = 0;
        for (int64_t c = 0; c < cols; ++c) mean += v[r * cols + c] / cols;
        for (int64_t c = 0; c < cols; ++c) var += std::pow(v[r * cols + c] - mean, 2) / cols;
        for (int64_t c = 0; c < cols; ++c)
            out[r * cols + c] = (v[r * cols + c] - mean) / std::sqrt(var + eps) * wv[c] + bv[c];
    }
    return Tensor::from_vector(out, x.shape(), DType::f64);
}

// Naive batch norm with the given per-channel statistics (batch ones when mean is empty).
Tensor ref_batch_norm(const Tensor& x, std::vector<double> mean, std::vector<double> var,
                      const Tensor& w, const Tensor& b, double eps) {
    const int64_t n = x.size(0), c = x.size(1), s = x.numel() / (n * c);
    std::vector<double> v = x.to_vector(), out(v.size());
    if (mean.empty()) {
        mean.assign(c, 0.0);
        var.assign(c, 0.0);
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < c; ++j)
                for (int64_t k = 0; k < s; ++k) mean[j] += v[(i * c + j) * s + k] / (n * s);
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < c; ++j)
                for (int64_t k = 0; k < s; ++k)
                    var[j] += std::pow(v[(i * c + j) * s + k] - mean[j], 2) / (n * s);
    }
    std::vector<double> wv = w.defined() ? w.to_vector() : std::vector<double>(c, 1.0);
    std::vector<double> bv = b.defined() ? b.to_vector() : std::vector<double>(c, 0.0);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < c; ++j)
            for (int64_t k = 0; k < s; ++k) {
                const int64_t idx = (i * c + j) * s + k;
                out[idx] = (v[idx] - mean[j]) / std::sqrt(var[j] + eps) * wv[j] + bv[j];
            }
    return Tensor::from_vector(out, x.shape(), DType::f64);
}

// The same normalisations composed from elementwise and reduce ops (their autograd is tested
// elsewhere): an independent reference for gradients at sizes too big for finite differences.
Tensor composite_layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, double eps) {
    Tensor xhat = (x - mean(x, {-1}, true)) * rsqrt(var(x, {-1}, false, true) + eps);
    return xhat * w + b;
}

Tensor composite_batch_norm(const Tensor& x, const Tensor& w, const Tensor& b, double eps) {
    std::vector<int64_t> axes{0};
    Shape param{1, x.size(1)};
    for (int64_t a = 2; a < x.dim(); ++a) {
        axes.push_back(a);
        param.push_back(1);
    }
    Tensor xhat = (x - mean(x, axes, true)) * rsqrt(var(x, axes, false, true) + eps);
    return xhat * reshape(w, param) + reshape(b, param);
}

// Gradients of sum(f(inputs) * probe) w.r.t. every input, as f64 tensors.
std::vector<Tensor> grads_of(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                             const std::vector<Tensor>& inputs, const Tensor& probe) {
    for (const Tensor& t : inputs) Tensor(t).zero_grad();
    sum(f(inputs) * probe).backward();
    std::vector<Tensor> out;
    for (const Tensor& t : inputs) out.push_back(t.grad().to(DType::f64));
    return out;
}

}  // namespace

TEST_CASE("layer_norm: forward matches a naive reference", "[norm]") {
    for (DType dt : {DType::f32, DType::f64}) {
        const double tol = dt == DType::f32 ? 1e-5 : 1e-12;
        Tensor x = test::randn({2, 3, 16}, 1, dt) * 3.0 + 2.0;
        Tensor w = test::randn({16}, 2, dt), b = test::randn({16}, 3, dt);
        QBH_CHECK_CLOSE(layer_norm(x, w, b), ref_layer_norm(x, w, b, 1e-5), tol, tol);
        QBH_CHECK_CLOSE(layer_norm(x, Tensor(), Tensor()),
                        ref_layer_norm(x, Tensor(), Tensor(), 1e-5), tol, tol);
        QBH_CHECK_CLOSE(layer_norm(x, w, Tensor(), 0.1), ref_layer_norm(x, w, Tensor(), 0.1), tol,
                        tol);
        QBH_CHECK_CLOSE(layer_norm(x, Tensor(), b), ref_layer_norm(x, Tensor(), b, 1e-5), tol, tol);
        // Strided input and parameters read through their strides.
        QBH_CHECK_CLOSE(
            layer_norm(test::noncontiguous(x), test::noncontiguous(w), test::noncontiguous(b)),
            ref_layer_norm(x, w, b, 1e-5), tol, tol);
        CHECK(layer_norm(x, w, b).dtype() == dt);
        // 37 columns: whole vector registers plus a tail, in both dtypes.
        Tensor x37 = test::randn({3, 37}, 15, dt), w37 = test::randn({37}, 16, dt);
        QBH_CHECK_CLOSE(layer_norm(x37, w37, w37), ref_layer_norm(x37, w37, w37, 1e-5), tol, tol);
    }
    // A row of constants normalises to 0 (var 0, eps keeps it finite) -> bias.
    Tensor c = Tensor::full({1, 4}, 7.0, DType::f64);
    CHECK(layer_norm(c, Tensor(), Tensor::full({4}, 0.5, DType::f64)).to_vector() ==
          std::vector<double>{0.5, 0.5, 0.5, 0.5});
}

TEST_CASE("layer_norm: gradients by finite differences", "[norm][gradcheck]") {
    auto f = [](const std::vector<Tensor>& in) { return layer_norm(in[0], in[1], in[2]); };
    Tensor x = test::randn({3, 2, 5}, 4).set_requires_grad();
    Tensor w = test::randn({5}, 5).set_requires_grad();
    Tensor b = test::randn({5}, 6).set_requires_grad();
    QBH_GRADCHECK(f, {x, w, b});
    Tensor xn = test::noncontiguous(test::randn({4, 6}, 7)).set_requires_grad();
    Tensor wn = test::noncontiguous(test::randn({6}, 8)).set_requires_grad();
    Tensor bn = test::noncontiguous(test::randn({6}, 9)).set_requires_grad();
    QBH_GRADCHECK(f, {xn, wn, bn});
    Tensor x19 = test::randn({4, 19}, 17).set_requires_grad();  // 2 registers of f64 + a tail
    Tensor w19 = test::randn({19}, 18).set_requires_grad();
    QBH_GRADCHECK(f, {x19, w19, w19});
    auto no_affine = [](const std::vector<Tensor>& in) {
        return layer_norm(in[0], Tensor(), Tensor(), 1e-3);
    };
    QBH_GRADCHECK(no_affine, {x});
    // Only some inputs need gradients: the others stay untouched.
    Tensor wc = test::randn({5}, 10);
    QBH_GRADCHECK(f, {x, wc, b});
    QBH_GRADCHECK(f, {test::randn({3, 2, 5}, 19), w, b});  // dw, db without dx
}

TEST_CASE("layer_norm: large shapes match the composite formula", "[norm]") {
    // 400 x 96 rows pass the parallel threshold and several 32-row dw/db blocks.
    Tensor x = test::randn({400, 96}, 11).set_requires_grad();
    Tensor w = test::randn({96}, 12).set_requires_grad();
    Tensor b = test::randn({96}, 13).set_requires_grad();
    Tensor probe = test::randn({400, 96}, 14);
    auto fused = [](const std::vector<Tensor>& in) { return layer_norm(in[0], in[1], in[2]); };
    auto composite = [](const std::vector<Tensor>& in) {
        return composite_layer_norm(in[0], in[1], in[2], 1e-5);
    };
    auto g1 = grads_of(fused, {x, w, b}, probe);
    auto g2 = grads_of(composite, {x, w, b}, probe);
    for (int i = 0; i < 3; ++i) QBH_CHECK_CLOSE(g1[i], g2[i], 1e-10, 1e-10);
    // f32 agrees with f64 (the float kernels accumulate parameter gradients in double blocks).
    Tensor x32 = x.detach().to(DType::f32).set_requires_grad();
    Tensor w32 = w.detach().to(DType::f32).set_requires_grad();
    Tensor b32 = b.detach().to(DType::f32).set_requires_grad();
    auto g3 = grads_of(fused, {x32, w32, b32}, probe.to(DType::f32));
    for (int i = 0; i < 3; ++i) QBH_CHECK_CLOSE(g3[i], g1[i], 1e-4, 1e-4);
}

TEST_CASE("layer_norm: errors", "[norm][errors]") {
    Tensor x = Tensor::zeros({2, 4});
    CHECK_THROWS_WITH(layer_norm(x, Tensor::ones({3}), Tensor()), Catch::Contains("layer_norm") &&
                                                                      Catch::Contains("weight") &&
                                                                      Catch::Contains("[4]"));
    CHECK_THROWS_WITH(layer_norm(x, Tensor(), Tensor::ones({4, 1})),
                      Catch::Contains("layer_norm") && Catch::Contains("bias"));
    CHECK_THROWS_WITH(layer_norm(x, Tensor::ones({4}, DType::f64), Tensor()),
                      Catch::Contains("layer_norm") && Catch::Contains("dtype"));
    CHECK_THROWS_WITH(layer_norm(Tensor::scalar(1.0), Tensor(), Tensor()),
                      Catch::Contains("layer_norm") && Catch::Contains("axis"));
    CHECK_THROWS_WITH(layer_norm(Tensor::zeros({2, 4}, DType::i64), Tensor(), Tensor()),
                      Catch::Contains("layer_norm") && Catch::Contains("f32 or f64"));
    CHECK_THROWS_WITH(layer_norm(Tensor(), Tensor(), Tensor()),
                      Catch::Contains("layer_norm") && Catch::Contains("undefined"));
    CHECK_THROWS_WITH(layer_norm(x, Tensor(), Tensor(), -1.0), Catch::Contains("eps"));
}

TEST_CASE("batch_norm: training and eval forward match naive references", "[norm]") {
    for (DType dt : {DType::f32, DType::f64}) {
        const double tol = dt == DType::f32 ? 1e-5 : 1e-12;
        for (Shape shape : {Shape{6, 4}, Shape{3, 4, 2, 5}}) {
            Tensor x = test::randn(shape, 20, dt) * 2.0 - 1.0;
            Tensor w = test::randn({4}, 21, dt), b = test::randn({4}, 22, dt);
            QBH_CHECK_CLOSE(batch_norm(x, Tensor(), Tensor(), w, b, true),
                            ref_batch_norm(x, {}, {}, w, b, 1e-5), tol, tol);
            QBH_CHECK_CLOSE(batch_norm(test::noncontiguous(x), Tensor(), Tensor(), Tensor(),
                                       Tensor(), true, 0.1, 1e-3),
                            ref_batch_norm(x, {}, {}, Tensor(), Tensor(), 1e-3), tol, tol);
            // Eval: normalised by the running statistics, which stay unchanged.
            Tensor rm = Tensor::from_vector({0.5, -1, 2, 0}, {4}, dt);
            Tensor rv = Tensor::from_vector({1, 4, 0.25, 2}, {4}, dt);
            QBH_CHECK_CLOSE(batch_norm(x, rm, rv, w, b, false),
                            ref_batch_norm(x, {0.5, -1, 2, 0}, {1, 4, 0.25, 2}, w, b, 1e-5), tol,
                            tol);
            QBH_CHECK_CLOSE(
                batch_norm(x, rm, rv, Tensor(), Tensor(), false),
                ref_batch_norm(x, {0.5, -1, 2, 0}, {1, 4, 0.25, 2}, Tensor(), Tensor(), 1e-5), tol,
                tol);
            CHECK(rm.to_vector() == std::vector<double>{0.5, -1, 2, 0});
        }
    }
}

TEST_CASE("batch_norm: running statistics after two steps", "[norm]") {
    // By hand, momentum 0.1, start mean 0, var 1:
    // step 1: ch0 {1,2,3,4} mean 2.5, unbiased var 5/3; ch1 {2,4,6,8} mean 5, var 20/3
    //   -> mean {0.25, 0.5}, var {0.9 + 1/6, 0.9 + 2/3} = {1.0666..., 1.5666...}
    // step 2: ch0 {0,0,0,4} mean 1, var 4; ch1 {-1,1,-1,1} mean 0, var 4/3
    //   -> mean {0.325, 0.45}, var {0.96 + 0.4, 1.41 + 0.1333...} = {1.36, 1.54333...}
    Tensor rm = Tensor::zeros({2}, DType::f64), rv = Tensor::ones({2}, DType::f64);
    const uint64_t v0 = rm.storage()->version();
    Tensor x1 = Tensor::from_vector({1, 2, 2, 4, 3, 6, 4, 8}, {4, 2}, DType::f64);
    Tensor x2 = Tensor::from_vector({0, -1, 0, 1, 0, -1, 4, 1}, {4, 2}, DType::f64);
    batch_norm(x1, rm, rv, Tensor(), Tensor(), true);
    QBH_CHECK_CLOSE(rm, Tensor::from_vector({0.25, 0.5}, {2}, DType::f64), 1e-12, 0);
    QBH_CHECK_CLOSE(rv, Tensor::from_vector({0.9 + 1.0 / 6, 0.9 + 2.0 / 3}, {2}, DType::f64), 1e-12,
                    0);
    batch_norm(x2, rm, rv, Tensor(), Tensor(), true);
    QBH_CHECK_CLOSE(rm, Tensor::from_vector({0.325, 0.45}, {2}, DType::f64), 1e-12, 0);
    QBH_CHECK_CLOSE(rv, Tensor::from_vector({1.36, 1.41 + 0.4 / 3}, {2}, DType::f64), 1e-12, 0);
    CHECK(rm.storage()->version() > v0);
    // The same through a 4-D f32 input ([N, C, 1, 2]) and an input that requires grad.
    Tensor rm4 = Tensor::zeros({2}), rv4 = Tensor::ones({2});
    Tensor x4 = x1.to(DType::f32).reshape({2, 2, 2}).permute({0, 2, 1}).unsqueeze(2);
    x4.set_requires_grad();
    batch_norm(x4, rm4, rv4, Tensor(), Tensor(), true);
    // x4 [2, 2, 1, 2]: channel 0 = {1, 2, 3, 4}, channel 1 = {2, 4, 6, 8}.
    QBH_CHECK_CLOSE(rm4, Tensor::from_vector({0.25, 0.5}, {2}), 1e-6, 0);
    QBH_CHECK_CLOSE(rv4, Tensor::from_vector({0.9 + 1.0 / 6, 0.9 + 2.0 / 3}, {2}), 1e-6, 0);
    CHECK_FALSE(rm4.requires_grad());
}

TEST_CASE("batch_norm: gradients by finite differences", "[norm][gradcheck]") {
    for (bool training : {true, false}) {
        INFO("training " << training);
        Tensor rm = test::randn({3}, 30), rv = test::uniform({3}, 31, 0.5, 2.0);
        auto f = [&](const std::vector<Tensor>& in) {
            return batch_norm(in[0], rm, rv, in[1], in[2], training);
        };
        auto no_affine = [&](const std::vector<Tensor>& in) {
            return batch_norm(in[0], rm, rv, Tensor(), Tensor(), training, 0.1, 1e-3);
        };
        Tensor w = test::randn({3}, 32).set_requires_grad();
        Tensor b = test::randn({3}, 33).set_requires_grad();
        Tensor x2 = test::randn({5, 3}, 34).set_requires_grad();
        Tensor x4 = test::randn({2, 3, 2, 3}, 35).set_requires_grad();
        QBH_GRADCHECK(f, {x2, w, b});
        QBH_GRADCHECK(f, {x4, w, b});
        QBH_GRADCHECK(no_affine, {x4});
        Tensor xn = test::noncontiguous(test::randn({2, 3, 4}, 36)).set_requires_grad();
        Tensor wn = test::noncontiguous(test::randn({3}, 37)).set_requires_grad();
        QBH_GRADCHECK(f, {xn, wn, b});
        QBH_GRADCHECK(f, {test::randn({5, 3}, 38), w, b});  // dw, db without dx
    }
}

TEST_CASE("batch_norm: large shapes match the composite formula", "[norm]") {
    // [8, 16, 16, 16] passes the parallel threshold of every batch_norm kernel.
    Tensor x = test::randn({8, 16, 16, 16}, 40).set_requires_grad();
    Tensor w = test::randn({16}, 41).set_requires_grad();
    Tensor b = test::randn({16}, 42).set_requires_grad();
    Tensor probe = test::randn({8, 16, 16, 16}, 43);
    auto fused = [](const std::vector<Tensor>& in) {
        return batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], true);
    };
    auto composite = [](const std::vector<Tensor>& in) {
        return composite_batch_norm(in[0], in[1], in[2], 1e-5);
    };
    auto g1 = grads_of(fused, {x, w, b}, probe);
    auto g2 = grads_of(composite, {x, w, b}, probe);
    for (int i = 0; i < 3; ++i) QBH_CHECK_CLOSE(g1[i], g2[i], 1e-9, 1e-9);
    Tensor x32 = x.detach().to(DType::f32).set_requires_grad();
    Tensor w32 = w.detach().to(DType::f32).set_requires_grad();
    Tensor b32 = b.detach().to(DType::f32).set_requires_grad();
    QBH_CHECK_CLOSE(fused({x32, w32, b32}), fused({x, w, b}), 1e-5, 1e-5);
    auto g3 = grads_of(fused, {x32, w32, b32}, probe.to(DType::f32));
    for (int i = 0; i < 3; ++i) QBH_CHECK_CLOSE(g3[i], g1[i], 1e-3, 1e-4);
}

TEST_CASE("batch_norm: errors", "[norm][errors]") {
    Tensor x = Tensor::zeros({4, 3});
    Tensor r = Tensor::zeros({3});
    CHECK_THROWS_WITH(batch_norm(Tensor::zeros({4}), Tensor(), Tensor(), Tensor(), Tensor(), true),
                      Catch::Contains("batch_norm") && Catch::Contains("[N, C]"));
    CHECK_THROWS_WITH(
        batch_norm(x, Tensor(), Tensor(), Tensor::ones({4}), Tensor(), true),
        Catch::Contains("batch_norm") && Catch::Contains("weight") && Catch::Contains("[3]"));
    CHECK_THROWS_WITH(batch_norm(x, Tensor::zeros({2}), r, Tensor(), Tensor(), true),
                      Catch::Contains("running_mean"));
    CHECK_THROWS_WITH(batch_norm(x, r, Tensor(), Tensor(), Tensor(), true),
                      Catch::Contains("both"));
    CHECK_THROWS_WITH(batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false),
                      Catch::Contains("evaluation"));
    CHECK_THROWS_WITH(
        batch_norm(Tensor::zeros({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true),
        Catch::Contains("more than 1 value"));
    CHECK_THROWS_WITH(
        batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor::ones({3}, DType::f64), true),
        Catch::Contains("dtype"));
    CHECK_THROWS_WITH(batch_norm(x, r, r, Tensor(), Tensor(), true, 0.1, -1.0),
                      Catch::Contains("eps"));
}
