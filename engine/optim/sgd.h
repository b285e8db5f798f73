// SGD with momentum, dampening, Nesterov and coupled L2 weight decay, as torch.optim.SGD.
// Used for linear probes; state per parameter: "momentum_buffer" (only when momentum != 0).
#pragma once

#include "engine/optim/optimizer.h"

namespace qbh::optim {

struct SGDOptions {
    double lr = 1e-3;  // for groups whose lr is unset
    double momentum = 0.0;
    double dampening = 0.0;
    double weight_decay = 0.0;  // for groups whose weight_decay is unset; added to the gradient
    bool nesterov = false;      // needs momentum > 0 and dampening 0
};

class SGD : public Optimizer {
  public:
    explicit SGD(std::vector<ParamGroup> groups, const SGDOptions& options = {});
    const SGDOptions& options() const { return options_; }

  protected:
    std::vector<std::string> buffer_names() const override;
    void update(const ParamGroup& group, Tensor& param, const Tensor& grad, State& state,
                bool fresh) override;

  private:
    SGDOptions options_;
};

}  // namespace qbh::optim
