// Dataset inspection for `qbheat data inspect`: sample and class counts, the range of image
// shapes, per-channel pixel mean/std, and a grid picture of samples spread over the dataset.
// The CLI only parses arguments and prints format_report(); the logic lives here to be tested.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/image.h"

namespace qbh::data {

struct InspectOptions {
    int64_t limit = 0;      // inspect the first `limit` samples (0 = all)
    int threads = 0;        // worker threads (0 = std::thread::hardware_concurrency())
    bool progress = false;  // a progress line on stderr (the CLI sets it when stderr is a tty)
};

struct ImageShape {
    int height = 0, width = 0, channels = 0;
    bool operator==(const ImageShape&) const = default;
};

struct InspectReport {
    std::string description;            // the dataset's describe()
    int64_t dataset_size = 0;           // all samples
    int64_t samples = 0;                // the samples inspected (the first min(limit, size))
    std::vector<std::string> classes;   // label i is classes[i]
    std::vector<int64_t> class_counts;  // samples per label, classes.size() entries
    // Smallest and largest height, width and channels, each taken on its own: equal when every
    // inspected image has the same shape.
    ImageShape min_shape, max_shape;
    // Per channel (max_shape.channels entries), over every pixel of every inspected image, on the
    // [0, 1] scale (u8 values / 255; f32 values as they are). std is the population std.
    std::vector<double> mean, std;

    bool same_shape() const { return min_shape == max_shape; }
};

// Reads every inspected sample once, in parallel chunks of a fixed size whose partial sums are
// combined in chunk order, so the result does not depend on the thread count. Rethrows the
// DataError of a bad sample (it names the file). Throws qbh::Error on an empty dataset or a
// label outside the class list.
InspectReport inspect_dataset(const Dataset& dataset, const InspectOptions& options = {});

// The report as printed by `qbheat data inspect`, one "name: value" line each, ending in '\n':
//   dataset: <description>
//   samples: 60000
//   classes: 10 (T-shirt/top, Trouser, ...)
//   class counts: 6000 each            (or the counts in label order when they differ)
//   image shape: 28x28x1 (all samples) (or "varies: 28x28x1 .. 64x48x3")
//   pixel mean/std per channel (on [0,1] scale): 0.2860 / 0.3530
std::string format_report(const InspectReport& report);

// The `count` sample indices a grid shows: i * size / count for i < count (all samples when
// count >= size), spread evenly so that several classes appear.
std::vector<int64_t> grid_indices(int64_t size, int count);

struct SampleGrid {
    Image image;  // u8, 1 or 3 channels
    int count = 0, rows = 0, columns = 0;
};

// Decodes the grid_indices() samples and tiles them with make_grid in ceil(sqrt(count))
// columns. Images of different sizes are centred on a black canvas of the largest; RGBA loses
// its alpha, f32 is taken as [0, 1]. Throws qbh::Error when count < 1 or the dataset is empty.
SampleGrid sample_grid(const Dataset& dataset, int count);

}  // namespace qbh::data
