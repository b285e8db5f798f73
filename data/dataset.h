// Dataset: a finite, indexable collection of (image, label) examples, and open_dataset(), which
// recognises what a path holds (an IDX folder or file pair, CIFAR binary batches, or an image
// folder) and opens the requested split. Every dataset's get() is safe to call from several
// loader threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/image.h"

namespace qbh::data {

struct Example {
    Image image;
    int64_t label = 0;
};

class Dataset {
  public:
    virtual ~Dataset() = default;
    virtual int64_t size() const = 0;
    // Example `index` (0 <= index < size()). Throws qbh::Error on a bad index and DataError when
    // the example's file is bad (image folders decode lazily, so that is where it shows).
    virtual Example get(int64_t index) const = 0;
    // Class names; label i is classes()[i].
    virtual const std::vector<std::string>& classes() const = 0;
    // One line for people: "IDX (Fashion-MNIST) train split: /usr/share/.../train-images-...".
    virtual std::string describe() const = 0;
};

struct OpenOptions {
    std::string split = "train";  // "train" or "test"
    // Image folders: channels to decode to (1, 3, 4; 0 = 1 when the first image is grey or
    // grey+alpha, else 3). IDX and CIFAR datasets have fixed channels (1 and 3) and refuse others.
    int channels = 0;
};

// The default dataset: Fashion-MNIST as installed by `apt-get install dataset-fashion-mnist`.
inline constexpr const char* kDefaultDatasetPath = "/usr/share/datasets/fashion-mnist";

// Opens `path` as:
//  - a folder with IDX files named {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] (MNIST /
//    Fashion-MNIST; Fashion-MNIST class names when the folder name contains "fashion");
//  - a folder with CIFAR-10 batches (data_batch_1..5.bin, test_batch.bin) or CIFAR-100
//    (train.bin, test.bin);
//  - an image folder root/<class>/<file>, or root/train/<class>/... and root/test/<class>/...
//    when those two sub-folders exist.
// Throws DataError naming the path and what was expected when nothing matches, the path is
// missing, or the split does not exist.
std::unique_ptr<Dataset> open_dataset(const std::string& path, const OpenOptions& options = {});

}  // namespace qbh::data
