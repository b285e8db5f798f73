// The encoders QB-Heat trains: a ViT and a small ResNet-style CNN. Both map images
// [N, C, H', W'] (any H', W' divisible by the patch size / stride, e.g. the visible quarter or
// the full image) to a token grid [N, H'/p, W'/p, d] (channels last), ready for the heat op.
// Parameter names follow timm/MAE (patch_embed.proj.weight, blocks.0.attn.qkv.weight, norm.*).
#pragma once

#include <memory>
#include <vector>

#include "engine/core/rng.h"
#include "engine/nn/nn.h"
#include "models/config.h"

namespace qbh::models {

class Encoder : public nn::Module {
  public:
    // images [N, C, H', W'] -> grid [N, H'/p, W'/p, d].
    Tensor forward(const Tensor& images) override = 0;
    virtual int64_t width() const = 0;
    virtual int64_t patch_size() const = 0;
};

// patch_embed.proj: Conv2d(C, d, kernel = stride = p), xavier-uniform on the weight viewed as
// [d, C*p*p], bias left at torch's Conv2d default (MAE's _init_weights only touches Linear and
// LayerNorm); + the fixed sin-cos position embedding of the input's window of the full image's
// grid; `depth` pre-norm TransformerBlocks (LayerNorm eps 1e-6, qkv bias) whose Linear layers
// are re-initialised as MAE (xavier-uniform weight, zero bias); final LayerNorm `norm` (eps 1e-6).
class VitEncoder : public Encoder {
  public:
    VitEncoder(const EncoderConfig& config, Generator& gen);
    std::string type_name() const override { return "VitEncoder"; }
    Tensor forward(const Tensor& images) override { return forward(images, 0, 0); }
    // The input covers the full-image token grid from (row0, col0): its position embedding is
    // that window of the full image's table (so a quarter in the bottom-right corner gets the
    // bottom-right positions).
    Tensor forward(const Tensor& images, int64_t row0, int64_t col0);
    // Tokens [N, L, d] of an already-embedded sequence through blocks + norm (used by MAE,
    // which drops tokens before the blocks).
    Tensor forward_tokens(const Tensor& tokens);
    // Patch embedding + position embedding: images -> [N, h, w, d] before the blocks.
    Tensor embed(const Tensor& images, int64_t row0, int64_t col0);
    int64_t width() const override { return config_.width; }
    int64_t patch_size() const override { return config_.patch_size; }

    std::shared_ptr<nn::Conv2d> proj;  // registered under "patch_embed" as "patch_embed.proj"
    std::vector<std::shared_ptr<nn::TransformerBlock>> blocks;
    std::shared_ptr<nn::LayerNorm> norm;

  private:
    EncoderConfig config_;
    Tensor pos_embed_;  // [grid, grid, d] constant, not in the state dict; follows the input's
                        // dtype and device (rebuilt on the first forward that differs)
};

// A small ResNet (QBHEAT.md section 3, `cnn`): a 3x3 stem conv + BatchNorm + ReLU, then
// log2(p) stages that each halve the resolution (stride-2 3x3 conv) and double the width,
// ending at width d, each with basic residual blocks (two 3x3 conv + BatchNorm, ReLU, 1x1
// strided projection on the shortcut when the shape changes); `depth` blocks in total, split
// evenly over the stages (the later stages take the remainder). p = 1 has one stride-1 stage.
// Names as torchvision's ResNet: conv1, bn1, layer1.0.conv1, ..., layer1.0.downsample.0/.1.
// Convs have no bias; kaiming-normal (fan_out, relu) weights, BatchNorm weight 1, bias 0.
// BatchNorm uses batch statistics in train mode (the default); eval() switches to running ones.
// Output NHWC. p must be a power of two and divide d.
class CnnEncoder : public Encoder {
  public:
    CnnEncoder(const EncoderConfig& config, Generator& gen);
    std::string type_name() const override { return "CnnEncoder"; }
    Tensor forward(const Tensor& images) override;
    int64_t width() const override { return config_.width; }
    int64_t patch_size() const override { return config_.patch_size; }

    std::shared_ptr<nn::Conv2d> conv1;
    std::shared_ptr<nn::BatchNorm2d> bn1;
    std::vector<std::shared_ptr<nn::Sequential>> layers;  // "layer1", "layer2", ...

  private:
    EncoderConfig config_;
};

// Builds the encoder the config names, after validate(config).
std::shared_ptr<Encoder> make_encoder(const EncoderConfig& config, Generator& gen);

}  // namespace qbh::models
