// CPU kernels of the heat-propagation op (see heat_cpu.h). Mode cell runs two marching passes
// (horizontal in the visible rows, then vertical over all columns); each pass gathers its cells
// step-major so that every Euler step is one Eigen GEMM over all chains of the batch.
#include "engine/ops/heat_cpu.h"

// GCC 12 reports false "may be used uninitialized" warnings inside Eigen's AVX-512 kernels.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <vector>

namespace qbh::cpu {

namespace {

template <class T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using MapM = Eigen::Map<Mat<T>>;
template <class T>
using MapC = Eigen::Map<const Mat<T>>;

constexpr double kEps = 1e-6;              // layer norm epsilon (QBHEAT.md section 2)
constexpr int64_t kParallelMin = 1 << 15;  // elements below which threads cost more than they save

// Mean and 1 / sqrt(var + eps) of one row, biased variance, accumulated in double.
template <class T>
void row_stats(const T* x, int64_t d, double& mean, double& rstd) {
    double s = 0.0;
    for (int64_t c = 0; c < d; ++c) s += x[c];
    mean = s / static_cast<double>(d);
    double v = 0.0;
    for (int64_t c = 0; c < d; ++c) v += (x[c] - mean) * (x[c] - mean);
    rstd = 1.0 / std::sqrt(v / static_cast<double>(d) + kEps);
}

// out = LN(x) row by row (no affine); out may alias x.
template <class T>
void layernorm_rows(T* out, const T* x, int64_t rows, int64_t d) {
#pragma omp parallel for if (rows * d >= kParallelMin)
    for (int64_t r = 0; r < rows; ++r) {
        double mean, rstd;
        row_stats(x + r * d, d, mean, rstd);
        for (int64_t c = 0; c < d; ++c)
            out[r * d + c] = static_cast<T>((x[r * d + c] - mean) * rstd);
    }
}

// gx += (dLN(x)/dx)^T gln row by row: rstd * (g - mean(g) - xhat * mean(g * xhat)).
template <class T>
void layernorm_backward_add(T* gx, const T* gln, const T* x, int64_t rows, int64_t d) {
#pragma omp parallel for if (rows * d >= kParallelMin)
    for (int64_t r = 0; r < rows; ++r) {
        const T* xr = x + r * d;
        const T* gr = gln + r * d;
        double mean, rstd;
        row_stats(xr, d, mean, rstd);
        double mg = 0.0, mgx = 0.0;
        for (int64_t c = 0; c < d; ++c) {
            mg += gr[c];
            mgx += gr[c] * (xr[c] - mean) * rstd;
        }
        mg /= static_cast<double>(d);
        mgx /= static_cast<double>(d);
        for (int64_t c = 0; c < d; ++c)
            gx[r * d + c] += static_cast<T>(rstd * (gr[c] - mg - (xr[c] - mean) * rstd * mgx));
    }
}

// dm += sign * gy^T F(x): the weight gradient of `rows` steps at once (fx = F(x), [rows, d]).
template <class T>
void weight_grad_add(T* dm, const T* gy, const T* fx, int sign, int64_t rows, int64_t d) {
    MapM<T>(dm, d, d).noalias() +=
        static_cast<T>(sign) * MapC<T>(gy, rows, d).transpose() * MapC<T>(fx, rows, d);
}

// One marching pass of mode cell, seen as lines() independent chains of steps() Euler steps.
// Step 0 is the source cell on the block's border, step k lies k cells further out. Buffers
// hold a pass step-major, [steps + 1, lines, d], so a step is one GEMM over all its lines.
struct Pass {
    const HeatGeometry& g;
    bool vertical;

    int64_t lines() const { return vertical ? g.n * 2 * g.w : g.n * g.h; }
    int64_t steps() const { return vertical ? g.h : g.w; }
    int sign() const { return vertical ? g.row_sign : g.col_sign; }

    // Offset in Z of line l at step k.
    int64_t offset(int64_t l, int64_t k) const {
        const int64_t H = 2 * g.h, W = 2 * g.w;
        if (vertical) {  // lines are the 2w columns of each image
            const int64_t n = l / W, j = l % W;
            const int64_t i = g.row_sign > 0 ? g.h - 1 + k : g.h - k;
            return ((n * H + i) * W + j) * g.d;
        }
        // lines are the h visible rows of each image
        const int64_t n = l / g.h, i = l % g.h + (g.row_sign > 0 ? 0 : g.h);
        const int64_t j = g.col_sign > 0 ? g.w - 1 + k : g.w - k;
        return ((n * H + i) * W + j) * g.d;
    }
};

// buf[k - k0] = the pass's cells of z at steps k0 <= k < k1.
template <class T>
void gather(T* buf, const T* z, const Pass& p, int64_t k0, int64_t k1) {
    const int64_t lines = p.lines(), d = p.g.d, count = (k1 - k0) * lines;
#pragma omp parallel for if (count * d >= kParallelMin)
    for (int64_t e = 0; e < count; ++e)
        std::copy_n(z + p.offset(e % lines, k0 + e / lines), d, buf + e * d);
}

// The pass's cells of z at steps k0 <= k < k1 = buf[k - k0].
template <class T>
void scatter(T* z, const T* buf, const Pass& p, int64_t k0, int64_t k1) {
    const int64_t lines = p.lines(), d = p.g.d, count = (k1 - k0) * lines;
#pragma omp parallel for if (count * d >= kParallelMin)
    for (int64_t e = 0; e < count; ++e)
        std::copy_n(buf + e * d, d, z + p.offset(e % lines, k0 + e / lines));
}

// Where the visible block starts (its first row and column in Z).
int64_t visible_row0(const HeatGeometry& g) {
    return g.row_sign > 0 ? 0 : g.h;
}
int64_t visible_col0(const HeatGeometry& g) {
    return g.col_sign > 0 ? 0 : g.w;
}

// Copies a [n, h, w, d] block into z at rows r0.., columns c0.. (put) or out of it (take).
template <class T>
void put_block(T* z, const T* block, const HeatGeometry& g, int64_t r0, int64_t c0) {
    const int64_t run = g.w * g.d, count = g.n * g.h;
#pragma omp parallel for if (count * run >= kParallelMin)
    for (int64_t e = 0; e < count; ++e) {
        const int64_t n = e / g.h, i = e % g.h;
        std::copy_n(block + e * run, run, z + ((n * 2 * g.h + r0 + i) * 2 * g.w + c0) * g.d);
    }
}
template <class T>
void take_block(T* block, const T* z, const HeatGeometry& g, int64_t r0, int64_t c0) {
    const int64_t run = g.w * g.d, count = g.n * g.h;
#pragma omp parallel for if (count * run >= kParallelMin)
    for (int64_t e = 0; e < count; ++e) {
        const int64_t n = e / g.h, i = e % g.h;
        std::copy_n(z + ((n * 2 * g.h + r0 + i) * 2 * g.w + c0) * g.d, run, block + e * run);
    }
}

// Runs a pass forward in place: z's cells at steps 1..K from its cells at step 0.
template <class T>
void pass_forward(T* z, const T* m, const Pass& p, bool norm) {
    const int64_t lines = p.lines(), steps = p.steps(), d = p.g.d, layer = lines * d;
    std::vector<T> buf((steps + 1) * layer), scratch(norm ? layer : 0);
    gather(buf.data(), z, p, 0, 1);
    for (int64_t k = 0; k < steps; ++k)
        heat_step_forward(buf.data() + (k + 1) * layer, buf.data() + k * layer, m,
                          static_cast<T>(p.sign()), lines, d, norm, scratch.data());
    scatter(z, buf.data() + layer, p, 1, steps + 1);
}

// Runs a pass backward: the gradient of its cells at steps 1..K (in gz) flows back to step 0,
// where it is added in gz; dm (when given) accumulates the pass's weight gradient. z holds the
// forward's values, so the steps' inputs are read back from it rather than stored.
template <class T>
void pass_backward(T* gz, T* dm, const T* z, const T* m, const Pass& p, bool norm) {
    const int64_t lines = p.lines(), steps = p.steps(), d = p.g.d, layer = lines * d;
    std::vector<T> grad((steps + 1) * layer), act(steps * layer), scratch(norm ? layer : 0);
    gather(grad.data(), gz, p, 0, steps + 1);
    gather(act.data(), z, p, 0, steps);
    const T sign = static_cast<T>(p.sign());
    for (int64_t k = steps; k >= 1; --k)  // grad[k] is complete once step k + 1 has run
        heat_step_backward(grad.data() + (k - 1) * layer, grad.data() + k * layer,
                           act.data() + (k - 1) * layer, m, sign, lines, d, norm, scratch.data());
    if (dm) {
        if (norm) layernorm_rows(act.data(), act.data(), steps * lines, d);
        weight_grad_add(dm, grad.data() + layer, act.data(), p.sign(), steps * lines, d);
    }
    scatter(gz, grad.data(), p, 0, 1);
}

template <class T>
void cell_forward(T* z, const T* v, const T* a, const T* b, const HeatGeometry& g) {
    put_block(z, v, g, visible_row0(g), visible_col0(g));
    pass_forward(z, a, Pass{g, false}, g.norm);  // fills the visible rows
    pass_forward(z, b, Pass{g, true}, g.norm);   // fills the other rows, all columns
}

template <class T>
void cell_backward(T* dv, T* da, T* db, const T* gz, const T* z, const T* a, const T* b,
                   const HeatGeometry& g) {
    std::vector<T> grad(gz, gz + g.n * 4 * g.h * g.w * g.d);
    pass_backward(grad.data(), db, z, b, Pass{g, true}, g.norm);
    if (dv || da) pass_backward(grad.data(), da, z, a, Pass{g, false}, g.norm);
    if (dv) take_block(dv, grad.data(), g, visible_row0(g), visible_col0(g));
}

// Mode block: R = step_A(V) beside the block, Q = step_B(V) above or below, F = step_B(R) in
// the far quarter, each the block translated by w and/or h.
template <class T>
void block_forward(T* z, const T* v, const T* a, const T* b, const HeatGeometry& g) {
    const int64_t rows = g.n * g.h * g.w, size = rows * g.d;
    std::vector<T> r(size), q(size), f(size), scratch(g.norm ? size : 0);
    const T cs = static_cast<T>(g.col_sign), rs = static_cast<T>(g.row_sign);
    heat_step_forward(r.data(), v, a, cs, rows, g.d, g.norm, scratch.data());
    heat_step_forward(q.data(), v, b, rs, rows, g.d, g.norm, scratch.data());
    heat_step_forward(f.data(), r.data(), b, rs, rows, g.d, g.norm, scratch.data());
    const int64_t r0 = visible_row0(g), c0 = visible_col0(g), r1 = g.h - r0, c1 = g.w - c0;
    put_block(z, v, g, r0, c0);
    put_block(z, r.data(), g, r0, c1);
    put_block(z, q.data(), g, r1, c0);
    put_block(z, f.data(), g, r1, c1);
}

template <class T>
void block_backward(T* dv, T* da, T* db, const T* gz, const T* z, const T* a, const T* b,
                    const HeatGeometry& g) {
    const int64_t rows = g.n * g.h * g.w, size = rows * g.d;
    const int64_t r0 = visible_row0(g), c0 = visible_col0(g), r1 = g.h - r0, c1 = g.w - c0;
    std::vector<T> gv(size), gr(size), gq(size), gf(size), v(size), r(size);
    std::vector<T> scratch(g.norm ? size : 0);
    take_block(gv.data(), gz, g, r0, c0);
    take_block(gr.data(), gz, g, r0, c1);
    take_block(gq.data(), gz, g, r1, c0);
    take_block(gf.data(), gz, g, r1, c1);
    take_block(v.data(), z, g, r0, c0);
    take_block(r.data(), z, g, r0, c1);
    const T cs = static_cast<T>(g.col_sign), rs = static_cast<T>(g.row_sign);
    // Reverse order of the forward: F = step_B(R) first, then Q and R, both from V.
    heat_step_backward(gr.data(), gf.data(), r.data(), b, rs, rows, g.d, g.norm, scratch.data());
    if (db) {
        if (g.norm) layernorm_rows(r.data(), r.data(), rows, g.d);
        weight_grad_add(db, gf.data(), r.data(), g.row_sign, rows, g.d);
    }
    if (dv) {
        heat_step_backward(gv.data(), gq.data(), v.data(), b, rs, rows, g.d, g.norm,
                           scratch.data());
        heat_step_backward(gv.data(), gr.data(), v.data(), a, cs, rows, g.d, g.norm,
                           scratch.data());
        std::copy(gv.begin(), gv.end(), dv);
    }
    if (g.norm && (da || db)) layernorm_rows(v.data(), v.data(), rows, g.d);
    if (db) weight_grad_add(db, gq.data(), v.data(), g.row_sign, rows, g.d);
    if (da) weight_grad_add(da, gr.data(), v.data(), g.col_sign, rows, g.d);
}

}  // namespace

template <class T>
void heat_step_forward(T* y, const T* x, const T* m, T sign, int64_t rows, int64_t d, bool norm,
                       T* scratch) {
    MapM<T> out(y, rows, d);
    MapC<T> in(x, rows, d);
    out = in;
    if (norm) layernorm_rows(scratch, x, rows, d);
    MapC<T> f(norm ? scratch : x, rows, d);
    out.noalias() += sign * f * MapC<T>(m, d, d).transpose();
}

template <class T>
void heat_step_backward(T* gx, const T* gy, const T* x, const T* m, T sign, int64_t rows, int64_t d,
                        bool norm, T* scratch) {
    MapM<T> out(gx, rows, d);
    MapC<T> g(gy, rows, d);
    out += g;  // the identity path
    if (!norm) {
        out.noalias() += sign * g * MapC<T>(m, d, d);
        return;
    }
    MapM<T>(scratch, rows, d).noalias() = sign * g * MapC<T>(m, d, d);  // dL/dLN(x)
    layernorm_backward_add(gx, scratch, x, rows, d);
}

template <class T>
void heat_forward(T* z, const T* v, const T* a, const T* b, const HeatGeometry& g) {
    if (g.block)
        block_forward(z, v, a, b, g);
    else
        cell_forward(z, v, a, b, g);
}

template <class T>
void heat_backward(T* dv, T* da, T* db, const T* gz, const T* z, const T* a, const T* b,
                   const HeatGeometry& g) {
    if (da) std::fill_n(da, g.d * g.d, T(0));
    if (db) std::fill_n(db, g.d * g.d, T(0));
    if (g.block)
        block_backward(dv, da, db, gz, z, a, b, g);
    else
        cell_backward(dv, da, db, gz, z, a, b, g);
}

#define QBH_HEAT_INSTANTIATE(T)                                                                \
    template void heat_forward<T>(T*, const T*, const T*, const T*, const HeatGeometry&);      \
    template void heat_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*,         \
                                   const HeatGeometry&);                                       \
    template void heat_step_forward<T>(T*, const T*, const T*, T, int64_t, int64_t, bool, T*); \
    template void heat_step_backward<T>(T*, const T*, const T*, const T*, T, int64_t, int64_t, \
                                        bool, T*);
QBH_HEAT_INSTANTIATE(float)
QBH_HEAT_INSTANTIATE(double)
#undef QBH_HEAT_INSTANTIATE

}  // namespace qbh::cpu
