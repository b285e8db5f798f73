// A Node is one recorded operation in the autograd graph: its name, an edge to each input, and
// the backward function that maps dL/d(output) to dL/d(input) for every input. Each op has
// exactly one differentiable output, so a node's output is identified with the node itself.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/tensor.h"

namespace qbh {

struct Node;

// Where an input's gradient goes: the node that produced it, or the leaf tensor itself, or
// nowhere (the input does not require grad).
struct Edge {
    std::shared_ptr<Node> node;
    std::shared_ptr<TensorImpl> leaf;
    Shape shape;  // the input's shape, to check the gradient the backward function returns
    DType dtype = DType::f32;
    bool needs_grad() const { return node != nullptr || leaf != nullptr; }
};

// Given dL/d(output), returns one gradient per input, in input order. Entries for inputs that
// need no gradient may be left undefined (the node's needs_grad(i) says which are wanted).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_out, const Node& node)>;

struct Node {
    std::string name;
    std::vector<Edge> inputs;
    BackwardFn backward;  // released after it runs: that frees the tensors it saved
    Shape out_shape;
    uint64_t sequence = 0;  // creation order, used to keep the topological order stable

    bool needs_grad(size_t i) const { return i < inputs.size() && inputs[i].needs_grad(); }
};

}  // namespace qbh
