// Must not compile: report/ renders what the pipeline produced and may not
// reach back into it (tests/stage_boundaries/CMakeLists.txt).
#include "pipeline/profile_session.h"
