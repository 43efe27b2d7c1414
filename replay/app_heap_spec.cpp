#include "tlsheap/app_heap.h"
#include "tlsheap/number_text.h"

namespace tlsheap::replay {

namespace {

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::size_t begin = 0;
    for (;;) {
        const std::size_t end = text.find(separator, begin);
        parts.push_back(text.substr(begin, end == std::string::npos ? end : end - begin));
        if (end == std::string::npos) {
            return parts;
        }
        begin = end + 1;
    }
}

std::uint64_t parse_size(const std::string& key, const std::string& text) {
    const std::optional<std::uint64_t> bytes = whole_number(text);
    if (!bytes || *bytes == 0 || *bytes > kMaxAppBlock) {
        throw AppHeapError("--app-heap " + key + ": a block size is a number of bytes from 1 to " +
                           std::to_string(kMaxAppBlock) + ", not '" + text + "'");
    }
    return *bytes;
}

std::string joined(const std::vector<std::uint64_t>& sizes) {
    std::string text;
    for (const std::uint64_t s : sizes) {
        text += (text.empty() ? "" : ",") + std::to_string(s);
    }
    return text;
}

} // namespace

AppHeapSpec AppHeapSpec::parse(const std::string& text) {
    if (text.empty()) {
        throw AppHeapError("--app-heap needs hold=SIZE,... and/or between=SIZE,... "
                           "(e.g. hold=8192;between=1500,700)");
    }
    AppHeapSpec spec;
    bool seen_hold = false;
    bool seen_between = false;
    for (const std::string& part : split(text, ';')) {
        const std::size_t eq = part.find('=');
        const std::string key = part.substr(0, eq);
        if (eq == std::string::npos || (key != "hold" && key != "between")) {
            throw AppHeapError("--app-heap: '" + part +
                               "' is not hold=SIZE,... or between=SIZE,... (parts are separated "
                               "by ';')");
        }
        bool& seen = key == "hold" ? seen_hold : seen_between;
        if (seen) {
            throw AppHeapError("--app-heap: " + key + " is given twice");
        }
        seen = true;
        std::vector<std::uint64_t>& sizes = key == "hold" ? spec.hold : spec.between;
        for (const std::string& size : split(part.substr(eq + 1), ',')) {
            sizes.push_back(parse_size(key, size));
        }
    }
    if (spec.hold.size() + spec.between.size() > kMaxAppBlocks) {
        throw AppHeapError("--app-heap: at most " + std::to_string(kMaxAppBlocks) +
                           " blocks in all");
    }
    return spec;
}

std::string AppHeapSpec::text() const {
    std::string text;
    if (!hold.empty()) {
        text = "hold=" + joined(hold);
    }
    if (!between.empty()) {
        text += (text.empty() ? "" : ";") + std::string("between=") + joined(between);
    }
    return text;
}

} // namespace tlsheap::replay
