// Whole-file reads and in-memory gzip inflation (zlib) with a size cap. Every dataset reader
// starts here, so this is where a missing file, a directory in place of a file, a corrupt or
// truncated gzip stream and a gzip bomb become clear DataErrors naming the file.
#include "data/decode/file_bytes.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "data/decode/data_error.h"

namespace qbh::data {
namespace {

namespace fs = std::filesystem;

// The hint for a missing file under the folder where the system packages install datasets.
std::string install_hint(const std::string& path) {
    const std::string root = "/usr/share/datasets/";
    if (path.compare(0, root.size(), root) != 0) return "";
    return "; install Fashion-MNIST with `apt-get install dataset-fashion-mnist`";
}

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

// The deflate format cannot expand more than about 1032:1, so a gzip trailer's size field
// larger than that is a lie and must not size an allocation.
constexpr size_t kMaxDeflateRatio = 1032;

// The uncompressed size the gzip trailer claims (modulo 2^32), bounded by what the compressed
// size can plausibly hold and by max_bytes; only a first guess for the output buffer.
size_t initial_output_size(const uint8_t* bytes, size_t size, size_t max_bytes) {
    size_t guess = size_t(64) << 10;
    if (size >= 18) {
        const uint8_t* t = bytes + size - 4;
        guess = size_t(t[0]) | size_t(t[1]) << 8 | size_t(t[2]) << 16 | size_t(t[3]) << 24;
    }
    guess =
        std::min(guess, size > SIZE_MAX / kMaxDeflateRatio ? SIZE_MAX : size * kMaxDeflateRatio);
    // One spare byte so an exact guess ends with room left, not with a doubling.
    guess = std::max<size_t>(guess, 1024) + 1;
    return std::min(guess, max_bytes == SIZE_MAX ? max_bytes : max_bytes + 1);
}

// Owns a z_stream so every exit path releases zlib's state.
struct Inflater {
    z_stream strm{};
    explicit Inflater(const std::string& name) {
        QBH_CHECK(inflateInit2(&strm, 15 + 16) == Z_OK, name << ": zlib inflateInit2 failed");
    }
    ~Inflater() { inflateEnd(&strm); }
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;
};

}  // namespace

std::vector<uint8_t> read_file_bytes(const std::string& path, size_t max_bytes) {
    std::error_code ec;
    fs::file_status st = fs::status(path, ec);
    QBH_DATA_CHECK(fs::exists(st), path << ": no such file" << install_hint(path));
    QBH_DATA_CHECK(!fs::is_directory(st), path << ": is a folder, expected a file");
    std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
    QBH_DATA_CHECK(file, path << ": cannot open: " << std::strerror(errno));
    uintmax_t size = fs::file_size(path, ec);
    QBH_DATA_CHECK(!ec, path << ": cannot read the size: " << ec.message());
    QBH_DATA_CHECK(size <= max_bytes, path << ": " << size << " bytes, more than the limit of "
                                           << max_bytes << " bytes");
    std::vector<uint8_t> bytes(static_cast<size_t>(size));
    size_t got = bytes.empty() ? 0 : std::fread(bytes.data(), 1, bytes.size(), file.get());
    QBH_DATA_CHECK(
        got == bytes.size() && !std::ferror(file.get()),
        path << ": read " << got << " of " << size << " bytes: " << std::strerror(errno));
    return bytes;
}

bool is_gzip(const uint8_t* bytes, size_t size) {
    return size >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

std::vector<uint8_t> gunzip_bytes(const uint8_t* bytes, size_t size, const std::string& name,
                                  size_t max_bytes) {
    QBH_DATA_CHECK(is_gzip(bytes, size), name << ": not a gzip stream (no 1f 8b magic)");
    Inflater z(name);
    std::vector<uint8_t> out(initial_output_size(bytes, size, max_bytes));
    size_t produced = 0, consumed = 0;
    // A cap on each call's counts: zlib's are 32-bit (uInt).
    constexpr size_t kStep = size_t(1) << 30;
    for (;;) {
        if (produced == out.size()) {
            size_t cap = max_bytes == SIZE_MAX ? max_bytes : max_bytes + 1;
            out.resize(std::min(cap, std::max(out.size() * 2, out.size() + 1024)));
        }
        z.strm.next_in = const_cast<Bytef*>(bytes + consumed);
        z.strm.avail_in = static_cast<uInt>(std::min(size - consumed, kStep));
        z.strm.next_out = out.data() + produced;
        z.strm.avail_out = static_cast<uInt>(std::min(out.size() - produced, kStep));
        uInt in_before = z.strm.avail_in, out_before = z.strm.avail_out;
        int ret = inflate(&z.strm, Z_NO_FLUSH);
        consumed += in_before - z.strm.avail_in;
        produced += out_before - z.strm.avail_out;
        QBH_DATA_CHECK(produced <= max_bytes, name << ": inflates to more than the limit of "
                                                   << max_bytes
                                                   << " bytes (a corrupt file or a gzip bomb)");
        if (ret == Z_STREAM_END) {
            if (consumed == size) break;
            // gzip allows several members one after another; anything else is garbage.
            QBH_DATA_CHECK(is_gzip(bytes + consumed, size - consumed),
                           name << ": " << size - consumed
                                << " unexpected bytes after the end of the gzip stream");
            inflateReset(&z.strm);
            continue;
        }
        QBH_DATA_CHECK(ret != Z_DATA_ERROR && ret != Z_NEED_DICT,
                       name << ": corrupt gzip stream after " << consumed << " of " << size
                            << " compressed bytes: " << (z.strm.msg ? z.strm.msg : "bad data"));
        QBH_CHECK(ret != Z_MEM_ERROR, name << ": zlib ran out of memory");
        // No progress although there is room for output: all the input is consumed and the
        // stream stops before its end marker.
        bool stalled = in_before == z.strm.avail_in && out_before == z.strm.avail_out;
        if (stalled && produced < out.size()) {
            QBH_DATA_CHECK(consumed < size, name << ": truncated gzip stream: the " << size
                                                 << " compressed bytes end before the "
                                                    "end-of-stream marker");
            QBH_DATA_CHECK(false, name << ": corrupt gzip stream: zlib stopped at byte " << consumed
                                       << " of " << size);
        }
    }
    out.resize(produced);
    // Give back a large unused tail (after growing by doubling), but do not copy the whole
    // buffer for a few spare bytes.
    if (out.capacity() - produced > produced / 4) out.shrink_to_fit();
    return out;
}

std::vector<uint8_t> read_maybe_gzip(const std::string& path, size_t max_bytes) {
    std::vector<uint8_t> bytes = read_file_bytes(path, max_bytes);
    if (!is_gzip(bytes.data(), bytes.size())) return bytes;
    return gunzip_bytes(bytes.data(), bytes.size(), path, max_bytes);
}

}  // namespace qbh::data
