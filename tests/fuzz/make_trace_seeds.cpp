// Writes a small seed for the trace fuzzer from a sample trace: its records
// up to the first N events (Module and Frame records left out: they are
// large and the replay reads them only for reports), closed by a fresh End
// record so that the seed is a complete trace. Usage:
//   make_trace_seeds IN.trace OUT.trace EVENTS
#include "tlsheap/trace_encoder.h"
#include "tlsheap/trace_reader.h"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: make_trace_seeds IN.trace OUT.trace EVENTS\n");
        return 2;
    }
    try {
        using namespace tlsheap::trace;
        const unsigned long long most = std::stoull(argv[3]);
        TraceReader reader(argv[1]);
        std::vector<unsigned char> out =
            encode_header(reader.version_major(), reader.version_minor());
        Record record;
        unsigned long long events = 0;
        while (reader.next(record) && record.tag != Tag::End) {
            const bool event = record.tag == Tag::Alloc || record.tag == Tag::Free;
            if (event && events == most)
                break;
            if (record.tag == Tag::Module || record.tag == Tag::Frame)
                continue;
            events += event ? 1 : 0;
            out.insert(out.end(), reader.last_record_data(),
                       reader.last_record_data() + reader.last_record_size());
        }
        encode_end(out, events);
        std::FILE* f = std::fopen(argv[2], "wb");
        if (f == nullptr || std::fwrite(out.data(), 1, out.size(), f) != out.size() ||
            std::fclose(f) != 0) {
            std::fprintf(stderr, "make_trace_seeds: cannot write %s\n", argv[2]);
            return 1;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_trace_seeds: %s\n", e.what());
        return 1;
    }
    return 0;
}
