// CPU convolution and pooling kernels (see conv_cpu.h). conv2d runs one im2col + GEMM per image
// and group; images are shared out over OpenMP threads (each GEMM single-threaded), except for a
// batch of one, where Eigen threads the GEMM itself.
#include "engine/ops/conv_cpu.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/ops/matmul_cpu.h"

namespace qbh::cpu {

namespace {

// The output columns [lo, hi) whose input column ow * s - p + j lies inside [0, w).
void valid_range(int64_t j, int64_t s, int64_t p, int64_t w, int64_t wo, int64_t& lo, int64_t& hi) {
    // ow * s >= p - j  and  ow * s <= w - 1 + p - j
    const int64_t first = p - j, last = w - 1 + p - j;
    lo = first <= 0 ? 0 : (first + s - 1) / s;
    hi = last < 0 ? 0 : last / s + 1;
    lo = std::min(lo, wo);
    hi = std::clamp(hi, lo, wo);
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
    for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t i = 0; i < g.kh; ++i)
            for (int64_t j = 0; j < g.kw; ++j) {
                T* row = cols + ((ch * g.kh + i) * g.kw + j) * plane;
                int64_t lo, hi;
                valid_range(j, g.sw, g.pw, g.w, g.wo, lo, hi);
                for (int64_t oh = 0; oh < g.ho; ++oh) {
                    T* dst = row + oh * g.wo;
                    const int64_t ih = oh * g.sh - g.ph + i;
                    if (ih < 0 || ih >= g.h) {
                        std::fill(dst, dst + g.wo, T(0));
                        continue;
                    }
                    const T* src = x + (ch * g.h + ih) * g.w;
                    std::fill(dst, dst + lo, T(0));
                    for (int64_t ow = lo; ow < hi; ++ow) dst[ow] = src[ow * g.sw + j - g.pw];
                    std::fill(dst + hi, dst + g.wo, T(0));
                }
            }
}

template <class T>
void col2im(T* x, const T* cols, int64_t c, const ConvGeometry& g) {
    const int64_t plane = g.ho * g.wo;
    for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t i = 0; i < g.kh; ++i)
            for (int64_t j = 0; j < g.kw; ++j) {
                const T* row = cols + ((ch * g.kh + i) * g.kw + j) * plane;
                int64_t lo, hi;
                valid_range(j, g.sw, g.pw, g.w, g.wo, lo, hi);
                for (int64_t oh = 0; oh < g.ho; ++oh) {
                    const int64_t ih = oh * g.sh - g.ph + i;
                    if (ih < 0 || ih >= g.h) continue;
                    const T* src = row + oh * g.wo;
                    T* dst = x + (ch * g.h + ih) * g.w;
                    for (int64_t ow = lo; ow < hi; ++ow) dst[ow * g.sw + j - g.pw] += src[ow];
                }
            }
}

namespace {

// Depthwise convolution (one input channel per group): direct loops over each output plane beat
// a GEMM per channel, whose products are tiny. Output channel oc reads input channel oc / og.
template <class T>
void depthwise_forward(T* y, const T* x, const T* w, const T* bias, const ConvGeometry& g) {
    const int64_t og = g.o / g.groups, plane = g.ho * g.wo;
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
                const T* xrow = xp + ih * g.w;
                T* yrow = yp + oh * g.wo;
                for (int64_t j = 0; j < g.kw; ++j) {
                    int64_t lo, hi;
                    valid_range(j, g.sw, g.pw, g.w, g.wo, lo, hi);
                    const T wv = wp[i * g.kw + j];
                    for (int64_t ow = lo; ow < hi; ++ow)
                        yrow[ow] += wv * xrow[ow * g.sw + j - g.pw];
                }
            }
    }
}

template <class T>
void depthwise_backward(T* dx, T* dw, const T* dy, const T* x, const T* w, const ConvGeometry& g) {
    const int64_t og = g.o / g.groups, plane = g.ho * g.wo, k = g.kh * g.kw;
    const bool parallel = g.n * g.o * plane * k >= (1 << 16);
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
                        T* dxrow = dxp + ih * g.w;
                        const T* dyrow = dy + (n * g.o + oc) * plane + oh * g.wo;
                        for (int64_t j = 0; j < g.kw; ++j) {
                            int64_t lo, hi;
                            valid_range(j, g.sw, g.pw, g.w, g.wo, lo, hi);
                            const T wv = w[oc * k + i * g.kw + j];
                            for (int64_t ow = lo; ow < hi; ++ow)
                                dxrow[ow * g.sw + j - g.pw] += wv * dyrow[ow];
                        }
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
                        for (int64_t j = 0; j < g.kw; ++j) {
                            int64_t lo, hi;
                            valid_range(j, g.sw, g.pw, g.w, g.wo, lo, hi);
                            T sum = 0;
                            for (int64_t ow = lo; ow < hi; ++ow)
                                sum += dyrow[ow] * xrow[ow * g.sw + j - g.pw];
                            acc[i * g.kw + j] += sum;
                        }
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
    if (cg == 1 && !pointwise) return depthwise_forward(y, x, w, bias, g);
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
    if (cg == 1 && !pointwise) return depthwise_backward(dx, dw, dy, x, w, g);
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
