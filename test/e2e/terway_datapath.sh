#!/bin/bash
# netlink
# cni-terway datapath on a simulated VPC, eni-agent played by
# test/fake/fake_agent.js: eniip (veth, policy routing out of the pod's
# ENI, real packets seen on the ENI), exclusive eni (the ENI moved into the
# pod and back), vpc (host-local store), bandwidth measured with iperf3,
# CHECK, DEL twice and with the netns gone.  (A node runs one of eniip and
# vpc, as with Terway: an eniip pod's replies to a vpc pod of the same
# node would leave by its ENI, so that pair is not tested.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/terway_lib.sh"

MAC1=02:00:00:00:01:01		# eniip ENI (eth1)
MAC2=02:00:00:00:02:02		# exclusive ENI (eth2)
M=1000000

eniip() {	# eniip IP: the agent's answer for an eniip pod on eth1
	jq -nc --arg ip "$1" --arg mac $MAC1 --argjson t "$TBL" \
		'{mode: "eniip", ip: ($ip + "/24"), gateway: "10.0.1.253",
		  eni: {id: "eni-1", mac: $mac, primaryIP: "10.0.1.5"},
		  table: $t, serviceCIDR: "10.96.0.0/12"}'
}

setup() {
	vpc_up || return 1
	eni_link eth1 $MAC1 eni1 10.0.1.253 || return 1
	TBL=$(eni_table eth1 10.0.1.253) || return 1
	mkns a && mkns b || return 1
	answer default/a "$(eniip 10.0.1.7)" &&
	answer default/b "$(eniip 10.0.1.8)" || return 1
	vpc_owns 10.0.1.7 eni1 $MAC1 && vpc_owns 10.0.1.8 eni1 $MAC1
	agent_start || return 1
	terway_conf >"$T/conf"
	tw ADD ctr-a a eth0 <"$T/conf" >"$T/res-a" 2>"$T/err-a" ||
		fail "ADD a: $(cat "$T/res-a" "$T/err-a")" || return 1
	tw ADD ctr-b b eth0 <"$T/conf" >"$T/res-b" 2>"$T/err-b" ||
		fail "ADD b: $(cat "$T/res-b" "$T/err-b")"
}

eniip_result() {
	local r=$T/res-a
	expect_eq "host veth (Terway's name)" "$(jq -r '.interfaces[0].name' \
		"$r")" "$(veth_name default a)" &&
	expect_eq "pod if" "$(jq -r '.interfaces[1].name' "$r")" eth0 &&
	expect_eq sandbox "$(jq -r '.interfaces[1].sandbox' "$r")" \
		"/run/netns/$P-a" &&
	expect_eq ip "$(jq -r '.ips[0].address' "$r")" 10.0.1.7/32 &&
	expect_eq gateway "$(jq -r '.ips[0].gateway' "$r")" 169.254.1.1 &&
	expect_eq route "$(jq -c '.routes' "$r")" \
		'[{"dst":"0.0.0.0/0","gw":"169.254.1.1"}]' &&
	expect_eq "alloc request" "$(requests alloc | head -n1 | jq -c \
		'[.containerID, .ifname, .netns, .namespace, .name]')" \
		"[\"ctr-a\",\"eth0\",\"/run/netns/$P-a\",\"default\",\"a\"]"
}

eniip_wiring() {
	local hv mac
	hv=$(veth_name default a)
	mac=$(ip netns exec "$NODE" cat /sys/class/net/"$hv"/address)
	expect_eq "pod addr" "$(ip -n "$P-a" -o -4 addr show eth0 |
		awk '{print $4}')" 10.0.1.7/32 &&
	expect_eq "pod default" "$(ip -n "$P-a" route show default |
		sed 's/ *$//')" "default via 169.254.1.1 dev eth0 onlink" &&
	expect_eq "permanent neighbour" "$(ip -n "$P-a" neigh show \
		169.254.1.1 | sed 's/ *$//')" \
		"169.254.1.1 dev eth0 lladdr $mac PERMANENT" &&
	expect_eq "host route" "$(ip -n "$NODE" route show 10.0.1.7 |
		sed 's/ *$//')" "10.0.1.7 dev $hv scope link" &&
	expect_eq "rule to pod" "$(ip -n "$NODE" rule show pref 512 |
		grep 10.0.1.7 | sed 's/[[:space:]]*$//')" \
		"512:	from all to 10.0.1.7 lookup main" &&
	expect_eq "rule from pod" "$(ip -n "$NODE" rule show pref 2048 |
		grep 10.0.1.7 | sed 's/[[:space:]]*$//')" \
		"2048:	from 10.0.1.7 lookup $TBL" &&
	expect_eq "rp_filter" "$(ip netns exec "$NODE" \
		cat /proc/sys/net/ipv4/conf/"$hv"/rp_filter)" 0 &&
	expect_eq "no proxy_arp" "$(ip netns exec "$NODE" \
		cat /proc/sys/net/ipv4/conf/"$hv"/proxy_arp)" 0 &&
	ip -n "$NODE" route get 172.16.0.5 from 10.0.1.7 iif "$hv" |
		grep -q "dev eth1 table $TBL" ||
		fail "pod traffic not routed through the ENI's table: $(ip -n \
			"$NODE" route get 172.16.0.5 from 10.0.1.7 iif "$hv")"
}

eniip_traffic() {
	local before0 before1
	ip netns exec "$P-a" ping -c1 -W2 10.0.1.8 >/dev/null || fail "a->b"
	ip netns exec "$P-b" ping -c1 -W2 10.0.1.7 >/dev/null || fail "b->a"
	ip netns exec "$P-a" ping -c1 -W2 $NODE_IP >/dev/null || fail "a->node"
	ip netns exec "$NODE" ping -c1 -W2 10.0.1.7 >/dev/null || fail "node->a"
	before0=$(rx node0) before1=$(rx eni1)
	ip netns exec "$P-a" ping -c3 -i0.2 -W2 $ECS_IP >/dev/null ||
		fail "a->ecs through the ENI (and back)" || return 1
	[ $(($(rx eni1) - before1)) -ge 3 ] ||
		fail "pod->vpc packets did not arrive on the ENI link"
	[ $(($(rx node0) - before0)) -lt 3 ] ||
		fail "pod->vpc packets went out of the primary link"
	ip netns exec "$VPC" ping -c1 -W2 -I $ECS_IP 10.0.1.8 >/dev/null ||
		fail "ecs->b"
}

check_eniip() {
	local out
	tw CHECK ctr-a a eth0 < <(with_prev "$T/conf" "$T/res-a") ||
		fail "CHECK failed" || return 1
	ip -n "$NODE" rule del pref 2048 from 10.0.1.7
	out=$(tw CHECK ctr-a a eth0 < <(with_prev "$T/conf" "$T/res-a") \
		2>/dev/null) && fail "CHECK passed without the rule"
	echo "$out" | jq -e '.code == 100 and (.msg | test("2048"))' \
		>/dev/null || fail "CHECK error not about the rule: $out"
	ip -n "$NODE" rule add pref 2048 from 10.0.1.7 lookup "$TBL"
	ip -n "$P-a" neigh del 169.254.1.1 dev eth0
	out=$(tw CHECK ctr-a a eth0 < <(with_prev "$T/conf" "$T/res-a") \
		2>/dev/null) && fail "CHECK passed without the neighbour"
	echo "$out" | jq -e '.msg | test("neighbour")' >/dev/null ||
		fail "CHECK error not about the neighbour: $out"
}

# The ENI stand-in appears 0.5 s after ADD started: ADD waits for it by
# netlink events (bounded by timeoutMs).
eni_mode() {
	local r=$T/res-c hv late
	mkns c || return 1
	answer default/c "$(jq -nc --arg mac $MAC2 --argjson r $((20 * M)) \
		'{mode: "eni", ip: "10.0.2.9/24", gateway: "10.0.2.253",
		  eni: {id: "eni-2", mac: $mac}, serviceCIDR: "10.96.0.0/12",
		  ingress: $r, egress: $r}')" || return 1
	(sleep 0.5; eni_link eth2 $MAC2 eni2 10.0.2.253 9000) &
	late=$!
	tw ADD ctr-c c eth0 <"$T/conf" >"$r" 2>"$T/err-c" ||
		fail "ADD c: $(cat "$r" "$T/err-c")" || return 1
	wait $late
	ip -n "$VPC" route replace 10.0.2.9/32 dev eni2
	hv=$(veth_name default c)
	expect_eq "interfaces" "$(jq -c '[.interfaces[].name]' "$r")" \
		"[\"$hv\",\"eth0\",\"veth1\"]" &&
	expect_eq ip "$(jq -r '.ips[0].address' "$r")" 10.0.2.9/24 &&
	expect_eq gateway "$(jq -r '.ips[0].gateway' "$r")" 10.0.2.253 &&
	expect_eq "eth0 is the ENI" "$(ip netns exec "$P-c" \
		cat /sys/class/net/eth0/address)" $MAC2 &&
	expect_eq "eth0 mtu" "$(ip netns exec "$P-c" \
		cat /sys/class/net/eth0/mtu)" 1500 &&
	! ip -n "$NODE" link show eth2 >/dev/null 2>&1 ||
		fail "eth2 still in the node" || return 1
	expect_eq "pod default" "$(ip -n "$P-c" route show default |
		sed 's/ *$//')" "default via 10.0.2.253 dev eth0 onlink" &&
	ip -n "$P-c" route get 10.96.0.10 | grep -q "dev veth1" ||
		fail "service CIDR not via veth1" || return 1
	ip -n "$P-c" route get $NODE_IP | grep -q "dev veth1" ||
		fail "node IP not via veth1" || return 1
	ip netns exec "$P-c" ping -c2 -i0.2 -W2 $ECS_IP >/dev/null ||
		fail "c->ecs over its ENI"
	ip netns exec "$P-c" ping -c1 -W2 $NODE_IP >/dev/null ||
		fail "c->node over veth1"
	ip netns exec "$NODE" ping -c1 -W2 10.0.2.9 >/dev/null ||
		fail "node->c over veth1"
	expect_eq "egress tbf on the ENI in the pod (Terway)" \
		"$(ip netns exec "$P-c" tc -j qdisc show dev eth0 | jq -r \
		'.[] | select(.kind == "tbf" and .root) | .options.rate * 8')" \
		$((20 * M)) &&
	expect_eq "no ingress shaping of an exclusive ENI" \
		"$(ip netns exec "$NODE" tc qdisc show dev "$hv" | grep -c tbf)" 0 &&
	grep -q "no ingress limit on an exclusive ENI" "$T/err-c" ||
		fail "no log line about ingress"
	tw CHECK ctr-c c eth0 < <(with_prev "$T/conf" "$r") ||
		fail "CHECK c"
}

eni_back() {
	tw DEL ctr-c c eth0 <"$T/conf" 2>"$T/err" || fail "DEL c: $(cat "$T/err")"
	expect_eq "ENI back in the node with its name and MTU" \
		"$(ip -n "$NODE" -o link show eth2 | grep -o 'mtu [0-9]*')" \
		"mtu 9000" &&
	expect_eq "its MAC" "$(ip netns exec "$NODE" \
		cat /sys/class/net/eth2/address)" $MAC2 &&
	expect_eq "no tbf left on it" "$(ip netns exec "$NODE" \
		tc qdisc show dev eth2 | grep -c tbf)" 0 &&
	! ip -n "$P-c" link show eth0 >/dev/null 2>&1 ||
		fail "eth0 left in the pod"
	! ip -n "$NODE" link show "$(veth_name default c)" >/dev/null 2>&1 ||
		fail "host peer left"
	tw DEL ctr-c c eth0 <"$T/conf" || fail "DEL c twice"
	grep -q "back in the host as eth2" "$T/err" || fail "no log line"
}

# The pod's netns is deleted first: the stand-in (a veth) dies with it;
# DEL still succeeds, says so, and releases.
eni_netns_gone() {
	tw ADD ctr-c2 c eth0 <"$T/conf" >"$T/res-c2" 2>"$T/err" ||
		fail "ADD c again: $(cat "$T/res-c2" "$T/err")" || return 1
	ip netns del "$P-c"
	tw DEL ctr-c2 c eth0 <"$T/conf" 2>"$T/err" ||
		fail "DEL: $(cat "$T/err")" || return 1
	grep -q "dies with the pod's netns" "$T/err" ||
		fail "no log line about the ENI: $(cat "$T/err")"
	expect_eq "released" "$(requests release | jq -r .containerID |
		grep -c ctr-c2)" 1
}

vpc_mode() {
	local r=$T/res-d
	mkns d || return 1
	answer default/d '{"mode":"vpc","podCIDR":"10.244.1.0/24"}' || return 1
	ip -n "$VPC" route replace 10.244.1.0/24 via $NODE_IP
	tw ADD ctr-d d eth0 <"$T/conf" >"$r" 2>"$T/err-d" ||
		fail "ADD d: $(cat "$r" "$T/err-d")" || return 1
	expect_eq ip "$(jq -r '.ips[0].address' "$r")" 10.244.1.2/32 &&
	expect_eq lease "$(cat "$IPAM_DATA/$NET/10.244.1.2" | tr '\r\n' '  ')" \
		"ctr-d  eth0" &&
	expect_eq "no rule" "$(ip -n "$NODE" rule show | grep -c 10.244.1.2)" 0 ||
		return 1
	ip netns exec "$P-d" ping -c1 -W2 $ECS_IP >/dev/null ||
		fail "d->ecs via the node's main table"
	ip netns exec "$P-d" ping -c1 -W2 $NODE_IP >/dev/null || fail "d->node"
	tw CHECK ctr-d d eth0 < <(with_prev "$T/conf" "$r") || fail "CHECK d"
	tw DEL ctr-d d eth0 <"$T/conf" || fail "DEL d"
	[ ! -e "$IPAM_DATA/$NET/10.244.1.2" ] || fail "lease kept"
}

# measure DIR POD LIMIT PORT: egress = the pod sends to the node
# (measure_bps in lib.sh)
measure() {
	local rc=0
	measure_bps "$NODE" $NODE_IP "$P-$2" "$4" "$1" "$3" || rc=1
	echo "# bw $1 of $2: limit $3, measured $BPS bit/s"
	return $rc
}

tbf_rate() {
	ip netns exec "$NODE" tc -j qdisc show dev "$1" |
		jq -r '.[] | select(.kind == "tbf" and .root) | .options.rate * 8'
}

# The capability wins over the agent's numbers per direction: e gets
# ingress 10 Mbit/s from the capability (agent: 50), egress 20 Mbit/s
# from the agent.
bandwidth() {
	local conf
	command -v iperf3 >/dev/null || { skip "iperf3 not installed"; return; }
	mkns e || return 1
	answer default/e "$(eniip 10.0.1.10 | jq -c \
		--argjson i $((50 * M)) --argjson o $((20 * M)) \
		'. + {ingress: $i, egress: $o}')" || return 1
	vpc_owns 10.0.1.10 eni1 $MAC1
	conf=$(jq -c --argjson r $((10 * M)) '.runtimeConfig.bandwidth =
		{ingressRate: $r, ingressBurst: 4294967295}' "$T/conf")
	echo "$conf" >"$T/conf-e"
	tw ADD ctr-e e eth0 <"$T/conf-e" >"$T/res-e" 2>"$T/err-e" ||
		fail "ADD e: $(cat "$T/res-e" "$T/err-e")" || return 1
	expect_eq "ingress tbf (capability)" \
		"$(tbf_rate "$(veth_name default e)")" $((10 * M)) || return 1
	measure ingress e $((10 * M)) 5300 &&
	measure egress e $((20 * M)) 5310 &&
	tw CHECK ctr-e e eth0 < <(with_prev "$T/conf-e" "$T/res-e") ||
		fail "CHECK e"
	tw DEL ctr-e e eth0 <"$T/conf-e" || fail "DEL e"
}

del_twice_and_gone_netns() {
	tw DEL ctr-b b eth0 <"$T/conf" || fail "DEL b"
	tw DEL ctr-b b eth0 <"$T/conf" || fail "DEL b twice"
	! ip -n "$P-b" link show eth0 >/dev/null 2>&1 || fail "b's eth0 left"
	ip netns del "$P-a"
	tw DEL ctr-a a eth0 <"$T/conf" || fail "DEL a with its netns gone"
	tw DEL ctr-a "" eth0 <"$T/conf" || fail "DEL a with empty CNI_NETNS"
	expect_eq "releases" "$(requests release | jq -r .containerID |
		grep -cx -e ctr-a -e ctr-b)" 4
	tw_clean
}

testing "setup: vpc, node, ENI eth1, fake agent, eniip pods a and b" setup
testing "eniip: result, Terway's host veth name, the alloc request" \
	eniip_result
testing "eniip: /32, onlink default, permanent neighbour, rules 512/2048" \
	eniip_wiring
testing "eniip: pod<->pod, pod<->node, pod->vpc arrives on the ENI" \
	eniip_traffic
testing "eniip: CHECK passes, then names the missing rule, neighbour" \
	check_eniip
testing "eni: ENI appears late, moves in as eth0, veth1, egress tbf" \
	eni_mode
testing "eni: DEL returns the ENI with its name and MTU; DEL twice" eni_back
testing "eni: DEL with the pod netns gone" eni_netns_gone
testing "vpc: address from podCIDR (host-local store), main table" vpc_mode
testing "bandwidth: capability ingress, agent egress, measured (10%)" \
	bandwidth
testing "DEL twice, with the netns gone, with empty CNI_NETNS" \
	del_twice_and_gone_netns
finish
