#!/bin/bash
# `sudo make demo`: two pods wired by cni-flannel on a throwaway node netns,
# pinging each other; everything is removed at the end.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
VPCNET=$TOP/build/vpcnet
P=vdemo$$
T=$(mktemp -d)
cleanup() {
	for n in node pod1 pod2; do ip netns del "$P-$n" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] || { echo "make demo: run as root (sudo make demo)" >&2; exit 1; }

for n in node pod1 pod2; do ip netns add "$P-$n"; ip -n "$P-$n" link set lo up; done
cat >"$T/subnet.env" <<EOF2
FLANNEL_NETWORK=10.244.0.0/16
FLANNEL_SUBNET=10.244.1.1/24
FLANNEL_MTU=1450
FLANNEL_IPMASQ=true
EOF2
cat >"$T/10-flannel.conf" <<EOF2
{"cniVersion":"1.0.0","name":"cbr0","type":"flannel",
 "subnetFile":"$T/subnet.env","dataDir":"$T/flannel",
 "ipam":{"dataDir":"$T/networks"},
 "delegate":{"hairpinMode":true,"isDefaultGateway":true}}
EOF2
echo "# subnet.env:"; cat "$T/subnet.env"
echo "# CNI config:"; cat "$T/10-flannel.conf"
cni() {
	ip netns exec "$P-node" env CNI_COMMAND="$1" CNI_CONTAINERID="$2" \
		CNI_NETNS="/run/netns/$P-$2" CNI_IFNAME=eth0 CNI_PATH=/opt/cni/bin \
		"$VPCNET" cni-flannel <"$T/10-flannel.conf"
}
for p in pod1 pod2; do
	echo "# ADD $p:"
	cni ADD "$p"
	echo
done
ip2=$(ip -n "$P-pod2" -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
echo "# pod1 -> pod2 ($ip2):"
ip netns exec "$P-pod1" ping -c3 -i0.2 "$ip2"
for p in pod1 pod2; do cni DEL "$p"; done
echo "# deleted both pods; leases left: $(ls "$T/networks/cbr0" | grep -vc -e lock -e last_reserved)"
