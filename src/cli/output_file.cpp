#include "cli/output_file.h"

#include "tlsheap/user_error.h"

#include <filesystem>

namespace tlsheap::cli {

const CLI::Validator& output_file() {
    static const CLI::Validator validator(
        [](std::string& value) -> std::string {
            namespace fs = std::filesystem;
            if (value == "-") {
                return {};
            }
            if (value.empty()) {
                return "an empty file name";
            }
            const fs::path dir = fs::absolute(value).parent_path();
            std::error_code ec;
            if (!fs::is_directory(dir, ec)) {
                return "directory " + dir.string() + " does not exist";
            }
            if (fs::is_directory(value, ec)) {
                return value + " is a directory";
            }
            return {};
        },
        "FILE", "OUTPUT_FILE");
    return validator;
}

const CLI::Validator& replaced_file() {
    static const CLI::Validator validator(
        [](std::string& value) -> std::string {
            namespace fs = std::filesystem;
            if (value == "-") {
                // A trace is binary and stdout carries the report.
                return "a trace goes to a file, not to standard output";
            }
            if (std::string problem = output_file()(value); !problem.empty()) {
                return problem;
            }
            std::error_code ec;
            const fs::file_status status = fs::symlink_status(value, ec);
            if (fs::exists(status) && !fs::is_regular_file(status)) {
                return value +
                       (fs::is_symlink(status) ? " is a symbolic link" : " is not a regular file") +
                       "; tlsheap replaces only a regular file there";
            }
            return {};
        },
        "FILE", "REPLACED_FILE");
    return validator;
}

void refuse_overwriting_inputs(const std::string& option, const std::string& path,
                               const std::vector<std::string>& inputs) {
    if (path.empty() || path == "-") {
        return;
    }
    for (const std::string& input : inputs) {
        std::error_code ec;
        if (std::filesystem::equivalent(path, input, ec)) {
            throw UserError(option + " " + path + " is the input " + input +
                                "; refusing to overwrite it",
                            kExitBadInput);
        }
    }
}

} // namespace tlsheap::cli
