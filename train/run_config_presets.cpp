// The built-in Fashion-MNIST presets and validate(). Presets are starting points the lead tunes;
// validate() refuses what cannot run (or would silently train nothing) before any data is read,
// each message starting with the dotted key a user would fix.
#include <cmath>

#include "engine/core/error.h"
#include "train/run_config.h"

namespace qbh::train {

namespace {

void check_positive(double value, const char* key) {
    QBH_CHECK(value > 0 && std::isfinite(value), key << ": must be positive, got " << value);
}

void check_non_negative(double value, const char* key) {
    QBH_CHECK(value >= 0 && std::isfinite(value), key << ": must be >= 0, got " << value);
}

// Momentum-like coefficients: 1 would never forget, negative would oscillate.
void check_unit(double value, const char* key) {
    QBH_CHECK(value >= 0 && value < 1, key << ": must be in [0, 1), got " << value);
}

bool one_of(const std::string& v, std::initializer_list<const char*> names) {
    for (const char* n : names)
        if (v == n) return true;
    return false;
}

bool valid_device(const std::string& d) {
    if (d == "cpu" || d == "cuda") return true;
    if (!d.starts_with("cuda:") || d.size() == 5) return false;
    for (size_t i = 5; i < d.size(); ++i)
        if (d[i] < '0' || d[i] > '9') return false;
    return true;
}

}  // namespace

std::vector<std::string> preset_names() {
    return {"quick", "full"};
}

RunConfig preset(const std::string& name) {
    RunConfig c;
    c.model.kind = "vit";
    c.model.image_size = 32;  // 28 + 2 * data.pad
    c.model.in_channels = 1;
    c.model.patch_size = 4;  // 8 x 8 grid, 4 x 4 visible tokens
    c.data.pad = 2;
    c.data.channels = 1;
    // Small data and small ViTs want a larger lr than MAE's 1.5e-4 at batch 256 (MAE-Lite on
    // CIFAR: 1.5e-4 x 4096 / 256 = 2.4e-3).
    c.optim.base_lr = 1e-3;
    c.optim.batch_size = 256;
    c.probe.kind = "linear";
    c.probe.optimizer = "lars";
    c.probe.base_lr = 0.1;  // MAE's linear-probe blr with LARS, no weight decay
    c.probe.weight_decay = 0.0;
    c.probe.batch_size = 256;
    if (name == "quick") {  // minutes on a laptop CPU
        c.model.width = 128;
        c.model.depth = 4;
        c.model.heads = 4;
        c.decoder.width = 96;  // MAE-Lite: 96-192 wide x 1 block
        c.decoder.depth = 1;
        c.decoder.heads = 3;
        c.optim.epochs = 6;
        c.optim.warmup_epochs = 1;
        c.probe.epochs = 10;
        c.log_every = 20;
        c.recon_every = 1;
    } else if (name == "full") {  // the reported numbers
        c.model.width = 192;
        c.model.depth = 6;
        c.model.heads = 3;
        c.decoder.width = 128;
        c.decoder.depth = 2;
        c.decoder.heads = 4;
        c.optim.epochs = 100;
        c.optim.warmup_epochs = 10;
        c.probe.epochs = 50;
        c.log_every = 50;
        c.recon_every = 10;
    } else {
        QBH_FAIL("--preset: unknown preset '" << name << "' (expected quick or full)");
    }
    return c;
}

void validate(const RunConfig& c) {
    QBH_CHECK(one_of(c.job, {"pretrain", "probe", "finetune", "supervised", "knn", "reconstruct"}),
              "job: unknown job '" << c.job
                                   << "' (expected pretrain, probe, finetune, supervised, knn or "
                                      "reconstruct)");
    QBH_CHECK(one_of(c.method, {"qbheat", "mae", "interp"}),
              "method: unknown method '" << c.method << "' (expected qbheat, mae or interp)");
    QBH_CHECK(c.mask_ratio > 0 && c.mask_ratio < 1,
              "mask_ratio: must be in (0, 1), got " << c.mask_ratio);
    QBH_CHECK(valid_device(c.device),
              "device: unknown device '" << c.device << "' (expected cpu, cuda or cuda:N)");
    check_positive(c.log_every, "log_every");
    check_non_negative(c.checkpoint_every, "checkpoint_every");
    check_non_negative(c.recon_every, "recon_every");

    models::validate(c.model);
    models::validate(c.decoder);
    models::validate(c.heat);
    // The fixed 2-D sin-cos tables (encoder tokens, decoder's full grid) split the channels into
    // four equal parts: sin/cos of the row and of the column.
    if (c.model.kind == "vit")
        QBH_CHECK(c.model.width % 4 == 0,
                  "model.width: the 2-D sin-cos position table needs a "
                  "multiple of 4, got "
                      << c.model.width);
    QBH_CHECK(c.decoder.width % 4 == 0,
              "decoder.width: the decoder's 2-D sin-cos table over the grid needs a multiple of "
              "4, got "
                  << c.decoder.width);
    QBH_CHECK(c.method != "mae" || c.model.kind == "vit",
              "method: mae drops tokens and needs model.encoder vit, got " << c.model.kind);

    QBH_CHECK(!c.data.path.empty(), "data.path: must not be empty");
    check_non_negative(c.data.pad, "data.pad");
    check_positive(c.data.channels, "data.channels");
    QBH_CHECK(c.data.channels == c.model.in_channels, "data.channels: the data has "
                                                          << c.data.channels
                                                          << " channels but model.in_channels is "
                                                          << c.model.in_channels);
    check_non_negative(c.data.workers, "data.workers");
    QBH_CHECK(c.data.crop_scale_min > 0 && c.data.crop_scale_min <= 1,
              "data.crop_scale_min: must be in (0, 1], got " << c.data.crop_scale_min);
    check_non_negative(static_cast<double>(c.data.limit_train), "data.limit_train");
    check_non_negative(static_cast<double>(c.data.limit_test), "data.limit_test");

    QBH_CHECK(
        one_of(c.optim.name, {"adamw", "sgd", "lars"}),
        "optim.name: unknown optimizer '" << c.optim.name << "' (expected adamw, sgd or lars)");
    check_positive(c.optim.batch_size, "optim.batch_size");
    check_positive(c.optim.epochs, "optim.epochs");
    check_non_negative(c.optim.warmup_epochs, "optim.warmup_epochs");
    QBH_CHECK(c.optim.warmup_epochs <= c.optim.epochs,
              "optim.warmup_epochs: " << c.optim.warmup_epochs << " warm-up epochs exceed the "
                                      << c.optim.epochs << " epochs of optim.epochs");
    check_positive(c.optim.base_lr, "optim.base_lr");
    check_non_negative(c.optim.min_lr, "optim.min_lr");
    check_non_negative(c.optim.weight_decay, "optim.weight_decay");
    check_unit(c.optim.beta1, "optim.beta1");
    check_unit(c.optim.beta2, "optim.beta2");
    check_unit(c.optim.momentum, "optim.momentum");
    check_non_negative(c.optim.clip_grad, "optim.clip_grad");

    QBH_CHECK(one_of(c.probe.kind, {"linear", "nonlinear"}),
              "probe.kind: unknown probe '" << c.probe.kind << "' (expected linear or nonlinear)");
    check_positive(c.probe.epochs, "probe.epochs");
    check_positive(c.probe.base_lr, "probe.base_lr");
    check_positive(c.probe.batch_size, "probe.batch_size");
    QBH_CHECK(one_of(c.probe.optimizer, {"lars", "sgd"}), "probe.optimizer: unknown optimizer '"
                                                              << c.probe.optimizer
                                                              << "' (expected lars or sgd)");
    check_non_negative(c.probe.weight_decay, "probe.weight_decay");

    check_positive(c.knn.k, "knn.k");
    check_positive(c.knn.temperature, "knn.temperature");
}

}  // namespace qbh::train
