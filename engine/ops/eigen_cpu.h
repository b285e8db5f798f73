// Eigen for the CPU kernels: the one place that includes it, and the row-major matrix types and
// maps the kernels share. Include it first in a *_cpu.cpp that does matrix products.
#pragma once

// GCC 12 reports false "may be used uninitialized" warnings inside its own AVX-512 intrinsics as
// Eigen instantiates them; they are not about our code. Instantiation happens in the including
// file, so the warning stays off for that file.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <Eigen/Dense>

namespace qbh::cpu {

template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using RowMap = Eigen::Map<RowMatrix<T>>;  // a dense row-major block of memory, writable
template <class T>
using ConstRowMap = Eigen::Map<const RowMatrix<T>>;

}  // namespace qbh::cpu
