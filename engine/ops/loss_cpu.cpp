// CPU loss kernels (see loss_cpu.h). Cross-entropy handles one row per iteration: max, then
// log-sum-exp and the row sum in one vectorised sweep, so the softmax is never stored.
#include "engine/ops/loss_cpu.h"

#include <cmath>
#include <limits>

#include "engine/ops/softmax_cpu.h"

namespace qbh::cpu {

namespace {
constexpr int64_t kParallelMin = 1 << 15;
}

template <class T>
double squared_error_sum(const T* x, const T* t, int64_t n) {
    double acc = 0.0;
#pragma omp parallel for simd reduction(+ : acc) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
        const double d = static_cast<double>(x[i]) - static_cast<double>(t[i]);
        acc += d * d;
    }
    return acc;
}

template <class T>
void squared_error(T* out, const T* x, const T* t, int64_t n) {
#pragma omp parallel for simd if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) out[i] = (x[i] - t[i]) * (x[i] - t[i]);
}

template <class T>
void squared_error_backward(T* dx, const T* x, const T* t, const T* g, int64_t g_stride, T scale,
                            int64_t n) {
    if (g_stride == 0) {  // one incoming gradient (mean, sum): fold it into the scale
        const T s = scale * g[0];
#pragma omp parallel for simd if (n >= kParallelMin)
        for (int64_t i = 0; i < n; ++i) dx[i] = s * (x[i] - t[i]);
        return;
    }
#pragma omp parallel for simd if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) dx[i] = scale * g[i * g_stride] * (x[i] - t[i]);
}

template <class T>
void cross_entropy_forward(T* loss, T* stats, const T* logits, const int64_t* target, int64_t rows,
                           int64_t classes, T eps) {
#pragma omp parallel for if (rows * classes >= kParallelMin)
    for (int64_t i = 0; i < rows; ++i) {
        const T* x = logits + i * classes;
        T m = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : m)
        for (int64_t c = 0; c < classes; ++c) m = x[c] > m ? x[c] : m;
        T s = 0, shifted = 0;  // sum of exp(x - m) and of (x - m)
#pragma omp simd reduction(+ : s, shifted)
        for (int64_t c = 0; c < classes; ++c) {
            s += exp_approx(x[c] - m);
            shifted += x[c] - m;
        }
        const T ls = std::log(s);
        stats[2 * i] = m;
        stats[2 * i + 1] = ls;
        const T nll = ls - (x[target[i]] - m);
        // eps = 0 must not read `shifted`: a -inf logit makes it -inf.
        loss[i] = eps == T(0) ? nll : (T(1) - eps) * nll + eps * (ls - shifted / T(classes));
    }
}

template <class T>
void cross_entropy_backward(T* dx, const T* logits, const T* stats, const int64_t* target,
                            const T* g, int64_t g_stride, T scale, int64_t rows, int64_t classes,
                            T eps) {
    const T uniform = eps / T(classes);
#pragma omp parallel for if (rows * classes >= kParallelMin)
    for (int64_t i = 0; i < rows; ++i) {
        const T* x = logits + i * classes;
        T* d = dx + i * classes;
        const T gi = scale * g[i * g_stride], m = stats[2 * i], ls = stats[2 * i + 1];
#pragma omp simd
        for (int64_t c = 0; c < classes; ++c) d[c] = gi * (exp_approx((x[c] - m) - ls) - uniform);
        d[target[i]] -= gi * (T(1) - eps);
    }
}

#define QBH_LOSS_INSTANTIATE(T)                                                                    \
    template double squared_error_sum<T>(const T*, const T*, int64_t);                             \
    template void squared_error<T>(T*, const T*, const T*, int64_t);                               \
    template void squared_error_backward<T>(T*, const T*, const T*, const T*, int64_t, T,          \
                                            int64_t);                                              \
    template void cross_entropy_forward<T>(T*, T*, const T*, const int64_t*, int64_t, int64_t, T); \
    template void cross_entropy_backward<T>(T*, const T*, const T*, const int64_t*, const T*,      \
                                            int64_t, T, int64_t, int64_t, T);

QBH_LOSS_INSTANTIATE(float)
QBH_LOSS_INSTANTIATE(double)

}  // namespace qbh::cpu
