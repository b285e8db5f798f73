// Storage allocation: 64-byte aligned host memory, or the CUDA caching allocator.
#include "engine/core/storage.h"

#include <cstdlib>
#include <new>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "engine/core/error.h"
#include "engine/cuda/cuda_api.h"

namespace qbh {

namespace {
#ifdef __GLIBC__
// glibc hands blocks freed at the top of the heap back to the OS and maps big ones afresh, so a
// loop allocating the same tensors (and Eigen's GEMM workspaces) page-faults on every step: 20-30 %
// of a 256^3 matmul. Serving blocks up to 32 MiB from the heap and trimming rarely avoids that.
const bool malloc_tuned = [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    return true;
}();
#endif
}  // namespace

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
