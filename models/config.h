// Model configuration: plain structs with the defaults of the Fashion-MNIST quick preset
// (QBHEAT.md section 3). Every [ours] choice of the spec is a field here. validate() refuses an
// impossible configuration with a message naming the key (as the JSON config spells it) and why.
#pragma once

#include <string>

namespace qbh::models {

struct EncoderConfig {
    std::string kind = "vit";  // "vit" | "cnn"            (key model.encoder)
    int image_size = 32;       // H = W after padding      (model.image_size)
    int in_channels = 1;       //                          (model.in_channels)
    int patch_size = 4;        // ViT patch / CNN total stride p (model.patch_size)
    int width = 192;           // d, the token width       (model.width)
    int depth = 6;             // ViT blocks / CNN residual blocks (model.depth)
    int heads = 3;             // ViT heads                (model.heads)
    double mlp_ratio = 4.0;    //                          (model.mlp_ratio)
};

struct DecoderConfig {
    int width = 128;  // (decoder.width)
    int depth = 2;    // (decoder.depth)
    int heads = 4;    // (decoder.heads)
    double mlp_ratio = 4.0;
};

struct HeatConfig {
    std::string mode = "cell";  // "cell" | "block" | "mask"   (heat.mode)
    std::string corner = "tl";  // "tl" | "tr" | "bl" | "br" | "random" (heat.corner)
    bool norm = false;          // (heat.norm)
};

struct LossConfig {
    bool norm_pix = true;     // per-patch normalised targets (loss.norm_pix); false = raw pixels
    bool masked_only = true;  // loss on the three hidden quarters only (loss.masked_only)
};

// Grid side of the encoder's token map: image_size / patch_size.
int grid_size(const EncoderConfig& encoder);

// Throws qbh::Error naming the key: image_size not divisible by patch_size, an odd grid,
// width not divisible by heads (ViT), unknown kind/mode/corner, non-positive sizes.
void validate(const EncoderConfig& encoder);
void validate(const DecoderConfig& decoder);
void validate(const HeatConfig& heat);

}  // namespace qbh::models
