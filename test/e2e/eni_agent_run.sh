#!/bin/bash
# netlink
# eni-agent run: the node daemon against the fake cloud and the fake
# Kubernetes API.  Topology: a vpc netns and a node netns whose ENIs the
# fake plugs in as veths (test/fake/aliyun.js); the agent runs here and
# manages the links in the node netns (link_netns).  The instance type
# holds 5 ENIs x 15 IPs: 60 pod IPs on the 4 secondary ENIs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fake_lib.sh"
CLOUD=$T/cloud
SOCK=$T/agent.sock
STATE=$T/state
MIN=2 MAX=5

# js EXPR: evaluate EXPR on the JSON read from stdin (o = the object)
js() {
	node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>{
		const o=JSON.parse(s);const v=eval(process.argv[1]);
		console.log(typeof v==="object"?JSON.stringify(v):v)})' "$1"
}

if command -v node >/dev/null && mkns vpc && mkns n1; then
	cloud_json "$P-n1" "$P-vpc" '.timing.attachMs = 100 |
		.timing.detachMs = 100 | .metadata.stsTtlSeconds = 8' \
		>"$T/cloud.json"
	cat >"$T/kube.json" <<EOF
{"objects": [{"apiVersion": "v1", "kind": "Node",
  "metadata": {"name": "node1"}, "spec": {"podCIDR": "10.244.1.0/24"}}]}
EOF
	fakes_up "$CLOUD" "$T/cloud.json" "$T/kube.json"
fi
# the agent takes the instance RAM role from the metadata service
unset ALIBABA_CLOUD_ACCESS_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET

# config [EXTRA JSON MEMBERS]: the agent's config file
config() {
	cat >"$T/agent.json" <<EOF
{"openapi_endpoint": "$FAKE_ALIYUN_URL", "ca_file": "$FAKE_CA",
 "metadata_endpoint": "$FAKE_METADATA_URL_I_NODE1",
 "kube_server": "$FAKE_KUBE_URL", "kube_token_file": "$FAKE_KUBE_TOKEN_FILE",
 "kube_ca_file": "$FAKE_CA", "node_name": "node1", "socket": "$SOCK",
 "state_dir": "$STATE", "link_netns": "/run/netns/$P-n1",
 "min_pool_size": $MIN, "max_pool_size": $MAX, "metrics_port": 0,
 "service_cidr": "10.96.0.0/12", "gc_grace": "2s", "gc_interval": "200ms",
 "ip_pool_sync_period": "3s", "alloc_timeout": "20s",
 "log_level": "debug"${1:+, $1}}
EOF
}

AGENT_PID=
agent_start() {	# agent_start [EXTRA JSON MEMBERS]
	local n=0
	config "${1:-}"
	setsid "$VPCNET" eni-agent run --config "$T/agent.json" \
		>>"$T/agent.log" 2>&1 </dev/null &
	AGENT_PID=$!
	echo "$AGENT_PID" >"$T/agent.pid"
	while ! "$VPCNET" eni-agent call -s "$SOCK" -T 2 info >/dev/null 2>&1
	do
		n=$((n + 1))
		[ $n -lt 200 ] && kill -0 "$AGENT_PID" 2>/dev/null ||
			{ tail -n 20 "$T/agent.log"; fail "agent did not start"; \
			  return 1; }
		sleep 0.05
	done
}
on_exit '[ -f "$T/agent.pid" ] && kill -9 $(cat "$T/agent.pid")'

agent_stop() {
	[ -n "$AGENT_PID" ] || return 0
	kill "$AGENT_PID" 2>/dev/null
	timeout 10 tail --pid="$AGENT_PID" -s 0.05 -f /dev/null
	AGENT_PID=
	rm -f "$T/agent.pid"
}

call() { "$VPCNET" eni-agent call -s "$SOCK" "$@"; }
info() { call info | js "$1"; }

# wait_for WHAT CMD...: poll CMD for 20 s
wait_for() {
	local what=$1 n=0
	shift
	until "$@" >/dev/null 2>&1; do
		n=$((n + 1))
		[ $n -lt 400 ] || { fail "timed out waiting for $what"; return 1; }
		sleep 0.05
	done
}

idle_is() { [ "$(info o.pool.idle)" = "$1" ]; }
inuse_is() { [ "$(info o.pool.inuse)" = "$1" ]; }

pods() {	# pods PREFIX FROM TO [ANNOTATIONS-JSON]: create pods
	node -e 'const [p, a, b, ann] = process.argv.slice(1);
		const out = [];
		for (let i = +a; i <= +b; i++)
			out.push({apiVersion: "v1", kind: "Pod", metadata: {
				name: p + i, namespace: "default",
				annotations: JSON.parse(ann || "{}")},
				spec: {nodeName: "node1", containers: [
					{name: "c", image: "x"}]}});
		console.log(JSON.stringify(out))' "$@" >"$T/pods.json"
	kctl /apply @"$T/pods.json"
}

ours() {	# our ENIs in the fake cloud, one "id status nips" a line
	ctl GET /state | js 'o.enis.filter((e) => e.Tags.Tag.some((t) =>
		t.TagKey === "vpcnet.io/instance")).map((e) => e.NetworkInterfaceId +
		" " + e.Status + " " + e.PrivateIpSets.PrivateIpSet.length)
		.join("\n")'
}

cloud_ips() {	# IPs the cloud holds on our ENIs
	ours | awk '{n += $3} END {print n + 0}'
}

cloud_ips_are() { [ "$(cloud_ips)" = "$1" ]; }

no_leak() {	# the cloud holds max IPs, on attached ENIs only
	cloud_ips_are $MAX && ! ours | grep -qv InUse
}

eni_gone() { ! ctl GET /state | grep -q "$1"; }

# ---- configuration --------------------------------------------------------

bad_config() {	# each bad setting: exit 2, one line naming it, no socket
	local c key out rc
	need_fakes || return
	while IFS='|' read -r key c; do
		config "$c"
		out=$("$VPCNET" eni-agent run --config "$T/agent.json" 2>&1)
		rc=$?
		[ $rc = 2 ] || fail "$c: exit $rc: $out" || return 1
		echo "$out" | grep -q "$key" ||
			fail "$c: $key not named: $out" || return 1
		[ ! -e "$SOCK" ] || fail "$c: socket created" || return 1
	done <<'EOF2'
min_pool_size|"min_pool_size": "ten"
vswitches|"vswitches": ["vsw-a"]
security_groups|"security_groups": 5
mode|"mode": "ipvlan"
gc_grace|"gc_grace": "soon"
min_pool_size|"min_pool_size": 9, "max_pool_size": 3
cluster_cidr|"mode": "vpc"
access_secret|"access_key": "x"
ca_file|"ca_file": "/nonexistent.pem"
link_netns|"link_netns": "/nonexistent"
EOF2
	out=$("$VPCNET" eni-agent run --config "$T/nonexistent.json" 2>&1)
	[ $? = 2 ] && echo "$out" | grep -q nonexistent.json ||
		fail "missing --config file: $out" || return 1
	out=$("$VPCNET" eni-agent run --metrics-port x 2>&1)
	[ $? = 2 ] && echo "$out" | grep -q -- --metrics-port ||
		fail "bad flag: $out"
}

# ---- start, discovery, pool -----------------------------------------------

starts() {
	need_fakes || return
	agent_start || return 1
	wait_for "pool at min" idle_is $MIN || return 1
	grep -q 'instance i-node1 (ecs.g6.large, cn-hangzhou-h): 5 ENIs x 15 IPs' \
		"$T/agent.log" || fail "discovery not logged" || return 1
	grep -q 'credentials loaded: instance RAM role' "$T/agent.log" ||
		fail "not the RAM role" || return 1
	expect_eq "ENIs in the cloud" "$(ours)" \
		"$(ours | awk '{print $1}') InUse $MIN" || return 1
	expect_eq "info" "$(info '[o.v, o.ok, o.mode, o.pool.enis, o.pool.min,
		o.pool.max].join()')" "1,true,eniip,1,$MIN,$MAX"
}

eni_link() {	# up, and its own table with the vSwitch routes
	need_fakes || return
	local mac dev idx routes
	mac=$(ctl GET /state | js 'o.enis.find((e) => e.Type ===
		"Secondary").MacAddress')
	dev=$(ip -n "$P-n1" -o link | grep -i "$mac" | awk -F': ' '{print $2}')
	dev=${dev%@*}
	[ -n "$dev" ] || fail "no link with $mac" || return 1
	ip -n "$P-n1" link show "$dev" | grep -q 'state UP' ||
		fail "$dev not up" || return 1
	idx=$(ip -n "$P-n1" -o link show "$dev" | cut -d: -f1)
	routes=$(ip -n "$P-n1" route show table $((1000 + idx)))
	echo "$routes" | grep -q "^default via 192.168.10.253 dev $dev onlink" &&
	echo "$routes" | grep -q "^192.168.10.0/24 dev $dev scope link" ||
		fail "table $((1000 + idx)): $routes"
}

socket_mode() {
	need_fakes || return
	expect_eq "mode" "$(stat -c %a "$SOCK")" 600
}

alloc_release() {
	need_fakes || return
	local a b
	pods p 1 2 '{"kubernetes.io/ingress-bandwidth": "10M",
		"k8s.aliyun.com/egress-bandwidth": "1M"}' || return 1
	a=$(call alloc containerID=c-p1 namespace=default name=p1 netns=/x) ||
		fail "alloc: $a" || return 1
	expect_eq "answer" "$(echo "$a" | js '[o.mode, o.gateway,
		/^192\.168\.10\.\d+\/24$/.test(o.ip), o.table > 1000, o.eni.id > "",
		o.serviceCIDR, o.ingress, o.egress].join()')" \
		"eniip,192.168.10.253,true,true,true,10.96.0.0/12,10000000,8388608" ||
		return 1
	b=$(call alloc containerID=c-p1 namespace=default name=p1 netns=/x)
	expect_eq "same container, same answer" "$b" "$a" || return 1
	b=$(call alloc containerID=c-p2 namespace=default name=p2 netns=/x)
	[ "$(echo "$b" | js o.ip)" != "$(echo "$a" | js o.ip)" ] ||
		fail "two pods, one IP" || return 1
	expect_eq "inuse" "$(info o.pool.inuse)" 2 || return 1
	call release containerID=c-p1 namespace=default name=p1 >/dev/null &&
	call release containerID=c-p1 namespace=default name=p1 >/dev/null &&
	call release containerID=c-p2 >/dev/null || fail "release" || return 1
	expect_eq "inuse after" "$(info o.pool.inuse)" 0
}

alloc_errors() {	# unknown pod: 3; bad annotation: 7
	need_fakes || return
	local out
	out=$(call alloc containerID=c-x namespace=default name=nosuch netns=/x)
	expect_eq "unknown pod" "$(echo "$out" | js o.code)" 3 || return 1
	pods bad 1 1 '{"k8s.aliyun.com/ingress-bandwidth": "10"}' || return 1
	out=$(call alloc containerID=c-b namespace=default name=bad1 netns=/x)
	expect_eq "bad annotation" "$(echo "$out" | js o.code)" 7 &&
	echo "$out" | grep -q 'k8s.aliyun.com/ingress-bandwidth' ||
		fail "$out"
}

# 60 pods at once: ENIs are created and filled up to the quota, the 61st
# gets a clear try-again error
fill_quota() {
	need_fakes || return
	local i ok pids=
	pods f 1 61 || return 1
	rm -f "$T"/f.*
	for i in $(seq 1 61); do
		call alloc containerID=c-f$i namespace=default name=f$i \
			netns=/x >"$T/f.$i" 2>&1 &
		pids="$pids $!"
	done
	wait $pids
	ok=$(grep -l '"ok":true' "$T"/f.* | wc -l)
	expect_eq "allocations" "$ok" 60 || return 1
	grep -h '"ok":false' "$T"/f.* | grep -q '"code":11,"msg":"no free IP: 60 of 60 pod IPs in use, the ENI quota of ecs.g6.large is used up' ||
		fail "61st: $(grep -h '"ok":false' "$T"/f.*)" || return 1
	expect_eq "distinct IPs" "$(cat "$T"/f.* | grep -o '"ip":"[^"]*"' |
		sort -u | wc -l)" 60 || return 1
	expect_eq "ENIs" "$(ours | grep -c InUse)" 4 || return 1
	expect_eq "cloud IPs" "$(cloud_ips)" 60 || return 1
	# no loop on the quota: the 62nd fails at once, no cloud call
	ctl POST /counters/reset >/dev/null
	call alloc containerID=c-f62 namespace=default name=f61 netns=/x |
		grep -q '"code":11' || fail "62nd" || return 1
	expect_eq "calls after full" "$(ctl GET /counters | js \
		'Object.keys(o.actions).filter((a) => !a.startsWith("Describe"))
		.length')" 0
}

shrink() {	# releases give IPs back down to max; emptied ENIs go
	need_fakes || return
	local i
	for i in $(seq 1 61); do
		call release containerID=c-f$i >/dev/null || return 1
	done
	wait_for "idle = max" idle_is $MAX || return 1
	wait_for "cloud holds max IPs" cloud_ips_are $MAX || return 1
	echo "# eni-agent RSS after 61 allocs and releases: $(awk '/VmRSS/ \
		{print $2, $3}' "/proc/$AGENT_PID/status")" >"$T/rss0"
}

faults() {	# throttling and 5xx (some after the commit) are ridden out
	need_fakes || return
	local i ok errs pids=
	ctl POST /counters/reset >/dev/null
	ctl POST /faults '{"throttleRate": 0.3, "errorRate": 0.15,
		"errorAfterCommit": true}' >/dev/null || return 1
	pods t 1 25 || return 1
	for i in $(seq 1 25); do
		call alloc containerID=c-t$i namespace=default name=t$i \
			netns=/x >"$T/t.$i" 2>&1 &
		pids="$pids $!"
	done
	wait $pids
	ctl POST /faults/reset >/dev/null
	ok=$(grep -l '"ok":true' "$T"/t.* | wc -l)
	errs=$(ctl GET /counters | js 'Object.values(o.actions).map((a) =>
		Object.values(a.errors).reduce((x, y) => x + y, 0))
		.reduce((x, y) => x + y, 0)')
	[ "$errs" -gt 0 ] || fail "no fault was injected" || return 1
	expect_eq "allocations despite $errs injected errors" "$ok" 25 ||
		{ grep -h false "$T"/t.* | head -3; return 1; }
	expect_eq "distinct IPs" "$(cat "$T"/t.* | grep -o '"ip":"[^"]*"' |
		sort -u | wc -l)" 25 || return 1
	for i in $(seq 1 25); do
		call release containerID=c-t$i >/dev/null || return 1
	done
	wait_for "idle = max" idle_is $MAX
}

# kill -9 during a burst of allocs, restart: the CNI retries get the
# same IPs, no IP is held twice, and nothing leaks after all releases
kill9() {
	need_fakes || return
	local i pids= pids2=
	pods k 1 40 || return 1
	rm -f "$T"/k.*
	for i in $(seq 1 40); do
		call -T 5 alloc containerID=c-k$i namespace=default name=k$i \
			netns=/x >"$T/k.$i" 2>&1 &
		pids="$pids $!"
	done
	sleep 0.1
	kill -9 "$AGENT_PID"
	wait $pids
	AGENT_PID=
	echo "# before the kill: $(grep -l '"ok":true' "$T"/k.* | wc -l) of 40"
	agent_start || return 1
	for i in $(seq 1 40); do
		call alloc containerID=c-k$i namespace=default name=k$i \
			netns=/x >"$T/k2.$i" 2>&1 &
		pids2="$pids2 $!"
	done
	wait $pids2
	for i in $(seq 1 40); do
		grep -q '"ok":true' "$T/k2.$i" ||
			fail "k$i after restart: $(cat "$T/k2.$i")" || return 1
		! grep -q '"ok":true' "$T/k.$i" ||
			[ "$(js o.ip <"$T/k.$i")" = "$(js o.ip <"$T/k2.$i")" ] ||
			fail "k$i: other IP after restart" || return 1
	done
	expect_eq "distinct IPs" "$(cat "$T"/k2.* | grep -o '"ip":"[^"]*"' |
		sort -u | wc -l)" 40 || return 1
	for i in $(seq 1 40); do
		call release containerID=c-k$i >/dev/null || return 1
	done
	wait_for "idle = max" idle_is $MAX || return 1
	# a sync period later every ENI is attached and accounted for
	wait_for "no leak" no_leak || echo "$(ours)"
}

refreshed() { grep -q 'credentials refreshed: instance RAM role' "$T/agent.log"; }

sts_refresh() {	# 8 s STS credentials are read again before they expire
	need_fakes || return
	wait_for "a refresh" refreshed || return 1
	sleep 1
	! grep -q 'InvalidSecurityToken' "$T/agent.log" ||
		fail "$(grep -m1 InvalidSecurityToken "$T/agent.log")" || return 1
	ctl GET /counters | js 'o.actions.DescribeNetworkInterfaces.ok' |
		grep -q '^[1-9]' || fail "no successful call"
}

gc_pod() {	# a pod deleted without a CNI DEL: its IP comes back
	need_fakes || return
	pods g 1 1 || return 1
	call alloc containerID=c-g1 namespace=default name=g1 netns=/x \
		>/dev/null || fail "alloc" || return 1
	expect_eq "inuse" "$(info o.pool.inuse)" 1 || return 1
	kctl /delete '{"apiVersion": "v1", "kind": "Pod",
		"metadata": {"name": "g1", "namespace": "default"}}' || return 1
	sleep 1		# within the grace period (2 s): still held
	expect_eq "inuse in the grace period" "$(info o.pool.inuse)" 1 ||
		return 1
	wait_for "GC" inuse_is 0 || return 1
	grep -q 'gc: pod default/g1 is gone: releasing IP' "$T/agent.log" ||
		fail "not logged"
}

leaked_eni() {	# an ENI tagged for us but not attached: deleted
	need_fakes || return
	local id
	id=$( (. "$CLOUD/aliyun.env"; node "$FAKE/call.js" ecs \
		CreateNetworkInterface VSwitchId=vsw-a \
		SecurityGroupId=sg-fake0000000000000001 \
		Tag.1.Key=creator Tag.1.Value=vpcnet-eni-agent \
		Tag.2.Key=vpcnet.io/instance Tag.2.Value=i-node1) |
		js o.NetworkInterfaceId) || return 1
	[ -n "$id" ] || fail "no ENI created" || return 1
	wait_for "leak deleted" eni_gone "$id" || return 1
	grep -q "gc: ENI $id is ours but not attached (Available)" \
		"$T/agent.log" || fail "not logged"
}

bad_messages() {	# clear error answers, the agent lives on
	need_fakes || return
	local m out
	for m in 'not json' '{"v":2,"op":"info"}' '{"op":"info"}' \
		'{"v":1,"op":"fly"}' '{"v":1,"op":"alloc","containerID":"x"}' \
		'{"v":1,"op":"release"}' '[1,2]' '{"v":1,"op":"info"' \
		'{"v":1,"op":"alloc","containerID":"x","ifname":"eth0","netns":"/x","namespace":"d","name":"n\u0000"}'
	do
		out=$(call --raw "$m")
		echo "$out" | grep -q '^{"v":1,"ok":false,"code":100,"msg":".' ||
			fail "'$m': $out" || return 1
	done
	out=$(call --raw '{"v":2,"op":"info"}')
	echo "$out" | grep -q 'unsupported protocol version' || fail "$out" ||
		return 1
	out=$(head -c 70000 /dev/zero | tr '\0' 'x' |
		nc -U -q 2 "$SOCK" 2>/dev/null)
	echo "$out" | grep -q '"code":100,"msg":"request larger than' ||
		fail "70000 bytes: $out" || return 1
	printf '{"v":1' | timeout 2 nc -U -N "$SOCK" >/dev/null 2>&1
	kill -0 "$AGENT_PID" || fail "agent died" || return 1
	call info | grep -q '"ok":true' || fail "info after bad messages"
}

exclusive_eni() {	# k8s.aliyun.com/eni: the pod's own ENI
	need_fakes || return
	local out id
	pods x 1 1 '{"k8s.aliyun.com/eni": "true"}' || return 1
	out=$(call alloc containerID=c-x1 namespace=default name=x1 netns=/x) ||
		fail "alloc: $out" || return 1
	expect_eq "mode" "$(echo "$out" | js o.mode)" eni || return 1
	id=$(echo "$out" | js o.eni.id)
	expect_eq "its IP is the ENI's" "$(echo "$out" | js \
		'o.ip === o.eni.primaryIP + "/24"')" true || return 1
	ours | grep -q "^$id InUse 1$" || fail "ENI $id: $(ours)" || return 1
	ip -n "$P-n1" -o link | grep -qi "$(echo "$out" | js o.eni.mac)" ||
		fail "no link" || return 1
	call release containerID=c-x1 >/dev/null || return 1
	wait_for "ENI deleted" eni_gone "$id"
}

# the cloud says the vSwitch is full: idle IPs still serve, then code 11
# with the reason, at once, and no call loop
vsw_exhausted() {
	need_fakes || return
	local i out calls
	pods e 1 $((MAX + 3)) || return 1
	ctl POST /counters/reset >/dev/null
	for i in AssignPrivateIpAddresses CreateNetworkInterface; do
		ctl POST /fail-next '{"action": "'$i'", "count": 100,
			"code": "InvalidVSwitchId.IpNotEnough"}' >/dev/null ||
			return 1
	done
	for i in $(seq 1 $MAX); do
		call alloc containerID=c-e$i namespace=default name=e$i \
			netns=/x >/dev/null || fail "e$i from the idle IPs" ||
			return 1
	done
	for i in $((MAX + 1)) $((MAX + 2)); do
		out=$(call alloc containerID=c-e$i namespace=default \
			name=e$i netns=/x)
		echo "$out" | grep -q '"code":11,"msg":".*[vV][sS]witch' ||
			fail "e$i: $out" || return 1
	done
	sleep 1.5	# past the first backoff: still no loop
	out=$(call alloc containerID=c-e$((MAX + 3)) namespace=default \
		name=e$((MAX + 3)) netns=/x)
	echo "$out" | grep -q '"code":11' || fail "$out" || return 1
	calls=$(ctl GET /counters | js '["AssignPrivateIpAddresses",
		"CreateNetworkInterface"].map((a) => (o.actions[a] ||
		{calls: 0}).calls).reduce((x, y) => x + y)')
	[ "$calls" -le 2 ] || fail "$calls calls: a loop" || return 1
	ctl POST /faults/reset >/dev/null
	for i in $(seq 1 $((MAX + 3))); do
		call release containerID=c-e$i >/dev/null || return 1
	done
}

endpoints() {	# /healthz and /metrics on 127.0.0.1
	need_fakes || return
	local port=$((20000 + RANDOM % 20000)) m
	agent_stop
	agent_start "\"metrics_port\": $port, \"metrics_address\": \"127.0.0.1\"" ||
		return 1
	wait_for "healthz" curl -sf "http://127.0.0.1:$port/healthz" || return 1
	expect_eq "healthz" "$(curl -s "http://127.0.0.1:$port/healthz")" ok ||
		return 1
	m=$(curl -sf "http://127.0.0.1:$port/metrics") || fail "metrics" ||
		return 1
	for k in 'vpcnet_eni_agent_pool_ips{state="idle"} '"$MAX" \
		'vpcnet_eni_agent_pool_capacity 60' \
		'vpcnet_eni_agent_api_calls_total{action="DescribeNetworkInterfaces"}' \
		'vpcnet_eni_agent_api_latency_seconds_count{action=' \
		'vpcnet_eni_agent_gc_total{what="pod_gone"}' \
		'# TYPE vpcnet_eni_agent_allocations_total counter'; do
		echo "$m" | grep -qF "$k" || fail "no $k" || return 1
	done
	expect_eq "404" "$(curl -s -o /dev/null -w '%{http_code}' \
		"http://127.0.0.1:$port/nope")" 404 || return 1
	! ss -ltn | grep -q "0.0.0.0:$port" || fail "not only on 127.0.0.1"
	echo "# eni-agent RSS after the tests above: $(awk '/VmRSS/ {print $2,
		$3}' "/proc/$AGENT_PID/status")" >"$T/rss"
}

# vpc mode: the flannel subnet file and the route entry podCIDR -> us
vpc_mode() {
	need_fakes || return
	local out
	agent_stop
	agent_start "\"mode\": \"vpc\", \"cluster_cidr\": \"10.244.0.0/16\",
		\"subnet_file\": \"$T/flannel/subnet.env\"" || return 1
	wait_for "subnet.env" test -s "$T/flannel/subnet.env" || return 1
	expect_eq "subnet.env" "$(cat "$T/flannel/subnet.env")" \
"FLANNEL_NETWORK=10.244.0.0/16
FLANNEL_SUBNET=10.244.1.1/24
FLANNEL_MTU=1500
FLANNEL_IPMASQ=true" || return 1
	wait_for "route entry" sh -c "ip -n $P-vpc route show 10.244.1.0/24 |
		grep -q 'via 192.168.10.11'" || return 1
	pods v 1 1 || return 1
	out=$(call alloc containerID=c-v1 namespace=default name=v1 netns=/x)
	expect_eq "vpc answer" "$(echo "$out" | js '[o.mode, o.podCIDR].join()')" \
		"vpc,10.244.1.0/24" || return 1
	# a new podCIDR: new entry, the stale one removed, file rewritten
	kctl /apply '{"apiVersion": "v1", "kind": "Node",
		"metadata": {"name": "node1"}, "spec": {"podCIDR": "10.244.7.0/24"}}' ||
		return 1
	wait_for "new route entry" sh -c "ip -n $P-vpc route show 10.244.7.0/24 |
		grep -q via && [ -z \"\$(ip -n $P-vpc route show 10.244.1.0/24)\" ]" ||
		return 1
	grep -q '^FLANNEL_SUBNET=10.244.7.1/24$' "$T/flannel/subnet.env" ||
		fail "subnet.env not rewritten"
}

testing "bad config: exit 2 naming the key, nothing started" bad_config
testing "starts: RAM role, instance discovered, pool filled to min" starts
testing "ENI link up, table 1000+ifindex with the vSwitch routes" eni_link
testing "socket is mode 0600" socket_mode
testing "alloc/release: idempotent, bandwidth annotations" alloc_release
testing "alloc errors: unknown pod 3, bad annotation 7" alloc_errors
testing "60 pods fill 4 ENIs to the quota, the 61st gets code 11" fill_quota
testing "releases shrink the pool back to max" shrink
testing "throttling and 5xx ridden out" faults
testing "kill -9 in a burst: same IPs, none twice, no leak" kill9
testing "RAM role credentials refreshed before they expire" sts_refresh
testing "pod deleted from the API: IP reclaimed after the grace" gc_pod
testing "a leaked ENI tagged as ours is deleted" leaked_eni
testing "bad socket messages: error answers, no crash" bad_messages
testing "exclusive ENI for an annotated pod, deleted on release" exclusive_eni
testing "vSwitch exhausted: code 11 with the reason, no loop" vsw_exhausted
testing "/healthz and /metrics on 127.0.0.1" endpoints
testing "vpc mode: subnet.env and the VPC route entry" vpc_mode
agent_stop
cat "$T/rss0" "$T/rss" 2>/dev/null
finish
