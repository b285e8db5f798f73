// AdamW (see adamw.h): option checks, the per-parameter step count, and cpu::adamw_step.
#include "engine/optim/adamw.h"

#include <cmath>

#include "engine/optim/optim_cpu.h"

namespace qbh::optim {

AdamW::AdamW(std::vector<ParamGroup> groups, const AdamWOptions& options)
    : Optimizer("AdamW", std::move(groups), options.lr, options.weight_decay), options_(options) {
    for (double beta : {options.beta1, options.beta2})
        QBH_CHECK(beta >= 0 && beta < 1, "AdamW: betas must lie in [0, 1), got ("
                                             << options.beta1 << ", " << options.beta2 << ")");
    QBH_CHECK(std::isfinite(options.eps) && options.eps >= 0,
              "AdamW: eps must be a finite number >= 0, got " << options.eps);
}

std::vector<std::string> AdamW::buffer_names() const {
    return {"exp_avg", "exp_avg_sq", "step"};
}

void AdamW::update(const ParamGroup& group, Tensor& param, const Tensor& grad, State& state,
                   bool fresh) {
    int64_t* step = state.at("step").data<int64_t>();
    *step += 1;
    cpu::AdamWHyper h{group.lr,     options_.beta1,     options_.beta2,
                      options_.eps, group.weight_decay, *step};
    dispatch_float(param.dtype(), "AdamW.step", [&](auto tag) {
        using T = decltype(tag);
        cpu::adamw_step(param.data<T>(), grad.data<T>(), state.at("exp_avg").data<T>(),
                        state.at("exp_avg_sq").data<T>(), param.numel(), h);
    });
}

}  // namespace qbh::optim
