// Autograd API: grad mode (NoGradGuard), recording an op's node (record), running backward, and
// printing the recorded graph for study.
#pragma once

#include <string>
#include <vector>

#include "engine/autograd/node.h"

namespace qbh {

// Whether ops record nodes on this thread (default true).
bool grad_enabled();

// Turns recording off for its lifetime (evaluation, optimiser steps, backward itself).
class NoGradGuard {
  public:
    NoGradGuard();
    ~NoGradGuard();
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

  private:
    bool previous_;
};

// True when grad mode is on and some input requires grad: the op must record a node.
bool needs_recording(const std::vector<Tensor>& inputs);

// Attaches a node named `name` with `inputs` and `fn` to `out` when needs_recording(inputs);
// returns `out`. The closure `fn` may capture inputs; to save the output, capture
// out.detach() (capturing `out` itself would make a reference cycle).
Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, BackwardFn fn);

// Backpropagates `grad` (dL/droot) through root's graph, accumulating into leaves' .grad and
// releasing every node's saved tensors. Called by Tensor::backward.
void run_backward(const Tensor& root, const Tensor& grad);

// The recorded graph below `t`, one node per line, indented by depth, e.g.
//   mse_loss []
//     add [4, 2]
//       matmul [4, 2] ...
std::string graph_to_string(const Tensor& t);

}  // namespace qbh
