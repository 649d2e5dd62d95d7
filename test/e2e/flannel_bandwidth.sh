#!/bin/bash
# netlink
# Bandwidth limits of cni-flannel (the CNI `bandwidth` capability and the
# top-level keys), measured with iperf3 between pods and the node: pod
# ingress is a tbf on the host veth, pod egress an ifb with a tbf behind a
# u32 + mirred redirect. CHECK notices a changed rate; bad values give a CNI
# error and leave nothing behind; DEL and GC remove every ifb, qdisc and
# filter. Only rates are asserted, never durations. The measured rates are
# printed at the end as "# bw ..." lines (the README table).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cni_lib.sh"

GW=10.244.8.1
M=1000000
PORT=5201

setup() {
	node_up && mkns lim10 && mkns lim50 && mkns free || return 1
	subnet_env 10.244.0.0/16 $GW/24 1500 false
	flannel_conf 1.1.0 >"$T/base"
	: >"$T/rates"
}

# rc_conf IN_RATE IN_BURST EG_RATE EG_BURST: runtimeConfig.bandwidth on
# $BASE (default $T/base)
rc_conf() {
	jq -c --argjson ir "$1" --argjson ib "$2" --argjson er "$3" \
		--argjson eb "$4" '.runtimeConfig.bandwidth = {ingressRate: $ir,
		ingressBurst: $ib, egressRate: $er, egressBurst: $eb}' \
		"${BASE:-$T/base}"
}

# add NAME CONF: ADD pod NAME (cid c-NAME), keep its conf and result
add() {
	printf '%s' "$2" >"$T/conf-$1"
	cni ADD "c-$1" "$1" eth0 <"$T/conf-$1" >"$T/res-$1" ||
		fail "ADD $1: $(cat "$T/res-$1")"
}

# with_prev NAME: the pod's conf with its ADD result as prevResult
with_prev() {
	jq -c --slurpfile p "$T/res-$1" '. + {prevResult: $p[0]}' "$T/conf-$1"
}

host_veth() { jq -r '.interfaces[1].name' "$T/res-$1"; }
ifbs() { ip -n "$NODE" -o link show type ifb | awk -F': ' '{print $2}'; }
# tbf_rate DEV: the root tbf's rate in bit/s (empty without one)
tbf_rate() {
	ip netns exec "$NODE" tc -j qdisc show dev "$1" |
		jq -r '.[] | select(.kind == "tbf" and .root) |
		       .options.rate * 8'
}

# iperf DIR POD PORT: bit/s (iperf_bps in lib.sh); egress = the pod
# sends to the node, ingress = the node sends to the pod.
iperf() { iperf_bps "$NODE" $GW "$P-$2" "$3" "$1"; }
mbit() { awk -v v="$1" 'BEGIN { printf "%.2f", v / 1000000 }'; }

# measure DIR POD LIMIT: within +-10% of LIMIT (measure_bps in lib.sh);
# recorded for the table.
measure() {
	local dir=$1 pod=$2 lim=$3 rc=0
	PORT=$((PORT + 3))
	measure_bps "$NODE" $GW "$P-$pod" $PORT "$dir" "$lim" || rc=1
	echo "$(mbit "$lim") $dir $(mbit "$BPS")" >>"$T/rates"
	return $rc
}

add_limited() {
	# containerd's burst for the kubernetes.io annotations: 2^32-1 bits
	add lim10 "$(rc_conf $((10 * M)) 4294967295 $((10 * M)) 4294967295)" &&
	add lim50 "$(rc_conf $((50 * M)) 4294967295 $((50 * M)) 4294967295)" &&
	add free "$(cat "$T/base")" || return 1
	expect_eq "lim10 host veth rate" "$(tbf_rate "$(host_veth lim10)")" \
		$((10 * M)) &&
	expect_eq "lim50 host veth rate" "$(tbf_rate "$(host_veth lim50)")" \
		$((50 * M)) &&
	expect_eq "free host veth rate" "$(tbf_rate "$(host_veth free)")" "" &&
	expect_eq "ifbs" "$(ifbs | wc -l)" 2
}

rates_10() {
	measure ingress lim10 $((10 * M)) && measure egress lim10 $((10 * M))
}
rates_50() {
	measure ingress lim50 $((50 * M)) && measure egress lim50 $((50 * M))
}

# unlimited DIR: the pod without limits at least 5x the 10 Mbit/s one
unlimited() {
	local dir=$1 lim got try
	lim=$(awk -v d="$dir" '$1 == "10.00" && $2 == d { v = $3 } END {
		print v * 1000000 }' "$T/rates")
	[ -n "$lim" ] && [ "$lim" != 0 ] || lim=$((10 * M))
	for try in 1 2; do
		PORT=$((PORT + 1))
		got=$(iperf "$dir" free $PORT) || got=0
		awk -v g="$got" -v l="$lim" 'BEGIN { exit !(g >= 5 * l) }' &&
			break
	done
	echo "none $dir $(mbit "$got")" >>"$T/rates"
	awk -v g="$got" -v l="$lim" 'BEGIN { exit !(g >= 5 * l) }' ||
		fail "unlimited $dir: $(mbit "$got") Mbit/s," \
			"< 5 x $(mbit "$lim")"
}
rates_free() { unlimited ingress && unlimited egress; }

check_then_tampered() {
	local out ifb
	cni CHECK c-lim10 lim10 eth0 < <(with_prev lim10) >"$T/out" 2>&1 ||
		fail "CHECK failed: $(cat "$T/out")" || return 1
	ip netns exec "$NODE" tc qdisc replace dev "$(host_veth lim10)" root \
		handle 1: tbf rate 20mbit burst 25000 latency 25ms || return 1
	out=$(cni CHECK c-lim10 lim10 eth0 < <(with_prev lim10)) &&
		fail "CHECK passed after the ingress rate changed" || :
	echo "$out" | jq -e '.code == 100 and (.msg | test("bandwidth") and
		test("ingress") and test("rate"))' >/dev/null ||
		fail "CHECK error not about the ingress rate: $out" || return 1
	echo "ingress: $out"
	ip netns exec "$NODE" tc qdisc replace dev "$(host_veth lim10)" root \
		handle 1: tbf rate 10mbit burst 12500 latency 25ms
	for ifb in $(ifbs); do	# lim50's: the one at 50 Mbit/s
		[ "$(tbf_rate "$ifb")" = $((50 * M)) ] && break
	done
	ip netns exec "$NODE" tc qdisc replace dev "$ifb" root handle 1: tbf \
		rate 1mbit burst 2500 latency 25ms || return 1
	out=$(cni CHECK c-lim50 lim50 eth0 < <(with_prev lim50)) &&
		fail "CHECK passed after the egress rate changed" || :
	echo "egress: $out"
	echo "$out" | jq -e '.code == 100 and (.msg | test("egress") and
		test("rate"))' >/dev/null ||
		fail "CHECK error not about the egress rate: $out"
}

top_level_wins() {
	local conf
	mkns top || return 1
	conf=$(rc_conf $((50 * M)) 1 $((50 * M)) 1 | jq -c --argjson r \
		$((10 * M)) '. + {ingressRate: $r, ingressBurst: 100000}')
	add top "$conf" || return 1
	expect_eq "ingress from the top-level keys" \
		"$(tbf_rate "$(host_veth top)")" $((10 * M)) &&
	expect_eq "no egress (the top-level keys have none)" \
		"$(ifbs | wc -l)" 2 &&
	cni CHECK c-top top eth0 < <(with_prev top) || fail "CHECK top"
	cni DEL c-top top eth0 <"$T/conf-top" || fail "DEL top"
}

del_limited() {
	cni DEL c-lim10 lim10 eth0 <"$T/conf-lim10" &&
	cni DEL c-lim50 "" eth0 <"$T/conf-lim50" &&	# empty CNI_NETNS
	cni DEL c-free free eth0 <"$T/conf-free" || fail DEL
	nothing_left
}

# nothing_left: no ifb, no qdisc but the defaults, no filter, no lease,
# state file or veth in the node
nothing_left() {
	local q d f=""
	expect_eq "ifbs left" "$(ifbs)" "" || return 1
	q=$(ip netns exec "$NODE" tc qdisc show | grep -v -e '^qdisc noqueue ')
	expect_eq "qdiscs left" "$q" "" || return 1
	for d in $(ip -n "$NODE" -o link show | awk -F': ' '{print $2}' |
		   sed 's/@.*//'); do
		f="$f$(ip netns exec "$NODE" tc filter show dev "$d" ingress)"
		f="$f$(ip netns exec "$NODE" tc filter show dev "$d")"
	done
	expect_eq "filters left" "$f" "" && state_clean
}

# The bad values go to a network of their own, not used before, so that
# "nothing changed" also covers its bridge, lease and state directories.
snapshot() {
	ls -lR "$T/bad-ipam" "$T/bad-fl" 2>/dev/null | grep -v '^total' |
		awk '{print $1, $NF}'
	ip -n "$NODE" -o link show | awk -F': ' '{print $2}'
	ip netns exec "$NODE" tc qdisc show
	ip -n "$P-bad" -o link show | awk -F': ' '{print $2}'
}

# bad WHAT CODE REGEX CONF [del]: ADD fails with CODE and a msg matching
# REGEX, and nothing changes; with "del", DEL with that config (what a
# runtime does after a failed ADD) succeeds too
bad() {
	local what=$1 code=$2 re=$3 out
	out=$(printf '%s' "$4" | cni ADD c-bad bad eth0 2>/dev/null) &&
		fail "$what: ADD succeeded"
	echo "$out" | jq -e --argjson c "$code" --arg re "$re" \
		'.code == $c and (.msg | test($re))' >/dev/null ||
		fail "$what: want code $code and msg ~ /$re/, got $out" ||
		return 1
	echo "$what: $(echo "$out" | jq -r .msg)"
	diff "$T/before" <(snapshot) >&2 || fail "$what: state changed" ||
		return 1
	[ "${5:-}" = del ] || return 0
	out=$(printf '%s' "$4" | cni DEL c-bad bad eth0 2>/dev/null) ||
		fail "$what: DEL: $out" || return 1
	snapshot >"$T/before"	# DEL may make the (empty) lease directory
}

bad_values() {
	local f=0 top='. + {egressRate: 10000000, egressBurst: 100000}'
	local BASE=$T/bad-base
	mkns bad || return 1
	jq -c --arg n "$NET-bad" --arg b "${P}bb" --arg i "$T/bad-ipam" \
		--arg d "$T/bad-fl" '.name = $n | .delegate.bridge = $b |
		.ipam.dataDir = $i | .dataDir = $d' "$T/base" >"$BASE"
	snapshot >"$T/before"
	bad "rate without burst" 7 "burst must also be set" \
		"$(rc_conf $((10 * M)) 0 0 0)" del || f=1
	bad "burst without rate" 7 "rate must also be set" \
		"$(rc_conf 0 0 0 100000)" del || f=1
	bad "burst too big" 7 "burst cannot be more than 4GB" \
		"$(rc_conf $((10 * M)) 34359738360 0 0)" del || f=1
	bad "rate below 1 kbit/s" 7 "below 1 kbit/s" \
		"$(rc_conf 999 100000 0 0)" del || f=1
	bad "rate is a string" 7 "ingressRate" \
		"$(rc_conf '"10M"' 100000 0 0)" || f=1
	bad "rate is negative" 7 "egressRate" \
		"$(rc_conf 0 0 -1 100000)" || f=1
	bad "rate is a fraction" 7 "ingressRate" \
		"$(rc_conf 1500000.5 100000 0 0)" || f=1
	bad "rate above 2^64-1" 7 "ingressRate" \
		"$(rc_conf 18446744073709551616 100000 0 0)" || f=1
	bad "bandwidth is a list" 7 "bandwidth" \
		"$(jq -c '.runtimeConfig.bandwidth = [1]' "$BASE")" || f=1
	bad "top-level rate is a string" 7 "egressRate" \
		"$(jq -c '. + {egressRate: "fast", egressBurst: 1}' "$BASE")" \
		del || f=1
	bad "top-level rate without burst" 7 "burst must also be set" \
		"$(rc_conf $((10 * M)) 100000 0 0 |
		   jq -c '. + {egressRate: 10000000}')" del || f=1
	# 2 jumbo frames at 1 kbit/s take 1049 s: beyond the u32 ticks
	# (64 ns) the kernel reports a tbf's buffer in
	bad "a burst time the kernel cannot represent" 7 "kernel" \
		"$(rc_conf 1000 8000 0 0 | jq -c '.delegate.mtu = 65535')" \
		del || f=1
	[ $f = 0 ] || return 1
	jq -c "$top" "$BASE" >"$T/bad-top"
	expect_eq "top-level good config" "$(cni ADD c-bad bad eth0 \
		<"$T/bad-top" | jq -r .code)" null &&
	cni DEL c-bad bad eth0 <"$T/bad-top" && nothing_left
}

many_pods() {
	local i pids="" bad=0 conf
	conf=$(rc_conf $((5 * M)) 4294967295 $((20 * M)) 800000)
	for i in $(seq 20); do mkns "m$i" || return 1; done
	for i in $(seq 10); do
		add "m$i" "$conf" &&
			cni DEL "c-m$i" "m$i" eth0 <"$T/conf-m$i" || return 1
	done
	nothing_left || return 1
	for i in $(seq 11 20); do
		add "m$i" "$conf" >"$T/add.$i" 2>&1 &
		pids="$pids $!"
	done
	for i in $pids; do wait "$i" || bad=$((bad + 1)); done
	[ $bad = 0 ] || { cat "$T"/add.*; fail "$bad ADDs failed"; return 1; }
	expect_eq "ifbs of 10 parallel pods" "$(ifbs | wc -l)" 10 &&
	expect_eq "tbfs" "$(ip netns exec "$NODE" tc qdisc show |
		grep -c '^qdisc tbf ')" 20 || return 1
	pids=""
	for i in $(seq 11 20); do
		cni DEL "c-m$i" "m$i" eth0 <"$T/conf-m$i" >"$T/del.$i" 2>&1 &
		pids="$pids $!"
	done
	for i in $pids; do wait "$i" || bad=$((bad + 1)); done
	[ $bad = 0 ] || { cat "$T"/del.*; fail "$bad DELs failed"; return 1; }
	nothing_left
}

gc_removes_ifb() {
	local conf
	mkns g1 && mkns g2 || return 1
	conf=$(rc_conf 0 0 $((10 * M)) 100000)
	add g1 "$conf" && add g2 "$conf" || return 1
	expect_eq "ifbs" "$(ifbs | wc -l)" 2 || return 1
	jq -c '.["cni.dev/valid-attachments"] =
		[{"containerID": "c-g1", "ifname": "eth0"}]' "$T/base" |
		cni GC "" "" "" || fail "GC" || return 1
	expect_eq "ifbs after GC" "$(ifbs | wc -l)" 1 &&
	cni CHECK c-g1 g1 eth0 < <(with_prev g1) || fail "CHECK g1 after GC" ||
		return 1
	jq -c '.["cni.dev/valid-attachments"] = []' "$T/base" |
		cni GC "" "" "" || fail "GC all"
	nothing_left
}

# An ifb name taken by another kind of device: ADD fails, rolls back, and
# leaves that device alone.
ifb_name_taken() {
	local ifb out
	mkns tk || return 1
	add tk "$(rc_conf 0 0 $((10 * M)) 100000)" || return 1
	ifb=$(ifbs)
	cni DEL c-tk tk eth0 <"$T/conf-tk" || fail "DEL" || return 1
	ip -n "$NODE" link add "$ifb" type veth peer name "${P}tk" || return 1
	out=$(cni ADD c-tk tk eth0 <"$T/conf-tk") && fail "ADD succeeded"
	echo "$out" | jq -e '.code == 100 and (.msg | test("not an ifb"))' \
		>/dev/null || fail "not the expected error: $out" || return 1
	ip -n "$NODE" link show "$ifb" >/dev/null ||
		fail "the other device was deleted" || return 1
	ip -n "$P-tk" link show eth0 >/dev/null 2>&1 && fail "eth0 left"
	ip -n "$NODE" link del "$ifb" && nothing_left
}

report() {
	local l
	while read -r l; do
		set -- $l
		[ "$1" = none ] && set -- "no limit" "$2" "$3" ||
			set -- "limit $1 Mbit/s" "$2" "$3"
		echo "# bw $1, pod $2: measured $3 Mbit/s"
	done <"$T/rates"
}

testing "setup: node, subnet, three pod netns" setup
testing "ADD: 10 and 50 Mbit/s pods (burst 2^32-1), one without" \
	add_limited
if ! command -v iperf3 >/dev/null; then
	testing "iperf3 measurements" skip "iperf3 not installed"
else
	testing "10 Mbit/s each direction, within 10%" rates_10
	testing "50 Mbit/s each direction, within 10%" rates_50
	testing "pod without limits at least 5x the 10 Mbit/s one" rates_free
fi
testing "CHECK passes, fails after tc qdisc replace" check_then_tampered
testing "top-level keys win over runtimeConfig.bandwidth" top_level_wins
testing "DEL (one with empty CNI_NETNS) leaves no ifb, qdisc, filter" \
	del_limited
testing "bad values: CNI error, no device, qdisc, lease or state" bad_values
testing "20 pods (10 in parallel) added and deleted leave nothing" many_pods
testing "GC removes the ifb of an attachment not in valid-attachments" \
	gc_removes_ifb
testing "an ifb name taken by another device: error, device kept" \
	ifb_name_taken
report
finish
