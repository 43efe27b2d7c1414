#include "json_schema_check.h"

#include "process/child_process.h"
#include "tlsheap_harness.h"

#include <atomic>
#include <chrono>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <mutex>
#include <sstream>
#include <unistd.h>

namespace tlsheap::testing {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path schema_dir() {
    return fs::path(TLSHEAP_SOURCE_DIR) / "docs" / "json-schema";
}

std::vector<std::string> validator_errors(const std::vector<json>& files) {
    // Built without a validator (the schema suite is then a skipped test
    // that says so): a document the oom suite wrote cannot pass unchecked.
    if (std::string(JSONSCHEMA_PYTHON).empty()) {
        ADD_FAILURE() << "python3-jsonschema missing: scripts/setup.sh --tests installs it";
        return {"no validator"};
    }
    static std::atomic<int> calls{0};
    const fs::path dir = scratch_dir("schema-validate-" + std::to_string(::getpid()) + "-" +
                                     std::to_string(calls++));
    std::vector<std::string> argv = {
        JSONSCHEMA_PYTHON,
        (fs::path(TLSHEAP_SOURCE_DIR) / "tests" / "integration" / "validate_json.py").string(),
        schema_dir().string()};
    for (std::size_t i = 0; i < files.size(); ++i) {
        const fs::path file = dir / (std::to_string(i) + ".json");
        std::ofstream(file) << files[i].dump();
        argv.push_back(file.string());
    }
    const auto r = process::run_command(argv, std::chrono::minutes(2));
    fs::remove_all(dir);
    if (r.status != 0 && r.status != 1) {
        ADD_FAILURE() << "validate_json.py exited " << r.status << ": " << r.err;
        return {"the validator failed"};
    }
    std::vector<std::string> out;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
        out.push_back(line);
    }
    if (r.status == 1 && out.empty()) {
        out.push_back("invalid (no detail)");
    }
    return out;
}

std::vector<std::string> errors(const json& schema, const json& doc) {
    return validator_errors({schema, doc});
}

const json& schema(const std::string& name) {
    static std::mutex mutex;
    static std::map<std::string, json> loaded;
    const std::lock_guard lock(mutex);
    auto [it, added] = loaded.try_emplace(name);
    if (added) {
        std::ifstream in(schema_dir() / name);
        EXPECT_TRUE(in) << "cannot read " << (schema_dir() / name);
        it->second = json::parse(in);
    }
    return it->second;
}

std::string joined(const std::vector<std::string>& lines) {
    std::string s;
    for (std::size_t i = 0; i < lines.size() && i < 20; ++i) {
        s += "  " + lines[i] + "\n";
    }
    return s;
}

} // namespace tlsheap::testing
