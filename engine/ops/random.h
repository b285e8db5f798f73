// Random tensors and dropout, drawn from an explicit Generator (see core/rng.h). The same
// generator state gives the same numbers on every run and every thread count.
#pragma once

#include "engine/core/rng.h"
#include "engine/core/tensor.h"

namespace qbh {

// Uniform in [low, high).
Tensor rand(const Shape& shape, Generator& gen, DType dtype = DType::f32, double low = 0.0,
            double high = 1.0);
// Normal with the given mean and standard deviation (Box-Muller).
Tensor randn(const Shape& shape, Generator& gen, DType dtype = DType::f32, double mean = 0.0,
             double std = 1.0);
// 1 with probability p, else 0, in `dtype`.
Tensor bernoulli(const Shape& shape, double p, Generator& gen, DType dtype = DType::f32);
// A random permutation of 0..n-1 (i64): the argsort of uniform keys, as MAE's masking does.
Tensor randperm(int64_t n, Generator& gen);

// Inverted dropout: in training, zeroes each element with probability p and scales the rest by
// 1 / (1 - p); with training false (or p = 0) returns x unchanged.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen);

}  // namespace qbh
