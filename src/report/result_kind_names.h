// The names the reports (terminal and JSON) give the kinds of a replay's
// outcomes and findings.
#pragma once

#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_format.h"

namespace tlsheap::report {

inline const char* outcome_kind_name(trace::OutcomeKind k) {
    switch (k) {
    case trace::OutcomeKind::Handshake:
        return "handshake";
    case trace::OutcomeKind::Application:
        return "application";
    case trace::OutcomeKind::Close:
        return "close";
    case trace::OutcomeKind::Failure:
        return "failure";
    case trace::OutcomeKind::Resumed:
        return "resumed";
    case trace::OutcomeKind::NotResumed:
        return "not_resumed";
    case trace::OutcomeKind::EarlyData:
        return "early_data";
    }
    return "?";
}

inline const char* finding_kind_name(replay::Finding::Kind k) {
    switch (k) {
    case replay::Finding::Kind::UnknownFree:
        return "unknown_free";
    case replay::Finding::Kind::DoubleFree:
        return "double_free";
    case replay::Finding::Kind::FailedAllocation:
        return "failed_allocation";
    case replay::Finding::Kind::ZeroSizeAllocation:
        return "zero_size_allocation";
    }
    return "?";
}

} // namespace tlsheap::report
