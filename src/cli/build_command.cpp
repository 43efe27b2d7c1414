#include "cli/build_command.h"

#include "cli/number_option.h"
#include "pipeline/profile_session.h"
#include "tlsheap/user_error.h"
#include "variants/build_error.h"
#include "variants/variant_package.h"

#include <algorithm>
#include <cstdio>
#include <thread>

namespace tlsheap::cli {

namespace {

struct BuildOptions {
    std::string mbedtls = "3.6";
    std::string config;
    std::vector<std::string> set;
    std::vector<std::string> unset;
    std::string abi = "host";
    std::string stack_backend;
    std::string export_dir;
    unsigned jobs = 0;
    bool quiet = false;
};

int run_build(const BuildOptions& o) {
    const unsigned jobs = o.jobs != 0 ? o.jobs : std::max(1u, std::thread::hardware_concurrency());
    pipeline::ProfileSession session(o.mbedtls, jobs, [&](const std::string& m) {
        if (!o.quiet) {
            std::fprintf(stderr, "tlsheap: %s\n", m.c_str());
        }
    });
    const auto deltas = session.parse_deltas(o.set, o.unset, o.config);
    try {
        const build::PreparedVariant prepared =
            session.prepare(o.config, deltas, o.abi, o.stack_backend, false);
        const build::ProgramShim shim = session.build_program_shim(prepared);
        const build::VariantPackage package =
            build::write_variant_package(prepared, shim, o.export_dir);
        const std::string dir = package.dir.string();
        std::printf("exported mbedTLS %s, config %s, ABI %s, into %s\n",
                    session.tree().version.c_str(), prepared.config_label.c_str(), o.abi.c_str(),
                    dir.c_str());
        std::printf("  pkg-config: PKG_CONFIG_PATH=%s/lib/pkgconfig pkg-config --cflags --libs "
                    "tlsheap-mbedtls\n",
                    dir.c_str());
        std::printf("  CMake:      cmake -DCMAKE_PREFIX_PATH=%s ..., "
                    "find_package(tlsheap-mbedtls CONFIG), link tlsheap::mbedtls\n",
                    dir.c_str());
        std::printf("  record:     tlsheap record --trace my_app.trace -- ./my_app ARGS\n");
    } catch (const build::BuildError& e) {
        throw UserError(e.what(), kExitBadInput, e.details());
    }
    return kExitOk;
}

} // namespace

void add_build_command(CLI::App& app, int& exit_code) {
    auto o = std::make_shared<BuildOptions>();
    CLI::App* cmd = app.add_subcommand(
        "build", "Build mbedTLS as configured, as a package your own program links to be recorded "
                 "(tlsheap record)");
    cmd->add_option("--mbedtls", o->mbedtls,
                    "mbedTLS source: 3.6 or 2.28 (fetched by fetch-mbedtls.sh) or a directory")
        ->capture_default_str();
    cmd->add_option("--config", o->config, "config.h to build with (default: the tree's own)");
    cmd->add_option("--set", o->set, "NAME[=VALUE]: define a config macro (repeatable)");
    cmd->add_option("--unset", o->unset, "NAME: undefine a config macro (repeatable)");
    cmd->add_option("--abi", o->abi, "ABI to build for: host, ilp32 (-m32) or arm")
        ->capture_default_str();
    cmd->add_option("--stack-backend", o->stack_backend,
                    "how call stacks are captured: frame-pointer, libunwind or execinfo");
    cmd->add_option("--export", o->export_dir,
                    "directory to write the package into (include/, lib/, pkg-config, CMake)")
        ->required();
    jobs_option(
        cmd->add_option("-j,--jobs", o->jobs, "parallel compilations (default: all cores)"));
    cmd->add_flag("-q,--quiet", o->quiet, "no progress messages");
    cmd->callback([o, &exit_code] { exit_code = run_build(*o); });
}

} // namespace tlsheap::cli
