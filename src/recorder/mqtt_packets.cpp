#include "mqtt_packets.h"

namespace tlsheap::recorder::mqtt {

namespace {

void put_u16(std::string& out, std::uint16_t v) {
    out += static_cast<char>(v >> 8);
    out += static_cast<char>(v & 0xff);
}

// A UTF-8 string: its length in two bytes, then the bytes (1.5.3).
void put_string(std::string& out, const std::string& s) {
    put_u16(out, static_cast<std::uint16_t>(s.size()));
    out += s;
}

// The fixed header (2.2): type and flags, then the Remaining Length in
// 7-bit groups, least significant first.
std::string packet(Type type, std::uint8_t flags, const std::string& body) {
    std::string out;
    out += static_cast<char>((static_cast<std::uint8_t>(type) << 4) | flags);
    std::size_t length = body.size();
    do {
        std::uint8_t digit = length % 128;
        length /= 128;
        if (length > 0) {
            digit |= 0x80;
        }
        out += static_cast<char>(digit);
    } while (length > 0);
    return out + body;
}

std::uint16_t get_u16(const std::string& s, std::size_t at) {
    return static_cast<std::uint16_t>((static_cast<unsigned char>(s[at]) << 8) |
                                      static_cast<unsigned char>(s[at + 1]));
}

} // namespace

std::string connect(const std::string& client_id, std::uint16_t keep_alive_seconds) {
    std::string body;
    put_string(body, "MQTT");
    body += static_cast<char>(4);    // protocol level 3.1.1
    body += static_cast<char>(0x02); // clean session
    put_u16(body, keep_alive_seconds);
    put_string(body, client_id);
    return packet(Type::Connect, 0, body);
}

std::string subscribe(std::uint16_t packet_id, const std::string& topic, std::uint8_t qos) {
    std::string body;
    put_u16(body, packet_id);
    put_string(body, topic);
    body += static_cast<char>(qos);
    return packet(Type::Subscribe, 0x2, body); // 3.8.1: flags 0010
}

std::string publish(const std::string& topic, std::uint8_t qos, std::uint16_t packet_id,
                    const std::string& payload) {
    std::string body;
    put_string(body, topic);
    if (qos > 0) {
        put_u16(body, packet_id);
    }
    body += payload;
    return packet(Type::Publish, static_cast<std::uint8_t>(qos << 1), body);
}

std::string puback(std::uint16_t packet_id) {
    std::string body;
    put_u16(body, packet_id);
    return packet(Type::Puback, 0, body);
}

std::string pingreq() {
    return packet(Type::Pingreq, 0, {});
}

std::string disconnect() {
    return packet(Type::Disconnect, 0, {});
}

namespace {

struct Frame {
    std::size_t header = 0; // fixed header bytes
    std::size_t length = 0; // Remaining Length
};

// The fixed header at the start of `buffer`, once it is all there.
std::optional<Frame> frame(const std::string& buffer, bool& malformed) {
    malformed = false;
    Frame f;
    std::size_t multiplier = 1;
    for (std::size_t at = 1;; ++at) {
        if (at > 4) {
            malformed = true;
            return std::nullopt;
        }
        if (at >= buffer.size()) {
            return std::nullopt;
        }
        const auto digit = static_cast<unsigned char>(buffer[at]);
        f.length += (digit & 0x7f) * multiplier;
        multiplier *= 128;
        if ((digit & 0x80) == 0) {
            f.header = at + 1;
            return f;
        }
    }
}

} // namespace

bool has_packet(const std::string& buffer, bool& malformed) {
    const auto f = frame(buffer, malformed);
    return malformed || (f && buffer.size() - f->header >= f->length);
}

std::optional<Packet> take_packet(std::string& buffer, bool& malformed) {
    const auto f = frame(buffer, malformed);
    if (!f || buffer.size() - f->header < f->length) {
        return std::nullopt;
    }
    const std::size_t header = f->header;
    const std::size_t length = f->length;
    Packet p;
    const auto first = static_cast<unsigned char>(buffer[0]);
    p.type = static_cast<Type>(first >> 4);
    p.flags = first & 0x0f;
    p.body = buffer.substr(header, length);
    buffer.erase(0, header + length);
    return p;
}

std::optional<Connack> read_connack(const Packet& p) {
    if (p.type != Type::Connack || p.body.size() < 2) {
        return std::nullopt;
    }
    return Connack{(p.body[0] & 1) != 0, static_cast<std::uint8_t>(p.body[1])};
}

std::optional<std::uint16_t> read_packet_id(const Packet& p) {
    if (p.body.size() < 2) {
        return std::nullopt;
    }
    return get_u16(p.body, 0);
}

std::optional<std::uint8_t> read_suback_code(const Packet& p) {
    if (p.type != Type::Suback || p.body.size() < 3) {
        return std::nullopt;
    }
    return static_cast<std::uint8_t>(p.body[2]);
}

std::optional<Publish> read_publish(const Packet& p) {
    if (p.type != Type::Publish || p.body.size() < 2) {
        return std::nullopt;
    }
    Publish out;
    const std::size_t topic_length = get_u16(p.body, 0);
    out.qos = (p.flags >> 1) & 3;
    std::size_t at = 2 + topic_length;
    if (p.body.size() < at + (out.qos > 0 ? 2 : 0)) {
        return std::nullopt;
    }
    out.topic = p.body.substr(2, topic_length);
    if (out.qos > 0) {
        out.packet_id = get_u16(p.body, at);
        at += 2;
    }
    out.payload_bytes = p.body.size() - at;
    return out;
}

std::string connack_meaning(std::uint8_t return_code) {
    switch (return_code) {
    case 0:
        return "connection accepted";
    case 1:
        return "connection refused: unacceptable protocol version";
    case 2:
        return "connection refused: identifier rejected";
    case 3:
        return "connection refused: server unavailable";
    case 4:
        return "connection refused: bad user name or password";
    case 5:
        return "connection refused: not authorized";
    default:
        return "connection refused: return code " + std::to_string(return_code);
    }
}

} // namespace tlsheap::recorder::mqtt
