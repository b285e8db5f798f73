// Element types (DType), the bf16 storage type, and dispatch helpers that turn a runtime DType
// into a C++ type for a templated kernel: dispatch_float(dt, "op", [&](auto tag) { ... }).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "engine/core/error.h"

namespace qbh {

enum class DType : uint8_t { f32, f64, i64, bf16 };

// bfloat16 as stored bits: the top half of an IEEE f32. Arithmetic happens in f32 (CUDA side);
// the CPU only converts, rounding to nearest even as PyTorch does.
struct bf16 {
    uint16_t bits = 0;
    static bf16 from_float(float f) {
        uint32_t u;
        std::memcpy(&u, &f, 4);
        bf16 r;
        if ((u & 0x7fffffffu) > 0x7f800000u) {  // NaN: keep it quiet, keep the sign
            r.bits = static_cast<uint16_t>((u >> 16) | 0x40u);
        } else {
            uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
            r.bits = static_cast<uint16_t>((u + rounding) >> 16);
        }
        return r;
    }
    float to_float() const {
        uint32_t u = static_cast<uint32_t>(bits) << 16;
        float f;
        std::memcpy(&f, &u, 4);
        return f;
    }
};

inline size_t dtype_size(DType dt) {
    switch (dt) {
        case DType::f32:
            return 4;
        case DType::f64:
            return 8;
        case DType::i64:
            return 8;
        case DType::bf16:
            return 2;
    }
    return 0;
}

inline const char* dtype_name(DType dt) {
    switch (dt) {
        case DType::f32:
            return "f32";
        case DType::f64:
            return "f64";
        case DType::i64:
            return "i64";
        case DType::bf16:
            return "bf16";
    }
    return "?";
}

inline bool is_floating(DType dt) {
    return dt != DType::i64;
}

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
    return DType::f32;
}
template <>
constexpr DType dtype_of<double>() {
    return DType::f64;
}
template <>
constexpr DType dtype_of<int64_t>() {
    return DType::i64;
}
template <>
constexpr DType dtype_of<bf16>() {
    return DType::bf16;
}

// Calls fn(T{}) with T = float or double; any other dtype is an error naming `op`.
template <class Fn>
decltype(auto) dispatch_float(DType dt, const char* op, Fn&& fn) {
    switch (dt) {
        case DType::f32:
            return fn(float{});
        case DType::f64:
            return fn(double{});
        default:
            QBH_FAIL(op << ": dtype " << dtype_name(dt)
                        << " is not supported on the CPU (expected f32 or f64)");
    }
}

// Like dispatch_float, and also i64 (copies, indexing, comparisons).
template <class Fn>
decltype(auto) dispatch_all(DType dt, const char* op, Fn&& fn) {
    switch (dt) {
        case DType::f32:
            return fn(float{});
        case DType::f64:
            return fn(double{});
        case DType::i64:
            return fn(int64_t{});
        default:
            QBH_FAIL(op << ": dtype " << dtype_name(dt)
                        << " is not supported on the CPU (expected f32, f64 or i64)");
    }
}

}  // namespace qbh
