#!/bin/bash
# The fake Kubernetes API server (test/fake/kube.js): checked against the
# official @kubernetes/client-node, kubectl when present, and raw HTTP.
. "$(dirname "$0")/lib.sh"
FAKE=$TOP/test/fake

deps=ok
if ! command -v node >/dev/null; then
	deps="node is not installed"
elif [ ! -d "$FAKE/node_modules/@kubernetes/client-node" ]; then
	if ! command -v npm >/dev/null; then
		deps="npm is not installed"
	elif ! (cd "$FAKE" && timeout 300 npm ci --no-audit --no-fund \
		>"$T/npm.log" 2>&1); then
		deps="npm ci in test/fake failed (registry unreachable?): $(
			grep -m 1 'npm error' "$T/npm.log")"
	fi
fi

# Setup at top level (not in `testing`, a subshell) so the trap stops it.
if command -v node >/dev/null &&
	"$FAKE/start.sh" kube "$T/k" >"$T/k.out" 2>&1; then
	on_exit "'$FAKE/start.sh' stop '$T/k'"
fi

started() {
	command -v node >/dev/null || { skip "node is not installed"; return; }
	[ -f "$T/k/kube.env" ] || { cat "$T/k.out"; return 1; }
}

with_kube() {	# with_kube CMD...: CMD with the fake's environment
	[ -f "$T/k/kube.env" ] || { skip "the fake did not start"; return; }
	(set -a; . "$T/k/kube.env"; HOME=$T/home \
		KUBECONFIG=$FAKE_KUBECONFIG "$@")
}

kn() {	# kn CHECK: a check_kube.mjs check
	[ "$deps" = ok ] || { skip "$deps"; return; }
	with_kube node "$FAKE/check_kube.mjs" "$1"
}

chunked() {	# kn CHECK with events split across / merged into chunks
	local mode=$1 rc
	with_kube sh -c "curl -sf -X POST -d '{\"watchChunking\":\"$mode\"}' \
		\$FAKE_KUBE_CONTROL/config" >/dev/null || return 1
	kn watch && kn informer
	rc=$?
	with_kube sh -c "curl -sf -X POST -d '{\"watchChunking\":\"event\"}' \
		\$FAKE_KUBE_CONTROL/config" >/dev/null
	return $rc
}

kcurl() {	# kcurl ARGS...: curl against the API with the CA and token
	with_kube sh -c 'curl -s --cacert "$FAKE_CA" \
		-H "Authorization: Bearer $FAKE_KUBE_TOKEN" "$@"' kcurl "$@"
}

url() { with_kube sh -c 'echo $FAKE_KUBE_URL'; }
ctl() { with_kube sh -c 'curl -sf -X POST --data-binary @- \
	$FAKE_KUBE_CONTROL'"$1" >/dev/null; }

auth() {
	local out
	out=$(with_kube sh -c 'curl -s --cacert "$FAKE_CA" $FAKE_KUBE_URL/api/v1/pods')
	echo "$out" | grep -q '"code":401' || fail "no token: $out" || return 1
	out=$(with_kube sh -c 'curl -s --cacert "$FAKE_CA" -H \
		"Authorization: Bearer nope" $FAKE_KUBE_URL/api/v1/pods')
	echo "$out" | grep -q '"reason":"Unauthorized"' || fail "bad token: $out" ||
		return 1
	out=$(with_kube sh -c 'd=$(dirname "$FAKE_CA"); curl -s --cacert \
		"$FAKE_CA" --cert $d/client.pem --key $d/client.key \
		$FAKE_KUBE_URL/api/v1/namespaces/default')
	echo "$out" | grep -q '"kind":"Namespace"' || fail "client cert: $out" ||
		return 1
	kcurl "$(url)/api/v1/namespaces/default" | grep -q '"kind":"Namespace"'
}

raw_watch() {	# chunked transfer, one JSON object per line, then 410
	local out rv
	rv=$(kcurl "$(url)/api/v1/namespaces?limit=1" | sed -n \
		's/.*"resourceVersion":"\([0-9]*\)".*/\1/p' | head -n 1)
	echo '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"rw"}}' |
		ctl /apply || return 1
	out=$(kcurl -i --raw "$(url)/api/v1/namespaces?watch=1&resourceVersion=$rv&timeoutSeconds=1")
	echo "$out" | grep -qi '^transfer-encoding: chunked' ||
		fail "not chunked: $out" || return 1
	echo "$out" | grep -q '^{"type":"ADDED","object":{.*"name":"rw"' ||
		fail "no ADDED line: $out" || return 1
	echo '{}' | ctl /compact || return 1
	out=$(kcurl "$(url)/api/v1/namespaces?watch=1&resourceVersion=$rv")
	echo "$out" | grep -q '"type":"ERROR".*"code":410' ||
		fail "no 410: $out"
}

bad_requests() {
	local u
	u=$(url)
	kcurl -X POST -d '{"kind":' "$u/api/v1/namespaces/default/pods" |
		grep -q '"code":400' || fail "bad json accepted" || return 1
	kcurl "$u/api/v1/namespaces/default/pods?labelSelector=a%20in%20(" |
		grep -q '"code":400' || fail "bad selector accepted" || return 1
	kcurl "$u/api/v1/namespaces/default/pods?continue=garbage" |
		grep -q '"code":400' || fail "bad continue accepted" || return 1
	kcurl -X PATCH -H 'Content-Type: application/json-patch+json' \
		-d '[{"op":"remove","path":"/nope"}]' \
		"$u/api/v1/namespaces/default" | grep -q '"code":422' ||
		fail "bad json patch accepted" || return 1
	kcurl "$u/api/v1/nosuch" | grep -q '"code":404' || return 1
	kcurl "$u/%%%/..//" >/dev/null
	kcurl "$u/api/v1/namespaces/default" | grep -q '"kind":"Namespace"' ||
		fail "fake broke after bad requests"
}

kubectl_list() {
	command -v kubectl >/dev/null || { skip "kubectl is not installed"; return; }
	local out
	cat <<EOF | ctl /apply || return 1
[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"k1","namespace":"kc"},
  "spec":{"nodeName":"node-1"}},
 {"apiVersion":"v1","kind":"Pod","metadata":{"name":"k2","namespace":"kc"},
  "spec":{"nodeName":"node-2"}},
 {"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",
  "metadata":{"name":"deny","namespace":"kc"},"spec":{"podSelector":{}}}]
EOF
	out=$(with_kube timeout 30 kubectl get pods -n kc --chunk-size=1 \
		-o name) || fail "$out" || return 1
	expect_eq pods "$(echo "$out" | tr '\n' ' ')" "pod/k1 pod/k2 " || return 1
	out=$(with_kube timeout 30 kubectl get pods -n kc \
		--field-selector spec.nodeName=node-2 -o jsonpath='{.items[*].metadata.name}')
	expect_eq "field selector" "$out" k2 || return 1
	out=$(with_kube timeout 30 kubectl get networkpolicies -n kc -o name)
	expect_eq netpol "$out" networkpolicy.networking.k8s.io/deny
}

kubectl_watch() {
	command -v kubectl >/dev/null || { skip "kubectl is not installed"; return; }
	local out
	(sleep 1; echo '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"late","namespace":"kc"}}' |
		ctl /apply) &
	out=$(with_kube timeout 5 kubectl get pods -n kc -w -o name)
	wait
	echo "$out" | grep -qx pod/late || fail "watch saw: $out"
}

kubectl_crud() {
	command -v kubectl >/dev/null || { skip "kubectl is not installed"; return; }
	local out
	echo '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"made","namespace":"kc"},"spec":{"containers":[{"name":"c","image":"pause"}]}}' \
		>"$T/pod.json"
	# no /openapi on the fake: client-side validation off
	with_kube timeout 30 kubectl create --validate=false -f "$T/pod.json" ||
		return 1
	with_kube timeout 30 kubectl label pod -n kc made tier=x || return 1
	out=$(with_kube timeout 30 kubectl get pods -n kc -l tier=x -o name)
	expect_eq label "$out" pod/made || return 1
	with_kube timeout 30 kubectl delete pod -n kc made || return 1
	! with_kube timeout 30 kubectl get pod -n kc made 2>/dev/null ||
		fail "pod still there"
}

testing "fake kube starts (TLS, token)" started
testing "auth: 401 Status without/with bad token; client cert" auth
testing "raw watch: chunked, one event per line, 410 after compaction" \
	raw_watch
testing "bad requests get Status errors, fake survives" bad_requests
testing "client-node: list with limit/continue, selectors, errors" kn list
testing "client-node: watch through changes, bookmark, resume" kn watch
testing "client-node: 410 Expired (event and HTTP), expired continue" kn gone
testing "client-node: informer re-watches, relists after 410" kn informer
testing "client-node: create/replace/patch/delete, conflicts" kn crud
testing "client-node: events split across chunks" chunked split
testing "client-node: several events in one chunk" chunked merge
testing "kubectl: get with chunking, field selector, netpol" kubectl_list
testing "kubectl: get -w sees a new pod" kubectl_watch
testing "kubectl: create, label, delete" kubectl_crud
finish
