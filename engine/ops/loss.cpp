// Losses (see loss.h): argument checks, the fused CPU kernels of loss_cpu and their autograd
// nodes. Reductions happen here in double, so the kernels only produce per-element values.
#include "engine/ops/loss.h"

#include "engine/autograd/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/loss_cpu.h"
#include "engine/ops/view.h"

namespace qbh {

namespace {

// A 0-d tensor of `dtype` holding `sum` divided by `count` for mean, or `sum` itself.
Tensor reduce_scalar(double sum, int64_t count, Reduction reduction, DType dtype) {
    const double v = reduction == Reduction::mean ? sum / static_cast<double>(count) : sum;
    return Tensor::scalar(v, dtype);
}

// Sum of a contiguous f32/f64 vector in double.
double sum_values(const Tensor& t) {
    return dispatch_float(t.dtype(), "loss", [&](auto tag) {
        using T = decltype(tag);
        const T* p = t.data<T>();
        double acc = 0.0;
        for (int64_t i = 0; i < t.numel(); ++i) acc += p[i];
        return acc;
    });
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
    check_same("mse_loss", {&input, &target});
    check_floating("mse_loss", input);
    check_cpu("mse_loss", input);
    QBH_CHECK(input.shape() == target.shape(),
              "mse_loss: input " << describe(input) << " and target " << describe(target)
                                 << " must have the same shape (no broadcasting)");
    Tensor xc = contiguous_for_kernel(input).detach(), tc = contiguous_for_kernel(target).detach();
    const int64_t n = input.numel();
    Tensor out;
    dispatch_float(input.dtype(), "mse_loss", [&](auto tag) {
        using T = decltype(tag);
        if (reduction == Reduction::none) {
            out = Tensor::empty(input.shape(), input.dtype());
            cpu::squared_error<T>(out.data<T>(), xc.data<T>(), tc.data<T>(), n);
        } else {
            double s = cpu::squared_error_sum<T>(xc.data<T>(), tc.data<T>(), n);
            out = reduce_scalar(s, n, reduction, input.dtype());
        }
    });
    return record("mse_loss", out, {input, target}, [=](const Tensor& g, const Node& node) {
        Tensor gc = contiguous_for_kernel(g);
        Tensor dx = Tensor::empty(xc.shape(), xc.dtype());
        const double scale = reduction == Reduction::mean ? 2.0 / static_cast<double>(n) : 2.0;
        const int64_t g_stride = reduction == Reduction::none ? 1 : 0;
        dispatch_float(xc.dtype(), "mse_loss backward", [&](auto tag) {
            using T = decltype(tag);
            cpu::squared_error_backward<T>(dx.data<T>(), xc.data<T>(), tc.data<T>(), gc.data<T>(),
                                           g_stride, static_cast<T>(scale), n);
        });
        return std::vector<Tensor>{node.needs_grad(0) ? dx : Tensor(),
                                   node.needs_grad(1) ? neg(dx) : Tensor()};
    });
}

namespace {

void check_cross_entropy(const Tensor& logits, const Tensor& target, double label_smoothing) {
    QBH_CHECK(logits.defined() && target.defined(),
              "cross_entropy: the logits or the target is undefined");
    check_floating("cross_entropy", logits);
    check_cpu("cross_entropy", logits);
    check_dim("cross_entropy", "logits (expected [N, C])", logits, 2);
    QBH_CHECK(target.dtype() == DType::i64 && target.device() == logits.device(),
              "cross_entropy: target must be an i64 tensor on the logits' device, got "
                  << describe(target));
    QBH_CHECK(target.dim() == 1 && target.shape()[0] == logits.shape()[0],
              "cross_entropy: target " << describe(target) << " must be [N] = ["
                                       << logits.shape()[0] << "] for logits " << describe(logits));
    QBH_CHECK(logits.shape()[1] > 0,
              "cross_entropy: logits " << describe(logits) << " have no classes");
    QBH_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0,
              "cross_entropy: label_smoothing must be in [0, 1], got " << label_smoothing);
}

// Every class index in [0, C); `target` is the contiguous copy the kernels will read.
void check_targets(const Tensor& target, int64_t classes) {
    const int64_t* t = target.data<int64_t>();
    for (int64_t i = 0; i < target.numel(); ++i) {
        QBH_CHECK(t[i] >= 0 && t[i] < classes,
                  "cross_entropy: target value "
                      << t[i] << " at position " << i << " is out of range for " << classes
                      << " classes (expected 0 <= target < " << classes << ")");
    }
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target, double label_smoothing,
                     Reduction reduction) {
    check_cross_entropy(logits, target, label_smoothing);
    const int64_t rows = logits.shape()[0], classes = logits.shape()[1];
    Tensor xc = contiguous_for_kernel(logits).detach(), tc = contiguous_for_kernel(target);
    check_targets(tc, classes);
    Tensor per_row = Tensor::empty({rows}, logits.dtype());
    Tensor stats = Tensor::empty({rows, 2}, logits.dtype());
    dispatch_float(logits.dtype(), "cross_entropy", [&](auto tag) {
        using T = decltype(tag);
        cpu::cross_entropy_forward<T>(per_row.data<T>(), stats.data<T>(), xc.data<T>(),
                                      tc.data<int64_t>(), rows, classes,
                                      static_cast<T>(label_smoothing));
    });
    Tensor out = reduction == Reduction::none
                     ? per_row
                     : reduce_scalar(sum_values(per_row), rows, reduction, logits.dtype());
    return record("cross_entropy", out, {logits}, [=](const Tensor& g, const Node&) {
        Tensor gc = contiguous_for_kernel(g);
        Tensor dx = Tensor::empty(xc.shape(), xc.dtype());
        const double scale = reduction == Reduction::mean ? 1.0 / static_cast<double>(rows) : 1.0;
        const int64_t g_stride = reduction == Reduction::none ? 1 : 0;
        dispatch_float(xc.dtype(), "cross_entropy backward", [&](auto tag) {
            using T = decltype(tag);
            cpu::cross_entropy_backward<T>(
                dx.data<T>(), xc.data<T>(), stats.data<T>(), tc.data<int64_t>(), gc.data<T>(),
                g_stride, static_cast<T>(scale), rows, classes, static_cast<T>(label_smoothing));
        });
        return std::vector<Tensor>{dx};
    });
}

}  // namespace qbh
