// --html FILE: the commands' results as one self-contained page
// (report/html_report.h).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tlsheap::cli {

// Adds `--html FILE` to a command (an output file, checked as --json is).
CLI::Option* add_html_option(CLI::App* cmd, std::string& path);

// Throws UserError (exit 2) when --html names the file of the command's
// --json, which would be written twice, or one of its inputs.
void check_html_output(const std::string& html, const std::string& json,
                       const std::vector<std::string>& inputs);

// Writes the page: `views` and `sweep` as report::html_page takes them.
// Throws UserError (exit 2) when the file cannot be written.
void write_html_report(const std::string& path, const std::string& title, const std::string& kind,
                       const nlohmann::json& views, const nlohmann::json& sweep = nullptr);

} // namespace tlsheap::cli
