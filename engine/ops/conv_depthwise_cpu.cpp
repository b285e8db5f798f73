// Depthwise convolution with stride 1 on the CPU (see conv_cpu.h): each plane is zero-padded
// once, after which every kernel tap is one long contiguous loop over the whole plane, instead of
// a short loop per output row (rows of 7-32 pixels leave the vector units idle).
#include <algorithm>
#include <vector>

#include "engine/ops/conv_cpu.h"

namespace qbh::cpu {

namespace {

// A plane zero-padded to [hp, wp]; an output plane is kept with the same row pitch wp, so the tap
// (i, j) of output position q reads padded position q + i * wp + j. Positions past wo in a row
// are scratch (their values are never copied out, and they are zero where they are read).
struct Pitch {
    int64_t hp, wp;
    int64_t span;      // flat length covering every output position, rounded up to kLanes
    int64_t in_size;   // padded input buffer, with room for the rounding
    int64_t out_size;  // output-pitch buffer
};

// The loops run whole vectors only: a scalar remainder would cost as much as the vector part.
constexpr int64_t kLanes = 16;

Pitch pitch_of(const ConvGeometry& g) {
    Pitch p;
    p.hp = g.h + 2 * g.ph;
    p.wp = g.w + 2 * g.pw;
    const int64_t span = (g.ho - 1) * p.wp + g.wo;
    p.span = (span + kLanes - 1) / kLanes * kLanes;
    p.in_size = p.hp * p.wp + kLanes;
    p.out_size = std::max(g.ho * p.wp, p.span);
    return p;
}

template <class T>
void pad_plane(T* dst, const T* src, const ConvGeometry& g, const Pitch& p) {
    std::fill(dst, dst + p.in_size, T(0));
    for (int64_t ih = 0; ih < g.h; ++ih)
        std::copy(src + ih * g.w, src + (ih + 1) * g.w, dst + (ih + g.ph) * p.wp + g.pw);
}

// dy's plane [ho, wo] spread to pitch wp with zeros in the scratch columns.
template <class T>
void pitch_plane(T* dst, const T* src, const ConvGeometry& g, const Pitch& p) {
    std::fill(dst, dst + p.out_size, T(0));
    for (int64_t oh = 0; oh < g.ho; ++oh)
        std::copy(src + oh * g.wo, src + (oh + 1) * g.wo, dst + oh * p.wp);
}

// y[q] += a * x[q] and the dot product, over whole vectors. Kept out of line: inlined into the
// loop over kernel taps, GCC jams the two loops into one scalar loop instead of vectorising.
template <class T>
[[gnu::noinline]] void axpy(T* __restrict y, const T* __restrict x, T a, int64_t n) {
    for (int64_t q = 0; q < n; ++q) y[q] += a * x[q];
}

template <class T>
[[gnu::noinline]] T dot(const T* __restrict a, const T* __restrict b, int64_t n) {
    T sum = 0;
#pragma omp simd reduction(+ : sum)
    for (int64_t q = 0; q < n; ++q) sum += a[q] * b[q];
    return sum;
}

bool worth_threads(const ConvGeometry& g) {
    return g.n * g.o * g.ho * g.wo * g.kh * g.kw >= (1 << 16);
}

}  // namespace

template <class T>
void depthwise_forward_s1(T* y, const T* x, const T* w, const T* bias, const ConvGeometry& g) {
    const int64_t og = g.o / g.groups, k = g.kh * g.kw;
    const Pitch p = pitch_of(g);
#pragma omp parallel if (worth_threads(g))
    {
        std::vector<T> padded(p.in_size), out(p.out_size);
#pragma omp for schedule(static)
        for (int64_t plane = 0; plane < g.n * g.o; ++plane) {
            const int64_t n = plane / g.o, oc = plane % g.o;
            pad_plane(padded.data(), x + (n * g.c + oc / og) * g.h * g.w, g, p);
            std::fill(out.begin(), out.end(), bias ? bias[oc] : T(0));
            T* acc = out.data();
            for (int64_t t = 0; t < k; ++t)
                axpy(acc, padded.data() + (t / g.kw) * p.wp + t % g.kw, w[oc * k + t], p.span);
            T* yp = y + plane * g.ho * g.wo;
            for (int64_t oh = 0; oh < g.ho; ++oh)
                std::copy(acc + oh * p.wp, acc + oh * p.wp + g.wo, yp + oh * g.wo);
        }
    }
}

template <class T>
void depthwise_backward_s1(T* dx, T* dw, const T* dy, const T* x, const T* w,
                           const ConvGeometry& g) {
    const int64_t og = g.o / g.groups, k = g.kh * g.kw;
    const Pitch p = pitch_of(g);
    if (dx) {  // per input plane: scatter each tap into the padded gradient, then crop
#pragma omp parallel if (worth_threads(g))
        {
            std::vector<T> grad(p.in_size), dyp(p.out_size);
#pragma omp for schedule(static)
            for (int64_t plane = 0; plane < g.n * g.c; ++plane) {
                const int64_t n = plane / g.c, c = plane % g.c;
                std::fill(grad.begin(), grad.end(), T(0));
                for (int64_t oc = c * og; oc < (c + 1) * og; ++oc) {
                    pitch_plane(dyp.data(), dy + (n * g.o + oc) * g.ho * g.wo, g, p);
                    for (int64_t t = 0; t < k; ++t)
                        axpy(grad.data() + (t / g.kw) * p.wp + t % g.kw, dyp.data(), w[oc * k + t],
                             p.span);
                }
                T* dxp = dx + plane * g.h * g.w;
                for (int64_t ih = 0; ih < g.h; ++ih) {
                    const T* row = grad.data() + (ih + g.ph) * p.wp + g.pw;
                    std::copy(row, row + g.w, dxp + ih * g.w);
                }
            }
        }
    }
    if (dw) {  // per output channel: one dot product per tap and image
#pragma omp parallel if (worth_threads(g))
        {
            std::vector<T> padded(p.in_size), dyp(p.out_size);
            std::vector<double> acc(k);
#pragma omp for schedule(static)
            for (int64_t oc = 0; oc < g.o; ++oc) {
                std::fill(acc.begin(), acc.end(), 0.0);
                for (int64_t n = 0; n < g.n; ++n) {
                    pad_plane(padded.data(), x + (n * g.c + oc / og) * g.h * g.w, g, p);
                    pitch_plane(dyp.data(), dy + (n * g.o + oc) * g.ho * g.wo, g, p);
                    for (int64_t t = 0; t < k; ++t)
                        acc[t] +=
                            dot(dyp.data(), padded.data() + (t / g.kw) * p.wp + t % g.kw, p.span);
                }
                for (int64_t t = 0; t < k; ++t) dw[oc * k + t] = static_cast<T>(acc[t]);
            }
        }
    }
}

template void depthwise_forward_s1<float>(float*, const float*, const float*, const float*,
                                          const ConvGeometry&);
template void depthwise_forward_s1<double>(double*, const double*, const double*, const double*,
                                           const ConvGeometry&);
template void depthwise_backward_s1<float>(float*, float*, const float*, const float*, const float*,
                                           const ConvGeometry&);
template void depthwise_backward_s1<double>(double*, double*, const double*, const double*,
                                            const double*, const ConvGeometry&);

}  // namespace qbh::cpu
