#!/bin/sh
# Build cnitool (the CNI project's reference client) from Debian's
# golang-github-appc-cni source package with Debian's golang-go, GOPATH mode,
# into build/tools/cnitool. Prints the path. Nothing downloaded is committed.
set -e
cd "$(dirname "$0")/../.."
out=$PWD/build/tools
[ -x "$out/cnitool" ] && { echo "$out/cnitool"; exit 0; }
VER=1.1.2-1
SHA=d16939874ef2e2ff2e34970e2ef62bac910a518b17f3bd2e72bfd05096a1dfec
w=$out/cni-src
rm -rf "$w" && mkdir -p "$w/dl" "$w/gopath/src/github.com/containernetworking"
( cd "$w/dl" && apt-get source --download-only -qq \
	golang-github-appc-cni=$VER >/dev/null 2>&1 )
echo "$SHA  $w/dl/golang-github-appc-cni_1.1.2.orig.tar.xz" | sha256sum -c --quiet -
tar -xJf "$w/dl/golang-github-appc-cni_1.1.2.orig.tar.xz" -C "$w"
mv "$w/golang-github-appc-cni-1.1.2" "$w/gopath/src/github.com/containernetworking/cni"
cd "$w/gopath/src/github.com/containernetworking/cni"
GOPATH=$w/gopath GO111MODULE=off GOCACHE=$w/cache go build -o "$out/cnitool" ./cnitool
echo "$out/cnitool"
