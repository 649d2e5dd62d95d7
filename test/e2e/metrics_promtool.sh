#!/bin/bash
# `promtool check metrics` (Debian's prometheus package) accepts the
# /metrics output of the daemons: eni-agent run against the fake cloud and
# API after a few allocations and releases, and netpolicy run against the
# fake API after its first syncs. promtool's lint findings (naming, HELP,
# TYPE, units, counters ending in _total) fail the test, except netpolicy's
# missing # HELP lines, a known gap reported as a SKIP until fixed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fake_lib.sh"
SOCK=$T/eni.sock
NODE=$P-node

need() {
	command -v promtool >/dev/null ||
		{ skip "promtool not installed (Debian package prometheus)"; \
		  return; }
	command -v node >/dev/null || { skip "node is not installed"; return; }
}

# wait_until SECONDS CMD...: poll CMD every 0.05 s
wait_until() {
	local n=$(($1 * 20))
	shift
	until "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ $n -gt 0 ] || { fail "timed out: $*"; return 1; }
		sleep 0.05
	done
}

# promcheck FILE [KNOWN]: promtool check metrics, any finding fails; with
# KNOWN, findings that are all "no help text" make the test a SKIP naming
# them (a known gap; strict again once it is fixed)
promcheck() {
	local out
	[ -s "$1" ] || fail "empty metrics" || return 1
	out=$(promtool check metrics <"$1" 2>&1) && [ -z "$out" ] && return 0
	if [ -n "${2:-}" ] && ! grep -qv ' no help text$' <<<"$out"; then
		skip "known: $(wc -l <<<"$out") metrics without # HELP" \
			"($2): $(awk '{print $1}' <<<"$out" | tr '\n' ' ')"
		return
	fi
	fail "promtool check metrics:"$'\n'"$out"
}

stop() {	# stop PID: SIGTERM, gone within 10 s
	kill -TERM "$1" 2>/dev/null
	timeout 10 tail --pid="$1" -s 0.05 -f /dev/null
}

eni_agent() {
	need || return
	local i out pid port=$((20000 + RANDOM % 20000))
	mkns vpc && mkns n1 || return 1
	cloud_json "$P-n1" "$P-vpc" >"$T/cloud.json" || return 1
	cat >"$T/kube.json" <<EOF
{"objects": [{"apiVersion": "v1", "kind": "Node",
  "metadata": {"name": "node1"}, "spec": {"podCIDR": "10.244.1.0/24"}},
 $(for i in 1 2 3; do printf '{"apiVersion": "v1", "kind": "Pod",
  "metadata": {"name": "p%s", "namespace": "default"}, "spec":
  {"nodeName": "node1", "containers": [{"name": "c"}]}},' $i; done)
 {"apiVersion": "v1", "kind": "Node",
  "metadata": {"name": "node2"}, "spec": {"podCIDR": "10.244.2.0/24"}}]}
EOF
	fakes_up "$T/c" "$T/cloud.json" "$T/kube.json" ||
		fail "fakes: $(cat "$T/c.out")" || return 1
	cat >"$T/agent.json" <<EOF
{"openapi_endpoint": "$FAKE_ALIYUN_URL", "ca_file": "$FAKE_CA",
 "metadata_endpoint": "$FAKE_METADATA_URL_I_NODE1",
 "kube_server": "$FAKE_KUBE_URL", "kube_token_file": "$FAKE_KUBE_TOKEN_FILE",
 "kube_ca_file": "$FAKE_CA", "node_name": "node1", "socket": "$SOCK",
 "state_dir": "$T/state", "link_netns": "/run/netns/$P-n1",
 "min_pool_size": 2, "max_pool_size": 3, "metrics_port": $port,
 "metrics_address": "127.0.0.1", "service_cidr": "10.96.0.0/12",
 "gc_grace": "2s", "gc_interval": "200ms", "log_level": "info"}
EOF
	unset ALIBABA_CLOUD_ACCESS_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET
	setsid "$VPCNET" eni-agent run --config "$T/agent.json" \
		>>"$T/agent.log" 2>&1 </dev/null &
	pid=$!
	on_exit "kill -9 $pid"
	wait_until 20 "$VPCNET" eni-agent call -s "$SOCK" -T 2 info ||
		{ tail -n 20 "$T/agent.log"; return 1; }
	for i in 1 2 3; do
		out=$("$VPCNET" eni-agent call -s "$SOCK" alloc containerID=c$i \
			namespace=default name=p$i netns=/x)
		echo "$out" | grep -q '"ok":true' || fail "alloc p$i: $out" ||
			return 1
	done
	"$VPCNET" eni-agent call -s "$SOCK" release containerID=c1 >/dev/null
	curl -sf "http://127.0.0.1:$port/metrics" >"$T/eni.metrics" ||
		fail "no /metrics" || return 1
	stop "$pid"
	grep -q '^vpcnet_eni_agent_' "$T/eni.metrics" ||
		fail "no vpcnet_eni_agent_ metric" || return 1
	promcheck "$T/eni.metrics"
}

LIST='[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x","labels":{"ns":"x"}}},
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","namespace":"x","labels":{"pod":"a"}},"spec":{"nodeName":"n1","containers":[{"name":"c"}]},"status":{"phase":"Running","podIP":"10.244.1.2","podIPs":[{"ip":"10.244.1.2"}]}},
{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"p","namespace":"x"},"spec":{"podSelector":{},"ingress":[{"from":[{"podSelector":{}}]}]}}]'

netpolicy() {
	need || return
	local pid port=$((20000 + RANDOM % 20000))
	mkns node || return 1
	FAKE_NETNS=$NODE "$FAKE/start.sh" kube "$T/k" >"$T/k.out" 2>&1 ||
		fail "fake: $(cat "$T/k.out")" || return 1
	on_exit "'$FAKE/start.sh' stop '$T/k'"
	. "$T/k/kube.env"
	echo "$LIST" | ip netns exec "$NODE" curl -sf -X POST \
		--data-binary @- "$FAKE_KUBE_CONTROL/apply" >/dev/null ||
		fail "objects" || return 1
	# ip execs the binary: pid is the daemon itself
	ip netns exec "$NODE" "$VPCNET" netpolicy run --server "$FAKE_KUBE_URL" \
		--token-file "$FAKE_KUBE_TOKEN_FILE" --ca-file "$FAKE_CA" \
		--node n1 --metrics-port "$port" --no-br-netfilter \
		>>"$T/np.log" 2>&1 &
	pid=$!
	on_exit "kill -9 $pid"
	on_exit "ip netns exec $NODE nft delete table inet vpcnet_netpolicy"
	wait_until 20 grep -q ' synced reason=' "$T/np.log" ||
		{ tail -n 20 "$T/np.log"; return 1; }
	ip netns exec "$NODE" curl -sf "http://127.0.0.1:$port/metrics" \
		>"$T/np.metrics" || fail "no /metrics" || return 1
	stop "$pid"
	grep -q '^vpcnet_netpolicy_' "$T/np.metrics" ||
		fail "no vpcnet_netpolicy_ metric" || return 1
	promcheck "$T/np.metrics" "applets/netpolicy/metrics.c"
}

testing "eni-agent run: promtool check metrics accepts /metrics" eni_agent
testing "netpolicy run: promtool check metrics accepts /metrics" netpolicy
finish
