// CUDA context: device discovery, stream and library handles, copies (see context.h, cuda_api.h).
#include "engine/cuda/context.h"
#include "engine/cuda/cuda_api.h"

namespace qbh::cuda {

bool built() {
    return true;
}

bool available() {
    int count = 0;
    return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

Context& Context::get() {
    static Context ctx;
    return ctx;
}

Context::Context() {
    QBH_CHECK(available(),
              "CUDA: no CUDA device is visible (check nvidia-smi and "
              "CUDA_VISIBLE_DEVICES, or use device cpu)");
    QBH_CUDA_CHECK(cudaSetDevice(0));
    QBH_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    QBH_CUBLAS_CHECK(cublasCreate(&cublas_));
    QBH_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
    QBH_CUBLAS_CHECK(cublasLtCreate(&cublaslt_));
    QBH_CUDNN_CHECK(cudnnCreate(&cudnn_));
    QBH_CUDNN_CHECK(cudnnSetStream(cudnn_, stream_));
}

Context::~Context() {
    // Process exit: the driver may already be shutting down, so errors are ignored here.
    if (workspace_) cudaFree(workspace_);
    if (cudnn_) cudnnDestroy(cudnn_);
    if (cublaslt_) cublasLtDestroy(cublaslt_);
    if (cublas_) cublasDestroy(cublas_);
    if (stream_) cudaStreamDestroy(stream_);
}

void* Context::workspace(size_t nbytes) {
    if (nbytes > workspace_bytes_) {
        if (workspace_) {
            QBH_CUDA_CHECK(cudaStreamSynchronize(stream_));
            QBH_CUDA_CHECK(cudaFree(workspace_));
        }
        QBH_CUDA_CHECK(cudaMalloc(&workspace_, nbytes));
        workspace_bytes_ = nbytes;
    }
    return workspace_;
}

void copy_host_to_device(void* dst, const void* src, size_t nbytes) {
    auto s = Context::get().stream();
    QBH_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyHostToDevice, s));
    QBH_CUDA_CHECK(cudaStreamSynchronize(s));  // src may be pageable host memory
}

void copy_device_to_host(void* dst, const void* src, size_t nbytes) {
    auto s = Context::get().stream();
    QBH_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToHost, s));
    QBH_CUDA_CHECK(cudaStreamSynchronize(s));
}

void copy_device_to_device(void* dst, const void* src, size_t nbytes) {
    QBH_CUDA_CHECK(
        cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToDevice, Context::get().stream()));
}

void synchronize() {
    QBH_CUDA_CHECK(cudaStreamSynchronize(Context::get().stream()));
}

}  // namespace qbh::cuda
