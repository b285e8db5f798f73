// `qbheat data inspect [PATH]`: opens a dataset (data/dataset.h), prints its statistics
// (data/inspect.h) and optionally writes a PNG grid of samples. Errors propagate to main.cpp,
// which prints them and sets the exit code.
#include "tools/qbheat/cmd_data.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>

#include "data/dataset.h"
#include "data/grid.h"
#include "data/inspect.h"

namespace qbh::cli {
namespace {

struct InspectArgs {
    std::string path = data::kDefaultDatasetPath;
    std::string split = "train";
    std::string grid_path;
    int grid_count = 64;
    int channels = 0;
    int64_t limit = 0;
};

void run_inspect(const InspectArgs& args) {
    data::OpenOptions open;
    open.split = args.split;
    open.channels = args.channels;
    std::unique_ptr<data::Dataset> dataset = data::open_dataset(args.path, open);

    data::InspectOptions options;
    options.limit = args.limit;
    options.progress = isatty(STDERR_FILENO) != 0;  // plain silence in pipes and logs
    std::cout << data::format_report(data::inspect_dataset(*dataset, options)) << std::flush;

    if (args.grid_path.empty()) return;
    data::SampleGrid grid = data::sample_grid(*dataset, args.grid_count);
    data::write_png(args.grid_path, grid.image);
    std::cout << "grid: wrote " << grid.count << " samples to " << args.grid_path << " ("
              << grid.rows << "x" << grid.columns << ")\n";
}

void add_inspect_command(CLI::App& data_cmd) {
    auto args = std::make_shared<InspectArgs>();
    CLI::App* cmd = data_cmd.add_subcommand(
        "inspect", "Print a dataset's sample and class counts, image shapes and pixel mean/std");
    cmd->add_option("path", args->path,
                    "An IDX folder (MNIST, Fashion-MNIST), CIFAR binary batches or an image "
                    "folder root/<class>/<file>")
        ->capture_default_str();
    cmd->add_option("--split", args->split, "Which split to inspect")
        ->check(CLI::IsMember({"train", "test"}))
        ->capture_default_str();
    cmd->add_option("--grid", args->grid_path, "Write a PNG grid of samples to this file");
    cmd->add_option("--grid-count", args->grid_count, "Samples in the grid")
        ->check(CLI::Range(1, 4096))
        ->capture_default_str();
    cmd->add_option("--channels", args->channels,
                    "Image folders: decode to 1, 3 or 4 channels (default: from the first image)")
        ->check(CLI::IsMember({1, 3, 4}));
    cmd->add_option("--limit", args->limit, "Inspect only the first N samples")
        ->check(CLI::PositiveNumber);
    cmd->callback([args] { run_inspect(*args); });
}

}  // namespace

void add_data_commands(CLI::App& app) {
    CLI::App* data_cmd = app.add_subcommand("data", "Datasets: inspect what a path holds");
    data_cmd->require_subcommand(1);
    add_inspect_command(*data_cmd);
}

}  // namespace qbh::cli
