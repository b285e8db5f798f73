// CPU kernels of the elementwise family, over raw pointers. Binary kernels read each operand
// through its own strides (stride 0 = broadcast); unary kernels work on contiguous arrays.
#pragma once

#include <cstdint>

#include "engine/core/shape.h"

namespace qbh::cpu {

enum class BinaryOp { add, sub, mul, div, pow, maximum, minimum, gt, lt, ge, le, eq };
enum class UnaryOp {
    neg,
    exp,
    log,
    sqrt,
    rsqrt,
    abs,
    square,
    relu,
    gelu,
    gelu_tanh,
    sigmoid,
    tanh
};

// out (contiguous, `shape`) = a op b.
template <class T>
void binary(BinaryOp op, T* out, const Shape& shape, const T* a, const Strides& a_strides,
            const T* b, const Strides& b_strides);

// out[i] = f(x[i]) for i < n.
template <class T>
void unary(UnaryOp op, T* out, const T* x, int64_t n);

// dx[i] = dy[i] * f'(x[i]); y = f(x) is passed for ops whose derivative reads it (exp, sigmoid..).
template <class T>
void unary_backward(UnaryOp op, T* dx, const T* dy, const T* x, const T* y, int64_t n);

// out = cond != 0 ? a : b, each operand through its own strides.
template <class T>
void where(T* out, const Shape& shape, const T* cond, const Strides& c_strides, const T* a,
           const Strides& a_strides, const T* b, const Strides& b_strides);

}  // namespace qbh::cpu
