// parse_cifar: splits a CIFAR batch into its labels and its planar pixel records, checking the
// size (a whole number of records) before allocating and every label against the class count.
#include "data/decode/cifar.h"

#include <cstring>

#include "data/decode/data_error.h"

namespace qbh::data {
namespace {

const char* kind_name(CifarKind kind) {
    return kind == CifarKind::cifar10 ? "CIFAR-10" : "CIFAR-100";
}

}  // namespace

int64_t cifar_record_bytes(CifarKind kind) {
    return (kind == CifarKind::cifar10 ? 1 : 2) + kCifarPixels;
}

CifarRecords parse_cifar(const uint8_t* bytes, size_t size, CifarKind kind,
                         const std::string& name) {
    const size_t record = static_cast<size_t>(cifar_record_bytes(kind));
    const size_t label_bytes = record - kCifarPixels;
    QBH_DATA_CHECK(size > 0, name << ": empty file; expected " << kind_name(kind) << " records of "
                                  << record << " bytes");
    QBH_DATA_CHECK(size % record == 0, name << ": " << size << " bytes is not a whole number of "
                                            << record << "-byte " << kind_name(kind)
                                            << " records (truncated, or not a " << kind_name(kind)
                                            << " batch)");
    CifarRecords out;
    out.count = static_cast<int64_t>(size / record);
    out.labels.resize(out.count);
    out.pixels.resize(static_cast<size_t>(out.count) * kCifarPixels);
    for (int64_t i = 0; i < out.count; ++i) {
        const uint8_t* rec = bytes + static_cast<size_t>(i) * record;
        if (kind == CifarKind::cifar10) {
            QBH_DATA_CHECK(rec[0] < 10, name << ": record " << i << " has label " << int(rec[0])
                                             << "; CIFAR-10 labels are 0..9");
        } else {
            QBH_DATA_CHECK(rec[0] < 20 && rec[1] < 100,
                           name << ": record " << i << " has coarse label " << int(rec[0])
                                << " and fine label " << int(rec[1])
                                << "; CIFAR-100 labels are 0..19 (coarse) and 0..99 (fine)");
        }
        out.labels[i] = rec[label_bytes - 1];
        std::memcpy(out.pixels.data() + static_cast<size_t>(i) * kCifarPixels, rec + label_bytes,
                    kCifarPixels);
    }
    return out;
}

}  // namespace qbh::data
