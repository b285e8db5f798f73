// Parameter initialisers as torch.nn.init (and timm's trunc_normal_), drawing from an explicit
// Generator. Each fills its tensor in place under NoGradGuard, so it may be called on
// parameters that require grad, and returns the same handle.
#pragma once

#include <utility>

#include "engine/core/rng.h"
#include "engine/core/tensor.h"

namespace qbh::nn::init {

enum class FanMode { fan_in, fan_out };
enum class Nonlinearity { linear, relu, leaky_relu, tanh, sigmoid };

// (fan_in, fan_out) as torch's _calculate_fan_in_and_fan_out: for a weight [out, in, k...],
// fan_in = in * prod(k), fan_out = out * prod(k). Needs at least 2 axes.
std::pair<int64_t, int64_t> fan_in_and_fan_out(const Tensor& t);
// torch.nn.init.calculate_gain: linear/sigmoid 1, tanh 5/3, relu sqrt(2),
// leaky_relu sqrt(2 / (1 + a^2)) with slope a.
double calculate_gain(Nonlinearity nonlinearity, double a = 0.0);

Tensor uniform_(Tensor t, Generator& gen, double low = 0.0, double high = 1.0);
Tensor normal_(Tensor t, Generator& gen, double mean = 0.0, double std = 1.0);
Tensor zeros_(Tensor t);
Tensor ones_(Tensor t);
Tensor constant_(Tensor t, double value);

// U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)).
Tensor xavier_uniform_(Tensor t, Generator& gen, double gain = 1.0);
// N(0, s^2) with s = gain * sqrt(2 / (fan_in + fan_out)).
Tensor xavier_normal_(Tensor t, Generator& gen, double gain = 1.0);
// U(-b, b) with b = sqrt(3) * gain(nonlinearity, a) / sqrt(fan); torch's defaults.
Tensor kaiming_uniform_(Tensor t, Generator& gen, double a = 0.0, FanMode mode = FanMode::fan_in,
                        Nonlinearity nonlinearity = Nonlinearity::leaky_relu);
// N(0, s^2) with s = gain(nonlinearity, a) / sqrt(fan).
Tensor kaiming_normal_(Tensor t, Generator& gen, double a = 0.0, FanMode mode = FanMode::fan_in,
                       Nonlinearity nonlinearity = Nonlinearity::leaky_relu);
// N(mean, std^2) restricted to [a, b] (absolute bounds, as timm), by the inverse CDF of a
// uniform draw over [cdf(a), cdf(b)]: no resampling loop, exact bounds.
Tensor trunc_normal_(Tensor t, Generator& gen, double mean = 0.0, double std = 1.0, double a = -2.0,
                     double b = 2.0);

// The inverse error function on (-1, 1) (+-inf at +-1), accurate to a few ulps in double.
double erfinv(double y);

}  // namespace qbh::nn::init
