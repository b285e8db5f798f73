// CPU kernels of the elementwise family (see elementwise_cpu.h). The contiguous same-shape case
// is a flat OpenMP loop; anything broadcast or strided goes through for_each_offset.
#include "engine/ops/elementwise_cpu.h"

#include <cmath>

#include "engine/ops/strided_loop.h"

namespace qbh::cpu {

namespace {

constexpr int64_t kParallelMin = 1 << 15;  // below this, threads cost more than they save

template <class T>
inline T apply(BinaryOp op, T a, T b) {
    switch (op) {
        case BinaryOp::add:
            return a + b;
        case BinaryOp::sub:
            return a - b;
        case BinaryOp::mul:
            return a * b;
        case BinaryOp::div:
            return a / b;
        case BinaryOp::pow:
            return std::pow(a, b);
        case BinaryOp::maximum:
            return a >= b ? a : b;
        case BinaryOp::minimum:
            return a <= b ? a : b;
        case BinaryOp::gt:
            return a > b ? T(1) : T(0);
        case BinaryOp::lt:
            return a < b ? T(1) : T(0);
        case BinaryOp::ge:
            return a >= b ? T(1) : T(0);
        case BinaryOp::le:
            return a <= b ? T(1) : T(0);
        case BinaryOp::eq:
            return a == b ? T(1) : T(0);
    }
    return T(0);
}

constexpr double kSqrt1_2 = 0.70710678118654752440;
constexpr double kSqrt2_Pi = 0.79788456080286535588;    // sqrt(2 / pi)
constexpr double kInvSqrt2Pi = 0.39894228040143267794;  // 1 / sqrt(2 pi)
constexpr double kGeluCoef = 0.044715;

template <class T>
inline T apply(UnaryOp op, T x) {
    switch (op) {
        case UnaryOp::neg:
            return -x;
        case UnaryOp::exp:
            return std::exp(x);
        case UnaryOp::log:
            return std::log(x);
        case UnaryOp::sqrt:
            return std::sqrt(x);
        case UnaryOp::rsqrt:
            return T(1) / std::sqrt(x);
        case UnaryOp::abs:
            return std::abs(x);
        case UnaryOp::square:
            return x * x;
        case UnaryOp::relu:
            return x > T(0) ? x : T(0);
        case UnaryOp::gelu:
            return T(0.5) * x * (T(1) + std::erf(x * T(kSqrt1_2)));
        case UnaryOp::gelu_tanh:
            return T(0.5) * x * (T(1) + std::tanh(T(kSqrt2_Pi) * (x + T(kGeluCoef) * x * x * x)));
        case UnaryOp::sigmoid:
            return T(1) / (T(1) + std::exp(-x));
        case UnaryOp::tanh:
            return std::tanh(x);
    }
    return T(0);
}

// f'(x), given x and y = f(x).
template <class T>
inline T derivative(UnaryOp op, T x, T y) {
    switch (op) {
        case UnaryOp::neg:
            return T(-1);
        case UnaryOp::exp:
            return y;
        case UnaryOp::log:
            return T(1) / x;
        case UnaryOp::sqrt:
            return T(0.5) / y;
        case UnaryOp::rsqrt:
            return T(-0.5) * y * y * y;
        case UnaryOp::abs:
            return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
        case UnaryOp::square:
            return T(2) * x;
        case UnaryOp::relu:
            return x > T(0) ? T(1) : T(0);
        case UnaryOp::gelu: {
            T cdf = T(0.5) * (T(1) + std::erf(x * T(kSqrt1_2)));
            T pdf = T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x);
            return cdf + x * pdf;
        }
        case UnaryOp::gelu_tanh: {
            T inner = T(kSqrt2_Pi) * (x + T(kGeluCoef) * x * x * x);
            T t = std::tanh(inner);
            T dinner = T(kSqrt2_Pi) * (T(1) + T(3 * kGeluCoef) * x * x);
            return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * dinner;
        }
        case UnaryOp::sigmoid:
            return y * (T(1) - y);
        case UnaryOp::tanh:
            return T(1) - y * y;
    }
    return T(0);
}

}  // namespace

template <class T>
void binary(BinaryOp op, T* out, const Shape& shape, const T* a, const Strides& a_strides,
            const T* b, const Strides& b_strides) {
    const int64_t n = numel_of(shape);
    const Strides dense = contiguous_strides(shape);
    if (a_strides == dense && b_strides == dense) {
#pragma omp parallel for if (n >= kParallelMin)
        for (int64_t i = 0; i < n; ++i) out[i] = apply(op, a[i], b[i]);
        return;
    }
    int64_t i = 0;
    for_each_offset<2>(shape, {&a_strides, &b_strides}, [&](const std::array<int64_t, 2>& o) {
        out[i++] = apply(op, a[o[0]], b[o[1]]);
    });
}

template <class T>
void unary(UnaryOp op, T* out, const T* x, int64_t n) {
#pragma omp parallel for if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) out[i] = apply(op, x[i]);
}

template <class T>
void unary_backward(UnaryOp op, T* dx, const T* dy, const T* x, const T* y, int64_t n) {
#pragma omp parallel for if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * derivative(op, x[i], y[i]);
}

template <class T>
void where(T* out, const Shape& shape, const T* cond, const Strides& c_strides, const T* a,
           const Strides& a_strides, const T* b, const Strides& b_strides) {
    int64_t i = 0;
    for_each_offset<3>(shape, {&c_strides, &a_strides, &b_strides},
                       [&](const std::array<int64_t, 3>& o) {
                           out[i++] = cond[o[0]] != T(0) ? a[o[1]] : b[o[2]];
                       });
}

#define QBH_INSTANTIATE(T)                                                                       \
    template void binary<T>(BinaryOp, T*, const Shape&, const T*, const Strides&, const T*,      \
                            const Strides&);                                                     \
    template void unary<T>(UnaryOp, T*, const T*, int64_t);                                      \
    template void unary_backward<T>(UnaryOp, T*, const T*, const T*, const T*, int64_t);         \
    template void where<T>(T*, const Shape&, const T*, const Strides&, const T*, const Strides&, \
                           const T*, const Strides&);
QBH_INSTANTIATE(float)
QBH_INSTANTIATE(double)
template void binary<int64_t>(BinaryOp, int64_t*, const Shape&, const int64_t*, const Strides&,
                              const int64_t*, const Strides&);
#undef QBH_INSTANTIATE

}  // namespace qbh::cpu
