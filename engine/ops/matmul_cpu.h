// CPU GEMM kernels of the matmul family, over raw pointers: one product, a batch of products
// with per-matrix offsets, and the bias fill linear starts from. Eigen does the arithmetic.
#pragma once

#include <cstdint>

namespace qbh::cpu {

// Where element (i, j) of a matrix operand lives: p[i * row_stride + j * col_stride]. One of
// the two strides is 1 (row-major or column-major with a leading dimension); the op layer copies
// operands that fit neither, so transposed views reach the kernel without a copy.
struct MatLayout {
    int64_t row_stride = 0;
    int64_t col_stride = 1;
};

// c (contiguous row-major [m, n]) = a [m, k] * b [k, n], or += when `accumulate`. Big products
// are split into one slab of rows (or columns) per OpenMP thread; inside a parallel region the
// product runs on the calling thread.
template <class T>
void gemm(T* c, const T* a, MatLayout a_layout, const T* b, MatLayout b_layout, int64_t m,
          int64_t n, int64_t k, bool accumulate);

// c (contiguous [batch, m, n]), c[i] = (a + a_offsets[i]) * (b + b_offsets[i]). Small products
// run in parallel over the batch (each single-threaded); big ones one after another, each split
// over the threads as gemm does.
template <class T>
void gemm_batched(T* c, const T* a, const int64_t* a_offsets, MatLayout a_layout, const T* b,
                  const int64_t* b_offsets, MatLayout b_layout, int64_t batch, int64_t m, int64_t n,
                  int64_t k);

// out[c] = sum over r of in[r, c] (linear's bias gradient), in contiguous [rows, cols].
template <class T>
void column_sums(T* out, const T* in, int64_t rows, int64_t cols);

// out[r, :] = row for r < rows (out contiguous [rows, cols]).
template <class T>
void fill_rows(T* out, const T* row, int64_t rows, int64_t cols);

}  // namespace qbh::cpu
