#pragma once

#include <stdexcept>

namespace tlsheap::record {

// A recording that could not be made: peer would not start, port in use,
// peer never answered, recorder failed. One line naming the problem.
class RecordError : public std::runtime_error {
  public:
    RecordError(const std::string& message, int exit_code = 1)
        : std::runtime_error(message), exit_code_(exit_code) {}
    int exit_code() const { return exit_code_; }

  private:
    int exit_code_;
};

} // namespace tlsheap::record
