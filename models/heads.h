// What sits after the encoder in QB-Heat: the heat predictor (visible grid -> full grid), the
// small transformer decoder (full grid -> pixels per cell), and the reconstruction loss with its
// patchify helpers (QBHEAT.md sections 2-3).
#pragma once

#include <memory>
#include <vector>

#include "engine/core/rng.h"
#include "engine/nn/nn.h"
#include "engine/ops/heat.h"
#include "models/config.h"

namespace qbh::models {

// Which corner holds the visible quarter: a fixed corner, or a fresh one per call when the
// config says "random" (drawn from the Generator given to pick_corner()).
HeatCorner pick_corner(const HeatConfig& config, Generator& gen);

// Parameters: "A" and "B" [d, d], zero-initialised (every step starts as the identity); in mode
// "mask" a "mask_token" [d] (normal, std 0.02) instead, which fills the three hidden quarters.
class HeatPredictor : public nn::Module {
  public:
    HeatPredictor(int64_t width, const HeatConfig& config, Generator& gen);
    std::string type_name() const override { return "HeatPredictor"; }
    std::string extra_repr() const override;
    // visible [N, h, w, d] -> full grid [N, 2h, 2w, d] with the visible block at `corner`.
    Tensor forward(const Tensor& visible, HeatCorner corner);

    Tensor a, b, mask_token;

  private:
    HeatConfig config_;
};

// MAE-style light decoder: "embed" Linear(d_enc -> d_dec) + fixed sin-cos embedding of the full
// grid, `depth` pre-norm TransformerBlocks ("blocks.i"), LayerNorm "norm", Linear "pred"
// (d_dec -> p*p*C).
class Decoder : public nn::Module {
  public:
    Decoder(int64_t encoder_width, int64_t grid, int64_t patch_size, int64_t channels,
            const DecoderConfig& config, Generator& gen);
    std::string type_name() const override { return "Decoder"; }
    // grid [N, g, g, d_enc] -> per-cell pixels [N, g*g, p*p*C] (patchify order).
    Tensor forward(const Tensor& grid) override;

    std::shared_ptr<nn::Linear> embed;
    std::vector<std::shared_ptr<nn::TransformerBlock>> blocks;
    std::shared_ptr<nn::LayerNorm> norm;
    std::shared_ptr<nn::Linear> pred;

  private:
    int64_t encoder_width_, grid_;
    Tensor pos_embed_;  // [g*g, d_dec] constant, not in the state dict
};

// images [N, C, H, W] -> [N, (H/p)*(W/p), p*p*C], cells row-major, pixels within a cell in
// (row, col, channel) order (MAE's patchify, for any C).
Tensor patchify(const Tensor& images, int64_t patch_size);
// The inverse, for a square grid of L = g*g cells.
Tensor unpatchify(const Tensor& patches, int64_t patch_size, int64_t channels);

// [g*g] f32 0/1 weights: 1 on the cells outside the visible quarter at `corner`.
Tensor hidden_cell_mask(int64_t grid, HeatCorner corner);

// The reconstruction loss: MSE between `pred` [N, L, P] and the patchified images, with the
// target per-patch normalised ((t - mean) / sqrt(var + 1e-6), unbiased var, MAE) when
// config.norm_pix, averaged over pixels then over the cells where cell_weight [L] (or [N, L]) is
// 1 (all cells when cell_weight is undefined or config.masked_only is false). A [L] weight
// counts once per image: the mean is sum(loss * w) / (N * sum(w)), as MAE's mask.sum().
Tensor reconstruction_loss(const Tensor& pred, const Tensor& images, int64_t patch_size,
                           const Tensor& cell_weight, const LossConfig& config);

}  // namespace qbh::models
