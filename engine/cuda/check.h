// Error checks for CUDA runtime, cuBLAS and cuDNN calls: a failing call throws qbh::Error with
// the call's text, the library's error string and file:line.
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "engine/core/error.h"

#define QBH_CUDA_CHECK(call)                                                                       \
    do {                                                                                           \
        cudaError_t qbh_err_ = (call);                                                             \
        QBH_CHECK(qbh_err_ == cudaSuccess, "CUDA error " << cudaGetErrorString(qbh_err_)           \
                                                         << " in " #call " at " << __FILE__ << ":" \
                                                         << __LINE__);                             \
    } while (0)

#define QBH_CUBLAS_CHECK(call)                                                             \
    do {                                                                                   \
        cublasStatus_t qbh_st_ = (call);                                                   \
        QBH_CHECK(qbh_st_ == CUBLAS_STATUS_SUCCESS,                                        \
                  "cuBLAS error " << cublasGetStatusString(qbh_st_) << " in " #call " at " \
                                  << __FILE__ << ":" << __LINE__);                         \
    } while (0)

#define QBH_CUDNN_CHECK(call)                                                                      \
    do {                                                                                           \
        cudnnStatus_t qbh_st_ = (call);                                                            \
        QBH_CHECK(qbh_st_ == CUDNN_STATUS_SUCCESS, "cuDNN error " << cudnnGetErrorString(qbh_st_)  \
                                                                  << " in " #call " at "           \
                                                                  << __FILE__ << ":" << __LINE__); \
    } while (0)
