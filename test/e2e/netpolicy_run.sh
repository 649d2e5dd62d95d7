#!/bin/bash
# netlink
# `vpcnet netpolicy run` against the fake Kubernetes API server (TLS, bearer
# token) on the cni-flannel datapath of netpolicy_lib.sh (9 pods x/a..z/c,
# real traffic). Objects are created, changed and deleted through the
# fake's control endpoint with the pods' real addresses; after each change
# a source probes one cell in a loop until it flips, which must happen
# within 1 s of the change (the flip time is the start of the first probe
# that sees the new answer, an upper bound), then the whole matrix is
# compared. Then: watch dropped and resumed, compaction (410) and relist,
# the API killed and brought back, malformed objects, SIGTERM, kill -9 and
# restart. The measured windows are printed at the end.
P=${P:-nr$(printf '%04x' $((RANDOM % 65536)))}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cni_lib.sh"
. "$(dirname "$0")/netpolicy_lib.sh"

FAKE=$TOP/test/fake
MPORT=$((20000 + RANDOM % 20000))	# metrics, inside the node netns
FLIP_TMO=100		# ms per probe while waiting for a flip
LIMIT=1000		# ms: a change must be in force within this
RPID=
declare -A CUR_POL	# the policies the API holds: ns/name -> JSON
LAT=()			# "what ms" per measured change

now_ms() { date +%s%3N; }
innode() { ip netns exec "$NODE" "$@"; }

# --- the fake API -------------------------------------------------------

fake_start() {
	command -v node >/dev/null || { skip "node is not installed"; return; }
	FAKE_NETNS=$NODE "$FAKE/start.sh" kube "$T/k" >"$T/k.out" 2>&1 ||
		{ cat "$T/k.out"; return 1; }
	on_exit "'$FAKE/start.sh' stop '$T/k'"
	. "$T/k/kube.env"
}

ctl() { innode curl -sf -X POST --data-binary @- "$FAKE_KUBE_CONTROL$1" \
	>/dev/null || fail "POST $1 failed"; }
objs() { local IFS=,; echo "[$*]"; }
put() { objs "$@" | ctl /apply; }
del() { objs "$@" | ctl /delete; }

polput() {	# polput NS NAME SPEC: create or replace a policy
	CUR_POL[$1/$2]=$(pol "$@")
	put "${CUR_POL[$1/$2]}"
}
poldel() {
	del "${CUR_POL[$1/$2]}"
	unset "CUR_POL[$1/$2]"
}
polclear() {
	local k
	for k in "${!CUR_POL[@]}"; do poldel "${k%/*}" "${k#*/}"; done
}

all_objects() {	# what the API holds, as our model of it
	local items=() n pod
	for n in x y z; do items+=("$(ns_json $n)"); done
	for pod in $PODS; do items+=("$(pod_json "$pod")"); done
	items+=("${CUR_POL[@]}")
	objs "${items[@]}"
}

# --- the daemon ---------------------------------------------------------

run_start() {	# ip execs the binary: RPID is the daemon itself
	ip netns exec "$NODE" "$VPCNET" netpolicy run --server "$FAKE_KUBE_URL" \
		--token-file "$FAKE_KUBE_TOKEN_FILE" --ca-file "$FAKE_CA" \
		--node "$NODE_NAME" --metrics-port "$MPORT" >>"$T/run.log" 2>&1 &
	RPID=$!
	on_exit "kill -9 $RPID"
}
syncs() { grep -c ' synced reason=' "$T/run.log"; }
alive() { kill -0 "$RPID" 2>/dev/null || fail "run exited:"$'\n'"$(tail -n 20 "$T/run.log")"; }

wait_log() {	# wait_log REGEX N [SECONDS]: until N lines of the log match
	local end=$(($(now_ms) + ${3:-10} * 1000))
	while [ "$(grep -cE "$1" "$T/run.log")" -lt "$2" ]; do
		[ "$(now_ms)" -gt $end ] && {
			fail "timed out waiting for $2 x '$1':"$'\n'"$(tail -n 20 "$T/run.log")"
			return 1
		}
		sleep 0.05
	done
}

metric() {	# metric NAME: its value from /metrics
	innode curl -sf "http://127.0.0.1:$MPORT/metrics" |
		awk -v m="vpcnet_netpolicy_$1" '$1 == m { print $2 }'
}

table() { innode nft list table inet vpcnet_netpolicy 2>/dev/null; }

# --- flips ----------------------------------------------------------------

probe1() {	# probe1 SRC DST PROTO/PORT TMO: ok or fail
	ip netns exec "$(nsof "$1")" "$PROBE" probe "$4" \
		"${3%/*}:${IP[$2]}:${3#*/}" | awk '{print $2}'
}

# flip WHAT T0 SRC DST PROTO/PORT WANT: probe until the answer is WANT;
# the start of that probe minus T0 is recorded; fails past LIMIT.
flip() {
	local what=$1 t0=$2 t got ms
	while :; do
		t=$(now_ms)
		got=$(probe1 "$3" "$4" "$5" $FLIP_TMO)
		[ "$got" = "$6" ] && break
		[ $((t - t0)) -gt $((LIMIT + 4000)) ] && {
			fail "$what: $3 -> $4 $5 still $got after $((t - t0)) ms"
			return 1
		}
	done
	ms=$((t - t0))
	LAT+=("$what $ms")
	echo "$what: in force after <= $ms ms"
	[ $ms -le $LIMIT ] || fail "$what: $ms ms > $LIMIT ms"
}

# --- cases ----------------------------------------------------------------

c_setup() {
	setup || return 1
	fake_start || return $?
	put "$(ns_json x)" "$(ns_json y)" "$(ns_json z)" || return 1
	local pod
	for pod in $PODS; do put "$(pod_json "$pod")" || return 1; done
	run_start
	wait_log ' synced reason=' 1 || return 1
	innode curl -sf "http://127.0.0.1:$MPORT/healthz" | grep -qx ok ||
		fail "healthz not ok"
	RUN_OK=1
}

need() { [ -n "${RUN_OK:-}" ] || skip "setup failed"; }

c_initial() {
	need || return
	reset_case
	check_matrix && table | grep -q 'chain forward' ||
		fail "no table after the first sync"
}

c_created() {
	need || return
	reset_case
	local t0
	t0=$(now_ms)
	polput x deny '{"podSelector":{},"policyTypes":["Ingress"]}'
	flip "policy created" "$t0" y/a x/a tcp/80 fail || return 1
	EXPECT=('* x/* * fail')
	check_matrix
}

c_changed() {
	need || return
	reset_case
	local t0
	t0=$(now_ms)
	polput x deny '{"podSelector":{},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"y"}}}]}]}'
	flip "policy changed" "$t0" y/a x/a tcp/80 ok || return 1
	EXPECT=('* x/* * fail' 'y/* x/* * ok')
	check_matrix
}

c_deleted() {
	need || return
	reset_case
	local t0
	t0=$(now_ms)
	poldel x deny
	flip "policy deleted" "$t0" z/a x/a tcp/80 ok || return 1
	check_matrix
}

c_pod_relabel() {
	need || return
	reset_case
	local t0
	polput x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"role":"client"}}}]}]}'
	flip "(policy for the relabel)" "$(now_ms)" x/b x/a tcp/80 fail ||
		return 1
	t0=$(now_ms)
	LBL[x/b]='"role":"client"'
	put "$(pod_json x/b)"
	flip "pod relabeled" "$t0" x/b x/a tcp/80 ok || return 1
	EXPECT=('* x/a * fail' 'x/b x/a * ok')
	check_matrix
}

c_ns_relabel() {
	need || return
	reset_case
	local t0
	polput x p '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"team":"blue"}}}]}]}'
	flip "(policy for the relabel)" "$(now_ms)" z/a x/a tcp/80 fail ||
		return 1
	t0=$(now_ms)
	NSLBL[z]='"ns":"z","team":"blue"'
	put "$(ns_json z)"
	flip "namespace relabeled" "$t0" z/a x/a tcp/80 ok || return 1
	EXPECT=('* x/a * fail' 'z/* x/a * ok')
	check_matrix
}

c_new_pod() {	# z/c unknown to the API, then created: isolated at once
	need || return
	reset_case
	local t0
	polclear
	polput z deny '{"podSelector":{},"policyTypes":["Ingress"]}'
	del "$(pod_json z/c)"
	flip "(pod deleted)" "$(now_ms)" y/a z/c tcp/80 ok || return 1
	t0=$(now_ms)
	put "$(pod_json z/c)"
	flip "new pod isolated" "$t0" y/a z/c tcp/80 fail || return 1
	EXPECT=('* z/* * fail')
	check_matrix
}

# SIGSTOP the daemon, change the API while its watches are dropped, go on.
while_away() {	# while_away FN...: FN runs with the daemon stopped
	kill -STOP "$RPID"
	echo '{}' | ctl /drop-watches
	"$@"
	kill -CONT "$RPID"
}

change_pols() {	# deny in y instead of z, then a second one in x
	poldel z deny
	polput y deny '{"podSelector":{},"policyTypes":["Ingress"]}'
}

c_watch_resumed() {
	need || return
	reset_case
	local relists t0
	relists=$(grep -c 'listing again' "$T/run.log")
	t0=$(now_ms)
	while_away change_pols
	flip "change while the watch was down" "$t0" x/a y/a tcp/80 fail ||
		return 1
	EXPECT=('* y/* * fail')
	check_matrix || return 1
	expect_eq "relists" "$(grep -c 'listing again' "$T/run.log")" "$relists"
}

compact_change() {
	poldel y deny
	polput x deny '{"podSelector":{},"policyTypes":["Ingress"]}'
	echo '{}' | ctl /compact
}

c_relist_410() {
	need || return
	reset_case
	local relists t0
	relists=$(grep -c 'listing again (410' "$T/run.log")
	t0=$(now_ms)
	while_away compact_change
	flip "change across compaction (410, relist)" "$t0" y/a x/a tcp/80 fail ||
		return 1
	EXPECT=('* x/* * fail')
	check_matrix || return 1
	wait_log 'listing again \(410' $((relists + 1)) || return 1
	[ "$(metric 'relists_total{resource="networkpolicies"}')" -ge 1 ] ||
		fail "relists_total not counted"
}

fake_rv() { innode curl -sf "$FAKE_KUBE_CONTROL/state" | jq .resourceVersion; }

# fake_restart RV: a new fake on the same ports with the objects of our
# model of the API, its resourceVersion moved past RV (etcd keeps its
# revision across an API server restart; resourceVersions never go back).
fake_restart() {
	local cport=${FAKE_KUBE_CONTROL##*:} i n
	all_objects | jq '{objects: .}' >"$T/k/objects.json" || return 1
	innode setsid node "$FAKE/kube.js" --certs "$T/k/certs" \
		--listen 127.0.0.1 --port "$FAKE_KUBE_PORT" --control-port "$cport" \
		--env "$T/k/kube.env" --config "$T/k/objects.json" \
		</dev/null >>"$T/k/kube.log" 2>&1 &
	echo $! >"$T/k/kube.pid"
	for i in $(seq 100); do
		innode curl -sf "$FAKE_KUBE_CONTROL/healthz" >/dev/null && break
		sleep 0.1
	done
	n=$(($1 + 1 - $(fake_rv))) || fail "fake did not come back" || return 1
	[ $n -gt 0 ] || return 0
	seq $n | jq -s 'map({apiVersion: "v1", kind: "ConfigMap", metadata:
		{name: "pad-\(.)", namespace: "default"}})' | ctl /apply
}

c_api_down() {
	need || return
	reset_case
	local t0 errs rv
	rv=$(fake_rv)
	kill -9 "$(cat "$T/k/kube.pid")"
	errs=$(metric 'api_errors_total{resource="pods"}')
	sleep 2			# several failed retries
	alive || return 1
	[ "$(metric 'api_errors_total{resource="pods"}')" -gt "$errs" ] ||
		fail "no API errors seen"
	[ "$(metric 'api_up{resource="pods"}')" = 0 ] || fail "api_up not 0"
	EXPECT=('* x/* * fail')
	check_matrix || return 1
	fake_restart "$rv" || return 1
	t0=$(now_ms)
	polput x deny '{"podSelector":{},"ingress":[{"from":[{"podSelector":{"matchLabels":{"pod":"c"}}}]}]}'
	LIMIT=15000 flip "(change after the API came back, backoff)" "$t0" \
		x/c x/a tcp/80 ok || return 1
	EXPECT=('* x/* * fail' 'x/c x/* * ok')
	check_matrix
}

c_malformed() {
	need || return
	reset_case
	local n0 s0
	n0=$(grep -c 'skipped ' "$T/run.log")
	s0=$(syncs)
	# an invalid new policy, the good one turned invalid, a pod with a
	# bad address, a policy whose spec is a string
	put "$(pol x bad '{"podSelector":{},"ingress":[{"ports":[{"port":80,"endPort":10}]}]}')" \
	    "$(pol x deny '{"podSelector":{},"policyTypes":["Bogus"]}')" \
	    "$(pol y str '"nonsense"')" \
	    '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"junk","namespace":"y"},"spec":{"nodeName":"n1","containers":[{"name":"c","ports":[{"containerPort":"eighty"}]}]},"status":{"podIP":"not-an-ip"}}' ||
		return 1
	wait_log 'skipped ' $((n0 + 4)) || return 1
	grep -q 'skipped NetworkPolicy x/deny: .*last valid version stays' \
		"$T/run.log" || fail "x/deny not named"
	grep -q 'skipped NetworkPolicy x/bad: ' "$T/run.log" &&
		grep -q 'skipped NetworkPolicy y/str: ' "$T/run.log" &&
		grep -q 'skipped Pod y/junk: ' "$T/run.log" ||
		fail "not every bad object named"
	alive || return 1
	expect_eq "syncs after bad objects" "$(syncs)" "$s0"
	EXPECT=('* x/* * fail' 'x/c x/* * ok')
	check_matrix || return 1
	# a relist sees them again: still no harm
	while_away true
	echo '{}' | ctl /compact
	del "$(pol x bad '{}')" "$(pol y str '{}')" \
	    '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"junk","namespace":"y"}}'
	polput x deny '{"podSelector":{},"policyTypes":["Ingress"]}'
	flip "(valid again)" "$(now_ms)" x/c x/a tcp/80 fail || return 1
	alive
}

c_metrics() {
	need || return
	local m
	m=$(innode curl -sf "http://127.0.0.1:$MPORT/metrics") ||
		fail "no /metrics" || return 1
	for k in syncs_total sync_errors_total last_sync_duration_seconds \
		event_to_enforce_seconds 'objects{resource="pods"}' \
		'nft_objects{type="rules"}'; do
		echo "$m" | grep -qF "vpcnet_netpolicy_$k " || fail "no $k"
	done
	[ "$(metric 'objects{resource="pods"}')" = 9 ] || fail "pods != 9"
	[ "$(metric syncs_total)" -ge 5 ] || fail "syncs_total"
}

c_sigterm() {
	need || return
	reset_case
	local rc
	kill -TERM "$RPID"
	timeout 5 tail --pid="$RPID" -s 0.05 -f /dev/null
	wait "$RPID"
	rc=$?
	expect_eq "exit status" "$rc" 0 || return 1
	grep -q 'signal 15: stopping' "$T/run.log" || fail "no stop message"
	table | grep -q 'jump in_' || fail "rules gone after SIGTERM" || return 1
	EXPECT=('* x/* * fail')
	check_matrix
}

c_kill9_restart() {
	need || return
	reset_case
	local s0 t0
	run_start
	wait_log ' synced reason=' $(($(syncs) + 1)) || return 1
	kill -9 "$RPID"
	wait "$RPID" 2>/dev/null
	table | grep -q 'jump in_' || fail "rules gone after kill -9" || return 1
	# the API moves on while nothing runs
	poldel x deny
	polput y deny '{"podSelector":{},"policyTypes":["Ingress"]}'
	EXPECT=('* x/* * fail')	# the old rules are still in force
	check_matrix || return 1
	s0=$(syncs)
	t0=$(now_ms)
	run_start
	wait_log ' synced reason=' $((s0 + 1)) || return 1
	LAT+=("restart to first sync $(($(now_ms) - t0))")
	EXPECT=('* y/* * fail')
	check_matrix
}

c_flush() {
	need || return
	reset_case
	kill -TERM "$RPID"
	wait "$RPID"
	np flush || fail "flush failed"
	table && fail "table still there"
	check_matrix
}

testing "setup: 9 pods, fake API (TLS, token) in the node, run synced" c_setup
testing "first sync: no policy, everything reachable" c_initial
testing "policy created: in force within 1 s" c_created
testing "policy changed: in force within 1 s" c_changed
testing "policy deleted: in force within 1 s" c_deleted
testing "pod relabeled into a peer selector" c_pod_relabel
testing "namespace relabeled into a namespaceSelector" c_ns_relabel
testing "a new pod in an isolated namespace is isolated" c_new_pod
testing "watch dropped: resumed, the change made meanwhile applied" \
	c_watch_resumed
testing "compaction: 410, relist, changes and deletions applied" \
	c_relist_410
testing "API killed: rules in force, same decisions; back: changes apply" \
	c_api_down
testing "malformed objects: named, skipped, nothing flushed" c_malformed
testing "metrics: counters and gauges" c_metrics
testing "SIGTERM: exit 0, rules stay in force" c_sigterm
testing "kill -9, API changed meanwhile, restart converges" c_kill9_restart
testing "flush after run: table gone, everything reachable" c_flush
if [ ${#LAT[@]} -gt 0 ]; then
	echo "# event to enforcement (ms, probe-start upper bound):"
	printf '#   %s\n' "${LAT[@]}"
	echo "# daemon-measured (first change seen -> in force), ms:" \
		"$(sed -n 's/.* synced reason=change .*latency_ms=\([0-9]*\).*/\1/p' \
			"$T/run.log" | sort -n | tr '\n' ' ')"
fi
finish
