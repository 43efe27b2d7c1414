// What the user names on the command line (models, scenarios), resolved or
// refused with one line and exit 2 (UserError).
#pragma once

#include "orchestration/scenario.h"
#include "tlsheap/allocator_model.h"

#include <string>
#include <vector>

namespace tlsheap::pipeline {

// "NAME[:key=value,...]" for each model. Throws UserError (exit 2) for a
// malformed spec, an unknown model or an option the model does not take.
std::vector<replay::ModelSpec> parse_model_specs(const std::vector<std::string>& models);

// A scenario name (scenarios/*.json) or file.
record::Scenario load_named_scenario(const std::string& name);

} // namespace tlsheap::pipeline
