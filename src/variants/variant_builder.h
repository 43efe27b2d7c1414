// Builds a variant: an mbedTLS tree compiled with one effective config, linked
// with the recorder. Builds go into a content-addressed cache under
// <cache>/builds: the mbedTLS objects under a key of (tree contents,
// effective config, compiler, ABI, flags), the recorder under a key that adds
// the recorder's own sources. The same inputs never compile twice, and
// concurrent tlsheap processes share one build through a lock file.
#pragma once

#include "variants/config_editor.h"
#include "variants/effective_config.h"
#include "variants/file_lock.h"
#include "variants/mbedtls_tree.h"
#include "variants/toolchain.h"

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace tlsheap::build {

// Where the recorder's sources are: src/recorder and include/ of a checkout,
// or recorder/ and include/ under share/tlsheap of an installation.
struct RecorderSources {
    std::filesystem::path dir;         // its .cpp, .c and .h files
    std::filesystem::path include_dir; // holds tlsheap/<each of kRecorderSharedHeaders>
    // -Werror on the recorder's C++: our CI's choice (TLSHEAP_STRICT_RECORDER=1).
    // Users' compilers may be newer than ours, with warnings we have not seen.
    bool warnings_as_errors = false;
};

// The headers of include/tlsheap that the recorder includes: the trace's wire
// format and the facts it shares with the host. Part of the recorder's key,
// and what an installation ships next to the recorder's sources.
inline constexpr const char* kRecorderSharedHeaders[] = {"connection_lifecycle.h",
                                                         "recorder_protocol.h", "tls_wire.h",
                                                         "trace_format.h", "trace_meta.h"};

// The recorder's sources that only a user's program links: the hooks of its
// SSL calls, and the calloc/free of the preload shim. The recorder executable
// leaves them out.
inline constexpr char kProgramHooksSource[] = "program_hooks.cpp";
inline constexpr char kPreloadAllocationSource[] = "preload_allocation_shim.cpp";
// The link options a program needs to be recorded: the wraps, and the hooks'
// object linked whatever the program calls.
std::vector<std::string> program_link_options();

struct VariantSpec {
    MbedtlsTree tree;
    std::filesystem::path config_file; // empty: the tree's default config
    std::vector<ConfigDelta> deltas;   // the user's --set/--unset, in order
    // Run on mbedTLS's own memory_buffer_alloc (adds MBEDTLS_MEMORY_BUFFER_ALLOC_C
    // and MBEDTLS_MEMORY_DEBUG), to compare the replay models with the real pool.
    bool real_pool = false;
    // Describes mbedTLS as the program's own shared libraries were built (the
    // preload shim of `tlsheap record`): tlsheap adds nothing to the config.
    bool shared_library = false;
    std::string abi = "host";
    std::string stack_backend; // "": the ABI's default
    // Extra compiler flags for library and recorder (sanitizer builds).
    std::vector<std::string> extra_flags;
};

// A variant whose effective config is known but which may not be built yet:
// enough to check a scenario's requirements before compiling anything.
struct PreparedVariant {
    VariantSpec spec;
    Toolchain toolchain;
    std::string config_label;          // the user's config path and deltas, for messages
    std::string effective_text;        // config.h as built
    std::filesystem::path base_config; // the user's (or the tree's) config file
    std::string base_text;
    std::vector<ConfigDelta> overlay; // what tlsheap added for the recorder
    MacroSet macros;
    std::string library_key;
    std::filesystem::path library_dir;
};

struct VariantBuild {
    PreparedVariant prepared;
    std::string recorder_key;
    std::filesystem::path recorder;         // the executable
    std::filesystem::path effective_config; // the config.h file it was built with
    std::size_t compiled_files = 0;         // 0 when everything came from the cache
    // Objects of a new build taken from the object cache (another variant
    // compiled the same preprocessed source with the same command).
    std::size_t reused_objects = 0;
    // The sources compiled for this build, by file name (library, then recorder).
    std::vector<std::string> compiled_sources;
    double seconds = 0;
};

// The recording library of a variant, compiled: what a user's program links
// to be recorded (variant_package.h packs it).
struct ProgramShim {
    std::filesystem::path dir;
    std::vector<std::filesystem::path> objects;
};

class VariantBuilder {
  public:
    using Progress = std::function<void(const std::string&)>;

    VariantBuilder(std::filesystem::path cache_dir, RecorderSources recorder, unsigned jobs,
                   Progress progress);

    // Throws BuildError.
    PreparedVariant prepare(const VariantSpec& spec) const;
    VariantBuild build(const PreparedVariant& prepared) const;
    // The mbedTLS objects and the recording library, for `build --export`.
    ProgramShim build_program_shim(const PreparedVariant& prepared) const;
    // The preload shim (a shared object) for a program that loads mbedTLS as
    // shared libraries built as `prepared` describes; nothing of mbedTLS is
    // compiled. Returns its path.
    std::filesystem::path build_preload_shim(const PreparedVariant& prepared) const;

  private:
    // The lock on a variant directory another tlsheap may be building.
    FileLock wait_for_lock(const std::filesystem::path& path) const;
    // What a build step compiled and what it took from the object cache.
    struct Compiled {
        std::vector<std::string> sources; // file names
        std::size_t reused = 0;
    };
    Compiled build_library(const PreparedVariant& p) const;
    Compiled build_recorder(const PreparedVariant& p, const std::string& key,
                            const std::filesystem::path& dir) const;
    std::string recorder_key(const PreparedVariant& p, const std::string& variant_info) const;
    std::vector<std::filesystem::path> recorder_sources(const Toolchain& toolchain) const;
    std::vector<std::filesystem::path> program_shim_sources(const Toolchain& toolchain) const;
    std::vector<std::string> recorder_compile_command(const PreparedVariant& p,
                                                      const std::filesystem::path& source,
                                                      const std::filesystem::path& object) const;
    // Everything that changes objects compiled from the recorder's sources.
    std::string compiled_sources_key(const char* kind, const char* wraps, const PreparedVariant& p,
                                     const std::string& variant_info,
                                     std::vector<std::filesystem::path> files) const;
    // compile_all through the object cache: every source is preprocessed,
    // those whose object is cached are linked in, the rest compiled and kept.
    Compiled compile_cached(const std::vector<std::vector<std::string>>& commands,
                            const std::vector<std::filesystem::path>& sources,
                            const std::filesystem::path& log_dir, const std::string& what,
                            const PreparedVariant& p) const;
    void
    compile_all(const std::vector<std::vector<std::string>>& commands,
                const std::vector<std::filesystem::path>& sources,
                const std::filesystem::path& log_dir, const std::string& what,
                const std::string& config_label,
                const std::function<std::string(const std::string&)>& point_at_user_config) const;

    std::filesystem::path cache_dir_;
    RecorderSources recorder_;
    unsigned jobs_;
    Progress progress_;
};

// The cache key of a variant's mbedTLS objects and the pure steps that feed
// it (VariantBuilder::prepare adds the tree, the compiler and the files).

// What tlsheap adds to every config: the platform layer's calloc/free as
// functions the recorder can wrap (user configs that route them through
// macros get those removed), and with `real_pool` mbedTLS's own pool.
std::vector<ConfigDelta> recorder_overlay(bool real_pool);

// Optimisation, debug info, the toolchain's code generation flags (what the
// stack backend needs) and the caller's extras, in command-line order.
std::vector<std::string> code_generation_flags(const Toolchain& toolchain,
                                               const std::vector<std::string>& extra_flags);

// config.h as built: `base_text` with the deltas, then the overlay, applied,
// and a closing note naming `base_path`, the deltas (in the order given) and
// the overlay. The note goes last so every line of the user's config keeps
// its number.
std::string effective_config_text(const std::string& base_text,
                                  const std::filesystem::path& base_path,
                                  const std::vector<ConfigDelta>& deltas,
                                  const std::vector<ConfigDelta>& overlay);

// Everything that can change a variant's mbedTLS objects.
struct LibraryKeyInputs {
    std::string tree_identity;     // MbedtlsTree::identity
    std::string effective_config;  // effective_config_text()
    std::string compiler_identity; // compiler_identity()
    std::string abi;
    std::vector<std::string> flags; // code_generation_flags()
};

// 32 hex digits; a change here rebuilds every cached variant.
std::string library_cache_key(const LibraryKeyInputs& inputs);

// Source of the recorder's per-variant facts (variant_info.h).
std::string generate_variant_info(const PreparedVariant& p, const std::string& tlsheap_version);

} // namespace tlsheap::build
