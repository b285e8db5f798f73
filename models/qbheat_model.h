// The QB-Heat pre-training model (QBHEAT.md sections 1.5, 2, 3): the encoder sees only the
// visible quarter of the image, the heat predictor extends its token grid to the full grid, and
// the small decoder reconstructs every cell's pixels; the loss is on the hidden cells.
#pragma once

#include <memory>

#include "engine/core/rng.h"
#include "engine/nn/nn.h"
#include "models/config.h"
#include "models/encoders.h"
#include "models/heads.h"

namespace qbh::models {

// Children "encoder", "heat", "decoder" (state_dict keys "encoder.blocks.0.attn.qkv.weight",
// "heat.A", "decoder.pred.weight", ...). Works with both encoders: the ViT is told where the
// quarter sits in the full grid (its position embedding), the CNN just convolves the crop.
class QBHeatModel : public nn::Module {
  public:
    QBHeatModel(const EncoderConfig& encoder, const DecoderConfig& decoder, const HeatConfig& heat,
                const LossConfig& loss, Generator& gen);
    std::string type_name() const override { return "QBHeatModel"; }

    struct Output {
        Tensor loss;        // 0-d
        Tensor pred;        // [N, L, p*p*C], patchify order, in the loss's target space
        HeatCorner corner;  // where the visible quarter was
    };
    using nn::Module::forward;
    // images [N, C, H, W] with H = W = image_size: one corner per batch (pick_corner).
    Output forward(const Tensor& images, Generator& gen);
    // The same with the corner given (tests, reconstruction pictures).
    Output forward(const Tensor& images, HeatCorner corner);
    // The visible quarter's encoder grid extended to the full grid [N, g, g, d] (decoder input).
    Tensor predict_grid(const Tensor& images, HeatCorner corner);
    // The encoder on the FULL image -> [N, g, g, d] (probes, kNN).
    Tensor encode_full(const Tensor& images);

    const EncoderConfig& encoder_config() const { return encoder_config_; }

    std::shared_ptr<Encoder> encoder;
    std::shared_ptr<HeatPredictor> heat;
    std::shared_ptr<Decoder> decoder;

  private:
    void check_images(const Tensor& images) const;

    EncoderConfig encoder_config_;
    HeatConfig heat_config_;
    LossConfig loss_config_;
};

// Checks images [N, C, S, S] against the encoder config (C = in_channels, S = image_size);
// throws naming model.in_channels / model.image_size. Shared with MaeModel and Classifier.
void check_model_images(const Tensor& images, const EncoderConfig& config, const char* who);

}  // namespace qbh::models
