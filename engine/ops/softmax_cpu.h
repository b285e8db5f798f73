// CPU kernels of softmax and log_softmax over x viewed as [outer, n, inner], normalising along
// the middle axis. inner == 1 is the contiguous-row case; otherwise the kernels sweep the n axis
// with unit-stride inner loops, so no permutation copy is needed.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace qbh::cpu {

// exp for the kernels of softmax and cross-entropy. f32: a Cephes-style range reduction and
// degree-6 polynomial (about 1 ulp) written so that loops vectorise, unlike std::exp; inputs
// below -87.3 give 0 (no denormals), above 88.7 give inf, NaN stays NaN. f64: std::exp.
inline float exp_approx(float x) {
    const float lo = -87.33654f, hi = 88.72283f;
    const float xc = x < lo ? lo : (x > hi ? hi : (x == x ? x : 0.0f));  // NaN: any finite
    // Round to nearest by the 1.5 * 2^23 trick: std::floor does not vectorise in GCC 12.
    const float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    const float r = xc - n * 0.693359375f + n * 2.12194440e-4f;  // ln2 split in hi + lo parts
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const float scale = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
    const float y = p * scale;
    return x < lo ? 0.0f : (x > hi ? INFINITY : (x != x ? x : y));
}
inline double exp_approx(double x) {
    return std::exp(x);
}

// out = softmax (or log_softmax when `log`) of x along the middle axis.
template <class T>
void softmax_forward(T* out, const T* x, int64_t outer, int64_t n, int64_t inner, bool log);

// dx from the incoming gradient g and the forward output y:
// softmax: dx = y * (g - sum(g * y)); log_softmax: dx = g - exp(y) * sum(g).
template <class T>
void softmax_backward(T* dx, const T* g, const T* y, int64_t outer, int64_t n, int64_t inner,
                      bool log);

}  // namespace qbh::cpu
