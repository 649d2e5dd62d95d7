#!/bin/bash
# netlink
# netpolicy on the cni-flannel datapath, the upstream model: namespaces x, y,
# z with pods a, b, c (labels pod=a, ns=x ...) on one node, each serving TCP
# and UDP on ports 80 and 81, plus an "out" host outside the cluster behind
# the node. Every case applies a List with `vpcnet netpolicy apply`, probes
# the whole matrix (9 pods + out + node as sources, 9 pods + out as
# destinations, tcp/udp x 80/81) with real connections, in parallel, and
# compares it with a truth table written by hand in the case: rules
# "SRC DST PORT ok|fail" with globs, the last match wins, default ok. A pod
# to itself and the node to a pod are always ok (and probed every time).
P=${P:-np$(printf '%04x' $((RANDOM % 65536)))}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cni_lib.sh"

. "$(dirname "$0")/netpolicy_lib.sh"

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

c_deny_both() {
	reset_case
	POLS+=("$(pol x deny '{"podSelector":{},"policyTypes":["Ingress","Egress"]}')")
	EXPECT=('* x/* * fail' 'x/* * * fail')
	step
}

c_allow_all_ingress() {
	reset_case
	POLS+=("$(pol x allow '{"podSelector":{},"ingress":[{}]}')")
	step
}

c_allow_all_egress() {
	reset_case
	POLS+=("$(pol x allow '{"podSelector":{},"egress":[{}],"policyTypes":["Egress"]}')")
	step
}

c_union_deny_allow() {
	reset_case
	POLS+=("$(pol x deny '{"podSelector":{},"policyTypes":["Ingress"]}')"
	       "$(pol x allow '{"podSelector":{},"ingress":[{}]}')")
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

c_ns_by_name_in() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchExpressions":[{"key":"kubernetes.io/metadata.name","operator":"In","values":["y","z"]}]}}]}]}')")
	EXPECT=('* x/a * fail' 'y/* x/a * ok' 'z/* x/a * ok')
	step
}

c_both_and() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchExpressions":[{"key":"ns","operator":"NotIn","values":["x"]}]},"podSelector":{"matchLabels":{"pod":"b"}}}]}]}')")
	EXPECT=('* x/a * fail' 'y/b x/a * ok' 'z/b x/a * ok')
	step
}

c_peers_or() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchExpressions":[{"key":"ns","operator":"NotIn","values":["x"]}]}},{"podSelector":{"matchLabels":{"pod":"b"}}}]}]}')")
	EXPECT=('* x/a * fail' 'y/* x/a * ok' 'z/* x/a * ok' 'x/b x/a * ok')
	step
}

c_expr_notin_doesnotexist() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{},"ingress":[{"from":[{"podSelector":{"matchExpressions":[{"key":"pod","operator":"NotIn","values":["a"]}]}},{"namespaceSelector":{"matchExpressions":[{"key":"ns","operator":"DoesNotExist"}]}}]}]}')")
	EXPECT=('* x/* * fail' 'x/b x/* * ok' 'x/c x/* * ok')
	step
}

c_expr_exists() {
	reset_case
	NSLBL[y]='"ns":"y","team":"blue"'
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchExpressions":[{"key":"team","operator":"Exists"}]}}]}]}')")
	EXPECT=('* x/a * fail' 'y/* x/a * ok')
	step
}

c_port_numeric() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"y"}}}],"ports":[{"protocol":"TCP","port":81}]}]}')")
	EXPECT=('* x/a * fail' 'y/* x/a tcp/81 ok')
	step
}

c_union_ports() {
	reset_case
	POLS+=("$(pol x p81 '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"y"}}}],"ports":[{"port":81}]}]}')"
	       "$(pol x p80 '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"y"}}}],"ports":[{"port":80}]}]}')")
	EXPECT=('* x/a * fail' 'y/* x/a tcp/* ok')
	step
}

c_udp_port() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"ports":[{"protocol":"UDP","port":81}]}]}')")
	EXPECT=('* x/a * fail' '* x/a udp/81 ok')
	step
}

c_proto_all_ports() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"ports":[{"protocol":"UDP"}]}]}')")
	EXPECT=('* x/a * fail' '* x/a udp/* ok')
	step
}

c_sctp_not_tcp() {
	reset_case
	POLS+=("$(pol x deny '{"podSelector":{},"policyTypes":["Ingress"]}')"
	       "$(pol x sctp '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"ports":[{"protocol":"SCTP","port":81}]}]}')")
	EXPECT=('* x/* * fail')
	step
}

c_end_port() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"ports":[{"protocol":"TCP","port":79,"endPort":80},{"protocol":"UDP","port":81,"endPort":90}]}]}')")
	EXPECT=('* x/a * fail' '* x/a tcp/80 ok' '* x/a udp/81 ok')
	step
}

c_named_ingress() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{},"ingress":[{"ports":[{"port":"serve-81-tcp"}]}]}')")
	EXPECT=('* x/* * fail' '* x/* tcp/81 ok')
	step
}

c_named_per_pod() {
	reset_case
	PORTSOV[x/a]='[{"name":"web","containerPort":80}]'
	PORTSOV[x/b]='[{"name":"web","containerPort":81}]'
	PORTSOV[x/c]='[{"name":"other","containerPort":80}]'
	POLS+=("$(pol x p '{"podSelector":{},"ingress":[{"ports":[{"port":"web"}]}]}')")
	EXPECT=('* x/* * fail' '* x/a tcp/80 ok' '* x/b tcp/81 ok')
	step
}

c_named_egress() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{},"egress":[{"ports":[{"protocol":"UDP","port":"serve-80-udp"}]}],"policyTypes":["Egress"]}')")
	EXPECT=('x/* * * fail' 'x/* */* udp/80 ok')
	step
}

c_named_egress_per_peer() {
	reset_case
	PORTSOV[y/a]='[{"name":"web","containerPort":81}]'
	PORTSOV[y/b]='[{"name":"web","containerPort":80}]'
	POLS+=("$(pol x p '{"podSelector":{},"egress":[{"to":[{"namespaceSelector":{"matchLabels":{"ns":"y"}}}],"ports":[{"port":"web"}]}],"policyTypes":["Egress"]}')")
	EXPECT=('x/* * * fail' 'x/* y/a tcp/81 ok' 'x/* y/b tcp/80 ok')
	step
}

c_ipblock_except_pods() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"ipBlock":{"cidr":"10.244.1.0/24","except":["@y/b@/32"]}}]}]}')")
	EXPECT=('* x/a * fail' '*/* x/a * ok' 'y/b x/a * fail')
	step
}

c_ipblock_overlap() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"ipBlock":{"cidr":"10.244.1.0/24","except":["@y/b@/32"]}},{"ipBlock":{"cidr":"10.244.0.0/16"}},{"podSelector":{}}]}]}')"
	       "$(pol x q '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"ipBlock":{"cidr":"@y/c@/30"}}]}]}')")
	EXPECT=('* x/a * fail' '*/* x/a * ok')
	step
}

c_egress_outside() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"egress":[{"to":[{"ipBlock":{"cidr":"192.0.2.0/24"}}]}],"policyTypes":["Egress"]}')")
	EXPECT=('x/a * * fail' 'x/a out * ok')
	step
}

c_egress_except_outside() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{},"egress":[{"to":[{"ipBlock":{"cidr":"0.0.0.0/0","except":["192.0.2.2/32"]}}]}],"policyTypes":["Egress"]}')")
	EXPECT=('x/* out * fail')
	step
}

c_ingress_from_outside() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{},"ingress":[{"from":[{"ipBlock":{"cidr":"192.0.2.2/32"}}]}]}')")
	EXPECT=('* x/* * fail' 'out x/* * ok')
	step
}

c_egress_only_type() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"policyTypes":["Egress"],"egress":[{"to":[{"podSelector":{}}]}]}')")
	EXPECT=('x/a * * fail' 'x/a x/* * ok')
	step
}

c_types_default() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"egress":[{"to":[{"namespaceSelector":{}}]}]}')")
	EXPECT=('* x/a * fail' 'x/a * * fail' 'x/a */* * ok')
	step
}

c_egress_and_ingress() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"policyTypes":["Egress"],"egress":[{"to":[{"namespaceSelector":{"matchLabels":{"ns":"y"}},"podSelector":{"matchLabels":{"pod":"a"}}}]}]}')"
	       "$(pol y pa '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"x"}},"podSelector":{"matchLabels":{"pod":"a"}}}]}]}')"
	       "$(pol y pb '{"podSelector":{"matchLabels":{"pod":"b"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"x"}},"podSelector":{"matchLabels":{"pod":"a"}}}]}]}')")
	EXPECT=('x/a * * fail' '* y/a * fail' '* y/b * fail' 'x/a y/a * ok')
	step
}

c_rules_mixed() {
	reset_case
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"pod":"b"}}}],"ports":[{"port":80}]},{"from":[{"namespaceSelector":{"matchLabels":{"ns":"y"}}}],"ports":[{"protocol":"UDP","port":81}]}]}')")
	EXPECT=('* x/a * fail' 'x/b x/a tcp/80 ok' 'y/* x/a udp/81 ok')
	step
}

c_other_namespace_only() {
	reset_case
	POLS+=("$(pol y deny '{"podSelector":{},"policyTypes":["Ingress"]}')")
	EXPECT=('* y/* * fail')
	step
}

c_update() {
	reset_case
	POLS=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"pod":"b"}}}]}]}')")
	EXPECT=('* x/a * fail' 'x/b x/a * ok')
	step || return 1
	POLS=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"pod":"c"}}}]}]}')")
	EXPECT=('* x/a * fail' 'x/c x/a * ok')
	step || return 1
	POLS=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[]}')")
	EXPECT=('* x/a * fail')
	step
}

c_delete() {
	reset_case
	POLS=("$(pol x deny '{"podSelector":{},"policyTypes":["Ingress","Egress"]}')")
	EXPECT=('* x/* * fail' 'x/* * * fail')
	step || return 1
	POLS=()
	EXPECT=()
	step
}

c_pod_relabel() {
	reset_case
	POLS=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"role":"client"}}}]}]}')")
	EXPECT=('* x/a * fail')
	step || return 1
	LBL[x/c]='"role":"client"'
	EXPECT=('* x/a * fail' 'x/c x/a * ok')
	step
}

c_ns_relabel() {
	reset_case
	POLS=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"y"}}}]}]}')")
	NSLBL[z]='"ns":"y"'
	EXPECT=('* x/a * fail' 'y/* x/a * ok' 'z/* x/a * ok')
	step
}

c_host_network() {
	reset_case
	# a host-network pod on this node with pod=a, and one on another node
	# (the "out" host) with pod=h: neither selected nor matched as a peer
	ITEMS+=('{"apiVersion":"v1","kind":"Pod","metadata":{"name":"h","namespace":"x","labels":{"pod":"a"}},"spec":{"nodeName":"n1","hostNetwork":true},"status":{"podIP":"192.0.2.1"}}'
		'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"h2","namespace":"x","labels":{"pod":"h"}},"spec":{"nodeName":"n2","hostNetwork":true},"status":{"podIP":"192.0.2.2"}}')
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"policyTypes":["Ingress","Egress"]}')"
	       "$(pol x q '{"podSelector":{"matchLabels":{"pod":"b"}},"egress":[{"to":[{"podSelector":{"matchLabels":{"pod":"h"}}}]}],"policyTypes":["Egress"]}')")
	EXPECT=('* x/a * fail' 'x/a * * fail' 'x/b * * fail')
	step
}

c_node_scope() {
	reset_case
	NODEOF[x/c]=n2
	APPLY_OPTS=(--node "$NODE_NAME")
	POLS+=("$(pol x deny '{"podSelector":{},"policyTypes":["Ingress"]}')")
	EXPECT=('* x/a * fail' '* x/b * fail')
	step
}

c_invalid_policy_skipped() {
	reset_case
	POLS+=("$(pol x bad '{"podSelector":{},"ingress":[{},{"ports":[{"port":"serve-80-tcp","endPort":81}]}]}')"
	       "$(pol y deny '{"podSelector":{},"policyTypes":["Ingress"]}')")
	EXPECT=('* y/* * fail')
	step || return 1
	grep -q 'NetworkPolicy x/bad: spec.ingress\[1\].*endPort' "$T/apply.err" ||
		fail "x/bad not reported: $(cat "$T/apply.err")"
}

# An established flow a new policy forbids stops at its next packet: the
# same UDP flow (fixed source port) before and after a deny.
c_flow_cut() {
	local spec="udp:${IP[x/a]}:80@40080" out
	reset_case
	step || return 1
	out=$(ip netns exec "$(nsof x/b)" "$PROBE" probe 2000 "$spec")
	expect_eq "flow before" "$out" "$spec ok" || return 1
	out=$(ip netns exec "$(nsof x/b)" "$PROBE" probe 2000 "$spec")
	expect_eq "same flow again" "$out" "$spec ok" || return 1
	POLS=("$(pol x deny '{"podSelector":{},"policyTypes":["Ingress"]}')")
	apply_list || return 1
	out=$(ip netns exec "$(nsof x/b)" "$PROBE" probe 1000 "$spec")
	expect_eq "flow after deny" "$out" "$spec fail"
}

# The table as the kernel lists it
table() { ip netns exec "$NODE" nft list table inet vpcnet_netpolicy; }

bad_one() {	# bad_one NAME FILE [RC MSG]: apply ends with RC (1) saying
		# MSG ("nothing changed"), the table unchanged
	local rc
	np apply "$2" >/dev/null 2>"$T/bad.err"
	rc=$?
	[ $rc = "${3:-1}" ] ||
		fail "$1: exit $rc, want ${3:-1}: $(cat "$T/bad.err")" ||
		return 1
	grep -q "${4:-nothing changed}" "$T/bad.err" ||
		fail "$1: message: $(cat "$T/bad.err")" || return 1
	table >"$T/after" 2>&1
	cmp -s "$T/before" "$T/after" || fail "$1: table changed"
}

c_bad_input() {
	local f=$T/bad i
	reset_case
	POLS=("$(pol x deny '{"podSelector":{},"policyTypes":["Ingress"]}')")
	EXPECT=('* x/* * fail')
	step || return 1
	table >"$T/before" || return 1
	list_json | head -c 300 >"$f.trunc"
	: >"$f.empty"
	head -c 8192 /dev/urandom >"$f.random"
	printf '{"kind":"List","items":{}}' >"$f.items-object"
	printf '[1,2,3]' >"$f.array"
	printf '{"kind":"List","items":[1,"x",null,{"kind":"Pod"},{"kind":"NetworkPolicy","metadata":{"name":"p","namespace":"x"},"spec":{"podSelector":{"matchExpressions":[{"key":"a","operator":"In"}]}}}]}' \
		>"$f.all-invalid"
	printf '{"kind":"List","items":[%s]}' "$(printf '[%.0s' $(seq 2000))" \
		>"$f.deep"
	list_json | sed 's/"items":\[/"items":[{"kind":"Pod","metadata":{"name":"n\\u0000l"}},/' \
		>"$f.nul-escape"
	list_json | tr 'k' '\000' >"$f.nul"
	list_json | tr '}' ']' >"$f.brackets"
	printf '{"kind":"List","items":[' >"$f.unterminated"
	for i in trunc empty random items-object array all-invalid deep nul \
		brackets unterminated; do
		bad_one "$i" "$f.$i" || return 1
	done
	bad_one "missing file" "$T/no-such-file" || return 1
	bad_one "a pod named with \\u0000, the rest valid" "$f.nul-escape" 0 \
		"skipped: Pod ?: metadata: name: string contains NUL" || return 1
	check_matrix
}

# apply and render agree: the kernel's listing of the applied table is the
# listing of `nft -f` on the rendered text.
c_render_matches_kernel() {
	reset_case
	PORTSOV[x/b]='[{"name":"web","containerPort":81}]'
	POLS=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"pod":"b"}}}],"ports":[{"port":80}]},{"from":[{"namespaceSelector":{"matchLabels":{"ns":"y"}}},{"ipBlock":{"cidr":"10.0.0.0/8","except":["10.244.0.0/16"]}}],"ports":[{"protocol":"UDP","port":81,"endPort":99}]}]}')"
	      "$(pol x q '{"podSelector":{},"egress":[{"to":[{"podSelector":{}}],"ports":[{"port":"web"}]},{"to":[{"ipBlock":{"cidr":"192.0.2.0/24"}}]}]}')"
	      "$(pol y r '{"podSelector":{"matchExpressions":[{"key":"pod","operator":"In","values":["a","b"]}]},"ingress":[{}]}')")
	apply_list || return 1
	table >"$T/applied" || return 1
	np render "$T/list.json" >"$T/rendered.nft" || return 1
	mkns render || return 1
	ip netns exec "$P-render" nft -f "$T/rendered.nft" ||
		fail "nft -f rendered text" || return 1
	ip netns exec "$P-render" nft list table inet vpcnet_netpolicy \
		>"$T/relisted" || return 1
	diff "$T/applied" "$T/relisted" || fail "apply and render differ"
}

c_flush() {
	reset_case
	POLS=("$(pol x deny '{"podSelector":{},"policyTypes":["Ingress","Egress"]}')")
	apply_list || return 1
	np flush || fail "flush" || return 1
	table >/dev/null 2>&1 && fail "table still there"
	np flush || fail "flush twice" || return 1
	EXPECT=()
	check_matrix
}

c_br_netfilter() {
	local k=/proc/sys/net/bridge/bridge-nf-call-iptables v
	reset_case
	ip netns exec "$NODE" sh -c "echo 0 >$k" || return 1
	apply_list || return 1
	v=$(ip netns exec "$NODE" cat $k)
	expect_eq bridge-nf-call-iptables "$v" 1
}

# IPv6 (the pods are dual-stack): ingress by podSelector and port, egress
# by an IPv6 ipBlock with except, probed over IPv6.
c_ipv6() {
	local src spec want got bad=0
	reset_case
	POLS+=("$(pol x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"pod":"b"}}}],"ports":[{"port":80}]}]}')"
	       "$(pol x q '{"podSelector":{"matchLabels":{"pod":"b"}},"policyTypes":["Egress"],"egress":[{"to":[{"ipBlock":{"cidr":"fd00:10:244:1::/64","except":["@y/b6@/128"]}}],"ports":[{"protocol":"UDP","port":80},{"port":80}]}]}')")
	POLS=("${POLS[@]//@y\/b6@/${IP6[y/b]}}")
	apply_list || return 1
	CASES=$((CASES + 1))
	while read -r src spec want; do
		spec=${spec//@x\/a@/[${IP6[x/a]}]}
		spec=${spec//@x\/b@/[${IP6[x/b]}]}
		spec=${spec//@y\/a@/[${IP6[y/a]}]}
		spec=${spec//@y\/b@/[${IP6[y/b]}]}
		got=$(ip netns exec "$(nsof $src)" "$PROBE" probe $TMO "$spec")
		[ "$got" = "$spec fail" ] && [ "$want" = ok ] &&
			got=$(ip netns exec "$(nsof $src)" "$PROBE" probe 2000 \
				"$spec")
		[ "$got" = "$spec $want" ] || { echo "$src $got, want $want"; bad=1; }
	done <<EOT
x/b tcp:@x/a@:80 ok
x/b udp:@x/a@:81 fail
x/b udp:@y/a@:80 ok
x/b tcp:@y/a@:80 ok
x/b tcp:@y/a@:81 fail
x/b udp:@y/b@:80 fail
x/c tcp:@x/a@:80 fail
y/a tcp:@x/a@:80 fail
y/a tcp:@x/b@:81 ok
x/a tcp:@x/a@:81 ok
node tcp:@x/a@:81 ok
EOT
	return $bad
}

c_run_needs_settings() {	# run itself: netpolicy_run.sh
	local out
	out=$(env -u NODE_NAME -u KUBERNETES_SERVICE_HOST \
		ip netns exec "$NODE" "$VPCNET" netpolicy run 2>&1) &&
		fail "run succeeded"
	echo "$out" | grep -q 'NODE_NAME' || fail "no hint: $out"
}

testing "setup: 9 pods on cni-flannel, servers, outside host" setup
testing "no policy: everything reachable" c_none
testing "default deny ingress" c_deny_ingress
testing "default deny egress (also to outside)" c_deny_egress
testing "default deny both directions" c_deny_both
testing "allow all ingress" c_allow_all_ingress
testing "allow all egress" c_allow_all_egress
testing "deny-all plus allow-all: union allows" c_union_deny_allow
testing "podSelector peer" c_pod_selector
testing "namespaceSelector peer" c_ns_selector
testing "namespace by kubernetes.io/metadata.name In" c_ns_by_name_in
testing "namespaceSelector AND podSelector in one peer" c_both_and
testing "two peers are ORed" c_peers_or
testing "matchExpressions NotIn, DoesNotExist" c_expr_notin_doesnotexist
testing "matchExpressions Exists on a namespace label" c_expr_exists
testing "numeric TCP port" c_port_numeric
testing "two policies, two ports: union" c_union_ports
testing "UDP port" c_udp_port
testing "protocol without port: all its ports" c_proto_all_ports
testing "SCTP port does not open TCP" c_sctp_not_tcp
testing "endPort ranges (TCP 79-80, UDP 81-90)" c_end_port
testing "named port (ingress)" c_named_ingress
testing "named port resolved per destination pod" c_named_per_pod
testing "named port (egress, UDP)" c_named_egress
testing "named egress port resolved per peer pod" c_named_egress_per_peer
testing "ipBlock with except on pod addresses" c_ipblock_except_pods
testing "overlapping ipBlocks and pods merged" c_ipblock_overlap
testing "egress to outside the cluster by ipBlock" c_egress_outside
testing "egress ipBlock 0.0.0.0/0 except outside host" c_egress_except_outside
testing "ingress from outside the cluster by ipBlock" c_ingress_from_outside
testing "policyTypes [Egress] only" c_egress_only_type
testing "policyTypes defaulted from an egress section" c_types_default
testing "egress of source and ingress of destination both apply" \
	c_egress_and_ingress
testing "several rules, ports and protocols in one policy" c_rules_mixed
testing "a policy isolates only its namespace" c_other_namespace_only
testing "policy updated twice (new peer, then no rules)" c_update
testing "policy deleted" c_delete
testing "pod relabeled into a peer selector" c_pod_relabel
testing "namespace label matched by a selector" c_ns_relabel
testing "host-network pods neither selected nor peers" c_host_network
testing "--node: pods of other nodes not enforced" c_node_scope
testing "invalid policy skipped whole, others applied" c_invalid_policy_skipped
testing "an established flow is cut by a new deny" c_flow_cut
testing "malformed input: exit 1, table untouched" c_bad_input
testing "render output = what apply programs" c_render_matches_kernel
testing "flush removes the table, everything reachable" c_flush
testing "apply sets bridge-nf-call-iptables" c_br_netfilter
testing "IPv6: podSelector + port, ipBlock/except egress" c_ipv6
testing "run without a node name: exit 1 naming the setting" \
	c_run_needs_settings
echo "# $CASES matrix steps"
finish
