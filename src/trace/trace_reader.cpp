#include "tlsheap/trace_reader.h"

#include "crc32c.h"
#include "tlsheap/tls_wire.h"
#include "tlsheap/trace_meta.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <sys/stat.h>
#include <unistd.h>

namespace tlsheap::trace {

namespace {

constexpr std::size_t kReadChunk = 1 << 20;

// Bounds-checked payload decoding; any overrun is corruption, except in the
// last record of a truncated file, whose payload the file cuts short: there
// exhausted() tells a field the end of the file cut from a malformed one.
class PayloadCursor {
  public:
    PayloadCursor(const unsigned char* p, const unsigned char* end) : p_(p), end_(end) {}

    bool varint(std::uint64_t& v) {
        // Most event fields fit one or two bytes.
        if (end_ - p_ >= 2) {
            if (p_[0] < 0x80) {
                v = *p_++;
                return true;
            }
            if (p_[1] < 0x80) {
                v = (p_[0] & 0x7fu) | (static_cast<std::uint64_t>(p_[1]) << 7);
                p_ += 2;
                return true;
            }
        }
        const std::size_t n = varint_decode(p_, end_, v);
        if (n == 0 && end_ - p_ < static_cast<std::ptrdiff_t>(kMaxVarintBytes)) {
            exhausted_ = true; // shorter than a varint can be: the payload ended
        }
        p_ += n;
        return n != 0;
    }
    bool string(std::string& s) {
        std::uint64_t n = 0;
        if (!varint(n)) {
            return false;
        }
        if (n > static_cast<std::uint64_t>(end_ - p_)) {
            exhausted_ = true;
            return false;
        }
        s.assign(reinterpret_cast<const char*>(p_), static_cast<std::size_t>(n));
        p_ += n;
        return true;
    }
    bool done() const { return p_ == end_; }
    bool exhausted() const { return exhausted_; }

  private:
    const unsigned char* p_;
    const unsigned char* end_;
    bool exhausted_ = false;
};

std::string hex_byte(unsigned v) {
    static const char digits[] = "0123456789abcdef";
    return std::string{digits[(v >> 4) & 15], digits[v & 15]};
}

// A value from a trace, quoted for a one-line message: control and
// non-ASCII bytes escaped, long values cut.
std::string quoted(const std::string& value) {
    constexpr std::size_t kShown = 40;
    std::string out = "'";
    for (std::size_t i = 0; i < value.size() && i < kShown; ++i) {
        const auto c = static_cast<unsigned char>(value[i]);
        if (c < 0x20 || c >= 0x7f || c == '\\' || c == '\'') {
            out += "\\x" + hex_byte(c);
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + (value.size() > kShown ? "'..." : "'");
}

} // namespace

namespace {

// Most a trace read from a pipe may hold in memory.
constexpr std::size_t kMaxPipedTrace = std::size_t{1} << 30;

// The whole content of a trace that is not a regular file (a pipe, as in
// `tlsheap replay <(...)`), read once per process: the tools open a trace
// more than once, and a pipe gives its bytes only to the first reader.
const std::vector<unsigned char>& piped_trace(const std::string& path, std::FILE* file) {
    static std::mutex mutex;
    static std::map<std::string, std::vector<unsigned char>> held;
    const std::lock_guard<std::mutex> lock(mutex);
    const auto it = held.find(path);
    if (it != held.end()) {
        return it->second;
    }
    std::vector<unsigned char> bytes;
    unsigned char chunk[1 << 16];
    // The header first, so that a device that never ends (/dev/zero) is
    // refused as not a trace before anything is held.
    std::size_t want = kHeaderSize;
    while (true) {
        const std::size_t got = std::fread(chunk, 1, std::min(sizeof(chunk), want), file);
        if (got == 0) {
            if (std::ferror(file)) {
                throw TraceError("error reading " + path + ": " + std::strerror(errno));
            }
            break;
        }
        bytes.insert(bytes.end(), chunk, chunk + got);
        if (bytes.size() == kHeaderSize && std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
            break; // open_header() names the problem
        }
        if (bytes.size() > kMaxPipedTrace) {
            throw TraceError(path + " holds more than 1 GiB; save the trace to a file to read it");
        }
        want = bytes.size() < kHeaderSize ? kHeaderSize - bytes.size() : sizeof(chunk);
    }
    return held.emplace(path, std::move(bytes)).first->second;
}

} // namespace

TraceReader::TraceReader(const std::string& path) : name_(path) {
    // "-" is standard input, held whole like a pipe (even when it is a file
    // redirected in) because the tools open a trace more than once.
    const bool standard_input = path == kStandardInput;
    if (standard_input) {
        name_ = "standard input";
        if (::isatty(STDIN_FILENO)) {
            throw TraceError("standard input is a terminal, not a trace (pipe one in: "
                             "... | tlsheap replay -)");
        }
        const int fd = ::dup(STDIN_FILENO); // fclose must not close fd 0
        file_ = fd < 0 ? nullptr : ::fdopen(fd, "rb");
    } else {
        file_ = std::fopen(path.c_str(), "rb");
    }
    if (file_ == nullptr) {
        throw TraceError("cannot open trace " + name_ + ": " + std::strerror(errno));
    }
    try {
        struct stat st {};
        const bool known = ::fstat(::fileno(file_), &st) == 0;
        if (known && S_ISDIR(st.st_mode)) {
            throw TraceError(path + " is a directory, not a trace");
        }
        if (standard_input || (known && !S_ISREG(st.st_mode))) {
            buffer_ = piped_trace(name_, file_);
            limit_ = buffer_.size();
            size_ = buffer_.size();
            eof_ = true;
            std::fclose(file_);
            file_ = nullptr;
        } else {
            buffer_.resize(kReadChunk);
            size_ = known ? static_cast<std::uint64_t>(st.st_size) : 0;
        }
        open_header();
    } catch (...) {
        // No destructor runs for a constructor that throws.
        if (file_ != nullptr) {
            std::fclose(file_);
            file_ = nullptr;
        }
        throw;
    }
}

std::unique_ptr<TraceReader> TraceReader::from_bytes(std::vector<unsigned char> bytes,
                                                     std::string name) {
    std::unique_ptr<TraceReader> reader(new TraceReader());
    reader->name_ = std::move(name);
    reader->limit_ = bytes.size();
    reader->size_ = bytes.size();
    reader->buffer_ = std::move(bytes);
    reader->eof_ = true;
    reader->open_header();
    return reader;
}

TraceReader::~TraceReader() {
    if (file_ != nullptr) {
        std::fclose(file_);
    }
}

void TraceReader::open_header() {
    if (!fill(kHeaderSize)) {
        throw TraceError(name_ + " is not a tlsheap trace (shorter than the 12-byte header)");
    }
    const unsigned char* h = buffer_.data() + pos_;
    if (std::memcmp(h, kMagic, sizeof(kMagic)) != 0) {
        throw TraceError(name_ + " is not a tlsheap trace (bad magic)");
    }
    major_ = static_cast<std::uint16_t>(h[8] | (h[9] << 8));
    minor_ = static_cast<std::uint16_t>(h[10] | (h[11] << 8));
    if (major_ != kVersionMajor) {
        throw TraceError(name_ + " has trace format " + std::to_string(major_) + "." +
                         std::to_string(minor_) + "; this tlsheap reads format " +
                         std::to_string(kVersionMajor) + ".x" +
                         (major_ > kVersionMajor ? " (upgrade tlsheap)" : ""));
    }
    pos_ += kHeaderSize;
    consumed_ += kHeaderSize;
}

bool TraceReader::fill(std::size_t n) {
    while (limit_ - pos_ < n) {
        if (eof_ || file_ == nullptr) {
            return false;
        }
        // Checksum what was consumed (in bulk: the CRC costs a fraction per
        // byte of what it costs per record), then slide the unread tail to
        // the front, growing the buffer if one record needs more.
        crc_ = crc32c(crc_, buffer_.data() + crc_done_, pos_ - crc_done_);
        crc_done_ = 0;
        std::memmove(buffer_.data(), buffer_.data() + pos_, limit_ - pos_);
        limit_ -= pos_;
        pos_ = 0;
        if (buffer_.size() < n) {
            buffer_.resize(n + kReadChunk);
        }
        const std::size_t got =
            std::fread(buffer_.data() + limit_, 1, buffer_.size() - limit_, file_);
        if (got == 0) {
            if (std::ferror(file_)) {
                throw TraceError("error reading " + name_ + ": " + std::strerror(errno));
            }
            eof_ = true;
        }
        limit_ += got;
    }
    return true;
}

void TraceReader::corrupt(const std::string& what, std::uint64_t offset) const {
    throw TraceError(name_ + " is corrupt at byte " + std::to_string(offset) + ": " + what);
}

std::string TraceReader::truncation_message() const {
    if (!truncated_) {
        return {};
    }
    return name_ + " is truncated at byte " + std::to_string(truncated_at_) + " (after event " +
           std::to_string(seq_) +
           "): the recording stopped before its end; what follows covers the events up to there";
}

bool TraceReader::next(Record& out) {
    if (complete_ || truncated_) {
        return false;
    }
    const std::uint64_t record_offset = consumed_;
    // Tag plus the payload-length varint. Fast path: an event record (short
    // payload, one-byte length) that is already in the buffer.
    if (limit_ - pos_ >= 2 && buffer_[pos_ + 1] < 0x80 && limit_ - pos_ >= 2u + buffer_[pos_ + 1] &&
        (buffer_[pos_] == static_cast<unsigned char>(Tag::Alloc) ||
         buffer_[pos_] == static_cast<unsigned char>(Tag::Free))) {
        const unsigned char* p = buffer_.data() + pos_;
        const std::size_t total = 2u + p[1];
        out.tag = static_cast<Tag>(p[0]);
        out.offset = record_offset;
        decode(out.tag, p + 2, p + total, out, /*partial=*/false);
        last_data_ = p;
        last_size_ = total;
        pos_ += total;
        consumed_ += total;
        return true;
    }
    if (!fill(1)) {
        // The file ends where a record would begin: the recorder stopped.
        truncated_ = true;
        truncated_at_ = record_offset;
        return false;
    }
    fill(1 + kMaxVarintBytes); // may fall short at the very end; checked below
    const unsigned char* p = buffer_.data() + pos_;
    const unsigned char* avail_end = buffer_.data() + limit_;
    const auto tag = static_cast<Tag>(p[0]);
    out.tag = tag;
    out.offset = record_offset;
    if (*tag_name(tag) == '\0' && minor_ <= kVersionMinor) {
        unknown_tag(tag, record_offset);
    }
    std::uint64_t length = 0;
    const std::size_t lsize = varint_decode(p + 1, avail_end, length);
    if (lsize == 0) {
        if (avail_end - (p + 1) >= static_cast<std::ptrdiff_t>(kMaxVarintBytes)) {
            corrupt("bad record length", record_offset);
        }
        truncated_ = true;
        truncated_at_ = record_offset;
        return false;
    }
    if (length > kMaxRecordPayload) {
        corrupt("record length " + std::to_string(length) + " is implausible", record_offset);
    }
    const std::size_t total = 1 + lsize + static_cast<std::size_t>(length);
    if (!fill(total)) {
        // The file ends inside this record. That is a truncation only if the
        // bytes there can begin such a record; damage that made a length
        // larger leaves complete fields followed by bytes that are not theirs.
        p = buffer_.data() + pos_;
        const unsigned char* payload = p + 1 + lsize;
        if (!decode(tag, payload, buffer_.data() + limit_, out, /*partial=*/true)) {
            corrupt(std::string(tag_name(tag)) + " record: length " + std::to_string(length) +
                        " runs past the end of the file, but its fields end before",
                    record_offset);
        }
        truncated_ = true;
        truncated_at_ = record_offset;
        return false;
    }
    p = buffer_.data() + pos_;
    const unsigned char* payload = p + 1 + lsize;
    if (tag == Tag::End) {
        PayloadCursor c(payload, payload + length);
        std::uint64_t count = 0;
        std::uint64_t crc = 0;
        if (!c.varint(count) || !c.varint(crc) || !c.done()) {
            corrupt("malformed End record", record_offset);
        }
        if (count != seq_) {
            corrupt("End record counts " + std::to_string(count) + " events but " +
                        std::to_string(seq_) + " were read",
                    record_offset);
        }
        crc_ = crc32c(crc_, buffer_.data() + crc_done_, pos_ - crc_done_);
        crc_done_ = pos_;
        if (crc != crc_) {
            corrupt("checksum mismatch (the file was modified or damaged)", record_offset);
        }
        out.end_event_count = count;
        out.end_crc = static_cast<std::uint32_t>(crc);
        complete_ = true;
    } else {
        decode(tag, payload, payload + length, out, /*partial=*/false);
    }
    last_data_ = p;
    last_size_ = total;
    pos_ += total;
    consumed_ += total;
    if (complete_ && fill(1)) {
        // Nothing follows the End record: bytes there were appended or are
        // what is left of a damaged record.
        corrupt("data after the End record", consumed_);
    }
    return true;
}

void TraceReader::unknown_tag(Tag tag, std::uint64_t offset) const {
    corrupt("unknown record tag 0x" + hex_byte(static_cast<unsigned>(tag)), offset);
}

bool TraceReader::decode(Tag tag, const unsigned char* p, const unsigned char* end, Record& out,
                         bool partial) {
    PayloadCursor c(p, end);
    std::uint64_t a = 0;
    std::uint64_t b = 0;
    std::uint64_t d = 0;
    bool ok = true;
    auto address = [&](std::uint64_t code) -> std::uint64_t {
        if (code == 0) {
            return 0;
        }
        last_address_ += static_cast<std::uint64_t>(zigzag_decode(code - 1));
        return last_address_;
    };
    // Ids the tools index tables by: refused here, naming the record, so
    // that no reader sizes anything by a value it did not check.
    auto bad_value = [&](const std::string& what, std::uint64_t value, const std::string& why) {
        corrupt(std::string(tag_name(tag)) + " record: " + what + " " + std::to_string(value) +
                    " " + why,
                out.offset);
    };
    auto state_id = [&](std::uint64_t v) {
        if (v > kMaxStateId) {
            bad_value("state id", v,
                      "is out of range (handshake states are 0 to " + std::to_string(kMaxStateId) +
                          ")");
        }
        return static_cast<std::uint32_t>(v);
    };
    auto stack_id = [&](std::uint64_t v) {
        if (v > std::numeric_limits<std::uint32_t>::max()) {
            bad_value("stack id", v, "is out of range (at most 4294967295)");
        }
        return static_cast<std::uint32_t>(v);
    };
    switch (tag) {
    case Tag::Alloc:
        ok = c.varint(a) && c.varint(out.count) && c.varint(out.size) && c.varint(b) && c.varint(d);
        if (ok) {
            time_ns_ += a;
            out.seq = ++seq_;
            out.time_ns = time_ns_;
            out.address = address(b);
            out.stack = stack_id(d);
        }
        break;
    case Tag::Free: {
        std::uint64_t back = 0;
        ok = c.varint(a) && c.varint(b) && c.varint(back) && c.varint(d);
        if (ok) {
            time_ns_ += a;
            out.seq = ++seq_;
            out.time_ns = time_ns_;
            out.address = address(b);
            out.alloc_seq = back == 0 || back >= out.seq ? 0 : out.seq - back;
            out.stack = stack_id(d);
            if (back >= out.seq) {
                corrupt("free names an allocation before the first event", out.offset);
            }
        }
        break;
    }
    case Tag::Meta:
        ok = c.string(out.key) && c.string(out.value);
        if (ok && meta::is_numeric_key(out.key) && !out.value.empty() &&
            !is_meta_number(out.value)) {
            corrupt("Meta record: " + out.key + " is " + quoted(out.value) + ", not a number",
                    out.offset);
        }
        break;
    case Tag::Config:
        ok = c.string(out.key) && c.string(out.value);
        break;
    case Tag::StateName:
        ok = c.varint(a) && c.string(out.value);
        out.state = state_id(a);
        break;
    case Tag::Module:
        out.values.resize(3);
        ok = c.varint(out.seq) && c.varint(out.values[0]) && c.varint(out.values[1]) &&
             c.varint(out.values[2]) && c.string(out.key) && c.string(out.value);
        break;
    case Tag::Stack: {
        ok = c.varint(a) && c.varint(b) && b <= kMaxStackDepth + 16;
        out.stack = stack_id(a);
        out.frames.clear();
        std::uint64_t frame = 0;
        for (std::uint64_t i = 0; ok && i < b; ++i) {
            ok = c.varint(d);
            frame += static_cast<std::uint64_t>(zigzag_decode(d));
            out.frames.push_back(frame);
        }
        break;
    }
    case Tag::Frame: {
        ok = c.varint(out.address) && c.varint(b) && b < 256;
        out.levels.resize(ok ? b : 0);
        for (std::uint64_t i = 0; ok && i < b; ++i) {
            SourceLevel& l = out.levels[i];
            ok = c.string(l.function) && c.string(l.file) && c.varint(a) && c.varint(d);
            l.line = static_cast<std::uint32_t>(a);
            l.in_mbedtls = (d & kFrameInMbedtls) != 0;
        }
        break;
    }
    case Tag::Phase:
        ok = c.varint(a) && a < kPhaseCount;
        out.phase = static_cast<Phase>(a);
        break;
    case Tag::StepBegin:
        ok = c.varint(a);
        out.state = state_id(a);
        break;
    case Tag::StepEnd:
        ok = c.varint(a) && c.varint(b);
        out.state = state_id(a);
        out.ret = zigzag_decode(b);
        break;
    case Tag::Activity:
        ok = c.varint(a) && c.string(out.key);
        out.begin = a != 0;
        break;
    case Tag::Connection:
        ok = c.varint(a);
        if (ok && (a > highest_connection_ + 1 || a > kMaxConnectionId)) {
            bad_value("connection id", a,
                      "skips ids (connections are numbered in order; the highest so far is " +
                          std::to_string(highest_connection_) + ")");
        }
        out.connection = static_cast<std::uint32_t>(a);
        if (ok && !partial) {
            highest_connection_ = std::max(highest_connection_, a);
        }
        break;
    case Tag::TlsRecord: {
        std::uint64_t direction = 0, type = 0, version = 0, length = 0, flags = 0, n = 0;
        ok = c.varint(direction) && direction <= 1 && c.varint(type) && c.varint(version) &&
             c.varint(length) && c.varint(flags) && c.varint(n) && n <= 64;
        out.direction = static_cast<Direction>(direction);
        out.content_type = static_cast<std::uint8_t>(type);
        out.version = static_cast<std::uint16_t>(version);
        out.length = static_cast<std::uint32_t>(length);
        out.flags = static_cast<std::uint8_t>(flags);
        out.hs_types.clear();
        for (std::uint64_t i = 0; ok && i < n; ++i) {
            ok = c.varint(a);
            out.hs_types.push_back(static_cast<std::uint8_t>(a));
        }
        // DTLS (1.5): epoch and record sequence number.
        a = 0;
        b = 0;
        if (ok && (flags & kRecordDatagram) != 0) {
            ok = c.varint(a) && c.varint(b);
            if (ok && a > tls::kDtlsMaxEpoch) {
                bad_value("epoch", a, "is out of range (at most 65535)");
            }
            if (ok && b > tls::kDtlsMaxSequence) {
                bad_value("sequence number", b,
                          "is out of range (DTLS numbers records in 48 bits)");
            }
        }
        out.epoch = static_cast<std::uint16_t>(a);
        out.sequence = b;
        break;
    }
    case Tag::Role:
        ok = c.varint(out.role_seq) && c.varint(a) && (a == 1 || a == 2);
        out.role = static_cast<Role>(a);
        break;
    case Tag::Outcome:
        // A newer minor version may add kinds; ours and older ones may not.
        ok = c.varint(a) && a >= 1 && (a <= last_outcome_kind(minor_) || minor_ > kVersionMinor) &&
             c.varint(b) && c.varint(d);
        out.outcome = static_cast<OutcomeKind>(a);
        out.ret = zigzag_decode(b);
        out.state = ok ? state_id(d) : 0;
        ok = ok && c.string(out.value);
        // An early-data status the walker will switch on: one it knows.
        ok = ok && (out.outcome != OutcomeKind::EarlyData ||
                    (out.ret >= 1 && out.ret <= kLastEarlyDataStatus));
        break;
    case Tag::PoolStats:
        out.values.resize(7);
        for (auto& v : out.values) {
            ok = ok && c.varint(v);
        }
        break;
    case Tag::StackHighWater:
        // deepest, base: bounded, and the interval began above its deepest point.
        out.values.resize(2);
        ok = c.varint(out.values[0]) && c.varint(out.values[1]) &&
             out.values[0] <= kMaxStackBytes && out.values[1] <= out.values[0];
        break;
    case Tag::End:
        // Only the last record of a truncated file comes here (next() reads
        // a whole End itself). Its count must be the events read.
        ok = c.varint(a) && a == seq_ && c.varint(b);
        break;
    default:
        // A record from a newer minor version: skip it. In a trace of our
        // own version an unknown tag can only mean damage.
        if (minor_ <= kVersionMinor) {
            unknown_tag(tag, out.offset);
        }
        return true;
    }
    if (partial) {
        // A prefix of a record: a field the end of the file cut. Complete
        // fields, or a value no record has, mean the length is wrong.
        if (!ok && c.exhausted()) {
            return true;
        }
        if (ok) {
            return false;
        }
    } else if (ok && c.done()) {
        return true;
    }
    corrupt("malformed " + std::string(tag_name(tag)) + " record (tag 0x" +
                hex_byte(static_cast<unsigned>(tag)) + ")",
            out.offset);
}

} // namespace tlsheap::trace
