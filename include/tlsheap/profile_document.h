// The version of the JSON profile document (docs/json-schema/profile.schema.json):
// written by report/, read back by analysis/ (gate, diff, dashboards) and merge.
#pragma once

namespace tlsheap {

inline constexpr int kProfileSchemaVersion = 1;

} // namespace tlsheap
