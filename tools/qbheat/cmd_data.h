// The `qbheat data ...` command group (today: `data inspect`). Each command group of the qbheat
// program registers its sub-commands on the top-level CLI11 app from its own file; main.cpp
// calls the add_*_commands functions and turns errors into exit codes.
#pragma once

namespace CLI {
class App;
}

namespace qbh::cli {

// Adds `data` (which requires a sub-command) and `data inspect` to `app`.
void add_data_commands(CLI::App& app);

}  // namespace qbh::cli
