#!/usr/bin/env bash
# Generate tlsheap's test PKI into scenarios/pki/:
#   ecdsa-p256/  P-256 root -> server, client
#   rsa-chain/   RSA-2048 root -> intermediate -> server, client
# Everything except the key bytes (and so the signatures) is fixed: names,
# subjects, serials, validity and extensions. Keys are regenerated on every
# run. Only the `openssl` CLI is used (written against OpenSSL 3.0).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$repo/scenarios/pki"

# Fixed validity: `openssl req -x509 -days` would make the dates depend on
# when the script runs, so every certificate goes through `openssl ca`.
start=20250101000000Z
end=20991231235959Z
org="tlsheap test PKI"

command -v openssl >/dev/null || { echo "gen-pki: openssl is missing" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# One config serves `req` (CSRs; subjects come from -subj) and `ca`.
# The CA section is completed per CA via environment variables so each CA
# gets its own throwaway database. copy_extensions is off: every extension
# comes from the sections below, never from a CSR.
cat >"$tmp/openssl.cnf" <<'EOF'
[req]
distinguished_name = req_dn
prompt             = no
[req_dn]
CN = placeholder

[ca]
default_ca = tmp_ca
[tmp_ca]
dir             = $ENV::CA_DIR
database        = $dir/index.txt
serial          = $dir/serial
new_certs_dir   = $dir/new
default_md      = sha256
policy          = policy_any
unique_subject  = no
copy_extensions = none
email_in_dn     = no
[policy_any]
organizationName = optional
commonName       = supplied

[v3_root]
basicConstraints     = critical, CA:TRUE
keyUsage             = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[v3_intermediate]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[v3_server_ec]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:server.tlsheap.test, DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

# keyEncipherment as well: TLS 1.2 static-RSA suites (TLS_RSA_WITH_*) encrypt
# the premaster secret to this key, and mbedTLS rejects the certificate for
# them without that bit.
[v3_server_rsa]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:server.tlsheap.test, DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[v3_client]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectAltName         = DNS:client.tlsheap.test
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
EOF

# genkey DIR NAME ec|rsa: PKCS#8 unencrypted key, PEM and DER.
genkey() {
  local dir=$1 name=$2 kind=$3
  case $kind in
    ec)  openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
           -pkeyopt ec_param_enc:named_curve -out "$tmp/k.pem" ;;
    rsa) openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
           -out "$tmp/k.pem" ;;
  esac
  # Re-encode through pkcs8 so both files are explicitly PrivateKeyInfo
  # (OpenSSL 3.0 `pkey -outform DER` writes SEC1/PKCS#1 instead).
  openssl pkcs8 -topk8 -nocrypt -in "$tmp/k.pem" -out "$dir/$name.key.pem"
  openssl pkcs8 -topk8 -nocrypt -in "$tmp/k.pem" -outform DER -out "$dir/$name.key.der"
  rm -f "$tmp/k.pem"
}

# newca ID: fresh, empty CA database under $tmp/ca-ID.
newca() {
  mkdir -p "$tmp/ca-$1/new"
  : >"$tmp/ca-$1/index.txt"
}

# sign CA_ID ISSUER_DIR ISSUER_NAME|self DIR NAME SERIAL_HEX EXT SUBJECT
sign() {
  local ca=$1 idir=$2 iname=$3 dir=$4 name=$5 serial=$6 ext=$7 subj=$8
  local -a issuer
  export CA_DIR="$tmp/ca-$ca"
  echo "$serial" >"$CA_DIR/serial"   # fixed serial, not a counter
  openssl req -new -config "$tmp/openssl.cnf" -key "$dir/$name.key.pem" \
    -subj "$subj" -out "$tmp/$name.csr"
  if [ "$iname" = self ]; then
    issuer=(-selfsign -keyfile "$dir/$name.key.pem")
  else
    issuer=(-cert "$idir/$iname.crt.pem" -keyfile "$idir/$iname.key.pem")
  fi
  # -preserveDN keeps the subject's RDN order (O, then CN) as given.
  openssl ca -batch -notext -config "$tmp/openssl.cnf" "${issuer[@]}" \
    -md sha256 -startdate "$start" -enddate "$end" -preserveDN \
    -extensions "$ext" -in "$tmp/$name.csr" -out "$dir/$name.crt.pem" 2>"$tmp/ca.log" \
    || { cat "$tmp/ca.log" >&2; exit 1; }
  openssl x509 -in "$dir/$name.crt.pem" -outform DER -out "$dir/$name.crt.der"
}

# chain DIR NAME CERT...: PEM bundle and concatenated DER, in the order given.
chain() {
  local dir=$1 name=$2 c
  shift 2
  : >"$dir/$name.pem"
  : >"$dir/$name.der"
  for c in "$@"; do
    cat "$dir/$c.crt.pem" >>"$dir/$name.pem"
    cat "$dir/$c.crt.der" >>"$dir/$name.der"
  done
}

# Build into the temp dir and swap in at the end, so a failed run leaves
# the committed files alone.
build="$tmp/out"

# --- ECDSA P-256 ---------------------------------------------------------
d="$build/ecdsa-p256"
mkdir -p "$d"
newca ec
for n in root server client; do genkey "$d" "$n" ec; done
sign ec "$d" self "$d" root   EC01 v3_root      "/O=$org/CN=tlsheap Test ECDSA Root CA"
sign ec "$d" root "$d" server EC02 v3_server_ec "/O=$org/CN=server.tlsheap.test"
sign ec "$d" root "$d" client EC03 v3_client    "/O=$org/CN=client.tlsheap.test"

# --- RSA-2048 chain ------------------------------------------------------
d="$build/rsa-chain"
mkdir -p "$d"
newca rsaroot
newca rsaint
for n in root intermediate server client; do genkey "$d" "$n" rsa; done
sign rsaroot "$d" self         "$d" root         5A01 v3_root         "/O=$org/CN=tlsheap Test RSA Root CA"
sign rsaroot "$d" root         "$d" intermediate 5A02 v3_intermediate "/O=$org/CN=tlsheap Test RSA Intermediate CA"
sign rsaint  "$d" intermediate "$d" server       5A03 v3_server_rsa   "/O=$org/CN=server.tlsheap.test"
sign rsaint  "$d" intermediate "$d" client       5A04 v3_client       "/O=$org/CN=client.tlsheap.test"
chain "$d" server-chain server intermediate
chain "$d" client-chain client intermediate

mkdir -p "$out"
for sub in ecdsa-p256 rsa-chain; do
  rm -rf "${out:?}/$sub"
  mv "$build/$sub" "$out/$sub"
done
echo "gen-pki: wrote $out/ecdsa-p256 and $out/rsa-chain"
