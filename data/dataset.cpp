// open_dataset: looks at what a path holds (IDX files, CIFAR batches, class folders of images, or
// one IDX images file) and opens the requested split with the matching Dataset class. Every
// "nothing here" case says what was looked for.
#include <algorithm>
#include <cctype>
#include <filesystem>

#include "data/dataset.h"
#include "data/datasets.h"
#include "data/decode/data_error.h"

namespace qbh::data {
namespace {

namespace fs = std::filesystem;

const char* const kExpected =
    "expected IDX files ({train,t10k}-images-idx3-ubyte[.gz] and the matching labels-idx1 "
    "files), CIFAR batches (data_batch_1.bin ... data_batch_5.bin and test_batch.bin, or "
    "train.bin and test.bin) or <class>/ sub-folders of images";

bool is_file(const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

bool is_dir(const fs::path& p) {
    std::error_code ec;
    return fs::is_directory(p, ec);
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// dir/stem when it exists, else dir/stem.gz when that exists, else "".
std::string find_maybe_gz(const fs::path& dir, const std::string& stem) {
    if (is_file(dir / stem)) return (dir / stem).string();
    if (is_file(dir / (stem + ".gz"))) return (dir / (stem + ".gz")).string();
    return "";
}

// ---- IDX ----

std::unique_ptr<Dataset> open_idx_pair(const std::string& images, const std::string& labels,
                                       const fs::path& folder, int channels) {
    QBH_CHECK(channels == 0 || channels == 1,
              images << ": IDX images have 1 channel; channels=" << channels
                     << " is not supported (use 0 or 1)");
    // The folder name tells Fashion-MNIST from the digit sets, which share the file names.
    std::string name = lower(fs::absolute(folder).lexically_normal().filename().string());
    if (name.empty())
        name = lower(fs::absolute(folder).lexically_normal().parent_path().filename().string());
    bool fashion = name.find("fashion") != std::string::npos;
    return std::make_unique<IdxDataset>(images, labels,
                                        fashion ? fashion_mnist_classes() : digit_classes());
}

bool has_idx(const fs::path& dir) {
    return !find_maybe_gz(dir, "train-images-idx3-ubyte").empty() ||
           !find_maybe_gz(dir, "t10k-images-idx3-ubyte").empty();
}

std::unique_ptr<Dataset> open_idx_folder(const fs::path& dir, const std::string& split,
                                         int channels) {
    std::string prefix = split == "train" ? "train" : "t10k";
    std::string images = find_maybe_gz(dir, prefix + "-images-idx3-ubyte");
    QBH_DATA_CHECK(!images.empty(), dir.string()
                                        << ": no " << prefix << "-images-idx3-ubyte[.gz] for the "
                                        << split << " split");
    std::string labels = find_maybe_gz(dir, prefix + "-labels-idx1-ubyte");
    QBH_DATA_CHECK(!labels.empty(), dir.string() << ": no " << prefix
                                                 << "-labels-idx1-ubyte[.gz] next to " << images);
    return open_idx_pair(images, labels, dir, channels);
}

// A path that is itself an images file: the labels file sits next to it.
std::unique_ptr<Dataset> open_idx_file(const fs::path& path, int channels) {
    std::string name = path.filename().string();
    std::string stem = ends_with(name, ".gz") ? name.substr(0, name.size() - 3) : name;
    const std::string images_tag = "-images-idx3-ubyte";
    QBH_DATA_CHECK(ends_with(stem, images_tag),
                   path.string() << ": not a dataset; give a folder (" << kExpected
                                 << ") or an IDX images file named *-images-idx3-ubyte[.gz]");
    std::string labels_stem =
        stem.substr(0, stem.size() - images_tag.size()) + "-labels-idx1-ubyte";
    fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    std::string labels = find_maybe_gz(dir, labels_stem);
    QBH_DATA_CHECK(!labels.empty(),
                   path.string() << ": no labels file " << labels_stem << "[.gz] next to it");
    return open_idx_pair(path.string(), labels, dir, channels);
}

// ---- CIFAR ----

std::unique_ptr<Dataset> open_cifar(const fs::path& dir, const std::string& split, int channels) {
    QBH_CHECK(channels == 0 || channels == 3,
              dir.string() << ": CIFAR images have 3 channels; channels=" << channels
                           << " is not supported (use 0 or 3)");
    bool cifar10 = is_file(dir / "data_batch_1.bin") || is_file(dir / "test_batch.bin");
    for (int i = 2; i <= 5 && !cifar10; ++i)
        cifar10 = is_file(dir / ("data_batch_" + std::to_string(i) + ".bin"));
    std::vector<std::string> paths;
    if (cifar10) {
        if (split == "test") {
            if (is_file(dir / "test_batch.bin")) paths.push_back((dir / "test_batch.bin").string());
        } else {
            for (int i = 1; i <= 5; ++i) {
                fs::path p = dir / ("data_batch_" + std::to_string(i) + ".bin");
                if (is_file(p)) paths.push_back(p.string());
            }
        }
        QBH_DATA_CHECK(!paths.empty(),
                       dir.string()
                           << ": no CIFAR-10 " << split << " batch ("
                           << (split == "test" ? "test_batch.bin" : "data_batch_1..5.bin") << ")");
        return std::make_unique<CifarDataset>(paths, CifarKind::cifar10);
    }
    fs::path file = dir / (split + ".bin");
    QBH_DATA_CHECK(is_file(file),
                   dir.string() << ": no CIFAR-100 " << split << " file (" << split << ".bin)");
    return std::make_unique<CifarDataset>(std::vector<std::string>{file.string()},
                                          CifarKind::cifar100);
}

bool has_cifar(const fs::path& dir) {
    for (const char* name :
         {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
          "data_batch_5.bin", "test_batch.bin", "train.bin", "test.bin"})
        if (is_file(dir / name)) return true;
    return false;
}

// ---- folder survey ----

struct FolderContents {
    bool empty = true;         // no entries at all (hidden ones aside)
    bool has_subdirs = false;  // at least one visible sub-folder
};

FolderContents survey(const fs::path& dir) {
    FolderContents out;
    std::error_code ec;
    fs::directory_iterator it(dir, ec), end;
    QBH_DATA_CHECK(!ec, dir.string() << ": cannot list the folder: " << ec.message());
    for (; it != end; it.increment(ec)) {
        QBH_DATA_CHECK(!ec, dir.string() << ": cannot list the folder: " << ec.message());
        std::string name = it->path().filename().string();
        if (name.empty() || name[0] == '.') continue;
        out.empty = false;
        if (is_dir(it->path())) out.has_subdirs = true;
    }
    return out;
}

std::unique_ptr<Dataset> open_folder(const fs::path& dir, const OpenOptions& options) {
    if (has_idx(dir)) return open_idx_folder(dir, options.split, options.channels);
    if (has_cifar(dir)) return open_cifar(dir, options.split, options.channels);
    // The folders the CIFAR archives unpack to, given their parent.
    for (const char* sub : {"cifar-10-batches-bin", "cifar-100-binary"})
        if (has_cifar(dir / sub)) return open_cifar(dir / sub, options.split, options.channels);
    if (is_dir(dir / "train") && is_dir(dir / "test"))
        return std::make_unique<ImageFolderDataset>((dir / options.split).string(),
                                                    options.channels);
    FolderContents contents = survey(dir);
    QBH_DATA_CHECK(!contents.empty, dir.string() << ": empty folder; expected IDX files, CIFAR "
                                                    "batches or <class>/ sub-folders of images");
    QBH_DATA_CHECK(contents.has_subdirs, dir.string() << ": no dataset found; " << kExpected);
    QBH_DATA_CHECK(options.split == "train",
                   dir.string() << ": no " << options.split
                                << " split: an image folder without train/ and test/ "
                                   "sub-folders is a single train split");
    return std::make_unique<ImageFolderDataset>(dir.string(), options.channels);
}

}  // namespace

std::unique_ptr<Dataset> open_dataset(const std::string& path, const OpenOptions& options) {
    QBH_CHECK(options.split == "train" || options.split == "test",
              "open_dataset: unknown split '" << options.split << "'; valid splits: train, test");
    QBH_DATA_CHECK(!path.empty(), "open_dataset: empty dataset path");
    std::error_code ec;
    fs::file_status st = fs::status(path, ec);
    QBH_DATA_CHECK(fs::exists(st), path << ": no such file or folder"
                                        << (path.rfind("/usr/share/datasets", 0) == 0
                                                ? "; install Fashion-MNIST with `apt-get install "
                                                  "dataset-fashion-mnist`"
                                                : ""));
    if (fs::is_directory(st)) return open_folder(path, options);
    // A single IDX images file is its own split, whatever options.split says.
    return open_idx_file(path, options.channels);
}

}  // namespace qbh::data
