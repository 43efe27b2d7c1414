// CoAP messages byte for byte, as RFC 7252 lays them out (sections 3 and
// 3.1), the reading of hostile datagrams, and the deterministic server's
// answers.
#include "byte_string.h"
#include "coap_messages.h"

#include <gtest/gtest.h>
#include <string>

namespace tlsheap::recorder::coap {
namespace {

// decode's error for `datagram`, which must be refused.
std::string refusal(const std::string& datagram) {
    std::string error;
    const auto m = decode(datagram, error);
    EXPECT_FALSE(m.has_value());
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    return error;
}

TEST(CoapMessages, GetRequestsByHand) {
    // Header (3): Ver 01, T 00 (CON), TKL 0010 -> 0b0100'0010 = 0x42; code
    // 0.01 = 0x01; message id 0x1234; then the token's two bytes. "/" has no
    // Uri-Path option and a GET no payload, so nothing follows.
    EXPECT_EQ(get_request(0x1234, bytes({0xab, 0xcd}), "/"),
              bytes({0x42, 0x01, 0x12, 0x34, 0xab, 0xcd}));
    // "/sensors/temp": two Uri-Path (11) options (3.1). The first: delta
    // 11 - 0 = 11 = 0xB, length 7 -> 0xB7, "sensors"; the second: delta
    // 11 - 11 = 0, length 4 -> 0x04, "temp". 6 + 1 + 7 + 1 + 4 = 19 bytes.
    const std::string get = get_request(0x1234, bytes({0xab, 0xcd}), "/sensors/temp");
    EXPECT_EQ(get, bytes({0x42, 0x01, 0x12, 0x34, 0xab, 0xcd, 0xb7, 's', 'e', 'n', 's', 'o', 'r',
                          's', 0x04, 't', 'e', 'm', 'p'}));
    // Empty segments are dropped: the same request.
    EXPECT_EQ(get_request(0x1234, bytes({0xab, 0xcd}), "sensors//temp/"), get);
    std::string error;
    const auto m = decode(get, error);
    ASSERT_TRUE(m.has_value()) << error;
    EXPECT_EQ(m->type, Type::Confirmable);
    EXPECT_EQ(m->code, kGet);
    EXPECT_EQ(path_of(*m), "/sensors/temp");
    EXPECT_EQ(path_of(*decode(get_request(1, "", "/"), error)), "/");
}

TEST(CoapMessages, RoundTrips) {
    Message m;
    m.type = Type::NonConfirmable;
    m.code = kContent;
    m.message_id = 0xbeef;
    m.token = "12345678";
    m.uri_path = {"a", "", "bb"};
    m.payload = std::string("\0\xff\x01", 3);
    for (std::optional<unsigned> format :
         std::initializer_list<std::optional<unsigned>>{std::nullopt, 0u, 60u, 0x1234u}) {
        m.content_format = format;
        std::string error;
        const auto back = decode(encode(m), error);
        ASSERT_TRUE(back.has_value()) << error;
        EXPECT_EQ(*back, m);
        EXPECT_EQ(error, "");
    }
    for (Type t : {Type::Confirmable, Type::Acknowledgement, Type::Reset}) {
        Message small;
        small.type = t;
        small.code = kNotFound;
        std::string error;
        EXPECT_EQ(decode(encode(small), error), small);
    }
}

TEST(CoapMessages, ContentFormatZeroIsAnEmptyOption) {
    // 3.2: uint 0 has no bytes. After Uri-Path (11), Content-Format (12) is
    // delta 1, length 0 -> 0x10; alone, delta 12 -> 0xC0.
    Message m;
    m.code = kContent;
    m.content_format = kTextPlain;
    EXPECT_EQ(encode(m), bytes({0x40, 0x45, 0, 0, 0xc0}));
    m.uri_path = {"x"};
    EXPECT_EQ(encode(m), bytes({0x40, 0x45, 0, 0, 0xb1, 'x', 0x10}));
    // 1000 = 0x03E8: two bytes.
    m.content_format = 1000;
    EXPECT_EQ(encode(m), bytes({0x40, 0x45, 0, 0, 0xb1, 'x', 0x12, 0x03, 0xe8}));
}

TEST(CoapMessages, ExtendedOptionLengths) {
    // Length 20 (13..268): nibble 13 and one byte 20 - 13 = 7.
    const std::string twenty(20, 's');
    const std::string get = get_request(0, "", "/" + twenty);
    EXPECT_EQ(get.substr(0, 6), bytes({0x40, 0x01, 0, 0, 0xbd, 7}));
    EXPECT_EQ(get.size(), 6u + 20u);
    // Length 300 (269+): nibble 14 and two bytes 300 - 269 = 31 = 0x001F.
    const std::string three_hundred(300, 'l');
    const std::string longer = get_request(0, "", "/" + three_hundred);
    EXPECT_EQ(longer.substr(0, 7), bytes({0x40, 0x01, 0, 0, 0xbe, 0x00, 0x1f}));
    std::string error;
    EXPECT_EQ(path_of(*decode(longer, error)), "/" + three_hundred);
    EXPECT_EQ(path_of(*decode(get, error)), "/" + twenty);
}

TEST(CoapMessages, ExtendedOptionDeltasAndUnknownOptionsAreSkipped) {
    // Uri-Path "a" (11), then option 60 (Size1, elective, unknown here):
    // delta 49 = 13 + 36 -> nibble 13, byte 0x24; length 2, value 1500.
    const std::string size1 =
        bytes({0x40, 0x01, 0, 1, 0xb1, 'a', 0xd2, 0x24, 0x05, 0xdc, 0xff, 'x'});
    std::string error;
    const auto m = decode(size1, error);
    ASSERT_TRUE(m.has_value()) << error;
    EXPECT_EQ(m->uri_path, std::vector<std::string>{"a"});
    EXPECT_EQ(m->content_format, std::nullopt);
    EXPECT_EQ(m->payload, "x");
    // Delta 13 + 0xFF = 268, then delta 269 + 0xFDE6 = 65267: option
    // 65535, the highest there is (an unknown critical one: skipped too).
    const auto highest =
        decode(bytes({0x40, 0x01, 0, 1, 0xd0, 0xff, 0xe1, 0xfd, 0xe6, 'v', 0xff, 'h', 'i'}), error);
    ASSERT_TRUE(highest.has_value()) << error;
    EXPECT_EQ(highest->payload, "hi");
    EXPECT_TRUE(highest->uri_path.empty());
    // One more is beyond the 16 bits an option number has.
    EXPECT_NE(refusal(bytes({0x40, 0x01, 0, 1, 0xd0, 0xff, 0xe1, 0xfd, 0xe7, 'v'}))
                  .find("option number 65536"),
              std::string::npos);
}

TEST(CoapMessages, HostileDatagramsAreRefusedWithTheProblemNamed) {
    EXPECT_NE(refusal(bytes({0x40, 0x01, 0})).find("truncated header"), std::string::npos);
    EXPECT_NE(refusal("").find("truncated header"), std::string::npos);
    EXPECT_NE(refusal(bytes({0x80, 0x01, 0, 1})).find("version 2"), std::string::npos);
    EXPECT_NE(refusal(bytes({0x49, 0x01, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9})).find("token length 9"),
              std::string::npos);
    EXPECT_NE(refusal(bytes({0x44, 0x01, 0, 1, 1, 2})).find("token of 4 bytes"), std::string::npos);
    // Uri-Path of 5 bytes with 2 left.
    EXPECT_NE(refusal(bytes({0x40, 0x01, 0, 1, 0xb5, 'a', 'b'})).find("runs past the end"),
              std::string::npos);
    // Nibble 13 or 14 whose extension bytes are missing.
    EXPECT_NE(refusal(bytes({0x40, 0x01, 0, 1, 0xd0})).find("option header runs past"),
              std::string::npos);
    EXPECT_NE(refusal(bytes({0x40, 0x01, 0, 1, 0x1e, 0x00})).find("option header runs past"),
              std::string::npos);
    EXPECT_NE(refusal(bytes({0x40, 0x01, 0, 1, 0xff})).find("payload marker"), std::string::npos);
    EXPECT_NE(refusal(bytes({0x40, 0x01, 0, 1, 0xf1, 'a'})).find("option delta 15"),
              std::string::npos);
    EXPECT_NE(refusal(bytes({0x40, 0x01, 0, 1, 0xbf})).find("option length 15"), std::string::npos);
    EXPECT_NE(refusal(bytes({0x41, 0x00, 0, 1, 7})).find("Empty message"), std::string::npos);
    // The header alone is a valid Empty message (an empty ACK, say).
    std::string error;
    EXPECT_TRUE(decode(bytes({0x60, 0x00, 0, 1}), error).has_value());
}

TEST(CoapMessages, EveryPrefixOfAMessageIsReadWithinIt) {
    Message m;
    m.code = kGet;
    m.token = "tok";
    m.uri_path = {"a", std::string(20, 'b'), std::string(300, 'c')};
    m.content_format = 0x1234;
    m.payload = "payload";
    const std::string whole = encode(m);
    for (std::size_t n = 0; n < whole.size(); ++n) {
        // A sanitizer build catches a read past the copy's end.
        const std::string prefix = whole.substr(0, n);
        std::string error;
        const auto part = decode(prefix, error);
        EXPECT_TRUE(part.has_value() || !error.empty()) << n;
    }
}

TEST(CoapMessages, AnswerServesOnePathToGets) {
    Message get;
    get.type = Type::Confirmable;
    get.code = kGet;
    get.message_id = 0x1234;
    get.token = bytes({0xab, 0xcd});
    const Message content = answer(get, "/", 30);
    EXPECT_EQ(content.type, Type::Acknowledgement);
    EXPECT_EQ(content.code, kContent);
    EXPECT_EQ(content.message_id, 0x1234);
    EXPECT_EQ(content.token, get.token);
    EXPECT_EQ(content.content_format, kTextPlain);
    EXPECT_EQ(content.payload, "abcdefghijklmnopqrstuvwxyzabcd");
    // Piggybacked ACK (0b0110'0010), 2.05, Content-Format 0, marker, text.
    EXPECT_EQ(encode(answer(get, "/", 3)),
              bytes({0x62, 0x45, 0x12, 0x34, 0xab, 0xcd, 0xc0, 0xff, 'a', 'b', 'c'}));

    get.uri_path = {"sensors", "temp"};
    EXPECT_EQ(answer(get, "/sensors/temp", 1).code, kContent);
    const Message missing = answer(get, "/sensors", 1);
    EXPECT_EQ(missing.code, kNotFound);
    EXPECT_EQ(missing.type, Type::Acknowledgement);
    EXPECT_TRUE(missing.payload.empty());
    EXPECT_EQ(missing.content_format, std::nullopt);

    Message post = get;
    post.code = 0x02;
    post.type = Type::NonConfirmable;
    const Message refused = answer(post, "/sensors/temp", 1);
    EXPECT_EQ(refused.code, kMethodNotAllowed);
    EXPECT_EQ(refused.type, Type::NonConfirmable);
    EXPECT_EQ(refused.message_id, 0x1234);
    EXPECT_EQ(refused.token, get.token);
}

TEST(CoapMessages, CodeText) {
    EXPECT_EQ(code_text(kContent), "2.05 Content");
    EXPECT_EQ(code_text(kNotFound), "4.04 Not Found");
    EXPECT_EQ(code_text(kMethodNotAllowed), "4.05 Method Not Allowed");
    EXPECT_EQ(code_text(0xa0), "5.00 Internal Server Error");
    EXPECT_EQ(code_text(kGet), "0.01 GET");
    EXPECT_EQ(code_text(0x5f), "2.31 Continue");
    EXPECT_EQ(code_text(0x46), "2.06");
    EXPECT_EQ(code_text(0xff), "7.31");
}

} // namespace
} // namespace tlsheap::recorder::coap
