// What a trace says about itself: metadata, effective configuration, state
// names, loaded modules, call stacks and their symbolization. Collected while
// a trace streams by; small (proportional to distinct stacks, not events).
#pragma once

#include "tlsheap/trace_meta.h"
#include "tlsheap/trace_reader.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tlsheap::trace {

struct ModuleInfo {
    std::uint64_t id = 0;
    std::uint64_t start = 0;
    std::uint64_t end = 0;
    std::uint64_t bias = 0;
    std::string path;
    std::string build_id;
};

// The innermost mbedTLS function that asked for memory, and where.
struct CallSite {
    std::string function; // "" when the stack could not be symbolized
    std::string file;     // path relative to the mbedTLS tree when inside it
    std::uint32_t line = 0;
    // "x509_crt_parse_der_core (library/x509_crt.c:1234)"
    std::string label() const;
};

class TraceInfo {
  public:
    // Feeds one record; returns true if the record was descriptive (and so
    // consumed here), false for events and context records.
    bool absorb(const Record& r);
    // True for the records absorb() consumes.
    static bool describes(Tag tag);
    // The description a trace opens with (every record before its first
    // event), without reading the events.
    static TraceInfo read_description(TraceReader& reader);

    const std::string& meta(const std::string& key) const;
    const std::map<std::string, std::string>& meta_map() const { return meta_; }
    const std::vector<std::pair<std::string, std::string>>& config() const { return config_; }
    // The same macros by name.
    const std::map<std::string, std::string>& config_macros() const { return config_macros_; }
    std::optional<std::string> config_value(const std::string& name) const;
    const std::vector<ModuleInfo>& modules() const { return modules_; }
    // The loaded module whose range holds `address` (null if none).
    const ModuleInfo* module_of(std::uint64_t address) const;
    const std::map<std::uint32_t, std::string>& state_names() const { return states_; }
    std::string state_name(std::uint32_t state) const;
    unsigned pointer_size() const;

    const std::vector<std::uint64_t>* stack(std::uint32_t id) const;
    const std::vector<SourceLevel>* frame(std::uint64_t address) const;
    bool symbolized() const { return !frames_.empty(); }
    std::size_t stack_count() const { return stacks_.size(); }
    const std::unordered_map<std::uint32_t, std::vector<std::uint64_t>>& stacks() const {
        return stacks_;
    }

    // Call site of a stack: the innermost frame in mbedTLS library code
    // (the allocation shim and the platform layer's mbedtls_calloc skipped).
    CallSite call_site(std::uint32_t stack) const;
    // Whether a level can be a call site: mbedTLS code that is not the
    // platform layer's mbedtls_calloc/mbedtls_free, which only forward the call.
    static bool asks_for_memory(const SourceLevel& level);
    // An address no Frame record names, by module and offset ("libc.so.6+0x1f2"),
    // which unlike the address does not move between runs; "0x..." outside
    // every module.
    std::string raw_frame_name(std::uint64_t address) const;
    // True if any inline level of any frame of the stack is a function for
    // which `match(function)` holds (what an allocation is for: the peer's
    // chain, an own key, ...).
    template <typename Match>
    bool any_function(std::uint32_t stack, Match match) const {
        const std::vector<std::uint64_t>* frames = this->stack(stack);
        if (frames == nullptr) {
            return false;
        }
        for (const std::uint64_t address : *frames) {
            if (const std::vector<SourceLevel>* levels = frame(address)) {
                for (const SourceLevel& level : *levels) {
                    if (match(std::string_view(level.function))) {
                        return true;
                    }
                }
            }
        }
        return false;
    }
    // Every level of the stack, innermost first, "function (file:line)";
    // unsymbolized frames as "0x... (module+0x...)".
    std::vector<std::string> describe_stack(std::uint32_t stack) const;

  private:
    std::map<std::string, std::string> meta_;
    std::vector<std::pair<std::string, std::string>> config_;
    std::map<std::string, std::string> config_macros_;
    std::map<std::uint32_t, std::string> states_;
    std::vector<ModuleInfo> modules_;
    std::unordered_map<std::uint32_t, std::vector<std::uint64_t>> stacks_;
    std::unordered_map<std::uint64_t, std::vector<SourceLevel>> frames_;
    mutable std::unordered_map<std::uint32_t, CallSite> call_sites_;
};

} // namespace tlsheap::trace
