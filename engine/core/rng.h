// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011). Element i of a draw uses
// counter (offset + i) under key = seed, so the numbers do not depend on thread count or
// order, and a CUDA kernel can reproduce the CPU stream exactly. A Generator is an explicit
// object (seed, offset): no hidden global RNG anywhere in the engine.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define QBH_HOST_DEVICE __host__ __device__
#else
#define QBH_HOST_DEVICE
#endif

namespace qbh {

struct Philox4 {
    uint32_t v[4];
};

// Ten rounds of Philox4x32 on a 128-bit counter (c0..c3) with a 64-bit key.
QBH_HOST_DEVICE inline Philox4 philox4x32(uint64_t counter_lo, uint64_t counter_hi, uint64_t key) {
    uint32_t c0 = static_cast<uint32_t>(counter_lo), c1 = static_cast<uint32_t>(counter_lo >> 32);
    uint32_t c2 = static_cast<uint32_t>(counter_hi), c3 = static_cast<uint32_t>(counter_hi >> 32);
    uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
    for (int round = 0; round < 10; ++round) {
        uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
        uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
        uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = static_cast<uint32_t>(p1);
        uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = static_cast<uint32_t>(p0);
        c0 = n0, c1 = n1, c2 = n2, c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return Philox4{{c0, c1, c2, c3}};
}

// [0, 1) from 24 random bits (f32) or 53 random bits (f64).
QBH_HOST_DEVICE inline float uniform_f32(const Philox4& r) {
    return static_cast<float>(r.v[0] >> 8) * (1.0f / 16777216.0f);
}
QBH_HOST_DEVICE inline double uniform_f64(const Philox4& r) {
    uint64_t bits = (static_cast<uint64_t>(r.v[0]) << 21) ^ (r.v[1] >> 11);
    return static_cast<double>(bits & ((uint64_t(1) << 53) - 1)) * (1.0 / 9007199254740992.0);
}

class Generator {
  public:
    explicit Generator(uint64_t seed = 0) : seed_(seed) {}
    uint64_t seed() const { return seed_; }
    uint64_t offset() const { return offset_; }
    void set_state(uint64_t seed, uint64_t offset) {
        seed_ = seed;
        offset_ = offset;
    }
    // Reserves n counters for one draw and returns the first; the draw uses first .. first+n-1.
    uint64_t reserve(uint64_t n) {
        uint64_t first = offset_;
        offset_ += n;
        return first;
    }
    // The i-th raw output block of a draw that reserved `first`.
    Philox4 at(uint64_t first, uint64_t i) const { return philox4x32(first + i, 0, seed_); }

  private:
    uint64_t seed_ = 0;
    uint64_t offset_ = 0;
};

}  // namespace qbh
