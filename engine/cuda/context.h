// The one CUDA device context: the stream every kernel runs on, the cuBLAS, cuBLASLt and cuDNN
// handles bound to it, and a reusable workspace. Created on first use; never copied.
#pragma once

#include <cstddef>

#include "engine/cuda/check.h"

namespace qbh::cuda {

class Context {
  public:
    static Context& get();  // creates the context on first call; throws if there is no device

    cudaStream_t stream() const { return stream_; }
    cublasHandle_t cublas() const { return cublas_; }
    cublasLtHandle_t cublaslt() const { return cublaslt_; }
    cudnnHandle_t cudnn() const { return cudnn_; }
    // A scratch buffer of at least `nbytes` for cuBLASLt / cuDNN; grows, never shrinks.
    void* workspace(size_t nbytes);
    size_t workspace_bytes() const { return workspace_bytes_; }

    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

  private:
    Context();
    ~Context();
    cudaStream_t stream_ = nullptr;
    cublasHandle_t cublas_ = nullptr;
    cublasLtHandle_t cublaslt_ = nullptr;
    cudnnHandle_t cudnn_ = nullptr;
    void* workspace_ = nullptr;
    size_t workspace_bytes_ = 0;
};

}  // namespace qbh::cuda
