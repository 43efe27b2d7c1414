#include "cli/html_option.h"

#include "cli/json_document.h"
#include "cli/output_file.h"
#include "report/html_report.h"
#include "tlsheap/user_error.h"

#include <filesystem>

namespace tlsheap::cli {

CLI::Option* add_html_option(CLI::App* cmd, std::string& path) {
    return cmd
        ->add_option("--html", path,
                     "write an HTML report to FILE: heap over time with the handshake states, "
                     "flame graphs, tables; one self-contained page")
        ->check(output_file())
        ->check(CLI::Validator(
            [](const std::string& value) {
                return value == "-" ? std::string("an HTML report goes to a file, not to stdout")
                                    : std::string();
            },
            "FILE"));
}

void check_html_output(const std::string& html, const std::string& json,
                       const std::vector<std::string>& inputs) {
    if (html.empty()) {
        return;
    }
    std::error_code ec;
    if (html == json || std::filesystem::equivalent(html, json, ec)) {
        throw UserError("--html and --json both name " + html + ": give each its own file",
                        kExitBadInput);
    }
    refuse_overwriting_inputs("--html", html, inputs);
}

void write_html_report(const std::string& path, const std::string& title, const std::string& kind,
                       const nlohmann::json& views, const nlohmann::json& sweep) {
    write_text_file(path, report::html_page(title, kind, views, sweep));
}

} // namespace tlsheap::cli
