// ImageFolderDataset: root/<class>/<image> as in torchvision's ImageFolder (sorted class names,
// sorted file names, label = class index). Opening lists the files; get() decodes one file, so
// it shares no mutable state and any number of loader threads may call it at once.
#include <algorithm>
#include <climits>
#include <filesystem>
#include <sstream>
#include <system_error>

#include "data/datasets.h"
#include "data/decode/data_error.h"
#include "data/decode/file_bytes.h"
#include "data/decode/image_decode.h"

namespace qbh::data {
namespace {

namespace fs = std::filesystem;

bool is_hidden(const fs::path& path) {
    std::string name = path.filename().string();
    return !name.empty() && name[0] == '.';
}

// The sorted entries of `dir` that pass `keep`. Filesystem errors (permissions, a folder removed
// while we list it) become DataErrors naming the folder instead of std::filesystem_error.
template <typename Keep>
std::vector<std::string> sorted_entries(const fs::path& dir, Keep keep) {
    std::vector<std::string> names;
    std::error_code ec;
    fs::directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        if (!is_hidden(it->path()) && keep(*it)) names.push_back(it->path().filename().string());
    }
    QBH_DATA_CHECK(!ec, dir.string() << ": cannot list folder (" << ec.message() << ")");
    std::sort(names.begin(), names.end());  // byte order, as Python's sorted() on names
    return names;
}

bool is_folder(const fs::directory_entry& entry) {
    std::error_code ec;
    return entry.is_directory(ec);
}

bool is_image_file(const fs::directory_entry& entry) {
    std::error_code ec;
    return entry.is_regular_file(ec) && has_image_extension(entry.path().string());
}

// Channels to decode to when the caller says 0: 1 for a grey (or grey+alpha) first image, else 3.
int probe_channels(const std::string& path) {
    std::vector<uint8_t> bytes = read_file_bytes(path, size_t(INT_MAX));
    ImageInfo info = probe_image(bytes.data(), bytes.size(), path);
    return info.channels <= 2 ? 1 : 3;
}

}  // namespace

ImageFolderDataset::ImageFolderDataset(const std::string& root, int channels)
    : root_(root), channels_(channels) {
    QBH_CHECK(channels >= 0 && channels <= 4,
              "ImageFolderDataset: channels must be 0 (from the first image), 1, 2, 3 or 4, got "
                  << channels);
    std::error_code ec;
    QBH_DATA_CHECK(fs::exists(root, ec), root << ": no such folder");
    QBH_DATA_CHECK(fs::is_directory(root, ec), root << ": not a folder (an image folder is "
                                                       "root/<class>/<image files>)");
    classes_ = sorted_entries(root, is_folder);
    QBH_DATA_CHECK(!classes_.empty(), root << ": no class folders; expected root/<class>/<image "
                                              "files> (.png .jpg .jpeg .bmp .gif)");
    for (size_t label = 0; label < classes_.size(); ++label) {
        fs::path dir = fs::path(root) / classes_[label];
        std::vector<std::string> names = sorted_entries(dir, is_image_file);
        QBH_DATA_CHECK(!names.empty(), dir.string() << ": class folder holds no images (.png "
                                                       ".jpg .jpeg .bmp .gif); remove it or add "
                                                       "images");
        for (const std::string& name : names) {
            files_.push_back((dir / name).string());
            labels_.push_back(static_cast<int64_t>(label));
        }
    }
    if (channels_ == 0) channels_ = probe_channels(files_.front());
}

Example ImageFolderDataset::get(int64_t index) const {
    QBH_CHECK(index >= 0 && index < size(),
              "ImageFolderDataset::get: index " << index << " outside [0, " << size() << ")");
    return Example{load_image(files_[index], channels_), labels_[index]};
}

std::string ImageFolderDataset::describe() const {
    std::ostringstream os;
    os << "image folder, " << classes_.size() << " classes, " << files_.size()
       << " images: " << root_;
    return os.str();
}

const std::string& ImageFolderDataset::file(int64_t index) const {
    QBH_CHECK(index >= 0 && index < size(),
              "ImageFolderDataset::file: index " << index << " outside [0, " << size() << ")");
    return files_[index];
}

}  // namespace qbh::data
