#include "analysis/handshake_needs.h"

#include "tlsheap/mbedtls_call_sites.h"
#include "tlsheap/profile_trace.h"
#include "tlsheap/replay_engine.h"
#include "tlsheap/trace_format.h"
#include "tlsheap/trace_info.h"
#include "tlsheap/trace_reader.h"
#include "tlsheap/trace_walker.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string_view>
#include <unordered_map>

namespace tlsheap::analysis {

namespace {

using trace::Phase;
using trace::Record;
using trace::Tag;

using tls::kAlert;
using tls::kApplicationData;
using tls::kChangeCipherSpec;
using tls::kHandshake;

bool contains(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
}

std::string activity_share(const std::string& activity) {
    static const std::map<std::string, std::string> names = {
        {"psa_crypto_init", "PSA crypto (psa_crypto_init)"},
        {"drbg_seed", "entropy and DRBG"},
        {"ca_chain_parse", "trusted CA chain"},
        {"own_cert_parse", "own certificate chain"},
        {"own_key_parse", "own private key"},
        {"ssl_config", "SSL configuration"},
        {"ssl_setup", "SSL context (mbedtls_ssl_setup)"},
        {"memory_buffer_alloc_init", "memory_buffer_alloc"},
    };
    const auto it = names.find(activity);
    return it == names.end() ? activity : it->second;
}

// What a live block is, kept by the walker's slot.
struct BlockShare {
    std::string share; // what it is, for the peak breakdown
    std::string chain; // "peer", "trusted CAs", "own" or ""
};

// The second pass: records, chains, and what is alive at the peak (which
// allocation is the peak is known only once the first pass has read it all).
class NeedsReader final : public trace::WalkerHooks {
  public:
    NeedsReader(HandshakeNeeds& needs, std::uint64_t peak_seq) : n_(needs), peak_seq_(peak_seq) {
        certificate_state_ = tls::peer_certificate_state(trace::meta::recorder_side(n_.side));
        tls13_ = n_.protocol == "TLSv1.3";
    }

    void read(const std::string& path) {
        trace::TraceReader reader(path);
        walker_.walk(reader, *this);
        std::vector<PeakShare> shares;
        for (const auto& [what, share] : at_peak_)
            shares.push_back(share);
        std::sort(shares.begin(), shares.end(), [](const PeakShare& a, const PeakShare& b) {
            return a.bytes != b.bytes ? a.bytes > b.bytes : a.what < b.what;
        });
        n_.alive_at_peak = std::move(shares);
        for (const char* owner : {"peer", "trusted CAs", "own"}) {
            const auto it = chains_.find(owner);
            if (it != chains_.end())
                n_.chains.push_back(it->second);
        }
    }

  private:
    // The chains one connection keeps once its handshake is over: the first
    // connection to finish, with what the connections share (in a lifecycle
    // recording every further handshake keeps the same again).
    void on_phase(const Record& r, Phase previous) override {
        if (handshake_ended_ || previous != Phase::Handshake || r.phase == Phase::Handshake)
            return;
        handshake_ended_ = true;
        const std::uint32_t connection = walker_.connection();
        for (const trace::LiveAllocation* b : walker_.live_in_seq_order()) {
            if (b->connection != connection && b->connection != trace::kSharedConnection)
                continue;
            if (const BlockShare& share = shares_[walker_.slot_of(*b)]; !share.chain.empty())
                chains_[share.chain].alive_after_handshake += b->size;
        }
    }

    void on_context(const Record& r) override {
        if (r.tag == Tag::TlsRecord)
            on_record(r);
    }

    void on_alloc(const Record& r, const trace::LiveAllocation* block,
                  std::uint32_t slot) override {
        if (block != nullptr)
            on_alloc(r, *block, slot);
        if (r.seq == peak_seq_)
            snapshot_peak();
    }

    void on_free(const Record& r, trace::FreeKind, const trace::LiveAllocation*,
                 std::uint32_t) override {
        if (r.seq == peak_seq_)
            snapshot_peak();
    }

    // The handshake state being processed, by name ("" before the first step).
    std::string state() const {
        return walker_.stepped() ? walker_.info().state_name(walker_.state()) : std::string();
    }

    void on_alloc(const Record& r, const trace::LiveAllocation& block, std::uint32_t slot) {
        BlockShare b;
        const Phase phase = walker_.phase();
        const std::string state = this->state();
        const std::string& activity = walker_.activity();
        const bool certificate_state = phase == Phase::Handshake && state == certificate_state_;
        if (!activity.empty()) {
            b.share = activity_share(activity);
            if (activity == "ca_chain_parse")
                b.chain = "trusted CAs";
            else if (activity == "own_cert_parse")
                b.chain = "own";
        } else if (certificate_state &&
                   walker_.info().any_function(r.stack, trace::parses_certificate)) {
            b.share = "peer certificate chain";
            b.chain = "peer";
        } else if (phase == Phase::Handshake) {
            b.share = "made in " + (state.empty() ? std::string("HANDSHAKE") : state);
        } else {
            b.share = std::string("made in phase ") + trace::phase_name(phase);
        }
        if (!b.chain.empty()) {
            ChainNeeds& chain = chains_[b.chain];
            chain.owner = b.chain;
            // crt->raw.p: the copy of one certificate; in a lifecycle
            // recording, of the chain the first connection to parse one got.
            if (!chain_connection_.count(b.chain))
                chain_connection_[b.chain] = block.connection;
            if (walker_.info().call_site(r.stack).function == "x509_crt_parse_der_core" &&
                chain_connection_.at(b.chain) == block.connection)
                chain.der.push_back(block.size);
        }
        if (slot >= shares_.size())
            shares_.resize(slot + 1);
        shares_[slot] = std::move(b);
    }

    void snapshot_peak() {
        at_peak_.clear();
        for (auto& [owner, chain] : chains_)
            chain.alive_at_peak = 0;
        for (const trace::LiveAllocation* block : walker_.live_in_seq_order()) {
            const BlockShare& b = shares_[walker_.slot_of(*block)];
            const std::optional<trace::Role> role = walker_.role_of(block->seq);
            const std::string what =
                role ? "record buffer (" + std::string(trace::role_name(*role)) + ")" : b.share;
            PeakShare& share = at_peak_[what];
            share.what = what;
            share.bytes += block->size;
            ++share.blocks;
            if (!b.chain.empty())
                chains_[b.chain].alive_at_peak += block->size;
        }
    }

    void on_record(const Record& r) {
        if (r.flags & trace::kRecordDropped) {
            return; // DTLS: the recorder discarded it; mbedTLS never read it
        }
        DirectionNeeds& d = r.direction == trace::Direction::In ? n_.in : n_.out;
        std::uint64_t& group = r.direction == trace::Direction::In ? group_in_ : group_out_;
        std::string& group_what =
            r.direction == trace::Direction::In ? group_in_what_ : group_out_what_;
        const bool plaintext =
            (r.flags & trace::kRecordPlaintext) != 0 || r.content_type == kChangeCipherSpec;
        const std::uint64_t content =
            plaintext ? r.length : (r.length > n_.expansion ? r.length - n_.expansion : 0);
        ++d.records;
        d.wire_bytes += r.length;
        d.largest_wire = std::max<std::uint64_t>(d.largest_wire, r.length);

        std::string what;
        bool handshake = false;
        switch (r.content_type) {
        case kChangeCipherSpec:
            what = "ChangeCipherSpec";
            break;
        case kAlert:
            what = "alert";
            break;
        case kHandshake:
            handshake = true;
            what = plaintext ? message_names(r) : "encrypted handshake message";
            break;
        case kApplicationData:
            // TLS 1.3 hides the handshake in application_data records.
            handshake = tls13_ && walker_.phase() == Phase::Handshake;
            what = handshake ? "encrypted handshake messages" : "application data";
            break;
        default:
            what = "content type " + std::to_string(r.content_type);
            break;
        }
        if (content > d.largest_content) {
            d.largest_content = content;
            d.largest_what = what;
        }
        if (!handshake)
            return;
        if (plaintext && (r.flags & trace::kRecordContinuesMessage) != 0) {
            group += content; // the tail of a message begun in an earlier record
        } else {
            group = content;
            group_what = what;
        }
        if (group > d.largest_handshake) {
            d.largest_handshake = group;
            d.largest_handshake_what = group_what;
        }
    }

    static std::string message_names(const Record& r) {
        std::string names;
        for (const std::uint8_t t : r.hs_types)
            names += (names.empty() ? "" : " + ") + handshake_type_name(t);
        return names.empty() ? "handshake message (continued)" : names;
    }

    HandshakeNeeds& n_;
    std::uint64_t peak_seq_;
    std::string certificate_state_;
    bool tls13_ = false;
    bool handshake_ended_ = false;
    std::map<std::string, std::uint32_t> chain_connection_; // by chain owner

    trace::TraceWalker walker_;
    std::vector<BlockShare> shares_; // by the walker's slot
    std::map<std::string, PeakShare> at_peak_;
    std::map<std::string, ChainNeeds> chains_;
    std::uint64_t group_in_ = 0;
    std::uint64_t group_out_ = 0;
    std::string group_in_what_;
    std::string group_out_what_;
};

} // namespace

std::string HandshakeNeeds::meta_value(const std::string& key) const {
    const auto it = meta.find(key);
    return it == meta.end() ? std::string() : it->second;
}

std::string handshake_type_name(unsigned type) {
    switch (type) {
    case tls::kHelloRequest:
        return "HelloRequest";
    case tls::kClientHello:
        return "ClientHello";
    case tls::kServerHello:
        return "ServerHello";
    case tls::kHelloVerifyRequest:
        return "HelloVerifyRequest";
    case tls::kNewSessionTicket:
        return "NewSessionTicket";
    case tls::kEndOfEarlyData:
        return "EndOfEarlyData";
    case tls::kEncryptedExtensions:
        return "EncryptedExtensions";
    case tls::kCertificate:
        return "Certificate";
    case tls::kServerKeyExchange:
        return "ServerKeyExchange";
    case tls::kCertificateRequest:
        return "CertificateRequest";
    case tls::kServerHelloDone:
        return "ServerHelloDone";
    case tls::kCertificateVerify:
        return "CertificateVerify";
    case tls::kClientKeyExchange:
        return "ClientKeyExchange";
    case tls::kFinished:
        return "Finished";
    case tls::kKeyUpdate:
        return "KeyUpdate";
    default:
        return "handshake type " + std::to_string(type);
    }
}

std::uint64_t smallest_expansion(const std::string& protocol, const std::string& suite,
                                 std::string& basis) {
    const auto has = [&](std::string_view part) { return contains(suite, part); };
    if (suite.empty()) {
        basis = "no cipher suite was negotiated: encrypted records counted at their wire length";
        return 0;
    }
    if (protocol == "TLSv1.3") {
        const std::uint64_t tag = has("CCM-8") || has("CCM_8") ? 8 : 16;
        basis = "TLS 1.3: " + std::to_string(tag) + "-byte tag + 1 content type byte";
        return tag + 1;
    }
    if (has("GCM") || has("CCM")) {
        const std::uint64_t tag = has("CCM-8") || has("CCM_8") ? 8 : 16;
        basis = "8-byte explicit IV + " + std::to_string(tag) + "-byte tag";
        return 8 + tag;
    }
    if (has("CHACHA20-POLY1305")) {
        basis = "16-byte tag";
        return 16;
    }
    std::uint64_t mac = 0;
    if (suite.ends_with("SHA384"))
        mac = 48;
    else if (suite.ends_with("SHA256"))
        mac = 32;
    else if (suite.ends_with("SHA"))
        mac = 20;
    else if (suite.ends_with("MD5"))
        mac = 16;
    if (has("NULL")) {
        basis = std::to_string(mac) + "-byte MAC";
        return mac;
    }
    if (has("CBC") && mac != 0) {
        const std::uint64_t iv = has("3DES") || has("DES-") ? 8 : 16;
        basis = std::to_string(iv) + "-byte IV + " + std::to_string(mac) +
                "-byte MAC + at least 1 padding byte";
        return iv + mac + 1;
    }
    basis = "expansion of " + suite + " unknown: encrypted records counted at their wire length";
    return 0;
}

namespace {

// The symbolizer names a static function of a library without debug
// information "FILE+0xOFFSET".
std::vector<std::string> unnamed_libraries(const trace::TraceInfo& info) {
    std::set<std::string> found;
    for (const trace::ModuleInfo& m : info.modules()) {
        const std::string file = std::filesystem::path(m.path).filename().string();
        if (!trace::is_mbedtls_shared_library(file.c_str())) {
            continue;
        }
        for (const auto& [id, addresses] : info.stacks()) {
            for (const std::uint64_t address : addresses) {
                const auto* levels = info.frame(address);
                if (levels != nullptr && !levels->empty() &&
                    levels->front().function.rfind(file + "+0x", 0) == 0) {
                    found.insert(file);
                }
            }
        }
    }
    return {found.begin(), found.end()};
}

} // namespace

HandshakeNeeds analyze_handshake(const std::string& trace_path) {
    HandshakeNeeds n;
    n.trace_path = trace_path;
    replay::ReplayOptions options;
    options.models.push_back(replay::ModelSpec::parse("mbedtls-pool"));
    const replay::ReplayResult result = replay::profile_trace(trace_path, options);
    if (result.truncated)
        n.truncation = result.truncation_message;
    const trace::TraceInfo& info = result.info;
    n.meta = info.meta_map();
    for (const auto& [name, value] : info.config())
        n.config[name] = value;
    n.side = n.meta_value(trace::meta::kRecorderSide);
    n.unnamed_libraries = unnamed_libraries(info);
    if (const replay::Outcome* hs = result.handshake_outcome()) {
        n.handshake_ok = hs->ret == 0;
        const auto space = hs->text.find(' ');
        n.protocol = hs->text.substr(0, space);
        if (space != std::string::npos)
            n.ciphersuite = hs->text.substr(space + 1);
    }
    if (const replay::Outcome* f = result.failure()) {
        n.handshake_ok = false;
        n.failure = f->text + " in " + info.state_name(f->state);
    }
    n.expansion = smallest_expansion(n.protocol, n.ciphersuite, n.expansion_basis);
    n.in_content_len = trace::meta_number(n.meta_value(trace::meta::kSslInContentLen));
    n.out_content_len = trace::meta_number(n.meta_value(trace::meta::kSslOutContentLen));
    n.in_buffer_len = trace::meta_number(n.meta_value(trace::meta::kSslInBufferLen));
    n.out_buffer_len = trace::meta_number(n.meta_value(trace::meta::kSslOutBufferLen));
    n.max_fragment_requested =
        trace::meta_number(n.meta_value(trace::meta::kSslMaxFragmentLengthRequested));
    n.live_peak = result.live_peak.bytes;
    n.peak_state = result.live_peak.at.phase == Phase::Handshake
                       ? info.state_name(result.live_peak.at.state)
                       : trace::phase_name(result.live_peak.at.phase);
    n.steady_state = result.live_after_handshake;
    n.min_pool = result.min_pools.at(result.models.front().name);

    NeedsReader(n, result.live_peak.at.seq).read(trace_path);
    return n;
}

} // namespace tlsheap::analysis
