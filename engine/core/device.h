// Where a tensor's storage lives: the host (cpu) or the one CUDA device (cuda).
#pragma once

#include <string>

namespace qbh {

enum class Device : uint8_t { cpu, cuda };

inline const char* device_name(Device d) {
    return d == Device::cpu ? "cpu" : "cuda";
}

// True when this build contains the CUDA backend (QBH_CUDA found nvcc and the CUDA libraries).
bool cuda_built();
// True when the CUDA backend is built and a CUDA device is present at run time.
bool cuda_available();

}  // namespace qbh
