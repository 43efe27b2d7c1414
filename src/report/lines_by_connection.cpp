#include "report/lines_by_connection.h"

#include "tlsheap/number_format.h"

#include <algorithm>
#include <fmt/format.h>

namespace tlsheap::report {

void LinesByConnection::add(const std::string& line, std::uint32_t connection) {
    several_connections_ = several_connections_ || (!order_.empty() && connection != first_);
    first_ = order_.empty() ? connection : first_;
    // By line: a hostile trace's outcomes may all differ.
    const auto [found, added] = group_of_line_.try_emplace(line, groups_.size());
    if (added) {
        groups_.push_back({line, {}});
    }
    groups_[found->second].connections.push_back(connection);
    order_.push_back(found->second);
}

std::vector<std::string> LinesByConnection::lines() const {
    std::vector<std::string> out;
    if (!several_connections_) {
        // One connection: its lines as they came, repeats and all.
        for (const std::size_t g : order_) {
            out.push_back(groups_[g].line);
        }
        return out;
    }
    for (const Group& g : groups_) {
        std::vector<std::uint32_t> ascending = g.connections;
        std::sort(ascending.begin(), ascending.end());
        const std::size_t times = ascending.size();
        ascending.erase(std::unique(ascending.begin(), ascending.end()), ascending.end());
        std::string from = ascending.size() == 1
                               ? fmt::format(", in connection #{}", ascending.front())
                               : fmt::format(", in {} connections: {}", grouped(ascending.size()),
                                             connection_ranges(ascending));
        if (times > ascending.size()) {
            from += fmt::format(" ({} times)", grouped(times));
        }
        out.push_back(g.line + from);
    }
    return out;
}

std::string connection_ranges(const std::vector<std::uint32_t>& ascending,
                              std::size_t most_ranges) {
    std::string out;
    std::size_t ranges = 0;
    for (std::size_t i = 0; i < ascending.size();) {
        std::size_t j = i;
        while (j + 1 < ascending.size() && ascending[j + 1] == ascending[j] + 1) {
            ++j;
        }
        if (ranges == most_ranges) {
            return out + ", ...";
        }
        out += (ranges == 0 ? "" : ", ") +
               (i == j ? fmt::format("#{}", ascending[i])
                       : fmt::format("#{}-#{}", ascending[i], ascending[j]));
        ++ranges;
        i = j + 1;
    }
    return out;
}

} // namespace tlsheap::report
