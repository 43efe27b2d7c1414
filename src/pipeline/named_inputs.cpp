#include "pipeline/named_inputs.h"

#include "pipeline/tool_files.h"
#include "tlsheap/user_error.h"

namespace tlsheap::pipeline {

std::vector<replay::ModelSpec> parse_model_specs(const std::vector<std::string>& models) {
    std::vector<replay::ModelSpec> specs;
    try {
        for (const std::string& m : models) {
            specs.push_back(replay::ModelSpec::parse(m));
            // Built once with a default context, so that an unknown model or
            // option is refused before anything is built or recorded (the
            // replay builds them again for the trace).
            replay::make_model(specs.back(), replay::ModelContext{});
        }
    } catch (const replay::ModelError& e) {
        throw UserError(e.what(), kExitBadInput);
    }
    return specs;
}

record::Scenario load_named_scenario(const std::string& name) {
    try {
        return record::load_scenario(name, scenario_dir());
    } catch (const record::ScenarioError& e) {
        throw UserError(e.what(), kExitBadInput);
    }
}

} // namespace tlsheap::pipeline
