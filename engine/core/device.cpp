// Device queries (see device.h), answered by the CUDA API of this build.
#include "engine/core/device.h"

#include "engine/cuda/cuda_api.h"

namespace qbh {

bool cuda_built() {
    return cuda::built();
}
bool cuda_available() {
    return cuda::available();
}

}  // namespace qbh
