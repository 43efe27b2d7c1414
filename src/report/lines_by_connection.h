// Lines of the terminal report that a lifecycle recording repeats for every
// connection (each handshake's outcome, each record buffer): equal lines are
// printed once, with the connections that had them, so that a hundred
// reconnects make a few lines, not hundreds. The JSON document keeps one entry
// per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace tlsheap::report {

class LinesByConnection {
  public:
    // One line of `connection`; an equal line of another connection joins
    // the first one's group.
    void add(const std::string& line, std::uint32_t connection);

    // Each different line in the order first seen. When the lines came from
    // more than one connection, each ends with the ones it came from, as
    // ranges: ", in 4 connections: #1-#4", ", in connection #2".
    std::vector<std::string> lines() const;

  private:
    struct Group {
        std::string line;
        std::vector<std::uint32_t> connections; // in the order added
    };
    std::vector<Group> groups_;
    std::unordered_map<std::string, std::size_t> group_of_line_;
    std::vector<std::size_t> order_; // each line's group, as added
    std::uint32_t first_ = 0;        // the first line's connection
    bool several_connections_ = false;
};

// "#1-#4, #6" for connections in ascending order, at most `most_ranges`
// ranges and then ", ...".
std::string connection_ranges(const std::vector<std::uint32_t>& ascending,
                              std::size_t most_ranges = 4);

} // namespace tlsheap::report
