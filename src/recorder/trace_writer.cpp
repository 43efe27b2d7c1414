#include "trace_writer.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace tlsheap::recorder {

void PayloadBuilder::string(std::string_view s) {
    varint(s.size());
    if (overflow_ || size_ + s.size() > sizeof(bytes_)) {
        overflow_ = true;
        return;
    }
    std::memcpy(bytes_ + size_, s.data(), s.size());
    size_ += s.size();
}

TraceWriter::~TraceWriter() {
    if (fd_ >= 0) {
        flush();
        ::close(fd_);
    }
}

bool TraceWriter::open(const char* path) {
    fd_ = ::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) {
        return false;
    }
    unsigned char header[trace::kHeaderSize];
    std::memcpy(header, trace::kMagic, sizeof(trace::kMagic));
    header[8] = static_cast<unsigned char>(trace::kVersionMajor & 0xff);
    header[9] = static_cast<unsigned char>(trace::kVersionMajor >> 8);
    header[10] = static_cast<unsigned char>(trace::kVersionMinor & 0xff);
    header[11] = static_cast<unsigned char>(trace::kVersionMinor >> 8);
    append(header, sizeof(header));
    return true;
}

void TraceWriter::record(trace::Tag tag, const PayloadBuilder& payload) {
    if (payload.overflowed()) {
        failed_ = true;
        return;
    }
    record(tag, payload.data(), payload.size());
}

void TraceWriter::record(trace::Tag tag, const unsigned char* payload, std::size_t size) {
    if (fd_ < 0) {
        return;
    }
    unsigned char head[1 + trace::kMaxVarintBytes];
    head[0] = static_cast<unsigned char>(tag);
    const std::size_t head_size = 1 + trace::varint_encode(size, head + 1);
    if (used_ + head_size + size > sizeof(buffer_)) {
        flush();
    }
    if (head_size + size > sizeof(buffer_)) {
        failed_ = true; // cannot happen with PayloadBuilder-sized payloads
        return;
    }
    // Header and payload go in together, so the buffer only ever holds whole records.
    std::memcpy(buffer_ + used_, head, head_size);
    std::memcpy(buffer_ + used_ + head_size, payload, size);
    used_ += head_size + size;
}

void TraceWriter::append(const unsigned char* p, std::size_t n) {
    if (used_ + n > sizeof(buffer_)) {
        flush();
    }
    std::memcpy(buffer_ + used_, p, n);
    used_ += n;
}

void TraceWriter::flush() {
    if (fd_ < 0 || used_ == 0) {
        return;
    }
    crc_ = trace::kCrc32c.update(crc_, buffer_, used_);
    std::size_t done = 0;
    while (done < used_) {
        const ssize_t n = ::write(fd_, buffer_ + done, used_ - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            failed_ = true;
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    used_ = 0;
}

void TraceWriter::emergency_flush() noexcept {
    if (fd_ < 0) {
        return;
    }
    std::size_t done = 0;
    while (done < used_) {
        const ssize_t n = ::write(fd_, buffer_ + done, used_ - done);
        if (n <= 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    used_ = 0;
}

void TraceWriter::finish(std::uint64_t event_count) {
    if (fd_ < 0) {
        return;
    }
    flush();
    PayloadBuilder end;
    end.varint(event_count);
    end.varint(crc_);
    record(trace::Tag::End, end);
    flush();
    if (::fsync(fd_) != 0 && errno != EINVAL) {
        failed_ = true;
    }
    ::close(fd_);
    fd_ = -1;
}

} // namespace tlsheap::recorder
