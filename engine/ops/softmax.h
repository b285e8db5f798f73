// softmax and log_softmax along one axis, computed stably (max subtracted).
#pragma once

#include "engine/core/tensor.h"

namespace qbh {

Tensor softmax(const Tensor& x, int64_t axis = -1);
Tensor log_softmax(const Tensor& x, int64_t axis = -1);

}  // namespace qbh
