#include "cli/scenarios_command.h"

#include "orchestration/scenario.h"
#include "pipeline/tool_files.h"
#include "tlsheap/user_error.h"

#include <cstdio>

namespace tlsheap::cli {

void add_scenarios_command(CLI::App& app, int& exit_code) {
    CLI::App* cmd = app.add_subcommand("scenarios", "List the scenarios tlsheap can run");
    cmd->callback([&exit_code] {
        for (const std::string& name : record::list_scenarios(pipeline::scenario_dir())) {
            try {
                const record::Scenario s = record::load_scenario(name, pipeline::scenario_dir());
                std::printf("%-28s %s\n", name.c_str(), s.summary.c_str());
            } catch (const record::ScenarioError& e) {
                std::printf("%-28s (invalid: %s)\n", name.c_str(), e.what());
            }
        }
        exit_code = kExitOk;
    });
}

} // namespace tlsheap::cli
