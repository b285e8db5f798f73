// The heat-propagation op: zero maps copy outward, cell mode against the closed form with
// matrix powers and against the literal step rule (norm on), block mode against a per-position
// reference, f32 against f64, gradients by finite differences for every mode x corner x norm,
// and the error paths.
#include <cmath>

#include "tests/test_util.h"

using namespace qbh;

namespace {

using Vec = std::vector<double>;

const HeatCorner kCorners[] = {HeatCorner::tl, HeatCorner::tr, HeatCorner::bl, HeatCorner::br};
const HeatMode kModes[] = {HeatMode::cell, HeatMode::block};

// A dense grid of features [n, rows, cols, d] as doubles, for the references.
struct Grid {
    int64_t n = 0, rows = 0, cols = 0, d = 0;
    Vec values;

    Grid(int64_t n_, int64_t rows_, int64_t cols_, int64_t d_)
        : n(n_), rows(rows_), cols(cols_), d(d_), values(n_ * rows_ * cols_ * d_, NAN) {}
    explicit Grid(const Tensor& t)
        : n(t.size(0)), rows(t.size(1)), cols(t.size(2)), d(t.size(3)), values(t.to_vector()) {}

    Vec get(int64_t b, int64_t i, int64_t j) const {
        auto first = values.begin() + ((b * rows + i) * cols + j) * d;
        return Vec(first, first + d);
    }
    void set(int64_t b, int64_t i, int64_t j, const Vec& z) {
        std::copy(z.begin(), z.end(), values.begin() + ((b * rows + i) * cols + j) * d);
    }
    Tensor tensor(DType dtype = DType::f64) const {
        return Tensor::from_vector(values, {n, rows, cols, d}, dtype);
    }
};

// Where the block sits: s / t are the signs of the horizontal / vertical steps outward.
struct Place {
    bool right, bottom;
    double s, t;
};
Place place_of(HeatCorner c) {
    bool right = c == HeatCorner::tr || c == HeatCorner::br;
    bool bottom = c == HeatCorner::bl || c == HeatCorner::br;
    return {right, bottom, right ? -1.0 : 1.0, bottom ? -1.0 : 1.0};
}

// Layer norm of one feature: no affine, eps 1e-6, biased variance.
Vec layer_norm(const Vec& z) {
    double mean = 0, var = 0;
    for (double x : z) mean += x / z.size();
    for (double x : z) var += (x - mean) * (x - mean) / z.size();
    Vec out;
    for (double x : z) out.push_back((x - mean) / std::sqrt(var + 1e-6));
    return out;
}

// One step in the paper's column form: z + sign * M F(z), F = identity or layer norm.
Vec step(const Vec& z, const Vec& m, double sign, bool norm) {
    const size_t d = z.size();
    Vec f = norm ? layer_norm(z) : z, y = z;
    for (size_t r = 0; r < d; ++r)
        for (size_t c = 0; c < d; ++c) y[r] += sign * m[r * d + c] * f[c];
    return y;
}

// (I + sign M)^k by k explicit matrix products.
Vec matrix_power(const Vec& m, double sign, int64_t k, size_t d) {
    Vec p(d * d, 0.0);
    for (size_t r = 0; r < d; ++r) p[r * d + r] = 1.0;
    for (int64_t e = 0; e < k; ++e) {
        Vec next(d * d, 0.0);
        for (size_t r = 0; r < d; ++r)
            for (size_t c = 0; c < d; ++c)
                for (size_t q = 0; q < d; ++q)
                    next[r * d + c] += ((r == q ? 1.0 : 0.0) + sign * m[r * d + q]) * p[q * d + c];
        p = next;
    }
    return p;
}

Vec mat_vec(const Vec& p, const Vec& z) {
    const size_t d = z.size();
    Vec y(d, 0.0);
    for (size_t r = 0; r < d; ++r)
        for (size_t c = 0; c < d; ++c) y[r] += p[r * d + c] * z[c];
    return y;
}

// The visible cell a grid cell propagates from, and how many column / row steps away it is.
struct Source {
    int64_t i, j, row_steps, col_steps;
};
Source source_of(int64_t i, int64_t j, int64_t h, int64_t w, Place p) {
    Source s;
    s.i = p.bottom ? std::max(i, h) : std::min(i, h - 1);
    s.j = p.right ? std::max(j, w) : std::min(j, w - 1);
    s.row_steps = std::abs(i - s.i);
    s.col_steps = std::abs(j - s.j);
    return s;
}

// Cell mode in closed form (norm off): Z[i, j] = (I + tB)^di (I + sA)^dj V[source].
Grid cell_closed_form(const Grid& v, const Vec& a, const Vec& b, HeatCorner corner) {
    const int64_t h = v.rows, w = v.cols, d = v.d;
    Place p = place_of(corner);
    Grid z(v.n, 2 * h, 2 * w, d);
    for (int64_t n = 0; n < v.n; ++n)
        for (int64_t i = 0; i < 2 * h; ++i)
            for (int64_t j = 0; j < 2 * w; ++j) {
                Source s = source_of(i, j, h, w, p);
                Vec pa = matrix_power(a, p.s, s.col_steps, d);
                Vec pb = matrix_power(b, p.t, s.row_steps, d);
                Vec src = v.get(n, s.i - (p.bottom ? h : 0), s.j - (p.right ? w : 0));
                z.set(n, i, j, mat_vec(pb, mat_vec(pa, src)));
            }
    return z;
}

// Cell mode step by step, in the words of QBHEAT.md: the horizontal pass in the visible rows,
// then the vertical pass over every column.
Grid cell_steps(const Grid& v, const Vec& a, const Vec& b, HeatCorner corner, bool norm) {
    const int64_t h = v.rows, w = v.cols;
    Place p = place_of(corner);
    const int64_t r0 = p.bottom ? h : 0, c0 = p.right ? w : 0;
    Grid z(v.n, 2 * h, 2 * w, v.d);
    for (int64_t n = 0; n < v.n; ++n) {
        for (int64_t i = 0; i < h; ++i)
            for (int64_t j = 0; j < w; ++j) z.set(n, r0 + i, c0 + j, v.get(n, i, j));
        for (int64_t i = r0; i < r0 + h; ++i)
            for (int64_t k = 1; k <= w; ++k) {
                int64_t j = p.right ? w - k : w - 1 + k, from = p.right ? j + 1 : j - 1;
                z.set(n, i, j, step(z.get(n, i, from), a, p.s, norm));
            }
        for (int64_t k = 1; k <= h; ++k) {
            int64_t i = p.bottom ? h - k : h - 1 + k, from = p.bottom ? i + 1 : i - 1;
            for (int64_t j = 0; j < 2 * w; ++j)
                z.set(n, i, j, step(z.get(n, from, j), b, p.t, norm));
        }
    }
    return z;
}

// Block mode position by position: each quarter is the block translated by w and/or h.
Grid block_reference(const Grid& v, const Vec& a, const Vec& b, HeatCorner corner, bool norm) {
    const int64_t h = v.rows, w = v.cols;
    Place p = place_of(corner);
    const int64_t r0 = p.bottom ? h : 0, c0 = p.right ? w : 0;
    const int64_t r1 = h - r0, c1 = w - c0;  // the other half's first row / column
    Grid z(v.n, 2 * h, 2 * w, v.d);
    for (int64_t n = 0; n < v.n; ++n)
        for (int64_t i = 0; i < h; ++i)
            for (int64_t j = 0; j < w; ++j) {
                Vec x = v.get(n, i, j), side = step(x, a, p.s, norm);
                z.set(n, r0 + i, c0 + j, x);
                z.set(n, r0 + i, c1 + j, side);
                z.set(n, r1 + i, c0 + j, step(x, b, p.t, norm));
                z.set(n, r1 + i, c1 + j, step(side, b, p.t, norm));
            }
    return z;
}

HeatOptions options(HeatMode mode, HeatCorner corner, bool norm) {
    HeatOptions o;
    o.mode = mode;
    o.corner = corner;
    o.norm = norm;
    return o;
}

std::string label(HeatMode mode, HeatCorner corner, bool norm) {
    return std::string(heat_mode_name(mode)) + " " + heat_corner_name(corner) +
           (norm ? " norm" : "");
}

// Small random maps (scale ~0.1) so that chains of steps stay well conditioned.
Tensor small_map(int64_t d, uint64_t seed) {
    return test::uniform({d, d}, seed, -0.2, 0.2);
}

}  // namespace

TEST_CASE("heat: zero maps copy the block outward", "[heat]") {
    const int64_t h = 2, w = 3, d = 3;
    Tensor v = test::randn({2, h, w, d}, 1);
    Tensor zero = Tensor::zeros({d, d}, DType::f64);
    Grid gv(v);
    for (HeatMode mode : kModes)
        for (HeatCorner corner : kCorners)
            for (bool norm : {false, true}) {
                INFO(label(mode, corner, norm));
                Grid z(heat_propagate(v, zero, zero, options(mode, corner, norm)));
                Place p = place_of(corner);
                bool exact = true;
                for (int64_t n = 0; n < 2; ++n)
                    for (int64_t i = 0; i < 2 * h; ++i)
                        for (int64_t j = 0; j < 2 * w; ++j) {
                            // cell: the nearest visible cell; block: the translated block.
                            Source s = source_of(i, j, h, w, p);
                            bool cell = mode == HeatMode::cell;
                            int64_t vi = (cell ? s.i : i) % h, vj = (cell ? s.j : j) % w;
                            if (z.get(n, i, j) != gv.get(n, vi, vj)) exact = false;
                        }
                CHECK(exact);
            }
    // One hand-checked value: tl cell copies V[h-1, w-1] into the far corner.
    Tensor z = heat_propagate(v, zero, zero);
    CHECK(z.at({1, 3, 5, 2}) == v.at({1, 1, 2, 2}));
    CHECK(z.at({0, 0, 4, 1}) == v.at({0, 0, 2, 1}));  // right of the block: its border column
}

TEST_CASE("heat: cell mode equals the closed form with matrix powers", "[heat]") {
    Tensor v = test::randn({2, 3, 4, 3}, 2);
    Tensor a = small_map(3, 3), b = small_map(3, 4);
    for (HeatCorner corner : kCorners) {
        INFO(heat_corner_name(corner));
        Tensor want = cell_closed_form(Grid(v), a.to_vector(), b.to_vector(), corner).tensor();
        QBH_CHECK_CLOSE(heat_propagate(v, a, b, options(HeatMode::cell, corner, false)), want,
                        1e-12, 1e-12);
    }
}

TEST_CASE("heat: cell mode follows the step rule, norm on and off", "[heat]") {
    Tensor v = test::randn({2, 3, 2, 4}, 5);
    Tensor a = small_map(4, 6), b = small_map(4, 7);
    for (HeatCorner corner : kCorners)
        for (bool norm : {false, true}) {
            INFO(label(HeatMode::cell, corner, norm));
            Tensor want = cell_steps(Grid(v), a.to_vector(), b.to_vector(), corner, norm).tensor();
            QBH_CHECK_CLOSE(heat_propagate(v, a, b, options(HeatMode::cell, corner, norm)), want,
                            1e-12, 1e-12);
        }
}

TEST_CASE("heat: block mode against a per-position reference", "[heat]") {
    Tensor v = test::randn({2, 2, 3, 3}, 8);
    Tensor a = small_map(3, 9), b = small_map(3, 10);
    for (HeatCorner corner : kCorners)
        for (bool norm : {false, true}) {
            INFO(label(HeatMode::block, corner, norm));
            Tensor want =
                block_reference(Grid(v), a.to_vector(), b.to_vector(), corner, norm).tensor();
            QBH_CHECK_CLOSE(heat_propagate(v, a, b, options(HeatMode::block, corner, norm)), want,
                            1e-12, 1e-12);
        }
}

TEST_CASE("heat: f32 forward matches f64, non-contiguous input too", "[heat]") {
    Tensor v = test::randn({3, 4, 5, 6}, 11);
    Tensor a = small_map(6, 12), b = small_map(6, 13);
    for (HeatMode mode : kModes)
        for (HeatCorner corner : kCorners)
            for (bool norm : {false, true}) {
                INFO(label(mode, corner, norm));
                HeatOptions o = options(mode, corner, norm);
                Tensor z64 = heat_propagate(v, a, b, o);
                Tensor z32 =
                    heat_propagate(v.to(DType::f32), a.to(DType::f32), b.to(DType::f32), o);
                CHECK(z32.dtype() == DType::f32);
                QBH_CHECK_CLOSE(z32, z64, 1e-4, 1e-4);
                QBH_CHECK_CLOSE(heat_propagate(test::noncontiguous(v), a, b, o), z64, 0, 0);
            }
}

TEST_CASE("heat: gradients by finite differences, every mode x corner x norm",
          "[heat][gradcheck]") {
    Tensor v = test::randn({2, 2, 3, 3}, 14).set_requires_grad();
    Tensor vnc = test::noncontiguous(test::randn({2, 3, 2, 3}, 15)).set_requires_grad();
    Tensor a = small_map(3, 16).set_requires_grad();
    Tensor b = small_map(3, 17).set_requires_grad();
    for (HeatMode mode : kModes)
        for (HeatCorner corner : kCorners)
            for (bool norm : {false, true}) {
                INFO(label(mode, corner, norm));
                HeatOptions o = options(mode, corner, norm);
                auto f = [o](const std::vector<Tensor>& in) {
                    return heat_propagate(in[0], in[1], in[2], o);
                };
                QBH_GRADCHECK(f, {v, a, b});
                QBH_GRADCHECK(f, {vnc, a, b});
            }
}

TEST_CASE("heat: a large batch (threaded kernels) equals image-by-image runs", "[heat]") {
    // n * h * w * d = 32768 reaches the kernels' threading thresholds, and the products are
    // big enough for Eigen's GEMM (small ones take a coefficient-based path).
    const int64_t n = 16, h = 4, w = 4, d = 128;
    Tensor v = test::randn({n, h, w, d}, 22);
    Tensor a = small_map(d, 23), b = small_map(d, 24);
    Tensor weight = test::randn({n, 2 * h, 2 * w, d}, 25);
    const HeatOptions cases[] = {options(HeatMode::cell, HeatCorner::tl, false),
                                 options(HeatMode::cell, HeatCorner::br, true),
                                 options(HeatMode::block, HeatCorner::tr, true)};
    for (const HeatOptions& o : cases) {
        INFO(label(o.mode, o.corner, o.norm));
        Tensor vb = v.detach().set_requires_grad(), ab = a.detach().set_requires_grad(),
               bb = b.detach().set_requires_grad();
        Tensor z = heat_propagate(vb, ab, bb, o);
        sum(z * weight).backward();
        Tensor da = Tensor::zeros({d, d}, DType::f64), db = da.clone();
        for (int64_t i = 0; i < n; ++i) {
            Tensor vi = v.slice(0, i, i + 1).detach().set_requires_grad();
            Tensor ai = a.detach().set_requires_grad(), bi = b.detach().set_requires_grad();
            Tensor zi = heat_propagate(vi, ai, bi, o);
            QBH_CHECK_CLOSE(zi, z.slice(0, i, i + 1), 1e-10, 1e-10);
            sum(zi * weight.slice(0, i, i + 1)).backward();
            QBH_CHECK_CLOSE(vi.grad(), vb.grad().slice(0, i, i + 1), 1e-10, 1e-10);
            da = da + ai.grad();
            db = db + bi.grad();
        }
        QBH_CHECK_CLOSE(ab.grad(), da, 1e-10, 1e-10);
        QBH_CHECK_CLOSE(bb.grad(), db, 1e-10, 1e-10);
    }
}

TEST_CASE("heat: one node, and only the wanted gradients", "[heat]") {
    Tensor v = test::randn({2, 2, 3, 3}, 18).set_requires_grad();
    Tensor a = small_map(3, 19).set_requires_grad();
    Tensor b = small_map(3, 20).set_requires_grad();
    Tensor z = heat_propagate(v, a, b);
    CHECK(graph_to_string(z) ==
          "heat_propagate #0 [2, 4, 6, 3]\n  leaf [2, 2, 3, 3]\n  leaf [3, 3]\n  leaf [3, 3]\n");
    {
        NoGradGuard no_grad;
        CHECK(heat_propagate(v, a, b).grad_fn() == nullptr);
    }
    // Gradients for a subset of the inputs equal those of the full backward.
    Tensor w = test::randn({2, 4, 6, 3}, 21);
    sum(z * w).backward();
    Tensor gv = v.grad(), ga = a.grad(), gb = b.grad();
    for (int wanted = 0; wanted < 3; ++wanted) {
        Tensor in[3] = {v.detach(), a.detach(), b.detach()};
        in[wanted].set_requires_grad();
        sum(heat_propagate(in[0], in[1], in[2]) * w).backward();
        Tensor full = wanted == 0 ? gv : wanted == 1 ? ga : gb;
        QBH_CHECK_CLOSE(in[wanted].grad(), full, 1e-12, 1e-12);
    }
    // With A = B = 0 the gradient of V sums g over the cells each visible cell was copied to.
    Tensor zero = Tensor::zeros({3, 3}, DType::f64);
    Tensor v2 = v.detach().clone().set_requires_grad();
    sum(heat_propagate(v2, zero, zero)).backward();
    CHECK(v2.grad().at({0, 1, 2, 0}) == 12.0);  // the corner: itself, 3 right, 2 x 4 below
    CHECK(v2.grad().at({0, 0, 0, 0}) == 1.0);   // an interior cell only itself
    CHECK(v2.grad().at({0, 1, 0, 0}) == 3.0);   // bottom border: itself and two below
}

TEST_CASE("heat: mode and corner strings", "[heat]") {
    CHECK(heat_mode_from_string("cell") == HeatMode::cell);
    CHECK(heat_mode_from_string("block") == HeatMode::block);
    for (HeatCorner c : kCorners) CHECK(heat_corner_from_string(heat_corner_name(c)) == c);
    CHECK(std::string(heat_mode_name(HeatMode::block)) == "block");
    CHECK_THROWS_WITH(heat_mode_from_string("mask"),
                      Catch::Contains("unknown heat mode 'mask'") && Catch::Contains("block"));
    CHECK_THROWS_WITH(heat_corner_from_string("random"),
                      Catch::Contains("unknown heat corner 'random'") && Catch::Contains("br"));
    CHECK_THROWS_WITH(heat_corner_from_string("TL"), Catch::Contains("unknown heat corner"));
}

TEST_CASE("heat: errors", "[heat][errors]") {
    Tensor v = Tensor::zeros({2, 2, 3, 4});
    Tensor m = Tensor::zeros({4, 4});
    CHECK_NOTHROW(heat_propagate(v, m, m));
    CHECK_THROWS_WITH(heat_propagate(Tensor::zeros({2, 3, 4}), m, m),
                      Catch::Contains("heat_propagate") && Catch::Contains("v (the visible") &&
                          Catch::Contains("4 dimensions") && Catch::Contains("[2, 3, 4]"));
    CHECK_THROWS_WITH(heat_propagate(v, Tensor::zeros({4}), m),
                      Catch::Contains("a (the horizontal map") && Catch::Contains("2 dimensions"));
    CHECK_THROWS_WITH(heat_propagate(v, m, Tensor::zeros({1, 4, 4})),
                      Catch::Contains("b (the vertical map") && Catch::Contains("2 dimensions"));
    CHECK_THROWS_WITH(heat_propagate(v, Tensor::zeros({3, 3}), m),
                      Catch::Contains("a must be [d, d] = [4, 4]") && Catch::Contains("[3, 3]"));
    CHECK_THROWS_WITH(heat_propagate(v, m, Tensor::zeros({4, 3})),
                      Catch::Contains("b must be [d, d]") && Catch::Contains("[4, 3]"));
    CHECK_THROWS_WITH(heat_propagate(v, m.to(DType::f64), m), Catch::Contains("dtype mismatch"));
    CHECK_THROWS_WITH(heat_propagate(v.to(DType::i64), m.to(DType::i64), m.to(DType::i64)),
                      Catch::Contains("f32 or f64"));
    CHECK_THROWS_WITH(heat_propagate(Tensor::zeros({2, 0, 3, 4}), m, m),
                      Catch::Contains("h, w, d > 0"));
    CHECK_THROWS_WITH(heat_propagate(Tensor(), m, m), Catch::Contains("must all be defined"));
}
