#include "credentials.h"

#include "painted_stack.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mbedtls/error.h>
#include <sys/stat.h>

namespace tlsheap::recorder {

std::string describe_mbedtls_error(int ret) {
    char code[32];
    std::snprintf(code, sizeof(code), "%s0x%04x", ret < 0 ? "-" : "",
                  static_cast<unsigned>(ret < 0 ? -ret : ret));
#if defined(MBEDTLS_ERROR_C)
    char text[256];
    mbedtls_strerror(ret, text, sizeof(text));
    return std::string(code) + " (" + text + ")";
#else
    return code;
#endif
}

namespace {

__attribute__((noinline)) bool
read_whole_file(const std::string& path, std::vector<unsigned char>& out, std::string& error) {
    // Credentials are small: a device (/dev/zero) or a huge file is refused
    // instead of read until memory runs out.
    constexpr std::size_t kMostBytes = 1u << 20;
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
        error = "cannot read " + path + ": " + std::strerror(errno);
        return false;
    }
    struct stat st {};
    if (::fstat(::fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        std::fclose(f);
        error = "cannot read " + path + ": not a regular file";
        return false;
    }
    out.clear();
    unsigned char chunk[4096];
    std::size_t n = 0;
    while ((n = std::fread(chunk, 1, sizeof(chunk), f)) > 0) {
        out.insert(out.end(), chunk, chunk + n);
        if (out.size() > kMostBytes) {
            std::fclose(f);
            error = "cannot read " + path + ": larger than 1 MiB";
            return false;
        }
    }
    std::fclose(f);
    return true;
}

} // namespace

bool read_file(const std::string& path, std::vector<unsigned char>& out, std::string& error) {
    // A device has its credentials in flash: reading them is not its stack.
    const StackExcursion excursion;
    return read_whole_file(path, out, error);
}

namespace {

[[maybe_unused]] bool looks_like_pem(const std::vector<unsigned char>& data) {
    static const char marker[] = "-----BEGIN ";
    return data.size() > sizeof(marker) &&
           std::search(data.begin(), data.end(), marker, marker + sizeof(marker) - 1) != data.end();
}

// Length of the DER element at p (tag + length + content), 0 if malformed.
[[maybe_unused]] std::size_t der_element_size(const unsigned char* p, std::size_t avail) {
    if (avail < 2) {
        return 0;
    }
    std::size_t header = 2;
    std::size_t len = p[1];
    if (len & 0x80) {
        const std::size_t bytes = len & 0x7f;
        if (bytes == 0 || bytes > 4 || avail < 2 + bytes) {
            return 0;
        }
        len = 0;
        for (std::size_t i = 0; i < bytes; ++i) {
            len = (len << 8) | p[2 + i];
        }
        header += bytes;
    }
    return header + len <= avail ? header + len : 0;
}

} // namespace

#if defined(MBEDTLS_X509_CRT_PARSE_C)
int parse_certificates(mbedtls_x509_crt* chain, const std::string& path, std::string& error) {
    std::vector<unsigned char> data;
    if (!read_file(path, data, error)) {
        return -1;
    }
    if (looks_like_pem(data)) {
#if defined(MBEDTLS_PEM_PARSE_C)
        data.push_back('\0'); // mbedtls_x509_crt_parse wants the terminating NUL counted
        const int ret = mbedtls_x509_crt_parse(chain, data.data(), data.size());
        if (ret != 0) {
            error = "cannot parse certificates in " + path + ": " + describe_mbedtls_error(ret);
        }
        return ret;
#else
        error = path + " is PEM but the variant lacks MBEDTLS_PEM_PARSE_C (give the .der file)";
        return -1;
#endif
    }
    std::size_t offset = 0;
    while (offset < data.size()) {
        const std::size_t size = der_element_size(data.data() + offset, data.size() - offset);
        if (size == 0) {
            error = "malformed DER certificate in " + path + " at byte " + std::to_string(offset);
            return -1;
        }
        const int ret = mbedtls_x509_crt_parse_der(chain, data.data() + offset, size);
        if (ret != 0) {
            error = "cannot parse certificate in " + path + ": " + describe_mbedtls_error(ret);
            return ret;
        }
        offset += size;
    }
    return 0;
}
#endif

#if defined(MBEDTLS_PK_PARSE_C)
int parse_private_key(mbedtls_pk_context* key, const std::string& path,
                      int (*f_rng)(void*, unsigned char*, size_t), void* p_rng,
                      std::string& error) {
    std::vector<unsigned char> data;
    if (!read_file(path, data, error)) {
        return -1;
    }
    if (looks_like_pem(data)) {
#if !defined(MBEDTLS_PEM_PARSE_C)
        error = path + " is PEM but the variant lacks MBEDTLS_PEM_PARSE_C (give the .der file)";
        return -1;
#endif
        data.push_back('\0');
    }
#if TLSHEAP_MBEDTLS_3
    const int ret = mbedtls_pk_parse_key(key, data.data(), data.size(), nullptr, 0, f_rng, p_rng);
#else
    (void)f_rng;
    (void)p_rng;
    const int ret = mbedtls_pk_parse_key(key, data.data(), data.size(), nullptr, 0);
#endif
    if (ret != 0) {
        error = "cannot parse key " + path + ": " + describe_mbedtls_error(ret);
    }
    return ret;
}
#endif

} // namespace tlsheap::recorder
