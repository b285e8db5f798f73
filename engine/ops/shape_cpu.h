// CPU kernels of the shape family (cat, pad, gather, scatter, index_select) over raw pointers.
// No autograd and no argument checks here: shape.cpp validates shapes and index ranges first.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/shape.h"

namespace qbh::cpu {

// dst[r * dst_ld + c] = src[r * src_ld + c] for r < rows, c < cols (cat's block copies).
template <class T>
void copy_rows(T* dst, int64_t dst_ld, const T* src, int64_t src_ld, int64_t rows, int64_t cols);

// out (contiguous, out_shape) = value everywhere, then x (contiguous, x_shape) written at
// offset before[d] on each axis d. out_shape[d] >= x_shape[d] + before[d].
template <class T>
void pad_constant(T* out, const Shape& out_shape, const T* x, const Shape& x_shape,
                  const std::vector<int64_t>& before, T value);

// Row-major position of the first index value outside [0, size), or -1 when all are in range.
int64_t find_out_of_range(const int64_t* index, const Shape& shape, const Strides& strides,
                          int64_t size);

// out (contiguous, index shape) = x[..., index[...], ...] along `axis` (torch.gather); x and
// index are read through their strides.
template <class T>
void gather(T* out, const Shape& shape, int64_t axis, const int64_t* index,
            const Strides& index_strides, const T* x, const Strides& x_strides);

// Writes src into out (contiguous, out_shape) at the index positions along `axis`, iterating
// over the index shape (torch.scatter / scatter_add). With accumulate false returns the
// row-major position in index of the first write to an already written element (-1 if none);
// with accumulate true adds and never reports.
template <class T>
int64_t scatter(T* out, const Shape& out_shape, const Shape& shape, int64_t axis,
                const int64_t* index, const Strides& index_strides, const T* src,
                const Strides& src_strides, bool accumulate);

// x viewed as [outer, n, inner], out as [outer, m, inner]: out[o, j, :] = x[o, index[j], :].
template <class T>
void index_select(T* out, const T* x, const int64_t* index, int64_t outer, int64_t n, int64_t inner,
                  int64_t m);

// The backward of index_select: dx[o, index[j], :] += g[o, j, :] (dx zero-filled by the caller).
template <class T>
void index_add(T* dx, const T* g, const int64_t* index, int64_t outer, int64_t n, int64_t inner,
               int64_t m);

}  // namespace qbh::cpu
