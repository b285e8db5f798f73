// Autograd engine: recording nodes and the reverse-topological backward walk (see autograd.h).
#include "engine/autograd/autograd.h"

#include <algorithm>
#include <atomic>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "engine/ops/elementwise.h"

namespace qbh {

namespace {
thread_local bool t_grad_enabled = true;
std::atomic<uint64_t> g_sequence{0};
}  // namespace

bool grad_enabled() {
    return t_grad_enabled;
}

NoGradGuard::NoGradGuard() : previous_(t_grad_enabled) {
    t_grad_enabled = false;
}
NoGradGuard::~NoGradGuard() {
    t_grad_enabled = previous_;
}

bool needs_recording(const std::vector<Tensor>& inputs) {
    if (!t_grad_enabled) return false;
    for (const Tensor& t : inputs)
        if (t.defined() && t.requires_grad()) return true;
    return false;
}

Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, BackwardFn fn) {
    if (!needs_recording(inputs)) return out;
    auto node = std::make_shared<Node>();
    node->name = name;
    node->out_shape = out.shape();
    node->sequence = g_sequence++;
    node->backward = std::move(fn);
    for (const Tensor& t : inputs) {
        Edge e;
        if (t.defined()) {
            e.shape = t.shape();
            e.dtype = t.dtype();
            if (t.requires_grad()) {
                if (t.grad_fn())
                    e.node = t.grad_fn();
                else
                    e.leaf = t.impl_ptr();
            }
        }
        node->inputs.push_back(std::move(e));
    }
    out.impl()->grad_fn = std::move(node);
    out.impl()->requires_grad = true;
    return out;
}

namespace {

// Nodes reachable from `root`, children before parents (iterative DFS, so deep graphs cannot
// overflow the stack).
std::vector<Node*> topological_order(Node* root) {
    std::vector<Node*> order;
    std::unordered_set<Node*> seen{root};
    std::vector<std::pair<Node*, size_t>> stack{{root, 0}};
    while (!stack.empty()) {
        auto& [node, next] = stack.back();
        if (next < node->inputs.size()) {
            Node* child = node->inputs[next++].node.get();
            if (child && seen.insert(child).second) stack.push_back({child, 0});
        } else {
            order.push_back(node);
            stack.pop_back();
        }
    }
    return order;  // post-order: every node after all of its inputs
}

// True when `g` is a dense tensor whose memory nothing else can see: the only handle to its
// impl and the only impl on its storage. Such a gradient can become .grad without a copy.
bool exclusively_owned(const Tensor& g) {
    return g.is_contiguous() && g.offset() == 0 && g.impl_ptr().use_count() == 1 &&
           g.storage().use_count() == 1 &&
           g.storage()->nbytes() == static_cast<size_t>(g.numel()) * dtype_size(g.dtype());
}

void accumulate_into_leaf(TensorImpl* leaf, Tensor g) {
    if (!leaf->grad) {
        // Steal a private buffer; otherwise copy, since `g` may alias another gradient or a
        // saved tensor (add's backward hands the same tensor to both inputs).
        leaf->grad = exclusively_owned(g) ? g.impl_ptr() : g.contiguous().clone().impl_ptr();
    } else {
        Tensor existing(leaf->grad);
        add_(existing, g);
    }
}

void check_grad(const Node& node, size_t i, const Tensor& g) {
    const Edge& e = node.inputs[i];
    QBH_CHECK(g.shape() == e.shape && g.dtype() == e.dtype,
              "autograd: backward of '" << node.name << "' returned a gradient " << describe(g)
                                        << " for input " << i << " of shape " << shape_str(e.shape)
                                        << " " << dtype_name(e.dtype)
                                        << " (an engine bug: please report it)");
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& grad_in) {
    QBH_CHECK(root.requires_grad(), "backward: the tensor "
                                        << describe(root)
                                        << " does not require grad and has no graph; call "
                                           "set_requires_grad() on the parameters first");
    Tensor grad = grad_in;
    if (!grad.defined()) {
        QBH_CHECK(root.numel() == 1, "backward: the tensor "
                                         << describe(root)
                                         << " is not a scalar; pass the gradient dL/dtensor");
        grad = Tensor::ones(root.shape(), root.dtype(), root.device());
    }
    QBH_CHECK(grad.shape() == root.shape(), "backward: gradient " << describe(grad)
                                                                  << " does not match the tensor "
                                                                  << describe(root));
    NoGradGuard no_grad;
    if (root.is_leaf()) {
        accumulate_into_leaf(root.impl(), grad);
        return;
    }
    std::vector<Node*> order = topological_order(root.grad_fn().get());
    std::unordered_map<Node*, Tensor> grads{{root.grad_fn().get(), grad}};
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        Node* node = *it;
        auto found = grads.find(node);
        if (found == grads.end()) continue;
        Tensor g = std::move(found->second);
        grads.erase(found);
        QBH_CHECK(node->backward != nullptr, "backward: the graph through '"
                                                 << node->name
                                                 << "' was already used by an earlier backward "
                                                    "and its saved tensors were freed; run the "
                                                    "forward pass again");
        std::vector<Tensor> input_grads = node->backward(g, *node);
        node->backward = nullptr;  // frees the saved tensors
        for (size_t i = 0; i < node->inputs.size() && i < input_grads.size(); ++i) {
            const Edge& e = node->inputs[i];
            Tensor gi = std::move(input_grads[i]);
            if (!e.needs_grad() || !gi.defined()) continue;
            check_grad(*node, i, gi);
            if (e.node) {
                auto [slot, fresh] = grads.try_emplace(e.node.get(), std::move(gi));
                if (!fresh) slot->second = add(slot->second, gi);
            } else {
                accumulate_into_leaf(e.leaf.get(), std::move(gi));
            }
        }
    }
}

std::string graph_to_string(const Tensor& t) {
    std::ostringstream os;
    if (!t.grad_fn()) {
        os << (t.requires_grad() ? "leaf " : "constant ") << shape_str(t.shape()) << "\n";
        return os.str();
    }
    std::unordered_map<Node*, int> ids;
    std::vector<std::pair<Node*, int>> stack{{t.grad_fn().get(), 0}};
    while (!stack.empty()) {
        auto [node, depth] = stack.back();
        stack.pop_back();
        os << std::string(2 * depth, ' ');
        auto [it, fresh] = ids.try_emplace(node, static_cast<int>(ids.size()));
        os << node->name << " #" << it->second << " " << shape_str(node->out_shape);
        if (!fresh) {
            os << " (shown above)\n";
            continue;
        }
        if (!node->backward) os << " (freed)";
        os << "\n";
        for (auto e = node->inputs.rbegin(); e != node->inputs.rend(); ++e) {
            if (e->node) {
                stack.push_back({e->node.get(), depth + 1});
            }
        }
        for (const Edge& e : node->inputs) {
            if (e.leaf)
                os << std::string(2 * depth + 2, ' ') << "leaf " << shape_str(e.shape) << "\n";
        }
    }
    return os.str();
}

}  // namespace qbh
