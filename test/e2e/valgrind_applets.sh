#!/bin/bash
# valgrind memcheck over a scripted scenario for each applet, with the
# dynamic glibc build (build/glibc/vpcnet: -g, Debian's libmnl; the static
# musl binary is not valgrind-friendly). Every vpcnet process below runs
# under memcheck: no error at all (--error-exitcode, the log of each run
# must be empty) and no definite or indirect leak at exit, also for the
# daemons after SIGTERM. Scenarios (setup bits copied from the applets'
# own e2e tests): cni-flannel ADD/CHECK/DEL/GC/VERSION and bad input;
# cni-terway ADD/CHECK/DEL against test/fake/fake_agent.js; eni-agent run
# against the fake cloud and API with allocs/releases, then SIGTERM;
# netpolicy render/apply/flush and run against the fake API, then SIGTERM.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fake_lib.sh"
. "$(dirname "$0")/cni_lib.sh"
. "$(dirname "$0")/terway_lib.sh"

BIN=${VG_VPCNET:-$TOP/build/glibc/vpcnet}
VGLOG=$T/vg
mkdir -p "$VGLOG"
# The wrapper stands in for the binary (cni() and tw() run it under env -i,
# so it carries everything itself).
cat >"$T/vpcnet" <<EOF
#!/bin/sh
exec /usr/bin/valgrind -q --tool=memcheck --error-exitcode=99 \
	--leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --num-callers=30 \
	--log-file=$VGLOG/%p.log "$BIN" "\$@"
EOF
chmod +x "$T/vpcnet"
VPCNET=$T/vpcnet
RUNS=0

need_vg() {
	[ -x /usr/bin/valgrind ] || { skip "valgrind not installed"; return; }
	[ -x "$BIN" ] || { skip "no $BIN (make build/glibc/vpcnet)"; return; }
}

# vg_clean [MIN]: every memcheck log since the last call is empty (at least
# MIN runs happened); the logs are then moved away
vg_clean() {
	local f n=0 bad=0
	for f in "$VGLOG"/*.log; do
		[ -e "$f" ] || continue
		n=$((n + 1))
		# valgrind 3.19 does not know ioctl NS_GET_NSTYPE (0xb703):
		# a warning, not an error
		if grep -v -e 'Warning: noted but unhandled ioctl 0xb703 ' \
			-e 'This could cause spurious value errors to appear' \
			-e 'See README_MISSING_SYSCALL_OR_IOCTL for guidance' \
			"$f" | grep -q .; then
			bad=1
			echo "memcheck, $(basename "$f"):"
			head -n 80 "$f"
		fi
		[ -z "${VG_KEEP:-}" ] || cp "$f" "$VG_KEEP/"	# a directory
		mv "$f" "$T/done-$(basename "$f")"
	done
	RUNS=$((RUNS + n))
	[ $n -ge "${1:-1}" ] || fail "only $n valgrind runs, want ${1:-1}"
	[ $bad = 0 ] || fail "memcheck reported errors or leaks"
}

# run_rc WANT CMD...: CMD exits WANT (99 is memcheck's); output dropped
run_rc() {
	local want=$1 rc
	shift
	"$@" >/dev/null 2>&1
	rc=$?
	[ $rc = "$want" ] || fail "exit $rc, want $want: $*"
}

# ---- cni-flannel ------------------------------------------------------

flannel() {
	need_vg || return
	local conf11
	node_up && mkns a && mkns b || return 1
	subnet_env 10.244.0.0/16 10.244.1.1/24 1400 true \
		fd00:10:244::/56 fd00:10:244:1::1/64
	flannel_conf 1.0.0 >"$T/conf"
	cni ADD ctr-a a eth0 <"$T/conf" >"$T/res-a" ||
		fail "ADD a: $(cat "$T/res-a")" || return 1
	cni ADD ctr-b b eth0 <"$T/conf" >"$T/res-b" ||
		fail "ADD b: $(cat "$T/res-b")" || return 1
	jq -c --slurpfile p "$T/res-a" '. + {prevResult: $p[0]}' "$T/conf" \
		>"$T/check-a"
	cni CHECK ctr-a a eth0 <"$T/check-a" || fail "CHECK a"
	ip -n "$P-a" route del default
	run_rc 1 cni CHECK ctr-a a eth0 <"$T/check-a"
	cni DEL ctr-b b eth0 <"$T/conf" || fail "DEL b"
	cni DEL ctr-b b eth0 <"$T/conf" || fail "DEL b twice"
	cni VERSION "" "" "" <"$T/conf" >/dev/null || fail "VERSION"
	conf11=$(flannel_conf 1.1.0 | jq -c \
		'.["cni.dev/valid-attachments"]=[]')
	echo "$conf11" | cni GC "" "" "" || fail "GC"
	echo "$conf11" | cni STATUS "" "" "" || fail "STATUS"
	state_clean
	vg_clean 9
}

flannel_bad() {
	need_vg || return
	local g
	g=$(cat "$T/conf")
	run_rc 1 cni ADD c1 a eth0 <<<'{"cniVersion":'
	run_rc 1 cni ADD c1 a eth0 </dev/null
	run_rc 1 cni ADD c1 a eth0 <<<"$g}"
	run_rc 1 cni ADD c1 a eth0 <<<"$(jq -c '.cniVersion="9.9.9"' <<<"$g")"
	run_rc 1 cni ADD c1 a eth0 <<<"$(jq -c 'del(.name)' <<<"$g")"
	run_rc 1 cni ADD c1 a eth0 <<<"$(jq -c '.delegate.mtu=-1' <<<"$g")"
	run_rc 1 cni ADD c1 a eth0 <<<"$(jq -c '.ipam.type="dhcp"' <<<"$g")"
	run_rc 1 cni ADD c1 a eth0 <<<"$(jq -c \
		".subnetFile=\"$T/nosuch.env\"" <<<"$g")"
	run_rc 1 cni ADD c1 nosuch eth0 <<<"$g"
	run_rc 1 cni ADD c1 a eth0123456789abcdef <<<"$g"
	CNI_ARGS_EXTRA='FOO=bar' run_rc 1 cni ADD c1 a eth0 <<<"$g"
	run_rc 1 cni FOO c1 a eth0 <<<"$g"
	state_clean
	vg_clean 12
}

# ---- cni-terway (after the flannel node is gone) ----------------------

eniip() {	# eniip IP: the fake agent's answer for an eniip pod on eth1
	jq -nc --arg ip "$1" --argjson t "$TBL" \
		'{mode: "eniip", ip: ($ip + "/24"), gateway: "10.0.1.253",
		  eni: {id: "eni-1", mac: "02:00:00:00:01:01",
		  primaryIP: "10.0.1.5"}, table: $t, serviceCIDR: "10.96.0.0/12",
		  ingress: 10000000, egress: 20000000}'
}

terway() {
	need_vg || return
	command -v node >/dev/null || { skip "node is not installed"; return; }
	ip netns del "$NODE" 2>/dev/null
	rm -rf "$IPAM_DATA"
	vpc_up || return 1
	eni_link eth1 02:00:00:00:01:01 eni1 10.0.1.253 || return 1
	TBL=$(eni_table eth1 10.0.1.253) || return 1
	mkns ta && mkns tb || return 1
	answer default/ta "$(eniip 10.0.1.7)" &&
	answer default/tb '{"mode":"vpc","podCIDR":"10.244.1.0/24"}' ||
		return 1
	agent_start || return 1
	terway_conf >"$T/tconf"
	tw ADD ctr-ta ta eth0 <"$T/tconf" >"$T/tres-a" 2>"$T/terr" ||
		fail "ADD ta: $(cat "$T/tres-a" "$T/terr")" || return 1
	tw ADD ctr-tb tb eth0 <"$T/tconf" >"$T/tres-b" 2>"$T/terr" ||
		fail "ADD tb: $(cat "$T/tres-b" "$T/terr")" || return 1
	tw CHECK ctr-ta ta eth0 < <(with_prev "$T/tconf" "$T/tres-a") \
		2>/dev/null || fail "CHECK ta"
	TW_ARGS='FOO=bar' run_rc 1 tw ADD ctr-x ta eth1 <"$T/tconf"
	tw DEL ctr-tb tb eth0 <"$T/tconf" 2>/dev/null || fail "DEL tb"
	ip netns del "$P-ta"
	tw DEL ctr-ta ta eth0 <"$T/tconf" 2>/dev/null || fail "DEL ta, netns gone"
	tw ADD ctr-tc tb eth0 <"$T/tconf" >/dev/null 2>&1 || fail "ADD tc"
	agent_stop
	# the agent down: DEL succeeds, keeps the record for a later DEL
	tw DEL ctr-tc tb eth0 <"$T/tconf" 2>/dev/null || fail "DEL, agent down"
	agent_start || return 1
	tw DEL ctr-tc tb eth0 <"$T/tconf" 2>/dev/null || fail "DEL tc"
	agent_stop
	tw_clean
	vg_clean 9
}

# ---- eni-agent run ----------------------------------------------------

SOCK2=$T/eni.sock
STATE=$T/state
CLOUD=$T/cloud
APID=

fakes_aliyun() {	# the fake cloud and API (eni_agent_run.sh's setup)
	mkns vpc2 && mkns n1 || return 1
	cloud_json "$P-n1" "$P-vpc2" >"$T/cloud.json" || return 1
	cat >"$T/kube.json" <<EOF
{"objects": [{"apiVersion": "v1", "kind": "Node",
  "metadata": {"name": "node1"}, "spec": {"podCIDR": "10.244.1.0/24"}},
 $(for i in 1 2 3 4; do printf '{"apiVersion": "v1", "kind": "Pod",
  "metadata": {"name": "p%s", "namespace": "default", "annotations":
  {"kubernetes.io/ingress-bandwidth": "10M"}}, "spec": {"nodeName": "node1",
  "containers": [{"name": "c", "image": "x"}]}},' $i; done)
 {"apiVersion": "v1", "kind": "Node",
  "metadata": {"name": "node2"}, "spec": {"podCIDR": "10.244.2.0/24"}}]}
EOF
	fakes_up "$CLOUD" "$T/cloud.json" "$T/kube.json" ||
		fail "fakes: $(cat "$CLOUD.out")" || return 1
}

ecall() { "$BIN" eni-agent call -s "$SOCK2" "$@"; }

# wait_until SECONDS CMD...: poll CMD every 0.1 s
wait_until() {
	local n=$(($1 * 10))
	shift
	until "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ $n -gt 0 ] || { fail "timed out: $*"; return 1; }
		sleep 0.1
	done
}

# stop_daemon PID LOG: SIGTERM, exit 0 within 30 s
stop_daemon() {
	local rc
	kill -TERM "$1"
	timeout 30 tail --pid="$1" -s 0.1 -f /dev/null
	wait "$1"
	rc=$?
	[ $rc = 0 ] || fail "exit $rc after SIGTERM: $(tail -n 20 "$2")"
}

eni_agent() {
	need_vg || return
	command -v node >/dev/null || { skip "node is not installed"; return; }
	local i out port=$((20000 + RANDOM % 20000))
	fakes_aliyun || return 1
	cat >"$T/agent.json" <<EOF
{"openapi_endpoint": "$FAKE_ALIYUN_URL", "ca_file": "$FAKE_CA",
 "metadata_endpoint": "$FAKE_METADATA_URL_I_NODE1",
 "kube_server": "$FAKE_KUBE_URL", "kube_token_file": "$FAKE_KUBE_TOKEN_FILE",
 "kube_ca_file": "$FAKE_CA", "node_name": "node1", "socket": "$SOCK2",
 "state_dir": "$STATE", "link_netns": "/run/netns/$P-n1",
 "min_pool_size": 2, "max_pool_size": 3, "metrics_port": $port,
 "metrics_address": "127.0.0.1", "service_cidr": "10.96.0.0/12",
 "gc_grace": "2s", "gc_interval": "200ms", "ip_pool_sync_period": "3s",
 "alloc_timeout": "60s", "log_level": "debug"}
EOF
	unset ALIBABA_CLOUD_ACCESS_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET
	setsid "$VPCNET" eni-agent run --config "$T/agent.json" \
		>>"$T/agent.log" 2>&1 </dev/null &
	APID=$!
	on_exit "kill -9 $APID"
	wait_until 60 ecall -T 2 info || { tail -n 20 "$T/agent.log"; return 1; }
	wait_until 60 sh -c "'$BIN' eni-agent call -s '$SOCK2' info |
		grep -q '\"idle\":2'" || return 1
	for i in 1 2 3 4; do
		out=$(ecall -T 30 alloc containerID=c-p$i namespace=default name=p$i \
			netns=/x) && echo "$out" | grep -q '"ok":true' ||
			fail "alloc p$i: $out" || return 1
	done
	ecall alloc containerID=c-p1 namespace=default name=p1 netns=/x |
		grep -q '"ok":true' || fail "alloc p1 again"
	ecall alloc containerID=c-x namespace=default name=nosuch netns=/x |
		grep -q '"code":3' || fail "unknown pod"
	ecall --raw '{"op":"alloc","containerID":' | grep -q '"ok":false' ||
		fail "bad message"
	for i in 1 2 3 4; do
		ecall release containerID=c-p$i >/dev/null ||
			fail "release p$i" || return 1
	done
	curl -sf "http://127.0.0.1:$port/metrics" >"$T/eni.metrics" ||
		fail "no /metrics"
	curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || fail "healthz"
	stop_daemon "$APID" "$T/agent.log"
	APID=
	vg_clean 1
}

# ---- netpolicy ----------------------------------------------------------

NPLIST='{"apiVersion":"v1","kind":"List","items":[
{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x","labels":{"ns":"x"}}},
{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"y","labels":{"ns":"y"}}},
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"x","labels":{"pod":"a"}},"spec":{"nodeName":"n1","containers":[{"name":"c","ports":[{"name":"http","containerPort":80,"protocol":"TCP"}]}]},"status":{"phase":"Running","podIP":"10.244.1.2","podIPs":[{"ip":"10.244.1.2"},{"ip":"fd00:10:244:1::2"}]}},
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"b","namespace":"y","labels":{"pod":"b"}},"spec":{"nodeName":"n2","containers":[{"name":"c"}]},"status":{"phase":"Running","podIP":"10.244.2.2","podIPs":[{"ip":"10.244.2.2"}]}},
{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"p","namespace":"x"},"spec":{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"y"}},"podSelector":{"matchExpressions":[{"key":"pod","operator":"In","values":["b"]}]}}],"ports":[{"port":"http"},{"protocol":"UDP","port":53,"endPort":60}]}],"egress":[{"to":[{"ipBlock":{"cidr":"10.0.0.0/8","except":["10.1.0.0/16"]}}]}],"policyTypes":["Ingress","Egress"]}},
{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"bad","namespace":"x"},"spec":{"podSelector":{"matchLabels":{"pod":7}}}}
]}'

syncs_ge() { [ "$(grep -c ' synced reason=' "$T/np.log")" -ge "$1" ]; }
np() { ip netns exec "$NODE" "$VPCNET" netpolicy "$@"; }
innode() { ip netns exec "$NODE" "$@"; }

netpolicy_cli() {
	need_vg || return
	ip netns del "$NODE" 2>/dev/null
	mkns node || return 1
	echo "$NPLIST" >"$T/list.json"
	np render --node n1 "$T/list.json" >"$T/np.nft" 2>/dev/null ||
		fail "render" || return 1
	grep -q 'table inet vpcnet_netpolicy' "$T/np.nft" || fail "no table"
	np apply --node n1 --no-br-netfilter "$T/list.json" 2>"$T/np.err" ||
		fail "apply: $(cat "$T/np.err")" || return 1
	innode nft list table inet vpcnet_netpolicy >/dev/null ||
		fail "table not in the kernel"
	np apply --no-br-netfilter - <"$T/list.json" 2>/dev/null ||
		fail "apply again (stdin, every pod local)"
	run_rc 1 np apply --no-br-netfilter - <<<'{"kind":"List","items":['
	run_rc 2 np render --bogus
	np flush || fail "flush"
	np flush || fail "flush twice"
	! innode nft list table inet vpcnet_netpolicy >/dev/null 2>&1 ||
		fail "table left"
	vg_clean 7
}

netpolicy_run() {
	need_vg || return
	command -v node >/dev/null || { skip "node is not installed"; return; }
	local port=$((20000 + RANDOM % 20000)) rpid
	FAKE_NETNS=$NODE "$FAKE/start.sh" kube "$T/k" >"$T/k.out" 2>&1 ||
		fail "fake: $(cat "$T/k.out")" || return 1
	on_exit "'$FAKE/start.sh' stop '$T/k'"
	. "$T/k/kube.env"
	jq -c .items "$T/list.json" | innode curl -sf -X POST --data-binary @- \
		"$FAKE_KUBE_CONTROL/apply" >/dev/null || fail "apply objects"
	# ip execs the wrapper, which execs valgrind: rpid is the daemon
	ip netns exec "$NODE" "$VPCNET" netpolicy run --server "$FAKE_KUBE_URL" \
		--token-file "$FAKE_KUBE_TOKEN_FILE" --ca-file "$FAKE_CA" \
		--node n1 --metrics-port "$port" --no-br-netfilter \
		>>"$T/np.log" 2>&1 &
	rpid=$!
	on_exit "kill -9 $rpid"
	wait_until 60 grep -q ' synced reason=' "$T/np.log" ||
		{ tail -n 20 "$T/np.log"; return 1; }
	# a change through the watch, then a deletion: a sync each
	jq -c '[.items[4] | .metadata.name = "p2"]' "$T/list.json" >"$T/p2.json"
	innode curl -sf -X POST --data-binary @"$T/p2.json" \
		"$FAKE_KUBE_CONTROL/apply" >/dev/null || fail "add p2" || return 1
	wait_until 30 syncs_ge 2 || { tail -n 20 "$T/np.log"; return 1; }
	innode curl -sf -X POST --data-binary @"$T/p2.json" \
		"$FAKE_KUBE_CONTROL/delete" >/dev/null || fail "delete p2" ||
		return 1
	wait_until 30 syncs_ge 3 || { tail -n 20 "$T/np.log"; return 1; }
	innode curl -sf "http://127.0.0.1:$port/metrics" >"$T/np.metrics" ||
		fail "no /metrics"
	innode curl -sf "http://127.0.0.1:$port/healthz" >/dev/null ||
		fail "healthz"
	stop_daemon "$rpid" "$T/np.log"
	np flush || fail "flush"
	vg_clean 2
}

testing "cni-flannel: ADD/CHECK/DEL/GC/STATUS/VERSION, memcheck clean" \
	flannel
testing "cni-flannel: bad config and environment, memcheck clean" \
	flannel_bad
testing "cni-terway: ADD/CHECK/DEL with the stand-in agent, memcheck clean" \
	terway
testing "eni-agent run: allocs, releases, SIGTERM, no leak at exit" \
	eni_agent
testing "netpolicy render/apply/flush, memcheck clean" netpolicy_cli
testing "netpolicy run: watch, changes, SIGTERM, no leak at exit" \
	netpolicy_run
echo "# $RUNS vpcnet runs under memcheck"
finish
