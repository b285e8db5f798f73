// The CUDA API for a build without CUDA (QBH_CUDA=OFF or no toolkit found): every entry point
// that would touch a GPU throws, naming the build flag that turns the backend on.
#include "engine/core/error.h"
#include "engine/cuda/cuda_api.h"

namespace qbh::cuda {

namespace {
[[noreturn]] void no_cuda(const char* what) {
    QBH_FAIL(what << ": this build of qbheat has no CUDA backend; rebuild with -DQBH_CUDA=ON on a "
                     "machine with the CUDA toolkit, or use device cpu");
}
}  // namespace

bool built() {
    return false;
}
bool available() {
    return false;
}
void* device_malloc(size_t) {
    no_cuda("device_malloc");
}
void device_free(void*) {}
void copy_host_to_device(void*, const void*, size_t) {
    no_cuda("copy to cuda");
}
void copy_device_to_host(void*, const void*, size_t) {
    no_cuda("copy from cuda");
}
void copy_device_to_device(void*, const void*, size_t) {
    no_cuda("copy on cuda");
}
void synchronize() {}
MemoryStats memory_stats() {
    return {};
}
void reset_peak_memory() {}
void empty_cache() {}

}  // namespace qbh::cuda
