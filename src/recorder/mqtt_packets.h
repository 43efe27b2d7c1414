// MQTT 3.1.1 control packets (OASIS MQTT Version 3.1.1, section 2 and 3),
// only those a device's session uses: CONNECT, SUBSCRIBE, PUBLISH (QoS 0 and
// 1), PUBACK, PINGREQ and DISCONNECT written; CONNACK, SUBACK, PUBLISH,
// PUBACK and PINGRESP read. Standard C++ only: compiled into the recorder of
// every variant and ABI.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tlsheap::recorder::mqtt {

enum class Type : std::uint8_t {
    Connect = 1,
    Connack = 2,
    Publish = 3,
    Puback = 4,
    Subscribe = 8,
    Suback = 9,
    Pingreq = 12,
    Pingresp = 13,
    Disconnect = 14,
};

// The largest Remaining Length the protocol can encode (2.2.3).
inline constexpr std::uint32_t kMaxRemainingLength = 268435455;

// Clean session, no will, no user name or password: the broker knows the
// client by its certificate.
std::string connect(const std::string& client_id, std::uint16_t keep_alive_seconds);
std::string subscribe(std::uint16_t packet_id, const std::string& topic, std::uint8_t qos);
// QoS 0 has no packet identifier; `packet_id` is then ignored.
std::string publish(const std::string& topic, std::uint8_t qos, std::uint16_t packet_id,
                    const std::string& payload);
std::string puback(std::uint16_t packet_id);
std::string pingreq();
std::string disconnect();

struct Packet {
    Type type = Type::Connect;
    std::uint8_t flags = 0; // the fixed header's low four bits
    std::string body;       // the variable header and payload
};

// Whether `buffer` starts with a whole packet (or a malformed fixed header:
// a Remaining Length of more than four bytes, which sets `malformed`).
bool has_packet(const std::string& buffer, bool& malformed);
// Removes the first whole packet from `buffer` and returns it; nothing while
// the packet is incomplete or malformed (as has_packet says).
std::optional<Packet> take_packet(std::string& buffer, bool& malformed);

// What a read packet says, or nothing when its body is too short for it.
struct Connack {
    bool session_present = false;
    std::uint8_t return_code = 0; // 0: accepted
};
std::optional<Connack> read_connack(const Packet& p);
// The packet identifier of a PUBACK or SUBACK, and SUBACK's first return
// code (0x80: failure).
std::optional<std::uint16_t> read_packet_id(const Packet& p);
std::optional<std::uint8_t> read_suback_code(const Packet& p);
struct Publish {
    std::string topic;
    std::uint8_t qos = 0;
    std::uint16_t packet_id = 0; // QoS 1 and 2
    std::size_t payload_bytes = 0;
};
std::optional<Publish> read_publish(const Packet& p);

// "connection refused: not authorized" for CONNACK's return code (3.2.2.3).
std::string connack_meaning(std::uint8_t return_code);

} // namespace tlsheap::recorder::mqtt
