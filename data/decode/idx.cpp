// parse_idx: the IDX header checks and the copy of the values. The header is checked in full,
// and the declared size compared with the bytes present, before anything is allocated, so a
// hostile header cannot make us allocate more than the file itself holds.
#include "data/decode/idx.h"

#include <cstdio>
#include <cstring>
#include <sstream>

#include "data/decode/data_error.h"

namespace qbh::data {
namespace {

constexpr uint8_t kTypeU8 = 0x08;

const char* idx_type_name(uint8_t type) {
    switch (type) {
        case 0x08:
            return "unsigned byte";
        case 0x09:
            return "signed byte";
        case 0x0B:
            return "short";
        case 0x0C:
            return "int";
        case 0x0D:
            return "float";
        case 0x0E:
            return "double";
        default:
            return "unknown";
    }
}

std::string hex(uint32_t value, int digits) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%0*x", digits, static_cast<unsigned>(value));
    return buf;
}

uint32_t read_be32(const uint8_t* p) {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

// "60000 images of 28x28", "60000 labels" or "dims 2x3x4x5", for messages.
std::string describe_dims(const std::vector<int64_t>& dims) {
    std::ostringstream os;
    if (dims.size() == 3) {
        os << dims[0] << " images of " << dims[1] << "x" << dims[2];
    } else if (dims.size() == 1) {
        os << dims[0] << " labels";
    } else {
        os << "dims ";
        for (size_t i = 0; i < dims.size(); ++i) os << (i ? "x" : "") << dims[i];
    }
    return os.str();
}

}  // namespace

IdxArray parse_idx(const uint8_t* bytes, size_t size, const std::string& name) {
    QBH_DATA_CHECK(size >= 4, name << ": too short for an IDX header (" << size
                                   << " bytes; an IDX file starts with a 4-byte magic)");
    uint32_t magic = read_be32(bytes);
    QBH_DATA_CHECK(bytes[0] == 0 && bytes[1] == 0,
                   name << ": not an IDX file (magic " << hex(magic, 8)
                        << "; expected 0x00000803 for images or 0x00000801 for labels)");
    uint8_t type = bytes[2];
    QBH_DATA_CHECK(type == kTypeU8, name << ": IDX value type " << hex(type, 2) << " ("
                                         << idx_type_name(type)
                                         << ") is not supported; expected 0x08 (unsigned byte)");
    int ndims = bytes[3];
    QBH_DATA_CHECK(ndims >= 1 && ndims <= 4,
                   name << ": IDX header declares " << ndims << " dimensions; expected 1 to 4");
    size_t header = 4 + 4 * static_cast<size_t>(ndims);
    QBH_DATA_CHECK(size >= header, name << ": truncated: the header declares " << ndims
                                        << " dimensions (" << header << " header bytes) but the "
                                        << "file holds " << size << " bytes");
    IdxArray out;
    out.dims.resize(ndims);
    for (int i = 0; i < ndims; ++i) {
        out.dims[i] = read_be32(bytes + 4 + 4 * i);
        QBH_DATA_CHECK(out.dims[i] > 0, name << ": IDX dimension " << i << " is 0");
    }
    int64_t count = 1;
    for (int64_t d : out.dims) {
        // Divide rather than multiply first: the product of four 32-bit dims overflows.
        QBH_DATA_CHECK(d <= kMaxIdxValues / count, name << ": IDX header declares "
                                                        << describe_dims(out.dims) << ", more than "
                                                        << kMaxIdxValues << " values");
        count *= d;
    }
    size_t payload = size - header;
    QBH_DATA_CHECK(payload >= static_cast<uint64_t>(count),
                   name << ": truncated: header declares " << describe_dims(out.dims) << " ("
                        << count << " bytes) but the file holds " << payload
                        << " bytes after the header");
    QBH_DATA_CHECK(payload == static_cast<uint64_t>(count),
                   name << ": " << payload - count << " unexpected bytes after the " << count
                        << " values the header declares (" << describe_dims(out.dims) << ")");
    out.values.assign(bytes + header, bytes + size);
    return out;
}

}  // namespace qbh::data
