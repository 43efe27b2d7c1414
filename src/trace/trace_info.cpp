#include "tlsheap/trace_info.h"

#include <cstdio>

namespace tlsheap::trace {

std::string CallSite::label() const {
    if (function.empty()) {
        return "(unknown call site)";
    }
    if (file.empty()) {
        return function;
    }
    return function + " (" + file + ":" + std::to_string(line) + ")";
}

bool TraceInfo::describes(Tag tag) {
    return tag == Tag::Meta || tag == Tag::Config || tag == Tag::StateName || tag == Tag::Module ||
           tag == Tag::Stack || tag == Tag::Frame;
}

TraceInfo TraceInfo::read_description(TraceReader& reader) {
    TraceInfo info;
    Record r;
    while (reader.next(r) && info.absorb(r)) {
    }
    return info;
}

bool TraceInfo::absorb(const Record& r) {
    switch (r.tag) {
    case Tag::Meta:
        meta_[r.key] = r.value;
        return true;
    case Tag::Config:
        config_.emplace_back(r.key, r.value);
        config_macros_[r.key] = r.value;
        return true;
    case Tag::StateName:
        states_[r.state] = r.value;
        return true;
    case Tag::Module:
        modules_.push_back({r.seq, r.values[0], r.values[1], r.values[2], r.key, r.value});
        return true;
    case Tag::Stack:
        stacks_[r.stack] = r.frames;
        return true;
    case Tag::Frame:
        frames_[r.address] = r.levels;
        call_sites_.clear();
        return true;
    default:
        return false;
    }
}

const std::string& TraceInfo::meta(const std::string& key) const {
    static const std::string empty;
    const auto it = meta_.find(key);
    return it == meta_.end() ? empty : it->second;
}

std::optional<std::string> TraceInfo::config_value(const std::string& name) const {
    for (const auto& [n, v] : config_) {
        if (n == name) {
            return v;
        }
    }
    return std::nullopt;
}

std::string TraceInfo::state_name(std::uint32_t state) const {
    const auto it = states_.find(state);
    return it == states_.end() ? "STATE_" + std::to_string(state) : it->second;
}

unsigned TraceInfo::pointer_size() const {
    return meta::pointer_size(meta(meta::kPointerSize));
}

const std::vector<std::uint64_t>* TraceInfo::stack(std::uint32_t id) const {
    const auto it = stacks_.find(id);
    return it == stacks_.end() ? nullptr : &it->second;
}

const std::vector<SourceLevel>* TraceInfo::frame(std::uint64_t address) const {
    const auto it = frames_.find(address);
    return it == frames_.end() ? nullptr : &it->second;
}

CallSite TraceInfo::call_site(std::uint32_t id) const {
    const auto cached = call_sites_.find(id);
    if (cached != call_sites_.end()) {
        return cached->second;
    }
    CallSite site;
    if (const auto* frames = stack(id)) {
        for (const std::uint64_t address : *frames) {
            const auto* levels = frame(address);
            if (levels == nullptr) {
                continue;
            }
            for (const SourceLevel& level : *levels) {
                if (asks_for_memory(level)) {
                    site.function = level.function;
                    site.file = level.file;
                    site.line = level.line;
                    break;
                }
            }
            if (!site.function.empty()) {
                break;
            }
        }
        if (site.function.empty() && !frames->empty()) {
            // Unsymbolized: name the innermost raw address so groups stay distinct.
            char text[40];
            std::snprintf(text, sizeof(text), "0x%llx",
                          static_cast<unsigned long long>(frames->front()));
            site.function = text;
        }
    }
    call_sites_.emplace(id, site);
    return site;
}

std::vector<std::string> TraceInfo::describe_stack(std::uint32_t id) const {
    std::vector<std::string> out;
    const auto* frames = stack(id);
    if (frames == nullptr) {
        return out;
    }
    for (const std::uint64_t address : *frames) {
        const auto* levels = frame(address);
        if (levels != nullptr && !levels->empty()) {
            for (const SourceLevel& level : *levels) {
                std::string text = level.function.empty() ? "??" : level.function;
                if (!level.file.empty()) {
                    text += " (" + level.file + ":" + std::to_string(level.line) + ")";
                }
                out.push_back(std::move(text));
            }
            continue;
        }
        out.push_back(raw_frame_name(address));
    }
    return out;
}

bool TraceInfo::asks_for_memory(const SourceLevel& level) {
    // The caller of the platform layer asked for the memory.
    return level.in_mbedtls && level.function != "mbedtls_calloc" &&
           level.function != "mbedtls_free";
}

const ModuleInfo* TraceInfo::module_of(std::uint64_t address) const {
    for (const ModuleInfo& m : modules_) {
        if (address >= m.start && address < m.end) {
            return &m;
        }
    }
    return nullptr;
}

std::string TraceInfo::raw_frame_name(std::uint64_t address) const {
    char text[96];
    const ModuleInfo* m = module_of(address);
    if (m == nullptr) {
        std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(address));
        return text;
    }
    std::snprintf(text, sizeof(text), "+0x%llx",
                  static_cast<unsigned long long>(address - m->bias));
    const auto slash = m->path.rfind('/');
    return m->path.substr(slash == std::string::npos ? 0 : slash + 1) + text;
}

} // namespace tlsheap::trace
