// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian
// header (two zero bytes, a type code, the number of dimensions, then each dimension as a
// 32-bit integer) followed by the values. We read unsigned-byte arrays (type 0x08): images
// (3 dimensions: count, rows, cols) and labels (1 dimension: count).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace qbh::data {

struct IdxArray {
    std::vector<int64_t> dims;    // e.g. {60000, 28, 28}
    std::vector<uint8_t> values;  // product(dims) bytes, row-major
};

// Parses decompressed IDX bytes. `name` (the file name) starts every error message. Throws
// DataError on: fewer than 4 header bytes, a bad magic (non-zero first bytes), a type other than
// 0x08 (names the type), 0 or more than 4 dimensions, a zero dimension, a header that declares
// more values than kMaxIdxValues, or a value count that differs from the bytes present
// (truncated, or trailing garbage).
IdxArray parse_idx(const uint8_t* bytes, size_t size, const std::string& name);

inline constexpr int64_t kMaxIdxValues = int64_t(1) << 32;

}  // namespace qbh::data
