// libFuzzer target: parse_idx on arbitrary bytes, gunzipped first when they start like gzip
// (as IdxDataset reads files). The only acceptable failure is a DataError.
#include <cstddef>
#include <cstdint>

#include "data/decode/data_error.h"
#include "data/decode/file_bytes.h"
#include "data/decode/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        if (qbh::data::is_gzip(data, size)) {
            auto raw = qbh::data::gunzip_bytes(data, size, "fuzz.gz", size_t(64) << 20);
            qbh::data::parse_idx(raw.data(), raw.size(), "fuzz.gz");
        } else {
            qbh::data::parse_idx(data, size, "fuzz");
        }
    } catch (const qbh::data::DataError&) {
    }
    return 0;
}
