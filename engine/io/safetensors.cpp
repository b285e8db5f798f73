// safetensors I/O (see safetensors.h). Layout: 8-byte little-endian header length N, N bytes of
// JSON {name: {dtype, shape, data_offsets}, "__metadata__": {...}} padded with spaces to a
// multiple of 8, then the data buffer. Loading validates the header fully before allocating.
#include "engine/io/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/ops/view.h"

namespace qbh::io {

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian data; this build assumes a little-endian host");

namespace {

using json = nlohmann::json;

// The same limit as the Python reader: a larger header is corrupt, not real.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr const char* kMetadataKey = "__metadata__";

const char* safetensors_dtype(DType dt) {
    switch (dt) {
        case DType::f32:
            return "F32";
        case DType::f64:
            return "F64";
        case DType::i64:
            return "I64";
        case DType::bf16:
            return "BF16";
    }
    return "?";
}

// ---------------------------------------------------------------------------------------------
// Saving

// Removes the temp file unless the save committed (rename done): a failed save leaves nothing.
class TempFile {
  public:
    explicit TempFile(std::string path) : path_(std::move(path)) {}
    ~TempFile() {
        if (fd_ >= 0) ::close(fd_);
        if (!committed_) ::unlink(path_.c_str());
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    const std::string& path() const { return path_; }
    int& fd() { return fd_; }
    void commit() { committed_ = true; }

  private:
    std::string path_;
    int fd_ = -1;
    bool committed_ = false;
};

std::string errno_text() {
    return std::strerror(errno);
}

void write_all(TempFile& tmp, const std::string& target, const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
        ssize_t w = ::write(tmp.fd(), p, n);
        if (w < 0 && errno == EINTR) continue;
        QBH_CHECK(w > 0, "save_safetensors: '" << target << "': writing '" << tmp.path()
                                               << "' failed (" << errno_text()
                                               << "); check free disk space");
        p += w;
        n -= static_cast<size_t>(w);
    }
}

// Flushes the directory entry of the rename to disk as well (best effort: some file systems
// refuse fsync on directories, and the data itself is already durable).
void sync_parent_dir(const std::string& path) {
    std::filesystem::path dir = std::filesystem::path(path).parent_path();
    if (dir.empty()) dir = ".";
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

// Host, contiguous, history-free copies of the tensors (the bytes to write), after checks.
NamedTensors host_tensors(const std::string& path, const NamedTensors& tensors) {
    NamedTensors out;
    std::set<std::string> seen;
    for (const auto& [name, t] : tensors) {
        QBH_CHECK(!name.empty() && name != kMetadataKey,
                  "save_safetensors: '" << path << "': invalid tensor name '" << name
                                        << "' (names must be non-empty and not '" << kMetadataKey
                                        << "')");
        QBH_CHECK(seen.insert(name).second, "save_safetensors: '" << path << "': tensor name '"
                                                                  << name
                                                                  << "' appears twice; names must "
                                                                     "be unique");
        QBH_CHECK(t.defined(), "save_safetensors: '" << path << "': tensor '" << name
                                                     << "' is undefined; pass a tensor with "
                                                        "values (nothing was written)");
        Tensor h = t.detach();
        if (h.is_cuda()) h = h.to(Device::cpu);
        out.emplace_back(name, contiguous_for_kernel(h));
    }
    return out;
}

std::string build_header(const std::string& path, const NamedTensors& tensors,
                         const std::map<std::string, std::string>& metadata) {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) header[kMetadataKey] = metadata;
    uint64_t offset = 0;
    for (const auto& [name, t] : tensors) {
        uint64_t bytes = static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype());
        header[name] = {{"dtype", safetensors_dtype(t.dtype())},
                        {"shape", t.shape()},
                        {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    std::string text;
    try {
        text = header.dump();
    } catch (const nlohmann::json::exception& e) {
        QBH_FAIL("save_safetensors: '" << path << "': cannot encode the header (" << e.what()
                                       << "); tensor names and metadata must be valid UTF-8");
    }
    text.append((8 - text.size() % 8) % 8, ' ');
    return text;
}

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
    NamedTensors host = host_tensors(path, tensors);
    std::string header = build_header(path, host, metadata);

    TempFile tmp(path + ".tmp." + std::to_string(::getpid()));
    tmp.fd() = ::open(tmp.path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    QBH_CHECK(tmp.fd() >= 0, "save_safetensors: '" << path << "': cannot create '" << tmp.path()
                                                   << "' (" << errno_text()
                                                   << "); check that the directory exists and "
                                                      "is writable");
    uint64_t n = header.size();
    write_all(tmp, path, &n, 8);
    write_all(tmp, path, header.data(), header.size());
    for (const auto& [name, t] : host)
        write_all(tmp, path, t.raw_data(), static_cast<size_t>(t.numel()) * dtype_size(t.dtype()));
    QBH_CHECK(::fsync(tmp.fd()) == 0, "save_safetensors: '" << path << "': fsync of '" << tmp.path()
                                                            << "' failed (" << errno_text() << ")");
    int fd = tmp.fd();
    tmp.fd() = -1;
    QBH_CHECK(::close(fd) == 0, "save_safetensors: '" << path << "': closing '" << tmp.path()
                                                      << "' failed (" << errno_text() << ")");
    QBH_CHECK(::rename(tmp.path().c_str(), path.c_str()) == 0,
              "save_safetensors: cannot rename '" << tmp.path() << "' to '" << path << "' ("
                                                  << errno_text()
                                                  << "); is the target a directory?");
    tmp.commit();
    sync_parent_dir(path);
}

// ---------------------------------------------------------------------------------------------
// Loading

namespace {

// One validated header entry.
struct Entry {
    std::string name;
    DType dtype;
    Shape shape;
    uint64_t begin = 0, end = 0;
};

#define QBH_BAD_FILE(cond, msg) QBH_CHECK(cond, "load_safetensors: '" << path << "': " << msg)

DType parse_dtype(const std::string& path, const std::string& name, const json& v) {
    QBH_BAD_FILE(v.is_string(), "tensor '" << name << "' has a non-string dtype " << v.dump()
                                           << "; the file is corrupt");
    std::string s = v.get<std::string>();
    if (s == "F32") return DType::f32;
    if (s == "F64") return DType::f64;
    if (s == "I64") return DType::i64;
    if (s == "BF16") return DType::bf16;
    QBH_FAIL("load_safetensors: '" << path << "': tensor '" << name << "' has dtype '" << s
                                   << "', which qbheat does not read (F32, F64, I64, BF16); "
                                      "convert it in Python first, e.g. tensor.float()");
}

// The shape and its byte count, with overflow-safe arithmetic (a shape is untrusted input).
Shape parse_shape(const std::string& path, const std::string& name, const json& v, DType dt,
                  uint64_t* bytes) {
    QBH_BAD_FILE(v.is_array(), "tensor '" << name << "' has shape " << v.dump()
                                          << ", expected an array of sizes; the file is corrupt");
    Shape shape;
    int64_t numel = 1, nonzero_product = 1;
    for (const json& d : v) {
        QBH_BAD_FILE(d.is_number_integer(), "tensor '" << name << "' has a non-integer size "
                                                       << d.dump() << " in its shape " << v.dump());
        QBH_BAD_FILE(d.is_number_unsigned(), "tensor '" << name << "' has a negative size in "
                                                        << "its shape " << v.dump());
        uint64_t u = d.get<uint64_t>();
        int64_t s = static_cast<int64_t>(u);
        bool overflow = u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
                        (s != 0 && __builtin_mul_overflow(nonzero_product, s, &nonzero_product));
        QBH_BAD_FILE(!overflow, "tensor '" << name << "' has an absurd shape " << v.dump()
                                           << " (its size overflows 64 bits); the file is "
                                              "corrupt");
        numel *= s;  // cannot overflow: |numel| <= nonzero_product
        shape.push_back(s);
    }
    uint64_t n = static_cast<uint64_t>(numel), b = 0;
    QBH_BAD_FILE(!__builtin_mul_overflow(n, dtype_size(dt), &b),
                 "tensor '" << name << "' has an absurd shape " << v.dump());
    *bytes = b;
    return shape;
}

Entry parse_entry(const std::string& path, const std::string& name, const json& v,
                  uint64_t data_size) {
    QBH_BAD_FILE(v.is_object(), "entry '" << name << "' is " << v.dump().substr(0, 80)
                                          << ", expected an object with dtype, shape and "
                                             "data_offsets");
    for (const char* key : {"dtype", "shape", "data_offsets"})
        QBH_BAD_FILE(v.contains(key), "tensor '" << name << "' has no '" << key
                                                 << "' field; the file is corrupt or not "
                                                    "safetensors");
    Entry e;
    e.name = name;
    e.dtype = parse_dtype(path, name, v["dtype"]);
    uint64_t bytes = 0;
    e.shape = parse_shape(path, name, v["shape"], e.dtype, &bytes);
    const json& off = v["data_offsets"];
    QBH_BAD_FILE(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() &&
                     off[1].is_number_unsigned(),
                 "tensor '" << name << "' has data_offsets " << off.dump()
                            << ", expected [begin, end] with non-negative integers");
    e.begin = off[0].get<uint64_t>();
    e.end = off[1].get<uint64_t>();
    QBH_BAD_FILE(e.end >= e.begin, "tensor '" << name << "' has data_offsets " << off.dump()
                                              << " with end < begin; the file is corrupt");
    QBH_BAD_FILE(e.end <= data_size,
                 "tensor '" << name << "' has data_offsets " << off.dump()
                            << " beyond the data buffer (" << data_size
                            << " bytes): the file is truncated or corrupt; write it again");
    QBH_BAD_FILE(e.end - e.begin == bytes,
                 "tensor '" << name << "' holds " << e.end - e.begin << " bytes but its shape "
                            << shape_str(e.shape) << " and dtype " << dtype_name(e.dtype)
                            << " need " << bytes << "; the file is corrupt");
    return e;
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const json& v) {
    QBH_BAD_FILE(v.is_object(), "'" << kMetadataKey << "' is " << v.dump().substr(0, 80)
                                    << ", expected an object of strings");
    std::map<std::string, std::string> out;
    for (const auto& [key, value] : v.items()) {
        QBH_BAD_FILE(value.is_string(),
                     "metadata '" << key << "' is " << value.dump() << ", expected a string");
        out[key] = value.get<std::string>();
    }
    return out;
}

// Parses the header text; duplicate top-level names are an error (json would keep the last).
json parse_header(const std::string& path, const std::string& text) {
    std::set<std::string> names;
    std::string duplicate;
    auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
        if (depth == 1 && event == json::parse_event_t::key && parsed.is_string() &&
            !names.insert(parsed.get<std::string>()).second && duplicate.empty())
            duplicate = parsed.get<std::string>();
        return true;
    };
    json header;
    try {
        header = json::parse(text, on_event);
    } catch (const json::exception& e) {
        QBH_FAIL("load_safetensors: '" << path << "': the header is not valid JSON (" << e.what()
                                       << "); the file is corrupt or not safetensors");
    }
    QBH_BAD_FILE(header.is_object(), "the header is JSON " << header.type_name()
                                                           << ", expected an object; the file is "
                                                              "corrupt or not safetensors");
    QBH_BAD_FILE(duplicate.empty(),
                 "the header names '" << duplicate << "' twice; the file is corrupt");
    return header;
}

void check_no_overlap(const std::string& path, const std::vector<Entry>& sorted) {
    const Entry* prev = nullptr;
    for (const Entry& e : sorted) {
        if (e.begin == e.end) continue;  // empty tensors occupy no bytes
        QBH_BAD_FILE(!prev || e.begin >= prev->end,
                     "tensors '" << prev->name << "' [" << prev->begin << ", " << prev->end
                                 << ") and '" << e.name << "' [" << e.begin << ", " << e.end
                                 << ") overlap in the data buffer; the file is corrupt");
        prev = &e;
    }
}

uint64_t read_u64_le(const unsigned char* b) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | b[i];
    return v;
}

}  // namespace

SafetensorsFile load_safetensors(const std::string& path) {
    std::error_code ec;
    QBH_BAD_FILE(std::filesystem::is_regular_file(path, ec),
                 (std::filesystem::exists(path, ec) ? "not a regular file"
                                                    : "no such file; check the path"));
    std::ifstream in(path, std::ios::binary);
    QBH_BAD_FILE(in.good(), "cannot open the file (" << errno_text() << ")");
    uint64_t file_size = std::filesystem::file_size(path, ec);
    QBH_BAD_FILE(!ec, "cannot read its size (" << ec.message() << ")");
    QBH_BAD_FILE(file_size >= 8, "the file has " << file_size
                                                 << " bytes, fewer than the 8-byte header "
                                                    "length; it is truncated or not safetensors");
    unsigned char len_bytes[8];
    in.read(reinterpret_cast<char*>(len_bytes), 8);
    QBH_BAD_FILE(in.gcount() == 8, "cannot read the header length; the file is truncated");
    uint64_t n = read_u64_le(len_bytes);
    QBH_BAD_FILE(n <= kMaxHeaderBytes, "the header length " << n << " is larger than the "
                                                            << kMaxHeaderBytes
                                                            << "-byte limit; the file is corrupt "
                                                               "or not safetensors");
    QBH_BAD_FILE(n <= file_size - 8, "the header length " << n << " is larger than the file ("
                                                          << file_size
                                                          << " bytes); the file is truncated or "
                                                             "not safetensors");
    std::string text(n, '\0');
    in.read(text.data(), static_cast<std::streamsize>(n));
    QBH_BAD_FILE(static_cast<uint64_t>(in.gcount()) == n,
                 "cannot read the header; the file is truncated");

    json header = parse_header(path, text);
    uint64_t data_size = file_size - 8 - n;
    SafetensorsFile file;
    std::vector<Entry> entries;
    for (const auto& [name, value] : header.items()) {
        if (name == kMetadataKey)
            file.metadata = parse_metadata(path, value);
        else
            entries.push_back(parse_entry(path, name, value, data_size));
    }
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    check_no_overlap(path, entries);

    for (const Entry& e : entries) {
        Tensor t = Tensor::empty(e.shape, e.dtype);
        in.seekg(static_cast<std::streamoff>(8 + n + e.begin));
        in.read(static_cast<char*>(t.raw_data()), static_cast<std::streamsize>(e.end - e.begin));
        QBH_BAD_FILE(in.good() || e.begin == e.end,
                     "reading tensor '" << e.name << "' failed; the file is truncated");
        file.tensors.emplace_back(e.name, t);
    }
    return file;
}

#undef QBH_BAD_FILE

// ---------------------------------------------------------------------------------------------
// SafetensorsFile

bool SafetensorsFile::contains(const std::string& name) const {
    for (const auto& [n, t] : tensors)
        if (n == name) return true;
    return false;
}

const Tensor& SafetensorsFile::at(const std::string& name) const {
    for (const auto& [n, t] : tensors)
        if (n == name) return t;
    std::string names;
    for (size_t i = 0; i < tensors.size() && i < 20; ++i)
        names += (i ? ", " : "") + tensors[i].first;
    if (tensors.size() > 20) names += ", ...";
    QBH_FAIL("SafetensorsFile::at: no tensor named '" << name << "' (the file has "
                                                      << tensors.size() << ": " << names << ")");
}

std::map<std::string, Tensor> SafetensorsFile::to_map() const {
    return std::map<std::string, Tensor>(tensors.begin(), tensors.end());
}

}  // namespace qbh::io
