// LARS as in MAE's util/lars.py (linear probing): for parameters with more than one axis the
// update g + wd p is rescaled by trust_coefficient ||p|| / ||g + wd p||; biases and norm weights
// get the plain momentum step. State per parameter: "mu" (the momentum buffer).
#pragma once

#include "engine/optim/optimizer.h"

namespace qbh::optim {

struct LARSOptions {
    double lr = 0.0;            // for groups whose lr is unset (MAE sets it from the schedule)
    double weight_decay = 0.0;  // for groups whose weight_decay is unset
    double momentum = 0.9;
    double trust_coefficient = 0.001;
};

class LARS : public Optimizer {
  public:
    explicit LARS(std::vector<ParamGroup> groups, const LARSOptions& options = {});
    const LARSOptions& options() const { return options_; }

  protected:
    std::vector<std::string> buffer_names() const override;
    void update(const ParamGroup& group, Tensor& param, const Tensor& grad, State& state,
                bool fresh) override;

  private:
    LARSOptions options_;
};

}  // namespace qbh::optim
