// SampleRng: the random numbers one sample's augmentation uses. It is a Philox stream keyed by
// the loader seed and addressed by (epoch, position in the epoch), so a sample gets the same
// crop and flip whichever worker thread handles it and however many workers there are.
#pragma once

#include <cmath>
#include <cstdint>

#include "engine/core/rng.h"

namespace qbh::data {

class SampleRng {
  public:
    SampleRng(uint64_t seed, uint64_t epoch, uint64_t position)
        : seed_(seed), stream_((epoch << 32) ^ position) {}

    // Uniform in [0, 1), 53 random bits.
    double uniform() { return uniform_f64(philox4x32(draws_++, stream_, seed_)); }
    // Uniform in [lo, hi).
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    // Uniform integer in [lo, hi] (inclusive, as torch.randint(lo, hi + 1)).
    int64_t integer(int64_t lo, int64_t hi) {
        int64_t n = hi - lo + 1;
        int64_t k = static_cast<int64_t>(std::floor(uniform() * static_cast<double>(n)));
        return lo + (k < n ? k : n - 1);
    }
    // True with probability p.
    bool bernoulli(double p) { return uniform() < p; }

  private:
    uint64_t seed_;
    uint64_t stream_;
    uint64_t draws_ = 0;
};

}  // namespace qbh::data
