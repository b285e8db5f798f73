// CPU reduction kernels (see reduce_cpu.h). Sums accumulate in double for f32 inputs, so long
// rows do not lose precision.
#include "engine/ops/reduce_cpu.h"

#include <cmath>

namespace qbh::cpu {

template <class T>
void sum_rows(T* out, const T* in, int64_t rows, int64_t cols) {
#pragma omp parallel for if (rows * cols >= (1 << 15))
    for (int64_t r = 0; r < rows; ++r) {
        const T* row = in + r * cols;
        double acc = 0.0;
        for (int64_t c = 0; c < cols; ++c) acc += row[c];
        out[r] = static_cast<T>(acc);
    }
}

template <class T>
void max_rows(T* out, int64_t* index, const T* in, int64_t rows, int64_t cols) {
#pragma omp parallel for if (rows * cols >= (1 << 15))
    for (int64_t r = 0; r < rows; ++r) {
        const T* row = in + r * cols;
        int64_t best = 0;
        for (int64_t c = 1; c < cols; ++c) {
            // NaN wins, as in PyTorch: a NaN anywhere makes the max NaN.
            if (row[c] > row[best] || (std::isnan(row[c]) && !std::isnan(row[best]))) best = c;
        }
        out[r] = row[best];
        index[r] = best;
    }
}

template void sum_rows<float>(float*, const float*, int64_t, int64_t);
template void sum_rows<double>(double*, const double*, int64_t, int64_t);
template void max_rows<float>(float*, int64_t*, const float*, int64_t, int64_t);
template void max_rows<double>(double*, int64_t*, const double*, int64_t, int64_t);

}  // namespace qbh::cpu
