// CPU kernels of the shape family (see shape_cpu.h). Index kernels walk the index shape with
// for_each_offset, one outer slice per OpenMP iteration where writes cannot collide.
#include "engine/ops/shape_cpu.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "engine/ops/strided_loop.h"

namespace qbh::cpu {

namespace {

constexpr int64_t kParallelMin = 1 << 15;  // below this, threads cost more than they save

// for_each_offset, with the first axis split across threads when `parallel` allows it.
// `work` is the cost of one call of fn, in elements.
template <size_t K, class Fn>
void for_each_offset_par(const Shape& shape, const std::array<const Strides*, K>& strides,
                         bool parallel, Fn&& fn, int64_t work = 1) {
    if (!parallel || shape.size() < 1 || shape[0] < 2 || numel_of(shape) * work < kParallelMin) {
        for_each_offset<K>(shape, strides, fn);
        return;
    }
    const Shape sub(shape.begin() + 1, shape.end());
    std::array<Strides, K> sub_strides;
    std::array<const Strides*, K> sub_ptrs;
    for (size_t k = 0; k < K; ++k) {
        sub_strides[k].assign(strides[k]->begin() + 1, strides[k]->end());
        sub_ptrs[k] = &sub_strides[k];
    }
#pragma omp parallel for
    for (int64_t i = 0; i < shape[0]; ++i) {
        for_each_offset<K>(sub, sub_ptrs, [&](std::array<int64_t, K> o) {
            for (size_t k = 0; k < K; ++k) o[k] += i * (*strides[k])[0];
            fn(o);
        });
    }
}

// `strides` with the entry of `axis` zeroed: the index value supplies that coordinate.
Strides without_axis(Strides strides, int64_t axis) {
    strides[axis] = 0;
    return strides;
}

}  // namespace

template <class T>
void copy_rows(T* dst, int64_t dst_ld, const T* src, int64_t src_ld, int64_t rows, int64_t cols) {
    if (rows == 0 || cols == 0) return;  // src may be null: memcpy must not see it
#pragma omp parallel for if (rows * cols >= kParallelMin)
    for (int64_t r = 0; r < rows; ++r)
        std::memcpy(dst + r * dst_ld, src + r * src_ld, cols * sizeof(T));
}

template <class T>
void pad_constant(T* out, const Shape& out_shape, const T* x, const Shape& x_shape,
                  const std::vector<int64_t>& before, T value) {
    const int64_t nd = static_cast<int64_t>(out_shape.size());
    if (nd == 0) {
        out[0] = x[0];
        return;
    }
    if (numel_of(out_shape) == 0) return;
    const Strides xs = contiguous_strides(x_shape);
    const int64_t cols = out_shape[nd - 1], rows = numel_of(out_shape) / cols;
    const int64_t left = before[nd - 1], width = x_shape[nd - 1];
    // One pass over the output rows: padding rows are filled, the others get fill + x + fill.
#pragma omp parallel for if (rows * cols >= kParallelMin)
    for (int64_t r = 0; r < rows; ++r) {
        T* dst = out + r * cols;
        int64_t rem = r, src = 0;
        bool inside = width > 0;
        for (int64_t d = nd - 2; d >= 0; --d) {
            const int64_t i = rem % out_shape[d] - before[d];
            rem /= out_shape[d];
            inside = inside && i >= 0 && i < x_shape[d];
            src += i * xs[d];
        }
        if (!inside) {
            std::fill(dst, dst + cols, value);
            continue;
        }
        std::fill(dst, dst + left, value);
        std::memcpy(dst + left, x + src, width * sizeof(T));
        std::fill(dst + left + width, dst + cols, value);
    }
}

int64_t find_out_of_range(const int64_t* index, const Shape& shape, const Strides& strides,
                          int64_t size) {
    // Broadcast (stride-0) axes repeat the same values: visit one of each.
    Shape unique = shape;
    for (size_t d = 0; d < shape.size(); ++d)
        if (strides[d] == 0) unique[d] = std::min<int64_t>(shape[d], 1);
    const Strides flat = contiguous_strides(shape);
    int64_t first = -1;
    for_each_offset<2>(unique, {&flat, &strides}, [&](const std::array<int64_t, 2>& o) {
        const int64_t v = index[o[1]];
        if ((v < 0 || v >= size) && (first < 0 || o[0] < first)) first = o[0];
    });
    return first;
}

namespace {

// Index shapes whose last axis is broadcast (stride 0) and not the indexed axis, as in MAE's
// ids.unsqueeze(-1).expand(N, K, D): every index value moves a whole row of the last axis.
bool row_mode(const Shape& shape, int64_t axis, const Strides& index_strides) {
    const int64_t nd = static_cast<int64_t>(shape.size());
    return nd >= 2 && axis != nd - 1 && index_strides[nd - 1] == 0 && shape[nd - 1] > 1;
}

Strides drop_last(const Strides& s) {
    return Strides(s.begin(), s.end() - 1);
}

// Updates `first` to min(first, pos), treating -1 as "none yet".
void keep_first(std::atomic<int64_t>& first, int64_t pos) {
    int64_t cur = first.load();
    while ((cur < 0 || pos < cur) && !first.compare_exchange_weak(cur, pos)) {
    }
}

}  // namespace

template <class T>
void gather(T* out, const Shape& shape, int64_t axis, const int64_t* index,
            const Strides& index_strides, const T* x, const Strides& x_strides) {
    const Strides flat = contiguous_strides(shape);
    const Strides xs = without_axis(x_strides, axis);
    const int64_t step = x_strides[axis];
    if (!row_mode(shape, axis, index_strides)) {
        for_each_offset_par<3>(
            shape, {&flat, &index_strides, &xs}, true,
            [&](const std::array<int64_t, 3>& o) { out[o[0]] = x[o[2] + index[o[1]] * step]; });
        return;
    }
    const int64_t w = shape.back(), xw = x_strides.back();
    const Shape rows = drop_last(shape);
    const Strides f = drop_last(flat), is = drop_last(index_strides), xr = drop_last(xs);
    for_each_offset_par<3>(
        rows, {&f, &is, &xr}, true,
        [&](const std::array<int64_t, 3>& o) {
            const T* src = x + o[2] + index[o[1]] * step;
            T* dst = out + o[0];
            if (xw == 1) {
                std::memcpy(dst, src, w * sizeof(T));
            } else {
                for (int64_t k = 0; k < w; ++k) dst[k] = src[k * xw];
            }
        },
        w);
}

template <class T>
int64_t scatter(T* out, const Shape& out_shape, const Shape& shape, int64_t axis,
                const int64_t* index, const Strides& index_strides, const T* src,
                const Strides& src_strides, bool accumulate) {
    if (numel_of(shape) == 0) return -1;
    const Strides flat = contiguous_strides(shape);
    const Strides out_contig = contiguous_strides(out_shape);
    const Strides os = without_axis(out_contig, axis);
    const int64_t step = out_contig[axis];
    // Threads own distinct slices of axis 0 unless that is the scattered axis.
    const bool parallel = axis != 0;
    // `written` marks each element (each row start in row mode) to catch repeated indices.
    std::vector<uint8_t> written(accumulate ? 0 : numel_of(out_shape), 0);
    std::atomic<int64_t> first_dup{-1};
    auto mark = [&](int64_t at, int64_t pos) {
        if (written[at]) keep_first(first_dup, pos);
        written[at] = 1;
    };
    if (!row_mode(shape, axis, index_strides)) {
        for_each_offset_par<4>(shape, {&flat, &index_strides, &src_strides, &os}, parallel,
                               [&](const std::array<int64_t, 4>& o) {
                                   const int64_t at = o[3] + index[o[1]] * step;
                                   if (accumulate) {
                                       out[at] += src[o[2]];
                                   } else {
                                       mark(at, o[0]);
                                       out[at] = src[o[2]];
                                   }
                               });
        return first_dup.load();
    }
    const int64_t w = shape.back(), sw = src_strides.back();
    const Shape rows = drop_last(shape);
    const Strides f = drop_last(flat), is = drop_last(index_strides), sr = drop_last(src_strides),
                  orow = drop_last(os);
    for_each_offset_par<4>(
        rows, {&f, &is, &sr, &orow}, parallel,
        [&](const std::array<int64_t, 4>& o) {
            const int64_t at = o[3] + index[o[1]] * step;
            T* dst = out + at;
            const T* s = src + o[2];
            if (accumulate) {
                for (int64_t k = 0; k < w; ++k) dst[k] += s[k * sw];
            } else {
                mark(at, o[0]);
                for (int64_t k = 0; k < w; ++k) dst[k] = s[k * sw];
            }
        },
        w);
    return first_dup.load();
}

template <class T>
void index_select(T* out, const T* x, const int64_t* index, int64_t outer, int64_t n, int64_t inner,
                  int64_t m) {
    if (outer * m * inner == 0) return;
#pragma omp parallel for collapse(2) if (outer * m * inner >= kParallelMin)
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < m; ++j)
            std::memcpy(out + (o * m + j) * inner, x + (o * n + index[j]) * inner,
                        inner * sizeof(T));
}

template <class T>
void index_add(T* dx, const T* g, const int64_t* index, int64_t outer, int64_t n, int64_t inner,
               int64_t m) {
    // Repeated indices add into the same row, so threads split `outer` only.
#pragma omp parallel for if (outer > 1 && outer * m * inner >= kParallelMin)
    for (int64_t o = 0; o < outer; ++o) {
        for (int64_t j = 0; j < m; ++j) {
            T* d = dx + (o * n + index[j]) * inner;
            const T* s = g + (o * m + j) * inner;
            for (int64_t k = 0; k < inner; ++k) d[k] += s[k];
        }
    }
}

#define QBH_SHAPE_INSTANTIATE(T)                                                                 \
    template void copy_rows<T>(T*, int64_t, const T*, int64_t, int64_t, int64_t);                \
    template void pad_constant<T>(T*, const Shape&, const T*, const Shape&,                      \
                                  const std::vector<int64_t>&, T);                               \
    template void gather<T>(T*, const Shape&, int64_t, const int64_t*, const Strides&, const T*, \
                            const Strides&);                                                     \
    template int64_t scatter<T>(T*, const Shape&, const Shape&, int64_t, const int64_t*,         \
                                const Strides&, const T*, const Strides&, bool);                 \
    template void index_select<T>(T*, const T*, const int64_t*, int64_t, int64_t, int64_t,       \
                                  int64_t);                                                      \
    template void index_add<T>(T*, const T*, const int64_t*, int64_t, int64_t, int64_t, int64_t);

QBH_SHAPE_INSTANTIATE(float)
QBH_SHAPE_INSTANTIATE(double)
QBH_SHAPE_INSTANTIATE(int64_t)

}  // namespace qbh::cpu
