// CoAP messages (RFC 7252, section 3), only what a device's GET over DTLS
// uses: the header, the token, Uri-Path and Content-Format options, the
// payload. Other options are read past, not kept. Standard C++ only:
// compiled into the recorder of every variant and ABI.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tlsheap::recorder::coap {

enum class Type : std::uint8_t {
    Confirmable = 0,
    NonConfirmable = 1,
    Acknowledgement = 2,
    Reset = 3
};

// Codes are class << 5 | detail ("c.dd", 3 and 12.1).
inline constexpr std::uint8_t kGet = 0x01;              // 0.01
inline constexpr std::uint8_t kContent = 0x45;          // 2.05
inline constexpr std::uint8_t kNotFound = 0x84;         // 4.04
inline constexpr std::uint8_t kMethodNotAllowed = 0x85; // 4.05

// Option numbers (5.10) and the one Content-Format tlsheap sends (12.3).
inline constexpr unsigned kUriPath = 11;
inline constexpr unsigned kContentFormat = 12;
inline constexpr unsigned kTextPlain = 0; // text/plain;charset=utf-8

inline constexpr std::size_t kMaxTokenBytes = 8;

struct Message {
    Type type = Type::Confirmable;
    std::uint8_t code = 0;
    std::uint16_t message_id = 0;
    std::string token;                      // 0..8 bytes
    std::vector<std::string> uri_path;      // Uri-Path options, in order
    std::optional<unsigned> content_format; // option 12
    std::string payload;

    friend bool operator==(const Message&, const Message&) = default;
};

// The header, the token, the options in ascending number as deltas, then
// 0xFF and the payload when there is one. A token longer than 8 bytes is cut
// to 8 (9..15 are reserved), an option value longer than the 65804 bytes the
// extended length can say is cut to that.
std::string encode(const Message& m);

// One whole datagram (over DTLS, one message a record). Nothing, and a
// one-line `error`, when it is malformed: shorter than the header, version
// other than 1, a token length of 9..15, a token or option running past the
// end, a reserved nibble 15 outside the payload marker, a payload marker with
// no payload, an Empty message (0.00) with bytes after its header. Other
// options than Uri-Path and Content-Format are skipped, critical ones too
// (5.4.1 would reject those): tlsheap only needs the path and the payload.
std::optional<Message> decode(const std::string& datagram, std::string& error);

// A confirmable GET of `path` ("/" or "/a/b": split on '/', empty segments
// dropped, so "/" has no Uri-Path option).
std::string get_request(std::uint16_t message_id, const std::string& token,
                        const std::string& path);

// "/a/b" from the Uri-Path options ("/" when none).
std::string path_of(const Message& m);

// What a CoAP server answers to `request` (the deterministic mbedTLS peer
// uses it): a GET of `path` gets 2.05 Content with `bytes` bytes of text
// ('a'..'z' repeated) as text/plain, a GET of another path 4.04, another
// method 4.05. A confirmable request gets a piggybacked acknowledgement (5.2.1),
// a non-confirmable one a non-confirmable response (5.2.3); both carry the
// request's message id and token.
Message answer(const Message& request, const std::string& path, std::uint64_t bytes);

// "2.05 Content", "4.04 Not Found", "0.01 GET", ... and "c.dd" alone for
// codes without a name.
std::string code_text(std::uint8_t code);

} // namespace tlsheap::recorder::coap
