// Must not compile: analysis/ comes before report/ in the pipeline.
#include "report/profile_json.h"
