// WarmupCosine (see schedule.h).
#include "engine/optim/schedule.h"

#include <cmath>
#include <numbers>

#include "engine/core/error.h"

namespace qbh::optim {

WarmupCosine::WarmupCosine(double base_lr, int64_t warmup_steps, int64_t total_steps, double min_lr)
    : base_lr_(base_lr), min_lr_(min_lr), warmup_(warmup_steps), total_(total_steps) {
    QBH_CHECK(std::isfinite(base_lr) && base_lr >= 0,
              "WarmupCosine: base_lr must be a finite number >= 0, got " << base_lr);
    QBH_CHECK(std::isfinite(min_lr) && min_lr >= 0 && min_lr <= base_lr,
              "WarmupCosine: min_lr must lie in [0, base_lr = " << base_lr << "], got " << min_lr);
    QBH_CHECK(warmup_steps >= 0 && total_steps > 0 && warmup_steps <= total_steps,
              "WarmupCosine: expected 0 <= warmup_steps <= total_steps and total_steps > 0, got "
              "warmup_steps "
                  << warmup_steps << ", total_steps " << total_steps);
}

double WarmupCosine::lr_at(int64_t step) const {
    QBH_CHECK(step >= 0, "WarmupCosine::lr_at: step must be >= 0, got " << step);
    if (step < warmup_) return base_lr_ * static_cast<double>(step) / static_cast<double>(warmup_);
    if (step >= total_) return min_lr_;
    double progress = static_cast<double>(step - warmup_) / static_cast<double>(total_ - warmup_);
    return min_lr_ + (base_lr_ - min_lr_) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace qbh::optim
