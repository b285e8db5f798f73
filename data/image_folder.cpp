// ImageFolderDataset: placeholder until the image-folder reader lands (same issue).
#include "data/datasets.h"
#include "data/decode/data_error.h"

namespace qbh::data {

ImageFolderDataset::ImageFolderDataset(const std::string& root, int channels) : root_(root) {
    throw DataError(root + ": image folders are not supported yet");
}
Example ImageFolderDataset::get(int64_t) const { return {}; }
std::string ImageFolderDataset::describe() const { return root_; }
const std::string& ImageFolderDataset::file(int64_t index) const { return files_.at(index); }

}  // namespace qbh::data
