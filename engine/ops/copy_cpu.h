// CPU kernel behind every copy: a strided N-d read converted into a contiguous write.
#pragma once

#include <cstdint>

#include "engine/core/dtype.h"
#include "engine/core/shape.h"

namespace qbh::cpu {

// dst (contiguous, dst_dtype) <- src read through `src_strides` over `shape` (src_dtype).
void copy_strided(void* dst, DType dst_dtype, const void* src, DType src_dtype, const Shape& shape,
                  const Strides& src_strides);

// dst written through `dst_strides` <- src read through `src_strides`, same dtype.
void copy_strided_to_strided(void* dst, const Strides& dst_strides, const void* src,
                             const Strides& src_strides, const Shape& shape, DType dtype);

}  // namespace qbh::cpu
