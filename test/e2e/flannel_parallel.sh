#!/bin/bash
# netlink
# 50 ADDs at once into one network: distinct IPs, one bridge, one masquerade
# rule set; 50 DELs at once leave no lease, link or nft rule behind.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cni_lib.sh"
N=50

setup() {
	local i
	node_up || return 1
	for i in $(seq $N); do mkns "p$i" || return 1; done
	subnet_env 10.244.0.0/16 10.244.7.1/24 1450 false
	flannel_conf 0.3.1 >"$T/conf"
}

parallel_adds() {
	local i pids="" bad=0 ips
	for i in $(seq $N); do
		cni ADD "ctr-$i" "p$i" eth0 <"$T/conf" >"$T/res.$i" 2>"$T/err.$i" &
		pids="$pids $!"
	done
	for i in $pids; do wait "$i" || bad=$((bad + 1)); done
	[ $bad = 0 ] || { cat "$T"/res.* | grep -v '"interfaces"' | head; \
		fail "$bad ADDs failed"; }
	ips=$(for i in $(seq $N); do jq -r '.ips[0].address' "$T/res.$i"; done |
		sort -u | wc -l)
	expect_eq "distinct IPs" "$ips" $N &&
	expect_eq "leases" "$(leases | wc -l)" $N &&
	expect_eq "masq rules" "$(ip netns exec "$NODE" nft list ruleset |
		grep -c masquerade)" 1 &&
	expect_eq "bridge ports" "$(ip -n "$NODE" -o link show master "$BR" |
		wc -l)" $N
}

pods_reach_each_other() {
	ip netns exec "$P-p1" ping -c1 -W2 "$(pod_ip p$N)" >/dev/null ||
		fail "p1 -> p$N"
}

parallel_dels() {
	local i pids="" bad=0
	for i in $(seq $N); do
		cni DEL "ctr-$i" "p$i" eth0 <"$T/conf" >"$T/del.$i" 2>&1 &
		pids="$pids $!"
	done
	for i in $pids; do wait "$i" || bad=$((bad + 1)); done
	[ $bad = 0 ] || { cat "$T"/del.*; fail "$bad DELs failed"; }
	state_clean
}

testing "setup: node and $N pod netns" setup
testing "$N parallel ADDs: distinct IPs, one rule set" parallel_adds
testing "pods reach each other" pods_reach_each_other
testing "$N parallel DELs leave no lease, link or nft rule" parallel_dels
finish
