// The heat predictor: the visible quarter's token grid -> the full grid, either by the heat op
// (modes cell/block, QBHEAT.md section 2) or, as MAE's ablation, a learned [MASK] token in the
// three hidden quarters (mode mask). Also the corner draw for config "random".
#include "engine/core/error.h"
#include "engine/nn/init.h"
#include "engine/qbh.h"
#include "models/heads.h"

namespace qbh::models {

HeatCorner pick_corner(const HeatConfig& config, Generator& gen) {
    if (config.corner != "random") return heat_corner_from_string(config.corner);
    // The top two bits of one Philox word: exactly uniform over the four corners.
    const uint32_t bits = gen.at(gen.reserve(1), 0).v[0] >> 30;
    static constexpr HeatCorner corners[4] = {HeatCorner::tl, HeatCorner::tr, HeatCorner::bl,
                                              HeatCorner::br};
    return corners[bits];
}

HeatPredictor::HeatPredictor(int64_t width, const HeatConfig& config, Generator& gen)
    : config_(config) {
    QBH_CHECK(width > 0, "HeatPredictor: width must be positive, got " << width);
    QBH_CHECK(
        config.mode == "cell" || config.mode == "block" || config.mode == "mask",
        "HeatPredictor: heat.mode must be one of cell, block, mask; got '" << config.mode << "'");
    if (config.mode == "mask") {
        QBH_CHECK(!config.norm, "HeatPredictor: heat.norm has no meaning in mode mask");
        mask_token = register_parameter("mask_token", Tensor::zeros({width}));
        nn::init::normal_(mask_token, gen, 0.0, 0.02);
    } else {
        // Zero maps: every step starts as the identity, the prediction as a copy (section 2).
        a = register_parameter("A", Tensor::zeros({width, width}));
        b = register_parameter("B", Tensor::zeros({width, width}));
    }
}

std::string HeatPredictor::extra_repr() const {
    return "mode=" + config_.mode + ", norm=" + (config_.norm ? "True" : "False");
}

Tensor HeatPredictor::forward(const Tensor& visible, HeatCorner corner) {
    if (config_.mode != "mask")
        return heat_propagate(visible, a, b,
                              {heat_mode_from_string(config_.mode), corner, config_.norm});

    const int64_t d = mask_token.size(0);
    QBH_CHECK(visible.defined() && visible.dim() == 4 && visible.size(3) == d,
              "HeatPredictor: visible must be [N, h, w, " << d << "], got " << describe(visible));
    QBH_CHECK(visible.dtype() == mask_token.dtype() && visible.device() == mask_token.device(),
              "HeatPredictor: visible and mask_token differ in dtype or device");
    const int64_t n = visible.size(0), h = visible.size(1), w = visible.size(2);
    // The token broadcast to one quarter; cat's backward sums its gradient over the positions.
    Tensor quarter = mask_token.reshape({1, 1, 1, d}).expand({n, h, w, d});
    Tensor half = cat({quarter, quarter}, 2);  // a row of quarters with no visible cell
    const bool left = corner == HeatCorner::tl || corner == HeatCorner::bl;
    const bool top = corner == HeatCorner::tl || corner == HeatCorner::tr;
    Tensor with_visible = left ? cat({visible, quarter}, 2) : cat({quarter, visible}, 2);
    return top ? cat({with_visible, half}, 1) : cat({half, with_visible}, 1);
}

}  // namespace qbh::models
