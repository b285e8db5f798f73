// Config checks (config.h): each message names the JSON key and says why the value cannot work,
// so a user can fix a config file without reading the model code. Checks run before any model
// is built, so shape errors never surface as an obscure op failure deep in a forward pass.
#include "models/config.h"

#include "engine/core/error.h"

namespace qbh::models {

namespace {

void check_positive(int value, const char* key) {
    QBH_CHECK(value > 0, key << ": must be positive, got " << value);
}

bool is_power_of_two(int v) {
    return v > 0 && (v & (v - 1)) == 0;
}

}  // namespace

int grid_size(const EncoderConfig& encoder) {
    QBH_CHECK(encoder.patch_size > 0,
              "model.patch_size: must be positive, got " << encoder.patch_size);
    return encoder.image_size / encoder.patch_size;
}

void validate(const EncoderConfig& e) {
    QBH_CHECK(e.kind == "vit" || e.kind == "cnn",
              "model.encoder: unknown encoder '" << e.kind << "' (expected vit or cnn)");
    check_positive(e.image_size, "model.image_size");
    check_positive(e.in_channels, "model.in_channels");
    check_positive(e.patch_size, "model.patch_size");
    check_positive(e.width, "model.width");
    check_positive(e.depth, "model.depth");
    QBH_CHECK(e.image_size % e.patch_size == 0,
              "model.patch_size: " << e.image_size << " / " << e.patch_size
                                   << " is not a whole number of patches");
    const int grid = e.image_size / e.patch_size;
    QBH_CHECK(grid % 2 == 0, "model.patch_size: the grid ("
                                 << grid << "x" << grid
                                 << ") must be even so a quarter is h/2 x w/2 cells");
    if (e.kind == "vit") {
        check_positive(e.heads, "model.heads");
        QBH_CHECK(e.width % e.heads == 0, "model.heads: width "
                                              << e.width << " is not divisible by " << e.heads
                                              << " heads");
        QBH_CHECK(
            e.mlp_ratio > 0 && static_cast<int64_t>(e.width * e.mlp_ratio) > 0,
            "model.mlp_ratio: " << e.mlp_ratio << " gives an empty MLP for width " << e.width);
    } else {
        // Each stage halves the resolution and doubles the width, ending at `width`.
        QBH_CHECK(is_power_of_two(e.patch_size),
                  "model.patch_size: " << e.patch_size
                                       << " must be a power of two for the cnn encoder (each "
                                          "stage halves the resolution)");
        QBH_CHECK(e.width % e.patch_size == 0,
                  "model.width: " << e.width << " must be divisible by patch_size " << e.patch_size
                                  << " for the cnn encoder (the stem is width / patch_size wide "
                                     "and each stage doubles it)");
        int stages = 0;
        for (int p = e.patch_size; p > 1; p /= 2) ++stages;
        if (stages == 0) stages = 1;
        QBH_CHECK(e.depth >= stages,
                  "model.depth: " << e.depth << " residual blocks cannot fill the " << stages
                                  << " stages of a cnn with patch_size " << e.patch_size);
    }
}

void validate(const DecoderConfig& d) {
    check_positive(d.width, "decoder.width");
    check_positive(d.depth, "decoder.depth");
    check_positive(d.heads, "decoder.heads");
    QBH_CHECK(d.width % d.heads == 0,
              "decoder.heads: width " << d.width << " is not divisible by " << d.heads << " heads");
    QBH_CHECK(d.mlp_ratio > 0 && static_cast<int64_t>(d.width * d.mlp_ratio) > 0,
              "decoder.mlp_ratio: " << d.mlp_ratio << " gives an empty MLP for width " << d.width);
}

void validate(const HeatConfig& h) {
    QBH_CHECK(h.mode == "cell" || h.mode == "block" || h.mode == "mask",
              "heat.mode: unknown mode '" << h.mode << "' (expected cell, block or mask)");
    QBH_CHECK(
        h.corner == "tl" || h.corner == "tr" || h.corner == "bl" || h.corner == "br" ||
            h.corner == "random",
        "heat.corner: unknown corner '" << h.corner << "' (expected tl, tr, bl, br or random)");
}

}  // namespace qbh::models
