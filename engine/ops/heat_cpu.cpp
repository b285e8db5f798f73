// CPU kernels of the heat-propagation op (see heat_cpu.h). Mode cell runs two marching passes
// (horizontal in the visible rows, then vertical over all columns); each pass gathers its cells
// step-major so that every Euler step is one Eigen GEMM over all chains of the batch.
#include "engine/ops/heat_cpu.h"

#include "engine/ops/eigen_cpu.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <memory>

namespace qbh::cpu {

namespace {

constexpr double kEps = 1e-6;              // layer norm epsilon (QBHEAT.md section 2)
constexpr int64_t kParallelMin = 1 << 15;  // elements below which threads cost more than they save
constexpr int64_t kGemmMin = 1 << 20;      // multiply-adds below which a product avoids GEMM

// Work buffers are left uninitialised: every element is written before it is read.
template <class T>
std::unique_ptr<T[]> buffer(int64_t n) {
    return std::unique_ptr<T[]>(new T[n]);
}

template <class T>
using Row = Eigen::Map<const Eigen::Array<T, 1, Eigen::Dynamic>>;

// xhat = LN(x) row by row (no affine, biased variance) and, when rstd is given,
// rstd[r] = 1 / sqrt(var + eps). xhat may alias x. Eigen's reductions are vectorised (a plain
// loop's sum is not, without -ffast-math).
template <class T>
void layernorm_rows(T* xhat, T* rstd, const T* x, int64_t rows, int64_t d) {
#pragma omp parallel for if (rows * d >= kParallelMin)
    for (int64_t r = 0; r < rows; ++r) {
        Row<T> xr(x + r * d, d);
        const T mean = xr.sum() / static_cast<T>(d);
        const T var = (xr - mean).square().sum() / static_cast<T>(d);
        const T inv = T(1) / std::sqrt(var + static_cast<T>(kEps));
        Eigen::Map<Eigen::Array<T, 1, Eigen::Dynamic>>(xhat + r * d, d) = (xr - mean) * inv;
        if (rstd) rstd[r] = inv;
    }
}

// gx += gy + (dLN/dx)^T gl row by row, where the layer norm's part is
// rstd * (gl - mean(gl) - xhat * mean(gl * xhat)): the backward of a norm step.
template <class T>
void norm_step_backward_add(T* gx, const T* gy, const T* gl, const T* xhat, const T* rstd,
                            int64_t rows, int64_t d) {
#pragma omp parallel for if (rows * d >= kParallelMin)
    for (int64_t r = 0; r < rows; ++r) {
        Row<T> g(gl + r * d, d), xh(xhat + r * d, d), gyr(gy + r * d, d);
        const T m1 = g.sum() / static_cast<T>(d), m2 = (g * xh).sum() / static_cast<T>(d);
        Eigen::Map<Eigen::Array<T, 1, Eigen::Dynamic>>(gx + r * d, d) +=
            gyr + rstd[r] * (g - m1 - xh * m2);
    }
}

// dst = alpha lhs rhs, or dst += alpha lhs rhs when accumulate. Eigen's GEMM starts OpenMP
// threads from about 1e5 multiply-adds on, which costs more than it saves on the small products
// of small batches (far more on a busy machine), so those use Eigen's coefficient-based product.
template <class Dst, class Lhs, class Rhs, class T>
void product(Dst&& dst, const Lhs& lhs, const Rhs& rhs, T alpha, bool accumulate) {
    if (lhs.rows() * lhs.cols() * rhs.cols() < kGemmMin) {
        if (accumulate)
            dst.noalias() += alpha * lhs.lazyProduct(rhs);
        else
            dst.noalias() = alpha * lhs.lazyProduct(rhs);
    } else {
        // One slab of output rows per thread, each a single-threaded Eigen GEMM: Eigen's own
        // split of these tall-thin products over two threads is slower (docs/benchmarks.md).
        const int64_t rows = dst.rows();
#pragma omp parallel
        {
            const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
            const int64_t r0 = rows * t / nt, r1 = rows * (t + 1) / nt;
            if (r1 > r0) {
                auto d = dst.middleRows(r0, r1 - r0);
                if (accumulate)
                    d.noalias() += alpha * lhs.middleRows(r0, r1 - r0) * rhs;
                else
                    d.noalias() = alpha * lhs.middleRows(r0, r1 - r0) * rhs;
            }
        }
    }
}

// One Euler step over `rows` features: y = x + s F(x) M^T with F = identity or layer norm.
template <class T>
struct Step {
    const T* m;
    T sign;
    int64_t d;
    bool norm;
    RowMatrix<T> mp;  // I + s M: a linear step is then one GEMM, y = x mp^T

    Step(const T* m_, int sign_, int64_t d_, bool norm_)
        : m(m_), sign(static_cast<T>(sign_)), d(d_), norm(norm_) {
        mp = sign * ConstRowMap<T>(m, d, d);
        mp.diagonal().array() += T(1);
    }

    // y = step(x) (y != x); scratch holds rows * d values when norm.
    void forward(T* y, const T* x, int64_t rows, T* scratch) const {
        RowMap<T> out(y, rows, d);
        if (!norm) {
            product(out, ConstRowMap<T>(x, rows, d), mp.transpose(), T(1), false);
            return;
        }
        layernorm_rows<T>(scratch, nullptr, x, rows, d);
        out = ConstRowMap<T>(x, rows, d);
        product(out, ConstRowMap<T>(scratch, rows, d), ConstRowMap<T>(m, d, d).transpose(), sign,
                true);
    }

    // gx += (dy/dx)^T gy. For norm, xhat and rstd are LN(x) and its 1/std (layernorm_rows) and
    // scratch holds rows * d values; the linear step needs none of them.
    void backward(T* gx, const T* gy, const T* xhat, const T* rstd, int64_t rows,
                  T* scratch) const {
        ConstRowMap<T> g(gy, rows, d);
        if (!norm) {
            product(RowMap<T>(gx, rows, d), g, mp, T(1), true);
            return;
        }
        product(RowMap<T>(scratch, rows, d), g, ConstRowMap<T>(m, d, d), sign, false);  // dL/dLN(x)
        norm_step_backward_add(gx, gy, scratch, xhat, rstd, rows, d);
    }

    // dm += s gy^T F(x) over `rows` steps at once; fx is x (linear) or LN(x) (norm).
    void weight_grad(T* dm, const T* gy, const T* fx, int64_t rows) const {
        product(RowMap<T>(dm, d, d), ConstRowMap<T>(gy, rows, d).transpose(),
                ConstRowMap<T>(fx, rows, d), sign, true);
    }
};

// One marching pass of mode cell, seen as lines() independent chains of steps() Euler steps.
// Step 0 is the source cell on the block's border, step k lies k cells further out. Buffers
// hold a pass step-major, [steps + 1, lines, d], so a step is one GEMM over all its lines.
struct Pass {
    const HeatGeometry& g;
    bool vertical;

    int64_t lines() const { return vertical ? g.n * 2 * g.w : g.n * g.h; }
    int64_t steps() const { return vertical ? g.h : g.w; }
    int sign() const { return vertical ? g.row_sign : g.col_sign; }
    // The grid row (vertical pass) or column (horizontal pass) of step k.
    int64_t at_step(int64_t k) const {
        if (vertical) return g.row_sign > 0 ? g.h - 1 + k : g.h - k;
        return g.col_sign > 0 ? g.w - 1 + k : g.w - k;
    }
    // Offset in Z of line l at step k. Vertical lines are the 2w columns of each image,
    // horizontal ones the h visible rows of each image.
    int64_t offset(int64_t l, int64_t k) const {
        const int64_t W = 2 * g.w;
        int64_t n, i, j;
        if (vertical) {
            n = l / W, i = at_step(k), j = l % W;
        } else {
            n = l / g.h, i = l % g.h + (g.row_sign > 0 ? 0 : g.h), j = at_step(k);
        }
        return ((n * 2 * g.h + i) * W + j) * g.d;
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
void pass_forward(T* z, const Step<T>& step, const Pass& p) {
    const int64_t lines = p.lines(), steps = p.steps(), layer = lines * p.g.d;
    auto buf = buffer<T>((steps + 1) * layer);
    auto scratch = buffer<T>(step.norm ? layer : 0);
    gather(buf.get(), z, p, 0, 1);
    for (int64_t k = 0; k < steps; ++k)
        step.forward(buf.get() + (k + 1) * layer, buf.get() + k * layer, lines, scratch.get());
    scatter(z, buf.get() + layer, p, 1, steps + 1);
}

// Runs a pass backward. grad holds dL/d(cell) for steps 0..K, step-major, as far as it is known
// (direct terms); on return its layer 0 is the total gradient of the source cells. dm (when
// given) accumulates the weight gradient. The steps' inputs are read back from the saved z.
template <class T>
void pass_backward(T* grad, T* dm, const T* z, const Step<T>& step, const Pass& p) {
    const int64_t lines = p.lines(), steps = p.steps(), layer = lines * p.g.d;
    auto act = buffer<T>(steps * layer);
    auto rstd = buffer<T>(step.norm ? steps * lines : 0);
    auto scratch = buffer<T>(step.norm ? layer : 0);
    gather(act.get(), z, p, 0, steps);
    if (step.norm) layernorm_rows(act.get(), rstd.get(), act.get(), steps * lines, p.g.d);
    for (int64_t k = steps; k >= 1; --k)  // grad[k] is complete once step k + 1 has run
        step.backward(grad + (k - 1) * layer, grad + k * layer, act.get() + (k - 1) * layer,
                      rstd.get() + (step.norm ? (k - 1) * lines : 0), lines, scratch.get());
    if (dm) step.weight_grad(dm, grad + layer, act.get(), steps * lines);
}

template <class T>
void cell_forward(T* z, const T* v, const T* a, const T* b, const HeatGeometry& g) {
    put_block(z, v, g, visible_row0(g), visible_col0(g));
    pass_forward(z, Step<T>(a, g.col_sign, g.d, g.norm), Pass{g, false});  // the visible rows
    pass_forward(z, Step<T>(b, g.row_sign, g.d, g.norm), Pass{g, true});   // the other rows
}

// Mode cell backward, in reverse pass order. Instead of copying dL/dZ to accumulate into it,
// the few cells that are sources of a later pass take their total gradient from that pass:
// the vertical pass's source row (inside the visible rows) and the horizontal pass's source
// column (the block's border).
template <class T>
void cell_backward(T* dv, T* da, T* db, const T* gz, const T* z, const T* a, const T* b,
                   const HeatGeometry& g) {
    const Pass vp{g, true}, hp{g, false};
    const int64_t d = g.d, lv = vp.lines(), lh = hp.lines();
    auto gv = buffer<T>((g.h + 1) * lv * d);
    gather(gv.get(), gz, vp, 0, g.h + 1);
    pass_backward(gv.get(), db, z, Step<T>(b, g.row_sign, d, g.norm), vp);
    if (!dv && !da) return;

    const int64_t r0 = visible_row0(g), c0 = visible_col0(g);
    const int64_t si = vp.at_step(0) - r0;  // the vertical source row, inside the block
    const int64_t sj = hp.at_step(0) - c0;  // the horizontal source column, inside the block
    auto gh = buffer<T>((g.w + 1) * lh * d);
    gather(gh.get(), gz, hp, 0, g.w + 1);
    for (int64_t n = 0; n < g.n; ++n)
        for (int64_t k = 0; k <= g.w; ++k)
            std::copy_n(gv.get() + (n * 2 * g.w + hp.at_step(k)) * d, d,
                        gh.get() + (k * lh + n * g.h + si) * d);
    pass_backward(gh.get(), da, z, Step<T>(a, g.col_sign, d, g.norm), hp);
    if (!dv) return;

    take_block(dv, gz, g, r0, c0);
    for (int64_t n = 0; n < g.n; ++n) {
        for (int64_t j = 0; j < g.w; ++j)
            std::copy_n(gv.get() + (n * 2 * g.w + c0 + j) * d, d,
                        dv + ((n * g.h + si) * g.w + j) * d);
        for (int64_t i = 0; i < g.h; ++i)
            std::copy_n(gh.get() + (n * g.h + i) * d, d, dv + ((n * g.h + i) * g.w + sj) * d);
    }
}

// Mode block: R = step_A(V) beside the block, Q = step_B(V) above or below, F = step_B(R) in
// the far quarter, each the block translated by w and/or h.
template <class T>
void block_forward(T* z, const T* v, const T* a, const T* b, const HeatGeometry& g) {
    const int64_t rows = g.n * g.h * g.w, size = rows * g.d;
    auto r = buffer<T>(size), q = buffer<T>(size), f = buffer<T>(size);
    auto scratch = buffer<T>(g.norm ? size : 0);
    const Step<T> sa(a, g.col_sign, g.d, g.norm), sb(b, g.row_sign, g.d, g.norm);
    sa.forward(r.get(), v, rows, scratch.get());
    sb.forward(q.get(), v, rows, scratch.get());
    sb.forward(f.get(), r.get(), rows, scratch.get());
    const int64_t r0 = visible_row0(g), c0 = visible_col0(g), r1 = g.h - r0, c1 = g.w - c0;
    put_block(z, v, g, r0, c0);
    put_block(z, r.get(), g, r0, c1);
    put_block(z, q.get(), g, r1, c0);
    put_block(z, f.get(), g, r1, c1);
}

template <class T>
void block_backward(T* dv, T* da, T* db, const T* gz, const T* z, const T* a, const T* b,
                    const HeatGeometry& g) {
    const int64_t rows = g.n * g.h * g.w, size = rows * g.d;
    const int64_t r0 = visible_row0(g), c0 = visible_col0(g), r1 = g.h - r0, c1 = g.w - c0;
    auto gr = buffer<T>(size), gq = buffer<T>(size), gf = buffer<T>(size);
    auto v = buffer<T>(size), r = buffer<T>(size), scratch = buffer<T>(g.norm ? size : 0);
    auto rstd_v = buffer<T>(g.norm ? rows : 0), rstd_r = buffer<T>(g.norm ? rows : 0);
    take_block(gr.get(), gz, g, r0, c1);
    take_block(gq.get(), gz, g, r1, c0);
    take_block(gf.get(), gz, g, r1, c1);
    take_block(v.get(), z, g, r0, c0);
    take_block(r.get(), z, g, r0, c1);
    if (g.norm) {  // from here on v and r hold LN(V) and LN(R)
        layernorm_rows(v.get(), rstd_v.get(), v.get(), rows, g.d);
        layernorm_rows(r.get(), rstd_r.get(), r.get(), rows, g.d);
    }
    const Step<T> sa(a, g.col_sign, g.d, g.norm), sb(b, g.row_sign, g.d, g.norm);
    // Reverse order of the forward: F = step_B(R) first, then Q and R, both from V.
    sb.backward(gr.get(), gf.get(), r.get(), rstd_r.get(), rows, scratch.get());
    if (db) {
        sb.weight_grad(db, gf.get(), r.get(), rows);
        sb.weight_grad(db, gq.get(), v.get(), rows);
    }
    if (da) sa.weight_grad(da, gr.get(), v.get(), rows);
    if (!dv) return;
    take_block(dv, gz, g, r0, c0);
    sb.backward(dv, gq.get(), v.get(), rstd_v.get(), rows, scratch.get());
    sa.backward(dv, gr.get(), v.get(), rstd_v.get(), rows, scratch.get());
}

}  // namespace

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

template void heat_forward<float>(float*, const float*, const float*, const float*,
                                  const HeatGeometry&);
template void heat_forward<double>(double*, const double*, const double*, const double*,
                                   const HeatGeometry&);
template void heat_backward<float>(float*, float*, float*, const float*, const float*, const float*,
                                   const float*, const HeatGeometry&);
template void heat_backward<double>(double*, double*, double*, const double*, const double*,
                                    const double*, const double*, const HeatGeometry&);

}  // namespace qbh::cpu
