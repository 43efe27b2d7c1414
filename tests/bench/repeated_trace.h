// A long trace made of a real one: the sample's description records once,
// then its recorded connection (SETUP..TEARDOWN, every allocation freed) over
// and over until at least `min_events` allocation events. Free records point
// back by a distance, so copies of the same bytes stay consistent. Addresses
// are delta-coded; the first address of each repetition is re-coded so that
// every repetition reuses the same addresses, as a long recording on one
// heap does (so memory that follows distinct addresses stays bounded).
#pragma once

#include "tlsheap/trace_encoder.h"
#include "tlsheap/trace_reader.h"

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace tlsheap::bench {

struct RepeatedTrace {
    std::uint64_t events = 0;
    std::uint64_t repetitions = 0;
};

inline RepeatedTrace write_repeated_trace(const std::string& sample, std::uint64_t min_events,
                                          const std::string& path) {
    trace::TraceReader reader(sample);
    std::vector<unsigned char> head = trace::encode_header();
    std::vector<unsigned char> body;
    std::vector<unsigned char> rest;
    std::uint64_t body_events = 0;
    std::uint64_t first_address = 0;
    std::uint64_t last_address = 0;
    std::uint64_t first_count = 0, first_size = 0, first_stack = 0;
    trace::Record r;
    bool in_body = false;
    while (reader.next(r)) {
        if (r.tag == trace::Tag::End) {
            break;
        }
        in_body = in_body || r.tag == trace::Tag::Phase;
        const bool event = r.tag == trace::Tag::Alloc || r.tag == trace::Tag::Free;
        body_events += event;
        if (event && r.address != 0) {
            if (first_address == 0 && r.tag == trace::Tag::Alloc) {
                first_address = r.address;
                first_count = r.count;
                first_size = r.size;
                first_stack = r.stack;
                body.insert(body.end(), reader.last_record_data(),
                            reader.last_record_data() + reader.last_record_size());
                continue;
            }
            last_address = r.address;
        }
        auto& out = !in_body || r.tag == trace::Tag::Stack ? head : (first_address ? rest : body);
        out.insert(out.end(), reader.last_record_data(),
                   reader.last_record_data() + reader.last_record_size());
    }
    // Later repetitions: the first allocation's delta goes from the body's
    // last address back to its first.
    std::vector<unsigned char> again = body;
    {
        std::vector<unsigned char> recoded;
        const auto delta = static_cast<std::int64_t>(first_address - last_address);
        trace::RecordEncoder()
            .varint(0)
            .varint(first_count)
            .varint(first_size)
            .varint(trace::zigzag_encode(delta) + 1)
            .varint(first_stack)
            .emit(trace::Tag::Alloc, recoded);
        // `body` ends with the first allocation's record as recorded; swap it.
        std::size_t first_size_bytes = 0;
        {
            trace::TraceReader probe(sample);
            trace::Record q;
            while (probe.next(q)) {
                if (q.tag == trace::Tag::Alloc && q.address == first_address) {
                    first_size_bytes = probe.last_record_size();
                    break;
                }
            }
        }
        again.resize(again.size() - first_size_bytes);
        again.insert(again.end(), recoded.begin(), recoded.end());
    }
    body.insert(body.end(), rest.begin(), rest.end());
    again.insert(again.end(), rest.begin(), rest.end());
    RepeatedTrace t;
    t.repetitions = (min_events + body_events - 1) / body_events;
    t.events = t.repetitions * body_events;
    std::ofstream out(path, std::ios::binary);
    std::uint32_t crc = trace::kCrc32c.update(0, head.data(), head.size());
    out.write(reinterpret_cast<const char*>(head.data()),
              static_cast<std::streamsize>(head.size()));
    for (std::uint64_t i = 0; i < t.repetitions; ++i) {
        const auto& b = i == 0 ? body : again;
        crc = trace::kCrc32c.update(crc, b.data(), b.size());
        out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    }
    std::vector<unsigned char> end;
    trace::RecordEncoder().varint(t.events).varint(crc).emit(trace::Tag::End, end);
    out.write(reinterpret_cast<const char*>(end.data()), static_cast<std::streamsize>(end.size()));
    out.close();
    if (!out) {
        throw std::runtime_error("cannot write " + path);
    }
    return t;
}

} // namespace tlsheap::bench
