// Every committed sample trace (traces/*.trace, real recordings) through each
// transform with each option set: a valid allocation stream that the replay
// engine runs through the models without a finding or a broken invariant,
// with every non-event record of the recording passed on in order.
#include "allocation_stream_validator.h"
#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_info.h"
#include "tlsheap/trace_meta.h"
#include "tlsheap/trace_walker.h"
#include "tlsheap/transform.h"
#include "transform_test_support.h"

#include <filesystem>
#include <gtest/gtest.h>
#include <map>

namespace tlsheap::replay {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> sample_traces() {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(fs::path(TLSHEAP_SOURCE_DIR) / "traces"))
        if (e.path().extension() == ".trace")
            names.push_back(e.path().stem().string());
    std::sort(names.begin(), names.end());
    return names;
}

std::string path_of(const std::string& name) {
    return (fs::path(TLSHEAP_SOURCE_DIR) / "traces" / (name + ".trace")).string();
}

const std::vector<std::string> kSpecs = {
    "esp-dynamic",
    "esp-dynamic:free_ca_cert=off,free_config_data=off",
    "esp-dynamic:static_rx=on",
    "esp-dynamic:free_ca_cert=off,free_config_data=off,static_rx=on",
    "axtls-growth",
    "axtls-growth:shared=off",
    "axtls-growth:purge_certs=off",
    "axtls-growth:initial=512",
    "axtls-growth:initial=512,shared=off,purge_certs=off",
    "config-delta:in_content_len=4096,out_content_len=2048",
    "config-delta:tls13=off",
};

std::unique_ptr<RecordSource> transformed(const std::string& spec, const std::string& trace) {
    return make_transform(ModelSpec::parse(spec),
                          testing::OwnedTraceSource::from_file(path_of(trace)));
}

bool added_by_transform(const trace::Record& r) {
    return (r.tag == trace::Tag::Meta && r.key == trace::meta::kTransform) ||
           (r.tag == trace::Tag::Stack && r.stack >= 0xffff0000u) ||
           (r.tag == trace::Tag::Frame && r.address >= 0xffffffffffff0000ull);
}

bool same_record(const trace::Record& a, const trace::Record& b) {
    return a.tag == b.tag && a.key == b.key && a.value == b.value && a.state == b.state &&
           a.phase == b.phase && a.role_seq == b.role_seq && a.length == b.length &&
           a.direction == b.direction && a.stack == b.stack;
}

bool several_connections(const std::string& trace) {
    trace::TraceReader reader(path_of(trace));
    trace::TraceWalker walker;
    walker.walk(reader);
    return walker.connection_count() > trace::kFirstConnection + 1;
}

bool frees_shared_config(const std::string& spec) {
    return spec.rfind("esp-dynamic", 0) == 0 &&
           spec.find("free_ca_cert=off,free_config_data=off") == std::string::npos;
}

class SampleTraceTransform : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {
  protected:
    // esp-dynamic models ESP-IDF's client path only: a server-side recording
    // is refused, in one line that says so, as soon as the stream is read.
    // Nor does it free the CA chain or keys of a config that several
    // connections share: that is refused when the second connection begins.
    bool refused(const std::string& trace, const std::string& spec) {
        trace::TraceReader reader(path_of(trace));
        trace::TraceInfo info;
        trace::Record r;
        while (reader.next(r) && info.absorb(r)) {
        }
        std::string why;
        if (spec.rfind("esp-dynamic", 0) == 0 &&
            info.meta(trace::meta::kRecorderSide) == "server") {
            why = "server-side recording";
        } else if (frees_shared_config(spec) && several_connections(trace)) {
            why = "several connections sharing one mbedtls_ssl_config";
        } else {
            return false;
        }
        auto source = transformed(spec, trace);
        try {
            while (source->next(r)) {
            }
            ADD_FAILURE() << trace << " went through " << spec;
        } catch (const TransformError& e) {
            EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
        }
        return true;
    }
};

TEST_P(SampleTraceTransform, IsAValidStreamThatReplaysCleanly) {
    const auto& [trace, spec] = GetParam();
    if (refused(trace, spec)) {
        return;
    }
    {
        auto source = transformed(spec, trace);
        EXPECT_EQ(validate_allocation_stream(*source), "");
    }
    auto source = transformed(spec, trace);
    ReplayOptions options;
    for (const char* m : {"ideal", "mbedtls-pool", "esp-tlsf"})
        options.models.push_back(ModelSpec::parse(m));
    options.verify_every_event = true;
    const ReplayResult r = replay_trace(*source, options);
    EXPECT_TRUE(r.complete);
    EXPECT_TRUE(r.findings.empty()) << r.findings.front().message;
    EXPECT_TRUE(r.leaks.empty()) << r.leaks.size() << " blocks left";
    EXPECT_TRUE(r.teardown_reached);
    for (const ModelRun& m : r.models) {
        EXPECT_TRUE(m.invariant_violation.empty()) << m.name << ": " << m.invariant_violation;
        EXPECT_EQ(m.failure_count, 0u) << m.name;
    }
}

TEST_P(SampleTraceTransform, PassesEveryNonEventRecordOnInOrder) {
    const auto& [trace, spec] = GetParam();
    if (refused(trace, spec)) {
        return;
    }
    trace::TraceReader reader(path_of(trace));
    std::vector<trace::Record> recorded;
    trace::Record r;
    while (reader.next(r))
        if (r.tag != trace::Tag::Alloc && r.tag != trace::Tag::Free)
            recorded.push_back(r);
    auto source = transformed(spec, trace);
    std::size_t next = 0;
    while (source->next(r)) {
        if (r.tag == trace::Tag::Alloc || r.tag == trace::Tag::Free || added_by_transform(r))
            continue;
        ASSERT_LT(next, recorded.size());
        EXPECT_TRUE(same_record(r, recorded[next])) << "record " << next << " out of order";
        ++next;
    }
    EXPECT_EQ(next, recorded.size());
}

INSTANTIATE_TEST_SUITE_P(EveryTraceEverySpec, SampleTraceTransform,
                         ::testing::Combine(::testing::ValuesIn(sample_traces()),
                                            ::testing::ValuesIn(kSpecs)),
                         [](const auto& info) {
                             std::string name =
                                 std::get<0>(info.param) + "__" + std::get<1>(info.param);
                             for (char& c : name)
                                 if (!std::isalnum(static_cast<unsigned char>(c)))
                                     c = '_';
                             return name;
                         });

ReplayResult replay(RecordSource& source) {
    ReplayOptions options;
    options.models = {ModelSpec::parse("ideal")};
    return replay_trace(source, options);
}

// Between records ESP-IDF holds the idle TX buffer (45) and the RX cache (24):
// after the handshake, the recording's live bytes lose the two static record
// buffers and gain 69, when the CA chain and config data are kept.
class EspSteadyState : public ::testing::TestWithParam<std::string> {};

TEST_P(EspSteadyState, IsIdleTxPlusRxCache) {
    trace::TraceReader reader(path_of(GetParam()));
    const ReplayResult original = replay_trace(reader, ReplayOptions{});
    ASSERT_EQ(original.record_buffers.size(), 2u);
    const std::uint64_t static_buffers =
        original.record_buffers[0].block.size + original.record_buffers[1].block.size;
    auto kept = transformed("esp-dynamic:free_ca_cert=off,free_config_data=off", GetParam());
    const ReplayResult esp = replay(*kept);
    ASSERT_TRUE(original.live_after_handshake && esp.live_after_handshake);
    EXPECT_EQ(*esp.live_after_handshake, *original.live_after_handshake - static_buffers + 45 + 24);
    // FREE_CA_CERT frees the CA chain after SERVER_CERTIFICATE: less again.
    auto freed = transformed("esp-dynamic", GetParam());
    EXPECT_LT(*replay(*freed).live_after_handshake, *esp.live_after_handshake);
}

INSTANTIATE_TEST_SUITE_P(ClientTraces, EspSteadyState,
                         ::testing::Values("tls12-ecdhe-ecdsa-p256", "tls12-ecdhe-rsa-chain",
                                           "tls13-ecdsa-p256",
                                           "tls12-ecdhe-ecdsa-p256-mbedtls228"));

// Several connections of one recording: each is transformed on its own,
// wherever the others' records fall between its own. So every connection's
// part of the transformed stream is what the transform makes of a stream
// holding only the shared part and that connection.
struct ConnectionStreams {
    std::map<std::uint32_t, std::vector<std::uint64_t>> sizes; // allocations, in order
    std::map<std::uint32_t, std::uint64_t> live_after_handshake;
};

ConnectionStreams per_connection(RecordSource& source) {
    struct Hooks : trace::WalkerHooks {
        explicit Hooks(const trace::TraceWalker& w) : walker(w) {}
        void on_alloc(const trace::Record& r, const trace::LiveAllocation* block,
                      std::uint32_t) override {
            if (block != nullptr)
                streams.sizes[walker.connection()].push_back(r.count * r.size);
        }
        void on_phase(const trace::Record& r, trace::Phase) override {
            if (r.phase == trace::Phase::Application)
                streams.live_after_handshake[walker.connection()] =
                    walker.live_bytes_of(walker.connection());
        }
        const trace::TraceWalker& walker;
        ConnectionStreams streams;
    };
    trace::TraceWalker walker;
    Hooks hooks(walker);
    walker.walk(source, hooks);
    return hooks.streams;
}

// The recording without the events and context of every connection but the
// shared part and `kept`.
class OneConnectionSource final : public RecordSource {
  public:
    OneConnectionSource(std::unique_ptr<RecordSource> input, std::uint32_t kept)
        : input_(std::move(input)), kept_(kept) {}
    bool next(trace::Record& out) override {
        while (input_->next(out)) {
            if (out.tag == trace::Tag::Connection)
                current_ = static_cast<std::uint32_t>(out.connection);
            const bool own = current_ == trace::kSharedConnection || current_ == kept_;
            if (own || trace::TraceInfo::describes(out.tag) || out.tag == trace::Tag::End)
                return true;
        }
        return false;
    }
    bool complete() const override { return input_->complete(); }
    bool truncated() const override { return input_->truncated(); }
    std::string truncation_message() const override { return input_->truncation_message(); }

  private:
    std::unique_ptr<RecordSource> input_;
    std::uint32_t kept_;
    std::uint32_t current_ = trace::kSharedConnection;
};

class LifecycleTransform : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(LifecycleTransform, TransformsEachConnectionOnItsOwn) {
    const auto& [trace, spec] = GetParam();
    auto recorded_source = testing::OwnedTraceSource::from_file(path_of(trace));
    const ConnectionStreams recorded = per_connection(*recorded_source);
    ASSERT_GE(recorded.sizes.size(), 3u) << "shared part and two connections";

    auto source = transformed(spec, trace);
    const ConnectionStreams together = per_connection(*source);
    ASSERT_EQ(together.sizes.size(), recorded.sizes.size());
    for (const auto& [c, sizes] : recorded.sizes) {
        if (c == trace::kSharedConnection)
            continue;
        EXPECT_NE(together.sizes.at(c), sizes) << "the transform changed nothing in " << c;
        auto alone_source = make_transform(
            ModelSpec::parse(spec), std::make_unique<OneConnectionSource>(
                                        testing::OwnedTraceSource::from_file(path_of(trace)), c));
        const ConnectionStreams alone = per_connection(*alone_source);
        EXPECT_EQ(together.sizes.at(c), alone.sizes.at(c)) << "connection " << c;
        ASSERT_TRUE(together.live_after_handshake.count(c)) << "connection " << c;
        EXPECT_EQ(together.live_after_handshake.at(c), alone.live_after_handshake.at(c))
            << "connection " << c;
    }
}

INSTANTIATE_TEST_SUITE_P(
    LifecycleTraces, LifecycleTransform,
    ::testing::Combine(::testing::Values("tls12-ecdhe-ecdsa-p256-2x2-together",
                                         "tls13-ecdsa-p256-2-staggered"),
                       ::testing::Values("esp-dynamic:free_ca_cert=off,free_config_data=off",
                                         "esp-dynamic:free_ca_cert=off,free_config_data=off,"
                                         "static_rx=on",
                                         "axtls-growth", "axtls-growth:shared=off",
                                         "config-delta:in_content_len=4096,out_content_len=2048")),
    [](const auto& info) {
        std::string name = std::get<0>(info.param) + "__" + std::get<1>(info.param);
        for (char& c : name)
            if (!std::isalnum(static_cast<unsigned char>(c)))
                c = '_';
        return name;
    });

} // namespace
} // namespace tlsheap::replay
