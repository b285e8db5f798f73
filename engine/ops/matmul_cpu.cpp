// CPU GEMM kernels (see matmul_cpu.h). Each operand is mapped in place as a row-major or a
// column-major Eigen matrix with an outer stride, so no layout needs a copy here. Threads split
// each big product into slabs; Eigen itself always runs single-threaded.
#include "engine/ops/matmul_cpu.h"

#include "engine/ops/eigen_cpu.h"

#include <omp.h>

#include <algorithm>

namespace qbh::cpu {

namespace {

template <class T>
using RowMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>,
                          Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using ColMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>,
                          Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using OutMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>,
                          Eigen::Unaligned, Eigen::OuterStride<>>;

// Calls fn with p viewed as a rows x cols Eigen matrix of the right storage order.
template <class T, class Fn>
void with_matrix(const T* p, MatLayout l, int64_t rows, int64_t cols, Fn&& fn) {
    if (l.col_stride == 1)
        fn(RowMap<T>(p, rows, cols, Eigen::OuterStride<>(std::max<int64_t>(l.row_stride, cols))));
    else
        fn(ColMap<T>(p, rows, cols, Eigen::OuterStride<>(std::max<int64_t>(l.col_stride, rows))));
}

// Keeps Eigen on the calling thread for its lifetime. Eigen's own threaded GEMM synchronises
// its threads once per depth block with spin-waits, which collapses when the cores are shared
// with other work; we split products ourselves instead (one join per product).
class EigenOnOneThread {
  public:
    EigenOnOneThread() : previous_(omp_get_max_threads()) { omp_set_num_threads(1); }
    ~EigenOnOneThread() { omp_set_num_threads(previous_); }
    EigenOnOneThread(const EigenOnOneThread&) = delete;
    EigenOnOneThread& operator=(const EigenOnOneThread&) = delete;

  private:
    int previous_;
};

// c [m, n] with leading dimension ldc (+)= a * b on the calling thread.
template <class T>
void gemm_serial(T* c, int64_t ldc, const T* a, MatLayout al, const T* b, MatLayout bl, int64_t m,
                 int64_t n, int64_t k, bool accumulate) {
    EigenOnOneThread one_thread;
    OutMap<T> out(c, m, n, Eigen::OuterStride<>(ldc));
    with_matrix(a, al, m, k, [&](const auto& am) {
        with_matrix(b, bl, k, n, [&](const auto& bm) {
            if (accumulate)
                out.noalias() += am * bm;
            else
                out.noalias() = am * bm;
        });
    });
}

// Below this many multiply-adds a product stays on one thread: waking the team costs more.
constexpr int64_t kParallelWork = int64_t{1} << 17;

}  // namespace

template <class T>
void gemm(T* c, const T* a, MatLayout a_layout, const T* b, MatLayout b_layout, int64_t m,
          int64_t n, int64_t k, bool accumulate) {
    if (m == 0 || n == 0) return;
    if (k == 0) {
        if (!accumulate) std::fill(c, c + m * n, T(0));
        return;
    }
    const int64_t threads = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (threads == 1 || m * n * k < kParallelWork) {
        gemm_serial(c, n, a, a_layout, b, b_layout, m, n, k, accumulate);
        return;
    }
    // One slab of rows (or of columns, when the output is wide) per thread.
    const bool by_rows = m >= n;
    const int64_t extent = by_rows ? m : n;
#pragma omp parallel num_threads(threads)
    {
        const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
        const int64_t lo = extent * t / nt, hi = extent * (t + 1) / nt;
        if (hi > lo) {
            if (by_rows)
                gemm_serial(c + lo * n, n, a + lo * a_layout.row_stride, a_layout, b, b_layout,
                            hi - lo, n, k, accumulate);
            else
                gemm_serial(c + lo, n, a, a_layout, b + lo * b_layout.col_stride, b_layout, m,
                            hi - lo, k, accumulate);
        }
    }
}

template <class T>
void gemm_batched(T* c, const T* a, const int64_t* a_offsets, MatLayout a_layout, const T* b,
                  const int64_t* b_offsets, MatLayout b_layout, int64_t batch, int64_t m, int64_t n,
                  int64_t k) {
    // Big products split themselves (gemm); smaller ones, or plenty of them, go one product
    // per thread. Tiny batches stay on one thread.
    const int64_t work = m * n * k;
    const int64_t threads = omp_get_max_threads();
    const bool over_batch = batch > 1 && batch * work >= kParallelWork &&
                            (work < (int64_t{1} << 21) || batch >= 4 * threads);
    auto one = [&](int64_t i) {
        gemm<T>(c + i * m * n, a + a_offsets[i], a_layout, b + b_offsets[i], b_layout, m, n, k,
                false);
    };
    if (over_batch) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < batch; ++i) one(i);
    } else {
        // Outside any parallel region, so each product may split over the threads.
        for (int64_t i = 0; i < batch; ++i) one(i);
    }
}

template <class T>
void column_sums(T* out, const T* in, int64_t rows, int64_t cols) {
    // Blocks of columns, each summed down the rows in a contiguous (vectorised) inner loop.
    constexpr int64_t block = 256;
    const int64_t blocks = (cols + block - 1) / block;
#pragma omp parallel for if (rows * cols >= (1 << 16) && blocks > 1)
    for (int64_t bi = 0; bi < blocks; ++bi) {
        const int64_t c0 = bi * block, width = std::min(block, cols - c0);
        double acc[block] = {};
        for (int64_t r = 0; r < rows; ++r) {
            const T* row = in + r * cols + c0;
            for (int64_t c = 0; c < width; ++c) acc[c] += row[c];
        }
        for (int64_t c = 0; c < width; ++c) out[c0 + c] = static_cast<T>(acc[c]);
    }
}

template <class T>
void fill_rows(T* out, const T* row, int64_t rows, int64_t cols) {
#pragma omp parallel for if (rows * cols >= (1 << 16))
    for (int64_t r = 0; r < rows; ++r) std::copy(row, row + cols, out + r * cols);
}

#define QBH_INSTANTIATE(T)                                                                         \
    template void gemm<T>(T*, const T*, MatLayout, const T*, MatLayout, int64_t, int64_t, int64_t, \
                          bool);                                                                   \
    template void gemm_batched<T>(T*, const T*, const int64_t*, MatLayout, const T*,               \
                                  const int64_t*, MatLayout, int64_t, int64_t, int64_t, int64_t);  \
    template void column_sums<T>(T*, const T*, int64_t, int64_t);                                  \
    template void fill_rows<T>(T*, const T*, int64_t, int64_t);
QBH_INSTANTIATE(float)
QBH_INSTANTIATE(double)
#undef QBH_INSTANTIATE

}  // namespace qbh::cpu
