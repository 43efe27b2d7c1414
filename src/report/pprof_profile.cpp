#include "report/pprof_profile.h"

#include "report/json_text.h"
#include "report/stack_levels.h"
#include "tlsheap/user_error.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <profile.pb.h>
#include <zlib.h>

namespace tlsheap::report {

namespace {

namespace pb = perftools::profiles;

// profile.proto keeps every string once, in string_table; index 0 is "".
// Its strings are proto3 strings, UTF-8 only, and a trace from someone else
// may hold any byte: nlohmann's encoder replaces what is not UTF-8 (U+FFFD).
class StringTable {
  public:
    explicit StringTable(pb::Profile& profile) : profile_(profile) { of(""); }
    std::int64_t of(const std::string& text) {
        const auto [it, added] = index_.try_emplace(text, static_cast<std::int64_t>(index_.size()));
        if (added) {
            profile_.add_string_table(valid_utf8(text));
        }
        return it->second;
    }

  private:
    pb::Profile& profile_;
    std::map<std::string, std::int64_t> index_;
};

// Functions, locations and mappings, each once, with ids from 1.
class ProfileTables {
  public:
    ProfileTables(pb::Profile& profile, const trace::TraceInfo& info)
        : profile_(profile), strings_(profile), info_(info) {
        for (const trace::ModuleInfo& m : info.modules()) {
            pb::Mapping* mapping = profile.add_mapping();
            mapping->set_id(static_cast<std::uint64_t>(profile.mapping_size()));
            mapping->set_memory_start(m.start);
            mapping->set_memory_limit(m.end);
            mapping->set_file_offset(m.start >= m.bias ? m.start - m.bias : 0);
            mapping->set_filename(strings_.of(m.path));
            mapping->set_build_id(strings_.of(m.build_id));
            const bool symbolized = info.symbolized();
            mapping->set_has_functions(symbolized);
            mapping->set_has_filenames(symbolized);
            mapping->set_has_line_numbers(symbolized);
            mapping->set_has_inline_frames(symbolized);
        }
    }

    StringTable& strings() { return strings_; }

    // A stack's locations, innermost (the call site) first: one per frame,
    // its inlined levels as lines, innermost first as profile.proto has them.
    std::vector<std::uint64_t> locations(std::uint32_t stack) {
        const auto cached = stacks_.find(stack);
        if (cached != stacks_.end()) {
            return cached->second;
        }
        std::vector<StackLevel> levels = call_site_levels(info_, stack);
        if (levels.empty()) {
            levels.push_back({0, false, "[unknown]", "", 0});
        }
        std::vector<std::uint64_t> ids;
        for (std::size_t first = 0; first < levels.size();) {
            std::size_t end = first + 1;
            while (end < levels.size() && levels[end].address == levels[first].address &&
                   levels[end].symbolized && levels[first].symbolized) {
                ++end;
            }
            ids.push_back(location(levels, first, end));
            first = end;
        }
        return stacks_.emplace(stack, ids).first->second;
    }

  private:
    std::uint64_t location(const std::vector<StackLevel>& levels, std::size_t first,
                           std::size_t end) {
        std::string key = std::to_string(levels[first].address);
        for (std::size_t i = first; i < end; ++i) {
            key += fmt::format("\n{}\n{}\n{}", levels[i].function, levels[i].file, levels[i].line);
        }
        const auto [it, added] = locations_.try_emplace(key, locations_.size() + 1);
        if (!added) {
            return it->second;
        }
        pb::Location* location = profile_.add_location();
        location->set_id(it->second);
        location->set_address(levels[first].address);
        location->set_mapping_id(mapping_of(levels[first].address));
        for (std::size_t i = first; i < end; ++i) {
            pb::Line* line = location->add_line();
            line->set_function_id(function(levels[i]));
            line->set_line(levels[i].line);
        }
        return it->second;
    }

    std::uint64_t function(const StackLevel& level) {
        const auto [it, added] =
            functions_.try_emplace(level.function + '\n' + level.file, functions_.size() + 1);
        if (added) {
            pb::Function* f = profile_.add_function();
            f->set_id(it->second);
            f->set_name(strings_.of(level.function));
            f->set_system_name(f->name());
            f->set_filename(strings_.of(level.file));
        }
        return it->second;
    }

    // Mapping ids are the modules' indices from 1 (0: none).
    std::uint64_t mapping_of(std::uint64_t address) const {
        const trace::ModuleInfo* m = info_.module_of(address);
        return m == nullptr ? 0 : static_cast<std::uint64_t>(m - info_.modules().data()) + 1;
    }

    pb::Profile& profile_;
    StringTable strings_;
    const trace::TraceInfo& info_;
    std::map<std::uint32_t, std::vector<std::uint64_t>> stacks_;
    std::map<std::string, std::uint64_t> locations_;
    std::map<std::string, std::uint64_t> functions_;
};

std::string gzip(const std::string& bytes) {
    z_stream z{};
    // 15 + 16: a gzip header (mtime 0), as pprof reads profiles.
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        throw UserError("cannot compress the pprof profile (zlib)", kExitBadInput);
    }
    std::string out(deflateBound(&z, bytes.size()), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    z.avail_in = static_cast<uInt>(bytes.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int done = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    if (done != Z_STREAM_END) {
        throw UserError("cannot compress the pprof profile (zlib)", kExitBadInput);
    }
    return out;
}

} // namespace

PprofProfileBuilder::PprofProfileBuilder(const trace::TraceWalker& walker, std::uint64_t peak_seq)
    : walker_(walker), peak_seq_(peak_seq) {}

void PprofProfileBuilder::on_alloc(const trace::Record& r, const trace::LiveAllocation* block,
                                   std::uint32_t /*slot*/) {
    if (block != nullptr) {
        const trace::Phase phase = walker_.phase();
        Values& v =
            samples_[{r.stack, phase, phase == trace::Phase::Handshake ? walker_.state() : 0,
                      walker_.connection()}];
        ++v.alloc_objects;
        v.alloc_space += block->size;
    }
    take_peak(r.seq);
}

void PprofProfileBuilder::on_free(const trace::Record& r, trace::FreeKind /*kind*/,
                                  const trace::LiveAllocation* /*block*/, std::uint32_t /*slot*/) {
    take_peak(r.seq);
}

// The blocks alive right after the peak's event, where each was allocated.
void PprofProfileBuilder::take_peak(std::uint64_t seq) {
    if (seq != peak_seq_) {
        return;
    }
    for (const trace::LiveAllocation* block : walker_.live_in_seq_order()) {
        Values& v = samples_[{block->stack, block->phase,
                              block->phase == trace::Phase::Handshake ? block->state : 0,
                              block->connection}];
        ++v.inuse_objects;
        v.inuse_space += block->size;
    }
}

std::string PprofProfileBuilder::gzipped(std::uint64_t duration_ns) const {
    pb::Profile profile;
    ProfileTables tables(profile, walker_.info());
    StringTable& strings = tables.strings();
    for (const auto& [type, unit] :
         {std::pair{"alloc_objects", "count"}, std::pair{"alloc_space", "bytes"},
          std::pair{"inuse_objects", "count"}, std::pair{"inuse_space", "bytes"}}) {
        pb::ValueType* t = profile.add_sample_type();
        t->set_type(strings.of(type));
        t->set_unit(strings.of(unit));
    }
    profile.set_default_sample_type(strings.of("inuse_space"));
    profile.set_duration_nanos(static_cast<std::int64_t>(duration_ns));
    profile.add_comment(strings.of("tlsheap: inuse_* are the blocks alive at the live peak"));
    const trace::TraceInfo& info = walker_.info();
    for (const auto& [key, v] : samples_) {
        const auto& [stack, phase, state, connection] = key;
        pb::Sample* sample = profile.add_sample();
        for (const std::uint64_t id : tables.locations(stack)) {
            sample->add_location_id(id);
        }
        for (const std::uint64_t value :
             {v.alloc_objects, v.alloc_space, v.inuse_objects, v.inuse_space}) {
            sample->add_value(static_cast<std::int64_t>(value)); // modulo 2^64, as C++20 defines
        }
        pb::Label* label = sample->add_label();
        label->set_key(strings.of("phase"));
        label->set_str(strings.of(trace::phase_name(phase)));
        if (phase == trace::Phase::Handshake) {
            label = sample->add_label();
            label->set_key(strings.of("state"));
            label->set_str(strings.of(info.state_name(state)));
        }
        if (walker_.connection_records()) {
            label = sample->add_label();
            label->set_key(strings.of("connection"));
            label->set_num(connection);
        }
    }
    return gzip(profile.SerializeAsString());
}

} // namespace tlsheap::report
