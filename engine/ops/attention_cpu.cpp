// CPU kernels for fused attention (see attention_cpu.h). Each (batch, head) is one task for an
// OpenMP thread, with the two products on Eigen and a per-thread [Lq, Lk] scratch matrix. The
// forward keeps only the logsumexp per row (O(Lq) memory, like flash attention); the backward
// rebuilds the probabilities from it instead of storing the [Lq, Lk] matrix per head.
#include "engine/ops/attention_cpu.h"

#include "engine/ops/eigen_cpu.h"

#include <omp.h>

#include <cmath>
#include <limits>

namespace qbh::cpu {

namespace {

template <class T>
using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;

template <class T>
constexpr T kNegInf = -std::numeric_limits<T>::infinity();

// s = q k^T scale for one (batch, head), -inf where the mask (already offset to this batch
// and head) forbids the pair.
template <class T>
void masked_scores(RowMatrix<T>& s, const ConstRowMap<T>& q, const ConstRowMap<T>& k, const T* mask,
                   const AttentionDims& d) {
    s.noalias() = q * k.transpose();
    s *= static_cast<T>(d.scale);
    if (!mask) return;
    for (int64_t i = 0; i < d.lq; ++i) {
        const T* m = mask + i * d.mask_strides[2];
        for (int64_t j = 0; j < d.lk; ++j)
            if (m[j * d.mask_strides[3]] == T(0)) s(i, j) = kNegInf<T>;
    }
}

// Row i of s becomes exp(s - shift), with Eigen's vectorised exp (a select() around it would
// fall back to scalar expf). That exp clamps its argument, so a -inf score gives a tiny
// non-zero value: zero_forbidden_row() then makes forbidden pairs exactly 0.
template <class T>
void exp_row(RowMatrix<T>& s, int64_t i, T shift) {
    s.row(i).array() = (s.row(i).array() - shift).exp();
}

template <class T>
void zero_forbidden_row(RowMatrix<T>& p, int64_t i, const T* mask, const AttentionDims& d) {
    const T* m = mask + i * d.mask_strides[2];
    for (int64_t j = 0; j < d.lk; ++j)
        if (m[j * d.mask_strides[3]] == T(0)) p(i, j) = T(0);
}

// The threads to use: one task per (batch, head), parallel when there is enough work.
int attention_threads(const AttentionDims& d) {
    const int64_t heads = d.b * d.h;
    const int64_t work = heads * d.lq * d.lk * (d.d + d.dv);
    return heads > 1 && work >= (1 << 15) ? omp_get_max_threads() : 1;
}

}  // namespace

template <class T>
void attention_forward(T* out, T* lse, const T* q, const T* k, const T* v, const T* mask,
                       const AttentionDims& d) {
    const int64_t heads = d.b * d.h;
#pragma omp parallel num_threads(attention_threads(d))
    {
        RowMatrix<T> s(d.lq, d.lk);  // scores, then probabilities, of the current head
#pragma omp for schedule(static)
        for (int64_t t = 0; t < heads; ++t) {
            const int64_t bi = t / d.h, hi = t % d.h;
            ConstRowMap<T> qm(q + t * d.lq * d.d, d.lq, d.d), km(k + t * d.lk * d.d, d.lk, d.d);
            ConstRowMap<T> vm(v + t * d.lk * d.dv, d.lk, d.dv);
            RowMap<T> om(out + t * d.lq * d.dv, d.lq, d.dv);
            T* l = lse + t * d.lq;
            const T* mk = mask ? mask + bi * d.mask_strides[0] + hi * d.mask_strides[1] : nullptr;
            masked_scores(s, qm, km, mk, d);
            for (int64_t i = 0; i < d.lq; ++i) {
                const T m = d.lk > 0 ? s.row(i).maxCoeff() : kNegInf<T>;
                if (m == kNegInf<T>) {  // every key forbidden: output 0 by definition
                    s.row(i).setZero();
                    l[i] = kNegInf<T>;
                    continue;
                }
                exp_row(s, i, m);
                if (mk) zero_forbidden_row(s, i, mk, d);
                const T sum = s.row(i).sum();
                s.row(i) /= sum;
                l[i] = m + std::log(sum);
            }
            om.noalias() = s * vm;
        }
    }
}

template <class T>
void attention_backward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v,
                        const T* out, const T* lse, const T* mask, const AttentionDims& d) {
    const int64_t heads = d.b * d.h;
    const T scale = static_cast<T>(d.scale);
#pragma omp parallel num_threads(attention_threads(d))
    {
        RowMatrix<T> p(d.lq, d.lk), ds(d.lq, d.lk);
        Vec<T> di(d.lq);
#pragma omp for schedule(static)
        for (int64_t t = 0; t < heads; ++t) {
            const int64_t bi = t / d.h, hi = t % d.h;
            ConstRowMap<T> qm(q + t * d.lq * d.d, d.lq, d.d), km(k + t * d.lk * d.d, d.lk, d.d);
            ConstRowMap<T> vm(v + t * d.lk * d.dv, d.lk, d.dv);
            ConstRowMap<T> om(out + t * d.lq * d.dv, d.lq, d.dv),
                gm(dout + t * d.lq * d.dv, d.lq, d.dv);
            const T* l = lse + t * d.lq;
            const T* mk = mask ? mask + bi * d.mask_strides[0] + hi * d.mask_strides[1] : nullptr;
            // P = exp(S - lse), rebuilt from the saved logsumexp; fully masked rows stay 0.
            masked_scores(p, qm, km, mk, d);
            for (int64_t i = 0; i < d.lq; ++i) {
                if (l[i] == kNegInf<T>) {
                    p.row(i).setZero();
                } else {
                    exp_row(p, i, l[i]);
                    if (mk) zero_forbidden_row(p, i, mk, d);
                }
            }
            if (dv) RowMap<T>(dv + t * d.lk * d.dv, d.lk, d.dv).noalias() = p.transpose() * gm;
            // dS = P * (dP - rowsum(dO * O)) with dP = dO V^T.
            ds.noalias() = gm * vm.transpose();
            di = (gm.array() * om.array()).rowwise().sum();
            ds.array().colwise() -= di.array();
            ds.array() *= p.array();
            if (dq) RowMap<T>(dq + t * d.lq * d.d, d.lq, d.d).noalias() = (ds * km) * scale;
            if (dk)
                RowMap<T>(dk + t * d.lk * d.d, d.lk, d.d).noalias() = (ds.transpose() * qm) * scale;
        }
    }
}

template void attention_forward<float>(float*, float*, const float*, const float*, const float*,
                                       const float*, const AttentionDims&);
template void attention_forward<double>(double*, double*, const double*, const double*,
                                        const double*, const double*, const AttentionDims&);
template void attention_backward<float>(float*, float*, float*, const float*, const float*,
                                        const float*, const float*, const float*, const float*,
                                        const float*, const AttentionDims&);
template void attention_backward<double>(double*, double*, double*, const double*, const double*,
                                         const double*, const double*, const double*, const double*,
                                         const double*, const AttentionDims&);

}  // namespace qbh::cpu
