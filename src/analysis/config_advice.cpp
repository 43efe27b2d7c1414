#include "analysis/config_advice.h"

#include "tlsheap/number_format.h"
#include "tlsheap/profile_trace.h"
#include "tlsheap/record_source.h"
#include "tlsheap/replay_engine.h"
#include "tlsheap/tls_wire.h"
#include "tlsheap/trace_meta.h"
#include "tlsheap/transform.h"

#include <algorithm>
#include <cstdio>
#include <fmt/format.h>
#include <memory>

namespace tlsheap::analysis {

namespace {

constexpr const char* kInContentLen = "MBEDTLS_SSL_IN_CONTENT_LEN";
constexpr const char* kOutContentLen = "MBEDTLS_SSL_OUT_CONTENT_LEN";
constexpr const char* kMaxFragmentLength = "MBEDTLS_SSL_MAX_FRAGMENT_LENGTH";
constexpr const char* kKeepPeerCertificate = "MBEDTLS_SSL_KEEP_PEER_CERTIFICATE";
constexpr const char* kTls13 = "MBEDTLS_SSL_PROTO_TLS1_3";
constexpr const char* kTls12 = "MBEDTLS_SSL_PROTO_TLS1_2";
constexpr const char* kVariableBufferLength = "MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH";

// What a proposal changes that the config-delta transform can replay.
struct Delta {
    std::uint64_t in_content_len = 0;
    std::uint64_t out_content_len = 0;
    bool keep_peer_cert = true;
    bool tls13 = true;
    bool enables_mfl = false;

    std::string transform() const {
        std::string spec = "config-delta:keep_peer_cert=";
        spec += keep_peer_cert ? "on" : "off";
        spec += tls13 ? ",tls13=on" : ",tls13=off";
        if (in_content_len != 0)
            spec += ",in_content_len=" + std::to_string(in_content_len);
        if (out_content_len != 0)
            spec += ",out_content_len=" + std::to_string(out_content_len);
        return spec;
    }
};

std::string bytes(std::uint64_t n) {
    return grouped(n) + " B";
}

bool client_tls12(const HandshakeNeeds& n) {
    return tls::side_from_name(n.side) == tls::Side::Client && n.protocol != "TLSv1.3";
}

// mbedTLS 3.6.3 and later reassemble a handshake message the peer split over
// several records (ssl_msg.c); 2.28 and 3.6.0-3.6.2 refuse it.
bool reassembles_handshake_messages(const HandshakeNeeds& n) {
    const std::string v = n.meta_value(trace::meta::kMbedtlsVersion);
    unsigned major = 0, minor = 0, patch = 0;
    if (std::sscanf(v.c_str(), "%u.%u.%u", &major, &minor, &patch) < 2)
        return false;
    return major > 3 || (major == 3 && (minor > 6 || (minor == 6 && patch >= 3)));
}

std::uint64_t smallest_in_content_len(const HandshakeNeeds& n, std::uint64_t out_len,
                                      bool mfl_available) {
    std::vector<std::uint64_t> candidates = {n.in.largest_content, n.in.largest_handshake};
    for (const std::uint64_t p : {512u, 1024u, 2048u, 4096u}) {
        candidates.push_back(p);
        candidates.push_back(std::max<std::uint64_t>(p, n.in.largest_handshake));
    }
    std::uint64_t best = 16384;
    for (const std::uint64_t c : candidates)
        if (c > 0 && c < best && in_content_len_problem(n, c, out_len, mfl_available).empty())
            best = c;
    return best;
}

// The recorded side's figures, or those of the trace replayed through a
// config-delta transform.
HeapFigures figures(const std::string& trace, const std::string& transform) {
    const std::vector<replay::ModelSpec> models = {replay::ModelSpec::parse("mbedtls-pool")};
    const replay::SourceFactory open = [&]() -> std::unique_ptr<replay::RecordSource> {
        auto file = std::make_unique<replay::TraceFileSource>(trace);
        if (transform.empty())
            return file;
        return replay::make_transform(replay::ModelSpec::parse(transform), std::move(file));
    };
    replay::ReplayOptions options;
    options.models = models;
    const replay::ReplayResult r = replay::profile_trace(open, options);
    HeapFigures f;
    f.live_peak = r.live_peak.bytes;
    f.steady_state = r.live_after_handshake;
    f.min_pool = r.min_pools.at(r.models.front().name);
    return f;
}

const ChainNeeds* peer_chain(const HandshakeNeeds& n) {
    for (const ChainNeeds& c : n.chains)
        if (c.owner == "peer")
            return &c;
    return nullptr;
}

std::string der_list(const ChainNeeds& c) {
    std::vector<std::string> parts;
    for (const std::uint64_t d : c.der)
        parts.push_back(grouped(d));
    return fmt::format("{}", fmt::join(parts, " + "));
}

// Reads what the transform can replay from a list of changes; names the
// first change it cannot.
std::string delta_of(const std::vector<ConfigChange>& changes, Delta& d) {
    for (const ConfigChange& c : changes) {
        std::uint64_t value = 0;
        const bool number = c.set && !c.value.empty() &&
                            std::all_of(c.value.begin(), c.value.end(),
                                        [](char ch) { return ch >= '0' && ch <= '9'; });
        if (number)
            value = std::stoull(c.value.substr(0, 6));
        if (c.name == kInContentLen && number && value > 0 && value <= 16384)
            d.in_content_len = value;
        else if (c.name == kOutContentLen && number && value > 0 && value <= 16384)
            d.out_content_len = value;
        else if (c.name == kKeepPeerCertificate && !c.set)
            d.keep_peer_cert = false;
        else if (c.name == kTls13 && !c.set)
            d.tls13 = false;
        else if (c.name == kMaxFragmentLength && c.set)
            d.enables_mfl = true;
        else
            return c.to_string();
    }
    return "";
}

std::string accuracy_of(const Delta& d) {
    if (d.keep_peer_cert && d.tls13)
        return "exact for this handshake: only the record buffers change size";
    return "approximate: the allocations the change removes are replayed away, but structures "
           "whose size depends on the config (the SSL context, handshake and session) are not "
           "seen";
}

} // namespace

std::string ConfigChange::to_string() const {
    if (!set)
        return "--unset " + name;
    return "--set " + name + (value.empty() ? "" : "=" + value);
}

std::string in_content_len_problem(const HandshakeNeeds& n, std::uint64_t len,
                                   std::uint64_t out_len, bool mfl_available) {
    if (len < n.in.largest_handshake)
        return fmt::format("the largest handshake message received, {} ({}), does not fit",
                           bytes(n.in.largest_handshake), n.in.largest_handshake_what);
    const std::uint64_t mfl = mfl_available ? tls::max_fragment_length_for(len) : 0;
    if (mfl == 0) {
        if (len < n.in.largest_content)
            return fmt::format("the largest record received, {} of {}, does not fit",
                               bytes(n.in.largest_content), n.in.largest_what);
        return "";
    }
    // mbedtls_ssl_conf_max_frag_len refuses a length above
    // MBEDTLS_TLS_EXT_ADV_CONTENT_LEN, the smaller of IN_ and OUT_CONTENT_LEN.
    if (mfl > std::min(len, out_len))
        return fmt::format("the client would ask for max_fragment_length {}, which mbedTLS "
                           "refuses above the smaller of IN_CONTENT_LEN and OUT_CONTENT_LEN ({})",
                           mfl, std::min(len, out_len));
    if (mfl < n.out.largest_handshake)
        return fmt::format("the client would ask for max_fragment_length {}, and its own "
                           "largest handshake message, {} ({}), does not fit one record",
                           mfl, bytes(n.out.largest_handshake), n.out.largest_handshake_what);
    if (mfl < n.in.largest_handshake && !reassembles_handshake_messages(n))
        return fmt::format("the server would split the {} {} into {}-byte records, and mbedTLS "
                           "{} cannot reassemble a handshake message (3.6.3 can)",
                           bytes(n.in.largest_handshake), n.in.largest_handshake_what, mfl,
                           n.meta_value(trace::meta::kMbedtlsVersion));
    return "";
}

std::string out_content_len_problem(const HandshakeNeeds& n, std::uint64_t len,
                                    std::uint64_t in_len, bool mfl_available) {
    if (len < n.out.largest_handshake)
        return fmt::format("the largest handshake message sent, {} ({}), does not fit",
                           bytes(n.out.largest_handshake), n.out.largest_handshake_what);
    const std::uint64_t mfl = mfl_available ? tls::max_fragment_length_for(in_len) : 0;
    if (mfl > len)
        return fmt::format("the client would ask for max_fragment_length {} (IN_CONTENT_LEN {}), "
                           "which mbedTLS refuses above OUT_CONTENT_LEN",
                           mfl, in_len);
    return "";
}

std::uint64_t smallest_out_content_len(const HandshakeNeeds& n, std::uint64_t in_len,
                                       bool mfl_available) {
    const std::uint64_t mfl = mfl_available ? tls::max_fragment_length_for(in_len) : 0;
    return std::max(n.out.largest_handshake, mfl);
}

Advice advise(const HandshakeNeeds& n, const std::vector<ConfigChange>& try_changes) {
    Advice advice;
    advice.now = figures(n.trace_path, "");
    const bool mfl_now = client_tls12(n) && n.defines(kMaxFragmentLength);
    std::vector<std::pair<Proposal, Delta>> own;

    // Record buffers: the smallest that carry what this handshake carried.
    std::uint64_t in_len = n.in_content_len;
    if (n.in.records > 0 && n.in_content_len > 0) {
        const std::uint64_t len = smallest_in_content_len(n, n.out_content_len, mfl_now);
        const std::uint64_t mfl = mfl_now ? tls::max_fragment_length_for(len) : 0;
        if (len < n.in_content_len) {
            in_len = len;
            Proposal p;
            p.title = "smallest MBEDTLS_SSL_IN_CONTENT_LEN that carries every record received";
            p.changes = {{true, kInContentLen, std::to_string(len)}};
            if (mfl != 0) {
                p.why = fmt::format(
                    "the client asks the server for max_fragment_length {} "
                    "(mbedtls_ssl_conf_max_frag_len, as tlsheap's recorder does below 16384), "
                    "so records stay within {} B; the buffer must still hold the largest "
                    "handshake message received, {} ({})",
                    mfl, mfl, bytes(n.in.largest_handshake), n.in.largest_handshake_what);
            } else {
                // Only this exchange's records are known: a peer that sends
                // more (longer application data) is refused with
                // MBEDTLS_ERR_SSL_INVALID_RECORD, so the user must know the bound.
                p.why = fmt::format("the largest record received carried {} of {} ({} on the "
                                    "wire); nothing caps the peer's records, so this holds only "
                                    "while the peer never sends more than this exchange did",
                                    bytes(n.in.largest_content), n.in.largest_what,
                                    bytes(n.in.largest_wire));
            }
            Delta d;
            d.in_content_len = len;
            own.emplace_back(std::move(p), d);
        } else {
            advice.notes.push_back(
                fmt::format("{}: {} is already the smallest that carries every record received",
                            kInContentLen, n.in_content_len));
        }
    }
    // A client without MBEDTLS_SSL_MAX_FRAGMENT_LENGTH could ask for smaller records.
    if (client_tls12(n) && !n.defines(kMaxFragmentLength) && n.in.records > 0) {
        const std::uint64_t len = smallest_in_content_len(n, n.out_content_len, true);
        if (len < in_len) {
            Proposal p;
            p.title = "maximum fragment length, and a buffer that only holds handshake messages";
            p.changes = {{true, kMaxFragmentLength, ""},
                         {true, kInContentLen, std::to_string(len)}};
            p.why = fmt::format(
                "with MBEDTLS_SSL_MAX_FRAGMENT_LENGTH the client asks for max_fragment_length {} "
                "(mbedtls_ssl_conf_max_frag_len) and the server keeps records within it; the "
                "buffer must still hold the largest handshake message received, {} ({})",
                tls::max_fragment_length_for(len), bytes(n.in.largest_handshake),
                n.in.largest_handshake_what);
            Delta d;
            d.in_content_len = len;
            d.enables_mfl = true;
            in_len = len;
            own.emplace_back(std::move(p), d);
        }
    }
    if (n.out.records > 0 && n.out_content_len > 0 && n.out.largest_handshake > 0) {
        const std::uint64_t len = smallest_out_content_len(n, n.in_content_len, mfl_now);
        if (len < n.out_content_len) {
            Proposal p;
            p.title =
                "smallest MBEDTLS_SSL_OUT_CONTENT_LEN that carries every handshake message sent";
            p.changes = {{true, kOutContentLen, std::to_string(len)}};
            p.why = fmt::format("the largest handshake message sent was {} ({}); application data "
                                "is then sent in records of at most {}, mbedTLS splitting larger "
                                "writes",
                                bytes(len), n.out.largest_handshake_what, bytes(len));
            Delta d;
            d.out_content_len = len;
            own.emplace_back(std::move(p), d);
        }
    }
    // The peer's certificate chain, kept in the session for its lifetime.
    const ChainNeeds* chain = peer_chain(n);
    if (n.defines(kKeepPeerCertificate) && chain != nullptr && chain->alive_after_handshake > 0) {
        if (!n.unnamed_libraries.empty()) {
            advice.notes.push_back(fmt::format(
                "{} off: not proposed: the peer's chain costs {} after the handshake, but mbedTLS "
                "ran from {} without debug information, where the chain's DER copies (made in a "
                "static function) cannot be told apart; record the program linked with an export "
                "(tlsheap build --export) to weigh it",
                kKeepPeerCertificate, bytes(chain->alive_after_handshake),
                fmt::join(n.unnamed_libraries, ", ")));
        } else if (n.protocol == "TLSv1.3") {
            advice.notes.push_back(fmt::format(
                "{} off: not proposed: the peer's chain costs {} after the handshake, but mbedTLS "
                "requires it for TLS 1.3",
                kKeepPeerCertificate, bytes(chain->alive_after_handshake)));
        } else {
            Proposal p;
            p.title = "do not keep the peer's certificate chain after verifying it";
            p.changes = {{false, kKeepPeerCertificate, ""}};
            p.why = fmt::format(
                "the peer's chain ({} certificate(s), {} B of DER) holds {} at the live peak and "
                "{} after the handshake; without it mbedTLS parses the chain without copying the "
                "DER, frees it after verification and keeps a digest (renegotiation checks the "
                "peer by it; mbedtls_ssl_get_peer_cert() then returns NULL)",
                chain->der.size(), der_list(*chain), bytes(chain->alive_at_peak),
                bytes(chain->alive_after_handshake));
            Delta d;
            d.keep_peer_cert = false;
            if (n.defines(kTls13)) {
                p.changes.push_back({false, kTls13, ""});
                p.why += "; TLS 1.3 goes too (mbedTLS requires the chain for it; this handshake "
                         "was TLS 1.2)";
                d.tls13 = false;
            }
            own.emplace_back(std::move(p), d);
        }
    }
    // TLS 1.3 compiled in, TLS 1.2 negotiated: the client prepared for both.
    const bool tls13_in_keep = !own.empty() && !own.back().second.tls13;
    if (n.defines(kTls13) && n.defines(kTls12) && n.protocol == "TLSv1.2" && !tls13_in_keep) {
        Proposal p;
        p.title = "TLS 1.2 only";
        p.changes = {{false, kTls13, ""}};
        p.why = "this handshake negotiated TLS 1.2; the allocations TLS 1.3 code made anyway (a "
                "client's key share, say) go";
        Delta d;
        d.tls13 = false;
        own.emplace_back(std::move(p), d);
    }
    if (!n.defines(kVariableBufferLength)) {
        advice.notes.push_back(fmt::format(
            "{}: not proposed: it shrinks the record buffers only after the handshake, to a "
            "negotiated maximum fragment length, so it cannot lower the live peak ({} in {})",
            kVariableBufferLength, bytes(n.live_peak), n.peak_state));
    }

    // Everything together: the smallest input buffer proposed, the output
    // buffer then large enough for the fragment length it makes the client ask for.
    if (own.size() >= 2) {
        Proposal all;
        all.title = "all of the above together";
        all.why = "the proposals combined";
        Delta d;
        for (const auto& [p, pd] : own) {
            if (pd.in_content_len != 0) {
                d.in_content_len = pd.in_content_len;
                d.enables_mfl = d.enables_mfl || pd.enables_mfl;
            }
            d.keep_peer_cert = d.keep_peer_cert && pd.keep_peer_cert;
            d.tls13 = d.tls13 && pd.tls13;
        }
        const std::uint64_t in = d.in_content_len != 0 ? d.in_content_len : n.in_content_len;
        const bool mfl = client_tls12(n) && (n.defines(kMaxFragmentLength) || d.enables_mfl);
        const std::uint64_t out = smallest_out_content_len(n, in, mfl);
        if (n.out.largest_handshake > 0 && out < n.out_content_len) {
            d.out_content_len = out;
            if (out != n.out.largest_handshake)
                all.why += fmt::format("; OUT_CONTENT_LEN {} rather than {}: mbedTLS refuses a "
                                       "max_fragment_length ({}) above it",
                                       out, n.out.largest_handshake, out);
        }
        if (!d.keep_peer_cert)
            all.changes.push_back({false, kKeepPeerCertificate, ""});
        if (!d.tls13)
            all.changes.push_back({false, kTls13, ""});
        if (d.enables_mfl)
            all.changes.push_back({true, kMaxFragmentLength, ""});
        if (d.in_content_len != 0)
            all.changes.push_back({true, kInContentLen, std::to_string(d.in_content_len)});
        if (d.out_content_len != 0)
            all.changes.push_back({true, kOutContentLen, std::to_string(d.out_content_len)});
        own.emplace_back(std::move(all), d);
    }

    for (auto& [p, d] : own) {
        p.accuracy = accuracy_of(d);
        p.transform = d.transform();
        p.predicted = figures(n.trace_path, p.transform);
        advice.proposals.push_back(std::move(p));
    }

    if (!try_changes.empty()) {
        Proposal p;
        p.title = "yours (--try-set/--try-unset)";
        p.user = true;
        p.changes = try_changes;
        p.why = "as asked";
        Delta d;
        const std::string unreadable = delta_of(try_changes, d);
        const bool mfl = client_tls12(n) && (n.defines(kMaxFragmentLength) || d.enables_mfl);
        const std::uint64_t in = d.in_content_len != 0 ? d.in_content_len : n.in_content_len;
        const std::uint64_t out = d.out_content_len != 0 ? d.out_content_len : n.out_content_len;
        if (d.in_content_len != 0 || d.out_content_len != 0) {
            p.predicted_break = in_content_len_problem(n, in, out, mfl);
            if (p.predicted_break.empty())
                p.predicted_break = out_content_len_problem(n, out, in, mfl);
        }
        if (p.predicted_break.empty() && !d.keep_peer_cert && n.protocol == "TLSv1.3")
            p.predicted_break = "TLS 1.3 needs " + std::string(kKeepPeerCertificate);
        if (!p.predicted_break.empty()) {
            p.not_predicted = "predicted to break the handshake";
        } else if (!unreadable.empty()) {
            p.not_predicted = "no prediction for " + unreadable + "; --verify measures it";
        } else {
            p.accuracy = accuracy_of(d);
            p.transform = d.transform();
            p.predicted = figures(n.trace_path, p.transform);
        }
        advice.proposals.push_back(std::move(p));
    }
    return advice;
}

} // namespace tlsheap::analysis
