// matmul and linear: forward against a naive triple loop (with torch.matmul's 1-D promotion and
// batch broadcasting), gradients by finite differences, and every error path.
#include "tests/test_util.h"

using namespace qbh;

namespace {

// torch.matmul computed with plain loops over to_vector() values, in f64.
Tensor naive_matmul(const Tensor& a, const Tensor& b) {
    Shape as = a.shape(), bs = b.shape();
    if (a.dim() == 1) as.insert(as.begin(), 1);
    if (b.dim() == 1) bs.push_back(1);
    const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
    REQUIRE(bs[bs.size() - 2] == k);
    Shape ab(as.begin(), as.end() - 2), bb(bs.begin(), bs.end() - 2);
    const size_t nd = std::max(ab.size(), bb.size());
    ab.insert(ab.begin(), nd - ab.size(), 1);
    bb.insert(bb.begin(), nd - bb.size(), 1);
    Shape batch(nd);
    for (size_t d = 0; d < nd; ++d) batch[d] = std::max(ab[d], bb[d]);
    std::vector<double> av = a.to_vector(), bv = b.to_vector();
    std::vector<double> out(numel_of(batch) * m * n, 0.0);
    std::vector<int64_t> idx(nd, 0);
    for (int64_t i = 0; i < numel_of(batch); ++i) {
        int64_t rem = i, ao = 0, bo = 0, astep = 1, bstep = 1;
        for (int64_t d = static_cast<int64_t>(nd) - 1; d >= 0; --d) {
            idx[d] = rem % batch[d];
            rem /= batch[d];
            ao += (ab[d] == 1 ? 0 : idx[d]) * astep;
            bo += (bb[d] == 1 ? 0 : idx[d]) * bstep;
            astep *= ab[d];
            bstep *= bb[d];
        }
        for (int64_t r = 0; r < m; ++r)
            for (int64_t c = 0; c < n; ++c) {
                double acc = 0.0;
                for (int64_t j = 0; j < k; ++j)
                    acc += av[ao * m * k + r * k + j] * bv[bo * k * n + j * n + c];
                out[(i * m + r) * n + c] = acc;
            }
    }
    Shape shape = batch;
    if (a.dim() > 1) shape.push_back(m);
    if (b.dim() > 1) shape.push_back(n);
    return Tensor::from_vector(out, shape, DType::f64);
}

// y = x W^T + b with plain loops.
Tensor naive_linear(const Tensor& x, const Tensor& w, const Tensor& bias) {
    const int64_t in = w.size(1), out = w.size(0), rows = x.numel() / in;
    std::vector<double> xv = x.to_vector(), wv = w.to_vector(), y(rows * out);
    std::vector<double> bv = bias.defined() ? bias.to_vector() : std::vector<double>(out, 0.0);
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t o = 0; o < out; ++o) {
            double acc = bv[o];
            for (int64_t i = 0; i < in; ++i) acc += xv[r * in + i] * wv[o * in + i];
            y[r * out + o] = acc;
        }
    Shape shape = x.shape();
    shape.back() = out;
    return Tensor::from_vector(y, shape, DType::f64);
}

double tol(DType dt) {
    return dt == DType::f32 ? 1e-4 : 1e-11;
}

void check_matmul(const Shape& as, const Shape& bs, DType dt, uint64_t seed) {
    INFO("a " << shape_str(as) << " b " << shape_str(bs) << " " << dtype_name(dt));
    Tensor a = test::randn(as, seed, dt), b = test::randn(bs, seed + 1, dt);
    Tensor expected = naive_matmul(a, b);
    Tensor got = matmul(a, b);
    CHECK(got.dtype() == dt);
    QBH_CHECK_CLOSE(got.to(DType::f64), expected, tol(dt), tol(dt));
    // Strided inputs (neither row- nor column-major) take the copying path.
    QBH_CHECK_CLOSE(matmul(test::noncontiguous(a), test::noncontiguous(b)).to(DType::f64), expected,
                    tol(dt), tol(dt));
}

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

}  // namespace

TEST_CASE("matmul: 1-D and 2-D forward against a naive loop", "[matmul]") {
    for (DType dt : {DType::f32, DType::f64}) {
        check_matmul({5}, {5}, dt, 1);
        check_matmul({3, 5}, {5, 4}, dt, 3);
        check_matmul({5}, {5, 4}, dt, 5);
        check_matmul({3, 5}, {5}, dt, 7);
        check_matmul({1, 7}, {7, 1}, dt, 9);
        // Big enough to split over threads, by rows and by columns.
        check_matmul({130, 70}, {70, 90}, dt, 11);
        check_matmul({40, 70}, {70, 130}, dt, 12);
    }
    Tensor dot = matmul(Tensor::from_vector({1, 2, 3}, {3}), Tensor::from_vector({4, 5, 6}, {3}));
    CHECK(dot.dim() == 0);
    CHECK(dot.item() == 32);
}

TEST_CASE("matmul: batched with broadcast batch axes", "[matmul]") {
    for (DType dt : {DType::f32, DType::f64}) {
        check_matmul({4, 3, 5}, {5, 2}, dt, 13);        // folds into one tall GEMM
        check_matmul({3, 5}, {4, 5, 2}, dt, 15);        // left operand shared
        check_matmul({2, 1, 3, 4}, {5, 4, 2}, dt, 17);  // both broadcast
        check_matmul({2, 3, 4}, {2, 4, 6}, dt, 19);
        check_matmul({5}, {3, 5, 2}, dt, 21);
        check_matmul({3, 2, 5}, {5}, dt, 23);
        check_matmul({1, 3, 4}, {6, 4, 2}, dt, 25);
        check_matmul({3, 1, 4}, {3, 4, 2}, dt, 27);      // m = 1 in a batch
        check_matmul({16, 8, 9}, {16, 9, 7}, dt, 29);    // tiny: one thread
        check_matmul({8, 32, 40}, {8, 40, 24}, dt, 30);  // parallel over the batch
    }
}

TEST_CASE("matmul: views reach the kernel with their strides", "[matmul]") {
    Tensor a = test::randn({6, 4, 5}, 31), b = test::randn({6, 3, 4}, 32);
    // Transposed operands are column-major maps; a sliced row keeps a leading dimension.
    Tensor at = a.transpose(-1, -2), bt = b.transpose(-1, -2);
    QBH_CHECK_CLOSE(matmul(at, bt), naive_matmul(at.contiguous(), bt.contiguous()), 1e-12, 1e-12);
    Tensor wide = test::randn({7, 10}, 33);
    Tensor part = wide.slice(1, 2, 8);  // [7, 6], row stride 10
    Tensor rhs = test::randn({6, 3}, 34);
    QBH_CHECK_CLOSE(matmul(part, rhs), naive_matmul(part.contiguous(), rhs), 1e-12, 1e-12);
    // A batch slice of a 3-D tensor: rows merge across the batch with a stride gap.
    Tensor big = test::randn({4, 5, 9}, 35);
    Tensor sub = big.slice(2, 0, 6);  // [4, 5, 6]
    QBH_CHECK_CLOSE(matmul(sub, rhs), naive_matmul(sub.contiguous(), rhs), 1e-12, 1e-12);
    Tensor every_other = big.slice(1, 0, 5, 2).slice(2, 0, 6);  // rows do not merge
    QBH_CHECK_CLOSE(matmul(every_other, rhs), naive_matmul(every_other.contiguous(), rhs), 1e-12,
                    1e-12);
    // Expanded operands: stride 0 on a batch axis and on the row axis.
    Tensor row = test::randn({1, 1, 6}, 36).expand({4, 5, 6});
    QBH_CHECK_CLOSE(matmul(row, rhs), naive_matmul(row.contiguous(), rhs), 1e-12, 1e-12);
    Tensor shared = test::randn({1, 6, 3}, 37).expand({4, 6, 3});
    QBH_CHECK_CLOSE(matmul(sub, shared), naive_matmul(sub.contiguous(), shared.contiguous()), 1e-12,
                    1e-12);
}

TEST_CASE("matmul: empty sizes", "[matmul]") {
    Tensor z = matmul(Tensor::ones({3, 0}), Tensor::ones({0, 4}));
    CHECK(z.shape() == Shape{3, 4});
    CHECK(z.to_vector() == std::vector<double>(12, 0.0));
    CHECK(matmul(Tensor::ones({0, 3}), Tensor::ones({3, 4})).shape() == Shape{0, 4});
    CHECK(matmul(Tensor::ones({2, 0, 3}), Tensor::ones({3, 4})).shape() == Shape{2, 0, 4});
}

TEST_CASE("matmul: gradients by finite differences", "[matmul][gradcheck]") {
    Fn f = [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); };
    const std::vector<std::pair<Shape, Shape>> cases = {{{4}, {4}},
                                                        {{3, 4}, {4, 2}},
                                                        {{4}, {4, 3}},
                                                        {{3, 4}, {4}},
                                                        {{2, 3, 4}, {4, 2}},
                                                        {{3, 4}, {2, 4, 5}},
                                                        {{2, 1, 3, 4}, {3, 4, 2}},
                                                        {{4}, {2, 4, 3}},
                                                        {{2, 3, 4}, {4}}};
    uint64_t seed = 40;
    for (const auto& [as, bs] : cases) {
        INFO("a " << shape_str(as) << " b " << shape_str(bs));
        Tensor a = test::randn(as, seed++).set_requires_grad();
        Tensor b = test::randn(bs, seed++).set_requires_grad();
        QBH_GRADCHECK(f, {a, b});
        Tensor an = test::noncontiguous(a).set_requires_grad();
        Tensor bn = test::noncontiguous(b).set_requires_grad();
        QBH_GRADCHECK(f, {an, bn});
    }
    // A transposed view as input, and only one operand needing a gradient.
    Tensor w = test::randn({5, 3}, 60).set_requires_grad();
    Tensor x = test::randn({2, 4, 5}, 61);
    QBH_GRADCHECK([x](const std::vector<Tensor>& in) { return matmul(x, in[0]); }, {w});
    QBH_GRADCHECK(
        [](const std::vector<Tensor>& in) { return matmul(in[0].transpose(0, 1), in[1]); },
        {test::randn({5, 3}, 62).set_requires_grad(), w});
}

TEST_CASE("linear: forward against a naive loop", "[matmul]") {
    for (DType dt : {DType::f32, DType::f64}) {
        INFO(dtype_name(dt));
        Tensor w = test::randn({6, 5}, 70, dt), b = test::randn({6}, 71, dt);
        for (const Shape& xs : {Shape{5}, Shape{3, 5}, Shape{2, 4, 5}, Shape{0, 5}}) {
            Tensor x = test::randn(xs, 72, dt);
            QBH_CHECK_CLOSE(linear(x, w, b).to(DType::f64), naive_linear(x, w, b), tol(dt),
                            tol(dt));
            QBH_CHECK_CLOSE(linear(x, w).to(DType::f64), naive_linear(x, w, Tensor()), tol(dt),
                            tol(dt));
            QBH_CHECK_CLOSE(
                linear(test::noncontiguous(x), test::noncontiguous(w), test::noncontiguous(b))
                    .to(DType::f64),
                naive_linear(x, w, b), tol(dt), tol(dt));
        }
        // A weight stored transposed ([in, out] memory) is read without a copy.
        Tensor wt = test::randn({5, 6}, 73, dt).transpose(0, 1);
        Tensor x = test::randn({7, 5}, 74, dt);
        QBH_CHECK_CLOSE(linear(x, wt, b).to(DType::f64), naive_linear(x, wt.contiguous(), b),
                        tol(dt), tol(dt));
        Tensor big_x = test::randn({300, 40}, 75, dt), big_w = test::randn({50, 40}, 76, dt);
        Tensor big_b = test::randn({50}, 77, dt);
        QBH_CHECK_CLOSE(linear(big_x, big_w, Tensor()).to(DType::f64),
                        naive_linear(big_x, big_w, Tensor()), tol(dt), tol(dt));
        QBH_CHECK_CLOSE(linear(big_x, big_w, big_b).to(DType::f64),
                        naive_linear(big_x, big_w, big_b), tol(dt), tol(dt));
        Tensor wide_w = test::randn({400, 40}, 78, dt).transpose(0, 1).contiguous().transpose(0, 1);
        QBH_CHECK_CLOSE(linear(big_x.slice(0, 0, 30), wide_w, Tensor()).to(DType::f64),
                        naive_linear(big_x.slice(0, 0, 30), wide_w.contiguous(), Tensor()), tol(dt),
                        tol(dt));
    }
    // in = 0: the output is the bias.
    Tensor b = Tensor::from_vector({1, 2}, {2});
    CHECK(linear(Tensor::ones({3, 0}), Tensor::ones({2, 0}), b).to_vector() ==
          std::vector<double>{1, 2, 1, 2, 1, 2});
}

TEST_CASE("linear: gradients by finite differences", "[matmul][gradcheck]") {
    Fn with_bias = [](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); };
    Fn no_bias = [](const std::vector<Tensor>& in) { return linear(in[0], in[1]); };
    for (const Shape& xs : {Shape{4}, Shape{3, 4}, Shape{2, 3, 4}}) {
        INFO("x " << shape_str(xs));
        Tensor x = test::randn(xs, 80).set_requires_grad();
        Tensor w = test::randn({5, 4}, 81).set_requires_grad();
        Tensor b = test::randn({5}, 82).set_requires_grad();
        QBH_GRADCHECK(with_bias, {x, w, b});
        QBH_GRADCHECK(no_bias, {x, w});
        QBH_GRADCHECK(with_bias, {test::noncontiguous(x).set_requires_grad(),
                                  test::noncontiguous(w).set_requires_grad(),
                                  test::noncontiguous(b).set_requires_grad()});
    }
    Tensor x = test::randn({3, 4}, 83).set_requires_grad();
    QBH_GRADCHECK(
        [](const std::vector<Tensor>& in) { return linear(in[0], in[1].transpose(0, 1), in[2]); },
        {x, test::randn({4, 5}, 84).set_requires_grad(), test::randn({5}, 85).set_requires_grad()});
    // Only the weight needs a gradient (a frozen input).
    Tensor frozen = test::randn({3, 4}, 86);
    QBH_GRADCHECK([frozen](const std::vector<Tensor>& in) { return linear(frozen, in[0]); },
                  {test::randn({2, 4}, 87).set_requires_grad()});
}

TEST_CASE("linear: large backward against naive sums", "[matmul]") {
    // Several column blocks of the bias gradient, summed in parallel.
    const int64_t rows = 300, in = 20, out = 600;
    Tensor x = test::randn({3, rows / 3, in}, 90).set_requires_grad();
    Tensor w = test::randn({out, in}, 91).set_requires_grad();
    Tensor b = test::randn({out}, 92).set_requires_grad();
    Tensor gy = test::randn({3, rows / 3, out}, 93);
    linear(x, w, b).backward(gy);
    std::vector<double> g = gy.to_vector(), xv = x.to_vector(), wv = w.to_vector();
    std::vector<double> db(out, 0.0), dw(out * in, 0.0), dx(rows * in, 0.0);
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t o = 0; o < out; ++o) {
            db[o] += g[r * out + o];
            for (int64_t i = 0; i < in; ++i) {
                dw[o * in + i] += g[r * out + o] * xv[r * in + i];
                dx[r * in + i] += g[r * out + o] * wv[o * in + i];
            }
        }
    QBH_CHECK_CLOSE(b.grad(), Tensor::from_vector(db, {out}, DType::f64), 1e-10, 1e-10);
    QBH_CHECK_CLOSE(w.grad(), Tensor::from_vector(dw, {out, in}, DType::f64), 1e-10, 1e-10);
    QBH_CHECK_CLOSE(x.grad(), Tensor::from_vector(dx, {3, rows / 3, in}, DType::f64), 1e-10, 1e-10);
}

TEST_CASE("matmul and linear: errors", "[matmul][errors]") {
    Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 5});
    CHECK_THROWS_WITH(matmul(a, b), Catch::Contains("matmul") && Catch::Contains("[2, 3]") &&
                                        Catch::Contains("[4, 5]") &&
                                        Catch::Contains("inner sizes 3 and 4"));
    CHECK_THROWS_WITH(matmul(Tensor::scalar(1), a), Catch::Contains("at least 1 dimension"));
    CHECK_THROWS_WITH(matmul(Tensor::zeros({2, 2, 3}), Tensor::zeros({3, 3, 4})),
                      Catch::Contains("matmul"));
    CHECK_THROWS_WITH(matmul(a, Tensor::zeros({3, 2}, DType::f64)), Catch::Contains("dtype"));
    CHECK_THROWS_WITH(matmul(Tensor::zeros({2, 3}, DType::i64), Tensor::zeros({3, 2}, DType::i64)),
                      Catch::Contains("f32 or f64"));
    CHECK_THROWS_WITH(matmul(Tensor(), a), Catch::Contains("undefined"));
    Tensor w = Tensor::zeros({4, 3});
    CHECK_THROWS_WITH(linear(a, Tensor::zeros({3})), Catch::Contains("weight must have 2"));
    CHECK_THROWS_WITH(linear(Tensor::zeros({2, 5}), w),
                      Catch::Contains("5 features") && Catch::Contains("expects 3"));
    CHECK_THROWS_WITH(linear(a, w, Tensor::zeros({3})),
                      Catch::Contains("bias must be [4]") && Catch::Contains("f32[3]"));
    CHECK_THROWS_WITH(linear(Tensor::scalar(1), w), Catch::Contains("at least 1 dimension"));
    CHECK_THROWS_WITH(linear(a, w, Tensor::zeros({4}, DType::f64)), Catch::Contains("dtype"));
}
