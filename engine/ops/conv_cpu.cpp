// CPU convolution and pooling kernels (see conv_cpu.h). conv2d runs one im2col + GEMM per image
// and group; images are shared out over OpenMP threads (each GEMM single-threaded), except for a
// batch of one, where each GEMM splits over the threads. Depthwise convolutions use direct loops.
#include "engine/ops/conv_cpu.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/ops/matmul_cpu.h"

namespace qbh::cpu {

namespace {

// For kernel column j, the output columns [lo, hi) whose input column ow * s - p + j lies
// inside [0, w). The same for every row, image and channel, so computed once per call.
struct ColRange {
    int64_t lo, hi, off;  // input column = ow * s + off
};

std::vector<ColRange> col_ranges(int64_t kw, int64_t s, int64_t p, int64_t w, int64_t wo) {
    std::vector<ColRange> ranges(kw);
    for (int64_t j = 0; j < kw; ++j) {
        // ow * s >= p - j  and  ow * s <= w - 1 + p - j
        const int64_t first = p - j, last = w - 1 + p - j;
        int64_t lo = first <= 0 ? 0 : (first + s - 1) / s;
        int64_t hi = last < 0 ? 0 : last / s + 1;
        lo = std::min(lo, wo);
        ranges[j] = {lo, std::clamp(hi, lo, wo), j - p};
    }
    return ranges;
}

// The row loops every kernel below is made of; input column = ow * s + r.off. Stride 1 gets a
// contiguous loop the compiler vectorises.
template <class T>
inline void gather_row(T* __restrict dst, const T* __restrict src, const ColRange& r, int64_t s) {
    if (s == 1)
        for (int64_t ow = r.lo; ow < r.hi; ++ow) dst[ow] = src[ow + r.off];
    else
        for (int64_t ow = r.lo; ow < r.hi; ++ow) dst[ow] = src[ow * s + r.off];
}

// dst[ow * s + off] += a * src[ow]
template <class T>
inline void scatter_add_row(T* __restrict dst, const T* __restrict src, T a, const ColRange& r,
                            int64_t s) {
    if (s == 1)
        for (int64_t ow = r.lo; ow < r.hi; ++ow) dst[ow + r.off] += a * src[ow];
    else
        for (int64_t ow = r.lo; ow < r.hi; ++ow) dst[ow * s + r.off] += a * src[ow];
}

// dst[ow] += a * src[ow * s + off]
template <class T>
inline void axpy_row(T* __restrict dst, const T* __restrict src, T a, const ColRange& r,
                     int64_t s) {
    if (s == 1)
        for (int64_t ow = r.lo; ow < r.hi; ++ow) dst[ow] += a * src[ow + r.off];
    else
        for (int64_t ow = r.lo; ow < r.hi; ++ow) dst[ow] += a * src[ow * s + r.off];
}

// sum of a[ow] * src[ow * s + off]
template <class T>
inline T dot_row(const T* a, const T* src, const ColRange& r, int64_t s) {
    T sum = 0;
    if (s == 1) {
#pragma omp simd reduction(+ : sum)
        for (int64_t ow = r.lo; ow < r.hi; ++ow) sum += a[ow] * src[ow + r.off];
    } else {
        for (int64_t ow = r.lo; ow < r.hi; ++ow) sum += a[ow] * src[ow * s + r.off];
    }
    return sum;
}

bool is_pointwise(const ConvGeometry& g) {
    return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
}

// Images run in parallel when there are several and the work is worth a thread team.
bool parallel_over_images(const ConvGeometry& g) {
    const int64_t work = g.n * g.o * (g.c / g.groups) * g.kh * g.kw * g.ho * g.wo;
    return g.n > 1 && work >= (int64_t{1} << 16);
}

}  // namespace

template <class T>
void im2col(T* cols, const T* x, int64_t c, const ConvGeometry& g) {
    const int64_t plane = g.ho * g.wo;
    const std::vector<ColRange> ranges = col_ranges(g.kw, g.sw, g.pw, g.w, g.wo);
    for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t i = 0; i < g.kh; ++i)
            for (int64_t j = 0; j < g.kw; ++j) {
                T* row = cols + ((ch * g.kh + i) * g.kw + j) * plane;
                const ColRange& r = ranges[j];
                for (int64_t oh = 0; oh < g.ho; ++oh) {
                    T* dst = row + oh * g.wo;
                    const int64_t ih = oh * g.sh - g.ph + i;
                    if (ih < 0 || ih >= g.h) {
                        std::fill(dst, dst + g.wo, T(0));
                        continue;
                    }
                    std::fill(dst, dst + r.lo, T(0));
                    gather_row(dst, x + (ch * g.h + ih) * g.w, r, g.sw);
                    std::fill(dst + r.hi, dst + g.wo, T(0));
                }
            }
}

template <class T>
void col2im(T* x, const T* cols, int64_t c, const ConvGeometry& g) {
    const int64_t plane = g.ho * g.wo;
    const std::vector<ColRange> ranges = col_ranges(g.kw, g.sw, g.pw, g.w, g.wo);
    for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t i = 0; i < g.kh; ++i)
            for (int64_t j = 0; j < g.kw; ++j) {
                const T* row = cols + ((ch * g.kh + i) * g.kw + j) * plane;
                for (int64_t oh = 0; oh < g.ho; ++oh) {
                    const int64_t ih = oh * g.sh - g.ph + i;
                    if (ih < 0 || ih >= g.h) continue;
                    scatter_add_row(x + (ch * g.h + ih) * g.w, row + oh * g.wo, T(1), ranges[j],
                                    g.sw);
                }
            }
}

namespace {

// Depthwise convolution (one input channel per group): direct loops over each output plane beat
// a GEMM per channel, whose products are tiny. Output channel oc reads input channel oc / og.
template <class T>
void depthwise_forward(T* y, const T* x, const T* w, const T* bias, const ConvGeometry& g) {
    if (g.sh == 1 && g.sw == 1) return depthwise_forward_s1(y, x, w, bias, g);
    const int64_t og = g.o / g.groups, plane = g.ho * g.wo;
    const std::vector<ColRange> ranges = col_ranges(g.kw, g.sw, g.pw, g.w, g.wo);
#pragma omp parallel for if (g.n * g.o * plane * g.kh * g.kw >= (1 << 16))
    for (int64_t p = 0; p < g.n * g.o; ++p) {
        const int64_t n = p / g.o, oc = p % g.o;
        const T* xp = x + (n * g.c + oc / og) * g.h * g.w;
        const T* wp = w + oc * g.kh * g.kw;
        T* yp = y + p * plane;
        std::fill(yp, yp + plane, bias ? bias[oc] : T(0));
        for (int64_t oh = 0; oh < g.ho; ++oh)
            for (int64_t i = 0; i < g.kh; ++i) {
                const int64_t ih = oh * g.sh - g.ph + i;
                if (ih < 0 || ih >= g.h) continue;
                for (int64_t j = 0; j < g.kw; ++j)
                    axpy_row(yp + oh * g.wo, xp + ih * g.w, wp[i * g.kw + j], ranges[j], g.sw);
            }
    }
}

template <class T>
void depthwise_backward(T* dx, T* dw, const T* dy, const T* x, const T* w, const ConvGeometry& g) {
    if (g.sh == 1 && g.sw == 1) return depthwise_backward_s1(dx, dw, dy, x, w, g);
    const int64_t og = g.o / g.groups, plane = g.ho * g.wo, k = g.kh * g.kw;
    const bool parallel = g.n * g.o * plane * k >= (1 << 16);
    const std::vector<ColRange> ranges = col_ranges(g.kw, g.sw, g.pw, g.w, g.wo);
    if (dx) {  // per input plane, gathering from its og output channels
#pragma omp parallel for if (parallel)
        for (int64_t p = 0; p < g.n * g.c; ++p) {
            const int64_t n = p / g.c, c = p % g.c;
            T* dxp = dx + p * g.h * g.w;
            std::fill(dxp, dxp + g.h * g.w, T(0));
            for (int64_t oc = c * og; oc < (c + 1) * og; ++oc)
                for (int64_t oh = 0; oh < g.ho; ++oh)
                    for (int64_t i = 0; i < g.kh; ++i) {
                        const int64_t ih = oh * g.sh - g.ph + i;
                        if (ih < 0 || ih >= g.h) continue;
                        const T* dyrow = dy + (n * g.o + oc) * plane + oh * g.wo;
                        for (int64_t j = 0; j < g.kw; ++j)
                            scatter_add_row(dxp + ih * g.w, dyrow, w[oc * k + i * g.kw + j],
                                            ranges[j], g.sw);
                    }
        }
    }
    if (dw) {  // per output channel, summing over the batch
#pragma omp parallel for if (parallel)
        for (int64_t oc = 0; oc < g.o; ++oc) {
            std::vector<double> acc(k, 0.0);
            for (int64_t n = 0; n < g.n; ++n)
                for (int64_t oh = 0; oh < g.ho; ++oh)
                    for (int64_t i = 0; i < g.kh; ++i) {
                        const int64_t ih = oh * g.sh - g.ph + i;
                        if (ih < 0 || ih >= g.h) continue;
                        const T* xrow = x + ((n * g.c + oc / og) * g.h + ih) * g.w;
                        const T* dyrow = dy + (n * g.o + oc) * plane + oh * g.wo;
                        for (int64_t j = 0; j < g.kw; ++j)
                            acc[i * g.kw + j] += dot_row(dyrow, xrow, ranges[j], g.sw);
                    }
            for (int64_t t = 0; t < k; ++t) dw[oc * k + t] = static_cast<T>(acc[t]);
        }
    }
}

// db[o] = the sum of dy over images and positions.
template <class T>
void bias_grad(T* db, const T* dy, const ConvGeometry& g) {
    const int64_t plane = g.ho * g.wo;
#pragma omp parallel for if (g.n * g.o * plane >= (1 << 16))
    for (int64_t oc = 0; oc < g.o; ++oc) {
        double acc = 0.0;
        for (int64_t n = 0; n < g.n; ++n) {
            const T* dyp = dy + (n * g.o + oc) * plane;
            T sum = 0;
#pragma omp simd reduction(+ : sum)
            for (int64_t i = 0; i < plane; ++i) sum += dyp[i];
            acc += sum;
        }
        db[oc] = static_cast<T>(acc);
    }
}

}  // namespace

template <class T>
void conv2d_forward(T* y, const T* x, const T* w, const T* bias, const ConvGeometry& g) {
    const int64_t cg = g.c / g.groups, og = g.o / g.groups;
    const int64_t rows = cg * g.kh * g.kw, plane = g.ho * g.wo;
    const bool pointwise = is_pointwise(g);
    // The direct depthwise kernels only pay off for groups > 1; one input channel with groups 1
    // (a patch embedding) is a small im2col + GEMM.
    if (cg == 1 && g.groups > 1 && !pointwise) return depthwise_forward(y, x, w, bias, g);
    const MatLayout w_layout{rows, 1}, cols_layout{plane, 1};
#pragma omp parallel if (parallel_over_images(g))
    {
        std::vector<T> cols(pointwise ? 0 : rows * plane);
#pragma omp for schedule(static)
        for (int64_t n = 0; n < g.n; ++n)
            for (int64_t gi = 0; gi < g.groups; ++gi) {
                const T* xg = x + (n * g.c + gi * cg) * g.h * g.w;
                T* yg = y + (n * g.o + gi * og) * plane;
                if (!pointwise) im2col(cols.data(), xg, cg, g);
                if (bias)
                    for (int64_t o = 0; o < og; ++o)
                        std::fill(yg + o * plane, yg + (o + 1) * plane, bias[gi * og + o]);
                gemm<T>(yg, w + gi * og * rows, w_layout, pointwise ? xg : cols.data(), cols_layout,
                        og, plane, rows, bias != nullptr);
            }
    }
}

template <class T>
void conv2d_backward(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w,
                     const ConvGeometry& g) {
    if (db) bias_grad(db, dy, g);
    const int64_t cg = g.c / g.groups, og = g.o / g.groups;
    const int64_t rows = cg * g.kh * g.kw, plane = g.ho * g.wo;
    const int64_t w_size = g.o * rows;
    const bool pointwise = is_pointwise(g);
    if (cg == 1 && g.groups > 1 && !pointwise) return depthwise_backward(dx, dw, dy, x, w, g);
    // Transposes are column-major reads of the row-major arrays, not copies.
    const MatLayout dy_layout{plane, 1}, w_t{1, rows}, cols_t{1, plane};
    if (dw) std::fill(dw, dw + w_size, T(0));
#pragma omp parallel if (parallel_over_images(g))
    {
        std::vector<T> cols(pointwise ? 0 : rows * plane);
        std::vector<T> dw_local(dw ? w_size : 0, T(0));  // each thread sums its own images
#pragma omp for schedule(static)
        for (int64_t n = 0; n < g.n; ++n)
            for (int64_t gi = 0; gi < g.groups; ++gi) {
                const T* dyg = dy + (n * g.o + gi * og) * plane;
                const int64_t x_off = (n * g.c + gi * cg) * g.h * g.w;
                if (dw) {  // dW_g += dY_g cols^T
                    if (!pointwise) im2col(cols.data(), x + x_off, cg, g);
                    gemm<T>(dw_local.data() + gi * og * rows, dyg, dy_layout,
                            pointwise ? x + x_off : cols.data(), cols_t, og, rows, plane, true);
                }
                if (dx) {  // dcols = W_g^T dY_g, folded back into the image
                    T* target = pointwise ? dx + x_off : cols.data();
                    gemm<T>(target, w + gi * og * rows, w_t, dyg, dy_layout, rows, plane, og,
                            false);
                    if (!pointwise) {
                        std::fill(dx + x_off, dx + x_off + cg * g.h * g.w, T(0));
                        col2im(dx + x_off, cols.data(), cg, g);
                    }
                }
            }
        if (dw) {
#pragma omp critical
            for (int64_t i = 0; i < w_size; ++i) dw[i] += dw_local[i];
        }
    }
}

template <class T>
void avg_pool2d_forward(T* y, const T* x, const PoolGeometry& g) {
    const T scale = T(1) / static_cast<T>(g.kh * g.kw);
#pragma omp parallel for if (g.planes * g.h * g.w >= (1 << 15))
    for (int64_t p = 0; p < g.planes; ++p) {
        const T* xp = x + p * g.h * g.w;
        T* yp = y + p * g.ho * g.wo;
        for (int64_t oh = 0; oh < g.ho; ++oh)
            for (int64_t ow = 0; ow < g.wo; ++ow) {
                const int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
                T acc = 0;
                for (int64_t ih = std::max<int64_t>(h0, 0); ih < std::min(h0 + g.kh, g.h); ++ih)
                    for (int64_t iw = std::max<int64_t>(w0, 0); iw < std::min(w0 + g.kw, g.w); ++iw)
                        acc += xp[ih * g.w + iw];
                yp[oh * g.wo + ow] = acc * scale;
            }
    }
}

template <class T>
void avg_pool2d_backward(T* dx, const T* dy, const PoolGeometry& g) {
    const T scale = T(1) / static_cast<T>(g.kh * g.kw);
#pragma omp parallel for if (g.planes * g.h * g.w >= (1 << 15))
    for (int64_t p = 0; p < g.planes; ++p) {
        T* dxp = dx + p * g.h * g.w;
        const T* dyp = dy + p * g.ho * g.wo;
        std::fill(dxp, dxp + g.h * g.w, T(0));
        for (int64_t oh = 0; oh < g.ho; ++oh)
            for (int64_t ow = 0; ow < g.wo; ++ow) {
                const int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
                const T v = dyp[oh * g.wo + ow] * scale;
                for (int64_t ih = std::max<int64_t>(h0, 0); ih < std::min(h0 + g.kh, g.h); ++ih)
                    for (int64_t iw = std::max<int64_t>(w0, 0); iw < std::min(w0 + g.kw, g.w); ++iw)
                        dxp[ih * g.w + iw] += v;
            }
    }
}

template <class T>
void max_pool2d_forward(T* y, int64_t* argmax, const T* x, const PoolGeometry& g) {
#pragma omp parallel for if (g.planes * g.h * g.w >= (1 << 15))
    for (int64_t p = 0; p < g.planes; ++p) {
        const T* xp = x + p * g.h * g.w;
        for (int64_t oh = 0; oh < g.ho; ++oh)
            for (int64_t ow = 0; ow < g.wo; ++ow) {
                const int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
                int64_t best = -1;
                for (int64_t ih = std::max<int64_t>(h0, 0); ih < std::min(h0 + g.kh, g.h); ++ih)
                    for (int64_t iw = std::max<int64_t>(w0, 0); iw < std::min(w0 + g.kw, g.w);
                         ++iw) {
                        const int64_t i = ih * g.w + iw;
                        // NaN wins, as in PyTorch; otherwise the first maximum stays.
                        if (best < 0 || xp[i] > xp[best] ||
                            (std::isnan(xp[i]) && !std::isnan(xp[best])))
                            best = i;
                    }
                const int64_t out = (p * g.ho + oh) * g.wo + ow;
                y[out] = xp[best];  // padding <= kernel / 2 leaves every window a valid cell
                argmax[out] = best;
            }
    }
}

template <class T>
void max_pool2d_backward(T* dx, const T* dy, const int64_t* argmax, const PoolGeometry& g) {
#pragma omp parallel for if (g.planes * g.h * g.w >= (1 << 15))
    for (int64_t p = 0; p < g.planes; ++p) {
        T* dxp = dx + p * g.h * g.w;
        std::fill(dxp, dxp + g.h * g.w, T(0));
        for (int64_t i = p * g.ho * g.wo; i < (p + 1) * g.ho * g.wo; ++i) dxp[argmax[i]] += dy[i];
    }
}

#define QBH_INSTANTIATE(T)                                                                  \
    template void im2col<T>(T*, const T*, int64_t, const ConvGeometry&);                    \
    template void col2im<T>(T*, const T*, int64_t, const ConvGeometry&);                    \
    template void conv2d_forward<T>(T*, const T*, const T*, const T*, const ConvGeometry&); \
    template void conv2d_backward<T>(T*, T*, T*, const T*, const T*, const T*,              \
                                     const ConvGeometry&);                                  \
    template void avg_pool2d_forward<T>(T*, const T*, const PoolGeometry&);                 \
    template void avg_pool2d_backward<T>(T*, const T*, const PoolGeometry&);                \
    template void max_pool2d_forward<T>(T*, int64_t*, const T*, const PoolGeometry&);       \
    template void max_pool2d_backward<T>(T*, const T*, const int64_t*, const PoolGeometry&);
QBH_INSTANTIATE(float)
QBH_INSTANTIATE(double)
#undef QBH_INSTANTIATE

}  // namespace qbh::cpu
