// CPU kernels of the conv family over contiguous NCHW arrays: conv2d as im2col + GEMM (forward
// and backward), and average / max pooling. No autograd here; conv.cpp checks and records.
#pragma once

#include <cstdint>

namespace qbh::cpu {

// Sizes of one 2-D convolution. Input [n, c, h, w], weight [o, c / groups, kh, kw], output
// [n, o, ho, wo] with ho = (h + 2 ph - kh) / sh + 1 and wo likewise.
struct ConvGeometry {
    int64_t n, c, h, w;
    int64_t o, kh, kw;
    int64_t sh, sw, ph, pw;
    int64_t groups;
    int64_t ho, wo;
};

// Unfolds one image of c channels into cols [c * kh * kw, ho * wo] (zeros where the window
// reads padding); col2im adds such a matrix back into the image (the adjoint).
template <class T>
void im2col(T* cols, const T* x, int64_t c, const ConvGeometry& g);
template <class T>
void col2im(T* x, const T* cols, int64_t c, const ConvGeometry& g);

// y = conv(x, w) + bias; bias may be null.
template <class T>
void conv2d_forward(T* y, const T* x, const T* w, const T* bias, const ConvGeometry& g);

// dx, dw and db from dy; each may be null (not wanted) and is overwritten otherwise.
template <class T>
void conv2d_backward(T* dx, T* dw, T* db, const T* dy, const T* x, const T* w,
                     const ConvGeometry& g);

// Depthwise convolution (c / groups = 1) with stride 1, over zero-padded planes
// (conv_depthwise_cpu.cpp); conv2d_forward / conv2d_backward route such convolutions here.
template <class T>
void depthwise_forward_s1(T* y, const T* x, const T* w, const T* bias, const ConvGeometry& g);
template <class T>
void depthwise_backward_s1(T* dx, T* dw, const T* dy, const T* x, const T* w,
                           const ConvGeometry& g);

// Sizes of one pooling: `planes` = n * c independent [h, w] images, output [ho, wo] each.
struct PoolGeometry {
    int64_t planes, h, w;
    int64_t kh, kw, sh, sw, ph, pw;
    int64_t ho, wo;
};

// Average over each window, padded cells counted as zeros (divisor kh * kw).
template <class T>
void avg_pool2d_forward(T* y, const T* x, const PoolGeometry& g);
template <class T>
void avg_pool2d_backward(T* dx, const T* dy, const PoolGeometry& g);

// Maximum over the valid cells of each window; argmax[i] = h * w-plane index of the first one.
template <class T>
void max_pool2d_forward(T* y, int64_t* argmax, const T* x, const PoolGeometry& g);
template <class T>
void max_pool2d_backward(T* dx, const T* dy, const int64_t* argmax, const PoolGeometry& g);

}  // namespace qbh::cpu
