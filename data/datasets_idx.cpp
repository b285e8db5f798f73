// IdxDataset (MNIST / Fashion-MNIST image and label file pairs, held in memory) and the class
// name lists of the datasets we know: Fashion-MNIST, digits, CIFAR-10 and CIFAR-100 (fine).
#include <cstring>
#include <filesystem>
#include <sstream>

#include "data/datasets.h"
#include "data/decode/data_error.h"
#include "data/decode/file_bytes.h"
#include "data/decode/idx.h"
#include "data/decode/image_decode.h"

namespace qbh::data {
namespace {

std::string base_name(const std::string& path) {
    return std::filesystem::path(path).filename().string();
}

// "train" / "test" from the standard file names, "" for any other name.
std::string idx_split(const std::string& images_path) {
    std::string name = base_name(images_path);
    if (name.rfind("train-", 0) == 0) return "train";
    if (name.rfind("t10k-", 0) == 0) return "test";
    return "";
}

IdxArray read_idx(const std::string& path) {
    std::vector<uint8_t> bytes = read_maybe_gzip(path);
    return parse_idx(bytes.data(), bytes.size(), path);
}

}  // namespace

IdxDataset::IdxDataset(const std::string& images_path, const std::string& labels_path,
                       std::vector<std::string> classes)
    : images_path_(images_path), classes_(std::move(classes)) {
    QBH_CHECK(!classes_.empty(), "IdxDataset: the class name list is empty");
    IdxArray images = read_idx(images_path);
    QBH_DATA_CHECK(images.dims.size() == 3,
                   images_path << ": expected an images file with 3 dimensions (count, rows, "
                                  "cols), got "
                               << images.dims.size() << " dimensions");
    QBH_DATA_CHECK(images.dims[1] <= kMaxImageSide && images.dims[2] <= kMaxImageSide,
                   images_path << ": images of " << images.dims[1] << "x" << images.dims[2]
                               << " are larger than the limit of " << kMaxImageSide
                               << " on a side");
    IdxArray labels = read_idx(labels_path);
    QBH_DATA_CHECK(labels.dims.size() == 1,
                   labels_path << ": expected a labels file with 1 dimension (count), got "
                               << labels.dims.size() << " dimensions");
    QBH_DATA_CHECK(images.dims[0] == labels.dims[0],
                   images_path << " holds " << images.dims[0] << " images but " << labels_path
                               << " holds " << labels.dims[0] << " labels; the counts must match");
    count_ = images.dims[0];
    rows_ = static_cast<int>(images.dims[1]);
    cols_ = static_cast<int>(images.dims[2]);
    labels_.resize(count_);
    for (int64_t i = 0; i < count_; ++i) {
        uint8_t label = labels.values[i];
        QBH_DATA_CHECK(label < classes_.size(), labels_path << ": label " << int(label)
                                                            << " at index " << i
                                                            << " is out of range; the dataset has "
                                                            << classes_.size() << " classes");
        labels_[i] = label;
    }
    pixels_ = std::move(images.values);
}

Example IdxDataset::get(int64_t index) const {
    QBH_CHECK(index >= 0 && index < count_,
              "IdxDataset::get: index " << index << " outside [0, " << count_ << ")");
    Example ex;
    ex.image = Image(rows_, cols_, 1);
    size_t n = static_cast<size_t>(rows_) * cols_;
    std::memcpy(ex.image.u8(), pixels_.data() + static_cast<size_t>(index) * n, n);
    ex.label = labels_[index];
    return ex;
}

std::string IdxDataset::describe() const {
    std::ostringstream os;
    os << "IDX";
    if (classes_ == fashion_mnist_classes())
        os << " (Fashion-MNIST)";
    else if (classes_ == digit_classes())
        os << " (digits)";
    std::string split = idx_split(images_path_);
    if (!split.empty()) os << ", " << split << " split";
    os << ", " << count_ << " images " << rows_ << "x" << cols_ << "x1: " << images_path_;
    return os.str();
}

const std::vector<std::string>& fashion_mnist_classes() {
    static const std::vector<std::string> names = {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return names;
}

std::vector<std::string> digit_classes() {
    std::vector<std::string> names;
    for (int d = 0; d < 10; ++d) names.push_back(std::to_string(d));
    return names;
}

const std::vector<std::string>& cifar10_classes() {
    static const std::vector<std::string> names = {
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
    return names;
}

std::vector<std::string> cifar100_classes() {
    // The fine labels in label order, which is alphabetical (the batches.meta of the release).
    return {
        "apple",       "aquarium_fish", "baby",      "bear",       "beaver",       "bed",
        "bee",         "beetle",        "bicycle",   "bottle",     "bowl",         "boy",
        "bridge",      "bus",           "butterfly", "camel",      "can",          "castle",
        "caterpillar", "cattle",        "chair",     "chimpanzee", "clock",        "cloud",
        "cockroach",   "couch",         "crab",      "crocodile",  "cup",          "dinosaur",
        "dolphin",     "elephant",      "flatfish",  "forest",     "fox",          "girl",
        "hamster",     "house",         "kangaroo",  "keyboard",   "lamp",         "lawn_mower",
        "leopard",     "lion",          "lizard",    "lobster",    "man",          "maple_tree",
        "motorcycle",  "mountain",      "mouse",     "mushroom",   "oak_tree",     "orange",
        "orchid",      "otter",         "palm_tree", "pear",       "pickup_truck", "pine_tree",
        "plain",       "plate",         "poppy",     "porcupine",  "possum",       "rabbit",
        "raccoon",     "ray",           "road",      "rocket",     "rose",         "sea",
        "seal",        "shark",         "shrew",     "skunk",      "skyscraper",   "snail",
        "snake",       "spider",        "squirrel",  "streetcar",  "sunflower",    "sweet_pepper",
        "table",       "tank",          "telephone", "television", "tiger",        "tractor",
        "train",       "trout",         "tulip",     "turtle",     "wardrobe",     "whale",
        "willow_tree", "wolf",          "woman",     "worm"};
}

}  // namespace qbh::data
