// CPU kernels of the heat-propagation op (see heat.h): the whole forward and backward over raw
// row-major buffers, Z [n, 2h, 2w, d], V [n, h, w, d], A and B [d, d]. No autograd in here:
// ops/heat.cpp checks the arguments, calls these and records the node.
#pragma once

#include <cstdint>

namespace qbh::cpu {

// The op's configuration in plain numbers.
struct HeatGeometry {
    int64_t n = 0, h = 0, w = 0, d = 0;  // V is [n, h, w, d]
    int col_sign = 1;    // +1: block on the left, march right with (I + A); -1: left, (I - A)
    int row_sign = 1;    // +1: block on top, march down with (I + B); -1: up, (I - B)
    bool block = false;  // mode block (one step of the whole block), else mode cell
    bool norm = false;   // steps act on the layer-normalised feature
};

// Z from V, A, B (every element of z is written).
template <class T>
void heat_forward(T* z, const T* v, const T* a, const T* b, const HeatGeometry& g);

// Gradients from dL/dZ (gz) and the forward's output z. dv [n, h, w, d], da and db [d, d] are
// overwritten; pass nullptr for a gradient that is not wanted (its work is skipped).
template <class T>
void heat_backward(T* dv, T* da, T* db, const T* gz, const T* z, const T* a, const T* b,
                   const HeatGeometry& g);

}  // namespace qbh::cpu
