// QBHeatModel (qbheat_model.h): crop the visible quarter, encode it, heat-predict the full grid,
// decode, and score the reconstruction. The crop is taken in pixels and the ViT gets the token
// offset of that corner, so positions match the full image's table.
#include "models/qbheat_model.h"

#include "engine/core/error.h"
#include "engine/qbh.h"

namespace qbh::models {

void check_model_images(const Tensor& images, const EncoderConfig& config, const char* who) {
    QBH_CHECK(images.defined() && images.dim() == 4,
              who << ": images must be [N, C, H, W], got "
                  << (images.defined() ? describe(images) : "undefined"));
    QBH_CHECK(images.size(1) == config.in_channels, who << ": images have " << images.size(1)
                                                        << " channels but model.in_channels is "
                                                        << config.in_channels);
    QBH_CHECK(images.size(2) == config.image_size && images.size(3) == config.image_size,
              who << ": images are " << images.size(2) << "x" << images.size(3)
                  << " but model.image_size is " << config.image_size);
}

QBHeatModel::QBHeatModel(const EncoderConfig& encoder_config, const DecoderConfig& decoder_config,
                         const HeatConfig& heat_config, const LossConfig& loss, Generator& gen)
    : encoder_config_(encoder_config), heat_config_(heat_config), loss_config_(loss) {
    validate(encoder_config);
    validate(decoder_config);
    validate(heat_config);
    const int64_t d = encoder_config.width;
    encoder = register_module("encoder", make_encoder(encoder_config, gen));
    heat = register_module("heat", std::make_shared<HeatPredictor>(d, heat_config, gen));
    decoder = register_module(
        "decoder",
        std::make_shared<Decoder>(d, grid_size(encoder_config), encoder_config.patch_size,
                                  encoder_config.in_channels, decoder_config, gen));
}

void QBHeatModel::check_images(const Tensor& images) const {
    check_model_images(images, encoder_config_, "QBHeatModel");
}

Tensor QBHeatModel::predict_grid(const Tensor& images, HeatCorner corner) {
    check_images(images);
    const int64_t size = encoder_config_.image_size, half = size / 2;
    const int64_t p = encoder_config_.patch_size;
    const bool top = corner == HeatCorner::tl || corner == HeatCorner::tr;
    const bool left = corner == HeatCorner::tl || corner == HeatCorner::bl;
    const int64_t row_px = top ? 0 : half, col_px = left ? 0 : half;
    Tensor quarter = images.slice(2, row_px, row_px + half).slice(3, col_px, col_px + half);
    Tensor visible;
    if (auto* vit = dynamic_cast<VitEncoder*>(encoder.get()))
        visible = vit->forward(quarter, row_px / p, col_px / p);
    else
        visible = encoder->forward(quarter.contiguous());
    return heat->forward(visible, corner);
}

QBHeatModel::Output QBHeatModel::forward(const Tensor& images, HeatCorner corner) {
    Tensor grid = predict_grid(images, corner);
    Tensor pred = decoder->forward(grid);
    const int64_t g = grid_size(encoder_config_);
    Tensor loss = reconstruction_loss(pred, images, encoder_config_.patch_size,
                                      hidden_cell_mask(g, corner), loss_config_);
    return {loss, pred, corner};
}

QBHeatModel::Output QBHeatModel::forward(const Tensor& images, Generator& gen) {
    return forward(images, pick_corner(heat_config_, gen));
}

Tensor QBHeatModel::encode_full(const Tensor& images) {
    check_images(images);
    return encoder->forward(images);
}

}  // namespace qbh::models
