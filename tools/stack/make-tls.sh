#!/usr/bin/env bash
# Makes the mutual TLS of the local stack (tools/run.sh) between the manager
# and its providers, with openssl, in DIR (made 0700):
#
#   DIR/ca/ca.{crt,key}                  a private CA, valid 30 days; its key
#                                        is given to no service
#   DIR/provider/tls.{crt,key}           the providers' server certificate
#                                        (127.0.0.1 and localhost)
#   DIR/provider/client-ca.crt           what providers trust for client
#                                        certificates: the CA, which signs
#                                        no other client than the manager
#   DIR/manager/ca.crt                   what the manager trusts for the
#                                        providers' certificates
#   DIR/manager/tls.{crt,key}            the manager's client certificate
#                                        toward the providers
#
# DIR/manager is the manager's --provider-tls-dir: the only files a Provider
# may name. Everything is made anew at each run.
#
# Usage: tools/stack/make-tls.sh DIR
set -euo pipefail
dir=${1:?usage: make-tls.sh DIR}
command -v openssl >/dev/null || { echo "make-tls.sh: needs openssl (apt-get install openssl)" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$dir"
chmod 700 "$dir"
umask 077
mkdir -p "$dir/ca" "$dir/provider" "$dir/manager"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)

openssl req -x509 "${ec[@]}" -keyout "$dir/ca/ca.key" -out "$dir/ca/ca.crt" -days 30 \
  -subj "/CN=VirtRigaud local stack CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

# leaf OUT_PREFIX CN USAGE [SAN]: a certificate signed by the CA.
leaf() {
  local out=$1 cn=$2 usage=$3 san=${4:-} ext
  ext=$(mktemp)
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=$usage" >"$ext"
  [ -z "$san" ] || printf 'subjectAltName=%s\n' "$san" >>"$ext"
  openssl req -new "${ec[@]}" -keyout "$out.key" -subj "/CN=$cn" -out "$out.csr" 2>/dev/null
  openssl x509 -req -in "$out.csr" -CA "$dir/ca/ca.crt" -CAkey "$dir/ca/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 30 -extfile "$ext" -out "$out.crt" 2>/dev/null
  rm -f "$out.csr" "$ext"
}

leaf "$dir/provider/tls" "provider" serverAuth "IP:127.0.0.1,DNS:localhost"
leaf "$dir/manager/tls" "virtrigaud-manager" clientAuth
cp "$dir/ca/ca.crt" "$dir/provider/client-ca.crt"
cp "$dir/ca/ca.crt" "$dir/manager/ca.crt"
