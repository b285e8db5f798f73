// Random tensors and dropout (see random.h). Element i always uses counter first + i, so a draw
// is reproducible whatever the thread count.
#include "engine/ops/random.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/autograd/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/elementwise.h"

namespace qbh {

namespace {

// Fills a new CPU tensor: value(i) computes element i from the generator's block i.
template <class Fn>
Tensor generate(const char* op, const Shape& shape, DType dtype, Generator& gen, Fn&& value) {
    Tensor out = Tensor::empty(shape, dtype);
    const int64_t n = out.numel();
    const uint64_t first = gen.reserve(static_cast<uint64_t>(n));
    dispatch_float(dtype, op, [&](auto tag) {
        using T = decltype(tag);
        T* o = out.data<T>();
#pragma omp parallel for if (n >= (1 << 15))
        for (int64_t i = 0; i < n; ++i) o[i] = static_cast<T>(value(gen.at(first, i), T{}));
    });
    return out;
}

template <class T>
double uniform01(const Philox4& r) {
    if constexpr (std::is_same_v<T, float>)
        return uniform_f32(r);
    else
        return uniform_f64(r);
}

}  // namespace

Tensor rand(const Shape& shape, Generator& gen, DType dtype, double low, double high) {
    QBH_CHECK(high >= low, "rand: high " << high << " is below low " << low);
    return generate("rand", shape, dtype, gen, [&](const Philox4& r, auto tag) {
        return low + (high - low) * uniform01<decltype(tag)>(r);
    });
}

Tensor randn(const Shape& shape, Generator& gen, DType dtype, double mean, double std) {
    QBH_CHECK(std >= 0, "randn: std must be non-negative, got " << std);
    return generate("randn", shape, dtype, gen, [&](const Philox4& r, auto) {
        // Box-Muller on two 32-bit uniforms; u1 in (0, 1] so log(u1) is finite.
        double u1 = (static_cast<double>(r.v[2]) + 1.0) * (1.0 / 4294967296.0);
        double u2 = static_cast<double>(r.v[3]) * (1.0 / 4294967296.0);
        return mean + std * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
    });
}

Tensor bernoulli(const Shape& shape, double p, Generator& gen, DType dtype) {
    QBH_CHECK(p >= 0.0 && p <= 1.0, "bernoulli: p must be in [0, 1], got " << p);
    return generate("bernoulli", shape, dtype, gen,
                    [&](const Philox4& r, auto) { return uniform_f64(r) < p ? 1.0 : 0.0; });
}

Tensor randperm(int64_t n, Generator& gen) {
    QBH_CHECK(n >= 0, "randperm: n must be non-negative, got " << n);
    const uint64_t first = gen.reserve(static_cast<uint64_t>(n));
    std::vector<uint64_t> keys(n);
    for (int64_t i = 0; i < n; ++i) {
        Philox4 r = gen.at(first, i);
        keys[i] = (static_cast<uint64_t>(r.v[0]) << 32) | r.v[1];
    }
    std::vector<int64_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return keys[a] < keys[b]; });
    std::vector<double> values(order.begin(), order.end());
    return Tensor::from_vector(values, {n}, DType::i64);
}

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
    QBH_CHECK(p >= 0.0 && p < 1.0, "dropout: p must be in [0, 1), got " << p);
    if (!training || p == 0.0) return x;
    check_floating("dropout", x);
    check_cpu("dropout", x);
    Tensor keep = bernoulli(x.shape(), 1.0 - p, gen, x.dtype());
    return x * (keep * (1.0 / (1.0 - p)));  // mul records the backward: g * mask / (1 - p)
}

}  // namespace qbh
