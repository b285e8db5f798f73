// Shared job options and the effective-config resolution (see job_options.h).
#include "tools/qbheat/job_options.h"

#include <CLI/CLI.hpp>
#include <ostream>

#include "engine/core/error.h"

namespace qbh::cli {

void add_job_options(CLI::App& command, JobOptions& options, bool out_required) {
    std::string presets;
    for (const std::string& name : train::preset_names())
        presets += (presets.empty() ? "" : ", ") + name;
    command.add_option("--preset", options.preset, "built-in configuration: " + presets)
        ->capture_default_str();
    command.add_option("--config", options.config_file,
                       "JSON config file, applied over the preset");
    command.add_option("--set", options.sets,
                       "override one key, e.g. --set model.patch_size=2 --set heat.mode=block "
                       "(applied in order, after --config)");
    auto* out = command.add_option("--out", options.out, "run folder: weights, logs, pictures");
    if (out_required) out->required();
    command.add_option("--device", options.device, "cpu or cuda")->capture_default_str();
}

train::RunConfig resolve_config(const JobOptions& options, const std::string& job) {
    train::RunConfig config = train::preset(options.preset);
    if (!options.config_file.empty()) config = train::load_config_file(options.config_file, config);
    for (const std::string& assignment : options.sets) train::apply_override(config, assignment);
    config.job = job;
    config.device = options.device;
    QBH_CHECK(config.device == "cpu",
              "device: '" << config.device
                          << "' is not supported by the training jobs yet (the CUDA backend "
                             "issue adds it); use --device cpu");
    train::validate(config);
    return config;
}

void print_config(const train::RunConfig& config, std::ostream& out) {
    out << "effective config:\n" << train::format_config(config) << "\n";
}

}  // namespace qbh::cli
