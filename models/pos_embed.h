// Fixed 2-D sin-cos position embeddings as in MAE (facebookresearch/mae util/pos_embed.py): half
// the channels encode the row, half the column, each half as [sin(pos * w_k), cos(pos * w_k)]
// with w_k = 1 / 10000^(k / (d/4)).
#pragma once

#include <cstdint>

#include "engine/core/tensor.h"

namespace qbh::models {

// [grid_h * grid_w, dim] f32, row-major over the grid (MAE's get_2d_sincos_pos_embed without a
// cls token; MAE passes the grid as (w, h) meshgrid: the FIRST half of the channels encodes the
// column index x, the second half the row index y). dim must be divisible by 4. Computed in
// double, stored as `dtype` (f64 for gradient checks).
Tensor sincos_pos_embed_2d(int64_t grid_h, int64_t grid_w, int64_t dim, DType dtype = DType::f32);

}  // namespace qbh::models
