#!/bin/sh
# Install every build and test dependency from Debian's packages.
# Usage: vendor/deps.sh [--check]   (--check: exit 1 if something is missing)
set -e
PKGS="gcc make musl-tools libmnl-dev libjsmn-dev xz-utils dpkg-dev
clang libclang-rt-14-dev iproute2 iputils-ping iperf3 netcat-openbsd
nftables containernetworking-plugins golang-go nodejs npm kmod procps
tcpdump ca-certificates openssl file jq python3-yaml valgrind prometheus
podman runc busybox-static"
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
srcok() { grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ ||
	grep -qs '^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/*.list; }
if [ "$1" = --check ]; then
	[ -z "$missing" ] && srcok && exit 0
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "make deps: must run as root (missing:$missing)" >&2
	exit 1
fi
if ! srcok; then
	# Derive a deb-src entry from the machine's Debian entry.
	src=/etc/apt/sources.list.d/debian.sources
	if [ -f "$src" ]; then
		sed -n '1,/^$/p' "$src" | sed 's/^Types: deb$/Types: deb-src/' \
			>/etc/apt/sources.list.d/vpcnet-src.sources
	else
		grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' \
			>/etc/apt/sources.list.d/vpcnet-src.list
	fi
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# nodejs/npm may come from elsewhere on the machine already.
command -v node >/dev/null && missing=$(echo "$missing" | sed 's/ nodejs//; s/ npm//')
[ -n "$missing" ] && apt-get install -y -qq --no-install-recommends $missing
exit 0
