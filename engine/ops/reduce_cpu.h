// CPU reduction kernels over a row-major [rows, cols] array: each row reduces to one value.
// The op layer permutes reduced axes last and packs the input, so these are all it needs.
#pragma once

#include <cstdint>

namespace qbh::cpu {

template <class T>
void sum_rows(T* out, const T* in, int64_t rows, int64_t cols);

// out[r] = max of row r; index[r] = its first column.
template <class T>
void max_rows(T* out, int64_t* index, const T* in, int64_t rows, int64_t cols);

}  // namespace qbh::cpu
