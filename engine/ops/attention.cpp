// scaled_dot_product_attention (see attention.h): argument checks, the broadcast mask view, the
// fused CPU kernels of attention_cpu.cpp and one autograd node for q, k and v.
#include "engine/ops/attention.h"

#include <cmath>

#include "engine/autograd/autograd.h"
#include "engine/ops/attention_cpu.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/view.h"

namespace qbh {

namespace {

constexpr const char* kOp = "scaled_dot_product_attention";

// Shapes of q, k, v agree: same batch and heads, k's D equals q's, v's Lk equals k's.
cpu::AttentionDims check_shapes(const Tensor& q, const Tensor& k, const Tensor& v) {
    check_same(kOp, {&q, &k, &v});
    check_floating(kOp, q);
    check_cpu(kOp, q);
    check_dim(kOp, "q [B, H, Lq, D]", q, 4);
    check_dim(kOp, "k [B, H, Lk, D]", k, 4);
    check_dim(kOp, "v [B, H, Lk, Dv]", v, 4);
    const Shape& qs = q.shape();
    QBH_CHECK(k.size(0) == qs[0] && k.size(1) == qs[1] && k.size(3) == qs[3],
              kOp << ": k must be [B, H, Lk, D] = [" << qs[0] << ", " << qs[1] << ", Lk, " << qs[3]
                  << "] to match q " << describe(q) << ", got " << describe(k));
    QBH_CHECK(v.size(0) == qs[0] && v.size(1) == qs[1] && v.size(2) == k.size(2),
              kOp << ": v must be [B, H, Lk, Dv] = [" << qs[0] << ", " << qs[1] << ", " << k.size(2)
                  << ", Dv] to match q " << describe(q) << " and k " << describe(k) << ", got "
                  << describe(v));
    QBH_CHECK(qs[3] > 0, kOp << ": the head size D must be > 0, got q " << describe(q));
    cpu::AttentionDims d{};
    d.b = qs[0];
    d.h = qs[1];
    d.lq = qs[2];
    d.lk = k.size(2);
    d.d = qs[3];
    d.dv = v.size(3);
    return d;
}

// Fills d.mask_strides: the mask read as [B, H, Lq, Lk] in place, 0 strides on broadcast axes.
void set_mask_strides(cpu::AttentionDims& d, const Tensor& mask, const Tensor& q) {
    if (!mask.defined()) return;
    check_same(kOp, {&q, &mask});
    const Shape target{d.b, d.h, d.lq, d.lk};
    bool ok = mask.dim() <= 4;
    for (int64_t i = 1; ok && i <= mask.dim(); ++i) {
        const int64_t m = mask.size(-i), t = target[4 - i];
        ok = m == 1 || m == t;
    }
    QBH_CHECK(ok, kOp << ": mask " << describe(mask)
                      << " does not broadcast to [B, H, Lq, Lk] = " << shape_str(target));
    Strides s = broadcast_strides(mask.shape(), mask.strides(), target);
    for (int i = 0; i < 4; ++i) d.mask_strides[i] = s[i];
}

template <class T>
T* ptr(const Tensor& t) {
    return t.defined() ? t.data<T>() : nullptr;
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const Tensor& mask, double scale) {
    QBH_CHECK(q.defined() && k.defined() && v.defined(),
              kOp << ": q, k and v must all be defined tensors");
    cpu::AttentionDims d = check_shapes(q, k, v);
    set_mask_strides(d, mask, q);
    d.scale = scale > 0 ? scale : 1.0 / std::sqrt(static_cast<double>(d.d));

    Tensor qc = contiguous_for_kernel(q).detach(), kc = contiguous_for_kernel(k).detach();
    Tensor vc = contiguous_for_kernel(v).detach(), m = mask.defined() ? mask.detach() : Tensor();
    Tensor out = Tensor::empty({d.b, d.h, d.lq, d.dv}, q.dtype());
    Tensor lse = Tensor::empty({d.b, d.h, d.lq}, q.dtype());
    dispatch_float(q.dtype(), kOp, [&](auto tag) {
        using T = decltype(tag);
        cpu::attention_forward<T>(out.data<T>(), lse.data<T>(), qc.data<T>(), kc.data<T>(),
                                  vc.data<T>(), ptr<T>(m), d);
    });
    return record(
        kOp, out, {q, k, v},
        [qc, kc, vc, m, lse, o = out.detach(), d](const Tensor& g, const Node& n) {
            Tensor gc = contiguous_for_kernel(g);
            Tensor dq = n.needs_grad(0) ? Tensor::empty(qc.shape(), qc.dtype()) : Tensor();
            Tensor dk = n.needs_grad(1) ? Tensor::empty(kc.shape(), kc.dtype()) : Tensor();
            Tensor dv = n.needs_grad(2) ? Tensor::empty(vc.shape(), vc.dtype()) : Tensor();
            dispatch_float(qc.dtype(), "scaled_dot_product_attention backward", [&](auto tag) {
                using T = decltype(tag);
                cpu::attention_backward<T>(ptr<T>(dq), ptr<T>(dk), ptr<T>(dv), gc.data<T>(),
                                           qc.data<T>(), kc.data<T>(), vc.data<T>(), o.data<T>(),
                                           lse.data<T>(), ptr<T>(m), d);
            });
            return std::vector<Tensor>{dq, dk, dv};
        });
}

}  // namespace qbh
