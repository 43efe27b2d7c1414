// Replay throughput: a synthetic trace of at least 10 million events (a real
// recorded handshake, repeated) streamed from a file through the replay
// engine, one allocator model at a time, on one core. Reports events per
// second per model and the process's peak memory, which must follow the live
// blocks (a few hundred), not the trace length.
#include "tlsheap/min_pool.h"
#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_encoder.h"
#include "tlsheap/trace_reader.h"
#include "tlsheap_version.h"

#include <benchmark/benchmark.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sys/resource.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using namespace tlsheap;

constexpr std::uint64_t kMinEvents = 10'000'000;

struct Synthetic {
    std::string path;
    std::uint64_t events = 0;
    std::uint64_t repetitions = 0;
};

// Description records once, then the recorded connection (SETUP..TEARDOWN,
// every allocation freed) over and over. Free records point back by a
// distance, so copies of the same bytes stay consistent. Addresses are
// delta-coded; the first address of each repetition is re-coded so that
// every repetition reuses the same addresses, as a long recording on one
// heap does (so memory that follows distinct addresses stays bounded).
const Synthetic& synthetic() {
    static const Synthetic s = [] {
        const std::string sample =
            std::string(kBuildSourceDir) + "/traces/tls12-ecdhe-ecdsa-p256.trace";
        trace::TraceReader reader(sample);
        std::vector<unsigned char> head = trace::encode_header();
        std::vector<unsigned char> body;
        std::vector<unsigned char> first_record; // the body's first event with an address
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
            auto& out =
                !in_body || r.tag == trace::Tag::Stack ? head : (first_address ? rest : body);
            out.insert(out.end(), reader.last_record_data(),
                       reader.last_record_data() + reader.last_record_size());
        }
        // Later repetitions: the first allocation's delta goes from the
        // body's last address back to its first.
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
        Synthetic s;
        s.repetitions = (kMinEvents + body_events - 1) / body_events;
        s.events = s.repetitions * body_events;
        s.path = (fs::temp_directory_path() /
                  ("tlsheap-replay-bench-" + std::to_string(::getpid()) + ".trace"))
                     .string();
        std::ofstream out(s.path, std::ios::binary);
        std::uint32_t crc = trace::kCrc32c.update(0, head.data(), head.size());
        out.write(reinterpret_cast<const char*>(head.data()),
                  static_cast<std::streamsize>(head.size()));
        for (std::uint64_t i = 0; i < s.repetitions; ++i) {
            const auto& b = i == 0 ? body : again;
            crc = trace::kCrc32c.update(crc, b.data(), b.size());
            out.write(reinterpret_cast<const char*>(b.data()),
                      static_cast<std::streamsize>(b.size()));
        }
        std::vector<unsigned char> end;
        trace::RecordEncoder().varint(s.events).varint(crc).emit(trace::Tag::End, end);
        out.write(reinterpret_cast<const char*>(end.data()),
                  static_cast<std::streamsize>(end.size()));
        std::fprintf(stderr, "synthetic trace: %llu events (%llu handshakes), %llu MB\n",
                     static_cast<unsigned long long>(s.events),
                     static_cast<unsigned long long>(s.repetitions),
                     static_cast<unsigned long long>(fs::file_size(s.path) >> 20));
        return s;
    }();
    return s;
}

long max_rss_kib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

void BM_DecodeOnly(benchmark::State& state) {
    const Synthetic& s = synthetic();
    for (auto _ : state) {
        trace::TraceReader reader(s.path);
        trace::Record r;
        std::uint64_t n = 0;
        while (reader.next(r)) {
            n += r.tag == trace::Tag::Alloc;
        }
        benchmark::DoNotOptimize(n);
    }
    state.counters["events/s"] = benchmark::Counter(
        static_cast<double>(s.events * state.iterations()), benchmark::Counter::kIsRate);
}

void BM_ReplayModel(benchmark::State& state, const std::string& model) {
    const Synthetic& s = synthetic();
    replay::ReplayOptions options;
    if (!model.empty()) {
        options.models = {replay::ModelSpec::parse(model)};
    }
    std::uint64_t footprint = 0;
    for (auto _ : state) {
        trace::TraceReader reader(s.path);
        const replay::ReplayResult result = replay::replay_trace(reader, options);
        if (result.events != s.events || !result.complete) {
            state.SkipWithError("replay did not read the whole trace");
            return;
        }
        footprint =
            result.models.empty() ? result.live_peak.bytes : result.models.front().footprint;
    }
    state.counters["events/s"] = benchmark::Counter(
        static_cast<double>(s.events * state.iterations()), benchmark::Counter::kIsRate);
    state.counters["footprint"] = static_cast<double>(footprint);
    state.counters["max_rss_MiB"] = static_cast<double>(max_rss_kib()) / 1024.0;
}

BENCHMARK(BM_DecodeOnly)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK_CAPTURE(BM_ReplayModel, engine_only, std::string())
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK_CAPTURE(BM_ReplayModel, ideal, std::string("ideal"))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK_CAPTURE(BM_ReplayModel, mbedtls_pool, std::string("mbedtls-pool"))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK_CAPTURE(BM_ReplayModel, freertos_heap4, std::string("freertos-heap4"))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK_CAPTURE(BM_ReplayModel, esp_tlsf, std::string("esp-tlsf"))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK_CAPTURE(BM_ReplayModel, umm, std::string("umm"))
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);

} // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    std::remove(synthetic().path.c_str());
    return 0;
}
