// The ViT encoder (encoders.h): MAE's encoder without the cls token. The position table is the
// full image's grid, so a visible quarter taken from any corner is embedded with the positions
// it has in the full image, which is what lets the heat op continue it outward consistently.
#include <sstream>

#include "engine/autograd/autograd.h"
#include "engine/nn/init.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/view.h"
#include "models/encoders.h"
#include "models/pos_embed.h"

namespace qbh::models {

namespace {

// Holders that only give the state_dict its timm names ("patch_embed.proj", "blocks.0").
class PatchEmbed : public nn::Module {
  public:
    std::string type_name() const override { return "PatchEmbed"; }
};

class ModuleList : public nn::Module {
  public:
    std::string type_name() const override { return "ModuleList"; }
};

EncoderConfig as_kind(EncoderConfig config, const char* kind) {
    config.kind = kind;
    validate(config);
    return config;
}

}  // namespace

VitEncoder::VitEncoder(const EncoderConfig& config, Generator& gen)
    : config_(as_kind(config, "vit")) {
    const int64_t d = config_.width, p = config_.patch_size, c = config_.in_channels;
    const int64_t grid = grid_size(config_);
    auto patch_embed = register_module("patch_embed", std::make_shared<PatchEmbed>());
    proj = patch_embed->register_module("proj", std::make_shared<nn::Conv2d>(c, d, p, gen, p));
    auto list = register_module("blocks", std::make_shared<ModuleList>());
    for (int i = 0; i < config_.depth; ++i)
        blocks.push_back(list->register_module(
            std::to_string(i), std::make_shared<nn::TransformerBlock>(
                                   d, config_.heads, gen, config_.mlp_ratio, true, 1e-6)));
    norm = register_module("norm", std::make_shared<nn::LayerNorm>(d, 1e-6));

    // MAE's initialize_weights: xavier on the patch weight as a [d, C*p*p] matrix (fan_out d,
    // not d*p*p as Conv2d's own fans would say); every Linear xavier-uniform with zero bias.
    NoGradGuard no_grad;
    nn::init::xavier_uniform_(proj->weight.view({d, c * p * p}), gen);
    for (auto& [name, module] : named_modules())
        if (auto* linear = dynamic_cast<nn::Linear*>(module)) {
            nn::init::xavier_uniform_(linear->weight, gen);
            if (linear->bias.defined()) nn::init::zeros_(linear->bias);
        }
    pos_embed_ = sincos_pos_embed_2d(grid, grid, d).view({grid, grid, d});
}

Tensor VitEncoder::embed(const Tensor& images, int64_t row0, int64_t col0) {
    const int64_t p = config_.patch_size, grid = grid_size(config_);
    QBH_CHECK(images.defined() && images.dim() == 4 && images.size(1) == config_.in_channels,
              "VitEncoder: images " << (images.defined() ? describe(images) : "undefined")
                                    << " must be [N, " << config_.in_channels << ", H, W]");
    const int64_t H = images.size(2), W = images.size(3);
    QBH_CHECK(
        H > 0 && W > 0 && H % p == 0 && W % p == 0,
        "VitEncoder: image size " << H << "x" << W << " is not a multiple of the patch size " << p);
    const int64_t h = H / p, w = W / p;
    QBH_CHECK(row0 >= 0 && col0 >= 0 && row0 + h <= grid && col0 + w <= grid,
              "VitEncoder: a " << h << "x" << w << " token window at (" << row0 << ", " << col0
                               << ") does not fit the " << grid << "x" << grid << " grid");
    if (pos_embed_.dtype() != images.dtype() || pos_embed_.device() != images.device())
        pos_embed_ = sincos_pos_embed_2d(grid, grid, config_.width, images.dtype())
                         .to(images.device())
                         .view({grid, grid, config_.width});
    // [N, d, h, w] -> [N, h, w, d], plus the window of the full grid's table.
    Tensor tokens = proj->forward(images).permute({0, 2, 3, 1});
    return tokens + pos_embed_.slice(0, row0, row0 + h).slice(1, col0, col0 + w);
}

Tensor VitEncoder::forward_tokens(const Tensor& tokens) {
    QBH_CHECK(tokens.defined() && tokens.dim() == 3 && tokens.size(2) == config_.width,
              "VitEncoder: tokens " << (tokens.defined() ? describe(tokens) : "undefined")
                                    << " must be [N, L, " << config_.width << "]");
    Tensor x = tokens;
    for (auto& block : blocks) x = block->forward(x);
    return norm->forward(x);
}

Tensor VitEncoder::forward(const Tensor& images, int64_t row0, int64_t col0) {
    Tensor x = embed(images, row0, col0);
    const int64_t n = x.size(0), h = x.size(1), w = x.size(2), d = x.size(3);
    return forward_tokens(x.reshape({n, h * w, d})).reshape({n, h, w, d});
}

}  // namespace qbh::models
