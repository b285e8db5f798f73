// Probe heads and the classifier (probe.h): average pooling of the encoder grid, then the
// protocol's head. Heads start near zero (MAE's trunc_normal std 0.01 / 2e-5) so early logits
// are flat and the first steps do not depend on the random head.
#include "models/probe.h"

#include "engine/core/error.h"
#include "engine/nn/init.h"
#include "engine/qbh.h"

namespace qbh::models {

namespace {

std::shared_ptr<nn::Linear> make_head(int64_t dim, int64_t classes, double std, Generator& gen) {
    auto head = std::make_shared<nn::Linear>(dim, classes, gen);
    nn::init::trunc_normal_(head->weight, gen, 0.0, std, -2.0 * std, 2.0 * std);
    nn::init::zeros_(head->bias);
    return head;
}

void check_sizes(const char* who, int64_t dim, int64_t classes) {
    QBH_CHECK(dim > 0 && classes > 0,
              who << ": width " << dim << " and classes " << classes << " must be positive");
}

void check_grid(const char* who, const Tensor& grid, int64_t dim) {
    QBH_CHECK(grid.defined() && grid.dim() == 4 && grid.size(3) == dim,
              who << ": grid must be [N, h, w, " << dim << "], got "
                  << (grid.defined() ? describe(grid) : "undefined"));
}

}  // namespace

LinearProbe::LinearProbe(int64_t dim, int64_t classes, Generator& gen) {
    check_sizes("LinearProbe", dim, classes);
    bn = register_module("bn", std::make_shared<nn::BatchNorm1d>(dim, 1e-6, 0.1, false));
    head = register_module("head", make_head(dim, classes, 0.01, gen));
}

Tensor LinearProbe::forward(const Tensor& features) {
    const int64_t d = head->in_features;
    Tensor pooled;
    if (features.defined() && features.dim() == 2 && features.size(1) == d) {
        pooled = features;
    } else {
        check_grid("LinearProbe", features, d);
        pooled = mean(features, {1, 2});
    }
    return head->forward(bn->forward(pooled));
}

NonlinearProbe::NonlinearProbe(int64_t dim, int64_t heads, int64_t classes, Generator& gen,
                               double mlp_ratio) {
    check_sizes("NonlinearProbe", dim, classes);
    QBH_CHECK(heads > 0 && dim % heads == 0,
              "NonlinearProbe: width " << dim << " must be divisible by heads " << heads);
    block = register_module("block",
                            std::make_shared<nn::TransformerBlock>(dim, heads, gen, mlp_ratio));
    head = register_module("head", make_head(dim, classes, 0.01, gen));
}

Tensor NonlinearProbe::forward(const Tensor& grid) {
    const int64_t d = head->in_features;
    check_grid("NonlinearProbe", grid, d);
    const int64_t n = grid.size(0), l = grid.size(1) * grid.size(2);
    Tensor x = block->forward(grid.reshape({n, l, d}));
    return head->forward(mean(x, {1}));
}

Classifier::Classifier(std::shared_ptr<Encoder> enc, int64_t classes, Generator& gen) {
    QBH_CHECK(enc != nullptr, "Classifier: encoder is null");
    const int64_t d = enc->width();
    check_sizes("Classifier", d, classes);
    encoder = register_module("encoder", std::move(enc));
    fc_norm = register_module("fc_norm", std::make_shared<nn::LayerNorm>(d, 1e-6));
    head = register_module("head", make_head(d, classes, 2e-5, gen));
}

Tensor Classifier::forward(const Tensor& images) {
    Tensor grid = encoder->forward(images);  // the encoder checks channels and size
    return head->forward(fc_norm->forward(mean(grid, {1, 2})));
}

}  // namespace qbh::models
