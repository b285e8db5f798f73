// Elementwise ops: argument checks, dispatch to the CPU kernels, and autograd nodes
// (see elementwise.h). Gradients of broadcast operands are summed back with sum_to.
#include "engine/ops/elementwise.h"

#include "engine/autograd/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/elementwise_cpu.h"
#include "engine/ops/reduce.h"
#include "engine/ops/view.h"

namespace qbh {

namespace {

using cpu::BinaryOp;
using cpu::UnaryOp;

Tensor binary_forward(const char* name, BinaryOp op, const Tensor& a, const Tensor& b) {
    check_same(name, {&a, &b});
    check_cpu(name, a);
    Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
    Tensor out = Tensor::empty(shape, a.dtype(), a.device());
    Strides as = broadcast_strides(a.shape(), a.strides(), shape);
    Strides bs = broadcast_strides(b.shape(), b.strides(), shape);
    dispatch_all(a.dtype(), name, [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, int64_t>) {
            QBH_CHECK(op != BinaryOp::pow && op != BinaryOp::div,
                      name << ": not defined for i64 tensors");
        }
        cpu::binary<T>(op, out.data<T>(), shape, a.data<T>(), as, b.data<T>(), bs);
    });
    return out;
}

Tensor scalar_like(double v, const Tensor& t) {
    return Tensor::scalar(v, t.dtype(), t.device());
}

Tensor unary_forward(const char* name, UnaryOp op, const Tensor& x) {
    QBH_CHECK(x.defined(), name << ": the input is an undefined tensor");
    check_floating(name, x);
    check_cpu(name, x);
    Tensor xc = contiguous_for_kernel(x);
    Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
    dispatch_float(x.dtype(), name, [&](auto tag) {
        using T = decltype(tag);
        cpu::unary<T>(op, out.data<T>(), xc.data<T>(), x.numel());
    });
    return record(name, out, {x}, [op, xc, y = out.detach()](const Tensor& g, const Node&) {
        Tensor gc = contiguous_for_kernel(g);
        Tensor dx = Tensor::empty(xc.shape(), xc.dtype(), xc.device());
        dispatch_float(xc.dtype(), "unary backward", [&](auto tag) {
            using T = decltype(tag);
            cpu::unary_backward<T>(op, dx.data<T>(), gc.data<T>(), xc.data<T>(), y.data<T>(),
                                   xc.numel());
        });
        return std::vector<Tensor>{dx};
    });
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
    Tensor out = binary_forward("add", BinaryOp::add, a, b);
    return record("add", out, {a, b},
                  [sa = a.shape(), sb = b.shape()](const Tensor& g, const Node& n) {
                      return std::vector<Tensor>{n.needs_grad(0) ? sum_to(g, sa) : Tensor(),
                                                 n.needs_grad(1) ? sum_to(g, sb) : Tensor()};
                  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
    Tensor out = binary_forward("sub", BinaryOp::sub, a, b);
    return record("sub", out, {a, b},
                  [sa = a.shape(), sb = b.shape()](const Tensor& g, const Node& n) {
                      return std::vector<Tensor>{n.needs_grad(0) ? sum_to(g, sa) : Tensor(),
                                                 n.needs_grad(1) ? sum_to(neg(g), sb) : Tensor()};
                  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
    Tensor out = binary_forward("mul", BinaryOp::mul, a, b);
    return record(
        "mul", out, {a, b}, [a = a.detach(), b = b.detach()](const Tensor& g, const Node& n) {
            return std::vector<Tensor>{n.needs_grad(0) ? sum_to(mul(g, b), a.shape()) : Tensor(),
                                       n.needs_grad(1) ? sum_to(mul(g, a), b.shape()) : Tensor()};
        });
}

Tensor div(const Tensor& a, const Tensor& b) {
    Tensor out = binary_forward("div", BinaryOp::div, a, b);
    return record("div", out, {a, b},
                  [a = a.detach(), b = b.detach()](const Tensor& g, const Node& n) {
                      Tensor ga, gb;
                      if (n.needs_grad(0)) ga = sum_to(div(g, b), a.shape());
                      if (n.needs_grad(1)) gb = sum_to(neg(div(mul(g, a), mul(b, b))), b.shape());
                      return std::vector<Tensor>{ga, gb};
                  });
}

Tensor pow(const Tensor& a, const Tensor& b) {
    Tensor out = binary_forward("pow", BinaryOp::pow, a, b);
    return record(
        "pow", out, {a, b},
        [a = a.detach(), b = b.detach(), y = out.detach()](const Tensor& g, const Node& n) {
            Tensor ga, gb;
            // d/da a^b = b a^(b-1); d/db a^b = a^b log a
            if (n.needs_grad(0))
                ga = sum_to(mul(g, mul(b, pow(a, sub(b, scalar_like(1.0, b))))), a.shape());
            if (n.needs_grad(1)) gb = sum_to(mul(g, mul(y, log(a))), b.shape());
            return std::vector<Tensor>{ga, gb};
        });
}

Tensor pow(const Tensor& a, double exponent) {
    return pow(a, scalar_like(exponent, a));
}

namespace {
// maximum / minimum: the gradient goes to `a` where the mask is 1, to `b` elsewhere.
Tensor select_grad(const char* name, BinaryOp op, BinaryOp mask_op, const Tensor& a,
                   const Tensor& b) {
    Tensor out = binary_forward(name, op, a, b);
    return record(name, out, {a, b},
                  [a = a.detach(), b = b.detach(), mask_op](const Tensor& g, const Node& n) {
                      Tensor mask = binary_forward("mask", mask_op, a, b);
                      Tensor ga, gb;
                      if (n.needs_grad(0)) ga = sum_to(mul(g, mask), a.shape());
                      if (n.needs_grad(1))
                          gb = sum_to(mul(g, sub(scalar_like(1.0, mask), mask)), b.shape());
                      return std::vector<Tensor>{ga, gb};
                  });
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) {
    return select_grad("maximum", BinaryOp::maximum, BinaryOp::ge, a, b);
}
Tensor minimum(const Tensor& a, const Tensor& b) {
    return select_grad("minimum", BinaryOp::minimum, BinaryOp::le, a, b);
}

Tensor gt(const Tensor& a, const Tensor& b) {
    return binary_forward("gt", BinaryOp::gt, a, b);
}
Tensor lt(const Tensor& a, const Tensor& b) {
    return binary_forward("lt", BinaryOp::lt, a, b);
}
Tensor ge(const Tensor& a, const Tensor& b) {
    return binary_forward("ge", BinaryOp::ge, a, b);
}
Tensor le(const Tensor& a, const Tensor& b) {
    return binary_forward("le", BinaryOp::le, a, b);
}
Tensor eq(const Tensor& a, const Tensor& b) {
    return binary_forward("eq", BinaryOp::eq, a, b);
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
    check_same("where", {&cond, &a, &b});
    check_floating("where", a);
    check_cpu("where", a);
    Shape shape =
        broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
    Tensor out = Tensor::empty(shape, a.dtype(), a.device());
    dispatch_float(a.dtype(), "where", [&](auto tag) {
        using T = decltype(tag);
        cpu::where<T>(out.data<T>(), shape, cond.data<T>(),
                      broadcast_strides(cond.shape(), cond.strides(), shape), a.data<T>(),
                      broadcast_strides(a.shape(), a.strides(), shape), b.data<T>(),
                      broadcast_strides(b.shape(), b.strides(), shape));
    });
    return record(
        "where", out, {cond, a, b},
        [c = cond.detach(), sa = a.shape(), sb = b.shape()](const Tensor& g, const Node& n) {
            Tensor zero = scalar_like(0.0, g);
            Tensor ga, gb;
            if (n.needs_grad(1)) ga = sum_to(where(c, g, zero), sa);
            if (n.needs_grad(2)) gb = sum_to(where(c, zero, g), sb);
            return std::vector<Tensor>{Tensor(), ga, gb};
        });
}

Tensor neg(const Tensor& x) {
    return unary_forward("neg", UnaryOp::neg, x);
}
Tensor exp(const Tensor& x) {
    return unary_forward("exp", UnaryOp::exp, x);
}
Tensor log(const Tensor& x) {
    return unary_forward("log", UnaryOp::log, x);
}
Tensor sqrt(const Tensor& x) {
    return unary_forward("sqrt", UnaryOp::sqrt, x);
}
Tensor rsqrt(const Tensor& x) {
    return unary_forward("rsqrt", UnaryOp::rsqrt, x);
}
Tensor abs(const Tensor& x) {
    return unary_forward("abs", UnaryOp::abs, x);
}
Tensor square(const Tensor& x) {
    return unary_forward("square", UnaryOp::square, x);
}
Tensor relu(const Tensor& x) {
    return unary_forward("relu", UnaryOp::relu, x);
}
Tensor gelu(const Tensor& x, GeluApprox approx) {
    return approx == GeluApprox::none ? unary_forward("gelu", UnaryOp::gelu, x)
                                      : unary_forward("gelu_tanh", UnaryOp::gelu_tanh, x);
}
Tensor sigmoid(const Tensor& x) {
    return unary_forward("sigmoid", UnaryOp::sigmoid, x);
}
Tensor tanh(const Tensor& x) {
    return unary_forward("tanh", UnaryOp::tanh, x);
}

Tensor operator+(const Tensor& a, const Tensor& b) {
    return add(a, b);
}
Tensor operator-(const Tensor& a, const Tensor& b) {
    return sub(a, b);
}
Tensor operator*(const Tensor& a, const Tensor& b) {
    return mul(a, b);
}
Tensor operator/(const Tensor& a, const Tensor& b) {
    return div(a, b);
}
Tensor operator-(const Tensor& x) {
    return neg(x);
}
Tensor operator+(const Tensor& a, double b) {
    return add(a, scalar_like(b, a));
}
Tensor operator-(const Tensor& a, double b) {
    return sub(a, scalar_like(b, a));
}
Tensor operator*(const Tensor& a, double b) {
    return mul(a, scalar_like(b, a));
}
Tensor operator/(const Tensor& a, double b) {
    return div(a, scalar_like(b, a));
}
Tensor operator+(double a, const Tensor& b) {
    return add(scalar_like(a, b), b);
}
Tensor operator-(double a, const Tensor& b) {
    return sub(scalar_like(a, b), b);
}
Tensor operator*(double a, const Tensor& b) {
    return mul(scalar_like(a, b), b);
}
Tensor operator/(double a, const Tensor& b) {
    return div(scalar_like(a, b), b);
}

namespace {
void check_inplace(const char* op, const Tensor& self) {
    QBH_CHECK(self.defined(), op << ": the tensor is undefined");
    QBH_CHECK(!(grad_enabled() && self.requires_grad()),
              op << ": in-place update of " << describe(self)
                 << " which requires grad; wrap it in NoGradGuard (optimiser steps do)");
}
}  // namespace

void add_(Tensor& self, const Tensor& other, double alpha) {
    check_inplace("add_", self);
    NoGradGuard no_grad;
    Tensor update = alpha == 1.0 ? other : mul(other, scalar_like(alpha, other));
    copy_(self, add(self, update));
}

void mul_(Tensor& self, double factor) {
    check_inplace("mul_", self);
    NoGradGuard no_grad;
    copy_(self, mul(self, scalar_like(factor, self)));
}

void mul_(Tensor& self, const Tensor& other) {
    check_inplace("mul_", self);
    NoGradGuard no_grad;
    copy_(self, mul(self, other));
}

}  // namespace qbh
