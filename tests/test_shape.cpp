// Shape ops that move data: cat, stack, pad, gather, scatter, scatter_add, index_select, each
// against a naive loop reference, with gradients by finite differences, errors, and the MAE
// random-masking round trip built from them.
#include "tests/test_util.h"

using namespace qbh;

namespace {

using F = std::function<Tensor(const std::vector<Tensor>&)>;

Tensor ints(const std::vector<double>& v, const Shape& shape) {
    return Tensor::from_vector(v, shape, DType::i64);
}

// Row-major flat offset of a multi-index in `shape`.
int64_t flat(const Shape& shape, const std::vector<int64_t>& idx) {
    int64_t off = 0;
    for (size_t d = 0; d < shape.size(); ++d) off = off * shape[d] + idx[d];
    return off;
}

// Calls fn(idx) for every multi-index of `shape` in row-major order.
template <class Fn>
void for_each_index(const Shape& shape, Fn&& fn) {
    std::vector<int64_t> idx(shape.size(), 0);
    for (int64_t i = 0; i < numel_of(shape); ++i) {
        fn(idx);
        for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
            if (++idx[d] < shape[d]) break;
            idx[d] = 0;
        }
    }
}

// Naive cat: the output position along `axis` picks the input it falls in.
std::vector<double> naive_cat(const std::vector<Tensor>& ts, int64_t axis, const Shape& out) {
    std::vector<double> r(numel_of(out));
    for_each_index(out, [&](const std::vector<int64_t>& idx) {
        std::vector<int64_t> src = idx;
        size_t k = 0;
        while (src[axis] >= ts[k].shape()[axis]) src[axis] -= ts[k++].shape()[axis];
        r[flat(out, idx)] = ts[k].to_vector()[flat(ts[k].shape(), src)];
    });
    return r;
}

}  // namespace

TEST_CASE("shape: cat and stack match a naive copy", "[shape]") {
    for (DType dt : {DType::f32, DType::f64}) {
        Tensor a = test::randn({2, 3, 4}, 1, dt), b = test::randn({2, 1, 4}, 2, dt);
        Tensor c = test::noncontiguous(test::randn({2, 2, 4}, 3, dt));
        Tensor out = cat({a, b, c}, 1);
        CHECK(out.shape() == Shape{2, 6, 4});
        CHECK(out.to_vector() == naive_cat({a, b, c}, 1, {2, 6, 4}));
        Tensor d = test::randn({2, 3, 5}, 4, dt);
        CHECK(cat({a, d}, -1).to_vector() == naive_cat({a, d}, 2, {2, 3, 9}));
        Tensor e = test::randn({1, 3, 4}, 5, dt);
        CHECK(cat({e, a}, 0).to_vector() == naive_cat({e, a}, 0, {3, 3, 4}));
        // stack = cat of unsqueezed tensors.
        Tensor s = stack({a, test::noncontiguous(a * 2.0)}, -1);
        CHECK(s.shape() == Shape{2, 3, 4, 2});
        CHECK(s.at({1, 2, 3, 0}) == a.at({1, 2, 3}));
        CHECK(s.at({1, 2, 3, 1}) == 2 * a.at({1, 2, 3}));
        CHECK(stack({a, a, a}, 0).shape() == Shape{3, 2, 3, 4});
    }
    Tensor i = cat({ints({1, 2}, {2}), ints({3}, {1})}, 0);  // index tensors concatenate too
    CHECK(i.dtype() == DType::i64);
    CHECK(i.to_vector() == std::vector<double>{1, 2, 3});
    CHECK(cat({Tensor::zeros({2, 0}), Tensor::ones({2, 1})}, 1).to_vector() ==
          std::vector<double>{1, 1});
}

TEST_CASE("shape: cat and stack gradients", "[shape][gradcheck]") {
    Tensor a = test::randn({2, 3, 2}, 6).set_requires_grad();
    Tensor b = test::randn({2, 1, 2}, 7).set_requires_grad();
    Tensor c = test::noncontiguous(test::randn({2, 2, 2}, 8)).set_requires_grad();
    QBH_GRADCHECK(F([](const std::vector<Tensor>& in) { return cat(in, 1); }), {a, b, c});
    Tensor d = test::noncontiguous(test::randn({2, 3, 2}, 9)).set_requires_grad();
    QBH_GRADCHECK(F([](const std::vector<Tensor>& in) { return stack(in, 1); }), {a, d});
    QBH_GRADCHECK(F([](const std::vector<Tensor>& in) {
                      return cat({in[0], in[0] * 3.0}, -1);
                  }),
                  {a});
    // A constant input gets no gradient but does not disturb the others.
    Tensor k = test::randn({2, 3, 2}, 10);
    QBH_GRADCHECK(F([k](const std::vector<Tensor>& in) { return cat({k, in[0]}, 0); }), {d});
}

TEST_CASE("shape: cat and stack errors", "[shape][errors]") {
    Tensor a = Tensor::zeros({2, 3});
    CHECK_THROWS_WITH(cat({}, 0), Catch::Contains("cat") && Catch::Contains("empty list"));
    CHECK_THROWS_WITH(stack({}, 0), Catch::Contains("stack") && Catch::Contains("empty list"));
    CHECK_THROWS_WITH(cat({a, a, Tensor::zeros({3, 3})}, 1), Catch::Contains("tensor 2") &&
                                                                 Catch::Contains("[3, 3]") &&
                                                                 Catch::Contains("but 1"));
    CHECK_THROWS_WITH(cat({a, Tensor::zeros({2, 3, 1})}, 0), Catch::Contains("tensor 1"));
    CHECK_THROWS_WITH(cat({a, Tensor::zeros({2, 3}, DType::f64)}, 0),
                      Catch::Contains("tensor 1") && Catch::Contains("f64"));
    CHECK_THROWS_WITH(cat({a, Tensor()}, 0), Catch::Contains("tensor 1 is undefined"));
    CHECK_THROWS_WITH(cat({a}, 2), Catch::Contains("cat") && Catch::Contains("out of range"));
    CHECK_THROWS_WITH(cat({Tensor::scalar(1)}, 0), Catch::Contains("0-d"));
    CHECK_THROWS_WITH(stack({a, Tensor::zeros({2, 4})}, 0), Catch::Contains("stack") &&
                                                                Catch::Contains("tensor 1") &&
                                                                Catch::Contains("[2, 4]"));
    CHECK_THROWS_WITH(stack({a}, 3), Catch::Contains("stack") && Catch::Contains("out of range"));
}

TEST_CASE("shape: pad matches torch's constant mode", "[shape]") {
    for (DType dt : {DType::f32, DType::f64}) {
        Tensor x = test::randn({2, 3, 4}, 11, dt);
        // {left, right} of the last axis, then {top, bottom} of the middle one.
        Tensor out = pad(test::noncontiguous(x), {1, 2, 0, 3}, -5.0);
        Shape os{2, 6, 7};
        REQUIRE(out.shape() == os);
        std::vector<double> xv = x.to_vector(), expect(numel_of(os));
        for_each_index(os, [&](const std::vector<int64_t>& i) {
            int64_t h = i[1], w = i[2] - 1;
            bool inside = h < 3 && w >= 0 && w < 4;
            expect[flat(os, i)] = inside ? xv[flat({2, 3, 4}, {i[0], h, w})] : -5.0;
        });
        CHECK(out.to_vector() == expect);
        // Negative pads crop: {-1, 1} drops the first column and adds one at the end.
        Tensor crop = pad(x, {-1, 1});
        CHECK(crop.shape() == Shape{2, 3, 4});
        CHECK(crop.at({1, 2, 0}) == x.at({1, 2, 1}));
        CHECK(crop.at({1, 2, 3}) == 0.0);
        CHECK(pad(x, {0, 0, -3, 0}).shape() == Shape{2, 0, 4});
    }
    // Fashion-MNIST 28 -> 32, large enough for the threaded path.
    Tensor img = test::randn({64, 1, 28, 28}, 32, DType::f32);
    Tensor padded = pad(img, {2, 2, 2, 2});
    REQUIRE(padded.shape() == Shape{64, 1, 32, 32});
    std::vector<double> iv = img.to_vector(), pv = padded.to_vector();
    bool all_match = true;
    for_each_index(padded.shape(), [&](const std::vector<int64_t>& i) {
        const int64_t h = i[2] - 2, w = i[3] - 2;
        const bool in = h >= 0 && h < 28 && w >= 0 && w < 28;
        const double e = in ? iv[flat({64, 1, 28, 28}, {i[0], 0, h, w})] : 0.0;
        all_match = all_match && pv[flat(padded.shape(), i)] == e;
    });
    CHECK(all_match);
    CHECK(pad(ints({1, 2}, {2}), {1, 0}, 7).to_vector() == std::vector<double>{7, 1, 2});
    CHECK(pad(Tensor::scalar(3.0), {}).item() == 3.0);
}

TEST_CASE("shape: pad gradients", "[shape][gradcheck]") {
    Tensor x = test::randn({2, 3, 2}, 12).set_requires_grad();
    QBH_GRADCHECK(F([](const std::vector<Tensor>& in) {
                      return pad(in[0], {1, 2, 2, 0}, 1.5);
                  }),
                  {x});
    QBH_GRADCHECK(F([](const std::vector<Tensor>& in) {
                      return pad(in[0], {1, 0, 0, 1, 1, 1});
                  }),
                  {x});
    Tensor nc = test::noncontiguous(test::randn({3, 4}, 13)).set_requires_grad();
    QBH_GRADCHECK(F([](const std::vector<Tensor>& in) {
                      return pad(in[0], {-1, 2, 1, -2});
                  }),
                  {nc});
}

TEST_CASE("shape: pad errors", "[shape][errors]") {
    Tensor x = Tensor::zeros({2, 3});
    CHECK_THROWS_WITH(pad(x, {1}), Catch::Contains("pad") && Catch::Contains("even count"));
    CHECK_THROWS_WITH(pad(x, {1, 1, 1, 1, 1, 1}),
                      Catch::Contains("6 entries") && Catch::Contains("at most 4"));
    CHECK_THROWS_WITH(pad(x, {-2, -2}),
                      Catch::Contains("axis 1") && Catch::Contains("negative size"));
    CHECK_THROWS_WITH(pad(Tensor(), {1, 1}), Catch::Contains("undefined"));
}

namespace {

// Naive gather: out[idx] = x[idx with idx[axis] replaced by index[idx]].
std::vector<double> naive_gather(const Tensor& x, int64_t axis, const Tensor& index) {
    std::vector<double> xv = x.to_vector(), iv = index.to_vector(), r(index.numel());
    for_each_index(index.shape(), [&](const std::vector<int64_t>& idx) {
        std::vector<int64_t> src = idx;
        src[axis] = static_cast<int64_t>(iv[flat(index.shape(), idx)]);
        r[flat(index.shape(), idx)] = xv[flat(x.shape(), src)];
    });
    return r;
}

// Naive scatter / scatter_add over the index shape.
std::vector<double> naive_scatter(const Tensor& x, int64_t axis, const Tensor& index,
                                  const Tensor& src, bool add) {
    std::vector<double> r = x.to_vector(), iv = index.to_vector(), sv = src.to_vector();
    for_each_index(index.shape(), [&](const std::vector<int64_t>& idx) {
        std::vector<int64_t> dst = idx;
        dst[axis] = static_cast<int64_t>(iv[flat(index.shape(), idx)]);
        double v = sv[flat(src.shape(), idx)];
        double& o = r[flat(x.shape(), dst)];
        o = add ? o + v : v;
    });
    return r;
}

}  // namespace

TEST_CASE("shape: gather, scatter and scatter_add match naive loops", "[shape]") {
    // index [2, 3, 2] into x [2, 4, 3]: smaller than x on axes 1 and 2, with repeats on axis 1.
    Tensor index = ints({3, 0, 1, 1, 0, 3, 2, 2, 1, 0, 3, 1}, {2, 3, 2});
    for (DType dt : {DType::f32, DType::f64}) {
        Tensor x = test::randn({2, 4, 3}, 14, dt);
        CHECK(gather(x, 1, index).to_vector() == naive_gather(x, 1, index));
        CHECK(gather(test::noncontiguous(x), -2, test::noncontiguous(index)).to_vector() ==
              naive_gather(x, 1, index));
        Tensor i0 = ints({1, 0, 1, 0, 0, 1}, {1, 3, 2});
        CHECK(gather(x, 0, i0).to_vector() == naive_gather(x, 0, i0));
        Tensor i2 = ints({2, 2, 0, 1, 0, 2}, {2, 1, 3});
        CHECK(gather(x, 2, i2).to_vector() == naive_gather(x, 2, i2));

        // scatter writes each index once: a permutation along axis 1, src larger than index.
        Tensor perm = ints({3, 0, 1, 2, 1, 2, 0, 3, 2, 3, 1, 0}, {2, 2, 3});
        Tensor src = test::randn({2, 3, 4}, 15, dt);
        CHECK(scatter(x, 1, perm, src).to_vector() == naive_scatter(x, 1, perm, src, false));
        CHECK(scatter(test::noncontiguous(x), 1, perm, test::noncontiguous(src)).to_vector() ==
              naive_scatter(x, 1, perm, src, false));
        Tensor y = scatter_add(x, 1, index, src);
        QBH_CHECK_CLOSE(y, Tensor::from_vector(naive_scatter(x, 1, index, src, true), x.shape()),
                        1e-6, 1e-6);
        Tensor z = scatter_add(x, 0, i0, src);
        QBH_CHECK_CLOSE(z, Tensor::from_vector(naive_scatter(x, 0, i0, src, true), x.shape()), 1e-6,
                        1e-6);
    }
    // Large enough for the threaded path (axis 2 of [64, 32, 32]).
    Tensor big = test::randn({64, 32, 32}, 16, DType::f32);
    Tensor bi = ints(test::uniform({64, 32, 20}, 17, 0, 32).to_vector(), {64, 32, 20});
    CHECK(gather(big, 2, bi).to_vector() == naive_gather(big, 2, bi));
}

TEST_CASE("shape: index ops with a broadcast index move whole rows", "[shape]") {
    // ids [N, K] expanded over channels, as MAE does: the kernels copy rows of the last axis.
    for (DType dt : {DType::f32, DType::f64}) {
        for (int64_t n : {3, 64}) {  // 64: large enough for the threaded path
            INFO("dtype " << dtype_name(dt) << " n " << n);
            Tensor x = test::randn({n, 5, 32}, 29, dt);
            Tensor ids = ints(test::uniform({n, 2}, 30, 0, 5).to_vector(), {n, 2});
            Tensor index = ids.unsqueeze(-1).expand({n, 2, 32});
            CHECK(gather(x, 1, index).to_vector() == naive_gather(x, 1, index));
            CHECK(gather(test::noncontiguous(x), 1, index).to_vector() ==
                  naive_gather(x, 1, index));
            Tensor src = test::randn({n, 2, 32}, 31, dt);
            QBH_CHECK_CLOSE(
                scatter_add(x, 1, index, test::noncontiguous(src)),
                Tensor::from_vector(naive_scatter(x, 1, index, src, true), x.shape(), dt), 1e-6,
                1e-6);
            // Rows 4 and 1 of every sample: distinct, so scatter accepts them.
            Tensor rows = ints(
                [&] {
                    std::vector<double> v;
                    for (int64_t i = 0; i < n; ++i) v.insert(v.end(), {4, 1});
                    return v;
                }(),
                {n, 2});
            Tensor rindex = rows.unsqueeze(-1).expand({n, 2, 32});
            CHECK(scatter(x, 1, rindex, src).to_vector() ==
                  naive_scatter(x, 1, rindex, src, false));
        }
    }
    Tensor x = Tensor::zeros({2, 3, 4});
    Tensor dup = ints({2, 2, 0, 1}, {2, 2}).unsqueeze(-1).expand({2, 2, 4});
    CHECK_THROWS_WITH(
        scatter(x, 1, dup, Tensor::ones({2, 2, 4})),
        Catch::Contains("value 2") && Catch::Contains("[0, 1, 0]") && Catch::Contains("repeat"));
    CHECK_THROWS_WITH(gather(x, 1, ints({0, 3}, {1, 2}).unsqueeze(-1).expand({1, 2, 4})),
                      Catch::Contains("value 3") && Catch::Contains("[0, 1, 0]"));
}

TEST_CASE("shape: gather and scatter gradients", "[shape][gradcheck]") {
    Tensor index = ints({3, 0, 1, 1, 0, 3, 2, 2, 1, 0, 3, 1}, {2, 3, 2});
    Tensor x = test::randn({2, 4, 3}, 18).set_requires_grad();
    Tensor xn = test::noncontiguous(test::randn({2, 4, 3}, 19)).set_requires_grad();
    // Repeated indices: the gradient of gather accumulates.
    F g = [index](const std::vector<Tensor>& in) { return gather(in[0], 1, index); };
    QBH_GRADCHECK(g, {x});
    QBH_GRADCHECK(g, {xn});
    Tensor perm = ints({3, 0, 1, 2, 1, 2, 0, 3, 2, 3, 1, 0}, {2, 2, 3});
    Tensor src = test::randn({2, 3, 4}, 20).set_requires_grad();
    Tensor srcn = test::noncontiguous(test::randn({2, 2, 3}, 21)).set_requires_grad();
    F s = [perm](const std::vector<Tensor>& in) { return scatter(in[0], 1, perm, in[1]); };
    QBH_GRADCHECK(s, {x, src});
    QBH_GRADCHECK(s, {xn, srcn});
    F sa = [index](const std::vector<Tensor>& in) { return scatter_add(in[0], 1, index, in[1]); };
    QBH_GRADCHECK(sa, {x, src});
    QBH_GRADCHECK(sa, {xn, test::noncontiguous(test::randn({2, 3, 2}, 22)).set_requires_grad()});
    // The written positions of x get no gradient from scatter.
    Tensor x2 = test::randn({2, 4, 3}, 23).set_requires_grad();
    sum(scatter(x2, 1, perm, src.detach())).backward();
    CHECK(x2.grad().at({0, 3, 0}) == 0.0);  // perm[0][0][0] = 3 wrote x[0][3][0]
    CHECK(x2.grad().at({0, 3, 2}) == 1.0);  // column 2 writes rows 1 and 2 only
}

TEST_CASE("shape: index_select matches a naive copy", "[shape]") {
    Tensor index = ints({2, 0, 2, 1}, {4});
    for (DType dt : {DType::f32, DType::f64}) {
        Tensor x = test::randn({3, 4, 5}, 24, dt);
        for (int64_t axis : {0, 1, -1}) {
            const int64_t a = axis < 0 ? axis + 3 : axis;
            Tensor out = index_select(test::noncontiguous(x), axis, index);
            Shape os = x.shape();
            os[a] = 4;
            REQUIRE(out.shape() == os);
            std::vector<double> xv = x.to_vector(), expect(numel_of(os));
            for_each_index(os, [&](const std::vector<int64_t>& i) {
                std::vector<int64_t> s = i;
                s[a] = static_cast<int64_t>(index.at({i[a]}));
                expect[flat(os, i)] = xv[flat(x.shape(), s)];
            });
            CHECK(out.to_vector() == expect);
        }
    }
    Tensor x = test::randn({3, 4}, 25).set_requires_grad();
    Tensor xn = test::noncontiguous(test::randn({3, 4}, 26)).set_requires_grad();
    for (int64_t axis : {0, 1}) {
        F f = [axis, index](const std::vector<Tensor>& in) {
            return index_select(in[0], axis, slice(index, 0, 0, 3));
        };
        QBH_GRADCHECK(f, {x});
        QBH_GRADCHECK(f, {xn});
    }
}

TEST_CASE("shape: index op errors", "[shape][errors]") {
    Tensor x = Tensor::zeros({2, 4});
    Tensor idx = ints({0, 5, 1, 2}, {2, 2});
    CHECK_THROWS_WITH(gather(x, 1, idx), Catch::Contains("gather") && Catch::Contains("value 5") &&
                                             Catch::Contains("[0, 1]") &&
                                             Catch::Contains("size 4"));
    CHECK_THROWS_WITH(gather(x, 1, ints({-1, 0}, {2, 1})), Catch::Contains("value -1"));
    CHECK_THROWS_WITH(gather(x, 1, Tensor::zeros({2, 2})),
                      Catch::Contains("gather") && Catch::Contains("i64"));
    CHECK_THROWS_WITH(gather(x, 1, ints({0, 1}, {2})), Catch::Contains("as many axes"));
    CHECK_THROWS_WITH(gather(x, 1, ints({0, 0, 0}, {3, 1})),
                      Catch::Contains("larger than the input") && Catch::Contains("axis 0"));
    CHECK_THROWS_WITH(gather(x, 2, ints({0}, {1, 1})), Catch::Contains("out of range"));
    Tensor src = Tensor::ones({2, 2});
    CHECK_THROWS_WITH(scatter(x, 1, ints({1, 1, 0, 2}, {2, 2}), src),
                      Catch::Contains("scatter") && Catch::Contains("value 1") &&
                          Catch::Contains("[0, 1]") && Catch::Contains("repeat"));
    CHECK_THROWS_WITH(scatter(x, 1, ints({0, 4}, {1, 2}), src), Catch::Contains("value 4"));
    CHECK_THROWS_WITH(scatter(x, 1, ints({0, 1, 2}, {1, 3}), src),
                      Catch::Contains("larger than src"));
    CHECK_THROWS_WITH(scatter(x, 1, ints({0, 1}, {1, 2}), Tensor::ones({2, 2}, DType::f64)),
                      Catch::Contains("dtype mismatch"));
    CHECK_THROWS_WITH(scatter_add(x, 1, ints({0, 1}, {1, 2}), Tensor::ones({2})),
                      Catch::Contains("scatter_add") && Catch::Contains("as many axes"));
    CHECK_THROWS_WITH(index_select(x, 1, ints({0, 4}, {2})), Catch::Contains("index_select") &&
                                                                 Catch::Contains("value 4") &&
                                                                 Catch::Contains("size 4"));
    CHECK_THROWS_WITH(index_select(x, 0, ints({0, 1}, {1, 2})), Catch::Contains("1-D"));
    CHECK_THROWS_WITH(index_select(x, 0, Tensor::zeros({1})), Catch::Contains("i64"));
}

TEST_CASE("shape: MAE random masking round trip", "[shape]") {
    // As facebookresearch/mae: shuffle tokens per sample, keep the first K, append mask tokens,
    // unshuffle with the inverse permutation.
    const int64_t N = 3, L = 8, D = 4, K = 2;
    Generator gen(7);
    std::vector<Tensor> perms;
    for (int64_t i = 0; i < N; ++i) perms.push_back(randperm(L, gen));
    Tensor ids_shuffle = stack(perms, 0);  // [N, L]
    // ids_restore = argsort(ids_shuffle): scatter positions 0..L-1 to where they came from.
    Tensor positions = Tensor::arange(L, DType::i64).unsqueeze(0).expand({N, L});
    Tensor ids_restore = scatter(Tensor::zeros({N, L}, DType::i64), 1, ids_shuffle, positions);
    Tensor ids_keep = slice(ids_shuffle, 1, 0, K);
    Tensor x = test::randn({N, L, D}, 27).set_requires_grad();

    auto mask_and_restore = [&](const Tensor& tokens) {
        Tensor kept = gather(tokens, 1, ids_keep.unsqueeze(-1).expand({N, K, D}));
        Tensor masked = Tensor::full({N, L - K, D}, -9.0, DType::f64);
        Tensor shuffled = cat({kept, masked}, 1);
        return gather(shuffled, 1, ids_restore.unsqueeze(-1).expand({N, L, D}));
    };
    Tensor restored = mask_and_restore(x);
    REQUIRE(restored.shape() == Shape{N, L, D});
    Tensor w = test::randn({N, L, D}, 28);
    sum(restored * w).backward();
    int kept_count = 0;
    for (int64_t n = 0; n < N; ++n) {
        for (int64_t l = 0; l < L; ++l) {
            bool kept = false;
            for (int64_t k = 0; k < K; ++k) kept = kept || ids_keep.at({n, k}) == l;
            kept_count += kept;
            for (int64_t d = 0; d < D; ++d) {
                CHECK(restored.at({n, l, d}) == (kept ? x.at({n, l, d}) : -9.0));
                CHECK(x.grad().at({n, l, d}) == (kept ? w.at({n, l, d}) : 0.0));
            }
        }
    }
    CHECK(kept_count == N * K);
    QBH_GRADCHECK(F([&](const std::vector<Tensor>& in) { return mask_and_restore(in[0]); }),
                  {test::noncontiguous(x.detach()).set_requires_grad()});
}
