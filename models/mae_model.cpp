// MaeModel (mae_model.h): MAE's random masking (argsort of uniform noise, done on the CPU since
// the noise carries no gradient), the encoder on the kept tokens only, and the full grid rebuilt
// with the [MASK] token or, for `interp`, with a fixed interpolation matrix applied by matmul.
#include "models/mae_model.h"

#include <algorithm>
#include <numeric>

#include "engine/core/error.h"
#include "engine/nn/init.h"
#include "engine/qbh.h"
#include "models/qbheat_model.h"

namespace qbh::models {

namespace {

// Stable ascending argsort of each row of a [N, L] tensor, as i64 values.
std::vector<double> argsort_rows(const std::vector<double>& v, int64_t n, int64_t l) {
    std::vector<double> out(n * l);
    std::vector<int64_t> idx(l);
    for (int64_t i = 0; i < n; ++i) {
        std::iota(idx.begin(), idx.end(), 0);
        const double* row = v.data() + i * l;
        std::stable_sort(idx.begin(), idx.end(),
                         [row](int64_t a, int64_t b) { return row[a] < row[b]; });
        for (int64_t j = 0; j < l; ++j) out[i * l + j] = double(idx[j]);
    }
    return out;
}

// ids [N, K] -> [N, K, d] for gather/scatter along axis 1 of [N, *, d] tokens.
Tensor expand_index(const Tensor& ids, int64_t d) {
    return ids.reshape({ids.size(0), ids.size(1), 1})
        .expand({ids.size(0), ids.size(1), d})
        .contiguous();
}

// The nearest visible cells around position `pos` on one line (stride-addressed); fills the
// weights of cell `target` and returns false when the line has no visible cell.
bool interp_line(const double* masked, int64_t first, int64_t stride, int64_t count, int64_t pos,
                 double* w_row) {
    int64_t lo = -1, hi = -1;
    for (int64_t k = pos - 1; k >= 0; --k)
        if (masked[first + k * stride] == 0.0) {
            lo = k;
            break;
        }
    for (int64_t k = pos + 1; k < count; ++k)
        if (masked[first + k * stride] == 0.0) {
            hi = k;
            break;
        }
    if (lo < 0 && hi < 0) return false;
    if (lo < 0 || hi < 0) {  // one side only: no interval to interpolate over, copy the nearest
        w_row[first + (lo < 0 ? hi : lo) * stride] = 1.0;
        return true;
    }
    const double t = double(pos - lo) / double(hi - lo);
    w_row[first + lo * stride] = 1.0 - t;
    w_row[first + hi * stride] = t;
    return true;
}

}  // namespace

RandomMasking masking_from_shuffle(const Tensor& ids_shuffle, int64_t len_keep) {
    QBH_CHECK(ids_shuffle.defined() && ids_shuffle.dim() == 2 && ids_shuffle.dtype() == DType::i64,
              "masking_from_shuffle: ids_shuffle must be i64 [N, L]");
    const int64_t n = ids_shuffle.size(0), l = ids_shuffle.size(1);
    QBH_CHECK(len_keep >= 1 && len_keep <= l,
              "masking_from_shuffle: len_keep " << len_keep << " must be in [1, " << l << "]");
    std::vector<double> shuffle = ids_shuffle.to_vector();
    for (int64_t i = 0; i < n; ++i) {
        std::vector<bool> seen(l, false);
        for (int64_t j = 0; j < l; ++j) {
            const double v = shuffle[i * l + j];
            QBH_CHECK(v >= 0 && v < l && !seen[int64_t(v)],
                      "masking_from_shuffle: row " << i << " is not a permutation of 0.." << l - 1);
            seen[int64_t(v)] = true;
        }
    }
    std::vector<double> mask(n * l, 1.0);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < len_keep; ++j) mask[i * l + int64_t(shuffle[i * l + j])] = 0.0;
    RandomMasking m;
    m.ids_shuffle = Tensor::from_vector(shuffle, {n, l}, DType::i64);
    m.ids_restore = Tensor::from_vector(argsort_rows(shuffle, n, l), {n, l}, DType::i64);
    m.ids_keep = m.ids_shuffle.slice(1, 0, len_keep).contiguous();
    m.mask = Tensor::from_vector(mask, {n, l});
    return m;
}

RandomMasking random_masking(int64_t n, int64_t l, double mask_ratio, Generator& gen) {
    QBH_CHECK(n > 0 && l > 0, "random_masking: N " << n << " and L " << l << " must be positive");
    QBH_CHECK(mask_ratio >= 0.0 && mask_ratio < 1.0,
              "random_masking: mae.mask_ratio must be in [0, 1), got " << mask_ratio);
    // MAE: len_keep = int(L * (1 - mask_ratio)).
    const auto len_keep = static_cast<int64_t>(double(l) * (1.0 - mask_ratio));
    QBH_CHECK(len_keep >= 1,
              "random_masking: mae.mask_ratio " << mask_ratio << " keeps no token of " << l);
    std::vector<double> noise = rand({n, l}, gen).to_vector();
    Tensor shuffle = Tensor::from_vector(argsort_rows(noise, n, l), {n, l}, DType::i64);
    return masking_from_shuffle(shuffle, len_keep);
}

InterpWeights interp_weights(const Tensor& mask, int64_t grid) {
    QBH_CHECK(mask.defined() && mask.dim() == 2 && mask.size(1) == grid * grid,
              "interp_weights: mask must be [N, "
                  << grid * grid << "], got " << (mask.defined() ? describe(mask) : "undefined"));
    const int64_t n = mask.size(0), l = grid * grid;
    const std::vector<double> m = mask.to_vector();
    std::vector<double> w(n * l * l, 0.0), fallback(n * l, 0.0);
    for (int64_t i = 0; i < n; ++i) {
        const double* mi = m.data() + i * l;
        for (int64_t cell = 0; cell < l; ++cell) {
            double* row = w.data() + (i * l + cell) * l;
            if (mi[cell] == 0.0) {
                row[cell] = 1.0;
                continue;
            }
            const int64_t r = cell / grid, c = cell % grid;
            if (interp_line(mi, r * grid, 1, grid, c, row)) continue;  // along the row
            if (interp_line(mi, c, grid, grid, r, row)) continue;      // along the column
            fallback[i * l + cell] = 1.0;
        }
    }
    return {Tensor::from_vector(w, {n, l, l}, DType::f64),
            Tensor::from_vector(fallback, {n, l}, DType::f64)};
}

MaeModel::MaeModel(const EncoderConfig& encoder_config, const DecoderConfig& decoder_config,
                   const LossConfig& loss, const MaskingConfig& masking, Generator& gen)
    : encoder_config_(encoder_config), loss_config_(loss), masking_config_(masking) {
    validate(encoder_config);
    validate(decoder_config);
    QBH_CHECK(encoder_config.kind == "vit",
              "MaeModel: model.encoder must be vit (MAE drops tokens, which a CNN cannot), got '"
                  << encoder_config.kind << "'");
    QBH_CHECK(masking.mask_ratio >= 0.0 && masking.mask_ratio < 1.0,
              "MaeModel: mae.mask_ratio must be in [0, 1), got " << masking.mask_ratio);
    QBH_CHECK(masking.fill == "token" || masking.fill == "interp",
              "MaeModel: mae.fill must be one of token, interp; got '" << masking.fill << "'");
    const int64_t d = encoder_config.width;
    encoder = register_module("encoder", std::make_shared<VitEncoder>(encoder_config, gen));
    decoder = register_module(
        "decoder",
        std::make_shared<Decoder>(d, grid_size(encoder_config), encoder_config.patch_size,
                                  encoder_config.in_channels, decoder_config, gen));
    // MAE puts its mask token in decoder width, after decoder_embed. Our Decoder (shared with
    // QB-Heat, as DESIGN.md requires) embeds inside, so the token lives in ENCODER width and
    // fills the masked cells before the decoder: the same classes as QB-Heat, differing only in
    // what fills the masked cells.
    mask_token = register_parameter("mask_token", Tensor::zeros({d}));
    nn::init::normal_(mask_token, gen, 0.0, 0.02);
}

MaeModel::Output MaeModel::forward(const Tensor& images, Generator& gen) {
    check_model_images(images, encoder_config_, "MaeModel");
    const int64_t g = grid_size(encoder_config_);
    return forward(images, random_masking(images.size(0), g * g, masking_config_.mask_ratio, gen));
}

MaeModel::Output MaeModel::forward(const Tensor& images, const RandomMasking& masking) {
    check_model_images(images, encoder_config_, "MaeModel");
    const int64_t n = images.size(0), g = grid_size(encoder_config_), l = g * g;
    const int64_t d = encoder_config_.width;
    QBH_CHECK(
        masking.ids_restore.defined() && masking.ids_restore.dim() == 2 &&
            masking.ids_restore.size(0) == n && masking.ids_restore.size(1) == l,
        "MaeModel: the masking is for another batch or grid (want [" << n << ", " << l << "])");
    const Device dev = images.device();
    const int64_t keep = masking.ids_keep.size(1);

    Tensor tokens = encoder->embed(images, 0, 0).reshape({n, l, d});
    Tensor kept = gather(tokens, 1, expand_index(masking.ids_keep, d).to(dev));
    Tensor latent = encoder->forward_tokens(kept);  // [N, keep, d]

    Tensor restore = expand_index(masking.ids_restore, d).to(dev);
    Tensor full;
    if (masking_config_.fill == "token") {
        // MAE: cat(kept, mask tokens) then unshuffle with ids_restore.
        Tensor fill = mask_token.reshape({1, 1, d}).expand({n, l - keep, d});
        full = gather(cat({latent, fill}, 1), 1, restore);
    } else {
        // Visible cells in place, zeros elsewhere; then the fixed interpolation matrix.
        Tensor zeros = Tensor::zeros({n, l - keep, d}, latent.dtype(), dev);
        Tensor visible = gather(cat({latent, zeros}, 1), 1, restore);
        InterpWeights iw = interp_weights(masking.mask, g);
        full = matmul(iw.weights.to(latent.dtype()).to(dev), visible) +
               iw.fallback.to(latent.dtype()).to(dev).reshape({n, l, 1}) *
                   mask_token.reshape({1, 1, d});
    }
    Tensor pred = decoder->forward(full.reshape({n, g, g, d}));
    Tensor loss =
        reconstruction_loss(pred, images, encoder_config_.patch_size, masking.mask, loss_config_);
    return {loss, pred, masking};
}

Tensor MaeModel::encode_full(const Tensor& images) {
    check_model_images(images, encoder_config_, "MaeModel");
    return encoder->forward(images);
}

}  // namespace qbh::models
