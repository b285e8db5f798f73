// patchify/unpatchify as MAE (for any channel count), the hidden-cell mask of a QB-Heat corner,
// and the reconstruction loss (MAE's forward_loss: per-patch normalised targets, MSE averaged
// over pixels then over the weighted cells).
#include "engine/core/error.h"
#include "engine/qbh.h"
#include "models/heads.h"

namespace qbh::models {

Tensor patchify(const Tensor& images, int64_t patch_size) {
    QBH_CHECK(images.defined() && images.dim() == 4,
              "patchify: images must be [N, C, H, W], got " << describe(images));
    const int64_t n = images.size(0), c = images.size(1), hh = images.size(2), ww = images.size(3),
                  p = patch_size;
    QBH_CHECK(p > 0 && hh % p == 0 && ww % p == 0,
              "patchify: patch_size " << p << " must be positive and divide the image " << hh
                                      << " x " << ww);
    const int64_t h = hh / p, w = ww / p;
    // MAE: reshape(N, C, h, p, w, p) -> einsum('nchpwq->nhwpqc') -> reshape(N, h*w, p*p*C).
    return images.reshape({n, c, h, p, w, p})
        .permute({0, 2, 4, 3, 5, 1})
        .reshape({n, h * w, p * p * c});
}

Tensor unpatchify(const Tensor& patches, int64_t patch_size, int64_t channels) {
    QBH_CHECK(patches.defined() && patches.dim() == 3,
              "unpatchify: patches must be [N, L, P], got " << describe(patches));
    const int64_t n = patches.size(0), l = patches.size(1), p = patch_size, c = channels;
    QBH_CHECK(p > 0 && c > 0 && patches.size(2) == p * p * c,
              "unpatchify: patches " << describe(patches) << " do not hold patch_size " << p
                                     << " squared times " << c << " channels");
    int64_t g = 0;
    while ((g + 1) * (g + 1) <= l) ++g;
    QBH_CHECK(g * g == l, "unpatchify: " << l << " cells do not form a square grid");
    return patches.reshape({n, g, g, p, p, c})
        .permute({0, 5, 1, 3, 2, 4})
        .reshape({n, c, g * p, g * p});
}

Tensor hidden_cell_mask(int64_t grid, HeatCorner corner) {
    QBH_CHECK(grid > 0 && grid % 2 == 0,
              "hidden_cell_mask: grid must be positive and even, got " << grid);
    const int64_t half = grid / 2;
    const int64_t row0 = (corner == HeatCorner::tl || corner == HeatCorner::tr) ? 0 : half;
    const int64_t col0 = (corner == HeatCorner::tl || corner == HeatCorner::bl) ? 0 : half;
    std::vector<double> w(grid * grid, 1.0);
    for (int64_t i = row0; i < row0 + half; ++i)
        for (int64_t j = col0; j < col0 + half; ++j) w[i * grid + j] = 0.0;
    return Tensor::from_vector(w, {grid * grid});
}

Tensor reconstruction_loss(const Tensor& pred, const Tensor& images, int64_t patch_size,
                           const Tensor& cell_weight, const LossConfig& config) {
    Tensor target = patchify(images, patch_size);
    QBH_CHECK(pred.defined() && pred.shape() == target.shape(),
              "reconstruction_loss: pred must be [N, L, P] = "
                  << shape_str(target.shape()) << " for images " << describe(images)
                  << " and patch " << patch_size << ", got " << describe(pred));
    if (target.dtype() != pred.dtype()) target = target.to(pred.dtype());
    if (target.device() != pred.device()) target = target.to(pred.device());
    if (config.norm_pix) {
        Tensor mu = mean(target, {-1}, true);
        Tensor var_ = var(target, {-1}, true, true);
        target = (target - mu) / sqrt(var_ + 1e-6);
    }
    Tensor per_cell = mean(square(pred - target), {-1});  // [N, L]
    if (!config.masked_only || !cell_weight.defined()) return mean(per_cell);

    const int64_t n = pred.size(0), l = pred.size(1);
    const bool ok =
        (cell_weight.dim() == 1 && cell_weight.size(0) == l) ||
        (cell_weight.dim() == 2 && cell_weight.size(0) == n && cell_weight.size(1) == l);
    QBH_CHECK(ok, "reconstruction_loss: cell_weight must be ["
                      << l << "] or [" << n << ", " << l << "], got " << describe(cell_weight));
    Tensor w = cell_weight.to(pred.dtype()).to(pred.device()).expand({n, l});
    // MAE: (loss * mask).sum() / mask.sum(), the mask counted over the whole batch.
    return sum(per_cell * w) / sum(w);
}

}  // namespace qbh::models
