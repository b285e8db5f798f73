// conv2d and pooling (see conv.h): argument checks with messages that name the sizes, the
// geometry handed to the CPU kernels, and the autograd nodes.
#include "engine/ops/conv.h"

#include "engine/autograd/autograd.h"
#include "engine/ops/conv_cpu.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/reduce.h"
#include "engine/ops/view.h"

namespace qbh {

namespace {

std::string pair_str(int64_t a, int64_t b) {
    return std::to_string(a) + "x" + std::to_string(b);
}

// Output size along one axis, or an error naming every number that produced it.
int64_t out_size(const char* op, int64_t in_h, int64_t in_w, int64_t kh, int64_t kw,
                 std::array<int64_t, 2> stride, std::array<int64_t, 2> padding, int axis) {
    const int64_t in = axis == 0 ? in_h : in_w, k = axis == 0 ? kh : kw;
    const int64_t padded = in + 2 * padding[axis] - k;
    const int64_t size = padded < 0 ? 0 : padded / stride[axis] + 1;
    QBH_CHECK(size >= 1, op << ": output size would be less than 1: input " << pair_str(in_h, in_w)
                            << ", kernel " << pair_str(kh, kw) << ", stride "
                            << pair_str(stride[0], stride[1]) << ", padding "
                            << pair_str(padding[0], padding[1])
                            << " (the padded input must be at least the kernel)");
    return size;
}

void check_stride_padding(const char* op, std::array<int64_t, 2> stride,
                          std::array<int64_t, 2> padding) {
    QBH_CHECK(stride[0] >= 1 && stride[1] >= 1,
              op << ": stride must be at least 1, got " << pair_str(stride[0], stride[1]));
    QBH_CHECK(padding[0] >= 0 && padding[1] >= 0,
              op << ": padding must be non-negative, got " << pair_str(padding[0], padding[1]));
}

cpu::ConvGeometry conv_geometry(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                const Conv2dOptions& opt) {
    const char* op = "conv2d";
    check_same(op, {&x, &weight});
    check_floating(op, x);
    check_cpu(op, x);
    check_dim(op, "input", x, 4);
    check_dim(op, "weight", weight, 4);
    check_stride_padding(op, opt.stride, opt.padding);
    const int64_t c = x.size(1), o = weight.size(0), groups = opt.groups;
    QBH_CHECK(groups >= 1, op << ": groups must be at least 1, got " << groups);
    QBH_CHECK(c % groups == 0, op << ": input channels " << c << " of " << describe(x)
                                  << " are not divisible by groups " << groups);
    QBH_CHECK(o % groups == 0, op << ": output channels " << o << " of weight " << describe(weight)
                                  << " are not divisible by groups " << groups);
    QBH_CHECK(weight.size(1) == c / groups && weight.size(2) >= 1 && weight.size(3) >= 1,
              op << ": weight shape mismatch: expected [" << o << ", " << c / groups
                 << ", kH >= 1, kW >= 1] (input channels " << c << " / groups " << groups
                 << "), got " << describe(weight));
    if (bias.defined()) {
        check_same(op, {&x, &bias});
        QBH_CHECK(bias.dim() == 1 && bias.size(0) == o,
                  op << ": bias must be [" << o << "] to match weight " << describe(weight)
                     << ", got " << describe(bias));
    }
    cpu::ConvGeometry g{};
    g.n = x.size(0), g.c = c, g.h = x.size(2), g.w = x.size(3);
    g.o = o, g.kh = weight.size(2), g.kw = weight.size(3);
    g.sh = opt.stride[0], g.sw = opt.stride[1], g.ph = opt.padding[0], g.pw = opt.padding[1];
    g.groups = groups;
    g.ho = out_size(op, g.h, g.w, g.kh, g.kw, opt.stride, opt.padding, 0);
    g.wo = out_size(op, g.h, g.w, g.kh, g.kw, opt.stride, opt.padding, 1);
    return g;
}

cpu::PoolGeometry pool_geometry(const char* op, const Tensor& x, const Pool2dOptions& opt) {
    QBH_CHECK(x.defined(), op << ": the input is an undefined tensor");
    check_floating(op, x);
    check_cpu(op, x);
    check_dim(op, "input", x, 4);
    const auto& k = opt.kernel;
    QBH_CHECK(k[0] >= 1 && k[1] >= 1,
              op << ": kernel must be at least 1x1, got " << pair_str(k[0], k[1]));
    check_stride_padding(op, opt.stride, opt.padding);
    QBH_CHECK(2 * opt.padding[0] <= k[0] && 2 * opt.padding[1] <= k[1],
              op << ": padding " << pair_str(opt.padding[0], opt.padding[1])
                 << " must be at most half the kernel " << pair_str(k[0], k[1]));
    cpu::PoolGeometry g{};
    g.planes = x.size(0) * x.size(1), g.h = x.size(2), g.w = x.size(3);
    g.kh = k[0], g.kw = k[1], g.sh = opt.stride[0], g.sw = opt.stride[1];
    g.ph = opt.padding[0], g.pw = opt.padding[1];
    g.ho = out_size(op, g.h, g.w, g.kh, g.kw, opt.stride, opt.padding, 0);
    g.wo = out_size(op, g.h, g.w, g.kh, g.kw, opt.stride, opt.padding, 1);
    return g;
}

Shape pool_out_shape(const Tensor& x, const cpu::PoolGeometry& g) {
    return {x.size(0), x.size(1), g.ho, g.wo};
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
              const Conv2dOptions& options) {
    const cpu::ConvGeometry g = conv_geometry(x, weight, bias, options);
    Tensor xc = contiguous_for_kernel(x), wc = contiguous_for_kernel(weight);
    Tensor bc = bias.defined() ? contiguous_for_kernel(bias) : Tensor();
    Tensor out = Tensor::empty({g.n, g.o, g.ho, g.wo}, x.dtype(), x.device());
    dispatch_float(x.dtype(), "conv2d", [&](auto tag) {
        using T = decltype(tag);
        cpu::conv2d_forward<T>(out.data<T>(), xc.data<T>(), wc.data<T>(),
                               bc.defined() ? bc.data<T>() : nullptr, g);
    });
    std::vector<Tensor> inputs{x, weight};
    if (bias.defined()) inputs.push_back(bias);
    return record("conv2d", out, inputs,
                  [xc = xc.detach(), wc = wc.detach(), g](const Tensor& dy, const Node& n) {
                      Tensor dyc = contiguous_for_kernel(dy);
                      std::vector<Tensor> grads(n.inputs.size());
                      if (n.needs_grad(0)) grads[0] = Tensor::empty_like(xc);
                      if (n.needs_grad(1)) grads[1] = Tensor::empty_like(wc);
                      if (n.needs_grad(2)) grads[2] = Tensor::empty({g.o}, dy.dtype(), dy.device());
                      dispatch_float(dyc.dtype(), "conv2d backward", [&](auto tag) {
                          using T = decltype(tag);
                          auto ptr = [&](size_t i) {
                              return i < grads.size() && grads[i].defined() ? grads[i].data<T>()
                                                                            : nullptr;
                          };
                          cpu::conv2d_backward<T>(ptr(0), ptr(1), ptr(2), dyc.data<T>(),
                                                  xc.data<T>(), wc.data<T>(), g);
                      });
                      return grads;
                  });
}

Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& options) {
    const cpu::PoolGeometry g = pool_geometry("avg_pool2d", x, options);
    Tensor xc = contiguous_for_kernel(x);
    Tensor out = Tensor::empty(pool_out_shape(x, g), x.dtype(), x.device());
    dispatch_float(x.dtype(), "avg_pool2d", [&](auto tag) {
        using T = decltype(tag);
        cpu::avg_pool2d_forward<T>(out.data<T>(), xc.data<T>(), g);
    });
    return record("avg_pool2d", out, {x}, [g, in = x.shape()](const Tensor& dy, const Node&) {
        Tensor dyc = contiguous_for_kernel(dy);
        Tensor dx = Tensor::empty(in, dy.dtype(), dy.device());
        dispatch_float(dy.dtype(), "avg_pool2d backward", [&](auto tag) {
            using T = decltype(tag);
            cpu::avg_pool2d_backward<T>(dx.data<T>(), dyc.data<T>(), g);
        });
        return std::vector<Tensor>{dx};
    });
}

Tensor max_pool2d(const Tensor& x, const Pool2dOptions& options) {
    const cpu::PoolGeometry g = pool_geometry("max_pool2d", x, options);
    Tensor xc = contiguous_for_kernel(x);
    Shape shape = pool_out_shape(x, g);
    Tensor out = Tensor::empty(shape, x.dtype(), x.device());
    Tensor argmax = Tensor::empty(shape, DType::i64, x.device());
    dispatch_float(x.dtype(), "max_pool2d", [&](auto tag) {
        using T = decltype(tag);
        cpu::max_pool2d_forward<T>(out.data<T>(), argmax.data<int64_t>(), xc.data<T>(), g);
    });
    return record(
        "max_pool2d", out, {x}, [g, argmax, in = x.shape()](const Tensor& dy, const Node&) {
            Tensor dyc = contiguous_for_kernel(dy);
            Tensor dx = Tensor::empty(in, dy.dtype(), dy.device());
            dispatch_float(dy.dtype(), "max_pool2d backward", [&](auto tag) {
                using T = decltype(tag);
                cpu::max_pool2d_backward<T>(dx.data<T>(), dyc.data<T>(), argmax.data<int64_t>(), g);
            });
            return std::vector<Tensor>{dx};
        });
}

Tensor global_avg_pool2d(const Tensor& x) {
    QBH_CHECK(x.defined(), "global_avg_pool2d: the input is an undefined tensor");
    check_dim("global_avg_pool2d", "input", x, 4);
    QBH_CHECK(x.size(2) >= 1 && x.size(3) >= 1,
              "global_avg_pool2d: the input " << describe(x) << " has an empty H or W");
    return mean(x, {2, 3});
}

}  // namespace qbh
