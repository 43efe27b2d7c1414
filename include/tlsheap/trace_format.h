// The tlsheap trace format: constants and the byte-level encoding shared by the
// recorder (which writes traces inside the profiled process) and the host tools
// (which read them). Header-only and free of third-party code, because the
// recorder is compiled with every mbedTLS variant and for every target ABI.
//
// Layout (docs/trace-format.md is the full description):
//
//   file    := magic[8] major:u16le minor:u16le record*
//   record  := tag:u8 length:varint payload[length]
//
// Every record carries its payload length, so a reader skips record tags it
// does not know from a newer minor version, and a truncated file ends at the
// last record whose payload is complete. Integers inside payloads are LEB128
// varints; signed ones are zigzag-coded; strings are varint length + bytes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tlsheap::trace {

inline constexpr unsigned char kMagic[8] = {0x89, 'T', 'L', 'S', 'H', 'E', 'A', 'P'};
inline constexpr std::uint16_t kVersionMajor = 1;
// 1.1: Connection records (several connections in one trace).
// 1.2: Resumed and NotResumed outcomes (session resumption).
// 1.3: EarlyData outcomes (TLS 1.3 0-RTT data on a resumed session).
// 1.4: StackHighWater records (the recorder ran on a painted stack).
// 1.5: DTLS TlsRecords (flag Datagram) end with their epoch and sequence.
inline constexpr std::uint16_t kVersionMinor = 5;
inline constexpr std::size_t kHeaderSize = 12;

// Upper bound on one record's payload: a reader treats a larger length as
// corruption instead of trying to buffer it.
inline constexpr std::uint64_t kMaxRecordPayload = 1u << 24;

// Deepest call stack the recorder keeps (innermost frames first).
inline constexpr unsigned kMaxStackDepth = 48;

enum class Tag : std::uint8_t {
    // --- description of the recording (before the first event) ---
    Meta = 0x01,      // key:str value:str
    Config = 0x02,    // name:str value:str   one effective-config macro
    StateName = 0x03, // id:varint name:str   mbedTLS handshake state, prefix stripped
    Module = 0x04,    // id:varint start:varint end:varint bias:varint path:str build_id:str
    Stack = 0x05,     // id:varint count:varint frame[count]: zigzag delta from previous frame
    Frame = 0x06,     // symbolized return address, appended by the host (see FrameRecord)

    // --- allocation events: each one increments the event sequence (first is 1) ---
    Alloc = 0x10, // dt_ns:varint count:varint size:varint addr:zigzag-delta stack:varint
    Free = 0x11,  // dt_ns:varint addr:zigzag-delta alloc_seq_back:varint stack:varint

    // --- context changes: apply to every event after them ---
    Phase = 0x20,      // phase:varint
    StepBegin = 0x21,  // state:varint             one mbedtls_ssl_handshake_step() call
    StepEnd = 0x22,    // state_after:varint ret:zigzag
    Activity = 0x23,   // begin:varint name:str    e.g. "ca_chain_parse" inside SETUP
    Connection = 0x24, // connection:varint       the connection whose code runs (1.1)

    // --- what crossed the transport, and what the allocations are ---
    TlsRecord = 0x30, // see TlsRecordFlags
    Role = 0x31,      // alloc_seq:varint role:varint

    // --- results ---
    Outcome = 0x40,   // what:varint ret:zigzag state:varint text:str
    PoolStats = 0x41, // the real memory_buffer_alloc's own statistics
    // deepest:varint base:varint   the stack since the previous StackHighWater
    // (or the start), for the context current when it is written (1.4)
    StackHighWater = 0x42,
    End = 0x7f, // event_count:varint crc32c:varint of every byte before this record
};

// "StepBegin" for Tag::StepBegin; "" for a tag of a newer minor version.
inline constexpr const char* tag_name(Tag tag) {
    switch (tag) {
    case Tag::Meta:
        return "Meta";
    case Tag::Config:
        return "Config";
    case Tag::StateName:
        return "StateName";
    case Tag::Module:
        return "Module";
    case Tag::Stack:
        return "Stack";
    case Tag::Frame:
        return "Frame";
    case Tag::Alloc:
        return "Alloc";
    case Tag::Free:
        return "Free";
    case Tag::Phase:
        return "Phase";
    case Tag::StepBegin:
        return "StepBegin";
    case Tag::StepEnd:
        return "StepEnd";
    case Tag::Activity:
        return "Activity";
    case Tag::Connection:
        return "Connection";
    case Tag::TlsRecord:
        return "TlsRecord";
    case Tag::Role:
        return "Role";
    case Tag::Outcome:
        return "Outcome";
    case Tag::PoolStats:
        return "PoolStats";
    case Tag::StackHighWater:
        return "StackHighWater";
    case Tag::End:
        return "End";
    }
    return "";
}

// Upper bound on a handshake state id (StepBegin, StepEnd, StateName,
// Outcome): mbedTLS numbers its states from 0 and has a few dozen. Tools
// index tables by state, so a reader refuses larger ids.
inline constexpr std::uint64_t kMaxStateId = 255;

// Connection ids (Connection records). 0 is what every connection shares
// (PSA, the DRBG, the CA chain, the own certificate and key, the
// ssl_config); 1..N are the connections, numbered in the order they are set
// up. Events take the connection of the last Connection record.
inline constexpr std::uint32_t kSharedConnection = 0;
inline constexpr std::uint32_t kFirstConnection = 1;
// Sanity bound for a reader: more connections than any recording makes.
// Connections are numbered in the order they are set up, so a Connection
// record names one seen before or the next one; a reader refuses a gap
// (tools size per-connection tables by the highest id).
inline constexpr std::uint64_t kMaxConnectionId = 1u << 20;

// The Activity that wraps mbedtls_ssl_setup. A trace without Connection
// records (format 1.0) had one connection: its events belong to connection
// 0 until this activity first begins, to connection 1 from then on.
inline constexpr char kActivitySslSetup[] = "ssl_setup";

enum class Phase : std::uint8_t {
    Setup = 0,
    Handshake = 1,
    Application = 2,
    Close = 3,
    Teardown = 4,
};
inline constexpr unsigned kPhaseCount = 5;

inline constexpr const char* phase_name(Phase p) {
    switch (p) {
    case Phase::Setup:
        return "SETUP";
    case Phase::Handshake:
        return "HANDSHAKE";
    case Phase::Application:
        return "APPLICATION";
    case Phase::Close:
        return "CLOSE";
    case Phase::Teardown:
        return "TEARDOWN";
    }
    return "?";
}

// What an allocation is, when the recorder knows it for certain (it compares
// the library's own pointers after the call that made them).
enum class Role : std::uint8_t {
    InBuffer = 1,  // ssl->in_buf: the record input buffer
    OutBuffer = 2, // ssl->out_buf: the record output buffer
};

inline constexpr const char* role_name(Role r) {
    switch (r) {
    case Role::InBuffer:
        return "in_buf";
    case Role::OutBuffer:
        return "out_buf";
    }
    return "?";
}

enum class Direction : std::uint8_t { Out = 0, In = 1 };

// TlsRecord payload:
//   direction:varint content_type:varint version:varint length:varint
//   flags:varint hs_count:varint hs_type[hs_count]:varint
//   [epoch:varint sequence:varint]   when flags has kRecordDatagram (1.5)
// length is the record's payload length (the 5-byte TLS header, or the
// 13-byte DTLS header and any connection ID, excluded). hs_type lists the
// handshake messages that start in this record, when the record is
// plaintext; flag ContinuesMessage says its first bytes finish a message
// begun in an earlier record (DTLS: a fragment with fragment_offset > 0).
// epoch is at most 65535 and sequence (the DTLS record sequence number) at
// most 2^48-1; a reader refuses larger values.
enum TlsRecordFlags : std::uint8_t {
    kRecordPlaintext = 1,        // handshake bytes were readable (before ChangeCipherSpec)
    kRecordContinuesMessage = 2, // starts with the tail of a fragmented handshake message
    // DTLS (1.5): a handshake fragment in it is shorter than its message, so
    // the peer reassembles the message.
    kRecordFragment = 4,
    // DTLS (1.5): the record repeats one sent before in its direction (a
    // retransmitted flight; see transport_tap.h for the rule).
    kRecordRetransmission = 8,
    // DTLS (1.5): the recorder discarded its datagram on purpose (--drop-datagram).
    kRecordDropped = 16,
    // DTLS (1.5): the record came in a UDP datagram; epoch and sequence follow.
    kRecordDatagram = 32,
};

// "fragment" for kRecordFragment: the names `tlsheap trace` and the viewers
// show, in bit order; nullptr for a bit of a newer minor version.
inline constexpr const char* record_flag_name(unsigned flag) {
    switch (flag) {
    case kRecordPlaintext:
        return "plaintext";
    case kRecordContinuesMessage:
        return "continues_message";
    case kRecordFragment:
        return "fragment";
    case kRecordRetransmission:
        return "retransmission";
    case kRecordDropped:
        return "dropped";
    case kRecordDatagram:
        return "datagram";
    default:
        return nullptr;
    }
}

// Outcome payload `what`.
enum class OutcomeKind : std::uint8_t {
    Handshake = 1,   // ret 0: handshake complete; text = "TLSv1.2 TLS-ECDHE-..."
    Application = 2, // ret 0: scripted exchange complete; text = "sent N received M"
    Close = 3,
    Failure = 4, // ret = mbedTLS error or -errno; state = state at failure; text = message
    // Right after a Handshake outcome, in a run that resumes (1.2): the
    // handshake resumed a session; text = "session-id" or "ticket".
    Resumed = 5,
    // The client offered a session but the server did a full handshake (1.2).
    NotResumed = 6,
    // After a TLS 1.3 handshake of a run with early data (1.3): what became
    // of the 0-RTT data; ret = EarlyDataStatus, text = "N bytes".
    EarlyData = 7,
};
// The highest OutcomeKind each minor version writes.
inline constexpr std::uint8_t last_outcome_kind(std::uint16_t minor) {
    if (minor >= 3) {
        return static_cast<std::uint8_t>(OutcomeKind::EarlyData);
    }
    return minor >= 2 ? static_cast<std::uint8_t>(OutcomeKind::NotResumed)
                      : static_cast<std::uint8_t>(OutcomeKind::Failure);
}

// EarlyData outcome `ret`: the server read the 0-RTT data; it skipped it
// (the client sends it again after the handshake); or the client had none
// to send because the session it resumed does not allow early data.
enum class EarlyDataStatus : std::uint8_t {
    Accepted = 1,
    Rejected = 2,
    NotOffered = 3,
};
inline constexpr std::uint8_t kLastEarlyDataStatus =
    static_cast<std::uint8_t>(EarlyDataStatus::NotOffered);

// PoolStats payload (present when the recording ran on mbedTLS's own
// memory_buffer_alloc): pool_size header_size max_used max_blocks cur_used
// cur_blocks pool_base, all varints.

// StackHighWater payload (1.4): bytes below the top of the painted stack the
// recorder ran on (its body's first frame). `deepest` is the deepest word the
// interval wrote, the recorder's own work inside mbedTLS's calls left out;
// `base` is the depth of the recorder frame that began the interval, so that
// deepest - base is what mbedTLS used below the call the recorder made. The
// Meta kStackPainted says how large the painted stack was. A reader refuses
// values above kMaxStackBytes or deepest < base.
inline constexpr std::uint64_t kMaxStackBytes = 1ull << 30;

// Frame payload (host-written): addr:varint count:varint then count entries of
//   function:str file:str line:varint flags:varint
// innermost inline level first. flags bit 0: the code is mbedTLS library code.
enum FrameFlags : std::uint8_t {
    kFrameInMbedtls = 1,
};

// File names of mbedTLS built as shared libraries (libmbedtls.so.14,
// libmbedcrypto.so.2.28.3, ...): a Module so named is mbedTLS code even
// without debug information, and the preload shim records what it allocates.
inline constexpr const char* kMbedtlsSharedLibraryPrefixes[] = {"libmbedtls.so", "libmbedx509.so",
                                                                "libmbedcrypto.so"};

inline bool is_mbedtls_shared_library(const char* file_name) {
    for (const char* prefix : kMbedtlsSharedLibraryPrefixes) {
        std::size_t i = 0;
        while (prefix[i] != '\0' && file_name[i] == prefix[i]) {
            ++i;
        }
        if (prefix[i] == '\0') {
            return true;
        }
    }
    return false;
}

// --- byte-level primitives --------------------------------------------------

inline constexpr std::uint64_t zigzag_encode(std::int64_t v) {
    return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}

inline constexpr std::int64_t zigzag_decode(std::uint64_t v) {
    return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

// Writes v as LEB128 into out (at least 10 bytes); returns bytes written.
inline std::size_t varint_encode(std::uint64_t v, unsigned char* out) {
    std::size_t n = 0;
    while (v >= 0x80) {
        out[n++] = static_cast<unsigned char>(v | 0x80);
        v >>= 7;
    }
    out[n++] = static_cast<unsigned char>(v);
    return n;
}

inline constexpr std::size_t kMaxVarintBytes = 10;

// Reads one varint from [p, end). Returns bytes consumed, 0 if the input ends
// before the varint does or the varint is longer than 64 bits.
inline std::size_t varint_decode(const unsigned char* p, const unsigned char* end,
                                 std::uint64_t& v) {
    std::uint64_t result = 0;
    unsigned shift = 0;
    for (std::size_t i = 0; p + i < end && i < kMaxVarintBytes; ++i) {
        const std::uint64_t byte = p[i];
        if (shift == 63 && (byte & 0x7e) != 0) {
            return 0;
        }
        result |= (byte & 0x7f) << shift;
        if ((byte & 0x80) == 0) {
            v = result;
            return i + 1;
        }
        shift += 7;
    }
    return 0;
}

// CRC-32C (Castagnoli, reflected 0x82F63B78), incremental: pass the
// previous return value as `crc` (start with 0). Castagnoli rather than the
// IEEE polynomial because x86 (SSE4.2) and ARMv8 compute it in hardware; this
// portable version (slicing-by-8) is what the recorder uses on every target,
// and the host reader switches to the instruction where the CPU has it.
class Crc32c {
  public:
    constexpr Crc32c() : table_{} {
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k) {
                c = (c & 1) ? 0x82F63B78u ^ (c >> 1) : c >> 1;
            }
            table_[0][i] = c;
        }
        for (std::uint32_t i = 0; i < 256; ++i) {
            for (int t = 1; t < 8; ++t) {
                table_[t][i] = (table_[t - 1][i] >> 8) ^ table_[0][table_[t - 1][i] & 0xff];
            }
        }
    }
    constexpr std::uint32_t update(std::uint32_t crc, const unsigned char* p, std::size_t n) const {
        crc = ~crc;
        while (n >= 8) {
            const std::uint32_t lo =
                crc ^
                (static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
                 static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24);
            crc = table_[7][lo & 0xff] ^ table_[6][(lo >> 8) & 0xff] ^
                  table_[5][(lo >> 16) & 0xff] ^ table_[4][lo >> 24] ^ table_[3][p[4]] ^
                  table_[2][p[5]] ^ table_[1][p[6]] ^ table_[0][p[7]];
            p += 8;
            n -= 8;
        }
        for (std::size_t i = 0; i < n; ++i) {
            crc = table_[0][(crc ^ p[i]) & 0xff] ^ (crc >> 8);
        }
        return ~crc;
    }

  private:
    std::uint32_t table_[8][256];
};

inline constexpr Crc32c kCrc32c{};

} // namespace tlsheap::trace
