// LARS (see lars.h): option checks and the per-parameter call into cpu::lars_step.
#include "engine/optim/lars.h"

#include <cmath>

#include "engine/optim/optim_cpu.h"

namespace qbh::optim {

LARS::LARS(std::vector<ParamGroup> groups, const LARSOptions& options)
    : Optimizer("LARS", std::move(groups), options.lr, options.weight_decay), options_(options) {
    QBH_CHECK(std::isfinite(options.momentum) && options.momentum >= 0,
              "LARS: momentum must be a finite number >= 0, got " << options.momentum);
    QBH_CHECK(
        std::isfinite(options.trust_coefficient) && options.trust_coefficient > 0,
        "LARS: trust_coefficient must be a finite number > 0, got " << options.trust_coefficient);
}

std::vector<std::string> LARS::buffer_names() const {
    return {"mu"};
}

void LARS::update(const ParamGroup& group, Tensor& param, const Tensor& grad, State& state,
                  bool fresh) {
    cpu::LarsHyper h{group.lr, group.weight_decay, options_.momentum, options_.trust_coefficient,
                     param.dim() > 1};
    dispatch_float(param.dtype(), "LARS.step", [&](auto tag) {
        using T = decltype(tag);
        cpu::lars_step(param.data<T>(), grad.data<T>(), state.at("mu").data<T>(), param.numel(), h);
    });
}

}  // namespace qbh::optim
