// SGD (see sgd.h): option checks and the per-parameter call into cpu::sgd_step.
#include "engine/optim/sgd.h"

#include <cmath>

#include "engine/optim/optim_cpu.h"

namespace qbh::optim {

SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& options)
    : Optimizer("SGD", std::move(groups), options.lr, options.weight_decay), options_(options) {
    QBH_CHECK(std::isfinite(options.momentum) && options.momentum >= 0,
              "SGD: momentum must be a finite number >= 0, got " << options.momentum);
    QBH_CHECK(std::isfinite(options.dampening),
              "SGD: dampening must be finite, got " << options.dampening);
    QBH_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0),
              "SGD: Nesterov momentum needs momentum > 0 and dampening 0 (got momentum "
                  << options.momentum << ", dampening " << options.dampening << ")");
}

std::vector<std::string> SGD::buffer_names() const {
    if (options_.momentum == 0) return {};
    return {"momentum_buffer"};
}

void SGD::update(const ParamGroup& group, Tensor& param, const Tensor& grad, State& state,
                 bool fresh) {
    cpu::SgdHyper h{group.lr,           options_.momentum, options_.dampening,
                    group.weight_decay, options_.nesterov, fresh};
    dispatch_float(param.dtype(), "SGD.step", [&](auto tag) {
        using T = decltype(tag);
        T* buf = options_.momentum != 0 ? state.at("momentum_buffer").data<T>() : nullptr;
        cpu::sgd_step(param.data<T>(), grad.data<T>(), buf, param.numel(), h);
    });
}

}  // namespace qbh::optim
