#include "cli/version_text.h"

#include "pipeline/tool_files.h"
#include "tlsheap/user_error.h"
#include "tlsheap_commit.h"
#include "tlsheap_version.h"
#include "variants/cache_directory.h"
#include "variants/mbedtls_tree.h"

#include <exception>
#include <fmt/format.h>

namespace tlsheap::cli {

std::string version_text() {
    std::string text = fmt::format("tlsheap {} (commit {})\n", kTlsheapVersion, kTlsheapCommit);
    std::filesystem::path fetch_script = "fetch-mbedtls.sh";
    try {
        const pipeline::ToolFiles& files = pipeline::tool_files();
        text += "data files: " + files.describe() + "\n";
        fetch_script = files.fetch_script;
    } catch (const UserError& e) {
        text += std::string("data files: ") + e.what() + "\n";
    }
    const std::filesystem::path cache = build::default_cache_directory();
    text += "cache: " + cache.string() + "\n";
    for (const char* name : {"3.6", "2.28"}) {
        try {
            const build::MbedtlsTree tree = build::locate_mbedtls_tree(name, cache, fetch_script);
            text += fmt::format("mbedTLS {}: {}, {}\n", name, tree.version, tree.origin);
        } catch (const std::exception&) {
            // Not fetched, or unreadable: --version itself never fails.
            text += fmt::format("mbedTLS {}: not fetched (run {})\n", name, fetch_script.string());
        }
    }
    return text;
}

} // namespace tlsheap::cli
