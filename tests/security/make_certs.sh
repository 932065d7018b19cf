#!/bin/sh
# Generates the certificates the security tests use, into DIR:
#   ca.pem/ca.key           the CA that signs the server and good clients
#   server.pem/server.key   CN localhost, SAN DNS:localhost and IP:127.0.0.1
#   client.pem/client.key   a client certificate from ca
#   other-ca.pem            an unrelated CA
#   rogue.pem/rogue.key     a client certificate from other-ca
#   expired.pem/expired.key a client certificate from ca, valid only in 2020
# EC P-256 keys keep generation fast.
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() {  # name subject
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 2 -out "$1.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}

leaf() {  # name subject issuer ext-file
  key "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
  openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -days 2 \
    -extfile "$4" -out "$1.pem" 2>/dev/null
}

printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext
printf 'extendedKeyUsage=clientAuth\n' > client.ext

ca ca "webhookgw test CA"
ca other-ca "unrelated CA"
leaf server localhost ca server.ext
leaf client adapter-1 ca client.ext
leaf rogue adapter-rogue other-ca client.ext

# openssl 3.0's x509 has no way to back-date; `openssl ca` takes explicit
# start and end dates.
key expired.key
openssl req -new -key expired.key -subj "/CN=adapter-expired" -out expired.csr
mkdir -p ca-db
: > ca-db/index.txt
echo 1000 > ca-db/serial
cat > ca.cnf <<CNF
[ca]
default_ca = test
[test]
database = ca-db/index.txt
serial = ca-db/serial
new_certs_dir = ca-db
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
[client]
extendedKeyUsage = clientAuth
CNF
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr \
  -startdate 20200101000000Z -enddate 20200102000000Z -extensions client \
  -out expired.pem 2>/dev/null
echo ok
