// layer_norm and batch_norm (see norm.h): argument checks, dispatch to the fused CPU kernels of
// norm_cpu.cpp, the running-statistics update, and one autograd node per call whose backward
// is a fused kernel too (no chain of elementwise ops).
#include "engine/ops/norm.h"

#include <cmath>

#include "engine/autograd/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/norm_cpu.h"
#include "engine/ops/view.h"

namespace qbh {

namespace {

// weight / bias / running statistics: undefined, or a 1-D [size] tensor like x.
void check_param(const char* op, const char* what, const Tensor& p, const Tensor& x, int64_t size) {
    if (!p.defined()) return;
    check_same(op, {&x, &p});
    QBH_CHECK(p.dim() == 1 && p.size(0) == size, op << ": " << what << " must have shape [" << size
                                                    << "] for input " << describe(x) << ", got "
                                                    << describe(p));
}

// A packed copy of an optional parameter (undefined stays undefined), detached: kernels read it.
Tensor packed(const Tensor& p) {
    return p.defined() ? contiguous_for_kernel(p).detach() : Tensor();
}

template <class T>
T* ptr(const Tensor& t) {
    return t.defined() ? t.data<T>() : nullptr;
}

// Empty gradient buffers for the inputs the node wants (undefined for the others).
Tensor grad_buffer(const Node& n, size_t i, const Shape& shape, DType dtype) {
    return n.needs_grad(i) ? Tensor::empty(shape, dtype) : Tensor();
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
    const char* op = "layer_norm";
    QBH_CHECK(x.defined(), op << ": the input is an undefined tensor");
    check_floating(op, x);
    check_cpu(op, x);
    QBH_CHECK(x.dim() >= 1, op << ": the input needs at least one axis, got " << describe(x));
    QBH_CHECK(eps >= 0, op << ": eps must be >= 0, got " << eps);
    const int64_t cols = x.size(-1);
    check_param(op, "weight", weight, x, cols);
    check_param(op, "bias", bias, x, cols);
    const int64_t rows = cols > 0 ? x.numel() / cols : 0;

    Tensor xc = contiguous_for_kernel(x).detach();
    Tensor w = packed(weight), b = packed(bias);
    Tensor out = Tensor::empty(x.shape(), x.dtype());
    Tensor mean = Tensor::empty({rows}, x.dtype()), rstd = Tensor::empty({rows}, x.dtype());
    dispatch_float(x.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        cpu::layernorm_forward<T>(out.data<T>(), mean.data<T>(), rstd.data<T>(), xc.data<T>(),
                                  ptr<T>(w), ptr<T>(b), rows, cols, eps);
    });
    return record(op, out, {x, weight, bias},
                  [xc, w, mean, rstd, rows, cols](const Tensor& g, const Node& n) {
                      Tensor gc = contiguous_for_kernel(g);
                      Tensor dx = grad_buffer(n, 0, xc.shape(), xc.dtype());
                      Tensor dw = grad_buffer(n, 1, {cols}, xc.dtype());
                      Tensor db = grad_buffer(n, 2, {cols}, xc.dtype());
                      dispatch_float(xc.dtype(), "layer_norm backward", [&](auto tag) {
                          using T = decltype(tag);
                          cpu::layernorm_backward<T>(ptr<T>(dx), ptr<T>(dw), ptr<T>(db),
                                                     gc.data<T>(), xc.data<T>(), ptr<T>(w),
                                                     mean.data<T>(), rstd.data<T>(), rows, cols);
                      });
                      return std::vector<Tensor>{dx, dw, db};
                  });
}

namespace {

// running = (1 - momentum) running + momentum stat, in place (bumps the storage version).
void update_running(Tensor& running, const std::vector<double>& stat, double momentum) {
    std::vector<double> r = running.to_vector();
    for (size_t j = 0; j < r.size(); ++j) r[j] = (1 - momentum) * r[j] + momentum * stat[j];
    copy_(running, Tensor::from_vector(r, running.shape(), running.dtype()));
}

}  // namespace

Tensor batch_norm(const Tensor& x, Tensor running_mean, Tensor running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
    const char* op = "batch_norm";
    QBH_CHECK(x.defined(), op << ": the input is an undefined tensor");
    check_floating(op, x);
    check_cpu(op, x);
    QBH_CHECK(x.dim() >= 2, op << ": the input must be [N, C] or [N, C, ...], got " << describe(x));
    QBH_CHECK(eps >= 0, op << ": eps must be >= 0, got " << eps);
    const int64_t n = x.size(0), c = x.size(1);
    const int64_t s = n * c > 0 ? x.numel() / (n * c) : 0;
    check_param(op, "weight", weight, x, c);
    check_param(op, "bias", bias, x, c);
    check_param(op, "running_mean", running_mean, x, c);
    check_param(op, "running_var", running_var, x, c);
    QBH_CHECK(running_mean.defined() == running_var.defined(),
              op << ": pass both running_mean and running_var, or neither");
    QBH_CHECK(training || running_mean.defined(),
              op << ": evaluation mode needs running_mean and running_var for " << describe(x));
    QBH_CHECK(!training || n * s > 1,
              op << ": training needs more than 1 value per channel, got " << describe(x));

    Tensor xc = contiguous_for_kernel(x).detach();
    Tensor w = packed(weight), b = packed(bias);
    // The statistics the output is normalised with; copies, so later running updates cannot
    // change what the backward reads.
    Tensor mean = Tensor::empty({c}, x.dtype()), invstd = Tensor::empty({c}, x.dtype());
    Tensor out = Tensor::empty(x.shape(), x.dtype());
    dispatch_float(x.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        T* m = mean.data<T>();
        T* inv = invstd.data<T>();
        std::vector<double> var(c);
        if (training) {
            cpu::batchnorm_stats<T>(m, inv, xc.data<T>(), n, c, s);  // inv holds var for now
            for (int64_t j = 0; j < c; ++j) var[j] = inv[j];
        } else {
            std::vector<double> rm = running_mean.to_vector(), rv = running_var.to_vector();
            for (int64_t j = 0; j < c; ++j) {
                m[j] = static_cast<T>(rm[j]);
                var[j] = rv[j];
            }
        }
        for (int64_t j = 0; j < c; ++j) inv[j] = static_cast<T>(1.0 / std::sqrt(var[j] + eps));
        cpu::batchnorm_forward<T>(out.data<T>(), xc.data<T>(), m, inv, ptr<T>(w), ptr<T>(b), n, c,
                                  s);
        if (training && running_mean.defined()) {
            NoGradGuard no_grad;
            const double count = static_cast<double>(n * s);
            std::vector<double> batch_mean(m, m + c), unbiased(c);
            for (int64_t j = 0; j < c; ++j) unbiased[j] = var[j] * count / (count - 1);
            update_running(running_mean, batch_mean, momentum);
            update_running(running_var, unbiased, momentum);
        }
    });
    return record(op, out, {x, weight, bias},
                  [xc, w, mean, invstd, n, c, s, training](const Tensor& g, const Node& node) {
                      Tensor gc = contiguous_for_kernel(g);
                      Tensor dx = grad_buffer(node, 0, xc.shape(), xc.dtype());
                      Tensor dw = grad_buffer(node, 1, {c}, xc.dtype());
                      Tensor db = grad_buffer(node, 2, {c}, xc.dtype());
                      dispatch_float(xc.dtype(), "batch_norm backward", [&](auto tag) {
                          using T = decltype(tag);
                          cpu::batchnorm_backward<T>(
                              ptr<T>(dx), ptr<T>(dw), ptr<T>(db), gc.data<T>(), xc.data<T>(),
                              mean.data<T>(), invstd.data<T>(), ptr<T>(w), n, c, s, training);
                      });
                      return std::vector<Tensor>{dx, dw, db};
                  });
}

}  // namespace qbh
