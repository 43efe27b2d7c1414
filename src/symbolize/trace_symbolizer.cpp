#include "symbolize/trace_symbolizer.h"

#include "symbolize/dwarf_symbolizer.h"
#include "symbolize/module_symbols_file.h"
#include "tlsheap/trace_encoder.h"
#include "tlsheap/trace_reader.h"
#include "variants/content_hash.h"

#include <algorithm>
#include <chrono>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unistd.h>

namespace tlsheap::symbolize {

namespace fs = std::filesystem;

namespace {

// A file removed when it goes out of scope unless released: a failure on
// any path leaves no temporary behind.
class TemporaryFile {
  public:
    explicit TemporaryFile(fs::path path) : path_(std::move(path)) {}
    ~TemporaryFile() {
        if (!path_.empty()) {
            std::error_code ec;
            fs::remove(path_, ec);
        }
    }
    TemporaryFile(const TemporaryFile&) = delete;
    TemporaryFile& operator=(const TemporaryFile&) = delete;
    const fs::path& path() const { return path_; }
    void release() { path_.clear(); }

  private:
    fs::path path_;
};

bool is_description(trace::Tag tag) {
    using trace::Tag;
    return tag == Tag::Meta || tag == Tag::Config || tag == Tag::StateName || tag == Tag::Module;
}

// Source paths relative to the tree, and whether they are mbedTLS code. The
// compiler records paths as it was given them, which may go through a
// symlink to the tree; both spellings of the root are tried.
class SourceClassifier {
  public:
    explicit SourceClassifier(const fs::path& root) {
        if (root.empty()) {
            return;
        }
        add_root(fs::absolute(root).lexically_normal().string());
        std::error_code ec;
        const fs::path canonical = fs::canonical(root, ec);
        if (!ec) {
            add_root(canonical.string());
        }
    }

    std::pair<std::string, bool> classify(const std::string& file) {
        const auto cached = cache_.find(file);
        if (cached != cache_.end()) {
            return cached->second;
        }
        std::optional<std::pair<std::string, bool>> found = under_root(file);
        if (!found && !file.empty()) {
            // Resolving symlinks costs a readlink per path component: only
            // for paths not under a root as they are spelled.
            std::error_code ec;
            found = under_root(fs::weakly_canonical(file, ec).string());
        }
        const std::pair<std::string, bool> result = found.value_or(std::pair{file, false});
        cache_.emplace(file, result);
        return result;
    }

  private:
    std::optional<std::pair<std::string, bool>> under_root(const std::string& candidate) const {
        for (const std::string& root : roots_) {
            if (!candidate.empty() && candidate.rfind(root, 0) == 0) {
                const std::string rel = candidate.substr(root.size());
                const bool library = rel.rfind("library/", 0) == 0 ||
                                     rel.rfind("3rdparty/", 0) == 0 ||
                                     rel.rfind("include/", 0) == 0;
                return std::pair{rel, library};
            }
        }
        return std::nullopt;
    }

    void add_root(std::string root) {
        if (root.back() != '/') {
            root += '/';
        }
        roots_.push_back(root);
    }

    std::vector<std::string> roots_;
    std::map<std::string, std::pair<std::string, bool>> cache_;
};

// mbedTLS built as a shared library, as a Module record names it: its code
// is mbedTLS code whatever its debug information says.
struct SharedMbedtls {
    std::uint64_t start;
    std::uint64_t end;
    std::uint64_t bias;
    std::string file_name;
};

const SharedMbedtls* shared_library_at(const std::vector<SharedMbedtls>& libraries,
                                       std::uint64_t address) {
    for (const SharedMbedtls& l : libraries) {
        if (address >= l.start && address < l.end) {
            return &l;
        }
    }
    return nullptr;
}

// A description record with its paths made portable, re-encoded; nullopt
// when it names none (it is then copied as it is).
std::optional<std::vector<unsigned char>>
portable_record(const trace::Record& r, const std::vector<PortablePrefix>& prefixes) {
    const std::string key = portable_path(r.key, prefixes);
    const std::string value = portable_path(r.value, prefixes);
    if (prefixes.empty() || (key == r.key && value == r.value)) {
        return std::nullopt;
    }
    trace::RecordEncoder e;
    if (r.tag == trace::Tag::Module) {
        e.varint(r.seq).varint(r.values[0]).varint(r.values[1]).varint(r.values[2]);
    }
    e.string(key).string(value);
    std::vector<unsigned char> out;
    e.emit(r.tag, out);
    return out;
}

// Where one module's lookups are kept, and the identity they are valid for.
struct KeptSymbols {
    std::size_t module;
    fs::path file;
    std::string identity;
};

// A file's size and modification time, "absent" when there is none.
std::string file_state(const fs::path& file) {
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    if (ec) {
        return "absent";
    }
    const auto mtime = fs::last_write_time(file, ec);
    if (ec) {
        return "absent";
    }
    return fmt::format(
        "{} {}", size,
        std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch()).count());
}

std::optional<KeptSymbols> kept_symbols_of(std::size_t module, const std::string& path,
                                           const std::string& build_id, const SymbolCache& cache) {
    for (const SymbolCache::FixedBinary& fixed : cache.fixed) {
        std::error_code ec;
        if (path == fixed.binary.string() || fs::equivalent(path, fixed.binary, ec)) {
            return KeptSymbols{module, fixed_binary_symbols_file(fixed.binary),
                               "fixed binary " + fixed.key};
        }
    }
    if (cache.directory.empty()) {
        return std::nullopt;
    }
    const std::string state = file_state(path);
    if (state == "absent") {
        return std::nullopt;
    }
    std::string identity = "module " + path + "\n" + state + "\nbuild id " + build_id + "\n";
    // Installing a library's debug package (found by build id) changes what it resolves to.
    if (build_id.size() > 2 &&
        build_id.find_first_not_of("0123456789abcdef") == std::string::npos) {
        identity +=
            "debug file " + file_state(fs::path("/usr/lib/debug/.build-id") /
                                       build_id.substr(0, 2) / (build_id.substr(2) + ".debug"));
    }
    build::ContentHash name;
    name.add("tlsheap-module-symbols-v1").add(identity);
    return KeptSymbols{module, cache.directory / (name.hex() + ".symbols"), identity};
}

} // namespace

fs::path fixed_binary_symbols_file(const fs::path& binary) {
    return binary.string() + ".symbols";
}

std::string portable_path(const std::string& path, const std::vector<PortablePrefix>& prefixes) {
    // The deepest directory first: a cache inside the checkout is the cache.
    std::vector<const PortablePrefix*> deepest_first;
    for (const PortablePrefix& p : prefixes) {
        deepest_first.push_back(&p);
    }
    std::stable_sort(deepest_first.begin(), deepest_first.end(), [](const auto* a, const auto* b) {
        return a->directory.native().size() > b->directory.native().size();
    });
    for (const PortablePrefix* prefix : deepest_first) {
        const PortablePrefix& p = *prefix;
        std::string dir = p.directory.lexically_normal().string();
        while (dir.size() > 1 && dir.back() == '/') {
            dir.pop_back();
        }
        if (dir.empty() || dir == "/") {
            continue;
        }
        // At the start or after a quote (MBEDTLS_CONFIG_FILE's "\"/cache/..."),
        // and only a whole directory: /cache/tlsheap-other is not under /cache/tlsheap.
        for (std::size_t at = path.find(dir); at != std::string::npos;
             at = path.find(dir, at + 1)) {
            const std::size_t end = at + dir.size();
            const bool starts = at == 0 || path[at - 1] == '"';
            const bool whole = end == path.size() || path[end] == '/' || path[end] == '"';
            if (starts && whole) {
                return path.substr(0, at) + p.name + portable_path(path.substr(end), prefixes);
            }
        }
    }
    return path;
}

FinalizeResult finalize_trace(const fs::path& raw, const fs::path& final,
                              const fs::path& mbedtls_root, const fs::path& sysroot,
                              const std::vector<PortablePrefix>& portable,
                              const SymbolCache& symbol_cache) {
    FinalizeResult result;
    SourceClassifier sources(mbedtls_root);

    // Pass 1: modules, every distinct return address, and the Meta records
    // written after the first event (a program's side is known only at its
    // first mbedtls_ssl_setup), which join the description.
    DwarfSymbolizer symbolizer;
    std::vector<SharedMbedtls> shared_mbedtls;
    std::set<std::uint64_t> addresses;
    std::vector<KeptSymbols> kept_symbols;
    std::vector<unsigned char> late_meta;
    {
        trace::TraceReader reader(raw.string());
        trace::Record r;
        bool described = false;
        while (reader.next(r)) {
            described = described || !is_description(r.tag);
            if (described && r.tag == trace::Tag::Meta) {
                if (const auto rewritten = portable_record(r, portable)) {
                    late_meta.insert(late_meta.end(), rewritten->begin(), rewritten->end());
                } else {
                    late_meta.insert(late_meta.end(), reader.last_record_data(),
                                     reader.last_record_data() + reader.last_record_size());
                }
            } else if (r.tag == trace::Tag::Module) {
                std::string path = r.key;
                if (!sysroot.empty() && !fs::exists(path) &&
                    fs::exists(sysroot / fs::path(path).relative_path())) {
                    path = (sysroot / fs::path(path).relative_path()).string();
                }
                const std::string file_name = fs::path(r.key).filename().string();
                if (trace::is_mbedtls_shared_library(file_name.c_str())) {
                    shared_mbedtls.push_back({r.values[0], r.values[1], r.values[2], file_name});
                }
                try {
                    const std::size_t module =
                        symbolizer.add_module(path, r.values[0], r.values[1], r.values[2]);
                    if (auto kept = kept_symbols_of(module, path, r.value, symbol_cache)) {
                        if (auto known = read_module_symbols(kept->file, kept->identity)) {
                            symbolizer.add_known_symbols(module, std::move(*known));
                        }
                        kept_symbols.push_back(std::move(*kept));
                    }
                } catch (const SymbolizeError& e) {
                    result.warnings.push_back(e.what());
                }
            } else if (r.tag == trace::Tag::Stack) {
                addresses.insert(r.frames.begin(), r.frames.end());
            }
        }
        result.truncated = reader.truncated();
    }

    std::vector<unsigned char> frames;
    for (const std::uint64_t address : addresses) {
        Symbolization s = symbolizer.symbolize(address, true);
        const SharedMbedtls* library = shared_library_at(shared_mbedtls, address);
        if (library != nullptr && s.levels.empty()) {
            // A static function of a library without debug information:
            // named by where it is, as perf and gdb name it.
            s.levels.push_back(
                {fmt::format("{}+0x{:x}", library->file_name, address - library->bias), "", 0});
        }
        ++result.addresses;
        if (s.resolved()) {
            ++result.resolved;
        }
        trace::RecordEncoder e;
        e.varint(address).varint(s.levels.size());
        bool any_mbedtls = false;
        for (const SourceLocation& level : s.levels) {
            auto [file, in_mbedtls] = sources.classify(level.file);
            in_mbedtls = in_mbedtls || library != nullptr;
            any_mbedtls = any_mbedtls || in_mbedtls;
            e.string(level.function)
                .string(in_mbedtls ? file : portable_path(file, portable))
                .varint(level.line)
                .varint(in_mbedtls ? trace::kFrameInMbedtls : 0);
        }
        if (any_mbedtls) {
            ++result.in_mbedtls;
        }
        e.emit(trace::Tag::Frame, frames);
    }

    for (const KeptSymbols& kept : kept_symbols) {
        if (symbolizer.module_symbols_grew(kept.module)) {
            write_module_symbols(kept.file, kept.identity, symbolizer.module_symbols(kept.module));
        }
    }

    // Pass 2: copy, inserting the frames after the description records.
    std::vector<unsigned char> out = trace::encode_header();
    trace::TraceReader reader(raw.string());
    trace::Record r;
    bool inserted = false;
    std::uint64_t events = 0;
    while (reader.next(r)) {
        if (!inserted && !is_description(r.tag)) {
            out.insert(out.end(), late_meta.begin(), late_meta.end());
            out.insert(out.end(), frames.begin(), frames.end());
            inserted = true;
        }
        if (r.tag == trace::Tag::End || r.tag == trace::Tag::Frame ||
            (inserted && r.tag == trace::Tag::Meta)) {
            continue; // End is rewritten below; old frames are replaced; late metas moved
        }
        if (r.tag == trace::Tag::Alloc || r.tag == trace::Tag::Free) {
            ++events;
        }
        if (r.tag == trace::Tag::Meta || r.tag == trace::Tag::Config ||
            r.tag == trace::Tag::Module) {
            if (const auto rewritten = portable_record(r, portable)) {
                out.insert(out.end(), rewritten->begin(), rewritten->end());
                continue;
            }
        }
        out.insert(out.end(), reader.last_record_data(),
                   reader.last_record_data() + reader.last_record_size());
    }
    if (!inserted) {
        out.insert(out.end(), late_meta.begin(), late_meta.end());
        out.insert(out.end(), frames.begin(), frames.end());
    }
    if (reader.complete()) {
        trace::encode_end(out, events);
    }
    // Renamed into place: over a symlink or a device that would replace the
    // link or the node, not write where it points.
    std::error_code ec;
    const fs::file_status existing = fs::symlink_status(final, ec);
    if (fs::exists(existing) && !fs::is_regular_file(existing)) {
        throw trace::TraceError(final.string() + " is not a regular file; not replaced");
    }
    // Unique per process: another process may be finalizing the same path.
    TemporaryFile tmp(final.string() + ".tmp." + std::to_string(::getpid()));
    {
        std::ofstream f(tmp.path(), std::ios::binary);
        f.write(reinterpret_cast<const char*>(out.data()),
                static_cast<std::streamsize>(out.size()));
        f.close();
        if (!f) {
            throw trace::TraceError("cannot write " + tmp.path().string());
        }
    }
    fs::rename(tmp.path(), final, ec);
    if (ec) {
        throw trace::TraceError("cannot write " + final.string() + ": " + ec.message());
    }
    tmp.release();
    return result;
}

} // namespace tlsheap::symbolize
