// Must compile: the command line sits on top of every stage (the control
// that shows the two probes above fail for the right reason).
#include "analysis/gate_policy.h"
#include "pipeline/profile_session.h"
#include "report/profile_json.h"
