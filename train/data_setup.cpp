// The datasets, statistics and transform pipelines of a job, from the config's data section.
#include "train/data_setup.h"

#include <algorithm>
#include <sstream>

#include "data/inspect.h"
#include "engine/core/error.h"

namespace qbh::train {

SubsetDataset::SubsetDataset(std::shared_ptr<const data::Dataset> base, int64_t count)
    : base_(std::move(base)), count_(count) {
    QBH_CHECK(base_ != nullptr, "SubsetDataset: the dataset is null");
    QBH_CHECK(count_ >= 1 && count_ <= base_->size(), "SubsetDataset: asked for the first "
                                                          << count_ << " of " << base_->size()
                                                          << " examples");
}

data::Example SubsetDataset::get(int64_t index) const {
    QBH_CHECK(index >= 0 && index < count_,
              "SubsetDataset: index " << index << " outside 0.." << count_ - 1);
    return base_->get(index);
}

std::string SubsetDataset::describe() const {
    std::ostringstream os;
    os << "first " << count_ << " of " << base_->describe();
    return os.str();
}

std::shared_ptr<const data::Dataset> open_split(const RunConfig& config, const std::string& split) {
    std::shared_ptr<const data::Dataset> dataset =
        data::open_dataset(config.data.path, {.split = split, .channels = config.data.channels});
    const int64_t limit = split == "train" ? config.data.limit_train : config.data.limit_test;
    if (limit > 0 && limit < dataset->size())
        dataset = std::make_shared<SubsetDataset>(dataset, limit);

    const data::Image first = dataset->get(0).image;
    const int padded_h = first.height() + 2 * config.data.pad;
    const int padded_w = first.width() + 2 * config.data.pad;
    QBH_CHECK(padded_h == config.model.image_size && padded_w == config.model.image_size,
              "data.pad / model.image_size: "
                  << split << " images are " << first.height() << "x" << first.width()
                  << ", padded by " << config.data.pad << " per side to " << padded_h << "x"
                  << padded_w << ", but the model expects " << config.model.image_size << "x"
                  << config.model.image_size);
    QBH_CHECK(first.channels() == config.model.in_channels,
              "data.channels / model.in_channels: the "
                  << split << " images have " << first.channels() << " channels, the model expects "
                  << config.model.in_channels);
    return dataset;
}

ChannelStats channel_stats(const data::Dataset& dataset) {
    data::InspectOptions options;
    options.limit = std::min<int64_t>(dataset.size(), 10000);
    const data::InspectReport report = data::inspect_dataset(dataset, options);
    return {report.mean, report.std};
}

namespace {

data::TransformPtr pad_step(const RunConfig& config) {
    return config.data.pad > 0 ? data::pad(config.data.pad) : nullptr;
}

data::TransformPtr compose(std::vector<data::TransformPtr> steps) {
    steps.erase(std::remove(steps.begin(), steps.end(), nullptr), steps.end());
    return std::make_shared<data::Compose>(std::move(steps));
}

}  // namespace

data::TransformPtr train_transform(const RunConfig& config, const ChannelStats& stats) {
    const int size = config.model.image_size;
    return compose({pad_step(config),
                    data::random_resized_crop(size, size, config.data.crop_scale_min, 1.0),
                    config.data.flip ? data::horizontal_flip() : nullptr, data::to_float(),
                    data::normalize(stats.mean, stats.std)});
}

data::TransformPtr eval_transform(const RunConfig& config, const ChannelStats& stats) {
    return compose({pad_step(config), data::to_float(), data::normalize(stats.mean, stats.std)});
}

}  // namespace qbh::train
