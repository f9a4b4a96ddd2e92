#!/bin/sh
# make-certs.sh OUTDIR: throwaway test PKI for the integration tests (OpenSSL 3.0 CLI).
#   ca.pem ca.key               the CA that clients are given (-CAfile)
#   good.pem good.key           DNS:localhost, IP:127.0.0.1, IP:::1, signed by ca
#   wronghost.pem wronghost.key DNS:wrong.example only, signed by ca
#   expired.pem expired.key     DNS:localhost + IPs, signed by ca, validity 2020-2021
#   unknownca.pem unknownca.key DNS:localhost + IPs, signed by a second CA (other-ca.pem)
#   client.pem client.key       CN=client.test, extendedKeyUsage clientAuth, signed by ca
# Keys are EC P-256, unencrypted. Idempotent: does nothing if OUTDIR/good.pem exists.
set -eu

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out=$1
if [ -f "$out/good.pem" ]; then
    exit 0
fi
mkdir -p "$out"
cd "$out"
umask 077

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# make_ca NAME CN
make_ca() {
    key "$1.key"
    openssl req -new -x509 -key "$1.key" -out "$1.pem" -days 3650 -sha256 \
        -subj "/O=libsmtp test/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash"
}

# ext_file NAME SAN EKU: writes NAME.ext, an x509v3 extension section "ext"
ext_file() {
    cat > "$1.ext" <<EXT
[ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = $3
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EXT
    if [ -n "$2" ]; then
        echo "subjectAltName = $2" >> "$1.ext"
    fi
}

# leaf NAME CN SAN EKU CA
leaf() {
    key "$1.key"
    openssl req -new -key "$1.key" -out "$1.csr" -subj "/O=libsmtp test/CN=$2"
    ext_file "$1" "$3" "$4"
    openssl x509 -req -in "$1.csr" -CA "$5.pem" -CAkey "$5.key" -CAcreateserial \
        -out "$1.pem" -days 3650 -sha256 -extfile "$1.ext" -extensions ext 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

san_local="DNS:localhost,IP:127.0.0.1,IP:::1"

make_ca ca "libsmtp test CA"
make_ca other-ca "libsmtp other CA (not trusted)"

leaf wronghost wrong.example "DNS:wrong.example" serverAuth ca
leaf unknownca localhost "$san_local" serverAuth other-ca
leaf client client.test "" clientAuth ca

# expired: OpenSSL 3.0's `x509 -req` cannot set a start date in the past, `ca` can.
key expired.key
openssl req -new -key expired.key -out expired.csr -subj "/O=libsmtp test/CN=localhost"
mkdir -p ca-db
: > ca-db/index.txt
echo 1000 > ca-db/serial
cat > ca-db/ca.cnf <<CNF
[ca]
default_ca = testca
[testca]
dir = ca-db
database = ca-db/index.txt
serial = ca-db/serial
new_certs_dir = ca-db
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
organizationName = optional
commonName = supplied
[ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $san_local
CNF
openssl ca -batch -notext -config ca-db/ca.cnf -cert ca.pem -keyfile ca.key \
    -startdate 20200101000000Z -enddate 20210101000000Z -extensions ext \
    -in expired.csr -out expired.pem 2>/dev/null
rm -rf ca-db expired.csr

# good last: its presence marks a complete set
leaf good localhost "$san_local" serverAuth ca
rm -f ./*.srl
chmod 644 ./*.pem
chmod 600 ./*.key
