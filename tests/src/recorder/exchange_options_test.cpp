// The client's application exchange on the recorder's command line:
// --request-hex, --read-until and --short-answer-ok, and the read rules'
// text that tlsheap and the recorder share.
#include "parse_recorder_arguments.h"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace tlsheap::recorder {
namespace {

using recorder_protocol::read_rule_from_text;
using recorder_protocol::read_rule_text;
using recorder_protocol::ReadUntil;

TEST(ExchangeOptions, RequestBytesReadRuleAndShortAnswer) {
    RecorderOptions o;
    std::string error;
    ASSERT_TRUE(parse({"--connect", "h:1", "--request-hex", "474554000d0A", "--read-until",
                       "quiet:250", "--short-answer-ok"},
                      o, error))
        << error;
    EXPECT_TRUE(o.request_set);
    EXPECT_EQ(o.request, std::string("GET\0\r\n", 6));
    EXPECT_EQ(o.read_rule.until, ReadUntil::Quiet);
    EXPECT_EQ(o.read_rule.value, 250u);
    EXPECT_TRUE(o.short_answer_ok);

    // An empty request is one: nothing is sent.
    RecorderOptions empty;
    ASSERT_TRUE(parse({"--connect", "h:1", "--request-hex", ""}, empty, error)) << error;
    EXPECT_TRUE(empty.request_set);
    EXPECT_TRUE(empty.request.empty());
    // By default: the scenario's GET, its answer, and a short one fails.
    RecorderOptions plain;
    ASSERT_TRUE(parse({"--connect", "h:1"}, plain, error)) << error;
    EXPECT_FALSE(plain.request_set);
    EXPECT_EQ(plain.read_rule.until, ReadUntil::Response);
    EXPECT_FALSE(plain.short_answer_ok);
}

TEST(ExchangeOptions, MalformedValuesAndAServerAreRefused) {
    for (const std::vector<std::string>& bad :
         std::vector<std::vector<std::string>>{{"--connect", "h:1", "--request-hex", "474"},
                                               {"--connect", "h:1", "--request-hex", "4g"},
                                               {"--connect", "h:1", "--request-hex", " 4"},
                                               {"--connect", "h:1", "--read-until", "bytes:"},
                                               {"--connect", "h:1", "--read-until", "bytes:0"},
                                               {"--connect", "h:1", "--read-until", "quiet:600001"},
                                               {"--connect", "h:1", "--read-until", "bytes:12x"},
                                               {"--connect", "h:1", "--read-until", "Close"},
                                               {"--mode", "server", "--read-until", "close"},
                                               {"--mode", "server", "--short-answer-ok"},
                                               {"--mode", "server", "--request-hex", "41"}}) {
        RecorderOptions o;
        std::string error;
        EXPECT_FALSE(parse(bad, o, error)) << bad[bad.size() - 2] << " " << bad.back();
        EXPECT_FALSE(error.empty());
        EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    }
}

TEST(DatagramOptions, DtlsOptionsParseWithTheirTransport) {
    RecorderOptions o;
    std::string error;
    ASSERT_TRUE(parse({"--connect", "h:1", "--transport", "datagram", "--cid", "4", "--mtu", "400",
                       "--drop-datagram", "3", "--application", "coap", "--coap-path", "/a/b"},
                      o, error))
        << error;
    EXPECT_TRUE(o.datagram);
    EXPECT_EQ(o.cid_bytes, 4);
    EXPECT_EQ(o.mtu, 400u);
    EXPECT_EQ(o.drop_datagram, 3u);
    EXPECT_EQ(o.application, recorder_protocol::Application::Coap);
    EXPECT_EQ(o.coap_path, "/a/b");
    RecorderOptions server;
    ASSERT_TRUE(parse({"--mode", "server", "--transport", "datagram", "--cookies", "--cid", "0",
                       "--application", "coap"},
                      server, error))
        << error;
    EXPECT_TRUE(server.cookies);
    EXPECT_EQ(server.cid_bytes, 0);
    // Without them: TLS over TCP, no CID.
    RecorderOptions plain;
    ASSERT_TRUE(parse({"--connect", "h:1"}, plain, error)) << error;
    EXPECT_FALSE(plain.datagram);
    EXPECT_EQ(plain.cid_bytes, -1);
}

TEST(DatagramOptions, DtlsOptionsWithoutDtlsOrOutOfRangeAreRefused) {
    for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
             {"--connect", "h:1", "--cid", "4"},
             {"--connect", "h:1", "--drop-datagram", "1"},
             {"--connect", "h:1", "--mtu", "400"},
             {"--connect", "h:1", "--application", "coap"},
             {"--mode", "server", "--cookies"},
             {"--connect", "h:1", "--transport", "datagram", "--cookies"},
             {"--connect", "h:1", "--transport", "datagram", "--application", "mqtt"},
             {"--connect", "h:1", "--transport", "udp"},
             {"--connect", "h:1", "--transport", "datagram", "--cid", "33"},
             {"--connect", "h:1", "--transport", "datagram", "--mtu", "127"},
             {"--connect", "h:1", "--transport", "datagram", "--mtu", "16385"},
             {"--connect", "h:1", "--transport", "datagram", "--drop-datagram", "0"},
             {"--connect", "h:1", "--transport", "datagram", "--drop-datagram", "1001"},
             {"--connect", "h:1", "--transport", "datagram", "--coap-path", "a"}}) {
        RecorderOptions o;
        std::string error;
        EXPECT_FALSE(parse(bad, o, error)) << bad[bad.size() - 2] << " " << bad.back();
        EXPECT_FALSE(error.empty());
        EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    }
}

TEST(ExchangeOptions, ReadRulesRoundTripThroughTheirText) {
    for (const char* text :
         {"response", "close", "bytes:1", "bytes:1073741824", "quiet:1", "quiet:600000"}) {
        const auto rule = read_rule_from_text(text);
        ASSERT_TRUE(rule.has_value()) << text;
        EXPECT_EQ(read_rule_text(*rule), text);
    }
    EXPECT_FALSE(read_rule_from_text("bytes:1073741825"));
    EXPECT_FALSE(read_rule_from_text("quiet:-1"));
    EXPECT_FALSE(read_rule_from_text(""));
}

TEST(ExchangeOptions, HexDecodeTakesPairsOfDigitsOnly) {
    std::vector<unsigned char> out;
    ASSERT_TRUE(hex_decode("00ffA5", out));
    EXPECT_EQ(out, (std::vector<unsigned char>{0x00, 0xff, 0xa5}));
    EXPECT_FALSE(hex_decode("0", out));
    EXPECT_FALSE(hex_decode("+1", out)); // sscanf's %2x took a sign
    EXPECT_FALSE(hex_decode(" 1", out)); // and a space
    ASSERT_TRUE(hex_decode("", out));
    EXPECT_TRUE(out.empty());
}

} // namespace
} // namespace tlsheap::recorder
