// libFuzzer target: parse_cifar on arbitrary bytes as CIFAR-10 and as CIFAR-100. The only
// acceptable failure is a DataError.
#include <cstddef>
#include <cstdint>

#include "data/decode/cifar.h"
#include "data/decode/data_error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    for (auto kind : {qbh::data::CifarKind::cifar10, qbh::data::CifarKind::cifar100}) {
        try {
            qbh::data::parse_cifar(data, size, kind, "fuzz.bin");
        } catch (const qbh::data::DataError&) {
        }
    }
    return 0;
}
