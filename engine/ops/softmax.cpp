// softmax and log_softmax (see softmax.h): the input is read as [outer, n, inner] around the
// normalised axis, so any axis runs without a permutation copy; backward reuses the output.
#include "engine/ops/softmax.h"

#include <algorithm>

#include "engine/autograd/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/softmax_cpu.h"
#include "engine/ops/view.h"

namespace qbh {

namespace {

Tensor softmax_impl(const char* name, const Tensor& x, int64_t axis, bool log) {
    QBH_CHECK(x.defined(), name << ": the input is an undefined tensor");
    check_floating(name, x);
    check_cpu(name, x);
    // A 0-d tensor is one row of one element, as in PyTorch.
    axis = normalize_axis(axis, std::max<int64_t>(x.dim(), 1), name);
    int64_t outer = 1, inner = 1;
    const int64_t n = x.dim() == 0 ? 1 : x.shape()[axis];
    for (int64_t d = 0; d < axis; ++d) outer *= x.shape()[d];
    for (int64_t d = axis + 1; d < x.dim(); ++d) inner *= x.shape()[d];
    Tensor xc = contiguous_for_kernel(x);
    Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
    dispatch_float(x.dtype(), name, [&](auto tag) {
        using T = decltype(tag);
        cpu::softmax_forward<T>(out.data<T>(), xc.data<T>(), outer, n, inner, log);
    });
    return record(name, out, {x}, [=, y = out.detach()](const Tensor& g, const Node&) {
        Tensor gc = contiguous_for_kernel(g);
        Tensor dx = Tensor::empty(y.shape(), y.dtype(), y.device());
        dispatch_float(y.dtype(), name, [&](auto tag) {
            using T = decltype(tag);
            cpu::softmax_backward<T>(dx.data<T>(), gc.data<T>(), y.data<T>(), outer, n, inner, log);
        });
        return std::vector<Tensor>{dx};
    });
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t axis) {
    return softmax_impl("softmax", x, axis, false);
}

Tensor log_softmax(const Tensor& x, int64_t axis) {
    return softmax_impl("log_softmax", x, axis, true);
}

}  // namespace qbh
