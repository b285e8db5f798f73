// qbheat: the command-line program. It builds the CLI11 app, lets each command group register
// its sub-commands (cmd_*.cpp) and maps failures to exit codes: 0 success, 1 a qbheat error or a
// missing command (help is printed), 2 a command-line parse error.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "tools/qbheat/cmd_data.h"

namespace {

std::string version_text() {
#ifdef QBH_WITH_CUDA
    const char* cuda = "CUDA backend: compiled in";
#else
    const char* cuda = "CUDA backend: not compiled in (CPU only)";
#endif
    return std::string("qbheat ") + QBH_VERSION + "\n" + cuda;
}

// The innermost command the user named (the app itself when none).
const CLI::App* deepest_command(const CLI::App& app) {
    const CLI::App* cmd = &app;
    while (!cmd->get_subcommands().empty()) cmd = cmd->get_subcommands().front();
    return cmd;
}

int parse_error_exit(CLI::App& app, const CLI::ParseError& e) {
    const CLI::App* cmd = deepest_command(app);
    if (dynamic_cast<const CLI::RequiredError*>(&e) && cmd->get_require_subcommand_min() > 0 &&
        cmd->get_subcommands().empty()) {
        // CLI11 checks for the missing command before it complains about unknown words; say
        // which words it did not know, else (`qbheat` or `qbheat data` alone) show what there is.
        std::vector<std::string> unknown = app.remaining(true);
        if (!unknown.empty()) {
            app.exit(CLI::ExtrasError(unknown));
            return 2;
        }
        std::cout << cmd->help();
        return 1;
    }
    int code = app.exit(e);  // prints help, the version or the message
    return code == 0 ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app("qbheat: QB-Heat self-supervised training engine", "qbheat");
    app.set_version_flag("--version", version_text());
    app.require_subcommand(1);
    qbh::cli::add_data_commands(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return parse_error_exit(app, e);
    } catch (const std::exception& e) {  // qbh::Error, DataError, and anything else
        std::cout.flush();
        std::fprintf(stderr, "qbheat: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
