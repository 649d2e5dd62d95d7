#!/bin/bash
# netlink
# ipMasq: a pod's flow to the outside is seen there with the node's address;
# pod traffic to FLANNEL_NETWORK (another node's pods) keeps the pod address.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cni_lib.sh"

# capture NS IF: start tcpdump for one ICMP echo request, print its source
capture_start() {
	ip netns exec "$P-$1" tcpdump -l -n -c1 -i "$2" \
		'icmp[icmptype] = icmp-echo' >"$T/cap.$1" 2>"$T/cap.$1.err" &
	echo $! >"$T/cap.$1.pid"
	for _ in $(seq 100); do
		grep -q listening "$T/cap.$1.err" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "tcpdump did not start"
}
capture_src() {
	for _ in $(seq 100); do
		[ -s "$T/cap.$1" ] && break
		sleep 0.05
	done
	kill "$(cat "$T/cap.$1.pid")" 2>/dev/null
	awk '{print $3}' "$T/cap.$1" | head -n1
}

setup() {
	node_up && mkns out && mkns remote && mkns pod || return 1
	ip link add "${P}o" netns "$NODE" type veth peer name eth0 \
		netns "$P-out" || return 1
	ip -n "$NODE" addr add 198.51.100.1/24 dev "${P}o"
	ip -n "$NODE" link set "${P}o" up
	ip -n "$P-out" addr add 198.51.100.2/24 dev eth0
	ip -n "$P-out" link set eth0 up
	ip link add "${P}r" netns "$NODE" type veth peer name eth0 \
		netns "$P-remote" || return 1
	ip -n "$NODE" addr add 172.31.255.1/30 dev "${P}r"
	ip -n "$NODE" link set "${P}r" up
	ip -n "$P-remote" addr add 172.31.255.2/30 dev eth0
	ip -n "$P-remote" addr add 10.244.2.5/32 dev eth0
	ip -n "$P-remote" link set eth0 up
	ip -n "$P-remote" route add 10.244.1.0/24 via 172.31.255.1
	ip -n "$NODE" route add 10.244.2.0/24 via 172.31.255.2
	subnet_env 10.244.0.0/16 10.244.1.1/24 1450 false
	flannel_conf 0.3.1 >"$T/conf"
	cni ADD ctr-m pod eth0 <"$T/conf" >"$T/res" || { cat "$T/res"; return 1; }
}

outside_sees_node_address() {
	capture_start out eth0 || return 1
	ip netns exec "$P-pod" ping -c1 -W2 198.51.100.2 >/dev/null ||
		fail "pod -> outside failed (no masquerade?)"
	expect_eq "source seen outside" "$(capture_src out)" 198.51.100.1
}

cluster_traffic_not_masqueraded() {
	capture_start remote eth0 || return 1
	ip netns exec "$P-pod" ping -c1 -W2 10.244.2.5 >/dev/null ||
		fail "pod -> remote pod failed"
	expect_eq "source seen by remote pod" "$(capture_src remote)" \
		"$(pod_ip pod)"
}

masq_rules_idempotent() {
	local n
	cni ADD ctr-m2 pod eth1 <"$T/conf" >/dev/null || fail "second ADD"
	n=$(ip netns exec "$NODE" nft list ruleset | grep -c masquerade)
	expect_eq "masquerade rules after two ADDs" "$n" 1
}

del_removes_masq_even_without_netns() {
	cni DEL ctr-m2 pod eth1 <"$T/conf" || fail DEL
	ip netns exec "$NODE" nft list ruleset | grep -q masquerade ||
		fail "masquerade gone while a pod remains"
	cni DEL ctr-m "" eth0 <"$T/conf" || fail "DEL, empty netns"
	ip -n "$P-pod" link del eth0 2>/dev/null
	state_clean
}

testing "setup: node, outside, remote pod subnet, one pod" setup
testing "pod -> outside is masqueraded to the node address" \
	outside_sees_node_address
testing "pod -> FLANNEL_NETWORK keeps the pod address" \
	cluster_traffic_not_masqueraded
testing "masquerade rules are per network, not duplicated" masq_rules_idempotent
testing "DEL of the last pod (empty CNI_NETNS) removes the rules" \
	del_removes_masq_even_without_netns
finish
