// The whole engine in one include, for programs and tests: tensors, autograd and every op.
#pragma once

#include "engine/autograd/autograd.h"
#include "engine/core/rng.h"
#include "engine/core/tensor.h"
#include "engine/ops/attention.h"
#include "engine/ops/conv.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/heat.h"
#include "engine/ops/loss.h"
#include "engine/ops/matmul.h"
#include "engine/ops/norm.h"
#include "engine/ops/random.h"
#include "engine/ops/reduce.h"
#include "engine/ops/shape.h"
#include "engine/ops/softmax.h"
#include "engine/ops/view.h"
