// The small CUDA surface the rest of the engine calls: availability, memory and copies.
// With QBH_CUDA=OFF these are implemented by no_cuda.cpp and throw a clear error; with CUDA they
// are implemented by context.cu and allocator.cu.
#pragma once

#include <cstddef>

namespace qbh::cuda {

bool built();
bool available();  // built and at least one device is visible

void* device_malloc(size_t nbytes);  // from the caching allocator
void device_free(void* ptr);         // back to the caching allocator's pool
void copy_host_to_device(void* dst, const void* src, size_t nbytes);
void copy_device_to_host(void* dst, const void* src, size_t nbytes);
void copy_device_to_device(void* dst, const void* src, size_t nbytes);
void synchronize();

struct MemoryStats {
    size_t current_bytes = 0;   // bytes handed out to tensors now
    size_t peak_bytes = 0;      // the most ever handed out at once
    size_t reserved_bytes = 0;  // bytes held from cudaMalloc, in use or cached
    size_t cuda_malloc_calls = 0;
};
MemoryStats memory_stats();
void reset_peak_memory();
void empty_cache();  // returns cached blocks to the driver

}  // namespace qbh::cuda
