// Learning-rate schedule of MAE's util/lr_sched.py, per step: linear warm-up from 0 to base_lr,
// then a half cosine down to min_lr at total_steps (min_lr after). Feed lr_at(step) to
// Optimizer::set_lr before each step.
#pragma once

#include <cstdint>

namespace qbh::optim {

class WarmupCosine {
  public:
    WarmupCosine(double base_lr, int64_t warmup_steps, int64_t total_steps, double min_lr = 0);
    // The lr for 0-based `step` (>= 0).
    double lr_at(int64_t step) const;

    double base_lr() const { return base_lr_; }
    double min_lr() const { return min_lr_; }
    int64_t warmup_steps() const { return warmup_; }
    int64_t total_steps() const { return total_; }

  private:
    double base_lr_, min_lr_;
    int64_t warmup_, total_;
};

}  // namespace qbh::optim
