// Elementwise ops with numpy broadcasting: arithmetic, comparisons, where, and the unary math
// and activation functions. Both operands must have the same dtype and device; a double
// operand becomes a scalar of the tensor's dtype. Comparisons return 0/1 in the input dtype.
#pragma once

#include "engine/core/tensor.h"

namespace qbh {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);  // a > 0 wherever b's gradient is needed
Tensor pow(const Tensor& a, double exponent);
Tensor maximum(const Tensor& a, const Tensor& b);  // gradient goes to a where a >= b
Tensor minimum(const Tensor& a, const Tensor& b);

// Comparisons (not differentiable): 1 where true, 0 elsewhere.
Tensor gt(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, const Tensor& b);

// where(cond, a, b): a where cond != 0, else b; all three broadcast together.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor abs(const Tensor& x);  // gradient sign(x), 0 at 0
Tensor square(const Tensor& x);
Tensor relu(const Tensor& x);
enum class GeluApprox { none, tanh };  // none = exact erf form, PyTorch's default
Tensor gelu(const Tensor& x, GeluApprox approx = GeluApprox::none);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);

// Operators: tensor-tensor and tensor-scalar.
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);

// In-place updates (optimisers, gradient accumulation). Not recorded: they refuse a tensor that
// requires grad while grad mode is on. `other` broadcasts to self's shape.
void add_(Tensor& self, const Tensor& other, double alpha = 1.0);  // self += alpha * other
void mul_(Tensor& self, double factor);
void mul_(Tensor& self, const Tensor& other);

}  // namespace qbh
