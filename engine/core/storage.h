// Storage: one owned block of memory on one device. Tensors share a Storage through a
// shared_ptr; views point into the same block with their own offset, shape and strides.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "engine/core/device.h"

namespace qbh {

class Storage {
  public:
    // Allocates `nbytes` (64-byte aligned on the host; from the caching allocator on CUDA).
    Storage(size_t nbytes, Device device);
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    void* data() const { return data_; }
    size_t nbytes() const { return nbytes_; }
    Device device() const { return device_; }

    // Bumped by every in-place write. Reserved for autograd to catch a saved tensor modified
    // before backward reads it; nothing checks it yet (docs/architecture.md).
    uint64_t version() const { return version_; }
    void bump_version() { ++version_; }

  private:
    void* data_ = nullptr;
    size_t nbytes_ = 0;
    Device device_ = Device::cpu;
    uint64_t version_ = 0;
};

}  // namespace qbh
