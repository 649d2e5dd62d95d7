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

PROBE=${NP_PROBE:-$TOP/build/unit/np_probe_test}
PODS="x/a x/b x/c y/a y/b y/c z/a z/b z/c"
SRCS="$PODS out node"
DSTS="$PODS out"
PPS="tcp/80 tcp/81 udp/80 udp/81"
OUT_IP=192.168.0.1
MAC1=02:00:00:00:01:01		# the eniip ENI (eth1)
TMO=500			# ms per probe; a failed "ok" is retried with 2 s
declare -A IP NAME
PODNET=10.244.1.0/24	# where the pods' addresses come from (per mode)
CASES=0

nsof() {
	case $1 in
	node) echo "$NODE" ;;
	out) echo "$VPC" ;;
	*) echo "$P-${1/\//-}" ;;
	esac
}

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
	for pod in $PODS out; do
		ip netns exec "$(nsof $pod)" "$PROBE" serve 80 81 \
			>"$T/ready.${pod/\//-}" 2>&1 &
	done
	for pod in $PODS out; do
		for _ in $(seq 50); do
			grep -q ready "$T/ready.${pod/\//-}" && break
			sleep 0.1
		done
		grep -q ready "$T/ready.${pod/\//-}" ||
			fail "$pod: no server" || return 1
	done
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

# --- the List ----------------------------------------------------------

# Per case: extra pod labels LBL[x/a]='"k":"v"', container ports
# PORTSOV[x/a]='[...]', policies POLS+=(...).
declare -A LBL PORTSOV
POLS=() EXPECT=()

reset_case() {
	LBL=() PORTSOV=()
	POLS=() EXPECT=()
}

ports_json() {
	local p s out=""
	for p in 80 81; do
		for s in TCP UDP; do
			out="$out${out:+,}{\"name\":\"serve-$p-${s,,}\",\"containerPort\":$p,\"protocol\":\"$s\"}"
		done
	done
	echo "[$out]"
}

pod_json() {
	local pod=$1 ns=${1%/*} name=${1#*/} extra=${LBL[$1]:-}
	local ports=${PORTSOV[$pod]:-}
	printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"%s","labels":{"pod":"%s"%s}},"spec":{"nodeName":"n1","containers":[{"name":"c","ports":%s}]},"status":{"phase":"Running","podIP":"%s","podIPs":[{"ip":"%s"}]}}' \
		"$name" "$ns" "$name" "${extra:+,$extra}" \
		"${ports:-$(ports_json)}" "${IP[$pod]}" "${IP[$pod]}"
}

ns_json() {
	printf '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"%s","labels":{"kubernetes.io/metadata.name":"%s","ns":"%s"}}}' \
		"$1" "$1" "$1"
}

# pol NS NAME SPEC: a NetworkPolicy; @x/b@ in SPEC becomes x/b's address,
# @podnet@ the pods' CIDR
pol() {
	local spec=${3//@podnet@/$PODNET} k
	for k in "${!IP[@]}"; do
		spec=${spec//@$k@/${IP[$k]}}
	done
	printf '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"%s","namespace":"%s"},"spec":%s}' \
		"$2" "$1" "$spec"
}

list_json() {
	local items=() n pod
	for n in x y z; do items+=("$(ns_json $n)"); done
	for pod in $PODS; do items+=("$(pod_json "$pod")"); done
	items+=("${POLS[@]}")
	local IFS=,
	echo "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[${items[*]}]}"
}

np() { ip netns exec "$NODE" "$VPCNET" netpolicy "$@"; }

apply_list() {
	list_json >"$T/list.json"
	np apply --no-br-netfilter "$T/list.json" 2>"$T/apply.err" ||
		{ cat "$T/apply.err"; fail "apply failed"; }
}

# --- probing -----------------------------------------------------------

specs_for() {	# specs_for SRC: probe specs to every destination
	local src=$1 dst pp
	for dst in $DSTS; do
		[ "$src" = "$dst" ] && [ "$src" = out ] && continue
		[ "$src" = node ] && [ "$dst" = out ] && continue
		for pp in $PPS; do
			echo "${pp%/*}:${IP[$dst]}:${pp#*/}"
		done
	done
}

# probe_all TMO [SRC...]: "SRC DST PORT ok|fail" lines, sorted
probe_all() {
	local tmo=$1 src srcs pids=()
	shift
	# shellcheck disable=SC2206
	srcs=(${*:-$SRCS})
	for src in "${srcs[@]}"; do
		# shellcheck disable=SC2046
		ip netns exec "$(nsof $src)" "$PROBE" probe "$tmo" \
			$(specs_for $src) >"$T/p.${src/\//-}" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	for src in "${srcs[@]}"; do
		sed 's/^\(tcp\|udp\):\(.*\):\([0-9]*\) /\1 \2 \3 /' \
			"$T/p.${src/\//-}" |
		while read -r proto ip port res; do
			echo "$src ${NAME[$ip]:-?$ip} $proto/$port $res"
		done
	done | sort
}

expected() {
	local src dst pp v r rs rd rp rv
	for src in $SRCS; do
		for dst in $DSTS; do
			[ "$src" = "$dst" ] && [ "$src" = out ] && continue
			[ "$src" = node ] && [ "$dst" = out ] && continue
			for pp in $PPS; do
				v=ok
				for r in "${EXPECT[@]}"; do
					read -r rs rd rp rv <<<"$r"
					# shellcheck disable=SC2053
					[[ $src == $rs && $dst == $rd &&
					   $pp == $rp ]] && v=$rv
				done
				[ "$src" = "$dst" ] && v=ok
				[ "$src" = node ] && v=ok
				echo "$src $dst $pp $v"
			done
		done
	done | sort
}

# Probe and compare. When the only differences are cells expected ok that
# failed, their sources are probed again with a longer timeout.
check_matrix() {
	local srcs
	expected >"$T/expected"
	probe_all $TMO >"$T/actual"
	diff "$T/expected" "$T/actual" | grep '^< ' >"$T/missing"
	if [ -s "$T/missing" ] && ! grep -q ' fail$' "$T/missing"; then
		srcs=$(awk '{print $2}' "$T/missing" | sort -u | tr '\n' ' ')
		# shellcheck disable=SC2086
		probe_all 2000 $srcs >"$T/retry"
		grep -v -E "^($(echo $srcs | tr ' ' '|')) " "$T/actual" |
			cat - "$T/retry" | sort >"$T/actual2"
		mv "$T/actual2" "$T/actual"
	fi
	cmp -s "$T/expected" "$T/actual" && return 0
	echo "mismatches (< expected, > actual):"
	diff "$T/expected" "$T/actual" | grep '^[<>]' | head -n 30
	return 1
}

# step: apply the current List, check the matrix
step() {
	[ -n "${SETUP_OK:-}" ] || skip "setup failed"
	CASES=$((CASES + 1))
	apply_list && check_matrix
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
