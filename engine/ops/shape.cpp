// Shape ops that move data (see shape.h): argument checks, dispatch to shape_cpu kernels and
// autograd nodes. Gradients of cat/pad are slices of g; those of the index ops are index ops.
#include "engine/ops/shape.h"

#include <algorithm>
#include <sstream>

#include "engine/autograd/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/shape_cpu.h"
#include "engine/ops/view.h"

namespace qbh {

namespace {

// The row-major multi-index of flat position `pos` in `shape`, as "[i, j, k]".
std::string position_str(int64_t pos, const Shape& shape) {
    Shape idx(shape.size());
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
        idx[d] = pos % shape[d];
        pos /= shape[d];
    }
    return shape_str(idx);
}

// Every tensor defined, of the first one's dtype and device, with its number of axes; for
// cat the shapes may differ on `axis` (pass -1 for stack, where they must be equal).
void check_list(const char* op, const std::vector<Tensor>& ts, int64_t axis) {
    QBH_CHECK(!ts.empty(), op << ": expected at least one tensor, got an empty list");
    for (size_t i = 0; i < ts.size(); ++i) {
        QBH_CHECK(ts[i].defined(), op << ": tensor " << i << " is undefined");
        check_cpu(op, ts[i]);
    }
    const Tensor& t0 = ts[0];
    for (size_t i = 1; i < ts.size(); ++i) {
        const Tensor& t = ts[i];
        QBH_CHECK(t.dtype() == t0.dtype() && t.device() == t0.device(),
                  op << ": tensor " << i << " is " << describe(t) << " but tensor 0 is "
                     << describe(t0) << " (all must share dtype and device)");
        bool same = t.dim() == t0.dim();
        for (int64_t d = 0; same && d < t.dim(); ++d)
            same = d == axis || t.shape()[d] == t0.shape()[d];
        QBH_CHECK(same, op << ": tensor " << i << " has shape " << shape_str(t.shape())
                           << " but tensor 0 has " << shape_str(t0.shape()) << "; expected equal"
                           << (axis >= 0 ? " sizes on every axis but " + std::to_string(axis)
                                         : std::string(" shapes")));
    }
}

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t axis) {
    QBH_CHECK(tensors.empty() || !tensors[0].defined() || tensors[0].dim() > 0,
              "cat: cannot concatenate 0-d tensors (use stack)");
    if (!tensors.empty() && tensors[0].defined())
        axis = normalize_axis(axis, tensors[0].dim(), "cat");
    check_list("cat", tensors, axis);
    Shape shape = tensors[0].shape();
    shape[axis] = 0;
    for (const Tensor& t : tensors) shape[axis] += t.shape()[axis];
    Tensor out = Tensor::empty(shape, tensors[0].dtype(), tensors[0].device());
    // As [outer, size(axis) * inner]: each input fills a column block of every row.
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
    for (int64_t d = axis + 1; d < out.dim(); ++d) inner *= shape[d];
    std::vector<int64_t> starts;
    int64_t start = 0;
    for (const Tensor& t : tensors) {
        starts.push_back(start);
        Tensor tc = contiguous_for_kernel(t);
        const int64_t cols = t.shape()[axis] * inner;
        dispatch_all(out.dtype(), "cat", [&](auto tag) {
            using T = decltype(tag);
            cpu::copy_rows<T>(out.data<T>() + start * inner, shape[axis] * inner, tc.data<T>(),
                              cols, outer, cols);
        });
        start += t.shape()[axis];
    }
    return record("cat", out, tensors, [axis, starts](const Tensor& g, const Node& n) {
        std::vector<Tensor> grads(starts.size());
        for (size_t i = 0; i < starts.size(); ++i) {
            const int64_t end =
                i + 1 < starts.size() ? starts[i + 1] : g.shape()[static_cast<size_t>(axis)];
            if (n.needs_grad(i)) grads[i] = slice(g, axis, starts[i], end);
        }
        return grads;
    });
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t axis) {
    check_list("stack", tensors, -1);
    axis = normalize_axis(axis, tensors[0].dim() + 1, "stack");
    std::vector<Tensor> parts;
    for (const Tensor& t : tensors) parts.push_back(unsqueeze(t, axis));
    return cat(parts, axis);
}

namespace {

// Positive constant padding; `before`/`after` per axis, all >= 0.
Tensor pad_positive(const Tensor& x, const std::vector<int64_t>& before,
                    const std::vector<int64_t>& after, double value) {
    Shape shape = x.shape();
    for (int64_t d = 0; d < x.dim(); ++d) shape[d] += before[d] + after[d];
    Tensor out = Tensor::empty(shape, x.dtype(), x.device());
    Tensor xc = contiguous_for_kernel(x);
    dispatch_all(x.dtype(), "pad", [&](auto tag) {
        using T = decltype(tag);
        cpu::pad_constant<T>(out.data<T>(), shape, xc.data<T>(), x.shape(), before,
                             static_cast<T>(value));
    });
    return record("pad", out, {x}, [before, in = x.shape()](const Tensor& g, const Node&) {
        Tensor gx = g;
        for (size_t d = 0; d < in.size(); ++d)
            if (g.shape()[d] != in[d]) gx = slice(gx, d, before[d], before[d] + in[d]);
        return std::vector<Tensor>{gx};
    });
}

}  // namespace

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value) {
    QBH_CHECK(x.defined(), "pad: the input is an undefined tensor");
    check_cpu("pad", x);
    const int64_t nd = x.dim();
    const int64_t npairs = static_cast<int64_t>(pads.size()) / 2;
    QBH_CHECK(pads.size() % 2 == 0 && npairs <= nd,
              "pad: pads has " << pads.size() << " entries for " << describe(x)
                               << "; expected an even count of at most " << 2 * nd
                               << " ((before, after) pairs from the last axis)");
    std::vector<int64_t> before(nd, 0), after(nd, 0);
    for (int64_t p = 0; p < npairs; ++p) {
        const int64_t d = nd - 1 - p;
        before[d] = pads[2 * p];
        after[d] = pads[2 * p + 1];
        QBH_CHECK(x.shape()[d] + before[d] + after[d] >= 0,
                  "pad: pads (" << before[d] << ", " << after[d] << ") on axis " << d << " of "
                                << describe(x) << " give a negative size");
    }
    // Negative pads crop (as in PyTorch): slice first, then pad what is left.
    Tensor cropped = x;
    for (int64_t d = 0; d < nd; ++d) {
        if (before[d] >= 0 && after[d] >= 0) continue;
        const int64_t start = before[d] < 0 ? -before[d] : 0;
        const int64_t end = x.shape()[d] - (after[d] < 0 ? -after[d] : 0);
        cropped = slice(cropped, d, start, end);
        before[d] = std::max<int64_t>(before[d], 0);
        after[d] = std::max<int64_t>(after[d], 0);
    }
    return pad_positive(cropped, before, after, value);
}

// ---- index ops ----

namespace {

// index is i64 on x's device; its values along `axis` must lie in [0, x.size(axis)).
void check_index(const char* op, const Tensor& x, int64_t axis, const Tensor& index) {
    QBH_CHECK(index.defined(), op << ": the index is an undefined tensor");
    QBH_CHECK(index.dtype() == DType::i64,
              op << ": the index must be an i64 tensor, got " << describe(index));
    QBH_CHECK(index.device() == x.device(), op << ": index " << describe(index) << " and input "
                                               << describe(x) << " are on different devices");
    const int64_t size = x.shape()[axis];
    int64_t bad =
        cpu::find_out_of_range(index.data<int64_t>(), index.shape(), index.strides(), size);
    if (bad >= 0) {
        std::vector<double> v = index.to_vector();
        QBH_FAIL(op << ": index value " << static_cast<int64_t>(v[bad]) << " at position "
                    << position_str(bad, index.shape()) << " is out of range for axis " << axis
                    << " of size " << size << " (input " << describe(x) << ")");
    }
}

// gather/scatter geometry: index has x's number of axes and fits inside x off `axis` (and
// inside src on every axis, when src is given).
void check_gather_shapes(const char* op, const Tensor& x, int64_t axis, const Tensor& index,
                         const Tensor* src) {
    QBH_CHECK(index.defined() && index.dim() == x.dim(),
              op << ": index " << (index.defined() ? describe(index) : "undefined")
                 << " must have as many axes as the input " << describe(x));
    for (int64_t d = 0; d < x.dim(); ++d) {
        QBH_CHECK(d == axis || index.shape()[d] <= x.shape()[d],
                  op << ": index " << describe(index) << " is larger than the input " << describe(x)
                     << " on axis " << d << " (only axis " << axis << " may be larger)");
        QBH_CHECK(!src || index.shape()[d] <= src->shape()[d],
                  op << ": index " << describe(index) << " is larger than src " << describe(*src)
                     << " on axis " << d);
    }
}

// Pads the gathered gradient (index shape) with zeros up to src's shape.
Tensor grow_to(const Tensor& t, const Shape& shape) {
    std::vector<int64_t> pads;
    for (int64_t d = t.dim() - 1; d >= 0; --d) {
        pads.push_back(0);
        pads.push_back(shape[d] - t.shape()[d]);
    }
    return t.shape() == shape ? t : pad(t, pads);
}

Tensor scatter_impl(const char* op, const Tensor& x, int64_t axis, const Tensor& index,
                    const Tensor& src, bool accumulate) {
    QBH_CHECK(x.defined() && src.defined(), op << ": the input or src is undefined");
    check_same(op, {&x, &src});
    check_cpu(op, x);
    axis = normalize_axis(axis, x.dim(), op);
    QBH_CHECK(src.dim() == x.dim(), op << ": src " << describe(src)
                                       << " must have as many axes as the input " << describe(x));
    check_gather_shapes(op, x, axis, index, &src);
    check_index(op, x, axis, index);
    Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
    {
        NoGradGuard no_grad;
        copy_(out, x);
    }
    int64_t dup = -1;
    dispatch_all(x.dtype(), op, [&](auto tag) {
        using T = decltype(tag);
        dup = cpu::scatter<T>(out.data<T>(), x.shape(), index.shape(), axis, index.data<int64_t>(),
                              index.strides(), src.data<T>(), src.strides(), accumulate);
    });
    if (dup >= 0) {
        std::vector<double> v = index.to_vector();
        QBH_FAIL(op << ": index value " << static_cast<int64_t>(v[dup]) << " at position "
                    << position_str(dup, index.shape()) << " writes an element already written"
                    << " (indices must not repeat along axis " << axis
                    << "; use scatter_add to sum)");
    }
    return record(op, out, {x, src},
                  [axis, accumulate, index = index.detach(), src_shape = src.shape()](
                      const Tensor& g, const Node& n) {
                      Tensor gx, gsrc;
                      if (n.needs_grad(0))
                          gx = accumulate ? g
                                          : scatter(g, axis, index,
                                                    Tensor::zeros(index.shape(), g.dtype()));
                      if (n.needs_grad(1)) gsrc = grow_to(gather(g, axis, index), src_shape);
                      return std::vector<Tensor>{gx, gsrc};
                  });
}

}  // namespace

Tensor gather(const Tensor& x, int64_t axis, const Tensor& index) {
    QBH_CHECK(x.defined(), "gather: the input is an undefined tensor");
    check_cpu("gather", x);
    axis = normalize_axis(axis, x.dim(), "gather");
    check_gather_shapes("gather", x, axis, index, nullptr);
    check_index("gather", x, axis, index);
    Tensor out = Tensor::empty(index.shape(), x.dtype(), x.device());
    dispatch_all(x.dtype(), "gather", [&](auto tag) {
        using T = decltype(tag);
        cpu::gather<T>(out.data<T>(), index.shape(), axis, index.data<int64_t>(), index.strides(),
                       x.data<T>(), x.strides());
    });
    // Backward: scatter-add g into zeros. The index was checked above, so the kernel runs
    // directly (no range check, no copy of the zeros).
    return record("gather", out, {x},
                  [axis, index = index.detach(), in = x.shape()](const Tensor& g, const Node&) {
                      Tensor dx = Tensor::zeros(in, g.dtype(), g.device());
                      dispatch_float(g.dtype(), "gather backward", [&](auto tag) {
                          using T = decltype(tag);
                          cpu::scatter<T>(dx.data<T>(), in, index.shape(), axis,
                                          index.data<int64_t>(), index.strides(), g.data<T>(),
                                          g.strides(), true);
                      });
                      return std::vector<Tensor>{dx};
                  });
}

Tensor scatter(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& src) {
    return scatter_impl("scatter", x, axis, index, src, false);
}

Tensor scatter_add(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& src) {
    return scatter_impl("scatter_add", x, axis, index, src, true);
}

Tensor index_select(const Tensor& x, int64_t axis, const Tensor& index) {
    QBH_CHECK(x.defined(), "index_select: the input is an undefined tensor");
    check_cpu("index_select", x);
    axis = normalize_axis(axis, x.dim(), "index_select");
    QBH_CHECK(index.defined() && index.dim() == 1,
              "index_select: index must be a 1-D i64 tensor, got "
                  << (index.defined() ? describe(index) : "an undefined tensor"));
    check_index("index_select", x, axis, index);
    Shape shape = x.shape();
    const int64_t n = shape[axis], m = index.numel();
    shape[axis] = m;
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
    for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= shape[d];
    Tensor xc = contiguous_for_kernel(x), ic = contiguous_for_kernel(index);
    Tensor out = Tensor::empty(shape, x.dtype(), x.device());
    dispatch_all(x.dtype(), "index_select", [&](auto tag) {
        using T = decltype(tag);
        cpu::index_select<T>(out.data<T>(), xc.data<T>(), ic.data<int64_t>(), outer, n, inner, m);
    });
    return record("index_select", out, {x}, [=, in = x.shape()](const Tensor& g, const Node&) {
        Tensor gc = contiguous_for_kernel(g);
        Tensor dx = Tensor::zeros(in, g.dtype(), g.device());
        dispatch_float(g.dtype(), "index_select backward", [&](auto tag) {
            using T = decltype(tag);
            cpu::index_add<T>(dx.data<T>(), gc.data<T>(), ic.data<int64_t>(), outer, n, inner, m);
        });
        return std::vector<Tensor>{dx};
    });
}

}  // namespace qbh
