// Checks shared by every op's dispatch: operands defined, on one device, of one dtype, and on
// the CPU until the op has a CUDA kernel. Each error names the op and the offending tensors.
#pragma once

#include <initializer_list>

#include "engine/core/tensor.h"

namespace qbh {

// All defined, same dtype and same device as the first.
void check_same(const char* op, std::initializer_list<const Tensor*> tensors);
// Throws unless t's dtype is f32 or f64.
void check_floating(const char* op, const Tensor& t);
// Throws unless the tensor has `ndim` axes; `what` says which argument ("input", "weight").
void check_dim(const char* op, const char* what, const Tensor& t, int64_t ndim);
// Throws for a CUDA tensor when the op has no CUDA kernel in this build yet.
void check_cpu(const char* op, const Tensor& t);

}  // namespace qbh
