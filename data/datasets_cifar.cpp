// CifarDataset: CIFAR-10 / CIFAR-100 binary batches concatenated in memory, kept in the file's
// planar layout; get() interleaves one record into a 32x32x3 HWC image.
#include <filesystem>
#include <sstream>

#include "data/datasets.h"
#include "data/decode/data_error.h"
#include "data/decode/file_bytes.h"

namespace qbh::data {
namespace {

// The largest CIFAR file we accept: the real ones are 30 MB (CIFAR-10 batch) and 150 MB
// (CIFAR-100 train).
constexpr size_t kMaxCifarFileBytes = size_t(1) << 30;

}  // namespace

CifarDataset::CifarDataset(const std::vector<std::string>& batch_paths, CifarKind kind)
    : paths_(batch_paths), kind_(kind) {
    QBH_CHECK(!batch_paths.empty(), "CifarDataset: no batch files given");
    classes_ = kind == CifarKind::cifar10 ? cifar10_classes() : cifar100_classes();
    std::vector<CifarRecords> parts;
    int64_t total = 0;
    for (const std::string& path : batch_paths) {
        std::vector<uint8_t> bytes = read_maybe_gzip(path, kMaxCifarFileBytes);
        parts.push_back(parse_cifar(bytes.data(), bytes.size(), kind, path));
        total += parts.back().count;
    }
    records_ = std::move(parts.front());
    records_.pixels.reserve(static_cast<size_t>(total) * kCifarPixels);
    records_.labels.reserve(static_cast<size_t>(total));
    for (size_t i = 1; i < parts.size(); ++i) {
        records_.pixels.insert(records_.pixels.end(), parts[i].pixels.begin(),
                               parts[i].pixels.end());
        records_.labels.insert(records_.labels.end(), parts[i].labels.begin(),
                               parts[i].labels.end());
        parts[i] = {};  // release each part once copied
    }
    records_.count = total;
}

Example CifarDataset::get(int64_t index) const {
    QBH_CHECK(index >= 0 && index < records_.count,
              "CifarDataset::get: index " << index << " outside [0, " << records_.count << ")");
    constexpr int kPlane = kCifarSide * kCifarSide;
    Example ex;
    ex.image = Image(kCifarSide, kCifarSide, 3);
    const uint8_t* src = records_.pixels.data() + static_cast<size_t>(index) * kCifarPixels;
    const uint8_t* r = src;
    const uint8_t* g = src + kPlane;
    const uint8_t* b = src + 2 * kPlane;
    uint8_t* dst = ex.image.u8();
    for (int p = 0; p < kPlane; ++p) {
        dst[3 * p + 0] = r[p];
        dst[3 * p + 1] = g[p];
        dst[3 * p + 2] = b[p];
    }
    ex.label = records_.labels[index];
    return ex;
}

std::string CifarDataset::describe() const {
    std::ostringstream os;
    os << (kind_ == CifarKind::cifar10 ? "CIFAR-10" : "CIFAR-100");
    std::string first = std::filesystem::path(paths_.front()).filename().string();
    os << ", " << (first.rfind("test", 0) == 0 ? "test" : "train") << " split, " << records_.count
       << " images 32x32x3: " << paths_.front();
    if (paths_.size() > 1) os << " and " << paths_.size() - 1 << " more";
    return os.str();
}

}  // namespace qbh::data
