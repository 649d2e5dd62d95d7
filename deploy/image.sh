#!/bin/bash
# Build the vpcnet image without docker or podman: an OCI image layout
# (oci-layout, index.json, blobs/sha256/{layer,config,manifest}) packed as
# one tar, the same content deploy/Dockerfile makes: /vpcnet and one
# symlink to it per applet name and alias.  Reproducible: fixed mtimes,
# owners and order, gzip without a timestamp.
#
#	deploy/image.sh [OUT.tar]        default build/vpcnet-oci.tar
#	VPCNET=path/to/vpcnet  ARCH=amd64  SOURCE_DATE_EPOCH=...
#	deploy/image.sh --podman         also `podman build` the Dockerfile
#	                                 (skipped when podman does not work)
#
# Load it with `skopeo copy oci-archive:build/vpcnet-oci.tar
# docker://REGISTRY/vpcnet:VERSION`, `podman load -i ...` or `ctr image
# import --oci ...` (no registry is contacted here).
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
podman=0
if [ "${1:-}" = --podman ]; then podman=1; shift; fi
OUT=${1:-$TOP/build/vpcnet-oci.tar}
VPCNET=${VPCNET:-$TOP/build/vpcnet}
ARCH=${ARCH:-amd64}
VERSION=$(cat "$TOP/VERSION")
EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$TOP" log -1 --format=%ct 2>/dev/null ||
	echo 0)}
CREATED=$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)

[ -x "$VPCNET" ] || { echo "image.sh: $VPCNET: run make first" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/vpcnet-oci.XXXXXX")
trap 'rm -rf "$W"' EXIT

# the root file system: what `RUN /vpcnet --install /` leaves
mkdir -p "$W/root" "$W/oci/blobs/sha256"
install -m 0755 "$VPCNET" "$W/root/vpcnet"
names=$("$VPCNET" --list | awk '{ print $1; if ($2 != "-") print $2 }')
[ -n "$names" ] || { echo "image.sh: vpcnet --list is empty" >&2; exit 1; }
for n in $names; do ln -s /vpcnet "$W/root/$n"; done
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$EPOCH" \
	--format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
	-C "$W/root" -cf "$W/layer.tar" vpcnet $names
diff_id=$(sha256sum <"$W/layer.tar" | cut -d' ' -f1)
gzip -9n <"$W/layer.tar" >"$W/layer.tar.gz"

blob() {	# blob FILE: move into blobs/sha256/, print "digest size"
	local d s
	d=$(sha256sum <"$1" | cut -d' ' -f1)
	s=$(stat -c %s "$1")
	mv "$1" "$W/oci/blobs/sha256/$d"
	echo "$d $s"
}
read -r layer_d layer_s < <(blob "$W/layer.tar.gz")

printf '%s' '{"architecture":"'"$ARCH"'","os":"linux","created":"'"$CREATED"'",'\
'"config":{"Entrypoint":["/vpcnet"],"Labels":{"org.opencontainers.image.title":"vpcnet","org.opencontainers.image.version":"'"$VERSION"'"}},'\
'"rootfs":{"type":"layers","diff_ids":["sha256:'"$diff_id"'"]},'\
'"history":[{"created":"'"$CREATED"'","created_by":"deploy/image.sh: /vpcnet and its applet symlinks"}]}' \
	>"$W/config.json"
read -r conf_d conf_s < <(blob "$W/config.json")

printf '%s' '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'\
'"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:'"$conf_d"'","size":'"$conf_s"'},'\
'"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:'"$layer_d"'","size":'"$layer_s"'}]}' \
	>"$W/manifest.json"
read -r man_d man_s < <(blob "$W/manifest.json")

printf '%s' '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",'\
'"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:'"$man_d"'","size":'"$man_s"','\
'"platform":{"architecture":"'"$ARCH"'","os":"linux"},'\
'"annotations":{"org.opencontainers.image.ref.name":"'"$VERSION"'"}}]}' \
	>"$W/oci/index.json"
printf '%s' '{"imageLayoutVersion":"1.0.0"}' >"$W/oci/oci-layout"

mkdir -p "$(dirname "$OUT")"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$EPOCH" \
	-C "$W/oci" -cf "$OUT.tmp" oci-layout index.json blobs
mv "$OUT.tmp" "$OUT"
echo "image.sh: $OUT (manifest sha256:$man_d, layer $layer_s bytes)"

if [ $podman = 1 ]; then
	if command -v podman >/dev/null && podman info >/dev/null 2>&1; then
		podman build -f "$TOP/deploy/Dockerfile" \
			-t "vpcnet:$VERSION" "$TOP"
	else
		echo "image.sh: podman missing or not working: skipped" >&2
	fi
fi
