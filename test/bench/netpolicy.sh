#!/bin/bash
# netpolicy at scale (`make bench`, called by run.sh): 1,000 policies over
# 10,000 pods made by np_gen.py (100 namespaces, 100 nodes; no network).
#  - render and apply (compile, program: one batch) for the view of one
#    node (--node node-0: 100 local pods) and with every pod local;
#  - nft objects of the table (chains, sets, rules, set elements);
#  - one pod's labels changed: `netpolicy run` against the fake API server
#    holding the whole cluster (node view: API event to rules in force),
#    and `apply` of the changed file with every pod local;
#  - iperf3 between two pods wired by cni-flannel, without policies and
#    with the 1,000 policies loaded (every pod local, the biggest table),
#    an allow policy letting the iperf3 flow through.
# Prints a table. NP_BENCH_PODS / NP_BENCH_POLICIES change the scale.
P=npb$(printf '%04x' $((RANDOM % 65536)))
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/../e2e/cni_lib.sh"
GEN="python3 $TOP/test/bench/np_gen.py --pods ${NP_BENCH_PODS:-10000} --policies ${NP_BENCH_POLICIES:-1000}"
FAKE=$TOP/test/fake
declare -A R		# results

now_ms() { date +%s%3N; }
die() { echo "netpolicy bench: $*" >&2; exit 1; }
innode() { ip netns exec "$NODE" "$@"; }

median3() {	# median3 CMD...: wall ms of CMD, median of 3 runs
	local i t ts=()
	for i in 1 2 3; do
		t=$(now_ms)
		"$@" >/dev/null 2>&1 || return 1
		ts+=($(($(now_ms) - t)))
	done
	printf '%s\n' "${ts[@]}" | sort -n | sed -n 2p
}

field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" | tail -n 1; }

setup() {
	node_up || die "netns"
	innode test -d /proc/sys/net/bridge || modprobe br_netfilter 2>/dev/null
	innode test -d /proc/sys/net/bridge || die "br_netfilter not available"
	subnet_env 10.244.0.0/16 10.244.1.1/24 1500 true
	flannel_conf 1.0.0 >"$T/conf"
	for p in srv cli; do
		mkns $p || die "netns"
		cni ADD ctr-$p $p eth0 <"$T/conf" >"$T/res" || die "$(cat "$T/res")"
	done
	SRV=$(pod_ip srv) CLI=$(pod_ip cli)
	$GEN >"$T/list.json" || die "np_gen.py failed"
	# the iperf3 pods join ns-0, selected by its policies, on node "bench"
	jq --arg s "$SRV" --arg c "$CLI" '.items += [
	 {apiVersion: "v1", kind: "Pod", metadata: {name: "iperf-server",
	  namespace: "ns-0", labels: {app: "app-0", tier: "web",
	  role: "iperf-server"}}, spec: {nodeName: "bench", containers:
	  [{name: "s", ports: [{name: "iperf", containerPort: 5201}]}]},
	  status: {phase: "Running", podIP: $s, podIPs: [{ip: $s}]}},
	 {apiVersion: "v1", kind: "Pod", metadata: {name: "iperf-client",
	  namespace: "ns-0", labels: {app: "app-1", tier: "web",
	  role: "iperf-client"}}, spec: {nodeName: "bench", containers:
	  [{name: "c"}]}, status: {phase: "Running", podIP: $c,
	  podIPs: [{ip: $c}]}},
	 {apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy",
	  metadata: {name: "allow-iperf", namespace: "ns-0"}, spec:
	  {podSelector: {matchLabels: {role: "iperf-server"}}, ingress:
	  [{from: [{podSelector: {matchLabels: {role: "iperf-client"}}}],
	    ports: [{port: "iperf"}]}]}}]' "$T/list.json" >"$T/full.json" ||
		die "jq"
	jq '(.items[] | select(.kind == "Pod" and .metadata.name == "pod-0")
	 | .metadata.labels.app) = "app-relabeled"' "$T/full.json" \
		>"$T/relabel.json" || die "jq"
}

np() { innode "$VPCNET" netpolicy "$@"; }

bench_static() {	# bench_static KEY [--node N]
	local k=$1 log
	shift
	R[$k.render]=$(median3 np render "$@" "$T/full.json") || die "render"
	np flush
	log=$(np apply "$@" "$T/full.json" 2>&1) || die "apply: $log"
	R[$k.compile]=$(echo "$log" | field compile_ms)
	R[$k.program]=$(echo "$log" | field program_ms)
	R[$k.local]=$(echo "$log" | field local)
	R[$k.objs]="$(echo "$log" | field chains) / $(echo "$log" | field sets) / $(echo "$log" | field rules) / $(echo "$log" | field elements)"
	R[$k.bytes]=$(echo "$log" | field bytes)
	# a second apply replaces a full table (the steady state of a sync)
	log=$(np apply "$@" "$T/full.json" 2>&1) || die "apply: $log"
	R[$k.program2]=$(echo "$log" | field program_ms)
}

bench_relabel_apply() {	# every pod local: apply of the changed file
	local log
	np apply "$T/full.json" 2>/dev/null || die "apply"
	log=$(np apply "$T/relabel.json" 2>&1) || die "apply: $log"
	R[all.update]="$(echo "$log" | field compile_ms) + $(echo "$log" | field program_ms) ms (apply of the changed file: parse+compile + program)"
}

synced_n() { grep -c ' synced reason=' "$T/run.log"; }
wait_synced() {	# wait_synced N: until N sync lines (120 s)
	local i
	for i in $(seq 2400); do
		[ "$(synced_n)" -ge "$1" ] && return 0
		sleep 0.05
	done
	die "run did not sync: $(tail -n 5 "$T/run.log")"
}

bench_run() {	# node view, through the API: one pod relabeled
	local t0 n line
	command -v node >/dev/null || { R[node.update]="(node missing)"; return; }
	jq '{objects: .}' "$T/full.json" >"$T/fake.json" || die "jq"
	FAKE_NETNS=$NODE FAKE_READY_TIMEOUT=120 "$FAKE/start.sh" kube "$T/k" \
		"$T/fake.json" >"$T/k.out" 2>&1 || die "fake: $(cat "$T/k.out")"
	on_exit "'$FAKE/start.sh' stop '$T/k'"
	. "$T/k/kube.env"
	np flush
	t0=$(now_ms)
	ip netns exec "$NODE" "$VPCNET" netpolicy run --server "$FAKE_KUBE_URL" \
		--token-file "$FAKE_KUBE_TOKEN_FILE" --ca-file "$FAKE_CA" \
		--node node-0 >"$T/run.log" 2>&1 &
	RPID=$!
	on_exit "kill $RPID"
	wait_synced 1
	R[node.start]=$(($(now_ms) - t0))
	n=$(synced_n)
	jq -c '.items[] | select(.kind == "Pod" and .metadata.name == "pod-0")' \
		"$T/relabel.json" >"$T/pod0.json"
	t0=$(now_ms)
	innode curl -sf -X POST --data-binary @"$T/pod0.json" \
		"$FAKE_KUBE_CONTROL/apply" >/dev/null || die "relabel"
	wait_synced $((n + 1))
	R[node.wall]=$(($(now_ms) - t0))
	line=$(grep ' synced reason=' "$T/run.log" | tail -n 1)
	R[node.update]="$(echo "$line" | field latency_ms) ms (run: event seen -> in force; build $(echo "$line" | field build_ms) + compile $(echo "$line" | field compile_ms) + program $(echo "$line" | field program_ms); API write -> in force <= ${R[node.wall]} ms)"
	R[node.rss]=$(awk '/VmRSS/ {print $2}' /proc/$RPID/status)
	kill $RPID
	wait $RPID
	"$FAKE/start.sh" stop "$T/k"
}

iperf() {	# Gbit/s client -> server, 5 s
	ip netns exec "$P-srv" iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
	local s=$! i
	for i in $(seq 50); do
		ip netns exec "$P-srv" ss -ltn | grep -q ':5201 ' && break
		sleep 0.1
	done
	ip netns exec "$P-cli" iperf3 -c "$SRV" -p 5201 -t 5 -J >"$T/iperf.json"
	wait $s
	jq -r '.end.sum_received.bits_per_second / 1e9 | . * 100 | round / 100' \
		"$T/iperf.json"
}

bench_iperf() {
	command -v iperf3 >/dev/null || { R[iperf.none]="(no iperf3)"; return; }
	np flush
	R[iperf.none]=$(iperf)
	np apply "$T/full.json" 2>/dev/null || die "apply"
	ip netns exec "$P-cli" timeout 1 bash -c "echo >/dev/tcp/$SRV/5202" \
		2>/dev/null
	[ $? = 124 ] || die "the table does not isolate the iperf3 server"
	R[iperf.full]=$(iperf)
	np flush
}

setup
bench_static node --node node-0
bench_static all
bench_relabel_apply
bench_run
bench_iperf
pods=$(jq '[.items[] | select(.kind == "Pod")] | length' "$T/full.json")
pols=$(jq '[.items[] | select(.kind == "NetworkPolicy")] | length' "$T/full.json")
echo "netpolicy: $pols policies over $pods pods (np_gen.py: 100 namespaces," \
	"100 nodes; + 2 iperf3 pods and their allow policy)"
echo
printf '| %-44s | %-26s | %-26s |\n' "" \
	"node view (--node node-0)" "every pod local"
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' $(seq 46))" \
	"$(printf -- '-%.0s' $(seq 28))" "$(printf -- '-%.0s' $(seq 28))"
row() { printf '| %-44s | %-26s | %-26s |\n' "$1" "$2" "$3"; }
row "local pods" "${R[node.local]}" "${R[all.local]}"
row "render (read+parse+compile+print), ms" "${R[node.render]}" "${R[all.render]}"
row "apply: read+parse+compile, ms" "${R[node.compile]}" "${R[all.compile]}"
row "apply: program (one batch), first, ms" "${R[node.program]}" "${R[all.program]}"
row "apply: program, replacing the table, ms" "${R[node.program2]}" "${R[all.program2]}"
row "nft chains / sets / rules / elements" "${R[node.objs]}" "${R[all.objs]}"
row "batch bytes" "${R[node.bytes]}" "${R[all.bytes]}"
echo
echo "one pod's labels changed:"
echo "  node view:       ${R[node.update]:-}"
echo "  every pod local: ${R[all.update]}"
echo "run: first list of the whole cluster to rules in force: ${R[node.start]:-?} ms, daemon RSS ${R[node.rss]:-?} KiB"
echo
echo "iperf3 pod to pod (cni-flannel bridge, 5 s, one TCP stream):"
echo "  no policy:                        ${R[iperf.none]} Gbit/s"
echo "  1,000 policies, every pod local:  ${R[iperf.full]} Gbit/s" \
	"(${R[all.objs]} chains/sets/rules/elements)"
