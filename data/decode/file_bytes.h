// Reading whole files into memory, plain or gzip-compressed (zlib), with a size cap so a file
// that claims or inflates to an absurd size is refused instead of exhausting memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace qbh::data {

// 4 GiB: larger than any dataset file we read, small enough to fail before memory runs out.
inline constexpr size_t kMaxFileBytes = size_t(4) << 30;

// The bytes of `path`. Throws DataError naming the path when it is missing, unreadable, a
// directory, or larger than `max_bytes`.
std::vector<uint8_t> read_file_bytes(const std::string& path, size_t max_bytes = kMaxFileBytes);

// True when the bytes start with the gzip magic 1f 8b.
bool is_gzip(const uint8_t* bytes, size_t size);

// Inflates a gzip stream held in memory. `name` is used in messages. Throws DataError on a
// corrupt or truncated stream, or when the output would exceed `max_bytes`.
std::vector<uint8_t> gunzip_bytes(const uint8_t* bytes, size_t size, const std::string& name,
                                  size_t max_bytes = kMaxFileBytes);

// read_file_bytes, then gunzip_bytes when the file is gzip-compressed (by content, not by name).
std::vector<uint8_t> read_maybe_gzip(const std::string& path, size_t max_bytes = kMaxFileBytes);

}  // namespace qbh::data
