// Shared op argument checks (see dispatch.h).
#include "engine/ops/dispatch.h"

namespace qbh {

void check_same(const char* op, std::initializer_list<const Tensor*> tensors) {
    const Tensor* first = nullptr;
    int index = 0;
    for (const Tensor* t : tensors) {
        QBH_CHECK(t->defined(), op << ": argument " << index << " is an undefined tensor");
        if (!first) {
            first = t;
        } else {
            QBH_CHECK(t->dtype() == first->dtype(), op << ": dtype mismatch: " << describe(*first)
                                                       << " vs " << describe(*t)
                                                       << " (convert one with .to(DType::...))");
            QBH_CHECK(t->device() == first->device(),
                      op << ": device mismatch: " << describe(*first) << " vs " << describe(*t)
                         << " (move one with .to(Device::...))");
        }
        ++index;
    }
}

void check_floating(const char* op, const Tensor& t) {
    QBH_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64,
              op << ": expected an f32 or f64 tensor, got " << describe(t));
}

void check_dim(const char* op, const char* what, const Tensor& t, int64_t ndim) {
    QBH_CHECK(t.dim() == ndim,
              op << ": " << what << " must have " << ndim << " dimensions, got " << describe(t));
}

void check_cpu(const char* op, const Tensor& t) {
    QBH_CHECK(!t.is_cuda(), op << ": no CUDA kernel for this op yet (tensor " << describe(t)
                               << "); run it on the CPU");
}

}  // namespace qbh
