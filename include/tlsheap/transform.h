// A buffer-scheme transform rewrites a recorded allocation stream into the
// stream another buffer strategy would have produced (ESP-IDF's dynamic
// buffers, axTLS-style growing buffers), from what the recording knows: which
// allocations are the record buffers (Role records), every TLS record that
// crossed the transport (TlsRecord), the handshake steps and states
// (StepBegin/StepEnd), the labelled parts of SETUP (Activity: ca_chain_parse,
// own_cert_parse, own_key_parse, ssl_setup, ...) and the effective config
// (Config records). Any allocator model then replays the result.
#pragma once

#include "tlsheap/allocator_model.h"
#include "tlsheap/record_source.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace tlsheap::replay {

// A transform that cannot apply to a trace (a DTLS recording for
// esp-dynamic, a trace without transport records, from a format version
// before these fields existed), or a bad spec. One line naming what is
// missing.
class TransformError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// "NAME" or "NAME:key=value,..." (the --model syntax).
using TransformSpec = ModelSpec;

struct TransformInfo {
    std::string name;
    std::string summary;
    std::string options;
};
std::vector<TransformInfo> transform_catalog();

// Wraps `input`. The returned source yields:
//  - every non-event record of the input, in order (descriptive records,
//    Phase, StepBegin/StepEnd, Activity, TlsRecord, Outcome, ...), plus a
//    Meta record "transform" naming the transform and its options;
//  - a valid allocation stream: Alloc/Free records numbered 1, 2, 3, ... in
//    `seq`, every Free naming in `alloc_seq` an allocation that is live, no
//    block freed twice, non-NULL unique addresses for live blocks;
//  - the allocations it adds under Stack ids whose Frame records name them
//    (e.g. function "esp-dynamic: TX buffer"), so reports show them by name.
// Throws TransformError for an unknown transform or option right away, and
// from next() as soon as the stream shows the transform cannot apply.
std::unique_ptr<RecordSource> make_transform(const TransformSpec& spec,
                                             std::unique_ptr<RecordSource> input);

} // namespace tlsheap::replay
