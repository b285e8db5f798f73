// CPU copy kernels (see copy_cpu.h).
#include "engine/ops/copy_cpu.h"

#include <cstring>

#include "engine/ops/strided_loop.h"

namespace qbh::cpu {

namespace {

template <class D, class S>
D convert(S v) {
    if constexpr (std::is_same_v<S, bf16>) {
        return static_cast<D>(v.to_float());
    } else if constexpr (std::is_same_v<D, bf16>) {
        return bf16::from_float(static_cast<float>(v));
    } else {
        return static_cast<D>(v);
    }
}

template <class Fn>
void dispatch_copy(DType dt, Fn&& fn) {
    switch (dt) {
        case DType::f32:
            fn(float{});
            break;
        case DType::f64:
            fn(double{});
            break;
        case DType::i64:
            fn(int64_t{});
            break;
        case DType::bf16:
            fn(bf16{});
            break;
    }
}

}  // namespace

void copy_strided(void* dst, DType dst_dtype, const void* src, DType src_dtype, const Shape& shape,
                  const Strides& src_strides) {
    if (numel_of(shape) == 0) return;  // empty tensors may have null data pointers
    Strides dst_strides = contiguous_strides(shape);
    if (dst_dtype == src_dtype && src_strides == dst_strides) {
        std::memcpy(dst, src, numel_of(shape) * dtype_size(dst_dtype));
        return;
    }
    dispatch_copy(dst_dtype, [&](auto d_tag) {
        using D = decltype(d_tag);
        dispatch_copy(src_dtype, [&](auto s_tag) {
            using S = decltype(s_tag);
            D* d = static_cast<D*>(dst);
            const S* s = static_cast<const S*>(src);
            for_each_offset<2>(
                shape, {&dst_strides, &src_strides},
                [&](const std::array<int64_t, 2>& o) { d[o[0]] = convert<D>(s[o[1]]); });
        });
    });
}

void copy_strided_to_strided(void* dst, const Strides& dst_strides, const void* src,
                             const Strides& src_strides, const Shape& shape, DType dtype) {
    dispatch_copy(dtype, [&](auto tag) {
        using T = decltype(tag);
        T* d = static_cast<T*>(dst);
        const T* s = static_cast<const T*>(src);
        for_each_offset<2>(shape, {&dst_strides, &src_strides},
                           [&](const std::array<int64_t, 2>& o) { d[o[0]] = s[o[1]]; });
    });
}

}  // namespace qbh::cpu
