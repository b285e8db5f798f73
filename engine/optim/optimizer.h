// The optimiser base: parameter groups (lr, weight decay, lr scale), MAE's no-decay rule for
// biases and norm weights, lazily created per-parameter state that checkpoints save and load by
// name, and gradient clipping. SGD, AdamW and LARS (sgd.h, adamw.h, lars.h) derive from it.
#pragma once

#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/tensor.h"

namespace qbh::optim {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// "Not set": the group takes the optimiser's own value (as torch's param groups do).
inline constexpr double kUnset = std::numeric_limits<double>::quiet_NaN();

struct ParamGroup {
    std::vector<Tensor> params;  // contiguous f32/f64 CPU tensors, each in one group only
    double lr = kUnset;
    double weight_decay = kUnset;
    double lr_scale = 1.0;  // set_lr(base) sets lr = base * lr_scale (e.g. layer-wise decay)
};

// MAE's parameter groups: {params with < 2 axes (biases, LayerNorm/BatchNorm weights), weight
// decay 0}, then {every other parameter, `weight_decay`}. Both groups are always present (the
// state names depend on group indices); lr is left unset. Parameters that do not require grad
// (frozen) are left out, as in timm's param_groups_weight_decay.
std::vector<ParamGroup> decay_groups(const NamedTensors& named_params, double weight_decay);

class Optimizer {
  public:
    virtual ~Optimizer() = default;
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;

    // One update of every parameter that has a .grad (the others are skipped and keep their
    // state), under NoGradGuard; writes parameters in place.
    virtual void step();
    // Drops every parameter's .grad (torch's set_to_none default).
    void zero_grad();

    // Mutable access is for hyperparameters (lr, weight_decay, lr_scale) only: changing the
    // parameter lists would misalign the state.
    const std::vector<ParamGroup>& groups() const { return groups_; }
    std::vector<ParamGroup>& groups() { return groups_; }
    // Sets every group's lr to base_lr * its lr_scale (call it each step from the schedule).
    void set_lr(double base_lr);
    // How many times step() ran.
    int64_t steps() const { return steps_; }
    const std::string& name() const { return name_; }

    // The state for a checkpoint: "step" (0-d i64, steps()) and "state.<group>.<index>.<buffer>"
    // for each parameter updated at least once. The tensors are the live buffers: save them,
    // do not modify them.
    NamedTensors state_tensors() const;
    // Replaces the state with copies of `state` (as produced by state_tensors() of the same
    // optimiser type over parameters of the same shapes). Checks every name, shape and dtype
    // before changing anything; throws naming the offending entry.
    void load_state_tensors(const NamedTensors& state);

  protected:
    using State = std::map<std::string, Tensor>;

    // `defaults` fill each group's unset lr and weight_decay; validates groups and parameters.
    Optimizer(std::string name, std::vector<ParamGroup> groups, double default_lr,
              double default_weight_decay);
    // The per-parameter buffers this optimiser keeps. A buffer named "step" is a 0-d i64
    // counter; every other one has the parameter's shape and dtype. All start at zero.
    virtual std::vector<std::string> buffer_names() const = 0;
    // Updates `param` (contiguous) in place from `grad` (contiguous, same shape and dtype).
    // `fresh` is true on the parameter's first update (its buffers were just created).
    virtual void update(const ParamGroup& group, Tensor& param, const Tensor& grad, State& state,
                        bool fresh) = 0;

  private:
    std::string name_;
    std::vector<ParamGroup> groups_;
    std::vector<std::vector<State>> state_;  // [group][param]; empty until the first update
    int64_t steps_ = 0;
};

// Scales all gradients so that their total L2 norm is at most max_norm (by max_norm /
// (norm + 1e-6) when that is below 1, as torch.nn.utils.clip_grad_norm_) and returns the total
// norm before clipping. Parameters without .grad are skipped. When the total norm is NaN or
// Inf the gradients are left unchanged and the norm is returned: the caller decides (skip the
// step, stop the run).
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

}  // namespace qbh::optim
