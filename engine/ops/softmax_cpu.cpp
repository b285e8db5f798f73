// CPU softmax kernels (see softmax_cpu.h). Rows (inner == 1) are handled one per iteration;
// strided layouts process a chunk of inner columns at once with per-column running max and sum.
#include "engine/ops/softmax_cpu.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace qbh::cpu {

namespace {

constexpr int64_t kParallelMin = 1 << 14;
constexpr int64_t kChunk = 256;  // inner columns per task in the strided case

template <class T>
void forward_row(T* y, const T* x, int64_t n, bool log) {
    T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
    for (int64_t j = 0; j < n; ++j) m = x[j] > m ? x[j] : m;
    T s = 0;
    if (log) {
#pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j < n; ++j) s += exp_approx(x[j] - m);
        // (x - m) - log(s), not x - (m + log(s)): exact for the row's maximum even when
        // |m| is large.
        const T ls = std::log(s);
        for (int64_t j = 0; j < n; ++j) y[j] = (x[j] - m) - ls;
    } else {
#pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j < n; ++j) {
            y[j] = exp_approx(x[j] - m);
            s += y[j];
        }
        const T inv = T(1) / s;
        for (int64_t j = 0; j < n; ++j) y[j] *= inv;
    }
}

// Columns [0, w) of an [n, inner] block starting at x / y.
template <class T>
void forward_cols(T* y, const T* x, int64_t n, int64_t inner, int64_t w, bool log) {
    T m[kChunk], s[kChunk];
    for (int64_t k = 0; k < w; ++k) m[k] = -std::numeric_limits<T>::infinity(), s[k] = 0;
    for (int64_t j = 0; j < n; ++j)
        for (int64_t k = 0; k < w; ++k) m[k] = x[j * inner + k] > m[k] ? x[j * inner + k] : m[k];
    for (int64_t j = 0; j < n; ++j) {
        for (int64_t k = 0; k < w; ++k) {
            const T e = exp_approx(x[j * inner + k] - m[k]);
            if (!log) y[j * inner + k] = e;
            s[k] += e;
        }
    }
    if (log) {
        for (int64_t k = 0; k < w; ++k) s[k] = std::log(s[k]);
        for (int64_t j = 0; j < n; ++j)
            for (int64_t k = 0; k < w; ++k) y[j * inner + k] = (x[j * inner + k] - m[k]) - s[k];
    } else {
        for (int64_t k = 0; k < w; ++k) s[k] = T(1) / s[k];
        for (int64_t j = 0; j < n; ++j)
            for (int64_t k = 0; k < w; ++k) y[j * inner + k] *= s[k];
    }
}

template <class T>
void backward_row(T* dx, const T* g, const T* y, int64_t n, bool log) {
    T s = 0;
    if (log) {
#pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j < n; ++j) s += g[j];
        for (int64_t j = 0; j < n; ++j) dx[j] = g[j] - exp_approx(y[j]) * s;
    } else {
#pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j < n; ++j) s += g[j] * y[j];
        for (int64_t j = 0; j < n; ++j) dx[j] = y[j] * (g[j] - s);
    }
}

template <class T>
void backward_cols(T* dx, const T* g, const T* y, int64_t n, int64_t inner, int64_t w, bool log) {
    T s[kChunk];
    for (int64_t k = 0; k < w; ++k) s[k] = 0;
    for (int64_t j = 0; j < n; ++j)
        for (int64_t k = 0; k < w; ++k)
            s[k] += log ? g[j * inner + k] : g[j * inner + k] * y[j * inner + k];
    for (int64_t j = 0; j < n; ++j) {
        for (int64_t k = 0; k < w; ++k) {
            const int64_t i = j * inner + k;
            dx[i] = log ? g[i] - exp_approx(y[i]) * s[k] : y[i] * (g[i] - s[k]);
        }
    }
}

// Runs fn(offset, width) for every (outer, chunk) task; offset is the task's first element.
template <class Fn>
void for_each_task(int64_t outer, int64_t n, int64_t inner, Fn&& fn) {
    const int64_t chunks = (inner + kChunk - 1) / kChunk;
#pragma omp parallel for if (outer * n * inner >= kParallelMin)
    for (int64_t t = 0; t < outer * chunks; ++t) {
        const int64_t o = t / chunks, k0 = (t % chunks) * kChunk;
        fn(o * n * inner + k0, std::min(kChunk, inner - k0));
    }
}

}  // namespace

template <class T>
void softmax_forward(T* out, const T* x, int64_t outer, int64_t n, int64_t inner, bool log) {
    if (inner == 1) {
#pragma omp parallel for if (outer * n >= kParallelMin)
        for (int64_t r = 0; r < outer; ++r) forward_row(out + r * n, x + r * n, n, log);
        return;
    }
    for_each_task(outer, n, inner, [&](int64_t off, int64_t w) {
        forward_cols(out + off, x + off, n, inner, w, log);
    });
}

template <class T>
void softmax_backward(T* dx, const T* g, const T* y, int64_t outer, int64_t n, int64_t inner,
                      bool log) {
    if (inner == 1) {
#pragma omp parallel for if (outer * n >= kParallelMin)
        for (int64_t r = 0; r < outer; ++r) backward_row(dx + r * n, g + r * n, y + r * n, n, log);
        return;
    }
    for_each_task(outer, n, inner, [&](int64_t off, int64_t w) {
        backward_cols(dx + off, g + off, y + off, n, inner, w, log);
    });
}

template void softmax_forward<float>(float*, const float*, int64_t, int64_t, int64_t, bool);
template void softmax_forward<double>(double*, const double*, int64_t, int64_t, int64_t, bool);
template void softmax_backward<float>(float*, const float*, const float*, int64_t, int64_t, int64_t,
                                      bool);
template void softmax_backward<double>(double*, const double*, const double*, int64_t, int64_t,
                                       int64_t, bool);

}  // namespace qbh::cpu
