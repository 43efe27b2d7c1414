#include "variants/variant_builder.h"

#include "process/child_process.h"
#include "tlsheap_version.h"
#include "variants/build_error.h"
#include "variants/config_file.h"
#include "variants/content_hash.h"
#include "variants/file_lock.h"
#include "variants/object_cache.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <thread>

namespace tlsheap::build {

namespace fs = std::filesystem;

namespace {

// Every allocation, every entropy source and every clock reading of the
// library goes through the recorder (deterministic_entropy.cpp names the
// sources: those mbedtls_entropy_init adds in 2.28 and 3.6), and so does
// psa_crypto_init (psa_state.cpp).
constexpr char kRecorderWraps[] =
    "-Wl,--wrap=mbedtls_calloc,--wrap=mbedtls_free,--wrap=time,--wrap=psa_crypto_init"
    ",--wrap=mbedtls_platform_entropy_poll,--wrap=mbedtls_hardclock_poll"
    ",--wrap=mbedtls_havege_poll,--wrap=mbedtls_nv_seed_poll"
    ",--wrap=mbedtls_platform_std_nv_seed_read,--wrap=mbedtls_platform_std_nv_seed_write";

// A user's program linked with an exported variant (variant_package.cpp):
// its allocations as the recorder's, PSA's state as the shared part's, and
// the SSL calls that say which connection runs and in which phase
// (program_hooks.cpp). No entropy or clock: the program's are its own.
constexpr char kProgramWraps[] =
    "-Wl,--wrap=mbedtls_calloc,--wrap=mbedtls_free,--wrap=psa_crypto_init"
    ",--wrap=mbedtls_ssl_setup,--wrap=mbedtls_ssl_set_bio,--wrap=mbedtls_ssl_handshake"
    ",--wrap=mbedtls_ssl_handshake_step"
    ",--wrap=mbedtls_ssl_read,--wrap=mbedtls_ssl_write,--wrap=mbedtls_ssl_close_notify"
    ",--wrap=mbedtls_ssl_free,--wrap=mbedtls_ssl_config_free"
    ",--wrap=mbedtls_memory_buffer_alloc_init,--wrap=mbedtls_memory_buffer_alloc_free";

// The recorder's sources that a program's recording needs however its
// allocations are interposed (the stack capture backend and the variant's
// generated facts are added).
constexpr const char* kProgramRecordingSources[] = {
    "live_allocation_table.cpp", "module_map.cpp",         "painted_stack.cpp",
    "program_hooks.cpp",         "psa_state.cpp",          "recording.cpp",
    "ssl_buffer_sizes.c",        "stack_table.cpp",        "trace_writer.cpp",
    "transport_tap.cpp",         "variant_description.cpp"};
// A program linked with an export: mbedtls_calloc/free are wrapped.
constexpr const char* kWrappedAllocationSources[] = {"allocation_shim.cpp",
                                                     "failure_injection.cpp"};
// The preload shim: the program's own calloc/free calls are interposed
// instead of mbedtls_calloc/free.
constexpr const char* kPreloadAllocationSources[] = {kPreloadAllocationSource};
// Shared libraries built without frame pointers (Debian's) are walked with
// their unwind tables.
constexpr const char* kPreloadStackBackend = "stack_capture_execinfo.cpp";
constexpr const char* kPreloadShimName = "libtlsheap_preload.so";

constexpr const char* kCompleteMarker = ".complete";
constexpr const char* kRecorderName = "tlsheap-recorder";

// kProgramRecordingSources, the allocation interposer's and the stack
// backend, in `dir`, sorted.
template <std::size_t N>
std::vector<fs::path> program_recording_sources(const fs::path& dir,
                                                const char* const (&allocation)[N],
                                                const std::string& stack_backend) {
    std::vector<fs::path> sources;
    for (const char* name : kProgramRecordingSources) {
        sources.push_back(dir / name);
    }
    for (const char* name : allocation) {
        sources.push_back(dir / name);
    }
    sources.push_back(dir / stack_backend);
    std::sort(sources.begin(), sources.end());
    return sources;
}

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    if (!out) {
        throw BuildError("cannot write " + path.string());
    }
}

std::vector<std::string> include_flags(const MbedtlsTree& tree, bool as_system) {
    std::vector<std::string> flags;
    const std::string i = as_system ? "-isystem" : "-I";
    flags.push_back(i + tree.include_dir().string());
    flags.push_back(i + tree.library_dir().string());
    // 3.x's optional third-party drivers (Everest, p256-m) need their headers
    // when the config enables them; their sources guard themselves otherwise.
    for (const char* dir :
         {"3rdparty/everest/include", "3rdparty/everest/include/everest",
          "3rdparty/everest/include/everest/kremlib", "3rdparty/p256-m/p256-m/include",
          "3rdparty/p256-m/p256-m/include/p256-m", "3rdparty/p256-m/p256-m_driver_interface"}) {
        if (fs::exists(tree.root / dir)) {
            flags.push_back(i + (tree.root / dir).string());
        }
    }
    return flags;
}

std::vector<fs::path> third_party_sources(const MbedtlsTree& tree) {
    std::vector<fs::path> sources;
    for (const char* file :
         {"3rdparty/everest/library/everest.c", "3rdparty/everest/library/x25519.c",
          "3rdparty/everest/library/Hacl_Curve25519_joined.c",
          "3rdparty/p256-m/p256-m_driver_entrypoints.c", "3rdparty/p256-m/p256-m/p256-m.c"}) {
        if (fs::exists(tree.root / file)) {
            sources.push_back(tree.root / file);
        }
    }
    return sources;
}

std::string c_string_literal(const std::string& s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            out += fmt::format("\\{:03o}", static_cast<unsigned char>(c));
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto end = text.find('\n', start);
        lines.push_back(
            text.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos) {
            break;
        }
        start = end + 1;
    }
    return lines;
}

// Compiler messages name the cached effective_config.h; where the line is the
// user's own, unchanged, name the user's file and line instead.
std::string point_at_user_config(const std::string& output, const PreparedVariant& p) {
    const std::string effective = (p.library_dir / "effective_config.h").string() + ":";
    const auto base_lines = lines_of(p.base_text);
    const auto effective_lines = lines_of(p.effective_text);
    std::string out;
    std::size_t pos = 0;
    while (true) {
        const auto hit = output.find(effective, pos);
        if (hit == std::string::npos) {
            out += output.substr(pos);
            return out;
        }
        out += output.substr(pos, hit - pos);
        std::size_t digits = hit + effective.size();
        std::size_t n = 0;
        while (digits < output.size() && std::isdigit(static_cast<unsigned char>(output[digits]))) {
            n = n * 10 + static_cast<std::size_t>(output[digits] - '0');
            ++digits;
        }
        if (n >= 1 && n <= base_lines.size() && n <= effective_lines.size() &&
            base_lines[n - 1] == effective_lines[n - 1]) {
            out += p.base_config.string() + ":" + std::to_string(n);
        } else {
            out += output.substr(hit, digits - hit);
        }
        pos = digits;
    }
}

// Code generation flags shared by the library and the recorder (so both are
// in every cache key): optimisation, debug info for symbolization, whatever
// the stack backend needs, and the caller's extras (sanitizers).
std::vector<std::string> library_flags(const PreparedVariant& p) {
    return code_generation_flags(p.toolchain, p.spec.extra_flags);
}

// The flags for mbedTLS's own sources. AddressSanitizer on i386 takes a
// register that bn_mul.h's MULADDC assembly needs ("'asm' operand has
// impossible constraints"), so there mbedTLS gets the other sanitizers only;
// the recorder, our code, keeps them all.
std::vector<std::string> mbedtls_source_flags(const PreparedVariant& p) {
    std::vector<std::string> flags = library_flags(p);
    if (p.toolchain.abi != "ilp32") {
        return flags;
    }
    const std::string prefix = "-fsanitize=";
    std::vector<std::string> out;
    for (const std::string& flag : flags) {
        if (flag.rfind(prefix, 0) != 0) {
            out.push_back(flag);
            continue;
        }
        std::string kept;
        std::istringstream list(flag.substr(prefix.size()));
        for (std::string name; std::getline(list, name, ',');) {
            if (name != "address") {
                kept += (kept.empty() ? "" : ",") + name;
            }
        }
        if (!kept.empty()) {
            out.push_back(prefix + kept);
        }
    }
    return out;
}

std::string object_name(const fs::path& source) {
    // Sources from different folders may share a file name.
    const std::string parent = source.parent_path().filename().string();
    return parent + "__" + source.stem().string() + ".o";
}

} // namespace

std::vector<std::string> program_link_options() {
    return {"-Wl,--undefined=tlsheap_program_hooks", kProgramWraps};
}

std::vector<ConfigDelta> recorder_overlay(bool real_pool) {
    std::vector<ConfigDelta> overlay = {
        ConfigDelta::parse_set("MBEDTLS_PLATFORM_C"),
        ConfigDelta::parse_set("MBEDTLS_PLATFORM_MEMORY"),
        ConfigDelta::parse_unset("MBEDTLS_PLATFORM_CALLOC_MACRO"),
        ConfigDelta::parse_unset("MBEDTLS_PLATFORM_FREE_MACRO"),
        ConfigDelta::parse_unset("MBEDTLS_PLATFORM_STD_CALLOC"),
        ConfigDelta::parse_unset("MBEDTLS_PLATFORM_STD_FREE"),
    };
    if (real_pool) {
        overlay.push_back(ConfigDelta::parse_set("MBEDTLS_MEMORY_BUFFER_ALLOC_C"));
        overlay.push_back(ConfigDelta::parse_set("MBEDTLS_MEMORY_DEBUG"));
    }
    return overlay;
}

std::vector<std::string> code_generation_flags(const Toolchain& toolchain,
                                               const std::vector<std::string>& extra_flags) {
    std::vector<std::string> flags = {"-O2", "-g", "-D_FILE_OFFSET_BITS=64"};
    flags.insert(flags.end(), toolchain.codegen_flags.begin(), toolchain.codegen_flags.end());
    flags.insert(flags.end(), extra_flags.begin(), extra_flags.end());
    return flags;
}

std::string effective_config_text(const std::string& base_text, const fs::path& base_path,
                                  const std::vector<ConfigDelta>& deltas,
                                  const std::vector<ConfigDelta>& overlay) {
    std::vector<ConfigDelta> all = deltas;
    all.insert(all.end(), overlay.begin(), overlay.end());
    // tlsheap's note goes last so that every line of the user's config keeps
    // its number: compiler errors can then point at the user's own file. It
    // names the base by file name only: the text is part of the build's key,
    // and the same config in another checkout or cache is the same build.
    std::string note = "\n/* Effective configuration built by tlsheap.\n * Base: " +
                       base_path.filename().string() + "\n * Deltas:";
    for (const ConfigDelta& d : deltas) {
        note += " " + d.to_string();
    }
    note += deltas.empty() ? " (none)\n * Recorder overlay:" : "\n * Recorder overlay:";
    for (const ConfigDelta& d : overlay) {
        note += " " + d.to_string();
    }
    return apply_config_deltas(base_text, all) + note + "\n */\n";
}

std::string library_cache_key(const LibraryKeyInputs& in) {
    ContentHash key;
    key.add("tlsheap-library-v2")
        .add(in.tree_identity)
        .add(in.effective_config)
        .add(in.compiler_identity)
        .add(in.abi);
    for (const std::string& f : in.flags) {
        key.add(f);
    }
    return key.hex();
}

VariantBuilder::VariantBuilder(fs::path cache_dir, RecorderSources recorder, unsigned jobs,
                               Progress progress)
    : cache_dir_(std::move(cache_dir)), recorder_(std::move(recorder)), jobs_(std::max(1u, jobs)),
      progress_(std::move(progress)) {}

PreparedVariant VariantBuilder::prepare(const VariantSpec& spec) const {
    PreparedVariant p;
    p.spec = spec;
    p.toolchain = toolchain_for(spec.abi, spec.stack_backend);
    if (!p.toolchain.runner.empty()) {
        // Sanitizers run natively only: under qemu-user their runtime cannot
        // work (LeakSanitizer needs ptrace, which qemu-user does not provide).
        p.spec.extra_flags.clear();
    }
    const fs::path base = spec.config_file.empty() ? spec.tree.default_config : spec.config_file;
    check_config_file(base);
    p.config_label = spec.config_file.empty() ? "(default " + base.filename().string() + ")"
                                              : fs::absolute(base).string();
    for (const ConfigDelta& d : spec.deltas) {
        p.config_label += " " + d.to_string();
    }
    p.overlay = spec.shared_library ? std::vector<ConfigDelta>{} : recorder_overlay(spec.real_pool);
    const std::string base_text = read_text_file(base);
    p.effective_text = effective_config_text(base_text, fs::absolute(base), spec.deltas, p.overlay);
    p.base_config = fs::absolute(base);
    p.base_text = base_text;

    p.library_key = library_cache_key({spec.tree.identity, p.effective_text,
                                       compiler_identity(p.toolchain), spec.abi, library_flags(p)});
    p.library_dir = cache_dir_ / "builds" / ("lib-" + p.library_key.substr(0, 20));

    // The effective config lives in the cache under its key; the macros the
    // preprocessor sees are cached beside it.
    fs::create_directories(p.library_dir);
    const fs::path config = p.library_dir / "effective_config.h";
    const fs::path macros = p.library_dir / "macros.txt";
    if (!fs::exists(macros)) {
        const FileLock lock = wait_for_lock(p.library_dir.string() + ".lock");
        if (!fs::exists(macros)) {
            write_file(config, p.effective_text);
            const MacroSet set = preprocess_config(spec.tree, p.toolchain, config, p.config_label);
            write_file(macros.string() + ".tmp", set.serialize());
            fs::rename(macros.string() + ".tmp", macros);
        }
    }
    p.macros = MacroSet::deserialize(read_text_file(macros));
    return p;
}

void VariantBuilder::compile_all(
    const std::vector<std::vector<std::string>>& commands, const std::vector<fs::path>& sources,
    const fs::path& log_dir, const std::string& what, const std::string& config_label,
    const std::function<std::string(const std::string&)>& point_at_user_config) const {
    struct Running {
        std::unique_ptr<process::ChildProcess> child;
        std::size_t index;
    };
    std::vector<Running> running;
    std::size_t next = 0;
    std::size_t done = 0;
    std::optional<std::size_t> failed;
    const auto started = std::chrono::steady_clock::now();
    auto last_report = started;
    while ((next < commands.size() && !failed) || !running.empty()) {
        while (!failed && next < commands.size() && running.size() < jobs_) {
            process::LaunchOptions options;
            options.argv = commands[next];
            options.stdout_file = (log_dir / (std::to_string(next) + ".out")).string();
            options.stderr_file = (log_dir / (std::to_string(next) + ".err")).string();
            running.push_back({std::make_unique<process::ChildProcess>(options), next});
            ++next;
        }
        bool progressed = false;
        for (auto it = running.begin(); it != running.end();) {
            const auto status = it->child->poll_exit();
            if (!status) {
                ++it;
                continue;
            }
            progressed = true;
            ++done;
            if (*status != 0 && !failed) {
                failed = it->index;
            }
            it = running.erase(it);
        }
        if (!progressed) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        const auto now = std::chrono::steady_clock::now();
        if (now - last_report > std::chrono::seconds(5) && progress_) {
            progress_(fmt::format("  {}: {}/{} files", what, done, commands.size()));
            last_report = now;
        }
    }
    if (failed) {
        const std::string output = read_text_file(log_dir / (std::to_string(*failed) + ".err"));
        const std::string errors = first_compiler_errors(point_at_user_config(output));
        const std::string first = errors.substr(0, errors.find('\n'));
        const std::string rest = errors.find('\n') == std::string::npos
                                     ? std::string()
                                     : errors.substr(errors.find('\n') + 1);
        const std::string file = sources[*failed].filename().string();
        if (what == "recorder") {
            throw BuildError("the tlsheap recorder does not build with config " + config_label +
                                 " (" + file + "; please report this): " + first,
                             rest);
        }
        throw BuildError("config " + config_label + " does not compile (" + file + "): " + first,
                         rest);
    }
}

VariantBuilder::Compiled
VariantBuilder::compile_cached(const std::vector<std::vector<std::string>>& commands,
                               const std::vector<fs::path>& sources, const fs::path& log_dir,
                               const std::string& what, const PreparedVariant& p) const {
    const auto pointed = [&](const std::string& out) { return point_at_user_config(out, p); };
    // Each command ends "-c SOURCE -o OBJECT"; its preprocessing is the same
    // command with -E, into the log directory.
    std::vector<std::vector<std::string>> preprocess;
    for (std::size_t i = 0; i < commands.size(); ++i) {
        std::vector<std::string> argv = commands[i];
        argv[argv.size() - 4] = "-E";
        argv.back() = (log_dir / (std::to_string(i) + ".i")).string();
        preprocess.push_back(std::move(argv));
    }
    compile_all(preprocess, sources, log_dir, what, p.config_label, pointed);

    const ObjectCache cache(cache_dir_ / "objects");
    const std::string compiler = compiler_identity(p.toolchain);
    const std::string config_dir = p.library_dir.string();
    std::vector<std::string> keys;
    std::vector<std::vector<std::string>> missing;
    std::vector<fs::path> missing_sources;
    std::vector<fs::path> missing_objects;
    Compiled compiled;
    for (std::size_t i = 0; i < commands.size(); ++i) {
        const fs::path preprocessed = preprocess[i].back();
        const std::vector<std::string> command(commands[i].begin(), commands[i].end() - 2);
        const fs::path object = commands[i].back();
        const std::string key =
            ObjectCache::key(compiler, command, read_text_file(preprocessed), config_dir);
        fs::remove(preprocessed);
        if (cache.fetch(key, object)) {
            ++compiled.reused;
            continue;
        }
        // The compiler truncates its output: never into a link to the cache.
        fs::remove(object);
        keys.push_back(key);
        missing.push_back(commands[i]);
        missing_sources.push_back(sources[i]);
        missing_objects.push_back(object);
    }
    if (progress_ && compiled.reused > 0) {
        progress_(fmt::format("  {}: {} of {} objects from the object cache, compiling {}", what,
                              compiled.reused, commands.size(), missing.size()));
    }
    compile_all(missing, missing_sources, log_dir, what, p.config_label, pointed);
    for (std::size_t i = 0; i < missing.size(); ++i) {
        cache.store(keys[i], missing_objects[i]);
        compiled.sources.push_back(missing_sources[i].filename().string());
    }
    return compiled;
}

FileLock VariantBuilder::wait_for_lock(const fs::path& path) const {
    // Another tlsheap building the same variant takes a minute or two; one
    // that was suspended (a stopped shell job) would block every later run
    // for ever: wait, say for whom after 2 s, give up after twenty minutes.
    try {
        FileLock lock = FileLock::wait_for(path, lock_wait_bound(std::chrono::minutes(20)),
                                           std::chrono::seconds(2), progress_);
        lock.record_holder();
        return lock;
    } catch (const BuildError& e) {
        throw BuildError(std::string(e.what()) + " (TLSHEAP_LOCK_TIMEOUT sets the wait)");
    }
}

VariantBuilder::Compiled VariantBuilder::build_library(const PreparedVariant& p) const {
    const fs::path marker = p.library_dir / kCompleteMarker;
    if (fs::exists(marker)) {
        return {};
    }
    const FileLock lock = wait_for_lock(p.library_dir.string() + ".lock");
    if (fs::exists(marker)) {
        return {}; // another tlsheap built it while we waited
    }
    const fs::path config = p.library_dir / "effective_config.h";
    write_file(config, p.effective_text);
    const fs::path obj = p.library_dir / "obj";
    fs::remove_all(obj);
    fs::create_directories(obj);
    std::vector<fs::path> sources = p.spec.tree.library_sources();
    const auto extra = third_party_sources(p.spec.tree);
    sources.insert(sources.end(), extra.begin(), extra.end());
    std::vector<std::vector<std::string>> commands;
    for (const fs::path& source : sources) {
        std::vector<std::string> argv = {p.toolchain.cc};
        argv.insert(argv.end(), p.toolchain.arch_flags.begin(), p.toolchain.arch_flags.end());
        const auto flags = mbedtls_source_flags(p);
        argv.insert(argv.end(), flags.begin(), flags.end());
        const auto includes = include_flags(p.spec.tree, false);
        argv.insert(argv.end(), includes.begin(), includes.end());
        argv.push_back("-DMBEDTLS_CONFIG_FILE=\"" + config.string() + "\"");
        argv.insert(argv.end(),
                    {"-c", source.string(), "-o", (obj / object_name(source)).string()});
        commands.push_back(std::move(argv));
    }
    if (progress_) {
        progress_(fmt::format("building mbedTLS {} ({}, {} files, {} jobs) into {}",
                              p.spec.tree.version, p.spec.abi, sources.size(), jobs_,
                              p.library_dir.string()));
    }
    const Compiled compiled = compile_cached(commands, sources, obj, "mbedTLS", p);
    write_file(marker, p.library_key + "\n");
    return compiled;
}

std::vector<std::string> VariantBuilder::recorder_compile_command(const PreparedVariant& p,
                                                                  const fs::path& source,
                                                                  const fs::path& object) const {
    const bool c = source.extension() == ".c";
    std::vector<std::string> argv = {c ? p.toolchain.cc : p.toolchain.cxx};
    argv.insert(argv.end(), p.toolchain.arch_flags.begin(), p.toolchain.arch_flags.end());
    const auto flags = library_flags(p);
    argv.insert(argv.end(), flags.begin(), flags.end());
    if (c) {
        // Reads the library's internal headers: third-party code, no -Werror.
        const auto includes = include_flags(p.spec.tree, false);
        argv.insert(argv.end(), includes.begin(), includes.end());
    } else {
        argv.insert(argv.end(), {"-std=c++20", "-Wall", "-Wextra", "-I" + recorder_.dir.string(),
                                 "-I" + recorder_.include_dir.string()});
        if (recorder_.warnings_as_errors) {
            argv.push_back("-Werror");
        }
        const auto includes = include_flags(p.spec.tree, true);
        argv.insert(argv.end(), includes.begin(), includes.end());
    }
    argv.push_back("-DMBEDTLS_CONFIG_FILE=\"" + (p.library_dir / "effective_config.h").string() +
                   "\"");
    argv.insert(argv.end(), {"-c", source.string(), "-o", object.string()});
    return argv;
}

std::vector<fs::path> VariantBuilder::recorder_sources(const Toolchain& toolchain) const {
    std::vector<fs::path> sources;
    for (const auto& entry : fs::directory_iterator(recorder_.dir)) {
        const fs::path& path = entry.path();
        const std::string name = path.filename().string();
        const bool code = path.extension() == ".cpp" || path.extension() == ".c";
        // One stack-capture backend per ABI, chosen here rather than by #ifdef.
        const bool other_backend =
            name.rfind("stack_capture_", 0) == 0 && name != toolchain.stack_backend_source;
        if (code && !other_backend && name != kProgramHooksSource &&
            name != kPreloadAllocationSource) {
            sources.push_back(path);
        }
    }
    std::sort(sources.begin(), sources.end());
    return sources;
}

std::string VariantBuilder::recorder_key(const PreparedVariant& p,
                                         const std::string& variant_info) const {
    return compiled_sources_key("tlsheap-recorder-v1", kRecorderWraps, p, variant_info,
                                recorder_sources(p.toolchain));
}

std::string VariantBuilder::compiled_sources_key(const char* kind, const char* wraps,
                                                 const PreparedVariant& p,
                                                 const std::string& variant_info,
                                                 std::vector<fs::path> files) const {
    ContentHash key;
    key.add(kind).add(wraps).add(p.library_key).add(variant_info).add(p.toolchain.stack_backend);
    if (recorder_.warnings_as_errors) {
        // Same binary, but only this build proves the sources warning-free.
        key.add("-Werror");
    }
    for (const auto& entry : fs::directory_iterator(recorder_.dir)) {
        if (entry.path().extension() == ".h") {
            files.push_back(entry.path());
        }
    }
    for (const char* header : kRecorderSharedHeaders) {
        files.push_back(recorder_.include_dir / "tlsheap" / header);
    }
    // By name, not path: a checkout and an installation (src/recorder,
    // share/tlsheap/recorder) give the same key for the same files.
    std::sort(files.begin(), files.end(),
              [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
    for (const fs::path& f : files) {
        key.add_file(f, f.filename().string());
    }
    return key.hex();
}

std::vector<fs::path> VariantBuilder::program_shim_sources(const Toolchain& toolchain) const {
    return program_recording_sources(recorder_.dir, kWrappedAllocationSources,
                                     toolchain.stack_backend_source);
}

ProgramShim VariantBuilder::build_program_shim(const PreparedVariant& p) const {
    build_library(p);
    const std::string info = generate_variant_info(p, kTlsheapVersion);
    ProgramShim shim;
    const std::vector<fs::path> sources = program_shim_sources(p.toolchain);
    const std::string key =
        compiled_sources_key("tlsheap-program-shim-v1", kProgramWraps, p, info, sources);
    shim.dir = cache_dir_ / "builds" / ("shim-" + key.substr(0, 20));
    std::vector<fs::path> all = sources;
    all.push_back(shim.dir / "variant_info.cpp");
    for (const fs::path& source : all) {
        shim.objects.push_back(shim.dir / (source.stem().string() + ".o"));
    }
    if (fs::exists(shim.dir / kCompleteMarker)) {
        return shim;
    }
    fs::create_directories(shim.dir);
    const FileLock lock = wait_for_lock(shim.dir.string() + ".lock");
    if (fs::exists(shim.dir / kCompleteMarker)) {
        return shim;
    }
    write_file(shim.dir / "variant_info.cpp", info);
    std::vector<std::vector<std::string>> commands;
    for (std::size_t i = 0; i < all.size(); ++i) {
        commands.push_back(recorder_compile_command(p, all[i], shim.objects[i]));
    }
    if (progress_) {
        progress_(
            fmt::format("building the recording library for this variant ({} files)", all.size()));
    }
    compile_cached(commands, all, shim.dir, "recorder", p);
    write_file(shim.dir / kCompleteMarker, key + "\n");
    return shim;
}

fs::path VariantBuilder::build_preload_shim(const PreparedVariant& p) const {
    const std::string info = generate_variant_info(p, kTlsheapVersion);
    std::vector<fs::path> sources =
        program_recording_sources(recorder_.dir, kPreloadAllocationSources, kPreloadStackBackend);
    const std::string key = compiled_sources_key("tlsheap-preload-shim-v1", "", p, info, sources);
    const fs::path dir = cache_dir_ / "builds" / ("preload-" + key.substr(0, 20));
    const fs::path shim = dir / kPreloadShimName;
    if (fs::exists(dir / kCompleteMarker)) {
        return shim;
    }
    fs::create_directories(dir);
    const FileLock lock = wait_for_lock(dir.string() + ".lock");
    if (fs::exists(dir / kCompleteMarker)) {
        return shim;
    }
    write_file(dir / "variant_info.cpp", info);
    sources.push_back(dir / "variant_info.cpp");
    std::vector<std::vector<std::string>> commands;
    std::vector<std::string> objects;
    for (const fs::path& source : sources) {
        objects.push_back((dir / (source.stem().string() + ".o")).string());
        std::vector<std::string> argv = recorder_compile_command(p, source, objects.back());
        argv.insert(argv.end() - 4, {"-fPIC", "-DTLSHEAP_PRELOAD"});
        commands.push_back(std::move(argv));
    }
    if (progress_) {
        progress_(fmt::format("building the preload shim for mbedTLS {} ({} files)",
                              p.spec.tree.version, sources.size()));
    }
    compile_cached(commands, sources, dir, "preload shim", p);
    std::vector<std::string> link = {p.toolchain.cxx, "-shared", "-o", (dir / "shim.tmp").string()};
    link.insert(link.end(), objects.begin(), objects.end());
    link.insert(link.end(), {"-ldl", "-lpthread"});
    const auto r = process::run_command(link, std::chrono::minutes(5));
    if (r.status != 0) {
        throw BuildError("linking the preload shim failed: " + first_compiler_errors(r.err));
    }
    fs::rename(dir / "shim.tmp", shim);
    write_file(dir / kCompleteMarker, key + "\n");
    return shim;
}

VariantBuilder::Compiled VariantBuilder::build_recorder(const PreparedVariant& p,
                                                        const std::string& key,
                                                        const fs::path& dir) const {
    if (fs::exists(dir / kCompleteMarker)) {
        return {};
    }
    fs::create_directories(dir);
    const FileLock lock = wait_for_lock(dir.string() + ".lock");
    if (fs::exists(dir / kCompleteMarker)) {
        return {};
    }
    const std::string info = generate_variant_info(p, kTlsheapVersion);
    write_file(dir / "variant_info.cpp", info);
    std::vector<fs::path> sources = recorder_sources(p.toolchain);
    sources.push_back(dir / "variant_info.cpp");
    std::vector<std::vector<std::string>> commands;
    std::vector<std::string> objects;
    for (const fs::path& source : sources) {
        objects.push_back((dir / (source.stem().string() + ".o")).string());
        commands.push_back(recorder_compile_command(p, source, objects.back()));
    }
    if (progress_) {
        progress_(fmt::format("building the recorder for this variant ({} files)", sources.size()));
    }
    const Compiled compiled = compile_cached(commands, sources, dir, "recorder", p);

    std::vector<std::string> link = {p.toolchain.cxx};
    link.insert(link.end(), p.toolchain.arch_flags.begin(), p.toolchain.arch_flags.end());
    link.insert(link.end(), p.spec.extra_flags.begin(), p.spec.extra_flags.end());
    // Link order fixed, so that the same inputs give the same binary.
    std::vector<std::string> library_objects;
    link.insert(link.end(), {"-o", (dir / (std::string(kRecorderName) + ".tmp")).string()});
    link.insert(link.end(), objects.begin(), objects.end());
    for (const auto& entry : fs::directory_iterator(p.library_dir / "obj")) {
        if (entry.path().extension() == ".o") {
            library_objects.push_back(entry.path().string());
        }
    }
    std::sort(library_objects.begin(), library_objects.end());
    link.insert(link.end(), library_objects.begin(), library_objects.end());
    link.push_back(kRecorderWraps);
    link.insert(link.end(), p.toolchain.link_libraries.begin(), p.toolchain.link_libraries.end());
    const auto r = process::run_command(link, std::chrono::minutes(5));
    if (r.status != 0) {
        const std::string errors = first_compiler_errors(r.err);
        throw BuildError("linking the recorder for config " + p.config_label +
                             " failed: " + errors.substr(0, errors.find('\n')),
                         errors);
    }
    fs::rename(dir / (std::string(kRecorderName) + ".tmp"), dir / kRecorderName);
    write_file(dir / kCompleteMarker, key + "\n");
    return compiled;
}

VariantBuild VariantBuilder::build(const PreparedVariant& prepared) const {
    const auto started = std::chrono::steady_clock::now();
    VariantBuild b;
    b.prepared = prepared;
    const Compiled library = build_library(prepared);
    const std::string info = generate_variant_info(prepared, kTlsheapVersion);
    b.recorder_key = recorder_key(prepared, info);
    const fs::path dir = cache_dir_ / "builds" / ("rec-" + b.recorder_key.substr(0, 20));
    const Compiled recorder = build_recorder(prepared, b.recorder_key, dir);
    b.compiled_sources = library.sources;
    b.compiled_sources.insert(b.compiled_sources.end(), recorder.sources.begin(),
                              recorder.sources.end());
    b.compiled_files = b.compiled_sources.size();
    b.reused_objects = library.reused + recorder.reused;
    b.recorder = dir / kRecorderName;
    b.effective_config = prepared.library_dir / "effective_config.h";
    b.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return b;
}

std::string generate_variant_info(const PreparedVariant& p, const std::string& tlsheap_version) {
    std::string s = "// Generated by tlsheap for one variant; see variant_info.h.\n";
    s += "#include \"variant_info.h\"\n#include \"mbedtls_compat.h\"\n#include <mbedtls/ssl.h>\n\n";
    s += "namespace tlsheap::recorder {\n\nconst ConfigMacro kEffectiveConfig[] = {\n";
    for (const auto& [name, value] : p.macros.all()) {
        s += "    {" + c_string_literal(name) + ", " + c_string_literal(value) + "},\n";
    }
    if (p.macros.all().empty()) {
        s += "    {\"\", \"\"},\n";
    }
    s += "};\nconst unsigned kEffectiveConfigCount = " + std::to_string(p.macros.all().size()) +
         ";\n\nconst StateName kStateNames[] = {\n";
    for (const std::string& e : p.spec.tree.state_enumerators) {
        s += "    {" + e + ", " + c_string_literal(e.substr(std::string("MBEDTLS_SSL_").size())) +
             "},\n";
    }
    s += "};\nconst unsigned kStateNameCount = " +
         std::to_string(p.spec.tree.state_enumerators.size()) + ";\n\n";
    s += "const char* const kVariantAbi = " + c_string_literal(p.spec.abi) + ";\n";
    s += "const char* const kVariantKey = " + c_string_literal(p.library_key) + ";\n";
    s += "const char* const kTlsheapVersion = " + c_string_literal(tlsheap_version) + ";\n\n";
    s += "} // namespace tlsheap::recorder\n";
    return s;
}

} // namespace tlsheap::build
