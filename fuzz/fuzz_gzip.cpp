// libFuzzer target: gunzip_bytes on arbitrary bytes with a 16 MiB output cap (a gzip bomb must
// stop at the cap with a DataError, never exhaust memory).
#include <cstddef>
#include <cstdint>

#include "data/decode/data_error.h"
#include "data/decode/file_bytes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        qbh::data::gunzip_bytes(data, size, "fuzz.gz", size_t(16) << 20);
    } catch (const qbh::data::DataError&) {
    }
    return 0;
}
