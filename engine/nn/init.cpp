// Initialisers (see init.h). Values are drawn on the CPU by the random ops (so they depend only
// on the generator state) and copied into the tensor in place under NoGradGuard.
#include "engine/nn/init.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/autograd/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/random.h"
#include "engine/ops/view.h"

namespace qbh::nn::init {

namespace {

void check_target(const char* op, const Tensor& t) {
    QBH_CHECK(t.defined(), op << ": the tensor to initialise is undefined");
    check_floating(op, t);
}

// Copies `values` (a CPU tensor) into t, wherever t lives, without recording.
Tensor fill_from(Tensor t, const Tensor& values) {
    NoGradGuard no_grad;
    copy_(t, values.device() == t.device() ? values : to_device(values, t.device()));
    return t;
}

double fan(const Tensor& t, FanMode mode) {
    auto [fan_in, fan_out] = fan_in_and_fan_out(t);
    return static_cast<double>(mode == FanMode::fan_in ? fan_in : fan_out);
}

double normal_cdf(double x) {
    return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0)));
}

}  // namespace

std::pair<int64_t, int64_t> fan_in_and_fan_out(const Tensor& t) {
    QBH_CHECK(t.defined() && t.dim() >= 2,
              "init: fan in and fan out need a tensor with at least 2 axes, got "
                  << (t.defined() ? describe(t) : "an undefined tensor"));
    int64_t receptive = 1;
    for (int64_t d = 2; d < t.dim(); ++d) receptive *= t.size(d);
    return {t.size(1) * receptive, t.size(0) * receptive};
}

double calculate_gain(Nonlinearity nonlinearity, double a) {
    switch (nonlinearity) {
        case Nonlinearity::linear:
        case Nonlinearity::sigmoid:
            return 1.0;
        case Nonlinearity::tanh:
            return 5.0 / 3.0;
        case Nonlinearity::relu:
            return std::sqrt(2.0);
        case Nonlinearity::leaky_relu:
            return std::sqrt(2.0 / (1.0 + a * a));
    }
    QBH_FAIL("calculate_gain: unknown nonlinearity");
}

Tensor uniform_(Tensor t, Generator& gen, double low, double high) {
    check_target("init.uniform_", t);
    QBH_CHECK(high >= low, "init.uniform_: high " << high << " is below low " << low);
    return fill_from(t, rand(t.shape(), gen, t.dtype(), low, high));
}

Tensor normal_(Tensor t, Generator& gen, double mean, double std) {
    check_target("init.normal_", t);
    QBH_CHECK(std >= 0, "init.normal_: std must be non-negative, got " << std);
    return fill_from(t, randn(t.shape(), gen, t.dtype(), mean, std));
}

Tensor constant_(Tensor t, double value) {
    check_target("init.constant_", t);
    NoGradGuard no_grad;
    fill_(t, value);
    return t;
}

Tensor zeros_(Tensor t) {
    return constant_(t, 0.0);
}

Tensor ones_(Tensor t) {
    return constant_(t, 1.0);
}

Tensor xavier_uniform_(Tensor t, Generator& gen, double gain) {
    check_target("init.xavier_uniform_", t);
    auto [fan_in, fan_out] = fan_in_and_fan_out(t);
    const double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
    return uniform_(t, gen, -bound, bound);
}

Tensor xavier_normal_(Tensor t, Generator& gen, double gain) {
    check_target("init.xavier_normal_", t);
    auto [fan_in, fan_out] = fan_in_and_fan_out(t);
    return normal_(t, gen, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)));
}

Tensor kaiming_uniform_(Tensor t, Generator& gen, double a, FanMode mode,
                        Nonlinearity nonlinearity) {
    check_target("init.kaiming_uniform_", t);
    const double std = calculate_gain(nonlinearity, a) / std::sqrt(fan(t, mode));
    const double bound = std::sqrt(3.0) * std;
    return uniform_(t, gen, -bound, bound);
}

Tensor kaiming_normal_(Tensor t, Generator& gen, double a, FanMode mode,
                       Nonlinearity nonlinearity) {
    check_target("init.kaiming_normal_", t);
    return normal_(t, gen, 0.0, calculate_gain(nonlinearity, a) / std::sqrt(fan(t, mode)));
}

Tensor trunc_normal_(Tensor t, Generator& gen, double mean, double std, double a, double b) {
    check_target("init.trunc_normal_", t);
    QBH_CHECK(std > 0 && a < b, "init.trunc_normal_: need std > 0 and a < b, got std "
                                    << std << ", a " << a << ", b " << b);
    // Uniform over [2 cdf(a) - 1, 2 cdf(b) - 1], mapped back through erfinv (timm's method).
    const double lo = 2 * normal_cdf((a - mean) / std) - 1;
    const double hi = 2 * normal_cdf((b - mean) / std) - 1;
    std::vector<double> v = rand(t.shape(), gen, DType::f64, lo, hi).to_vector();
    for (double& x : v) x = std::clamp(mean + std * std::sqrt(2.0) * erfinv(x), a, b);
    return fill_from(t, Tensor::from_vector(v, t.shape(), t.dtype()));
}

double erfinv(double y) {
    if (std::isnan(y) || y < -1 || y > 1) return std::nan("");
    if (y == 1) return INFINITY;
    if (y == -1) return -INFINITY;
    // Giles (2010), single-precision polynomial, then Newton steps on erf(x) = y.
    double w = -std::log((1.0 - y) * (1.0 + y)), p;
    if (w < 5.0) {
        w -= 2.5;
        p = 2.81022636e-08;
        for (double c : {3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                         -0.00125372503, -0.00417768164, 0.246640727, 1.50140941})
            p = c + p * w;
    } else {
        w = std::sqrt(w) - 3.0;
        p = -0.000200214257;
        for (double c : {0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                         -0.0076224613, 0.00943887047, 1.00167406, 2.83297682})
            p = c + p * w;
    }
    double x = p * y;
    for (int i = 0; i < 2; ++i) {
        const double slope = 2.0 / std::sqrt(M_PI) * std::exp(-x * x);
        if (slope == 0) break;
        x -= (std::erf(x) - y) / slope;
    }
    return x;
}

}  // namespace qbh::nn::init
