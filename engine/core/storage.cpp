// Storage allocation: 64-byte aligned host memory, or the CUDA caching allocator.
#include "engine/core/storage.h"

#include <cstdlib>
#include <new>

#include "engine/core/error.h"
#include "engine/cuda/cuda_api.h"

namespace qbh {

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
    if (nbytes == 0) return;
    if (device == Device::cpu) {
        size_t rounded = (nbytes + 63) / 64 * 64;  // aligned_alloc wants a multiple of 64
        data_ = std::aligned_alloc(64, rounded);
        QBH_CHECK(data_ != nullptr, "out of host memory: could not allocate "
                                        << nbytes << " bytes (reduce the batch size or model)");
    } else {
        data_ = cuda::device_malloc(nbytes);
    }
}

Storage::~Storage() {
    if (!data_) return;
    if (device_ == Device::cpu) {
        std::free(data_);
    } else {
        cuda::device_free(data_);
    }
}

}  // namespace qbh
