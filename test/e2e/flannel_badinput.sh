#!/bin/bash
# Bad input: every malformed config or environment gives a spec error JSON
# on stdout with the right code, exits non-zero, and changes nothing on disk
# or in the kernel.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cni_lib.sh"

setup() {
	node_up && mkns pod || return 1
	subnet_env 10.244.0.0/16 10.244.9.1/24 1450 false
	flannel_conf 1.0.0 >"$T/good"
	# a pod already added, so "no change" has something to compare to
	cni ADD keep pod eth0 <"$T/good" >/dev/null || fail "good ADD"
	snapshot >"$T/before"
}

snapshot() {
	ls -lR "$IPAM_DATA" "$FL_DATA" 2>/dev/null | grep -v '^total' |
		awk '{print $1, $NF}'
	ip -n "$NODE" -o link show | awk -F': ' '{print $2}'
	ip -n "$P-pod" -o link show | awk -F': ' '{print $2}'
	ip -n "$P-pod" -o addr show | awk '{print $2, $4}'
	ip netns exec "$NODE" nft list ruleset
}

# bad CODE DESCRIPTION VERB IFNAME CONF [ENV...]: run, expect error CODE
bad() {
	local code=$1 what=$2 verb=$3 ifname=$4 conf=$5 out rc
	shift 5
	out=$(printf '%s' "$conf" | ip netns exec "$NODE" env -i PATH="$PATH" \
		CNI_COMMAND="$verb" CNI_CONTAINERID=ctr-bad \
		CNI_NETNS="/run/netns/$P-pod" CNI_IFNAME="$ifname" \
		CNI_PATH=/opt/cni/bin "$@" "$VPCNET" cni-flannel 2>"$T/stderr")
	rc=$?
	printf '%s' "$out" >"$T/out"
	[ $rc != 0 ] || fail "$what: exit 0"
	echo "$out" | jq -e . >/dev/null 2>&1 || fail "$what: not JSON: $out"
	expect_eq "$what: code" "$(echo "$out" | jq -r .code)" "$code" || {
		echo "$out"; return 1; }
	[ -n "$(echo "$out" | jq -r .msg)" ] || fail "$what: empty msg"
	diff "$T/before" <(snapshot) >/dev/null ||
		fail "$what: state changed: $(diff "$T/before" <(snapshot))"
}

G=$(cat <<EOC
{"cniVersion":"1.0.0","name":"$NET","type":"flannel","subnetFile":"$SUBNET_ENV","dataDir":"$FL_DATA","ipam":{"dataDir":"$IPAM_DATA"},"delegate":{"bridge":"$BR"}}
EOC
)
# with KEY=VALUE (jq path assignment) applied to the good config
with() { echo "$G" | jq -c "$1"; }

matrix() {
	local f=0
	bad 6 "not JSON" ADD eth0 '{"cniVersion":' || f=1
	bad 6 "empty stdin" ADD eth0 '' || f=1
	bad 6 "trailing garbage" ADD eth0 "$G}" || f=1
	bad 1 "unknown cniVersion" ADD eth0 "$(with '.cniVersion="9.9.9"')" || f=1
	bad 1 "cniVersion 0.2.0" ADD eth0 "$(with '.cniVersion="0.2.0"')" || f=1
	bad 1 "GC on 1.0.0" GC eth0 "$G" || f=1
	bad 7 "missing name" ADD eth0 "$(with 'del(.name)')" || f=1
	bad 7 "missing type" ADD eth0 "$(with 'del(.type)')" || f=1
	bad 7 "name is a number" ADD eth0 "$(with '.name=5')" || f=1
	bad 7 "delegate not an object" ADD eth0 "$(with '.delegate=[]')" || f=1
	bad 7 "hairpinMode a string" ADD eth0 \
		"$(with '.delegate.hairpinMode="yes"')" || f=1
	bad 7 "mtu huge" ADD eth0 "$(with '.delegate.mtu=100000000000')" || f=1
	bad 7 "mtu negative" ADD eth0 "$(with '.delegate.mtu=-1')" || f=1
	bad 7 "delegate has name" ADD eth0 "$(with '.delegate.name="x"')" || f=1
	bad 2 "delegate type macvlan" ADD eth0 \
		"$(with '.delegate.type="macvlan"')" || f=1
	bad 2 "ipam type dhcp" ADD eth0 "$(with '.ipam.type="dhcp"')" || f=1
	bad 7 "hairpin with promisc" ADD eth0 \
		"$(with '.delegate.hairpinMode=true|.delegate.promiscMode=true')" || f=1
	bad 7 "bandwidth wrong type" ADD eth0 \
		"$(with '.runtimeConfig.bandwidth="fast"')" || f=1
	bad 4 "missing CNI_COMMAND" "" eth0 "$G" || f=1
	bad 4 "unknown CNI_COMMAND" FOO eth0 "$G" || f=1
	bad 4 "IFNAME too long" ADD eth0123456789abcdef "$G" || f=1
	bad 4 "IFNAME with slash" ADD "a/b" "$G" || f=1
	bad 4 "missing CNI_NETNS" ADD eth0 "$G" CNI_NETNS= || f=1
	bad 4 "netns path is a plain file" ADD eth0 "$G" \
		CNI_NETNS="$T/before" || f=1
	bad 4 "netns path does not exist" ADD eth0 "$G" \
		CNI_NETNS=/run/netns/$P-nosuch || f=1
	bad 4 "bad CNI_CONTAINERID" ADD eth0 "$G" CNI_CONTAINERID='-x;y' || f=1
	bad 4 "unknown CNI_ARGS key" ADD eth0 "$G" CNI_ARGS='FOO=bar' || f=1
	bad 100 "CNI_IFNAME exists in netns" ADD eth0 "$G" \
		CNI_CONTAINERID=ctr-other || f=1
	[ $f = 0 ]
}

subnet_file_matrix() {
	local f=0
	bad 11 "subnet file missing" ADD eth1 \
		"$(with ".subnetFile=\"$T/nosuch.env\"")" || f=1
	printf 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n' \
		>"$T/nosubnet.env"
	bad 7 "FLANNEL_SUBNET missing" ADD eth1 \
		"$(with ".subnetFile=\"$T/nosubnet.env\"")" || f=1
	printf 'FLANNEL_NETWORK=10.244.0.0/33\nFLANNEL_SUBNET=10.244.9.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n' \
		>"$T/badcidr.env"
	bad 7 "bad CIDR in FLANNEL_NETWORK" ADD eth1 \
		"$(with ".subnetFile=\"$T/badcidr.env\"")" || f=1
	printf 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.99.9.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n' \
		>"$T/outside.env"
	bad 7 "subnet outside the network" ADD eth1 \
		"$(with ".subnetFile=\"$T/outside.env\"")" || f=1
	printf 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.9.1/24\nFLANNEL_MTU=abc\nFLANNEL_IPMASQ=false\n' \
		>"$T/badmtu.env"
	bad 7 "FLANNEL_MTU not a number" ADD eth1 \
		"$(with ".subnetFile=\"$T/badmtu.env\"")" || f=1
	bad 50 "STATUS with subnet file missing" STATUS eth1 \
		"$(with ".cniVersion=\"1.1.0\"|.subnetFile=\"$T/nosuch.env\"")" || f=1
	[ $f = 0 ]
}

# every other address of the subnet leased (by stand-in leases): code 11
# (try again later), the message upstream gives, nothing changed
pool_exhausted() {
	local i f=0
	for i in $(seq 3 254); do
		printf 'other%d\r\neth0' "$i" >"$IPAM_DATA/$NET/10.244.9.$i"
	done
	snapshot >"$T/before"
	bad 11 "pool exhausted" ADD eth1 "$G" || f=1
	grep -q 'no IP addresses available in range set' "$T/out" ||
		fail "pool exhausted: $(cat "$T/out")" || f=1
	rm -f "$IPAM_DATA/$NET"/10.244.9.{3..254}
	snapshot >"$T/before"
	[ $f = 0 ]
}

cleanup_good() {
	cni DEL keep pod eth0 <"$T/good" || fail DEL
	state_clean
}

testing "setup: one good pod" setup
testing "config/env error matrix: codes and no state change" matrix
testing "subnet file error matrix" subnet_file_matrix
testing "pool exhausted: code 11" pool_exhausted
testing "good pod deleted, nothing left" cleanup_good
finish
