// The run configuration of every training job: built-in presets, a JSON file and `--set key=value`
// overrides, merged in that order, then validated so an impossible run is refused before any
// data is read, with a message naming the dotted key (the same spelling in all three sources).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "models/config.h"

namespace qbh::train {

struct DataConfig {
    std::string path = qbh::data::kDefaultDatasetPath;  // dataset folder (data.path)
    int pad = 2;                  // zero border per side: Fashion-MNIST 28 -> 32 (data.pad)
    int channels = 1;             // image channels fed to the model (data.channels)
    int workers = 1;              // loader threads; 0 = load on the calling thread (data.workers)
    double crop_scale_min = 0.2;  // random resized crop area range [min, 1] (data.crop_scale_min)
    bool flip = true;             // random horizontal flip (data.flip)
    int64_t limit_train = 0;      // first N training images only; 0 = all (data.limit_train)
    int64_t limit_test = 0;       // first N test images only; 0 = all (data.limit_test)
};

struct OptimConfig {
    std::string name = "adamw";  // "adamw" | "sgd" | "lars" (optim.name)
    int batch_size = 256;        // (optim.batch_size)
    int epochs = 6;              // (optim.epochs)
    int warmup_epochs = 1;       // linear warm-up, then cosine (optim.warmup_epochs)
    double base_lr = 1.5e-4;     // lr = base_lr * batch_size / 256, as MAE (optim.base_lr)
    double min_lr = 0.0;         // cosine floor (optim.min_lr)
    double weight_decay = 0.05;  // (optim.weight_decay)
    double beta1 = 0.9;          // (optim.beta1)
    double beta2 = 0.95;         // (optim.beta2)
    double momentum = 0.9;       // sgd / lars (optim.momentum)
    double clip_grad = 0.0;      // max global grad norm; 0 = off (optim.clip_grad)
};

struct ProbeConfig {
    std::string kind = "linear";     // "linear" | "nonlinear" (probe.kind)
    int epochs = 10;                 // (probe.epochs)
    double base_lr = 0.1;            // scaled by batch_size / 256 (probe.base_lr)
    int batch_size = 256;            // (probe.batch_size)
    std::string optimizer = "lars";  // "lars" | "sgd" (probe.optimizer)
    double weight_decay = 0.0;       // (probe.weight_decay)
};

struct KnnConfig {
    int k = 20;                 // neighbours (knn.k)
    double temperature = 0.07;  // vote weight exp(sim / T) (knn.temperature)
};

struct RunConfig {
    std::string job = "pretrain";   // pretrain | probe | finetune | supervised | knn | reconstruct
    std::string method = "qbheat";  // "qbheat" | "mae" | "interp" (method)
    double mask_ratio = 0.75;       // random masking of mae / interp (mask_ratio)
    uint64_t seed = 0;              // (seed)
    std::string device = "cpu";     // "cpu" | "cuda" | "cuda:N" (device)
    int log_every = 50;             // steps between log lines (log_every)
    int checkpoint_every = 0;  // steps between checkpoints; 0 = end of epoch (checkpoint_every)
    int recon_every = 1;       // epochs between reconstruction pictures; 0 = off (recon_every)
    models::EncoderConfig model;
    models::DecoderConfig decoder;
    models::HeatConfig heat;
    models::LossConfig loss;
    DataConfig data;
    OptimConfig optim;
    ProbeConfig probe;
    KnnConfig knn;
};

// "quick" (minutes on a CPU) or "full" (the reported numbers), both for Fashion-MNIST; any other
// name throws qbh::Error listing the presets.
RunConfig preset(const std::string& name);
std::vector<std::string> preset_names();

// Every dotted key, in table order (model.patch_size, heat.mode, ...).
std::vector<std::string> config_keys();

// Nested objects keyed like the dotted keys: {"model": {"patch_size": 4}, "seed": 0, ...}.
nlohmann::json to_json(const RunConfig& config);

// Sets the keys present in `j` (nested objects or dotted keys); others keep their value. On any
// error (unknown key, wrong type) throws qbh::Error "<source>: ..." and leaves `config` unchanged.
void merge_json(RunConfig& config, const nlohmann::json& j, const std::string& source);

// `base` with the keys of the JSON object in file `path` applied (comments allowed).
RunConfig load_config_file(const std::string& path, const RunConfig& base);

// "key=value": value parsed as JSON when it parses (2, false, 1e-3, "x"), else taken as a string
// (heat.mode=block, data.path=/tmp/x).
void apply_override(RunConfig& config, const std::string& assignment);

// Throws qbh::Error naming the key and why: the model checks of models::validate plus the
// training fields (positive sizes, lr > 0, 0 < mask_ratio < 1, known names).
void validate(const RunConfig& config);

// Pretty JSON (2-space indent), keys in table order; what a run prints and saves.
std::string format_config(const RunConfig& config);

// Writes format_config to `path` atomically (temp file, fsync, rename): a reader sees the old
// file or the complete new one.
void save_config(const RunConfig& config, const std::string& path);

}  // namespace qbh::train
