// Exit statuses and the one-line error every stage throws for input the user
// can fix; the command line prints it and exits with its status.
#pragma once

#include <stdexcept>
#include <string>

namespace tlsheap {

// Exit statuses every command uses.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;   // the run happened and failed (handshake, regression)
inline constexpr int kExitBadInput = 2; // unusable input: config, scenario, trace, option, port

// A one-line error for the user; `details` (compiler output) goes below it.
class UserError : public std::runtime_error {
  public:
    UserError(const std::string& message, int exit_code, std::string details = {})
        : std::runtime_error(message), exit_code_(exit_code), details_(std::move(details)) {}
    int exit_code() const { return exit_code_; }
    const std::string& details() const { return details_; }

  private:
    int exit_code_;
    std::string details_;
};

} // namespace tlsheap
