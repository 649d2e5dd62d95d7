#!/bin/bash
# netlink
# CNI versions and verbs: result shape per version, VERSION, STATUS, GC,
# CNI_ARGS, the state file, corrupt leases, a failed ADD leaves nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cni_lib.sh"

setup() {
	node_up && mkns pod || return 1
	subnet_env 10.244.0.0/16 10.244.5.1/24 1450 true
}

result_per_version() {
	local v out
	for v in 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0; do
		out=$(flannel_conf $v | cni ADD "c-$v" pod eth0) ||
			{ fail "ADD $v: $out"; return 1; }
		expect_eq "$v cniVersion" "$(echo "$out" | jq -r .cniVersion)" $v ||
			return 1
		case $v in
		0.*) expect_eq "$v ips.version" \
			"$(echo "$out" | jq -r .ips[0].version)" 4 || return 1 ;;
		*) expect_eq "$v no ips.version" \
			"$(echo "$out" | jq -r .ips[0].version)" null || return 1 ;;
		esac
		flannel_conf $v | cni DEL "c-$v" pod eth0 || fail "DEL $v"
	done
	state_clean
}

version_verb() {
	local out
	out=$(echo '{"cniVersion":"0.3.1"}' | cni VERSION "" "" "") || fail VERSION
	expect_eq version "$(echo "$out" | jq -c .)" \
		'{"cniVersion":"0.3.1","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}'
}

status_verb() {
	flannel_conf 1.1.0 | cni STATUS "" "" "" || fail "STATUS with a good file"
}

state_file_and_args() {
	local out f
	out=$(flannel_conf 1.0.0 | CNI_ARGS_EXTRA="IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;FOO=bar;IP=10.244.5.77" \
		cni ADD c-args pod eth0) || { fail "ADD: $out"; return 1; }
	expect_eq "requested IP" "$(echo "$out" | jq -r .ips[0].address)" \
		10.244.5.77/24 || return 1
	f=$FL_DATA/c-args
	[ -f "$f" ] || fail "no state file $f"
	expect_eq "state mode" "$(stat -c %a "$f")" 600 &&
	jq -e . "$f" >/dev/null || fail "state not JSON"
	[ -z "$(ls "$FL_DATA" | grep -v '^c-args$')" ] || fail "tmp files left"
	flannel_conf 1.0.0 | cni DEL c-args pod eth0 || fail DEL
	[ ! -e "$f" ] || fail "state file kept after DEL"
}

failed_add_leaves_nothing() {
	local out
	# a requested IP outside the range fails after parsing, before wiring
	out=$(flannel_conf 1.0.0 | CNI_ARGS_EXTRA="IP=10.99.0.5" \
		cni ADD c-fail pod eth0) && fail "ADD succeeded"
	echo "$out" | jq -e .code >/dev/null || fail "no error JSON: $out"
	state_clean && ! ip -n "$P-pod" link show eth0 2>/dev/null
}

corrupt_lease_is_free() {
	local out
	mkdir -p "$IPAM_DATA/$NET"
	: >"$IPAM_DATA/$NET/10.244.5.2"
	printf '10.244.5.1' >"$IPAM_DATA/$NET/last_reserved_ip.0"
	out=$(flannel_conf 1.0.0 | cni ADD c-cor pod eth0 2>"$T/err") ||
		{ fail "ADD: $out"; return 1; }
	expect_eq "got the corrupt lease's IP" \
		"$(echo "$out" | jq -r .ips[0].address)" 10.244.5.2/24 &&
	grep -qi "10.244.5.2" "$T/err" || fail "no log line about the empty lease"
	flannel_conf 1.0.0 | cni DEL c-cor pod eth0
}

gc_verb() {
	local v
	mkns gc1 && mkns gc2 || return 1
	flannel_conf 1.1.0 | cni ADD c-gc1 gc1 eth0 >/dev/null || fail ADD1
	flannel_conf 1.1.0 | cni ADD c-gc2 gc2 eth0 >/dev/null || fail ADD2
	for v in cni.dev/valid-attachments cni.dev/attachments; do
		flannel_conf 1.1.0 | jq --arg k $v \
			'.[$k]=[{"containerID":"c-gc1","ifname":"eth0"}]' |
			cni GC "" "" "" || fail "GC ($v)"
		expect_eq "leases after GC ($v)" "$(leases | wc -l)" 1 || return 1
		[ -f "$FL_DATA/c-gc1" ] && [ ! -f "$FL_DATA/c-gc2" ] ||
			fail "state files after GC: $(ls "$FL_DATA")"
	done
	flannel_conf 1.1.0 | jq '.["cni.dev/valid-attachments"]=[]' |
		cni GC "" "" "" || fail "GC all"
	ip netns del "$P-gc1"; ip netns del "$P-gc2"
	state_clean
}

testing "setup" setup
testing "ADD/DEL result shape for 0.3.0 .. 1.1.0" result_per_version
testing "VERSION lists the supported versions" version_verb
testing "STATUS succeeds with a readable subnet file" status_verb
testing "state file 0600, CNI_ARGS IgnoreUnknown, IP=, removed on DEL" \
	state_file_and_args
testing "a failed ADD leaves no lease, state or link" failed_add_leaves_nothing
testing "an empty lease file counts as free, with a log line" \
	corrupt_lease_is_free
testing "GC releases what is not in valid-attachments (both keys)" gc_verb
finish
