#!/bin/bash
# lib/kube against the fake Kubernetes API server (test/fake/kube.js), over
# TLS with the test CA and a bearer token: paging, a watch through changes,
# dropped streams resumed without losing an event, 410 -> relist,
# bookmarks, token rotation, and the errors an operator must understand.
# The C client is driven through build/unit/kube_watch_test's CLI mode.
. "$(dirname "$0")/lib.sh"
FAKE=$TOP/test/fake
KW=${KUBE_WATCH_TEST:-$TOP/build/unit/kube_watch_test}
[ -x "$KW" ] || KW=$TOP/build/asan/unit/kube_watch_test

# Setup at top level so the EXIT trap stops the fake.
if command -v node >/dev/null &&
	"$FAKE/start.sh" kube "$T/k" >"$T/k.out" 2>&1; then
	on_exit "'$FAKE/start.sh' stop '$T/k'"
	. "$T/k/kube.env"
fi
TOK=$T/token		# the client's token file (rotated by the tests)
[ -n "${FAKE_KUBE_TOKEN:-}" ] && echo "$FAKE_KUBE_TOKEN" >"$TOK"

k() {	# k TEST...: run TEST when the fake and the client are there
	ready >/dev/null || { skip "fake or client missing"; return; }
	"$@"
}

ready() {
	command -v node >/dev/null || { skip "node is not installed"; return; }
	[ -x "$KW" ] || { skip "kube_watch_test is not built (make units)"; return; }
	[ -n "${FAKE_KUBE_URL:-}" ] || { cat "$T/k.out"; return 1; }
}

# POST stdin (JSON) to a control route
ctl() { curl -sf -X POST --data-binary @- "$FAKE_KUBE_CONTROL$1" >/dev/null; }
ctl0() { echo '{}' | ctl "$1"; }
setcfg() { echo "$1" | ctl /config; }

pod() {	# pod NS NAME [LABELS-JSON]: create or replace
	local labels=${3:-'{}'}
	echo "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"$2\",
	\"namespace\":\"$1\",\"labels\":$labels},\"spec\":{\"nodeName\":\"n1\"}}" |
		ctl /apply
}
delpod() {
	echo "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",
	\"metadata\":{\"name\":\"$2\",\"namespace\":\"$1\"}}" | ctl /delete
}
counter() {	# counter NAME: a number from the fake's /counters
	curl -sf "$FAKE_KUBE_CONTROL/counters" |
		sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
}
fake_rv() {
	curl -sf "$FAKE_KUBE_CONTROL/state" |
		sed -n 's/^{"resourceVersion":\([0-9]*\),.*/\1/p'
}

kw() {	# kw ARGS...: the client with the CA and our token file
	"$KW" --server "$FAKE_KUBE_URL" --ca "$FAKE_CA" --token-file "$TOK" "$@"
}

WPID=
watch_start() {	# watch_start OUT ARGS...: a reflector in the background
	local out=$1
	shift
	[ -n "$WPID" ] && watch_stop	# left by a failed test
	# the binary itself (not a subshell) so that STOP and TERM reach it
	"$KW" --server "$FAKE_KUBE_URL" --ca "$FAKE_CA" --token-file "$TOK" \
		--backoff 50 --backoff-max 400 "$@" >"$out" 2>&1 &
	WPID=$!
	on_exit "kill -CONT $WPID; kill $WPID"
	wait_for "$out" '^WATCH '
}
watch_stop() {
	kill -CONT "$WPID" 2>/dev/null
	kill -TERM "$WPID" 2>/dev/null
	wait "$WPID"
	WPID=
}

wait_for() {	# wait_for FILE REGEX [N]: until N lines match (10 s)
	local i
	for i in $(seq 200); do
		[ "$(grep -cE "$2" "$1" 2>/dev/null)" -ge "${3:-1}" ] && return 0
		sleep 0.05
	done
	fail "timed out waiting for '$2' in $1:"$'\n'"$(cat "$1")"
}

changes() {	# the object events of a watch output: "TYPE ns/name" per line
	grep -E '^(ADDED|MODIFIED|DELETED) ' "$1" | cut -d' ' -f1,2 | tr '\n' ' '
}

rvs_rise() {	# the resourceVersions of the object events only go up
	grep -E '^(ADDED|MODIFIED|DELETED|BOOKMARK) ' "$1" |
		awk '{ rv = $NF + 0; if (rv <= last) exit 1; last = rv }'
}

list_paging() {
	local out items
	for i in 1 2 3 4 5 6 7; do
		pod pg "p$i" "{\"n\":\"$((i % 2))\"}" || return 1
	done
	local before
	before=$(counter lists)
	out=$(kw --list pods --namespace pg --limit 2) || fail "$out" || return 1
	items=$(echo "$out" | grep '^ITEM' | cut -d' ' -f2 | tr '\n' ' ')
	expect_eq items "$items" "pg/p1 pg/p2 pg/p3 pg/p4 pg/p5 pg/p6 pg/p7 " ||
		return 1
	echo "$out" | grep -qE '^LIST rv=[0-9]+ pages=4 items=7$' ||
		fail "summary: $out" || return 1
	expect_eq "list requests" "$(($(counter lists) - before))" 4 || return 1
	out=$(kw --list pods --namespace pg --limit 2 --selector n=1)
	expect_eq "label selector" "$(echo "$out" | grep -c '^ITEM')" 4 ||
		return 1
	echo "$out" | grep -q 'pages=2 items=4' || fail "$out" || return 1
	out=$(kw --list pods --field-selector metadata.name=p3,metadata.namespace=pg)
	expect_eq "field selector" "$(echo "$out" | grep '^ITEM' |
		cut -d' ' -f1,2)" "ITEM pg/p3"
}

watch_changes() {
	local w=$T/w1.out
	pod wc old || return 1
	watch_start "$w" --watch pods --namespace wc || return 1
	grep -q '^LISTED wc/old ' "$w" || fail "initial list: $(cat "$w")" ||
		return 1
	pod wc a && pod wc a '{"v":"2"}' && delpod wc a && delpod wc old ||
		return 1
	wait_for "$w" '^DELETED wc/old' || return 1
	watch_stop
	expect_eq events "$(changes "$w")" \
		"ADDED wc/a MODIFIED wc/a DELETED wc/a DELETED wc/old " || return 1
	rvs_rise "$w" || fail "resourceVersions not rising: $(cat "$w")" ||
		return 1
	! grep -q '^RETRY' "$w" || fail "$(cat "$w")"
}

watch_resume() {	# drop the stream while the client is frozen
	local w=$T/w2.out
	watch_start "$w" --watch pods --namespace wr || return 1
	pod wr a1 && wait_for "$w" '^ADDED wr/a1' || return 1
	# a2 may reach the frozen client's socket before the reset; the rest
	# happens while it has no stream: it must get them from history
	kill -STOP "$WPID"
	pod wr a2 || return 1
	echo '{"mode":"reset"}' | ctl /drop-watches || return 1
	pod wr a3 && pod wr a2 '{"x":"y"}' && delpod wr a3 && pod wr a4 ||
		return 1
	kill -CONT "$WPID"
	pod wr a5 && wait_for "$w" '^ADDED wr/a5' || return 1
	# a clean end of the stream (timeoutSeconds): re-watch, no error
	echo '{"mode":"close"}' | ctl /drop-watches || return 1
	wait_for "$w" '^WATCH ' 3 && pod wr a6 && wait_for "$w" '^ADDED wr/a6' ||
		return 1
	watch_stop
	expect_eq events "$(changes "$w")" "ADDED wr/a1 ADDED wr/a2 \
ADDED wr/a3 MODIFIED wr/a2 DELETED wr/a3 ADDED wr/a4 ADDED wr/a5 \
ADDED wr/a6 " || return 1
	rvs_rise "$w" || fail "resourceVersions: $(cat "$w")" || return 1
	expect_eq "retries" "$(grep -c '^RETRY' "$w")" 1 || return 1
	expect_eq "lists" "$(grep -c '^RESET' "$w")" 1
}

gone_relist() {	# GONE_AS: event (ERROR in the stream) or http (410 reply)
	local w=$T/w3-$1.out ns=g$1
	setcfg "{\"watchGoneAs\":\"$1\"}" || return 1
	pod "$ns" g1 && pod "$ns" g2 || return 1
	watch_start "$w" --watch pods --namespace "$ns" || return 1
	# frozen client, stream dropped, changes it did not see, compaction:
	# its resourceVersion is now too old
	kill -STOP "$WPID"
	echo '{"mode":"reset"}' | ctl /drop-watches || return 1
	delpod "$ns" g1 && pod "$ns" g3 && ctl0 /compact || return 1
	kill -CONT "$WPID"
	wait_for "$w" '^WATCH ' 2 || return 1
	pod "$ns" g4 && wait_for "$w" "^ADDED $ns/g4" || return 1
	watch_stop
	setcfg '{"watchGoneAs":"event"}'
	grep -q "^RESET 410 .*too old resource version" "$w" ||
		fail "no relist: $(cat "$w")" || return 1
	# after the relist, exactly the objects that exist
	expect_eq relisted "$(sed -n '/^RESET 410/,/^SYNCED/p' "$w" |
		grep '^LISTED' | cut -d' ' -f2 | tr '\n' ' ')" \
		"$ns/g2 $ns/g3 " || return 1
	expect_eq "watch events" "$(changes "$w")" "ADDED $ns/g4 "
}

bookmark() {	# a bookmark moves the resourceVersion the next watch uses
	local w=$T/w4.out rv
	watch_start "$w" --watch pods --namespace bm --selector app=bm ||
		return 1
	pod bm b1 '{"app":"bm"}' && wait_for "$w" '^ADDED bm/b1' || return 1
	pod bm other1 && pod bm other2 || return 1
	rv=$(fake_rv)
	ctl0 /bookmark && wait_for "$w" "^BOOKMARK $rv\$" || return 1
	echo '{"mode":"close"}' | ctl /drop-watches || return 1
	wait_for "$w" "^WATCH $rv\$" || return 1
	pod bm b2 '{"app":"bm"}' && wait_for "$w" '^ADDED bm/b2' || return 1
	watch_stop
	expect_eq events "$(changes "$w")" "ADDED bm/b1 ADDED bm/b2 "
}

token_rotation() {
	local w=$T/w5.out u0 tok
	watch_start "$w" --watch pods --namespace tr || return 1
	pod tr t0 && wait_for "$w" '^ADDED tr/t0' || return 1
	# the API server accepts only the new token, the file has it too
	setcfg '{"tokens":["rotated-1"]}' || return 1
	echo rotated-1 >"$TOK.new" && mv "$TOK.new" "$TOK"
	u0=$(counter unauthorized)
	echo '{"mode":"close"}' | ctl /drop-watches || return 1
	wait_for "$w" '^WATCH ' 2 && pod tr t1 &&
		wait_for "$w" '^ADDED tr/t1' || return 1
	watch_stop
	expect_eq "401s (one, then a re-read and a retry)" \
		"$(($(counter unauthorized) - u0))" 1 || return 1
	! grep -q '^RETRY' "$w" || fail "$(cat "$w")" || return 1
	# re-read every second: the rotation is seen without a 401
	watch_start "$w" --watch pods --namespace tr --token-reload 1 ||
		return 1
	setcfg '{"tokens":["rotated-2"]}' && echo rotated-2 >"$TOK.new" &&
		mv "$TOK.new" "$TOK" || return 1
	sleep 1.2
	u0=$(counter unauthorized)
	echo '{"mode":"close"}' | ctl /drop-watches || return 1
	wait_for "$w" '^WATCH ' 2 && pod tr t2 &&
		wait_for "$w" '^ADDED tr/t2' || return 1
	watch_stop
	expect_eq "401s" "$(($(counter unauthorized) - u0))" 0 || return 1
	tok=$FAKE_KUBE_TOKEN
	setcfg "{\"tokens\":[\"$tok\"]}" && echo "$tok" >"$TOK"
}

wrong_ca() {
	local out want
	if out=$("$KW" --server "$FAKE_KUBE_URL" --token-file "$TOK" \
		--ca "$T/k/certs/other-ca.pem" --list pods 2>&1); then
		fail "accepted: $out"
		return 1
	fi
	want="not signed by a trusted CA (CA file $T/k/certs/other-ca.pem)"
	echo "$out" | grep -qF "$want" || fail "message: $out" || return 1
	if out=$(kw --tls-name wrong.example --list pods 2>&1); then
		fail "wrong name accepted: $out"
		return 1
	fi
	echo "$out" | grep -qi "wrong.example" || fail "message: $out"
}

bad_token() {
	local out want w=$T/w6.out
	echo nope >"$T/bad.token"
	if out=$("$KW" --server "$FAKE_KUBE_URL" --ca "$FAKE_CA" \
		--token-file "$T/bad.token" --list pods 2>&1); then
		fail "accepted: $out"
		return 1
	fi
	want="kube_watch_test: GET $FAKE_KUBE_URL/api/v1/pods: 401"
	want="$want Unauthorized: Unauthorized (bearer token from $T/bad.token)"
	expect_eq message "$out" "$want" || return 1
	! echo "$out" | grep -q nope || fail "token in message: $out" || return 1
	# a reflector keeps retrying, saying why
	"$KW" --server "$FAKE_KUBE_URL" --ca "$FAKE_CA" --backoff 20 \
		--token-file "$T/bad.token" --watch pods >"$w" 2>&1 &
	WPID=$!
	on_exit "kill $WPID"
	wait_for "$w" '^RETRY 401 [0-9]+ .*401 Unauthorized' 2 || return 1
	watch_stop
	grep -q '^STOPPED$' "$w" || fail "$(cat "$w")"
}

api_errors() {
	local out
	if out=$(kw --get /api/v1/namespaces/default/pods/nosuch 2>&1); then
		fail "$out"
		return 1
	fi
	echo "$out" | grep -q '404 NotFound: pods "nosuch" not found' ||
		fail "$out" || return 1
	if out=$(kw --list pods --field-selector spec.bogus=1 2>&1); then
		fail "$out"
		return 1
	fi
	echo "$out" | grep -q '400 BadRequest: .*field label not supported: ' ||
		fail "$out"
}

in_cluster() {	# service-account files and KUBERNETES_SERVICE_*
	local sa=$T/sa out
	mkdir -p "$sa" && cp "$TOK" "$sa/token" && cp "$FAKE_CA" "$sa/ca.crt" &&
		echo kube-system >"$sa/namespace" || return 1
	out=$(KUBERNETES_SERVICE_HOST=127.0.0.1 \
		KUBERNETES_SERVICE_PORT=$FAKE_KUBE_PORT \
		"$KW" --in-cluster "$sa" --list namespaces 2>&1) ||
		fail "$out" || return 1
	echo "$out" | grep -q '^ITEM kube-system ' || fail "$out"
}

client_cert() {
	local out c=$T/k/certs
	out=$("$KW" --server "$FAKE_KUBE_URL" --ca "$FAKE_CA" \
		--cert "$c/client.pem" --key "$c/client.key" --get \
		/api/v1/namespaces/default 2>&1) || fail "$out" || return 1
	echo "$out" | grep -q '"kind":"Namespace"' || fail "$out"
}

split_chunks() {	# events cut across chunks and merged into one
	local mode w
	for mode in split merge; do
		w=$T/w7-$mode.out
		setcfg "{\"watchChunking\":\"$mode\"}" || return 1
		watch_start "$w" --watch pods --namespace "c$mode" || return 1
		for i in 1 2 3 4 5 6; do pod "c$mode" "x$i" || return 1; done
		delpod "c$mode" x1 && wait_for "$w" "^DELETED c$mode/x1" ||
			return 1
		watch_stop
		setcfg '{"watchChunking":"event"}'
		expect_eq "$mode" "$(changes "$w")" "ADDED c$mode/x1 \
ADDED c$mode/x2 ADDED c$mode/x3 ADDED c$mode/x4 ADDED c$mode/x5 \
ADDED c$mode/x6 DELETED c$mode/x1 " || return 1
	done
}

testing "fake kube and the client are ready" ready
testing "list: limit=2 over 7 pods in 4 pages; label/field selectors" \
	k list_paging
testing "watch: create, update, delete in order, rising RVs" k watch_changes
testing "watch: dropped stream resumes without losing an event" \
	k watch_resume
testing "watch: compaction -> 410 ERROR event -> relist" k gone_relist event
testing "watch: compaction -> HTTP 410 -> relist" k gone_relist http
testing "watch: bookmark advances the resourceVersion" k bookmark
testing "token rotation: 401 -> re-read -> retry; periodic re-read" \
	k token_rotation
testing "events split across chunks / merged in one chunk" k split_chunks
testing "wrong CA / wrong name fail naming the CA / the name" k wrong_ca
testing "bad token: 401 reported clearly, reflector retries" k bad_token
testing "API errors carry the Status message" k api_errors
testing "in-cluster config: service-account dir + env" k in_cluster
testing "client certificate instead of a token" k client_cert
finish
