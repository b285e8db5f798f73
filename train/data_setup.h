// What every job reads: the dataset splits named by the config's data section (optionally cut to
// their first N examples), the per-channel statistics used to normalise, and the two transform
// pipelines (training augmentation, and the plain one for evaluation and features).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/transforms.h"
#include "train/run_config.h"

namespace qbh::train {

struct ChannelStats {
    std::vector<double> mean, std;  // per channel, on the [0, 1] scale
};

// open_dataset(data.path, split) with data.channels, then the first data.limit_train /
// data.limit_test examples when those are > 0. Throws qbh::Error naming data.pad /
// model.image_size when the padded images do not have the model's size, and data.channels when
// the channel count differs from model.in_channels.
std::shared_ptr<const data::Dataset> open_split(const RunConfig& config, const std::string& split);

// Mean and std per channel over (up to the first 10000 examples of) `dataset`.
ChannelStats channel_stats(const data::Dataset& dataset);

// pad -> random resized crop to model.image_size (scale [data.crop_scale_min, 1]) -> flip (when
// data.flip) -> to_float -> normalise with `stats`.
data::TransformPtr train_transform(const RunConfig& config, const ChannelStats& stats);

// pad -> to_float -> normalise with `stats` (no randomness).
data::TransformPtr eval_transform(const RunConfig& config, const ChannelStats& stats);

// The first `count` examples of a dataset (a view; nothing is copied).
class SubsetDataset : public data::Dataset {
  public:
    SubsetDataset(std::shared_ptr<const data::Dataset> base, int64_t count);
    int64_t size() const override { return count_; }
    data::Example get(int64_t index) const override;
    const std::vector<std::string>& classes() const override { return base_->classes(); }
    std::string describe() const override;

  private:
    std::shared_ptr<const data::Dataset> base_;
    int64_t count_;
};

}  // namespace qbh::train
