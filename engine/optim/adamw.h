// AdamW exactly as torch.optim.AdamW (decoupled weight decay p -= lr wd p, bias correction, eps
// outside the sqrt; no amsgrad). Used for pre-training and fine-tuning. State per parameter:
// "exp_avg", "exp_avg_sq" and "step" (its own count, as in torch, so late-starting parameters
// get their own bias correction).
#pragma once

#include "engine/optim/optimizer.h"

namespace qbh::optim {

struct AdamWOptions {
    double lr = 1e-3;  // for groups whose lr is unset
    double beta1 = 0.9;
    double beta2 = 0.999;  // MAE pre-training uses 0.95
    double eps = 1e-8;
    double weight_decay = 1e-2;  // for groups whose weight_decay is unset
};

class AdamW : public Optimizer {
  public:
    explicit AdamW(std::vector<ParamGroup> groups, const AdamWOptions& options = {});
    const AdamWOptions& options() const { return options_; }

  protected:
    std::vector<std::string> buffer_names() const override;
    void update(const ParamGroup& group, Tensor& param, const Tensor& grad, State& state,
                bool fresh) override;

  private:
    AdamWOptions options_;
};

}  // namespace qbh::optim
