#include "connection_result.h"

#include "credentials.h"
#include "recording.h"
#include "variant_info.h"

namespace tlsheap::recorder {

bool report_failure(ConnectionResult& result, ConnectionStatus status, int ret, int state,
                    const std::string& error) {
    result.status = status;
    result.error = error;
    Recording::instance().outcome(trace::OutcomeKind::Failure, ret, state, result.error);
    return false;
}

bool report_usage(ConnectionResult& result, int state, const std::string& error) {
    return report_failure(result, ConnectionStatus::Usage, -1, state, error);
}

std::string describe_tls_failure(int ret, int state, const char* doing) {
    return std::string(doing) + " failed in state " + state_name(state) + ": " +
           describe_mbedtls_error(ret);
}

std::string state_name(int state) {
    for (unsigned i = 0; i < kStateNameCount; ++i) {
        if (kStateNames[i].id == state) {
            return kStateNames[i].name;
        }
    }
    return "state " + std::to_string(state);
}

} // namespace tlsheap::recorder
