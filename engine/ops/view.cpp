// View and copy ops with their autograd nodes (see view.h).
#include "engine/ops/view.h"

#include <numeric>

#include "engine/autograd/autograd.h"
#include "engine/cuda/cuda_api.h"
#include "engine/ops/copy_cpu.h"
#include "engine/ops/reduce.h"

namespace qbh {

namespace {

Shape infer_shape(const Shape& requested, int64_t numel, const char* op, const Tensor& x) {
    Shape s = requested;
    int64_t known = 1, infer_at = -1;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == -1) {
            QBH_CHECK(infer_at < 0, op << ": only one size may be -1 in " << shape_str(requested));
            infer_at = static_cast<int64_t>(i);
        } else {
            QBH_CHECK(s[i] >= 0, op << ": invalid size " << s[i] << " in " << shape_str(requested));
            known *= s[i];
        }
    }
    if (infer_at >= 0) {
        QBH_CHECK(known > 0 && numel % known == 0,
                  op << ": cannot infer -1 in " << shape_str(requested) << " for " << describe(x));
        s[infer_at] = numel / known;
    }
    QBH_CHECK(numel_of(s) == numel, op << ": shape " << shape_str(requested) << " holds "
                                       << numel_of(s) << " elements but the input " << describe(x)
                                       << " has " << numel);
    return s;
}

}  // namespace

Tensor view(const Tensor& x, Shape shape) {
    shape = infer_shape(shape, x.numel(), "view", x);
    QBH_CHECK(x.is_contiguous(), "view: " << describe(x)
                                          << " is not contiguous, so it cannot be viewed as "
                                          << shape_str(shape) << "; use reshape (which copies)");
    Tensor out = make_view(x, shape, contiguous_strides(shape), x.offset());
    Shape in_shape = x.shape();
    return record("view", out, {x}, [in_shape](const Tensor& g, const Node&) {
        return std::vector<Tensor>{reshape(g, in_shape)};
    });
}

Tensor reshape(const Tensor& x, Shape shape) {
    shape = infer_shape(shape, x.numel(), "reshape", x);
    return view(x.is_contiguous() ? x : contiguous(x), shape);
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& order) {
    const int64_t nd = x.dim();
    QBH_CHECK(static_cast<int64_t>(order.size()) == nd,
              "permute: order has " << order.size() << " axes for " << describe(x));
    Shape shape(nd);
    Strides strides(nd);
    std::vector<int64_t> inverse(nd, -1);
    for (int64_t i = 0; i < nd; ++i) {
        int64_t a = normalize_axis(order[i], nd, "permute");
        QBH_CHECK(inverse[a] < 0, "permute: axis " << a << " appears twice in the order");
        inverse[a] = i;
        shape[i] = x.shape()[a];
        strides[i] = x.strides()[a];
    }
    Tensor out = make_view(x, shape, strides, x.offset());
    return record("permute", out, {x}, [inverse](const Tensor& g, const Node&) {
        return std::vector<Tensor>{permute(g, inverse)};
    });
}

Tensor transpose(const Tensor& x, int64_t a, int64_t b) {
    std::vector<int64_t> order(x.dim());
    std::iota(order.begin(), order.end(), 0);
    std::swap(order[normalize_axis(a, x.dim(), "transpose")],
              order[normalize_axis(b, x.dim(), "transpose")]);
    return permute(x, order);
}

Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t end, int64_t step) {
    axis = normalize_axis(axis, x.dim(), "slice");
    const int64_t n = x.shape()[axis];
    QBH_CHECK(step >= 1, "slice: step must be at least 1, got " << step);
    if (start < 0) start += n;
    if (end < 0) end += n;
    start = std::clamp<int64_t>(start, 0, n);
    end = std::clamp<int64_t>(end, start, n);
    Shape shape = x.shape();
    Strides strides = x.strides();
    shape[axis] = (end - start + step - 1) / step;
    strides[axis] *= step;
    Tensor out = make_view(x, shape, strides, x.offset() + start * x.strides()[axis]);
    Shape in_shape = x.shape();
    return record("slice", out, {x}, [=](const Tensor& g, const Node&) {
        Tensor full = Tensor::zeros(in_shape, g.dtype(), g.device());
        Tensor window = slice(full, axis, start, end, step);  // a plain view: full needs no grad
        copy_(window, g);
        return std::vector<Tensor>{full};
    });
}

Tensor select(const Tensor& x, int64_t axis, int64_t index) {
    axis = normalize_axis(axis, x.dim(), "select");
    const int64_t n = x.shape()[axis];
    QBH_CHECK(index >= -n && index < n, "select: index " << index << " out of range for axis "
                                                         << axis << " of " << describe(x));
    if (index < 0) index += n;
    return squeeze(slice(x, axis, index, index + 1), axis);
}

Tensor expand(const Tensor& x, const Shape& shape) {
    QBH_CHECK(shape.size() >= x.shape().size(),
              "expand: cannot expand " << describe(x) << " to fewer axes " << shape_str(shape));
    Shape target = shape;
    const size_t lead = shape.size() - x.shape().size();
    for (size_t i = 0; i < x.shape().size(); ++i) {
        if (target[lead + i] == -1) target[lead + i] = x.shape()[i];
        QBH_CHECK(x.shape()[i] == target[lead + i] || x.shape()[i] == 1,
                  "expand: axis " << i << " of " << describe(x) << " has size " << x.shape()[i]
                                  << " and cannot expand to " << shape_str(shape)
                                  << " (only size-1 axes can)");
    }
    Tensor out =
        make_view(x, target, broadcast_strides(x.shape(), x.strides(), target), x.offset());
    Shape in_shape = x.shape();
    return record("expand", out, {x}, [in_shape](const Tensor& g, const Node&) {
        return std::vector<Tensor>{sum_to(g, in_shape)};
    });
}

Tensor unsqueeze(const Tensor& x, int64_t axis) {
    axis = normalize_axis(axis, x.dim() + 1, "unsqueeze");
    Shape shape = x.shape();
    shape.insert(shape.begin() + axis, 1);
    return reshape(x, shape);
}

Tensor squeeze(const Tensor& x, int64_t axis) {
    axis = normalize_axis(axis, x.dim(), "squeeze");
    QBH_CHECK(x.shape()[axis] == 1, "squeeze: axis " << axis << " of " << describe(x)
                                                     << " has size " << x.shape()[axis]
                                                     << ", expected 1");
    Shape shape = x.shape();
    Strides strides = x.strides();
    shape.erase(shape.begin() + axis);
    strides.erase(strides.begin() + axis);
    Tensor out = make_view(x, shape, strides, x.offset());
    Shape in_shape = x.shape();
    return record("squeeze", out, {x}, [in_shape](const Tensor& g, const Node&) {
        return std::vector<Tensor>{reshape(g, in_shape)};
    });
}

Tensor flatten(const Tensor& x, int64_t start_axis, int64_t end_axis) {
    if (x.dim() == 0) return reshape(x, {1});
    start_axis = normalize_axis(start_axis, x.dim(), "flatten");
    end_axis = normalize_axis(end_axis, x.dim(), "flatten");
    Shape shape(x.shape().begin(), x.shape().begin() + start_axis);
    int64_t merged = 1;
    for (int64_t i = start_axis; i <= end_axis; ++i) merged *= x.shape()[i];
    shape.push_back(merged);
    shape.insert(shape.end(), x.shape().begin() + end_axis + 1, x.shape().end());
    return reshape(x, shape);
}

// ---- copies ----

namespace {

// A fresh contiguous tensor with x's values converted to `dtype` (no autograd).
Tensor copy_as(const Tensor& x, DType dtype) {
    Tensor out = Tensor::empty(x.shape(), dtype, x.device());
    copy_(out, x);
    return out;
}

}  // namespace

Tensor contiguous_for_kernel(const Tensor& x) {
    if (x.is_contiguous()) return x;
    NoGradGuard no_grad;
    return copy_as(x, x.dtype());
}

Tensor contiguous(const Tensor& x) {
    if (x.is_contiguous()) return x;
    return record("contiguous", copy_as(x, x.dtype()), {x},
                  [](const Tensor& g, const Node&) { return std::vector<Tensor>{g}; });
}

Tensor clone(const Tensor& x) {
    return record("clone", copy_as(x, x.dtype()), {x},
                  [](const Tensor& g, const Node&) { return std::vector<Tensor>{g}; });
}

Tensor to_dtype(const Tensor& x, DType dtype) {
    if (x.dtype() == dtype) return x;
    DType in = x.dtype();
    return record("to_dtype", copy_as(x, dtype), {x}, [in](const Tensor& g, const Node&) {
        return std::vector<Tensor>{to_dtype(g, in)};
    });
}

Tensor to_device(const Tensor& x, Device device) {
    if (x.device() == device) return x;
    Tensor src = contiguous(x);
    Tensor out = Tensor::empty(x.shape(), x.dtype(), device);
    size_t nbytes = x.numel() * dtype_size(x.dtype());
    if (device == Device::cuda)
        cuda::copy_host_to_device(out.raw_data(), src.raw_data(), nbytes);
    else
        cuda::copy_device_to_host(out.raw_data(), src.raw_data(), nbytes);
    Device in = x.device();
    return record("to_device", out, {x}, [in](const Tensor& g, const Node&) {
        return std::vector<Tensor>{to_device(g, in)};
    });
}

void copy_(Tensor& dst, const Tensor& src) {
    QBH_CHECK(dst.device() == src.device(),
              "copy_: source " << describe(src) << " and destination " << describe(dst)
                               << " are on different devices; use to()");
    QBH_CHECK(!(grad_enabled() && dst.requires_grad()),
              "copy_: in-place write into " << describe(dst)
                                            << " which requires grad; wrap it in NoGradGuard");
    Shape out = broadcast_shapes(dst.shape(), src.shape(), "copy_");
    QBH_CHECK(out == dst.shape(), "copy_: source " << describe(src)
                                                   << " does not broadcast to destination "
                                                   << describe(dst));
    QBH_CHECK(!dst.is_cuda(), "copy_: strided copies on CUDA arrive with the CUDA backend");
    Strides src_strides = broadcast_strides(src.shape(), src.strides(), dst.shape());
    if (dst.is_contiguous()) {
        cpu::copy_strided(dst.raw_data(), dst.dtype(), src.raw_data(), src.dtype(), dst.shape(),
                          src_strides);
    } else {
        Tensor converted = src.dtype() == dst.dtype() ? src : copy_as(src, dst.dtype());
        if (!src.same(converted))
            src_strides = broadcast_strides(converted.shape(), converted.strides(), dst.shape());
        cpu::copy_strided_to_strided(dst.raw_data(), dst.strides(), converted.raw_data(),
                                     src_strides, dst.shape(), dst.dtype());
    }
    dst.storage()->bump_version();
}

void fill_(Tensor& dst, double value) {
    Tensor v = Tensor::empty({}, dst.dtype(), Device::cpu);
    double tmp = value;
    cpu::copy_strided(v.raw_data(), dst.dtype(), &tmp, DType::f64, {}, {});
    if (dst.is_cuda()) v = to_device(v, Device::cuda);
    copy_(dst, v);
}

}  // namespace qbh
