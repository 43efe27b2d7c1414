#pragma once

#include <stdexcept>

namespace tlsheap::build {

// Anything that stops a variant from being built. The message is one line
// that names the problem (and the file or macro involved); `details` may hold
// the compiler's first errors for the user to read under it.
class BuildError : public std::runtime_error {
  public:
    explicit BuildError(const std::string& message, std::string details = {})
        : std::runtime_error(message), details_(std::move(details)) {}
    const std::string& details() const { return details_; }

  private:
    std::string details_;
};

} // namespace tlsheap::build
