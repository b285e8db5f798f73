// Optimiser kernels (see optim_cpu.h), in PyTorch's op order and the parameter's precision, so
// f32 tracks torch to rounding and f64 to ~1e-15. OpenMP splits large parameters; the norms are
// reduced in a fixed order, giving the same bits for any thread count.
#include "engine/optim/optim_cpu.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace qbh::cpu {

namespace {
// Below this many elements a parallel region costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;

// Sums of K terms(i) over i in [0, n), in double. Fixed chunks with 8 lanes each, combined in a
// fixed order: the bits do not depend on the thread count or on scheduling, so a resumed run
// repeats a straight one exactly, and the lanes let the compiler vectorise.
template <size_t K, class Terms>
std::array<double, K> chunked_sums(int64_t n, Terms terms) {
    constexpr int64_t kChunk = 4096, kLanes = 8;
    const int64_t chunks = (n + kChunk - 1) / kChunk;
    std::vector<std::array<double, K>> partial(static_cast<size_t>(chunks));
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t c = 0; c < chunks; ++c) {
        double lane[K][kLanes] = {};
        const int64_t begin = c * kChunk, end = std::min(n, begin + kChunk);
        int64_t i = begin;
        for (; i + kLanes <= end; i += kLanes)
            for (int64_t l = 0; l < kLanes; ++l) {
                std::array<double, K> t = terms(i + l);
                for (size_t k = 0; k < K; ++k) lane[k][l] += t[k];
            }
        for (; i < end; ++i) {
            std::array<double, K> t = terms(i);
            for (size_t k = 0; k < K; ++k) lane[k][0] += t[k];
        }
        for (size_t k = 0; k < K; ++k) {
            double acc = 0;
            for (int64_t l = 0; l < kLanes; ++l) acc += lane[k][l];
            partial[c][k] = acc;
        }
    }
    std::array<double, K> total{};
    for (const auto& p : partial)
        for (size_t k = 0; k < K; ++k) total[k] += p[k];
    return total;
}

}  // namespace

template <class T>
void sgd_step(T* p, const T* g, T* buf, int64_t n, const SgdHyper& h) {
    const T wd = static_cast<T>(h.weight_decay), mom = static_cast<T>(h.momentum);
    const T keep = static_cast<T>(1.0 - h.dampening), lr = static_cast<T>(h.lr);
    const bool decay = h.weight_decay != 0, use_buf = h.momentum != 0;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
        T d = decay ? g[i] + wd * p[i] : g[i];
        if (use_buf) {
            T b = h.first ? d : buf[i] * mom + keep * d;
            buf[i] = b;
            d = h.nesterov ? d + mom * b : b;
        }
        p[i] = p[i] - lr * d;
    }
}

template <class T>
void adamw_step(T* p, const T* g, T* m, T* v, int64_t n, const AdamWHyper& h) {
    const double t = static_cast<double>(h.step);
    const T decay = static_cast<T>(1.0 - h.lr * h.weight_decay);
    const T w1 = static_cast<T>(1.0 - h.beta1), b2 = static_cast<T>(h.beta2);
    const T w2 = static_cast<T>(1.0 - h.beta2), eps = static_cast<T>(h.eps);
    const T neg_step = static_cast<T>(-h.lr / (1.0 - std::pow(h.beta1, t)));
    const T bc2_sqrt = static_cast<T>(std::sqrt(1.0 - std::pow(h.beta2, t)));
    const bool lerp_low = std::abs(1.0 - h.beta1) < 0.5;  // torch's two-sided lerp formula
    const bool decay_on = h.weight_decay != 0;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
        T pi = decay_on ? p[i] * decay : p[i];
        T mi = lerp_low ? m[i] + w1 * (g[i] - m[i]) : g[i] - (g[i] - m[i]) * (T(1) - w1);
        T vi = v[i] * b2 + w2 * g[i] * g[i];
        m[i] = mi;
        v[i] = vi;
        T denom = std::sqrt(vi) / bc2_sqrt + eps;
        p[i] = pi + neg_step * mi / denom;
    }
}

template <class T>
void lars_step(T* p, const T* g, T* mu, int64_t n, const LarsHyper& h) {
    const T wd = static_cast<T>(h.weight_decay), mom = static_cast<T>(h.momentum);
    const T lr = static_cast<T>(h.lr);
    T q = T(1);
    if (h.adapt) {
        auto [pn2, dn2] = chunked_sums<2>(n, [&](int64_t i) {
            double pi = p[i], d = static_cast<T>(g[i] + wd * p[i]);
            return std::array<double, 2>{pi * pi, d * d};
        });
        if (pn2 > 0 && dn2 > 0)
            q = static_cast<T>(h.trust_coefficient * std::sqrt(pn2) / std::sqrt(dn2));
    }
    const bool adapt = h.adapt;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
        T d = adapt ? (g[i] + wd * p[i]) * q : g[i];
        T b = mu[i] * mom + d;
        mu[i] = b;
        p[i] = p[i] - lr * b;
    }
}

template <class T>
double sum_squares(const T* x, int64_t n) {
    return chunked_sums<1>(n, [&](int64_t i) {
        double v = x[i];
        return std::array<double, 1>{v * v};
    })[0];
}

template <class T>
void scale(T* x, int64_t n, double factor) {
    const T f = static_cast<T>(factor);
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) x[i] *= f;
}

#define QBH_INSTANTIATE(T)                                                         \
    template void sgd_step<T>(T*, const T*, T*, int64_t, const SgdHyper&);         \
    template void adamw_step<T>(T*, const T*, T*, T*, int64_t, const AdamWHyper&); \
    template void lars_step<T>(T*, const T*, T*, int64_t, const LarsHyper&);       \
    template double sum_squares<T>(const T*, int64_t);                             \
    template void scale<T>(T*, int64_t, double);
QBH_INSTANTIATE(float)
QBH_INSTANTIATE(double)
#undef QBH_INSTANTIATE

}  // namespace qbh::cpu
