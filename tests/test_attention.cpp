// scaled_dot_product_attention: forward against a naive softmax of explicit scores (with and
// without broadcast masks, Lq != Lk, Dv != D), the fully masked row convention, gradients by
// finite differences on contiguous and strided inputs, and error paths.
#include <omp.h>

#include <cmath>

#include "tests/test_util.h"

using namespace qbh;

namespace {

// mask[b, h, i, j] read with broadcasting (right-aligned, size-1 axes repeat).
double mask_at(const Tensor& mask, int64_t b, int64_t h, int64_t i, int64_t j) {
    const int64_t full[4] = {b, h, i, j};
    std::vector<int64_t> index;
    for (int64_t a = 0; a < mask.dim(); ++a) {
        const int64_t axis = 4 - mask.dim() + a;
        index.push_back(mask.size(a) == 1 ? 0 : full[axis]);
    }
    return mask.at(index);
}

// Naive attention in double: explicit scores, softmax over allowed keys, weighted sum of v.
// A row with no allowed key gives 0.
Tensor ref_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                     double scale) {
    const int64_t B = q.size(0), H = q.size(1), Lq = q.size(2), D = q.size(3);
    const int64_t Lk = k.size(2), Dv = v.size(3);
    std::vector<double> out(B * H * Lq * Dv, 0.0);
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < H; ++h)
            for (int64_t i = 0; i < Lq; ++i) {
                std::vector<double> s(Lk);
                std::vector<bool> ok(Lk);
                double m = -INFINITY;
                for (int64_t j = 0; j < Lk; ++j) {
                    ok[j] = !mask.defined() || mask_at(mask, b, h, i, j) != 0;
                    double dot = 0;
                    for (int64_t c = 0; c < D; ++c) dot += q.at({b, h, i, c}) * k.at({b, h, j, c});
                    s[j] = dot * scale;
                    if (ok[j]) m = std::max(m, s[j]);
                }
                double z = 0;
                for (int64_t j = 0; j < Lk; ++j) z += ok[j] ? std::exp(s[j] - m) : 0.0;
                for (int64_t j = 0; j < Lk; ++j) {
                    if (!ok[j]) continue;
                    const double p = std::exp(s[j] - m) / z;
                    for (int64_t c = 0; c < Dv; ++c)
                        out[((b * H + h) * Lq + i) * Dv + c] += p * v.at({b, h, j, c});
                }
            }
    return Tensor::from_vector(out, {B, H, Lq, Dv}, DType::f64);
}

}  // namespace

TEST_CASE("attention: forward matches a naive softmax of scores", "[attention]") {
    for (DType dt : {DType::f32, DType::f64}) {
        const double tol = dt == DType::f32 ? 1e-5 : 1e-12;
        Tensor q = test::randn({2, 3, 4, 5}, 1, dt), k = test::randn({2, 3, 6, 5}, 2, dt);
        Tensor v = test::randn({2, 3, 6, 7}, 3, dt);
        Tensor out = scaled_dot_product_attention(q, k, v);
        CHECK(out.shape() == Shape{2, 3, 4, 7});
        CHECK(out.dtype() == dt);
        QBH_CHECK_CLOSE(out, ref_attention(q, k, v, Tensor(), 1 / std::sqrt(5.0)), tol, tol);
        QBH_CHECK_CLOSE(scaled_dot_product_attention(q, k, v, Tensor(), 0.7),
                        ref_attention(q, k, v, Tensor(), 0.7), tol, tol);
        QBH_CHECK_CLOSE(scaled_dot_product_attention(test::noncontiguous(q), test::noncontiguous(k),
                                                     test::noncontiguous(v)),
                        out, tol, tol);
    }
}

TEST_CASE("attention: broadcast masks", "[attention]") {
    for (DType dt : {DType::f32, DType::f64}) {
        const double tol = dt == DType::f32 ? 1e-5 : 1e-12;
        Tensor q = test::randn({2, 2, 3, 4}, 4, dt), k = test::randn({2, 2, 5, 4}, 5, dt);
        Tensor v = test::randn({2, 2, 5, 3}, 6, dt);
        // [1, 1, Lq, Lk]: a random_mask-like pattern, every row keeps at least one key.
        Tensor random_mask = gt(test::uniform({1, 1, 3, 5}, 7, 0, 1, dt), Tensor::scalar(0.4, dt));
        for (int64_t i = 0; i < 3; ++i) {
            NoGradGuard ng;
            Tensor cell = random_mask.slice(2, i, i + 1).slice(3, 0, 1);
            fill_(cell, 1.0);
        }
        // [B, 1, 1, Lk]: key padding per batch element.
        Tensor pad = Tensor::from_vector({1, 1, 1, 0, 0, 1, 0, 1, 1, 1}, {2, 1, 1, 5}, dt);
        Tensor plain =
            Tensor::from_vector({1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 1}, {3, 5}, dt);
        for (const Tensor& mask : {random_mask, pad, plain, test::noncontiguous(pad)}) {
            INFO("mask " << describe(mask));
            QBH_CHECK_CLOSE(scaled_dot_product_attention(q, k, v, mask),
                            ref_attention(q, k, v, mask, 0.5), tol, tol);
        }
        // A mask of all ones changes nothing; a masked key's value cannot leak into the output.
        QBH_CHECK_CLOSE(scaled_dot_product_attention(q, k, v, Tensor::ones({1, 5}, dt)),
                        scaled_dot_product_attention(q, k, v), tol, tol);
        Tensor v2 = v.clone();
        {
            NoGradGuard ng;
            Tensor key3 = v2.slice(2, 3, 5);
            fill_(key3, 1e6);
        }
        QBH_CHECK_CLOSE(scaled_dot_product_attention(q, k, v2, pad.slice(0, 0, 1)),
                        scaled_dot_product_attention(q, k, v, pad.slice(0, 0, 1)), tol, tol);
    }
}

TEST_CASE("attention: a fully masked row gives output 0 and zero gradient", "[attention]") {
    Tensor q = test::randn({1, 2, 3, 4}, 8).set_requires_grad();
    Tensor k = test::randn({1, 2, 5, 4}, 9).set_requires_grad();
    Tensor v = test::randn({1, 2, 5, 4}, 10).set_requires_grad();
    // Query row 1 may attend to nothing.
    Tensor mask =
        Tensor::from_vector({1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0}, {3, 5}, DType::f64);
    Tensor out = scaled_dot_product_attention(q, k, v, mask);
    for (double x : out.slice(2, 1, 2).to_vector()) CHECK(x == 0.0);
    for (double x : out.slice(2, 0, 1).to_vector()) CHECK(std::isfinite(x));
    sum(out * test::randn({1, 2, 3, 4}, 11)).backward();
    for (double x : q.grad().slice(2, 1, 2).to_vector()) CHECK(x == 0.0);
    for (double x : q.grad().to_vector()) CHECK(std::isfinite(x));
    for (double x : k.grad().to_vector()) CHECK(std::isfinite(x));
    QBH_GRADCHECK(
        [&](const std::vector<Tensor>& in) {
            return scaled_dot_product_attention(in[0], in[1], in[2], mask);
        },
        {q, k, v});
}

TEST_CASE("attention: gradients by finite differences", "[attention][gradcheck]") {
    auto f = [](const std::vector<Tensor>& in) {
        return scaled_dot_product_attention(in[0], in[1], in[2]);
    };
    Tensor q = test::randn({2, 2, 3, 4}, 12).set_requires_grad();
    Tensor k = test::randn({2, 2, 5, 4}, 13).set_requires_grad();
    Tensor v = test::randn({2, 2, 5, 6}, 14).set_requires_grad();
    QBH_GRADCHECK(f, {q, k, v});
    Tensor qn = test::noncontiguous(test::randn({1, 2, 4, 3}, 15)).set_requires_grad();
    Tensor kn = test::noncontiguous(test::randn({1, 2, 2, 3}, 16)).set_requires_grad();
    Tensor vn = test::noncontiguous(test::randn({1, 2, 2, 5}, 17)).set_requires_grad();
    QBH_GRADCHECK(f, {qn, kn, vn});
    Tensor pad = Tensor::from_vector({1, 0, 1, 1, 1, 1, 1, 1, 0, 1}, {2, 1, 1, 5}, DType::f64);
    QBH_GRADCHECK(
        [&](const std::vector<Tensor>& in) {
            return scaled_dot_product_attention(in[0], in[1], in[2], pad, 0.3);
        },
        {q, k, v});
    // Only v needs a gradient.
    Tensor qc = test::randn({2, 2, 3, 4}, 18), kc = test::randn({2, 2, 5, 4}, 19);
    QBH_GRADCHECK(f, {qc, kc, v});
}

TEST_CASE("attention: many heads (the parallel path) agree across dtypes", "[attention]") {
    // 4 heads of Lq 16, Lk 32, D = Dv = 8 just pass the parallel threshold.
    Tensor q = test::randn({2, 2, 16, 8}, 20).set_requires_grad();
    Tensor k = test::randn({2, 2, 32, 8}, 21).set_requires_grad();
    Tensor v = test::randn({2, 2, 32, 8}, 22).set_requires_grad();
    Tensor mask = gt(test::uniform({2, 1, 16, 32}, 23, 0, 1), Tensor::scalar(0.2, DType::f64));
    auto f = [&](const std::vector<Tensor>& in) {
        return scaled_dot_product_attention(in[0], in[1], in[2], mask);
    };
    QBH_CHECK_CLOSE(f({q, k, v}), ref_attention(q, k, v, mask, 1 / std::sqrt(8.0)), 1e-12, 1e-12);
    // The threads only split independent heads: one thread must give the same gradients.
    // (Finite differences here would run thousands of parallel regions: slow on a busy box.)
    Tensor probe = test::randn({2, 2, 16, 8}, 24);
    sum(f({q, k, v}) * probe).backward();
    std::vector<Tensor> parallel{q.grad(), k.grad(), v.grad()};
    for (Tensor t : {q, k, v}) t.zero_grad();
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    sum(f({q, k, v}) * probe).backward();
    omp_set_num_threads(threads);
    QBH_CHECK_CLOSE(parallel[0], q.grad(), 1e-12, 1e-12);
    QBH_CHECK_CLOSE(parallel[1], k.grad(), 1e-12, 1e-12);
    QBH_CHECK_CLOSE(parallel[2], v.grad(), 1e-12, 1e-12);
    Tensor q32 = q.detach().to(DType::f32).set_requires_grad();
    Tensor k32 = k.detach().to(DType::f32).set_requires_grad();
    Tensor v32 = v.detach().to(DType::f32).set_requires_grad();
    Tensor out32 = scaled_dot_product_attention(q32, k32, v32, mask.to(DType::f32));
    QBH_CHECK_CLOSE(out32, f({q, k, v}), 1e-5, 1e-5);
    sum(out32 * probe.to(DType::f32)).backward();
    QBH_CHECK_CLOSE(q32.grad(), q.grad(), 1e-4, 1e-4);
    QBH_CHECK_CLOSE(k32.grad(), k.grad(), 1e-4, 1e-4);
    QBH_CHECK_CLOSE(v32.grad(), v.grad(), 1e-4, 1e-4);
}

TEST_CASE("attention: errors", "[attention][errors]") {
    Tensor q = Tensor::zeros({2, 3, 4, 5}), k = Tensor::zeros({2, 3, 6, 5});
    Tensor v = Tensor::zeros({2, 3, 6, 7});
    const char* op = "scaled_dot_product_attention";
    CHECK_THROWS_WITH(scaled_dot_product_attention(Tensor::zeros({3, 4, 5}), k, v),
                      Catch::Contains(op) && Catch::Contains("4 dimensions"));
    CHECK_THROWS_WITH(scaled_dot_product_attention(q, Tensor::zeros({2, 2, 6, 5}), v),
                      Catch::Contains(op) && Catch::Contains("k must be"));
    CHECK_THROWS_WITH(scaled_dot_product_attention(q, Tensor::zeros({2, 3, 6, 4}), v),
                      Catch::Contains("k must be"));
    CHECK_THROWS_WITH(scaled_dot_product_attention(q, k, Tensor::zeros({2, 3, 5, 7})),
                      Catch::Contains(op) && Catch::Contains("v must be"));
    CHECK_THROWS_WITH(scaled_dot_product_attention(q, k, v, Tensor::ones({1, 1, 4, 5})),
                      Catch::Contains(op) && Catch::Contains("does not broadcast"));
    CHECK_THROWS_WITH(scaled_dot_product_attention(q, k, v, Tensor::ones({3, 1, 1, 6})),
                      Catch::Contains("does not broadcast"));
    CHECK_THROWS_WITH(scaled_dot_product_attention(q, k, v, Tensor::ones({1, 2, 3, 4, 6})),
                      Catch::Contains("does not broadcast"));
    CHECK_THROWS_WITH(scaled_dot_product_attention(q, k, v, Tensor::ones({6}, DType::f64)),
                      Catch::Contains(op) && Catch::Contains("dtype"));
    CHECK_THROWS_WITH(scaled_dot_product_attention(q, k.to(DType::f64), v),
                      Catch::Contains(op) && Catch::Contains("dtype"));
    CHECK_THROWS_WITH(scaled_dot_product_attention(Tensor::zeros({1, 1, 2, 2}, DType::i64),
                                                   Tensor::zeros({1, 1, 2, 2}, DType::i64),
                                                   Tensor::zeros({1, 1, 2, 2}, DType::i64)),
                      Catch::Contains(op) && Catch::Contains("f32 or f64"));
    CHECK_THROWS_WITH(scaled_dot_product_attention(q, Tensor(), v),
                      Catch::Contains(op) && Catch::Contains("defined"));
}
