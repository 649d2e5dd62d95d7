#!/bin/bash
# netlink
# netpolicy restarted (SIGTERM and SIGKILL) under load: rules stay in force.
# `vpcnet netpolicy run` enforces, on the 9 real pods of netpolicy_lib.sh, a
# deny-all-ingress policy in namespace x plus an allow from y/a to x/a. A
# churn loop keeps adding, relabeling and deleting pods, policies and
# namespace labels in the fake API server (about 10 changes a second) while
# the daemon is killed with SIGKILL, later stopped with SIGTERM, and each
# time started again. While it is down, real packets check the anchor cells
# (denied still denied, allowed still allowed) and the table must still be
# there with its rules (Felix semantics: an agent that stops leaves the
# rules in force). When the churn stops, the table must converge to the
# churn's final state (the whole matrix is probed). Last, the API server is
# killed and the daemon restarted while it is down: the old rules stay
# untouched until the API is back, then a change made meanwhile applies.
P=${P:-npr$(printf '%04x' $((RANDOM % 65536)))}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cni_lib.sh"
. "$(dirname "$0")/netpolicy_lib.sh"

FAKE=$TOP/test/fake
RPID=
CHURN_PID=
ZP=(a b c)		# the churn's targets and clients in namespace z
STATS=()		# "what value" lines printed at the end
note() { STATS+=("$*"); }

now_ms() { date +%s%3N; }
innode() { ip netns exec "$NODE" "$@"; }
table() { innode nft list table inet vpcnet_netpolicy 2>/dev/null; }
nrules() {
	innode nft -j list table inet vpcnet_netpolicy 2>/dev/null |
		jq '[.nftables[] | select(.rule)] | length'
}

# --- the fake API ---------------------------------------------------------

fake_start() {
	command -v node >/dev/null || { skip "node is not installed"; return; }
	command -v jq >/dev/null || { skip "jq is not installed"; return; }
	FAKE_NETNS=$NODE "$FAKE/start.sh" kube "$T/k" >"$T/k.out" 2>&1 ||
		{ cat "$T/k.out"; return 1; }
	on_exit "'$FAKE/start.sh' stop '$T/k'"
	. "$T/k/kube.env"
}

post() {	# post PATH < JSON
	innode curl -sf -X POST --data-binary @- "$FAKE_KUBE_CONTROL$1" \
		>/dev/null
}
objs() { local IFS=,; echo "[$*]"; }
put() { objs "$@" | post /apply || fail "apply failed"; }

# fake_again FILE: a new fake on the same ports holding FILE's objects.
# The daemon was restarted meanwhile (no resourceVersion to resume from).
fake_again() {
	local cport=${FAKE_KUBE_CONTROL##*:} i
	innode setsid node "$FAKE/kube.js" --certs "$T/k/certs" \
		--listen 127.0.0.1 --port "$FAKE_KUBE_PORT" --control-port "$cport" \
		--env "$T/k/kube.env" --config "$1" \
		</dev/null >>"$T/k/kube.log" 2>&1 &
	echo $! >"$T/k/kube.pid"
	for i in $(seq 100); do
		innode curl -sf "$FAKE_KUBE_CONTROL/healthz" >/dev/null && return 0
		sleep 0.1
	done
	fail "the fake API did not come back"
}

# --- the daemon -------------------------------------------------------------

run_start() {	# ip execs the binary: RPID is the daemon itself
	ip netns exec "$NODE" "$VPCNET" netpolicy run --server "$FAKE_KUBE_URL" \
		--token-file "$FAKE_KUBE_TOKEN_FILE" --ca-file "$FAKE_CA" \
		--node "$NODE_NAME" >>"$T/run.log" 2>&1 &
	RPID=$!
	on_exit "kill -9 $RPID"
}
syncs() { grep -c ' synced reason=' "$T/run.log"; }
alive() {
	kill -0 "$RPID" 2>/dev/null ||
		fail "run exited:"$'\n'"$(tail -n 20 "$T/run.log")"
}

wait_syncs() {	# wait_syncs N [SECONDS]: until the log holds N syncs
	local end=$(($(now_ms) + ${2:-10} * 1000))
	while [ "$(syncs)" -lt "$1" ]; do
		[ "$(now_ms)" -gt $end ] && {
			fail "timed out waiting for sync $1:"$'\n'"$(tail -n 20 "$T/run.log")"
			return 1
		}
		sleep 0.05
	done
}

# stop_run SIG: send SIG, wait for the exit; its status in RC
stop_run() {
	kill -"$1" "$RPID"
	timeout 5 tail --pid="$RPID" -s 0.05 -f /dev/null
	wait "$RPID" 2>/dev/null
	RC=$?
}

# --- probes -----------------------------------------------------------------

probe1() {	# probe1 SRC DST PROTO/PORT TMO: ok or fail
	ip netns exec "$(nsof "$1")" "$PROBE" probe "$4" \
		"${3%/*}:${IP[$2]}:${3#*/}" | awk '{print $2}'
}

# The cells the churn never touches: x is isolated, y/a may reach x/a.
ANCHORS="y/a x/a tcp/80 ok
y/a x/a udp/81 ok
y/b x/a tcp/80 fail
z/a x/b tcp/81 fail
x/b x/a udp/80 fail
out x/c tcp/80 fail"

# anchors: probe the anchor cells at once (an "ok" that failed is probed
# again with 2 s); fails naming every wrong cell
anchors() {
	local n=0 s d pp want got pids=()
	while read -r s d pp want; do
		n=$((n + 1))
		probe1 "$s" "$d" "$pp" 300 >"$T/a.$n" &
		pids+=($!)
	done <<<"$ANCHORS"
	wait "${pids[@]}"
	n=0
	while read -r s d pp want; do
		n=$((n + 1))
		got=$(cat "$T/a.$n")
		[ "$got" = fail ] && [ "$want" = ok ] &&
			got=$(probe1 "$s" "$d" "$pp" 2000)
		[ "$got" = "$want" ] || fail "$s -> $d $pp: $got, want $want"
	done <<<"$ANCHORS"
	[ $TFAIL = 0 ]
}

# down_checks WHAT MS: for MS ms (the churn going on), probe the anchors
# and check the table is there with its rules, again and again
down_checks() {
	local end=$(($(now_ms) + $2)) rounds=0 n
	while [ "$(now_ms)" -lt $end ] || [ $rounds = 0 ]; do
		n=$(nrules)
		[ "${n:-0}" -gt 0 ] && table | grep -q 'jump in_' ||
			fail "$1: table gone or empty ($n rules)" || return 1
		anchors || { echo "$1: round $((rounds + 1))"; return 1; }
		rounds=$((rounds + 1))
	done
	note "$1: $rounds anchor rounds while down, table kept $n rules"
}

# --- the churn ----------------------------------------------------------------

chpol() {	# chpol K I: policy z/churn-K as iteration I writes it
	pol z "churn-$1" '{"podSelector":{"matchLabels":{"pod":"'"${ZP[$1]}"'"}},"ingress":[{"from":[{"podSelector":{"matchLabels":{"role":"client"}}}],"ports":[{"port":'$((80 + $2 % 2))'}]}]}'
}

fakepod() {	# fakepod I: pod f<I> (an address nobody holds), node n1 or n2
	local ns=${NSS[$(($1 % 3))]} ip=10.244.9.$((10 + $1 % 200))
	printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"f%d","namespace":"%s","labels":{"pod":"a","role":"client","i":"%d"}},"spec":{"nodeName":"n%d","containers":[{"name":"c"}]},"status":{"phase":"Running","podIP":"%s","podIPs":[{"ip":"%s"}]}}' \
		"$1" "$ns" "$1" $(($1 % 2 + 1)) "$ip" "$ip"
}
NSS=(x y z)

# Iteration I: z/<ZP[(I+1)%3]> is the one client (the others lose the
# label), z/churn-(I%3) targets z/<ZP[I%3]> on tcp 80+I%2, z/churn-((I+1)%3)
# goes, f<I> comes and f<I-2> goes, z's namespace labels change. After
# iteration I the live policies are churn-(I%3) and churn-((I-1)%3).
churn_step() {
	local i=$1 k
	LBL=()
	LBL[z/${ZP[$(((i + 1) % 3))]}]='"role":"client"'
	NSLBL[z]='"ns":"z","churn":"'$((i % 4))'"'
	for k in a b c; do echo "$(pod_json "z/$k")"; done >"$T/c.items"
	{ cat "$T/c.items"; chpol $((i % 3)) "$i"; fakepod "$i"
	  ns_json z; } | jq -s . | post /apply || echo "apply $i" >>"$T/churn.err"
	[ "$i" -ge 2 ] || return 0
	{ chpol $(((i + 1) % 3)) 0; fakepod $((i - 2)); } | jq -s . |
		post /delete || echo "delete $i" >>"$T/churn.err"
}

churn_loop() {	# until $T/churn.stop exists; the last I in $T/churn.last
	local i=0
	while :; do
		churn_step $i
		[ -e "$T/churn.stop" ] && [ $i -ge 1 ] && break
		i=$((i + 1))
		sleep 0.05
	done
	echo $i >"$T/churn.last"
}

churn_start() {
	rm -f "$T/churn.stop" "$T/churn.last" "$T/churn.err"
	churn_loop &
	CHURN_PID=$!
	on_exit "kill $CHURN_PID"
}

churn_stop() {	# the last iteration in LAST
	touch "$T/churn.stop"
	wait "$CHURN_PID"
	LAST=$(cat "$T/churn.last") || fail "the churn loop died" || return 1
	[ ! -s "$T/churn.err" ] || fail "churn: $(head -n 3 "$T/churn.err")"
}

# churn_expect I: EXPECT after iteration I (the anchors included)
churn_expect() {
	local i=$1 a b c
	a=${ZP[$((i % 3))]} b=${ZP[$(((i + 2) % 3))]} c=${ZP[$(((i + 1) % 3))]}
	EXPECT=('* x/* * fail' 'y/a x/a * ok'
		"* z/$a * fail" "z/$c z/$a tcp/$((80 + i % 2)) ok"
		"* z/$b * fail" "z/$c z/$b tcp/$((80 + (i + 1) % 2)) ok")
}

# converge: probe the whole matrix until it matches (10 s), then again
# after a pause longer than the daemon's batching (200 ms)
converge() {
	local t0 end
	t0=$(now_ms)
	end=$((t0 + 10000))
	until check_matrix >"$T/conv" 2>&1; do
		[ "$(now_ms)" -lt $end ] || { cat "$T/conv"; return 1; }
		sleep 0.2
	done
	note "$1: matrix matched $(($(now_ms) - t0)) ms after the churn stopped"
	sleep 0.3
	check_matrix
}

# --- cases ----------------------------------------------------------------

c_setup() {
	local pod
	setup || return $?
	fake_start || return $?
	for pod in $PODS; do ITEMS+=("$(pod_json "$pod")"); done
	put "$(ns_json x)" "$(ns_json y)" "$(ns_json z)" "${ITEMS[@]}" \
	    "$(pol x deny '{"podSelector":{},"policyTypes":["Ingress"]}')" \
	    "$(pol x allow '{"podSelector":{"matchLabels":{"pod":"a"}},"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"y"}},"podSelector":{"matchLabels":{"pod":"a"}}}]}]}')" ||
		return 1
	ITEMS=()
	run_start
	wait_syncs 1 || return 1
	EXPECT=('* x/* * fail' 'y/a x/a * ok')
	check_matrix || return 1
	RUN_OK=1
}

need() { [ -n "${RUN_OK:-}" ] || skip "setup failed"; }

c_kill9() {
	need || return
	local s0 t0
	churn_start
	wait_syncs $(($(syncs) + 5)) || return 1	# syncing under churn
	alive || return 1
	kill -9 "$RPID"
	wait "$RPID" 2>/dev/null
	t0=$(now_ms)
	down_checks "SIGKILL" 1500 || return 1
	s0=$(syncs)
	run_start
	wait_syncs $((s0 + 1)) || return 1
	note "SIGKILL: down $(($(now_ms) - t0)) ms (to the first sync" \
		"after the restart)"
	wait_syncs $((s0 + 3)) || return 1	# and goes on syncing the churn
	anchors
}

c_sigterm() {
	need || return
	local s0 t0 n
	wait_syncs $(($(syncs) + 3)) || return 1
	stop_run TERM
	t0=$(now_ms)
	expect_eq "exit status" "$RC" 0 || return 1
	grep -q 'signal 15: stopping' "$T/run.log" || fail "no stop message"
	n=$(sed -n 's/.* synced reason=.* rules=\([0-9]*\) .*/\1/p' \
		"$T/run.log" | tail -n 1)
	expect_eq "rules after SIGTERM (as the last sync programmed)" \
		"$(nrules)" "$n" || return 1
	down_checks "SIGTERM" 1500 || return 1
	s0=$(syncs)
	run_start
	wait_syncs $((s0 + 1)) || return 1
	note "SIGTERM: down $(($(now_ms) - t0)) ms (to the first sync" \
		"after the restart)"
	anchors
}

c_converged() {
	need || return
	reset_case
	alive || return 1
	wait_syncs $(($(syncs) + 3)) || return 1
	churn_stop || return 1
	alive || return 1
	note "churn: $((LAST + 1)) iterations, $(syncs) syncs logged"
	churn_expect "$LAST"
	converge "after restarts under churn"
}

c_api_down() {
	need || return
	local before s0 t0
	reset_case
	innode curl -sf "$FAKE_KUBE_CONTROL/state" |
		jq '{objects: [.objects[] | select(.kind != "NetworkPolicy" or
			.metadata.namespace != "x" or .metadata.name != "deny")]}' \
		>"$T/objects.json" || fail "no state" || return 1
	before=$(table)
	kill -9 "$(cat "$T/k/kube.pid")"
	stop_run TERM
	expect_eq "exit status" "$RC" 0 || return 1
	s0=$(syncs)
	run_start
	t0=$(now_ms)
	sleep 1.5		# the lists fail, again and again
	alive || return 1
	grep -q 'signal 15: stopping' "$T/run.log" || fail "no stop message"
	expect_eq "syncs while the API is down" "$(syncs)" "$s0" || return 1
	[ "$(table)" = "$before" ] || fail "table changed while the API was down" ||
		return 1
	down_checks "API down" 500 || return 1
	# back, without x/deny (deleted while it was down)
	fake_again "$T/objects.json" || return 1
	wait_syncs $((s0 + 1)) 15 || return 1
	note "API down: first sync $(($(now_ms) - t0)) ms after the" \
		"restart (API back after ~1.5 s)"
	churn_expect "$LAST"
	EXPECT=("${EXPECT[@]:2}" '* x/a * fail' 'y/a x/a * ok')
	check_matrix
}

testing "setup: 9 pods, fake API, run enforces deny in x + allow y/a" c_setup
testing "SIGKILL under churn: rules in force while down, restart syncs" c_kill9
testing "SIGTERM under churn: exit 0, table kept, rules in force while down" \
	c_sigterm
testing "churn stopped: the restarted daemon converges to its final state" \
	c_converged
testing "restart while the API is down: old rules stay until it is back" \
	c_api_down
[ ${#STATS[@]} -gt 0 ] && printf '# %s\n' "${STATS[@]}"
finish
