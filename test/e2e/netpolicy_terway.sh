#!/bin/bash
# netlink
# netpolicy on routed veth pods wired by cni-terway (no bridge, no
# br_netfilter): the upstream model, namespaces x, y, z with pods a, b, c
# (labels pod=a, ns=x ...) on one node, each serving TCP and UDP on 80 and
# 81. The pods get their addresses from the stand-in agent
# (test/fake/fake_agent.js): first "vpc" mode (routed veth, /32 from the
# podCIDR 10.244.1.0/24), then all nine again in "eniip" mode (/32 from
# the ENI's vSwitch, policy routing out of the ENI). The "out" host is the
# VPC router (192.168.0.1, the node's default gateway). Every case applies
# a List with `vpcnet netpolicy apply --no-br-netfilter`, probes the whole
# matrix (9 pods + out + node as sources, 9 pods + out as destinations,
# tcp/udp x 80/81) with real connections and compares it with a truth
# table written by hand: rules "SRC DST PORT ok|fail" with globs, the last
# match wins, default ok; a pod to itself and the node to a pod are always
# ok (probed every time).
P=${P:-npt$(printf '%04x' $((RANDOM % 65536)))}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/terway_lib.sh"

. "$(dirname "$0")/netpolicy_lib.sh"

OUT_IP=192.168.0.1
MAC1=02:00:00:00:01:01		# the eniip ENI (eth1)
PODNET=10.244.1.0/24	# where the pods' addresses come from (per mode)
OUT_NS=$VPC		# the "out" host is the VPC router
APPLY_BASE=(--no-br-netfilter)	# routed veths: no bridge to filter

# tw_pod VERB POD: cni-terway for pod x/a (netns $P-x-a, container ctr-x-a)
tw_pod() {
	local n=${2/\//-}
	TW_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=${2%/*};K8S_POD_NAME=${2#*/};K8S_POD_INFRA_CONTAINER_ID=ctr-$n" \
		tw "$1" "ctr-$n" "$n" eth0 <"$T/conf"
}

add_pods() {
	local pod
	NAME=([$OUT_IP]=out)
	for pod in $PODS; do
		tw_pod ADD "$pod" >"$T/res" 2>"$T/err" ||
			fail "ADD $pod: $(cat "$T/res" "$T/err")" || return 1
		IP[$pod]=$(pod_ip "${pod/\//-}")
		NAME[${IP[$pod]}]=$pod
	done
	IP[out]=$OUT_IP
}

setup() {
	local pod
	[ -x "$PROBE" ] || skip "no $PROBE (make units)"
	vpc_up || return 1
	ip -n "$VPC" route replace $PODNET via $NODE_IP || return 1
	jq -c '.default = {mode: "vpc", podCIDR: "10.244.1.0/24"}' "$ANS" \
		>"$ANS.tmp" && mv "$ANS.tmp" "$ANS" || return 1
	agent_start || return 1
	terway_conf >"$T/conf"
	for pod in $PODS; do
		mkns "${pod/\//-}" || return 1
	done
	add_pods || return 1
	serve_all || return 1
	SETUP_OK=1
}

# The node is a router here: no bridge, each pod behind its own /32 route.
routed() {
	local hv
	[ -n "${SETUP_OK:-}" ] || skip "setup failed"
	expect_eq "bridges in the node" \
		"$(ip -n "$NODE" -o link show type bridge | wc -l)" 0 || return 1
	hv=$(veth_name x a)
	expect_eq "route to x/a" "$(ip -n "$NODE" route show "${IP[x/a]}" |
		sed 's/ *$//')" "${IP[x/a]} dev $hv scope link" &&
	expect_eq "x/a's address" "$(ip -n "$P-x-a" -o -4 addr show eth0 |
		awk '{print $4}')" "${IP[x/a]}/32"
}

# --- cases -------------------------------------------------------------

c_none() {
	reset_case
	step
}

c_deny_ingress() {
	reset_case
	POLS+=("$(pol x deny '{"podSelector":{},"policyTypes":["Ingress"]}')")
	EXPECT=('* x/* * fail')
	step
}

c_deny_egress() {
	reset_case
	POLS+=("$(pol x deny '{"podSelector":{},"policyTypes":["Egress"]}')")
	EXPECT=('x/* * * fail')
	step
}

# Every pod isolated both ways: only a pod to itself and the node to a
# pod remain (the truth table says "all fail"; expected() adds those two).
c_deny_everything() {
	reset_case
	POLS+=("$(pol x deny '{"podSelector":{},"policyTypes":["Ingress","Egress"]}')"
	       "$(pol y deny '{"podSelector":{},"policyTypes":["Ingress","Egress"]}')"
	       "$(pol z deny '{"podSelector":{},"policyTypes":["Ingress","Egress"]}')")
	EXPECT=('* * * fail')
	step
}

c_allow_all() {
	reset_case
	POLS+=("$(pol x deny '{"podSelector":{},"policyTypes":["Ingress","Egress"]}')"
	       "$(pol x allow '{"podSelector":{},"ingress":[{}],"egress":[{}],"policyTypes":["Ingress","Egress"]}')")
	step
}

c_pod_selector() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"pod":"b"}}}]}]}')")
	EXPECT=('* x/a * fail' 'x/b x/a * ok')
	step
}

c_ns_selector() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"y"}}}]}]}')")
	EXPECT=('* x/a * fail' 'y/* x/a * ok')
	step
}

c_both_and() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchExpressions":[{"key":"ns","operator":"NotIn","values":["x"]}]},"podSelector":{"matchLabels":{"pod":"b"}}}]}]}')")
	EXPECT=('* x/a * fail' 'y/b x/a * ok' 'z/b x/a * ok')
	step
}

c_ipblock_except() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"ipBlock":{"cidr":"@podnet@","except":["@y/b@/32"]}}]}]}')")
	EXPECT=('* x/a * fail' '*/* x/a * ok' 'y/b x/a * fail')
	step
}

c_egress_outside() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"egress":[{"to":[{"ipBlock":{"cidr":"192.168.0.0/24"}}]}],"policyTypes":["Egress"]}')"
	       "$(pol y p '{"podSelector":{},"egress":[{"to":[{"ipBlock":{"cidr":"0.0.0.0/0","except":["@out@/32"]}}]}],"policyTypes":["Egress"]}')")
	EXPECT=('x/a * * fail' 'x/a out * ok' 'y/* out * fail')
	step
}

c_ingress_from_outside() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{},"ingress":[{"from":[{"ipBlock":{"cidr":"@out@/32"}}]}]}')")
	EXPECT=('* x/* * fail' 'out x/* * ok')
	step
}

c_named_port() {
	reset_case
	PORTSOV[x/a]='[{"name":"web","containerPort":80}]'
	PORTSOV[x/b]='[{"name":"web","containerPort":81,"protocol":"UDP"}]'
	PORTSOV[x/c]='[{"name":"other","containerPort":80}]'
	POLS+=("$(pol x p '{"podSelector":{},"ingress":[{"ports":[{"port":"web"},{"protocol":"UDP","port":"web"}]}]}')")
	EXPECT=('* x/* * fail' '* x/a tcp/80 ok' '* x/b udp/81 ok')
	step
}

c_end_port() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"ports":[{"protocol":"TCP","port":79,"endPort":80},{"protocol":"UDP","port":81,"endPort":90}]}]}')")
	EXPECT=('* x/a * fail' '* x/a tcp/80 ok' '* x/a udp/81 ok')
	step
}

c_union() {
	reset_case
	POLS+=("$(pol x p81 '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"y"}}}],"ports":[{"port":81}]}]}')"
	       "$(pol x p80 '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"pod":"c"}}}],"ports":[{"protocol":"UDP","port":80}]}]}')")
	EXPECT=('* x/a * fail' 'y/* x/a tcp/81 ok' 'x/c x/a udp/80 ok')
	step
}

# Source egress and destination ingress both apply
c_egress_and_ingress() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"policyTypes":["Egress"],"egress":[{"to":[{"namespaceSelector":{"matchLabels":{"ns":"y"}}}]}]}')"
	       "$(pol y pa '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"x"}},"podSelector":{"matchLabels":{"pod":"a"}}}]}]}')")
	EXPECT=('x/a * * fail' 'x/a y/* * ok' '* y/a * fail' 'x/a y/a * ok')
	step
}

c_update_delete() {
	reset_case
	POLS=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"pod":"b"}}}]}]}')")
	EXPECT=('* x/a * fail' 'x/b x/a * ok')
	step || return 1
	POLS=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"pod":"c"}}}],"ports":[{"protocol":"UDP","port":81}]}]}')")
	EXPECT=('* x/a * fail' 'x/c x/a udp/81 ok')
	step || return 1
	POLS=()
	EXPECT=()
	step
}

c_pod_relabel() {
	reset_case
	POLS=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{},"podSelector":{"matchLabels":{"role":"client"}}}]}]}')")
	EXPECT=('* x/a * fail')
	step || return 1
	LBL[z/c]='"role":"client"'
	EXPECT=('* x/a * fail' 'z/c x/a * ok')
	step
}

# An established flow a new policy forbids stops at its next packet: the
# same UDP flow (fixed source port) before and after a deny.
c_flow_cut() {
	local spec="udp:${IP[y/a]}:81@40081" out
	reset_case
	step || return 1
	out=$(ip netns exec "$(nsof x/b)" "$PROBE" probe 2000 "$spec")
	expect_eq "flow before" "$out" "$spec ok" || return 1
	POLS=("$(pol y deny '{"podSelector":{},"policyTypes":["Ingress"]}')")
	apply_list || return 1
	out=$(ip netns exec "$(nsof x/b)" "$PROBE" probe 1000 "$spec")
	expect_eq "flow after deny" "$out" "$spec fail"
}

# The forward hook sees the routed pod traffic: a test-owned counting
# table in the node (priority before vpcnet's) counts a probe between two
# pods, and netpolicy --no-br-netfilter left bridge-nf-call-iptables alone.
c_forward_hook() {
	local k=/proc/sys/net/bridge/bridge-nf-call-iptables v n
	[ -n "${SETUP_OK:-}" ] || skip "setup failed"
	ip netns exec "$NODE" nft -f - <<EOF || return 1
table inet ${P}_count {
	chain count {
		type filter hook forward priority -10; policy accept;
		ip saddr ${IP[x/b]} ip daddr ${IP[y/c]} tcp dport 81 counter
	}
}
EOF
	on_exit "ip netns exec $NODE nft delete table inet ${P}_count"
	if ip netns exec "$NODE" test -e $k; then
		ip netns exec "$NODE" sh -c "echo 0 >$k" || return 1
	fi
	reset_case
	apply_list || return 1
	ip netns exec "$(nsof x/b)" "$PROBE" probe 2000 "tcp:${IP[y/c]}:81" |
		grep -q ' ok$' || fail "x/b -> y/c tcp/81" || return 1
	n=$(ip netns exec "$NODE" nft -j list table inet ${P}_count |
		jq '[.nftables[] | .rule? | select(.) | .expr[] |
		     .counter? | select(.) | .packets] | add')
	[ "${n:-0}" -ge 2 ] ||
		fail "forward hook counted $n packets of x/b -> y/c" || return 1
	ip netns exec "$NODE" nft delete table inet ${P}_count
	if ip netns exec "$NODE" test -e $k; then
		v=$(ip netns exec "$NODE" cat $k)
		expect_eq "bridge-nf-call-iptables after --no-br-netfilter" \
			"$v" 0
	fi
}

# All nine pods again, now in eniip mode (the ENI's vSwitch 10.0.1.0/24,
# policy routing out of eth1): DEL, new answers, ADD; the servers keep
# running in the pods' netns.
to_eniip() {
	local pod i=10 tbl
	[ -n "${SETUP_OK:-}" ] || skip "setup failed"
	SETUP_OK=""
	np flush || fail "flush" || return 1
	for pod in $PODS; do
		tw_pod DEL "$pod" 2>"$T/err" ||
			fail "DEL $pod: $(cat "$T/err")" || return 1
	done
	eni_link eth1 $MAC1 eni1 10.0.1.253 || return 1
	tbl=$(eni_table eth1 10.0.1.253) || return 1
	for pod in $PODS; do
		answer "$pod" "$(jq -nc --arg ip "10.0.1.$i" --arg mac $MAC1 \
			--argjson t "$tbl" '{mode: "eniip", ip: ($ip + "/24"),
			gateway: "10.0.1.253", eni: {id: "eni-1", mac: $mac,
			primaryIP: "10.0.1.5"}, table: $t,
			serviceCIDR: "10.96.0.0/12"}')" || return 1
		vpc_owns 10.0.1.$i eni1 $MAC1 || return 1
		# the router answers from its own address (the UDP server
		# replies from the route's source)
		ip -n "$VPC" route replace 10.0.1.$i/32 dev eni1 src $OUT_IP ||
			return 1
		i=$((i + 1))
	done
	IP=()
	add_pods || return 1
	expect_eq "x/a's address" "${IP[x/a]}" 10.0.1.10 || return 1
	PODNET=10.0.1.0/24
	SETUP_OK=1
}

testing "setup: vpc, node, fake agent, 9 vpc-mode pods, servers" setup
testing "routed: no bridge, a /32 route per pod" routed
testing "forward hook sees routed traffic; bridge sysctl untouched" \
	c_forward_hook
testing "no policy: everything reachable" c_none
testing "default deny ingress" c_deny_ingress
testing "default deny egress (also to outside)" c_deny_egress
testing "deny all in every namespace: only self and node->pod" \
	c_deny_everything
testing "deny-all plus allow-all (both directions): union allows" \
	c_allow_all
testing "podSelector peer" c_pod_selector
testing "namespaceSelector peer" c_ns_selector
testing "namespaceSelector AND podSelector in one peer" c_both_and
testing "ipBlock (podCIDR) with except on a pod address" c_ipblock_except
testing "egress to outside by ipBlock; 0.0.0.0/0 except outside" \
	c_egress_outside
testing "ingress from outside by ipBlock" c_ingress_from_outside
testing "named port resolved per pod (TCP and UDP)" c_named_port
testing "endPort ranges (TCP 79-80, UDP 81-90)" c_end_port
testing "two policies on one pod: union of peers and ports" c_union
testing "egress of source and ingress of destination both apply" \
	c_egress_and_ingress
testing "policy updated (new peer and port), then deleted" c_update_delete
testing "pod relabeled into a peer selector (any namespace)" c_pod_relabel
testing "an established flow is cut by a new deny" c_flow_cut
testing "eniip: the nine pods re-added with ENI secondary addresses" \
	to_eniip
testing "eniip: no policy: everything reachable" c_none
testing "eniip: default deny ingress" c_deny_ingress
testing "eniip: default deny egress (also to outside via the ENI)" \
	c_deny_egress
testing "eniip: namespaceSelector AND podSelector" c_both_and
testing "eniip: ipBlock (vSwitch CIDR) with except" c_ipblock_except
testing "eniip: egress to outside by ipBlock; except outside" \
	c_egress_outside
testing "eniip: ingress from outside by ipBlock" c_ingress_from_outside
testing "eniip: named port resolved per pod" c_named_port
testing "eniip: policy updated, then deleted" c_update_delete
echo "# $CASES matrix steps"
finish
