// The MAE baseline (QBHEAT.md sections 3 and 6) and the `interp` variant: random 75 % token
// masking, the SAME VitEncoder and Decoder classes as QB-Heat; only what fills the masked cells
// before the decoder differs ([MASK] token, or interpolation of the visible neighbours).
#pragma once

#include <memory>
#include <string>

#include "engine/core/rng.h"
#include "engine/nn/nn.h"
#include "models/config.h"
#include "models/encoders.h"
#include "models/heads.h"

namespace qbh::models {

struct MaskingConfig {
    double mask_ratio = 0.75;    // (mae.mask_ratio)
    std::string fill = "token";  // "token" (MAE) | "interp" [ours]  (mae.fill)
};

// MAE's random_masking for N images of L tokens: noise = rand [N, L] from gen, ids_shuffle =
// argsort(noise) ascending (stable), the first len_keep = int(L * (1 - ratio)) are kept,
// ids_restore = argsort(ids_shuffle). All index tensors i64 on the CPU.
struct RandomMasking {
    Tensor ids_shuffle;  // [N, L]
    Tensor ids_restore;  // [N, L]
    Tensor ids_keep;     // [N, len_keep]
    Tensor mask;         // [N, L] f32, 1 = masked (in the original token order)
};
RandomMasking random_masking(int64_t n, int64_t l, double mask_ratio, Generator& gen);
// The rest of a RandomMasking from a given ids_shuffle [N, L] (i64, each row a permutation).
RandomMasking masking_from_shuffle(const Tensor& ids_shuffle, int64_t len_keep);

// `interp` fill: weights W [N, L, L] (f64, CPU) such that W @ visible_grid fills each masked
// cell of a g x g grid by linear interpolation of the nearest visible cells on its row (one
// visible side only: copy the nearest), else on its column the same way; visible cells map to
// themselves. fallback [N, L] is 1 where neither row nor column has a visible cell (those rows
// of W are zero; the caller adds the mask token there). mask as RandomMasking::mask.
struct InterpWeights {
    Tensor weights;   // [N, L, L]
    Tensor fallback;  // [N, L]
};
InterpWeights interp_weights(const Tensor& mask, int64_t grid);

// Children "encoder" (VitEncoder), "decoder"; parameter "mask_token" [d_enc] (normal std 0.02).
class MaeModel : public nn::Module {
  public:
    // Throws naming model.encoder unless it is "vit"; mae.mask_ratio must be in [0, 1) and
    // leave at least one token; mae.fill must be token or interp.
    MaeModel(const EncoderConfig& encoder, const DecoderConfig& decoder, const LossConfig& loss,
             const MaskingConfig& masking, Generator& gen);
    std::string type_name() const override { return "MaeModel"; }

    struct Output {
        Tensor loss;  // 0-d
        Tensor pred;  // [N, L, p*p*C]
        RandomMasking masking;
    };
    using nn::Module::forward;
    // A fresh random mask per image from gen.
    Output forward(const Tensor& images, Generator& gen);
    // With a given masking (tests).
    Output forward(const Tensor& images, const RandomMasking& masking);
    // The encoder on the FULL image (no masking) -> [N, g, g, d].
    Tensor encode_full(const Tensor& images);

    const EncoderConfig& encoder_config() const { return encoder_config_; }

    std::shared_ptr<VitEncoder> encoder;
    std::shared_ptr<Decoder> decoder;
    Tensor mask_token;

  private:
    EncoderConfig encoder_config_;
    LossConfig loss_config_;
    MaskingConfig masking_config_;
};

}  // namespace qbh::models
