#!/bin/bash
# netlink
# cni-flannel datapath: pods on one node talk over IPv4 and IPv6, MTU,
# hairpin, masquerade to the outside only, CHECK, DEL semantics.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cni_lib.sh"

setup() {
	node_up && mkns a && mkns b || return 1
	subnet_env 10.244.0.0/16 10.244.1.1/24 1400 false \
		fd00:10:244::/56 fd00:10:244:1::1/64
	flannel_conf 1.0.0 >"$T/conf"
	cni ADD ctr-a a eth0 <"$T/conf" >"$T/res-a" || { cat "$T/res-a"; return 1; }
	cni ADD ctr-b b eth0 <"$T/conf" >"$T/res-b" || { cat "$T/res-b"; return 1; }
}

result_shape() {
	local r=$T/res-a
	expect_eq cniVersion "$(jq -r .cniVersion "$r")" 1.0.0 &&
	expect_eq "interfaces" "$(jq -r '[.interfaces[].name]|length' "$r")" 3 &&
	expect_eq "bridge first" "$(jq -r '.interfaces[0].name' "$r")" "$BR" &&
	expect_eq "pod if" "$(jq -r '.interfaces[2].name' "$r")" eth0 &&
	expect_eq "sandbox" "$(jq -r '.interfaces[2].sandbox' "$r")" \
		"/run/netns/$P-a" &&
	expect_eq "ips" "$(jq -r '[.ips[].address]|join(",")' "$r")" \
		"10.244.1.2/24,fd00:10:244:1::2/64" &&
	expect_eq "gw" "$(jq -r '.ips[0].gateway' "$r")" 10.244.1.1 &&
	expect_eq "ip iface" "$(jq -r '.ips[0].interface' "$r")" 2 &&
	expect_eq "no version key in 1.0.0" "$(jq -r '.ips[0].version' "$r")" null
}

pods_ping_v4() {
	local ipb
	ipb=$(pod_ip b 4)
	[ -n "$ipb" ] || fail "pod b has no IPv4"
	ip netns exec "$P-a" ping -c1 -W2 "$ipb" >/dev/null || fail "a->b"
	ip netns exec "$P-a" ping -c1 -W2 10.244.1.1 >/dev/null || fail "a->gw"
	ip -n "$NODE" addr add 192.0.2.1/32 dev lo
	ip netns exec "$P-b" ping -c1 -W2 192.0.2.1 >/dev/null ||
		fail "b->node address (via default route)"
}

pods_ping_v6() {
	local ipb
	ipb=$(pod_ip b 6)
	[ -n "$ipb" ] || fail "pod b has no IPv6"
	ip netns exec "$P-a" ping -6 -c1 -W2 "$ipb" >/dev/null || fail "a->b v6"
	ip netns exec "$P-a" ping -6 -c1 -W2 fd00:10:244:1::1 >/dev/null ||
		fail "a->gw v6"
}

mtu_applied() {
	local host
	expect_eq "pod mtu" "$(cat /proc/sys/net/ipv4/ip_forward >/dev/null;
		ip -n "$P-a" -o link show eth0 | grep -o 'mtu [0-9]*')" "mtu 1400" &&
	host=$(jq -r '.interfaces[1].name' "$T/res-a") &&
	expect_eq "host mtu" "$(ip -n "$NODE" -o link show "$host" |
		grep -o 'mtu [0-9]*')" "mtu 1400" &&
	expect_eq "big ping" "$(ip netns exec "$P-a" ping -c1 -W2 -M do -s 1372 \
		"$(pod_ip b)" >/dev/null && echo ok)" ok &&
	! ip netns exec "$P-a" ping -c1 -W1 -M do -s 1373 "$(pod_ip b)" \
		>/dev/null 2>&1 || fail "packet above MTU went through"
}

hairpin_on() {
	local host
	host=$(jq -r '.interfaces[1].name' "$T/res-a")
	expect_eq hairpin "$(ip netns exec "$NODE" \
		cat /sys/class/net/"$host"/brport/hairpin_mode)" 1 &&
	expect_eq master "$(ip -n "$NODE" -o link show "$host" |
		grep -o "master [^ ]*")" "master $BR"
}

# A pod reaching itself through a Service address (kube-proxy's DNAT) with
# br_netfilter on: the DNATed frame is bridged straight back out of the
# port it came in on, which only hairpin mode allows (kubernetes#20475);
# kube-proxy masquerades such hairpin flows, so do we here.
hairpin_traffic() {
	local ipa out
	ipa=$(pod_ip a)
	[ -d /proc/sys/net/bridge ] || skip "no br_netfilter in this kernel"
	ip netns exec "$NODE" sysctl -qw net.bridge.bridge-nf-call-iptables=1 ||
		skip "bridge-nf-call-iptables not settable in a netns"
	ip netns exec "$NODE" nft -f - <<EON || return 1
table ip ${P}svc {
	chain pre {
		type nat hook prerouting priority dstnat;
		ip daddr 10.96.0.10 tcp dport 80 dnat to $ipa:8080
	}
	chain post {
		type nat hook postrouting priority srcnat;
		ip saddr $ipa ip daddr $ipa masquerade
	}
}
EON
	ip netns exec "$P-a" timeout 5 nc -l -p 8080 >"$T/hp.out" &
	for _ in $(seq 50); do
		ip netns exec "$P-a" ss -ltn | grep -q ':8080 ' && break
		sleep 0.05
	done
	echo hairpin-ok | ip netns exec "$P-a" timeout 3 nc -N 10.96.0.10 80 ||
		fail "connect to the service address failed"
	wait
	expect_eq "received through the hairpin" "$(cat "$T/hp.out")" hairpin-ok
	ip netns exec "$NODE" nft delete table ip ${P}svc
}

default_route_and_forwarding() {
	expect_eq "default route" "$(ip -n "$P-a" route show default)" \
		"default via 10.244.1.1 dev eth0 " || expect_eq "default route" \
		"$(ip -n "$P-a" route show default | sed 's/ *$//')" \
		"default via 10.244.1.1 dev eth0" &&
	expect_eq ip_forward "$(ip netns exec "$NODE" \
		cat /proc/sys/net/ipv4/ip_forward)" 1
}

check_passes_then_fails() {
	local out
	cni CHECK ctr-a a eth0 < <(jq --slurpfile p "$T/res-a" \
		'. + {prevResult: $p[0]}' "$T/conf") || fail "CHECK failed"
	ip -n "$P-a" route del default
	out=$(cni CHECK ctr-a a eth0 < <(jq --slurpfile p "$T/res-a" \
		'. + {prevResult: $p[0]}' "$T/conf")) && fail "CHECK passed"
	echo "$out" | jq -e '.code and (.msg|test("route"))' >/dev/null ||
		fail "CHECK error not about the route: $out"
	ip -n "$P-a" route add default via 10.244.1.1 dev eth0
}

del_twice_and_gone_netns() {
	cni DEL ctr-b b eth0 <"$T/conf" || fail "DEL"
	cni DEL ctr-b b eth0 <"$T/conf" || fail "DEL twice"
	ip -n "$P-b" link show eth0 >/dev/null 2>&1 && fail "eth0 still there"
	ip netns del "$P-a"
	cni DEL ctr-a a eth0 <"$T/conf" || fail "DEL with netns gone"
	cni DEL ctr-a "" eth0 <"$T/conf" || fail "DEL with empty netns"
	cni DEL nosuch-ctr "" eth0 <"$T/conf" || fail "DEL unknown container"
	state_clean
}

testing "setup: ADD two pods (dual stack)" setup
testing "ADD result shape (1.0.0)" result_shape
testing "pod to pod, gateway and node over IPv4" pods_ping_v4
testing "pod to pod and gateway over IPv6" pods_ping_v6
testing "MTU from FLANNEL_MTU on both veth ends" mtu_applied
testing "hairpin mode on the bridge port" hairpin_on
testing "hairpin: a pod reaches itself via a DNATed service address" \
	hairpin_traffic
testing "default route via gateway, ip_forward on" default_route_and_forwarding
testing "CHECK passes, fails after the route is deleted" check_passes_then_fails
testing "DEL twice, DEL with netns gone, nothing left" del_twice_and_gone_netns
finish
