// Checks a document tlsheap wrote against its schema in docs/json-schema, with
// Debian's python3-jsonschema (validate_json.py). Shared by the schema suite
// and by suites whose runs are too long to make twice (oom's sweeps validate
// the documents they already wrote).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tlsheap::testing {

// docs/json-schema.
std::filesystem::path schema_dir();

// validate_json.py on `files` (a schema, and a document to check against it,
// or none to check the schema itself): its error lines, empty when valid. A
// validator that cannot run fails the test, so that it never passes as "the
// document is invalid".
std::vector<std::string> validator_errors(const std::vector<nlohmann::json>& files);

// The validation errors of `doc` against a schema; empty when it is valid.
std::vector<std::string> errors(const nlohmann::json& schema, const nlohmann::json& doc);

// A schema of docs/json-schema by file name, read once.
const nlohmann::json& schema(const std::string& name);

// The first lines of a validator's answer, indented, for a failure message.
std::string joined(const std::vector<std::string>& lines);

} // namespace tlsheap::testing

#define EXPECT_VALID(schema_name, doc)                                                             \
    do {                                                                                           \
        const auto errs =                                                                          \
            ::tlsheap::testing::errors(::tlsheap::testing::schema(schema_name), doc);              \
        EXPECT_TRUE(errs.empty()) << schema_name << " rejects a document tlsheap wrote:\n"         \
                                  << ::tlsheap::testing::joined(errs);                             \
    } while (0)

#define EXPECT_INVALID(schema_name, doc, why)                                                      \
    EXPECT_FALSE(::tlsheap::testing::errors(::tlsheap::testing::schema(schema_name), doc).empty()) \
        << schema_name << " accepts a broken document: " << why
