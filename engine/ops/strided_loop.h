// for_each_offset: visits every element of an N-d shape, handing the kernel the element's
// offset in each of several strided operands. The innermost axis runs as a plain loop; the
// outer axes advance like an odometer. Used by the CPU kernels of copies and elementwise ops.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "engine/core/shape.h"

namespace qbh::cpu {

// fn(std::array<int64_t, K> offsets) for every index of `shape`, with offsets[k] the element
// offset of operand k under strides[k]. Row-major order.
template <size_t K, class Fn>
void for_each_offset(const Shape& shape, const std::array<const Strides*, K>& strides, Fn&& fn) {
    const int64_t nd = static_cast<int64_t>(shape.size());
    if (numel_of(shape) == 0) return;
    std::array<int64_t, K> off{};
    if (nd == 0) {
        fn(off);
        return;
    }
    const int64_t inner = shape[nd - 1];
    std::array<int64_t, K> inner_stride;
    for (size_t k = 0; k < K; ++k) inner_stride[k] = (*strides[k])[nd - 1];
    std::vector<int64_t> idx(nd, 0);
    while (true) {
        std::array<int64_t, K> o = off;
        for (int64_t i = 0; i < inner; ++i) {
            fn(o);
            for (size_t k = 0; k < K; ++k) o[k] += inner_stride[k];
        }
        int64_t d = nd - 2;  // odometer over the outer axes
        for (; d >= 0; --d) {
            ++idx[d];
            for (size_t k = 0; k < K; ++k) off[k] += (*strides[k])[d];
            if (idx[d] < shape[d]) break;
            for (size_t k = 0; k < K; ++k) off[k] -= (*strides[k])[d] * shape[d];
            idx[d] = 0;
        }
        if (d < 0) return;
    }
}

}  // namespace qbh::cpu
