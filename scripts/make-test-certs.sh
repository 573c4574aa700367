#!/usr/bin/env bash
# Certificates for the PostgreSQL TLS tests, written into DIR (readable by the cluster's user):
#   ca.crt              a CA made now, valid two days
#   server.crt/.key     the cluster's certificate from that CA, for the host name `localhost` only
#   client.crt/.key     a client certificate from that CA (CN=roombook-client)
#   wrong-ca.crt        another CA, which signed nothing here
set -euo pipefail
dir=${1:?usage: make-test-certs.sh DIR}
command -v openssl >/dev/null || {
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq openssl >/dev/null
}
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -days 2 -subj "/CN=$2" -out "$1.crt" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
leaf() { # name, CN, extensions
  key "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out "$1.crt" \
    -extfile <(printf '%s\n' "$3") 2>/dev/null
  rm "$1.csr"
}
ca ca roombook-test-ca
ca wrong-ca roombook-wrong-ca
leaf server localhost "subjectAltName=DNS:localhost
extendedKeyUsage=serverAuth"
leaf client roombook-client "extendedKeyUsage=clientAuth"
rm ca.key wrong-ca.key
chmod 600 ./*.key
chmod 755 .
# The cluster runs as `postgres` when the tests run as root; its key must be its own.
if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1; then
  chown postgres server.key server.crt ca.crt
fi
