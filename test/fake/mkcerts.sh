#!/bin/bash
# mkcerts.sh DIR [NAME|IP]...: make a throwaway test CA and certificates.
#   DIR/ca.pem ca.key              the CA (trust anchor for the clients)
#   DIR/server.pem server.key      server cert for the NAMEs/IPs given, plus
#                                  localhost, 127.0.0.1 and ::1 always
#   DIR/client.pem client.key      client cert (CN=vpcnet-test, O=system:masters)
#   DIR/other-ca.pem               an unrelated CA, for "wrong CA" tests
# Keys are RSA 2048 unless KEYTYPE=ec (P-256). Existing files are replaced.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 DIR [NAME|IP]..." >&2; exit 2; }
dir=$1
shift
mkdir -p "$dir"
cd "$dir"

newkey() {
	if [ "${KEYTYPE:-rsa}" = ec ]; then
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
			-out "$1" 2>/dev/null
	else
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
			-out "$1" 2>/dev/null
	fi
	chmod 600 "$1"
}

san="DNS:localhost,IP:127.0.0.1,IP:::1"
for n in "$@"; do
	if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then
		san="$san,IP:$n"
	else
		san="$san,DNS:$n"
	fi
done

newkey ca.key
openssl req -x509 -new -key ca.key -days 30 -subj "/CN=vpcnet test CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" \
	-out ca.pem 2>/dev/null

newkey other-ca.key
openssl req -x509 -new -key other-ca.key -days 30 \
	-subj "/CN=vpcnet unrelated CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" \
	-out other-ca.pem 2>/dev/null

sign() {	# sign NAME SUBJECT EXTFILE
	newkey "$1.key"
	openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
	openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key \
		-CAcreateserial -days 30 -extfile "$3" -out "$1.pem" 2>/dev/null
	rm -f "$1.csr" "$3"
}

cat >server.ext <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$san
EOF
sign server "/CN=${1:-localhost}" server.ext

cat >client.ext <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
EOF
sign client "/O=system:masters/CN=vpcnet-test" client.ext
rm -f ca.srl
