// Reductions (see reduce.h). Each one permutes the reduced axes to the end, packs the input as
// [kept, reduced] and runs a row kernel; the gradient broadcasts back with expand.
#include "engine/ops/reduce.h"

#include <algorithm>

#include "engine/autograd/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce_cpu.h"
#include "engine/ops/view.h"

namespace qbh {

namespace {

// The geometry of one reduction: which axes go, the packed [rows, cols] view, output shapes.
struct ReducePlan {
    std::vector<bool> reduced;
    Shape keep_shape;  // reduced axes kept as 1 (keepdim layout)
    Shape out_shape;   // what the op returns
    int64_t rows = 1, cols = 1;
    Tensor packed;  // contiguous [rows, cols]
};

ReducePlan plan_reduce(const char* op, const Tensor& x, const std::vector<int64_t>& axes,
                       bool keepdim) {
    QBH_CHECK(x.defined(), op << ": the input is an undefined tensor");
    check_floating(op, x);
    check_cpu(op, x);
    ReducePlan p;
    const int64_t nd = x.dim();
    p.reduced.assign(nd, false);
    for (int64_t a : axes) {
        int64_t n = normalize_axis(a, nd, op);
        QBH_CHECK(!p.reduced[n], op << ": axis " << a << " is listed twice");
        p.reduced[n] = true;
    }
    std::vector<int64_t> order;
    for (int64_t i = 0; i < nd; ++i)
        if (!p.reduced[i]) order.push_back(i);
    for (int64_t i = 0; i < nd; ++i)
        if (p.reduced[i]) order.push_back(i);
    for (int64_t i = 0; i < nd; ++i) {
        p.keep_shape.push_back(p.reduced[i] ? 1 : x.shape()[i]);
        if (p.reduced[i])
            p.cols *= x.shape()[i];
        else
            p.rows *= x.shape()[i];
        if (!p.reduced[i] || keepdim) p.out_shape.push_back(p.reduced[i] ? 1 : x.shape()[i]);
    }
    NoGradGuard no_grad;
    p.packed = contiguous_for_kernel(permute(x, order));
    return p;
}

std::vector<int64_t> all_axes(const Tensor& x) {
    std::vector<int64_t> axes(x.dim());
    for (int64_t i = 0; i < x.dim(); ++i) axes[i] = i;
    return axes;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim) {
    ReducePlan p = plan_reduce("sum", x, axes, keepdim);
    Tensor out = Tensor::empty(p.out_shape, x.dtype(), x.device());
    dispatch_float(x.dtype(), "sum", [&](auto tag) {
        using T = decltype(tag);
        cpu::sum_rows<T>(out.data<T>(), p.packed.data<T>(), p.rows, p.cols);
    });
    return record("sum", out, {x},
                  [keep = p.keep_shape, in = x.shape()](const Tensor& g, const Node&) {
                      return std::vector<Tensor>{expand(reshape(g, keep), in)};
                  });
}

Tensor sum(const Tensor& x) {
    return sum(x, all_axes(x));
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim) {
    int64_t count = 1;
    for (int64_t a : axes) count *= x.size(a);
    QBH_CHECK(count > 0, "mean: reducing " << describe(x) << " over an empty axis");
    return sum(x, axes, keepdim) / static_cast<double>(count);
}

Tensor mean(const Tensor& x) {
    return mean(x, all_axes(x));
}

Tensor max(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim) {
    ReducePlan p = plan_reduce("max", x, axes, keepdim);
    QBH_CHECK(p.cols > 0, "max: reducing " << describe(x) << " over an empty axis");
    Tensor out = Tensor::empty(p.out_shape, x.dtype(), x.device());
    Tensor index = Tensor::empty({p.rows}, DType::i64, x.device());
    dispatch_float(x.dtype(), "max", [&](auto tag) {
        using T = decltype(tag);
        cpu::max_rows<T>(out.data<T>(), index.data<int64_t>(), p.packed.data<T>(), p.rows, p.cols);
    });
    // Backward: scatter g into the winning column of the packed layout, then undo the packing.
    std::vector<int64_t> order, inverse(x.dim());
    Shape packed_shape;
    for (int pass = 0; pass < 2; ++pass)
        for (int64_t i = 0; i < x.dim(); ++i)
            if (p.reduced[i] == (pass == 1)) order.push_back(i);
    for (int64_t i = 0; i < x.dim(); ++i) {
        inverse[order[i]] = i;
        packed_shape.push_back(x.shape()[order[i]]);
    }
    int64_t rows = p.rows, cols = p.cols;
    return record("max", out, {x}, [=](const Tensor& g, const Node&) {
        Tensor gc = contiguous_for_kernel(g);
        Tensor dx = Tensor::zeros({rows, cols}, g.dtype(), g.device());
        dispatch_float(g.dtype(), "max backward", [&](auto tag) {
            using T = decltype(tag);
            const int64_t* idx = index.data<int64_t>();
            T* d = dx.data<T>();
            const T* gp = gc.data<T>();
            for (int64_t r = 0; r < rows; ++r) d[r * cols + idx[r]] = gp[r];
        });
        return std::vector<Tensor>{permute(reshape(dx, packed_shape), inverse).contiguous()};
    });
}

Tensor max(const Tensor& x) {
    return max(x, all_axes(x));
}

Tensor var(const Tensor& x, const std::vector<int64_t>& axes, bool unbiased, bool keepdim) {
    int64_t count = 1;
    for (int64_t a : axes) count *= x.size(a);
    int64_t denom = unbiased ? count - 1 : count;
    QBH_CHECK(denom > 0, "var: " << count << " element(s) per group in " << describe(x)
                                 << " is too few for " << (unbiased ? "unbiased " : "")
                                 << "variance");
    Tensor centered = x - mean(x, axes, true);
    return sum(square(centered), axes, keepdim) / static_cast<double>(denom);
}

Tensor argmax(const Tensor& x, int64_t axis, bool keepdim) {
    ReducePlan p = plan_reduce("argmax", x, {axis}, keepdim);
    QBH_CHECK(p.cols > 0, "argmax: axis " << axis << " of " << describe(x) << " is empty");
    Tensor values = Tensor::empty({p.rows}, x.dtype(), x.device());
    Tensor index = Tensor::empty(p.out_shape, DType::i64, x.device());
    dispatch_float(x.dtype(), "argmax", [&](auto tag) {
        using T = decltype(tag);
        cpu::max_rows<T>(values.data<T>(), index.data<int64_t>(), p.packed.data<T>(), p.rows,
                         p.cols);
    });
    return index;
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
    if (x.shape() == shape) return x;
    QBH_CHECK(broadcast_shapes(shape, x.shape(), "sum_to") == x.shape(),
              "sum_to: " << describe(x) << " is not a broadcast of " << shape_str(shape));
    const int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
    std::vector<int64_t> axes;
    for (int64_t i = 0; i < x.dim(); ++i)
        if (i < lead || (shape[i - lead] == 1 && x.shape()[i] != 1)) axes.push_back(i);
    return reshape(sum(x, axes, true), shape);
}

}  // namespace qbh
