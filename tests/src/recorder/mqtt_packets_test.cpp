// MQTT 3.1.1 packets byte for byte, as OASIS MQTT Version 3.1.1 lays them
// out (sections 2 and 3), and the reading of what a broker sends.
#include "byte_string.h"
#include "mqtt_packets.h"

#include <gtest/gtest.h>
#include <string>

namespace tlsheap::recorder::mqtt {
namespace {

TEST(MqttPackets, ConnectSubscribeAndSmallPackets) {
    // 3.1: 0x10, remaining 14 + 2 + 2 = 18, "MQTT", level 4, clean session, keep alive 60.
    EXPECT_EQ(connect("ab", 60),
              bytes({0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 2, 'a', 'b'}));
    // 3.8: flags 0010, packet id, topic filter, requested QoS.
    EXPECT_EQ(subscribe(1, "t/x", 1), bytes({0x82, 8, 0, 1, 0, 3, 't', '/', 'x', 1}));
    EXPECT_EQ(puback(0x1234), bytes({0x40, 2, 0x12, 0x34}));
    EXPECT_EQ(pingreq(), bytes({0xc0, 0}));
    EXPECT_EQ(disconnect(), bytes({0xe0, 0}));
}

TEST(MqttPackets, PublishEncodesTheRemainingLengthInSevenBitGroups) {
    // QoS 1: topic, packet id, payload; 2 + 1 + 2 + 200 = 205 = 0xcd 0x01.
    const std::string p = publish("t", 1, 7, std::string(200, 'x'));
    EXPECT_EQ(p.substr(0, 8), bytes({0x32, 0xcd, 0x01, 0, 1, 't', 0, 7}));
    EXPECT_EQ(p.size(), 3u + 205u);
    // QoS 0 has no packet id.
    EXPECT_EQ(publish("t", 0, 7, "hi"), bytes({0x30, 5, 0, 1, 't', 'h', 'i'}));
    // 2,097,152 bytes take four length bytes (2.2.3's table).
    EXPECT_EQ(publish("", 0, 0, std::string(2097150, 'x')).substr(0, 5),
              bytes({0x30, 0x80, 0x80, 0x80, 0x01}));
}

TEST(MqttPackets, PacketsAreTakenWholeAndRead) {
    std::string buffer = bytes({0x20, 2, 0, 0, 0x90, 3, 0, 1, 1, 0x32});
    bool malformed = false;
    EXPECT_TRUE(has_packet(buffer, malformed));
    const auto connack = take_packet(buffer, malformed);
    ASSERT_TRUE(connack.has_value());
    EXPECT_EQ(read_connack(*connack)->return_code, 0);
    const auto suback = take_packet(buffer, malformed);
    ASSERT_TRUE(suback.has_value());
    EXPECT_EQ(read_packet_id(*suback), 1);
    EXPECT_EQ(read_suback_code(*suback), 1);
    // A PUBLISH whose length has not all arrived.
    EXPECT_FALSE(has_packet(buffer, malformed));
    EXPECT_FALSE(take_packet(buffer, malformed).has_value());
    EXPECT_FALSE(malformed);
    buffer += bytes({9, 0, 3, 'a', '/', 'b', 0, 5, 'o', 'k'});
    const auto echo = take_packet(buffer, malformed);
    ASSERT_TRUE(echo.has_value());
    const auto copy = read_publish(*echo);
    ASSERT_TRUE(copy.has_value());
    EXPECT_EQ(copy->topic, "a/b");
    EXPECT_EQ(copy->qos, 1);
    EXPECT_EQ(copy->packet_id, 5);
    EXPECT_EQ(copy->payload_bytes, 2u);
    EXPECT_TRUE(buffer.empty());
}

TEST(MqttPackets, HostilePacketsAreRefusedNotOverread) {
    bool malformed = false;
    // Five length bytes with the continuation bit: malformed (2.2.3).
    std::string five = bytes({0x30, 0xff, 0xff, 0xff, 0xff, 0x7f});
    EXPECT_TRUE(has_packet(five, malformed));
    EXPECT_TRUE(malformed);
    EXPECT_FALSE(take_packet(five, malformed).has_value());
    // A topic length beyond the body, a CONNACK without its code.
    Packet p;
    p.type = Type::Publish;
    p.flags = 2;
    p.body = bytes({0, 9, 'a'});
    EXPECT_FALSE(read_publish(p).has_value());
    p.type = Type::Connack;
    p.body = bytes({0});
    EXPECT_FALSE(read_connack(p).has_value());
    EXPECT_EQ(connack_meaning(5), "connection refused: not authorized");
}

} // namespace
} // namespace tlsheap::recorder::mqtt
