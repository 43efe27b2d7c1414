// Marks one activity (psa_crypto_init, ssl_setup, ...) in the trace for the
// lifetime of a scope, so that replay can say what SETUP spent its heap on.
#pragma once

#include "recording.h"

namespace tlsheap::recorder {

class ActivityScope {
  public:
    ActivityScope(Recording& r, const char* name) : r_(r), name_(name) { r_.activity(true, name_); }
    ~ActivityScope() { r_.activity(false, name_); }
    ActivityScope(const ActivityScope&) = delete;
    ActivityScope& operator=(const ActivityScope&) = delete;

  private:
    Recording& r_;
    const char* name_;
};

} // namespace tlsheap::recorder
