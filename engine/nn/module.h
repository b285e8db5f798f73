// Module: the base of every layer and model. It owns named parameters, buffers and child modules
// in registration order, names them recursively as PyTorch's state_dict does
// ("blocks.0.attn.qkv.weight"), loads and saves state, and switches train/eval mode.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/tensor.h"

namespace qbh::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// What load_state_dict(strict = false) skipped.
struct LoadResult {
    std::vector<std::string> missing_keys;     // expected by the module, absent from the input
    std::vector<std::string> unexpected_keys;  // in the input, unknown to the module
};

class Module {
  public:
    Module() = default;
    virtual ~Module() = default;
    Module(const Module&) = delete;  // parameters are shared handles: a copy would alias them
    Module& operator=(const Module&) = delete;

    // The class name shown by to_string() ("Linear"); subclasses override it.
    virtual std::string type_name() const { return "Module"; }
    // The arguments shown inside the parentheses ("in_features=4, out_features=8, bias=True").
    virtual std::string extra_repr() const { return ""; }

    // The single-input forward that Sequential chains; modules without one throw.
    virtual Tensor forward(const Tensor& x);
    Tensor operator()(const Tensor& x) { return forward(x); }

    // ---- registration (names: non-empty, no '.', unique among parameters, buffers, children)
    // Stores `t` as a parameter (marks it requires_grad) and returns it. An undefined tensor
    // is allowed and skipped by every listing (like PyTorch's `bias=None`).
    Tensor register_parameter(const std::string& name, Tensor t);
    // Stores a buffer: state that is saved and loaded but not trained (running statistics).
    Tensor register_buffer(const std::string& name, Tensor t);
    template <class M>
    std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
        add_child(name, module);
        return module;
    }

    // ---- listings (recursive ones use dotted PyTorch names, pre-order, own entries first)
    NamedTensors named_parameters() const;
    NamedTensors named_buffers() const;
    std::vector<Tensor> parameters() const;
    // Direct children only, in registration order.
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
    // This module ("") and every descendant with its dotted path, pre-order (non-owning).
    std::vector<std::pair<std::string, Module*>> named_modules();
    // A parameter or buffer by dotted name; throws listing the known names when absent.
    Tensor find(const std::string& dotted_name) const;
    int64_t num_parameters() const;

    // ---- state
    // Parameters and buffers, as PyTorch orders them: for each module in pre-order, its own
    // parameters, then its own buffers, then its children's. Values share storage (no copy).
    NamedTensors state_dict() const;
    // Copies values in place (the handles held by layers stay valid). Throws a qbh::Error
    // listing every missing and unexpected key (when strict) and every shape or dtype mismatch
    // (always), before copying anything; duplicate input keys are an error too.
    LoadResult load_state_dict(const NamedTensors& state, bool strict = true);

    // ---- modes and housekeeping
    void train(bool on = true);  // recursive
    void eval() { train(false); }
    bool is_training() const { return training_; }
    void zero_grad();  // drops .grad of every parameter
    // Converts every floating parameter and buffer in place, keeping the handles valid (like
    // PyTorch's module.double()); gradients are dropped. i64 buffers are left alone.
    void to(DType dtype);
    void to(Device device);

    // A tree like PyTorch's repr, e.g. "Sequential(\n  (0): Linear(...)\n  (1): ReLU()\n)".
    std::string to_string() const;

  private:
    struct Entry {
        std::string name;
        Tensor tensor;
    };
    void check_new_name(const std::string& name, const char* what) const;
    void add_child(const std::string& name, std::shared_ptr<Module> module);
    void collect(const std::string& prefix, bool params, bool buffers, NamedTensors& out) const;
    void collect_modules(const std::string& prefix,
                         std::vector<std::pair<std::string, Module*>>& out);

    std::vector<Entry> parameters_;
    std::vector<Entry> buffers_;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
    bool training_ = true;
};

// Formats a double as Python's repr does for typical hyper-parameters (1e-06, 0.1, 4.0).
std::string python_float(double v);

}  // namespace qbh::nn
