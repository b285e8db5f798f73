// Caching device allocator. Blocks are rounded to a size class and, when freed, kept in a free
// list for that class instead of going back to cudaFree, so a training step that asks for the
// same sizes every iteration makes no cudaMalloc after the first one. Single stream, so a block
// freed on the host may be reused by the next kernel on the same stream without a sync.
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "engine/cuda/context.h"
#include "engine/cuda/cuda_api.h"

namespace qbh::cuda {

namespace {

// 512-byte granularity for small blocks, 2 MiB for large ones (fewer distinct classes).
size_t size_class(size_t n) {
    const size_t small = 512, large = size_t(2) << 20;
    size_t g = n < (size_t(1) << 20) ? small : large;
    return (n + g - 1) / g * g;
}

struct Allocator {
    std::mutex mu;
    std::map<size_t, std::vector<void*>> free_blocks;  // size class -> cached blocks
    std::unordered_map<void*, size_t> live;            // block -> size class
    MemoryStats stats;

    void* malloc(size_t nbytes) {
        std::lock_guard<std::mutex> lock(mu);
        Context::get();  // make sure the device is set up
        size_t cls = size_class(nbytes);
        void* ptr = nullptr;
        auto it = free_blocks.find(cls);
        if (it != free_blocks.end() && !it->second.empty()) {
            ptr = it->second.back();
            it->second.pop_back();
        } else {
            if (cudaMalloc(&ptr, cls) != cudaSuccess) {
                cudaGetLastError();  // clear the sticky error, free the cache, try once more
                release_cached();
                if (cudaMalloc(&ptr, cls) != cudaSuccess) {
                    cudaGetLastError();
                    size_t free_b = 0, total_b = 0;
                    cudaMemGetInfo(&free_b, &total_b);
                    QBH_FAIL("CUDA out of memory: asked for "
                             << nbytes << " bytes; tensors use " << stats.current_bytes
                             << " bytes, the device has " << free_b << " of " << total_b
                             << " bytes free. Reduce the batch size "
                                "(--set train.batch_size=...) or the model size.");
                }
            }
            stats.reserved_bytes += cls;
            ++stats.cuda_malloc_calls;
        }
        live[ptr] = cls;
        stats.current_bytes += cls;
        if (stats.current_bytes > stats.peak_bytes) stats.peak_bytes = stats.current_bytes;
        return ptr;
    }

    void free(void* ptr) {
        std::lock_guard<std::mutex> lock(mu);
        auto it = live.find(ptr);
        if (it == live.end()) return;
        stats.current_bytes -= it->second;
        free_blocks[it->second].push_back(ptr);
        live.erase(it);
    }

    void release_cached() {
        cudaDeviceSynchronize();
        for (auto& [cls, blocks] : free_blocks) {
            for (void* p : blocks) {
                cudaFree(p);
                stats.reserved_bytes -= cls;
            }
            blocks.clear();
        }
    }
};

Allocator& allocator() {
    static Allocator* a = new Allocator();  // leaked on purpose: outlives every tensor at exit
    return *a;
}

}  // namespace

void* device_malloc(size_t nbytes) {
    return allocator().malloc(nbytes);
}
void device_free(void* ptr) {
    allocator().free(ptr);
}

MemoryStats memory_stats() {
    std::lock_guard<std::mutex> lock(allocator().mu);
    return allocator().stats;
}

void reset_peak_memory() {
    std::lock_guard<std::mutex> lock(allocator().mu);
    allocator().stats.peak_bytes = allocator().stats.current_bytes;
}

void empty_cache() {
    std::lock_guard<std::mutex> lock(allocator().mu);
    allocator().release_cached();
}

}  // namespace qbh::cuda
