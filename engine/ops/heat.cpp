// The heat-propagation op (see heat.h): argument checks, dispatch to the CPU kernels in
// heat_cpu.cpp, and its one autograd node "heat_propagate", whose backward reruns the chain of
// steps in reverse from the saved output Z.
#include "engine/ops/heat.h"

#include "engine/autograd/autograd.h"
#include "engine/ops/dispatch.h"
#include "engine/ops/heat_cpu.h"
#include "engine/ops/view.h"

namespace qbh {

namespace {

constexpr const char* kOp = "heat_propagate";

void check_heat_args(const Tensor& v, const Tensor& a, const Tensor& b) {
    QBH_CHECK(v.defined() && a.defined() && b.defined(),
              kOp << ": v, a and b must all be defined tensors");
    check_dim(kOp, "v (the visible block [N, h, w, d])", v, 4);
    check_dim(kOp, "a (the horizontal map [d, d])", a, 2);
    check_dim(kOp, "b (the vertical map [d, d])", b, 2);
    check_same(kOp, {&v, &a, &b});
    check_floating(kOp, v);
    check_cpu(kOp, v);
    const int64_t d = v.size(3);
    QBH_CHECK(v.size(1) > 0 && v.size(2) > 0 && d > 0,
              kOp << ": v must have h, w, d > 0, got " << describe(v));
    for (const Tensor* m : {&a, &b})
        QBH_CHECK(m->size(0) == d && m->size(1) == d,
                  kOp << ": " << (m == &a ? "a" : "b") << " must be [d, d] = " << shape_str({d, d})
                      << " with d the last axis of v " << describe(v) << ", got " << describe(*m));
}

cpu::HeatGeometry make_geometry(const Tensor& v, const HeatOptions& o) {
    cpu::HeatGeometry g;
    g.n = v.size(0);
    g.h = v.size(1);
    g.w = v.size(2);
    g.d = v.size(3);
    g.col_sign = (o.corner == HeatCorner::tl || o.corner == HeatCorner::bl) ? 1 : -1;
    g.row_sign = (o.corner == HeatCorner::tl || o.corner == HeatCorner::tr) ? 1 : -1;
    g.block = o.mode == HeatMode::block;
    g.norm = o.norm;
    return g;
}

// The node's backward: dV, dA, dB (each only when wanted) from dL/dZ and the saved Z, A, B.
std::vector<Tensor> heat_grads(const cpu::HeatGeometry& geo, const Tensor& a, const Tensor& b,
                               const Tensor& z, const Tensor& g, const Node& n) {
    Tensor gc = contiguous_for_kernel(g);
    Tensor dv, da, db;
    if (n.needs_grad(0)) dv = Tensor::empty({geo.n, geo.h, geo.w, geo.d}, g.dtype(), g.device());
    if (n.needs_grad(1)) da = Tensor::empty({geo.d, geo.d}, g.dtype(), g.device());
    if (n.needs_grad(2)) db = Tensor::empty({geo.d, geo.d}, g.dtype(), g.device());
    dispatch_float(g.dtype(), "heat_propagate backward", [&](auto tag) {
        using T = decltype(tag);
        auto ptr = [](const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; };
        cpu::heat_backward<T>(ptr(dv), ptr(da), ptr(db), gc.data<T>(), z.data<T>(), a.data<T>(),
                              b.data<T>(), geo);
    });
    return {dv, da, db};
}

}  // namespace

Tensor heat_propagate(const Tensor& v, const Tensor& a, const Tensor& b,
                      const HeatOptions& options) {
    check_heat_args(v, a, b);
    const cpu::HeatGeometry geo = make_geometry(v, options);
    Tensor vc = contiguous_for_kernel(v.detach());
    Tensor ac = contiguous_for_kernel(a.detach());
    Tensor bc = contiguous_for_kernel(b.detach());
    Tensor z = Tensor::empty({geo.n, 2 * geo.h, 2 * geo.w, geo.d}, v.dtype(), v.device());
    dispatch_float(v.dtype(), kOp, [&](auto tag) {
        using T = decltype(tag);
        cpu::heat_forward<T>(z.data<T>(), vc.data<T>(), ac.data<T>(), bc.data<T>(), geo);
    });
    return record(kOp, z, {v, a, b},
                  [geo, ac, bc, zs = z.detach()](const Tensor& g, const Node& n) {
                      return heat_grads(geo, ac, bc, zs, g, n);
                  });
}

HeatMode heat_mode_from_string(const std::string& name) {
    if (name == "cell") return HeatMode::cell;
    if (name == "block") return HeatMode::block;
    QBH_FAIL(kOp << ": unknown heat mode '" << name << "' (expected \"cell\" or \"block\")");
}

HeatCorner heat_corner_from_string(const std::string& name) {
    if (name == "tl") return HeatCorner::tl;
    if (name == "tr") return HeatCorner::tr;
    if (name == "bl") return HeatCorner::bl;
    if (name == "br") return HeatCorner::br;
    QBH_FAIL(kOp << ": unknown heat corner '" << name
                 << "' (expected \"tl\", \"tr\", \"bl\" or \"br\"; \"random\" is resolved by the "
                    "model, not by the op)");
}

const char* heat_mode_name(HeatMode mode) {
    return mode == HeatMode::cell ? "cell" : "block";
}

const char* heat_corner_name(HeatCorner corner) {
    switch (corner) {
        case HeatCorner::tl:
            return "tl";
        case HeatCorner::tr:
            return "tr";
        case HeatCorner::bl:
            return "bl";
        case HeatCorner::br:
            return "br";
    }
    return "?";
}

}  // namespace qbh
