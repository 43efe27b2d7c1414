#!/usr/bin/env bash
# Regenerates the committed seed corpus of the fuzz harnesses
# (tests/fuzz/corpus/HARNESS): small traces cut from the sample traces in
# traces/ (tests/fuzz/make_trace_seeds.cpp), the scenarios in scenarios/, and
# hand-written config edits and recorder command lines.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build-tlsheap.sh" fuzz --target make_trace_seeds >/dev/null
cut_trace="$root/build/fuzz/tests/fuzz/make_trace_seeds"
corpus="$root/tests/fuzz/corpus"

# Traces: one per kind of recording (client and server, TLS 1.2 and 1.3,
# PSK, the real pool, 2.28, several connections), cut to their first events.
out="$corpus/trace_replay_fuzzer"
rm -rf "$out" && mkdir -p "$out"
for spec in tls12-psk-aes128-ccm:150 tls12-psk-aes128-ccm-server:150 tls13-ecdsa-p256:150 \
            tls12-ecdhe-ecdsa-p256-real-pool:150 tls12-ecdhe-ecdsa-p256-mbedtls228:150 \
            tls12-ecdhe-ecdsa-p256-2x2-together:200 tls12-esp-https-request:150; do
  name="${spec%%:*}"
  "$cut_trace" "$root/traces/$name.trace" "$out/$name.trace" "${spec##*:}"
done

out="$corpus/scenario_loader_fuzzer"
rm -rf "$out" && mkdir -p "$out"
cp "$root"/scenarios/*.json "$out/"
# The scenario options the committed ones do not use.
printf '%s\n' '{"name": "lifecycle", "protocol": "tls1.3", "groups": ["x25519"],' \
  ' "authentication": {"mode": "psk", "psk_identity": "id", "psk": "00112233"},' \
  ' "exchange": {"response_bytes": 10}, "peers": ["mbedtls", "openssl"],' \
  ' "connections": 2, "start": "staggered", "reconnects": 2, "resume": "ticket",' \
  ' "early_data": true}' >"$out/lifecycle-psk.json"

# Config edits: delta lines (+NAME[=VALUE], -NAME), an empty line, config.h.
out="$corpus/config_editor_fuzzer"
rm -rf "$out" && mkdir -p "$out"
config='#ifndef MBEDTLS_CONFIG_H
#define MBEDTLS_CONFIG_H
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE
//#define MBEDTLS_SSL_IN_CONTENT_LEN 16384
#define MBEDTLS_SSL_OUT_CONTENT_LEN   16384 /**< comment */
#if defined(MBEDTLS_USER_CONFIG_FILE)
#include MBEDTLS_USER_CONFIG_FILE
#endif
#include "mbedtls/check_config.h"
#endif /* MBEDTLS_CONFIG_H */'
printf '%s\n\n%s\n' '+MBEDTLS_SSL_IN_CONTENT_LEN=4096' "$config" >"$out/set-commented.txt"
printf '%s\n%s\n\n%s\n' '+MBEDTLS_SSL_OUT_CONTENT_LEN=2048' '-MBEDTLS_SSL_KEEP_PEER_CERTIFICATE' \
  "$config" >"$out/set-and-unset.txt"
printf '%s\n%s\n\n%s\n' '+MBEDTLS_NEW_OPTION' '-MBEDTLS_SSL_IN_CONTENT_LEN' "$config" \
  >"$out/add-and-unset-commented.txt"
printf '%s\n\n%s\n' '+MBEDTLS_SSL_MAX_CONTENT_LEN=1024' \
  'MBEDTLS_SSL_IN_CONTENT_LEN 4096
MBEDTLS_SSL_KEEP_PEER_CERTIFICATE
PSA_WANT_ALG_SHA_256 1' >"$out/macro-set.txt"

# Recorder command lines, arguments separated by NUL bytes.
out="$corpus/recorder_options_fuzzer"
rm -rf "$out" && mkdir -p "$out"
args() { printf '%s\0' "$@"; }
args --mode client --connect 127.0.0.1:4433 --trace t.trace --meta scenario=x \
  --min-version tls1.2 --max-version tls1.3 --ciphersuite TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256 \
  --group secp256r1 --ca ca.pem --auth required --server-name localhost --timeout-ms 5000 \
  --seed 7 --fixed-time 1700000000 --max-fragment 1024 >"$out/client.args"
args --mode server --listen '[::1]:0' --cert leaf.pem --cert ca.pem --key key.pem \
  --psk 00112233 --psk-identity id --accept-count 2 --response-bytes 4096 --pool-size 65536 \
  --no-stacks --report-timing >"$out/server.args"
args --mode client --connect localhost:1 --connections 3 --start staggered --reconnects 2 \
  --resume ticket --early-data --repeat 2 >"$out/lifecycle.args"
echo "fuzz-seeds: $(find "$corpus" -type f | wc -l) seeds, $(du -sh "$corpus" | cut -f1)"
