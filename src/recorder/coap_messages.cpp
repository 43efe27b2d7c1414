#include "coap_messages.h"

namespace tlsheap::recorder::coap {

namespace {

constexpr unsigned kVersion = 1;
constexpr unsigned char kPayloadMarker = 0xff;
// What a nibble and its extension can say (3.1): 13 adds one byte (13..268),
// 14 two (269..65804); 15 is reserved.
constexpr std::size_t kOneByteBase = 13;
constexpr std::size_t kTwoByteBase = 269;
constexpr std::size_t kMaxExtended = kTwoByteBase + 0xffff;
constexpr std::uint32_t kMaxOptionNumber = 0xffff;

unsigned nibble(std::size_t v) {
    return v < kOneByteBase ? static_cast<unsigned>(v) : v < kTwoByteBase ? 13u : 14u;
}

void put_extension(std::string& out, std::size_t v) {
    if (v >= kTwoByteBase) {
        const std::size_t rest = v - kTwoByteBase;
        out += static_cast<char>(rest >> 8);
        out += static_cast<char>(rest & 0xff);
    } else if (v >= kOneByteBase) {
        out += static_cast<char>(v - kOneByteBase);
    }
}

void put_option(std::string& out, unsigned& previous, unsigned number, const std::string& value) {
    const std::size_t delta = number - previous;
    const std::size_t length = value.size() < kMaxExtended ? value.size() : kMaxExtended;
    previous = number;
    out += static_cast<char>(nibble(delta) << 4 | nibble(length));
    put_extension(out, delta);
    put_extension(out, length);
    out.append(value, 0, length);
}

// A uint option (3.2): big-endian in as few bytes as hold it, 0 in none.
std::string uint_value(unsigned v) {
    std::string out;
    for (; v != 0; v >>= 8) {
        out.insert(out.begin(), static_cast<char>(v & 0xff));
    }
    return out;
}

std::vector<std::string> path_segments(const std::string& path) {
    std::vector<std::string> segments;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string::npos) {
            end = path.size();
        }
        if (end > start) {
            segments.push_back(path.substr(start, end - start));
        }
        start = end + 1;
    }
    return segments;
}

unsigned char byte_at(const std::string& s, std::size_t at) {
    return static_cast<unsigned char>(s[at]);
}

// The nibble's value with its extension read from `d` at `at` (moved past
// it); nothing when the extension runs past the end.
std::optional<std::size_t> extended(unsigned nib, const std::string& d, std::size_t& at) {
    if (nib < 13) {
        return nib;
    }
    const std::size_t bytes = nib == 13 ? 1 : 2;
    if (d.size() - at < bytes) {
        return std::nullopt;
    }
    std::size_t v = nib == 13
                        ? kOneByteBase + byte_at(d, at)
                        : kTwoByteBase + (std::size_t{byte_at(d, at)} << 8 | byte_at(d, at + 1));
    at += bytes;
    return v;
}

std::optional<Message> malformed(std::string& error, std::string what) {
    error = std::move(what);
    return std::nullopt;
}

} // namespace

std::string encode(const Message& m) {
    const std::size_t token_bytes =
        m.token.size() < kMaxTokenBytes ? m.token.size() : kMaxTokenBytes;
    std::string out;
    out += static_cast<char>(kVersion << 6 | static_cast<unsigned>(m.type) << 4 | token_bytes);
    out += static_cast<char>(m.code);
    out += static_cast<char>(m.message_id >> 8);
    out += static_cast<char>(m.message_id & 0xff);
    out.append(m.token, 0, token_bytes);
    unsigned previous = 0;
    for (const std::string& segment : m.uri_path) {
        put_option(out, previous, kUriPath, segment);
    }
    if (m.content_format) {
        put_option(out, previous, kContentFormat, uint_value(*m.content_format));
    }
    if (!m.payload.empty()) {
        out += static_cast<char>(kPayloadMarker);
        out += m.payload;
    }
    return out;
}

std::optional<Message> decode(const std::string& d, std::string& error) {
    error.clear();
    if (d.size() < 4) {
        return malformed(error, "truncated header: " + std::to_string(d.size()) +
                                    " bytes, CoAP's header has 4");
    }
    const unsigned first = byte_at(d, 0);
    if (first >> 6 != kVersion) {
        return malformed(error, "version " + std::to_string(first >> 6) + ", not 1");
    }
    Message m;
    m.type = static_cast<Type>(first >> 4 & 3);
    const std::size_t token_bytes = first & 0x0f;
    if (token_bytes > kMaxTokenBytes) {
        return malformed(error, "token length " + std::to_string(token_bytes) +
                                    " is reserved (at most 8)");
    }
    m.code = byte_at(d, 1);
    m.message_id = static_cast<std::uint16_t>(byte_at(d, 2) << 8 | byte_at(d, 3));
    if (m.code == 0 && d.size() > 4) {
        // 4.1: an Empty message is the header alone.
        return malformed(error, "Empty message (0.00) with " + std::to_string(d.size() - 4) +
                                    " bytes after its header");
    }
    if (d.size() - 4 < token_bytes) {
        return malformed(error, "token of " + std::to_string(token_bytes) +
                                    " bytes runs past the end of the datagram");
    }
    m.token = d.substr(4, token_bytes);
    std::size_t at = 4 + token_bytes;
    std::uint32_t number = 0;
    while (at < d.size()) {
        const unsigned b = byte_at(d, at++);
        if (b == kPayloadMarker) {
            if (at == d.size()) {
                return malformed(error, "payload marker 0xFF with no payload after it");
            }
            m.payload = d.substr(at);
            break;
        }
        if (b >> 4 == 15) {
            return malformed(error, "option delta 15 is reserved (outside the payload marker)");
        }
        if ((b & 0x0f) == 15) {
            return malformed(error, "option length 15 is reserved");
        }
        const auto delta = extended(b >> 4, d, at);
        const auto length = delta ? extended(b & 0x0f, d, at) : std::nullopt;
        if (!length) {
            return malformed(error, "option header runs past the end of the datagram");
        }
        number += static_cast<std::uint32_t>(*delta);
        if (number > kMaxOptionNumber) {
            return malformed(error, "option number " + std::to_string(number) + " beyond 65535");
        }
        if (d.size() - at < *length) {
            return malformed(error, "option " + std::to_string(number) + "'s value of " +
                                        std::to_string(*length) +
                                        " bytes runs past the end of the datagram");
        }
        if (number == kUriPath) {
            m.uri_path.push_back(d.substr(at, *length));
        } else if (number == kContentFormat && *length <= 2 && !m.content_format) {
            // 0..2 bytes (12.3); longer, or a repeat, is read like an unknown
            // elective option (5.4.3, 5.4.5): skipped.
            unsigned v = 0;
            for (std::size_t i = 0; i < *length; ++i) {
                v = v << 8 | byte_at(d, at + i);
            }
            m.content_format = v;
        }
        at += *length;
    }
    return m;
}

std::string get_request(std::uint16_t message_id, const std::string& token,
                        const std::string& path) {
    Message m;
    m.type = Type::Confirmable;
    m.code = kGet;
    m.message_id = message_id;
    m.token = token;
    m.uri_path = path_segments(path);
    return encode(m);
}

std::string path_of(const Message& m) {
    if (m.uri_path.empty()) {
        return "/";
    }
    std::string path;
    for (const std::string& segment : m.uri_path) {
        path += "/" + segment;
    }
    return path;
}

Message answer(const Message& request, const std::string& path, std::uint64_t bytes) {
    Message r;
    r.type = request.type == Type::NonConfirmable ? Type::NonConfirmable : Type::Acknowledgement;
    r.message_id = request.message_id;
    r.token = request.token;
    if (request.code != kGet) {
        r.code = kMethodNotAllowed;
    } else if (request.uri_path != path_segments(path)) {
        r.code = kNotFound;
    } else {
        r.code = kContent;
        r.content_format = kTextPlain;
        r.payload.reserve(static_cast<std::size_t>(bytes));
        for (std::uint64_t i = 0; i < bytes; ++i) {
            r.payload += static_cast<char>('a' + i % 26);
        }
    }
    return r;
}

std::string code_text(std::uint8_t code) {
    // RFC 7252 12.1.1 and 12.1.2, and RFC 7959's block-wise codes (libcoap's
    // server uses them).
    static constexpr struct {
        std::uint8_t code;
        const char* name;
    } kNames[] = {
        {0x00, "Empty"},
        {0x01, "GET"},
        {0x02, "POST"},
        {0x03, "PUT"},
        {0x04, "DELETE"},
        {0x41, "Created"},
        {0x42, "Deleted"},
        {0x43, "Valid"},
        {0x44, "Changed"},
        {0x45, "Content"},
        {0x5f, "Continue"},
        {0x80, "Bad Request"},
        {0x81, "Unauthorized"},
        {0x82, "Bad Option"},
        {0x83, "Forbidden"},
        {0x84, "Not Found"},
        {0x85, "Method Not Allowed"},
        {0x86, "Not Acceptable"},
        {0x88, "Request Entity Incomplete"},
        {0x8c, "Precondition Failed"},
        {0x8d, "Request Entity Too Large"},
        {0x8f, "Unsupported Content-Format"},
        {0xa0, "Internal Server Error"},
        {0xa1, "Not Implemented"},
        {0xa2, "Bad Gateway"},
        {0xa3, "Service Unavailable"},
        {0xa4, "Gateway Timeout"},
        {0xa5, "Proxying Not Supported"},
    };
    const unsigned detail = code & 0x1f;
    std::string text =
        std::to_string(code >> 5) + "." + (detail < 10 ? "0" : "") + std::to_string(detail);
    for (const auto& n : kNames) {
        if (n.code == code) {
            return text + " " + n.name;
        }
    }
    return text;
}

} // namespace tlsheap::recorder::coap
