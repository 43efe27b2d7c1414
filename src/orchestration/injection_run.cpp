#include "orchestration/injection_run.h"

#include "tlsheap/number_text.h"

#include <charconv>

namespace tlsheap::record {

namespace {

namespace protocol = recorder_protocol;

std::vector<std::string_view> fields_of(std::string_view line) {
    std::vector<std::string_view> fields;
    for (std::size_t at = 0;;) {
        const std::size_t sep = line.find(protocol::kFieldSeparator, at);
        fields.push_back(line.substr(at, sep - at));
        if (sep == std::string_view::npos) {
            return fields;
        }
        at = sep + 1;
    }
}

template <typename Int>
bool signed_number(std::string_view text, Int& out) {
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    return error == std::errc() && end == text.data() + text.size();
}

} // namespace

std::optional<InjectionRun> parse_injection_line(std::string_view line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
        line.remove_suffix(1);
    }
    const auto f = fields_of(line);
    if (f.size() != protocol::kInjectionFields || f[0] != protocol::kInjection) {
        return std::nullopt;
    }
    InjectionRun run;
    const auto call = whole_number(f[1]);
    const auto end = protocol::run_end_from_name(f[2]);
    if (!call || *call == 0 || !end || !signed_number(f[3], run.code)) {
        return std::nullopt;
    }
    run.call = *call;
    run.end = *end;
    run.text = f[11] == protocol::kNotReported ? std::string() : std::string(f[11]);
    run.reported = f[4] != protocol::kNotReported;
    if (!run.reported) {
        return run;
    }
    const auto failed = whole_number(f[4]);
    const auto requested = whole_number(f[5]);
    const auto leaked_bytes = whole_number(f[8]);
    const auto leaked_blocks = whole_number(f[9]);
    if (!failed || !requested || !signed_number(f[6], run.ret) || !leaked_bytes || !leaked_blocks) {
        return std::nullopt;
    }
    run.failed_call = *failed;
    run.requested_bytes = *requested;
    run.state = f[7] == protocol::kNotReported ? std::string() : std::string(f[7]);
    run.leaked_bytes = *leaked_bytes;
    run.leaked_blocks = *leaked_blocks;
    if (f[10] != protocol::kNotReported) {
        std::string_view list = f[10];
        for (std::size_t at = 0; at <= list.size();) {
            const std::size_t comma = std::min(list.find(',', at), list.size());
            const auto n = whole_number(list.substr(at, comma - at));
            if (!n) {
                return std::nullopt;
            }
            run.leak_calls.push_back(*n);
            at = comma + 1;
        }
    }
    return run;
}

} // namespace tlsheap::record
