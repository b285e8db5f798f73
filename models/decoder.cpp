// The MAE-style light decoder of QB-Heat (QBHEAT.md section 3): the predicted full token grid ->
// pixels per cell. Initialised as MAE's decoder: xavier-uniform on every Linear (qkv as one
// [3d, d] matrix, as MAE's _init_weights does), zero biases, LayerNorm ones/zeros, eps 1e-6.
#include "engine/core/error.h"
#include "engine/nn/init.h"
#include "engine/qbh.h"
#include "models/heads.h"
#include "models/pos_embed.h"

namespace qbh::models {

Decoder::Decoder(int64_t encoder_width, int64_t grid, int64_t patch_size, int64_t channels,
                 const DecoderConfig& config, Generator& gen)
    : encoder_width_(encoder_width), grid_(grid) {
    QBH_CHECK(encoder_width > 0 && grid > 0 && patch_size > 0 && channels > 0,
              "Decoder: encoder width " << encoder_width << ", grid " << grid << ", patch_size "
                                        << patch_size << " and channels " << channels
                                        << " must be positive");
    QBH_CHECK(config.width > 0 && config.width % 4 == 0,
              "Decoder: decoder.width must be a positive multiple of 4 (sin-cos embedding), got "
                  << config.width);
    QBH_CHECK(config.depth >= 0,
              "Decoder: decoder.depth must not be negative, got " << config.depth);
    QBH_CHECK(config.heads > 0 && config.width % config.heads == 0,
              "Decoder: decoder.width " << config.width << " must be divisible by decoder.heads "
                                        << config.heads);
    const int64_t d = config.width;
    embed = register_module("embed", std::make_shared<nn::Linear>(encoder_width, d, gen));
    // A Sequential container names the blocks "blocks.0", "blocks.1", ... as MAE's ModuleList.
    auto list = register_module("blocks", std::make_shared<nn::Sequential>());
    for (int i = 0; i < config.depth; ++i)
        blocks.push_back(list->push_back(
            std::make_shared<nn::TransformerBlock>(d, config.heads, gen, config.mlp_ratio)));
    norm = register_module("norm", std::make_shared<nn::LayerNorm>(d, 1e-6));
    pred = register_module(
        "pred", std::make_shared<nn::Linear>(d, patch_size * patch_size * channels, gen));
    for (auto& [name, m] : named_modules())
        if (auto* lin = dynamic_cast<nn::Linear*>(m)) {
            nn::init::xavier_uniform_(lin->weight, gen);
            if (lin->bias.defined()) nn::init::zeros_(lin->bias);
        }
    pos_embed_ = sincos_pos_embed_2d(grid, grid, d);
}

Tensor Decoder::forward(const Tensor& grid) {
    QBH_CHECK(grid.defined() && grid.dim() == 4 && grid.size(1) == grid_ && grid.size(2) == grid_ &&
                  grid.size(3) == encoder_width_,
              "Decoder: input must be [N, " << grid_ << ", " << grid_ << ", " << encoder_width_
                                            << "], got " << describe(grid));
    const int64_t n = grid.size(0);
    Tensor x = embed->forward(grid.reshape({n, grid_ * grid_, encoder_width_}));
    // The table is a constant: follow the activations' dtype/device (module.to() skips it).
    if (pos_embed_.dtype() != x.dtype()) pos_embed_ = pos_embed_.to(x.dtype());
    if (pos_embed_.device() != x.device()) pos_embed_ = pos_embed_.to(x.device());
    x = x + pos_embed_;
    for (auto& block : blocks) x = block->forward(x);
    return pred->forward(norm->forward(x));
}

}  // namespace qbh::models
