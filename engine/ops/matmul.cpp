// matmul and linear (see matmul.h): argument checks, operand layouts for the GEMM kernels, and
// the autograd nodes. Batched products with a shared right operand fold into one big GEMM.
#include "engine/ops/matmul.h"

#include <optional>

#include "engine/autograd/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/matmul_cpu.h"
#include "engine/ops/reduce.h"
#include "engine/ops/view.h"

namespace qbh {

namespace {

using cpu::MatLayout;

// The kernel layout of t's last two axes when they are row- or column-major with a leading
// dimension at least the inner size (no copy needed); nullopt otherwise. Size-1 axes have no
// meaningful stride, so each is given the one that makes its layout valid.
std::optional<MatLayout> layout_of(const Tensor& t) {
    const int64_t rows = t.size(-2), cols = t.size(-1);
    int64_t rs = t.strides()[t.dim() - 2], cs = t.strides()[t.dim() - 1];
    const int64_t row_rs = rows == 1 ? std::max<int64_t>(cols, 1) : rs;
    const int64_t row_cs = cols == 1 ? 1 : cs;
    if (row_cs == 1 && row_rs >= std::max<int64_t>(cols, 1)) return MatLayout{row_rs, 1};
    const int64_t col_rs = rows == 1 ? 1 : rs;
    const int64_t col_cs = cols == 1 ? std::max<int64_t>(rows, 1) : cs;
    if (col_rs == 1 && col_cs >= std::max<int64_t>(rows, 1)) return MatLayout{1, col_cs};
    return std::nullopt;
}

// t itself when its last two axes suit the kernel, else a contiguous copy; sets `layout`.
Tensor kernel_operand(const Tensor& t, MatLayout& layout) {
    if (auto l = layout_of(t)) {
        layout = *l;
        return t;
    }
    Tensor c = contiguous_for_kernel(t);
    layout = MatLayout{t.size(-1), 1};
    return c;
}

Shape batch_of(const Tensor& t) {
    return Shape(t.shape().begin(), t.shape().end() - 2);
}

// Element offsets of each matrix of t (batch axes broadcast to `batch`), in row-major order.
std::vector<int64_t> batch_offsets(const Tensor& t, const Shape& batch) {
    Strides own(t.strides().begin(), t.strides().end() - 2);
    Strides st = broadcast_strides(batch_of(t), own, batch);
    std::vector<int64_t> offsets(numel_of(batch), 0);
    std::vector<int64_t> index(batch.size(), 0);
    for (size_t i = 0; i < offsets.size(); ++i) {
        int64_t off = 0;
        for (size_t d = 0; d < batch.size(); ++d) off += index[d] * st[d];
        offsets[i] = off;
        for (int64_t d = static_cast<int64_t>(batch.size()) - 1; d >= 0; --d) {
            if (++index[d] < batch[d]) break;
            index[d] = 0;
        }
    }
    return offsets;
}

// The stride of t's batch axes and row axis merged into one, when they merge so that t reads as
// one tall [batch * rows, cols] matrix; nullopt otherwise. Size-1 axes never block a merge.
std::optional<int64_t> merged_row_stride(const Tensor& t) {
    int64_t stride = -1, span = 0;  // the merged axis' stride, and stride * size of its top
    for (int64_t d = t.dim() - 2; d >= 0; --d) {
        if (t.size(d) == 1) continue;
        if (stride < 0)
            stride = t.strides()[d];
        else if (t.strides()[d] != span)
            return std::nullopt;
        span = t.strides()[d] * t.size(d);
    }
    return stride < 0 ? std::max<int64_t>(t.size(-1), 1) : stride;
}

// out (contiguous, batch + [m, n] in memory) = a1 @ b1 for operands of at least 2 axes.
void matmul_into(Tensor& out, const Tensor& a1, const Tensor& b1, const Shape& batch) {
    const int64_t m = a1.size(-2), k = a1.size(-1), n = b1.size(-1);
    const int64_t nb = numel_of(batch);
    if (out.numel() == 0) return;
    MatLayout al, bl;
    Tensor a = kernel_operand(a1, al), b = kernel_operand(b1, bl);
    // One right matrix for every batch entry and a left operand that stacks into one tall
    // matrix (x @ W with x [batch, rows, k]): a single GEMM instead of a batch of them.
    bool b_shared = true;
    for (int64_t d = 0; d < b.dim() - 2; ++d) b_shared &= b.size(d) == 1 || b.strides()[d] == 0;
    std::optional<int64_t> tall;
    if (nb > 1 && b_shared && batch_of(a) == batch && al.col_stride == 1) {
        tall = merged_row_stride(a);
        if (tall && *tall < std::max<int64_t>(k, 1)) tall.reset();
    }
    dispatch_float(out.dtype(), "matmul", [&](auto tag) {
        using T = decltype(tag);
        if (nb == 1 || tall) {
            if (tall) al = MatLayout{*tall, 1};
            cpu::gemm<T>(out.data<T>(), a.data<T>(), al, b.data<T>(), bl, nb * m, n, k, false);
            return;
        }
        std::vector<int64_t> ao = batch_offsets(a, batch), bo = batch_offsets(b, batch);
        cpu::gemm_batched<T>(out.data<T>(), a.data<T>(), ao.data(), al, b.data<T>(), bo.data(), bl,
                             nb, m, n, k);
    });
}

void check_matmul_args(const char* op, const Tensor& a, const Tensor& b) {
    check_same(op, {&a, &b});
    check_floating(op, a);
    check_cpu(op, a);
}

// dA and dB of a1 @ b1 (both at least 2-D) given g1 of the full batch + [m, n] shape.
std::vector<Tensor> matmul_grads(const Tensor& g1, const Tensor& a1, const Tensor& b1,
                                 const Node& node) {
    const int64_t m = a1.size(-2), k = a1.size(-1), n = b1.size(-1);
    const int64_t nb = numel_of(batch_of(g1));
    Tensor da, db;
    if (node.needs_grad(0)) {
        if (a1.dim() == 2 && b1.dim() > 2) {
            // Sum over the batch inside one GEMM: [m, batch * n] @ [batch * n, k].
            const int64_t nd = g1.dim();
            std::vector<int64_t> order{nd - 2};
            for (int64_t d = 0; d < nd - 2; ++d) order.push_back(d);
            order.push_back(nd - 1);
            Tensor gm = reshape(permute(g1, order), {m, nb * n});
            da = matmul(gm, reshape(transpose(b1, -1, -2), {nb * n, k}));
        } else {
            da = sum_to(matmul(g1, transpose(b1, -1, -2)), a1.shape());
        }
    }
    if (node.needs_grad(1)) {
        if (b1.dim() == 2 && a1.dim() > 2)  // [k, batch * m] @ [batch * m, n]
            db = matmul(transpose(reshape(a1, {nb * m, k}), 0, 1), reshape(g1, {nb * m, n}));
        else
            db = sum_to(matmul(transpose(a1, -1, -2), g1), b1.shape());
    }
    return {da, db};
}

// The column sums of g [rows, out]: linear's bias gradient.
Tensor bias_grad(const Tensor& g) {
    Tensor gc = contiguous_for_kernel(g);
    Tensor db = Tensor::empty({g.size(1)}, g.dtype(), g.device());
    dispatch_float(g.dtype(), "linear backward", [&](auto tag) {
        using T = decltype(tag);
        cpu::column_sums<T>(db.data<T>(), gc.data<T>(), g.size(0), g.size(1));
    });
    return db;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
    check_matmul_args("matmul", a, b);
    QBH_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both operands need at least 1 dimension, got "
                                                << describe(a) << " and " << describe(b));
    // Promote 1-D operands to matrices ([k] -> [1, k] on the left, [k, 1] on the right).
    Tensor a1, b1;
    {
        NoGradGuard no_grad;
        a1 = a.dim() == 1 ? unsqueeze(a, 0) : a;
        b1 = b.dim() == 1 ? unsqueeze(b, 1) : b;
    }
    QBH_CHECK(a1.size(-1) == b1.size(-2),
              "matmul: cannot multiply " << describe(a) << " by " << describe(b) << ": inner sizes "
                                         << a1.size(-1) << " and " << b1.size(-2) << " differ");
    Shape batch = broadcast_shapes(batch_of(a1), batch_of(b1), "matmul");
    Shape full = batch, out_shape = batch;
    full.push_back(a1.size(-2));
    full.push_back(b1.size(-1));
    if (a.dim() > 1) out_shape.push_back(a1.size(-2));
    if (b.dim() > 1) out_shape.push_back(b1.size(-1));
    Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
    matmul_into(out, a1, b1, batch);
    return record("matmul", out, {a, b},
                  [a1 = a1.detach(), b1 = b1.detach(), full, sa = a.shape(), sb = b.shape()](
                      const Tensor& g, const Node& n) {
                      std::vector<Tensor> grads = matmul_grads(reshape(g, full), a1, b1, n);
                      if (grads[0].defined()) grads[0] = reshape(grads[0], sa);
                      if (grads[1].defined()) grads[1] = reshape(grads[1], sb);
                      return grads;
                  });
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
    check_matmul_args("linear", x, weight);
    check_dim("linear", "weight", weight, 2);
    QBH_CHECK(x.dim() >= 1, "linear: the input needs at least 1 dimension, got " << describe(x));
    const int64_t in = weight.size(1), out_features = weight.size(0);
    QBH_CHECK(x.size(-1) == in, "linear: input " << describe(x) << " has " << x.size(-1)
                                                 << " features but weight " << describe(weight)
                                                 << " expects " << in << " (weight is [out, in])");
    if (bias.defined()) {
        check_same("linear", {&x, &bias});
        QBH_CHECK(bias.dim() == 1 && bias.size(0) == out_features,
                  "linear: bias must be [" << out_features << "] to match weight "
                                           << describe(weight) << ", got " << describe(bias));
    }
    const int64_t rows = numel_of(Shape(x.shape().begin(), x.shape().end() - 1));
    Shape out_shape = x.shape();
    out_shape.back() = out_features;
    Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
    Tensor xc = contiguous_for_kernel(x);
    MatLayout xl{in, 1}, wl;
    // weight^T [in, out] is weight read with its strides swapped.
    Tensor wt;
    {
        NoGradGuard no_grad;
        wt = kernel_operand(transpose(weight, 0, 1), wl);
    }
    Tensor bc = bias.defined() ? contiguous_for_kernel(bias) : Tensor();
    dispatch_float(x.dtype(), "linear", [&](auto tag) {
        using T = decltype(tag);
        if (bc.defined()) cpu::fill_rows<T>(out.data<T>(), bc.data<T>(), rows, out_features);
        cpu::gemm<T>(out.data<T>(), xc.data<T>(), xl, wt.data<T>(), wl, rows, out_features, in,
                     bc.defined());
    });
    std::vector<Tensor> inputs{x, weight};
    if (bias.defined()) inputs.push_back(bias);
    return record("linear", out, inputs,
                  [x = x.detach(), w = weight.detach(), rows, in, out_features](const Tensor& g,
                                                                                const Node& n) {
                      Tensor g2 = reshape(g, {rows, out_features});
                      std::vector<Tensor> grads(n.inputs.size());
                      if (n.needs_grad(0)) grads[0] = reshape(matmul(g2, w), x.shape());
                      if (n.needs_grad(1))
                          grads[1] = matmul(transpose(g2, 0, 1), reshape(x, {rows, in}));
                      if (n.needs_grad(2)) grads[2] = bias_grad(g2);
                      return grads;
                  });
}

}  // namespace qbh
