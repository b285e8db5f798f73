// CPU kernels for layer_norm and batch_norm (see norm_cpu.h). Rows / channel planes run in
// parallel with OpenMP; parameter gradients and channel statistics are summed in per-thread
// buffers and reduced at the end, so results are deterministic for a given thread count.
#include "engine/ops/norm_cpu.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace qbh::cpu {

namespace {

// Below this many elements the threads cost more than they save.
constexpr int64_t kParallelWork = 1 << 15;

int threads_for(int64_t work) {
    return work >= kParallelWork ? omp_get_max_threads() : 1;
}

// ---------------------------------------------------------------------------------------------
// layer_norm

// Row sums keep one partial sum per lane of a 64-byte vector register and add the lanes in a
// tree at the end: gcc's `omp simd reduction` finishes with 16 serial scalar adds, which
// dominated rows as short as 64.
template <class T>
constexpr int kLanes = 64 / sizeof(T);

template <class T>
inline T tree_sum(T* acc) {
    for (int s = kLanes<T> / 2; s > 0; s /= 2)
        for (int k = 0; k < s; ++k) acc[k] += acc[k + s];
    return acc[0];
}

// Calls f(c, lane) for every c < cols with lane = c % kLanes: whole registers in a vectorised
// loop, then the tail one by one.
template <class T, class F>
inline void for_lanes(int64_t cols, F&& f) {
    constexpr int L = kLanes<T>;
    int64_t c = 0;
    for (; c + L <= cols; c += L) {
#pragma omp simd
        for (int k = 0; k < L; ++k) f(c + k, k);
    }
    for (int k = 0; c + k < cols; ++k) f(c + k, k);
}

// Mean and rstd of one row in two passes: centring before squaring avoids the cancellation of
// E[x^2] - E[x]^2, and the row is still in cache for the second pass.
template <class T>
inline void row_stats(const T* x, int64_t cols, double eps, T& mean, T& rstd) {
    T acc[kLanes<T>] = {};
    for_lanes<T>(cols, [&](int64_t c, int k) { acc[k] += x[c]; });
    const T m = tree_sum(acc) / static_cast<T>(cols);
    T sq[kLanes<T>] = {};
    for_lanes<T>(cols, [&](int64_t c, int k) {
        const T d = x[c] - m;
        sq[k] += d * d;
    });
    mean = m;
    rstd = T(1) / std::sqrt(tree_sum(sq) / static_cast<T>(cols) + static_cast<T>(eps));
}

// The affine variants are template flags so that each inner loop is branch-free and vectorises.
template <class T, bool kW, bool kB>
void ln_forward(T* out, T* mean, T* rstd, const T* x, const T* w, const T* b, int64_t rows,
                int64_t cols, double eps) {
#pragma omp parallel for schedule(static) num_threads(threads_for(rows* cols))
    for (int64_t r = 0; r < rows; ++r) {
        const T* xr = x + r * cols;
        T* o = out + r * cols;
        T m, s;
        row_stats(xr, cols, eps, m, s);
        mean[r] = m;
        rstd[r] = s;
#pragma omp simd
        for (int64_t c = 0; c < cols; ++c) {
            T v = (xr[c] - m) * s;
            if constexpr (kW) v *= w[c];
            if constexpr (kB) v += b[c];
            o[c] = v;
        }
    }
}

// One row of the backward: with xhat = (x - mean) rstd and gw = dout * w,
// dx = rstd (gw - mean(gw) - xhat mean(gw xhat)); with kP, dw += dout xhat and db += dout go
// to the thread's partial sums pw / pb in the same pass as the row sums.
template <class T, bool kW, bool kP>
inline void ln_backward_row(T* dx, T* pw, T* pb, const T* g, const T* x, const T* w, T m, T s,
                            int64_t cols) {
    T ag[kLanes<T>] = {}, agx[kLanes<T>] = {};
    for_lanes<T>(cols, [&](int64_t c, int k) {
        const T xh = (x[c] - m) * s;
        const T gw = kW ? g[c] * w[c] : g[c];
        ag[k] += gw;
        agx[k] += gw * xh;
        if constexpr (kP) {
            pw[c] += g[c] * xh;
            pb[c] += g[c];
        }
    });
    if (!dx) return;
    const T mg = tree_sum(ag) / static_cast<T>(cols), mgx = tree_sum(agx) / static_cast<T>(cols);
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) {
        const T xh = (x[c] - m) * s;
        const T gw = kW ? g[c] * w[c] : g[c];
        dx[c] = s * (gw - mg - xh * mgx);
    }
}

template <class T, bool kW>
void ln_backward(T* dx, T* dw, T* db, const T* dout, const T* x, const T* w, const T* mean,
                 const T* rstd, int64_t rows, int64_t cols) {
    const bool params = dw || db;
    // Rows go in blocks: a block's dw/db sums stay in T (fast, vectorised), then each block
    // flushes into the thread's double accumulator so long batches keep their precision.
    constexpr int64_t kBlock = 32;
    const int64_t blocks = (rows + kBlock - 1) / kBlock;
    const int nt = threads_for(rows * cols);
    std::vector<double> acc(params ? static_cast<size_t>(nt) * 2 * cols : 0, 0.0);
#pragma omp parallel num_threads(nt)
    {
        std::vector<T> part(params ? 2 * cols : 0);
        T* pw = params ? part.data() : nullptr;
        T* pb = params ? part.data() + cols : nullptr;
        double* a =
            params ? acc.data() + static_cast<size_t>(omp_get_thread_num()) * 2 * cols : nullptr;
#pragma omp for schedule(static)
        for (int64_t blk = 0; blk < blocks; ++blk) {
            if (params) std::fill(part.begin(), part.end(), T(0));
            const int64_t end = std::min(rows, (blk + 1) * kBlock);
            for (int64_t r = blk * kBlock; r < end; ++r) {
                T* dxr = dx ? dx + r * cols : nullptr;
                if (params)
                    ln_backward_row<T, kW, true>(dxr, pw, pb, dout + r * cols, x + r * cols, w,
                                                 mean[r], rstd[r], cols);
                else
                    ln_backward_row<T, kW, false>(dxr, pw, pb, dout + r * cols, x + r * cols, w,
                                                  mean[r], rstd[r], cols);
            }
            if (params)
                for (int64_t c = 0; c < 2 * cols; ++c) a[c] += part[c];
        }
    }
    if (!params) return;
    for (int64_t c = 0; c < cols; ++c) {
        double sw = 0, sb = 0;
        for (int t = 0; t < nt; ++t) {
            sw += acc[static_cast<size_t>(t) * 2 * cols + c];
            sb += acc[static_cast<size_t>(t) * 2 * cols + cols + c];
        }
        if (dw) dw[c] = static_cast<T>(sw);
        if (db) db[c] = static_cast<T>(sb);
    }
}

// ---------------------------------------------------------------------------------------------
// batch_norm over [N, C, S]: the unit of work is one (n, c) plane of S contiguous values.

// out0[c], out1[c] = the sums over n of plane(n, c) (a pair of doubles), with per-thread
// partial sums instead of atomics.
template <class F>
void channel_sums(double* out0, double* out1, int64_t n, int64_t c, int64_t s, F plane) {
    const int nt = threads_for(n * c * s);
    std::vector<double> acc(static_cast<size_t>(nt) * 2 * c, 0.0);
#pragma omp parallel num_threads(nt)
    {
        double* a = acc.data() + static_cast<size_t>(omp_get_thread_num()) * 2 * c;
#pragma omp for collapse(2) schedule(static)
        for (int64_t i = 0; i < n; ++i) {
            for (int64_t j = 0; j < c; ++j) {
                const std::pair<double, double> p = plane(i, j);
                a[j] += p.first;
                a[c + j] += p.second;
            }
        }
    }
    for (int64_t j = 0; j < c; ++j) {
        double s0 = 0, s1 = 0;
        for (int t = 0; t < nt; ++t) {
            s0 += acc[static_cast<size_t>(t) * 2 * c + j];
            s1 += acc[static_cast<size_t>(t) * 2 * c + c + j];
        }
        out0[j] = s0;
        out1[j] = s1;
    }
}

// out[plane (i, j)] = (x - center[j]) * scale[j] + shift[j]. Centring first keeps f32 exact
// when |mean| >> std (x * scale + shift' would cancel).
template <class T>
void channel_affine(T* out, const T* x, const T* center, const T* scale, const T* shift, int64_t n,
                    int64_t c, int64_t s) {
#pragma omp parallel for collapse(2) schedule(static) num_threads(threads_for(n* c* s))
    for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < c; ++j) {
            const T* p = x + (i * c + j) * s;
            T* o = out + (i * c + j) * s;
            const T m = center[j], a = scale[j], b = shift[j];
#pragma omp simd
            for (int64_t k = 0; k < s; ++k) o[k] = (p[k] - m) * a + b;
        }
    }
}

}  // namespace

template <class T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* x, const T* w, const T* b, int64_t rows,
                       int64_t cols, double eps) {
    if (w && b)
        ln_forward<T, true, true>(out, mean, rstd, x, w, b, rows, cols, eps);
    else if (w)
        ln_forward<T, true, false>(out, mean, rstd, x, w, b, rows, cols, eps);
    else if (b)
        ln_forward<T, false, true>(out, mean, rstd, x, w, b, rows, cols, eps);
    else
        ln_forward<T, false, false>(out, mean, rstd, x, w, b, rows, cols, eps);
}

template <class T>
void layernorm_backward(T* dx, T* dw, T* db, const T* dout, const T* x, const T* w, const T* mean,
                        const T* rstd, int64_t rows, int64_t cols) {
    if (w)
        ln_backward<T, true>(dx, dw, db, dout, x, w, mean, rstd, rows, cols);
    else
        ln_backward<T, false>(dx, dw, db, dout, x, w, mean, rstd, rows, cols);
}

template <class T>
void batchnorm_stats(T* mean, T* var, const T* x, int64_t n, int64_t c, int64_t s) {
    std::vector<double> sum(c), sq(c), unused(c);
    const double count = static_cast<double>(n * s);
    channel_sums(sum.data(), unused.data(), n, c, s, [&](int64_t i, int64_t j) {
        const T* p = x + (i * c + j) * s;
        double a = 0;
#pragma omp simd reduction(+ : a)
        for (int64_t k = 0; k < s; ++k) a += p[k];
        return std::pair<double, double>(a, 0.0);
    });
    for (int64_t j = 0; j < c; ++j) sum[j] /= count;  // now the mean
    // Second pass around the exact mean (no E[x^2] - E[x]^2 cancellation).
    channel_sums(sq.data(), unused.data(), n, c, s, [&](int64_t i, int64_t j) {
        const T* p = x + (i * c + j) * s;
        const double m = sum[j];
        double a = 0;
#pragma omp simd reduction(+ : a)
        for (int64_t k = 0; k < s; ++k) {
            const double d = p[k] - m;
            a += d * d;
        }
        return std::pair<double, double>(a, 0.0);
    });
    for (int64_t j = 0; j < c; ++j) {
        mean[j] = static_cast<T>(sum[j]);
        var[j] = static_cast<T>(sq[j] / count);
    }
}

template <class T>
void batchnorm_forward(T* out, const T* x, const T* mean, const T* invstd, const T* w, const T* b,
                       int64_t n, int64_t c, int64_t s) {
    std::vector<T> scale(c), shift(c);
    for (int64_t j = 0; j < c; ++j) {
        scale[j] = static_cast<T>(static_cast<double>(invstd[j]) * (w ? w[j] : 1.0));
        shift[j] = b ? b[j] : T(0);
    }
    channel_affine(out, x, mean, scale.data(), shift.data(), n, c, s);
}

template <class T>
void batchnorm_backward(T* dx, T* dw, T* db, const T* dout, const T* x, const T* mean,
                        const T* invstd, const T* w, int64_t n, int64_t c, int64_t s,
                        bool training) {
    // Per channel: sum(dy) and sum(dy * xhat), needed by dw/db and by dx in training.
    std::vector<double> sum_dy(c, 0.0), sum_dy_xhat(c, 0.0);
    if (dw || db || (dx && training)) {
        channel_sums(sum_dy.data(), sum_dy_xhat.data(), n, c, s, [&](int64_t i, int64_t j) {
            const T* g = dout + (i * c + j) * s;
            const T* p = x + (i * c + j) * s;
            const double m = mean[j];
            double a = 0, b = 0;
#pragma omp simd reduction(+ : a, b)
            for (int64_t k = 0; k < s; ++k) {
                a += g[k];
                b += g[k] * (p[k] - m);
            }
            return std::pair<double, double>(a, b);
        });
        for (int64_t j = 0; j < c; ++j) sum_dy_xhat[j] *= invstd[j];
    }
    for (int64_t j = 0; j < c; ++j) {
        if (dw) dw[j] = static_cast<T>(sum_dy_xhat[j]);
        if (db) db[j] = static_cast<T>(sum_dy[j]);
    }
    if (!dx) return;
    // dx = k (dy - mean(dy) - xhat mean(dy xhat)) with k = w invstd, written as
    // dx = k dy + a (x - mean) + b per channel: one short multiply-add chain per element.
    std::vector<T> scale(c), xcoef(c), shift(c);
    const double count = static_cast<double>(n * s);
    for (int64_t j = 0; j < c; ++j) {
        const double inv = invstd[j];
        const double k = inv * (w ? w[j] : 1.0);
        double a = 0, b = 0;
        if (training) {
            a = -k * inv * sum_dy_xhat[j] / count;
            b = -k * sum_dy[j] / count;
        }
        scale[j] = static_cast<T>(k);
        xcoef[j] = static_cast<T>(a);
        shift[j] = static_cast<T>(b);
    }
    if (!training) {  // shift is 0 here; centre at 0 too
        channel_affine(dx, dout, shift.data(), scale.data(), shift.data(), n, c, s);
        return;
    }
#pragma omp parallel for collapse(2) schedule(static) num_threads(threads_for(n* c* s))
    for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < c; ++j) {
            const int64_t base = (i * c + j) * s;
            const T* g = dout + base;
            const T* p = x + base;
            T* o = dx + base;
            const T k = scale[j], a = xcoef[j], b = shift[j], m = mean[j];
#pragma omp simd
            for (int64_t q = 0; q < s; ++q) o[q] = k * g[q] + a * (p[q] - m) + b;
        }
    }
}

#define QBH_NORM_INSTANTIATE(T)                                                                    \
    template void layernorm_forward<T>(T*, T*, T*, const T*, const T*, const T*, int64_t, int64_t, \
                                       double);                                                    \
    template void layernorm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*,        \
                                        const T*, int64_t, int64_t);                               \
    template void batchnorm_stats<T>(T*, T*, const T*, int64_t, int64_t, int64_t);                 \
    template void batchnorm_forward<T>(T*, const T*, const T*, const T*, const T*, const T*,       \
                                       int64_t, int64_t, int64_t);                                 \
    template void batchnorm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*,        \
                                        const T*, int64_t, int64_t, int64_t, bool);

QBH_NORM_INSTANTIATE(float)
QBH_NORM_INSTANTIATE(double)

}  // namespace qbh::cpu
