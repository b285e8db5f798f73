// MAE's fixed 2-D sin-cos position table (pos_embed.h), computed in double and stored in the
// requested dtype. For a non-square grid the column half uses the column index and the row
// half the row index, which is what MAE's meshgrid(w, h) does for square grids.
#include "models/pos_embed.h"

#include <cmath>
#include <vector>

#include "engine/core/error.h"

namespace qbh::models {

Tensor sincos_pos_embed_2d(int64_t grid_h, int64_t grid_w, int64_t dim, DType dtype) {
    QBH_CHECK(grid_h > 0 && grid_w > 0,
              "sincos_pos_embed_2d: grid " << grid_h << "x" << grid_w << " must be non-empty");
    QBH_CHECK(dim > 0 && dim % 4 == 0,
              "sincos_pos_embed_2d: dim " << dim << " must be a positive multiple of 4");
    const int64_t quarter = dim / 4;  // frequencies per axis
    std::vector<double> omega(quarter);
    for (int64_t k = 0; k < quarter; ++k)
        omega[k] = 1.0 / std::pow(10000.0, static_cast<double>(k) / static_cast<double>(quarter));
    std::vector<double> out(grid_h * grid_w * dim);
    for (int64_t i = 0; i < grid_h; ++i)
        for (int64_t j = 0; j < grid_w; ++j) {
            double* row = &out[(i * grid_w + j) * dim];
            // First half: column j; second half: row i; each half [sin..., cos...].
            const double pos[2] = {static_cast<double>(j), static_cast<double>(i)};
            for (int half = 0; half < 2; ++half)
                for (int64_t k = 0; k < quarter; ++k) {
                    row[half * 2 * quarter + k] = std::sin(pos[half] * omega[k]);
                    row[half * 2 * quarter + quarter + k] = std::cos(pos[half] * omega[k]);
                }
        }
    return Tensor::from_vector(out, {grid_h * grid_w, dim}, dtype);
}

}  // namespace qbh::models
