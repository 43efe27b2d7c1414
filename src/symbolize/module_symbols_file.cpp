#include "symbolize/module_symbols_file.h"

#include "variants/cache_file.h"

#include <cstdint>

namespace tlsheap::symbolize {

namespace {

// A version in the magic: a new layout reads old files as absent.
constexpr std::string_view kMagic = "tlsheap-module-symbols-v1\n";
// The recorder's lookups take some 100 KiB; a bigger file is not ours.
constexpr std::size_t kMaxFileBytes = 64u << 20;
// Inline levels of one address: a few in practice.
constexpr std::uint64_t kMaxLevels = 4096;

void put_varint(std::string& out, std::uint64_t v) {
    while (v >= 0x80) {
        out += static_cast<char>((v & 0x7f) | 0x80);
        v >>= 7;
    }
    out += static_cast<char>(v);
}

void put_string(std::string& out, std::string_view s) {
    put_varint(out, s.size());
    out += s;
}

// Reads what put_varint and put_string wrote; every read is bounds-checked,
// and the first failure sticks.
class Decoder {
  public:
    explicit Decoder(std::string_view bytes) : bytes_(bytes) {}

    std::uint64_t varint() {
        std::uint64_t v = 0;
        for (unsigned shift = 0; shift < 64; shift += 7) {
            if (at_ >= bytes_.size()) {
                break;
            }
            const auto byte = static_cast<unsigned char>(bytes_[at_++]);
            v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
            if ((byte & 0x80) == 0) {
                return v;
            }
        }
        ok_ = false;
        return 0;
    }

    std::string_view string() {
        const std::uint64_t size = varint();
        if (!ok_ || size > bytes_.size() - at_) {
            ok_ = false;
            return {};
        }
        const std::string_view s = bytes_.substr(at_, size);
        at_ += size;
        return s;
    }

    // At least `count` more items of at least one byte each are left.
    bool can_hold(std::uint64_t count) {
        ok_ = ok_ && count <= bytes_.size() - at_;
        return ok_;
    }

    bool ok() const { return ok_; }
    bool at_end() const { return at_ == bytes_.size(); }

  private:
    std::string_view bytes_;
    std::size_t at_ = 0;
    bool ok_ = true;
};

} // namespace

std::string encode_module_symbols(std::string_view identity, const ModuleSymbols& symbols) {
    std::string out(kMagic);
    put_string(out, identity);
    put_varint(out, symbols.size());
    for (const auto& [address, s] : symbols) {
        put_varint(out, address);
        put_varint(out, s.levels.size());
        for (const SourceLocation& level : s.levels) {
            put_string(out, level.function);
            put_string(out, level.file);
            put_varint(out, level.line);
        }
    }
    return out;
}

std::optional<ModuleSymbols> decode_module_symbols(std::string_view bytes,
                                                   std::string_view identity) {
    if (bytes.substr(0, kMagic.size()) != kMagic) {
        return std::nullopt;
    }
    Decoder in(bytes.substr(kMagic.size()));
    if (in.string() != identity || !in.ok()) {
        return std::nullopt;
    }
    ModuleSymbols symbols;
    const std::uint64_t count = in.varint();
    if (!in.can_hold(count)) {
        return std::nullopt;
    }
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t address = in.varint();
        const std::uint64_t levels = in.varint();
        if (levels > kMaxLevels || !in.can_hold(levels)) {
            return std::nullopt;
        }
        Symbolization s;
        s.levels.reserve(levels);
        for (std::uint64_t l = 0; l < levels; ++l) {
            SourceLocation level;
            level.function = in.string();
            level.file = in.string();
            const std::uint64_t line = in.varint();
            if (line > UINT32_MAX) {
                return std::nullopt;
            }
            level.line = static_cast<unsigned>(line);
            s.levels.push_back(std::move(level));
        }
        if (!in.ok() || !symbols.emplace(address, std::move(s)).second) {
            return std::nullopt;
        }
    }
    if (!in.ok() || !in.at_end()) {
        return std::nullopt;
    }
    return symbols;
}

std::optional<ModuleSymbols> read_module_symbols(const std::filesystem::path& file,
                                                 std::string_view identity) {
    const std::optional<std::string> bytes = build::read_cache_file(file, kMaxFileBytes);
    if (!bytes) {
        return std::nullopt;
    }
    return decode_module_symbols(*bytes, identity);
}

void write_module_symbols(const std::filesystem::path& file, std::string_view identity,
                          const ModuleSymbols& symbols) {
    build::write_cache_file(file, encode_module_symbols(identity, symbols));
}

} // namespace tlsheap::symbolize
