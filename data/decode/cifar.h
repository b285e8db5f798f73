// CIFAR-10 / CIFAR-100 binary batches (https://www.cs.toronto.edu/~kriz/cifar.html): a sequence
// of fixed-size records, each label byte(s) then 3072 pixel bytes (1024 red, 1024 green,
// 1024 blue, each 32x32 row-major). CIFAR-10 has one label byte; CIFAR-100 has two (coarse,
// fine) and we use the fine label.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace qbh::data {

enum class CifarKind { cifar10, cifar100 };

inline constexpr int kCifarSide = 32;
inline constexpr int kCifarPixels = 3 * kCifarSide * kCifarSide;  // 3072

struct CifarRecords {
    int64_t count = 0;
    std::vector<uint8_t> pixels;  // count x 3072, planar CHW per record as in the file
    std::vector<int64_t> labels;  // count labels (the fine label for CIFAR-100)
};

// Bytes per record: 3073 (CIFAR-10) or 3074 (CIFAR-100).
int64_t cifar_record_bytes(CifarKind kind);

// Parses one batch file's bytes. Throws DataError naming `name` when the size is zero or not a
// multiple of the record size (truncated or not a CIFAR batch), or a label is out of range
// (>= 10, or >= 100 fine / >= 20 coarse).
CifarRecords parse_cifar(const uint8_t* bytes, size_t size, CifarKind kind,
                         const std::string& name);

}  // namespace qbh::data
