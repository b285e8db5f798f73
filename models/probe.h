// Evaluation heads (QBHEAT.md section 4) and the classifier for fine-tuning / supervised
// training from scratch. Probes take the frozen encoder's grid [N, h, w, d]; the Classifier owns
// its encoder and trains it. Names as MAE's main_linprobe / main_finetune where they exist.
#pragma once

#include <memory>

#include "engine/core/rng.h"
#include "engine/nn/nn.h"
#include "models/encoders.h"

namespace qbh::models {

// Linear probe: mean over the grid cells, "bn" BatchNorm1d(d, affine = false, eps 1e-6), "head"
// Linear(d, classes) (MAE linprobe: weight trunc_normal std 0.01, bias 0). Input: grid
// [N, h, w, d] or already pooled features [N, d].
class LinearProbe : public nn::Module {
  public:
    LinearProbe(int64_t dim, int64_t classes, Generator& gen);
    std::string type_name() const override { return "LinearProbe"; }
    Tensor forward(const Tensor& features) override;

    std::shared_ptr<nn::BatchNorm1d> bn;
    std::shared_ptr<nn::Linear> head;
};

// Non-linear probe [paper]: "block" TransformerBlock(d, heads) over the h*w grid tokens, mean
// pool, "head" Linear(d, classes) (trunc_normal std 0.01, bias 0). Input: grid [N, h, w, d].
class NonlinearProbe : public nn::Module {
  public:
    NonlinearProbe(int64_t dim, int64_t heads, int64_t classes, Generator& gen,
                   double mlp_ratio = 4.0);
    std::string type_name() const override { return "NonlinearProbe"; }
    Tensor forward(const Tensor& grid) override;

    std::shared_ptr<nn::TransformerBlock> block;
    std::shared_ptr<nn::Linear> head;
};

// Fine-tuning / from-scratch classifier, MAE fine-tuning with global pool: "encoder" (its grid),
// mean over cells, "fc_norm" LayerNorm(d, eps 1e-6), "head" Linear(d, classes) (MAE finetune:
// weight trunc_normal std 2e-5, bias 0). forward(images [N, C, H, W]) -> logits [N, classes].
class Classifier : public nn::Module {
  public:
    Classifier(std::shared_ptr<Encoder> encoder, int64_t classes, Generator& gen);
    std::string type_name() const override { return "Classifier"; }
    Tensor forward(const Tensor& images) override;

    std::shared_ptr<Encoder> encoder;
    std::shared_ptr<nn::LayerNorm> fc_norm;
    std::shared_ptr<nn::Linear> head;
};

}  // namespace qbh::models
