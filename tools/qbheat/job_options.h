// The options every training job shares (--preset, --config, --set, --out, --device) and the one
// place that turns them into the effective RunConfig: preset, then the JSON file, then each
// --set in order, then --device; validated; refused with a message naming the key.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "train/run_config.h"

namespace CLI {
class App;
}

namespace qbh::cli {

struct JobOptions {
    std::string preset = "quick";
    std::string config_file;
    std::vector<std::string> sets;
    std::string out;
    std::string device = "cpu";
};

// Adds the shared options to a job's sub-command. `out_required`: --out DIR must be given.
void add_job_options(CLI::App& command, JobOptions& options, bool out_required = true);

// The effective config of job `job`. Throws qbh::Error (naming the key) on a bad preset, file,
// override or an impossible result, and on --device cuda until the CUDA backend runs the jobs.
train::RunConfig resolve_config(const JobOptions& options, const std::string& job);

// "effective config:" and the JSON, for the console.
void print_config(const train::RunConfig& config, std::ostream& out);

}  // namespace qbh::cli
