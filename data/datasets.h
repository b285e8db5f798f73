// The concrete datasets behind open_dataset(): IDX image/label file pairs, CIFAR binary batches
// and image folders. IDX and CIFAR are read fully into memory when opened (Fashion-MNIST train
// is 47 MB); image folders list their files when opened and decode each image in get().
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/decode/cifar.h"

namespace qbh::data {

class IdxDataset : public Dataset {
  public:
    // Reads both files (plain or gzipped). Throws DataError naming the file on any format error,
    // and when the image and label counts differ or a label is >= the number of classes.
    IdxDataset(const std::string& images_path, const std::string& labels_path,
               std::vector<std::string> classes);
    int64_t size() const override { return count_; }
    Example get(int64_t index) const override;
    const std::vector<std::string>& classes() const override { return classes_; }
    std::string describe() const override;

  private:
    std::string images_path_;
    int64_t count_ = 0;
    int rows_ = 0, cols_ = 0;
    std::vector<uint8_t> pixels_;
    std::vector<int64_t> labels_;
    std::vector<std::string> classes_;
};

class CifarDataset : public Dataset {
  public:
    // Reads and concatenates the batch files in order.
    CifarDataset(const std::vector<std::string>& batch_paths, CifarKind kind);
    int64_t size() const override { return records_.count; }
    Example get(int64_t index) const override;  // 32x32x3 u8 (HWC)
    const std::vector<std::string>& classes() const override { return classes_; }
    std::string describe() const override;

  private:
    std::vector<std::string> paths_;
    CifarKind kind_;
    CifarRecords records_;
    std::vector<std::string> classes_;
};

class ImageFolderDataset : public Dataset {
  public:
    // Lists root/<class>/<file> (sorted class names, sorted file names; files without an image
    // extension are ignored). Throws DataError when root is missing or has no class folders, or
    // a class folder holds no images (names the folder). channels as in OpenOptions.
    ImageFolderDataset(const std::string& root, int channels);
    int64_t size() const override { return static_cast<int64_t>(files_.size()); }
    Example get(int64_t index) const override;  // decodes the file; DataError names it
    const std::vector<std::string>& classes() const override { return classes_; }
    std::string describe() const override;
    const std::string& file(int64_t index) const;
    int channels() const { return channels_; }

  private:
    std::string root_;
    int channels_ = 3;
    std::vector<std::string> classes_;
    std::vector<std::string> files_;
    std::vector<int64_t> labels_;
};

// Class names of Fashion-MNIST and of the digit sets, CIFAR-10 and CIFAR-100 (fine labels).
const std::vector<std::string>& fashion_mnist_classes();
std::vector<std::string> digit_classes();
const std::vector<std::string>& cifar10_classes();
std::vector<std::string> cifar100_classes();

}  // namespace qbh::data
