#!/bin/bash
# netlink
# Terway mode end to end, no stand-in: the fake cloud (test/fake/aliyun.js)
# builds a vpc netns routing between two node netns and an "ecs" netns (a
# third VPC host); one real eni-agent per node (host netns, link_netns =
# its node), cni-terway run inside each node netns against its agent, pods
# as netns created in the fake Kubernetes API first, as kubelet would.
# The five interconnections with real packets, in eniip (with one eni pod)
# and in vpc mode: pod->pod same node and across nodes, pod->ClusterIP and
# ecs->NodePort (nft DNAT rules on the node, as kube-proxy programs), pod->
# ecs, ecs->pod.  Also: bandwidth annotations measured with iperf3, an eni
# pod's ENI back in the host on DEL, GC of a pod deleted from the API, ADD
# latency from a warm and from an empty pool.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fake_lib.sh"
CLOUD=$T/cloud
NET=$P-tw
ECS_IP=192.168.10.50
N1_IP=192.168.10.11
N2_IP=192.168.10.12
CIP=10.96.0.10			# the emulated ClusterIP
NPORT=30080			# the emulated NodePort
API_MS=20 ATTACH_MS=300	# fake cloud latency: per call, per attach
M=1000000

js() {	# js EXPR < JSON
	node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>{
		const o=JSON.parse(s);const v=eval(process.argv[1]);
		console.log(typeof v==="object"?JSON.stringify(v):v)})' "$1"
}
if command -v node >/dev/null && mkns vpc && mkns n1 && mkns n2 &&
	mkns ecs; then
	cat >"$T/cloud.json" <<EOF
{
 "vswitches": [{"id": "vsw-a", "cidr": "192.168.10.0/24",
  "zone": "cn-hangzhou-h"}],
 "instanceTypes": {"ecs.g6.large": {"EniQuantity": 4,
  "EniPrivateIpAddressQuantity": 10, "EniTotalQuantity": 4}},
 "instances": [
  {"id": "i-node1", "type": "ecs.g6.large", "vswitch": "vsw-a",
   "netns": "$P-n1", "primary": {"ip": "$N1_IP"},
   "ramRole": "KubernetesWorkerRole"},
  {"id": "i-node2", "type": "ecs.g6.large", "vswitch": "vsw-a",
   "netns": "$P-n2", "primary": {"ip": "$N2_IP"},
   "ramRole": "KubernetesWorkerRole"},
  {"id": "i-ecs", "type": "ecs.g6.large", "vswitch": "vsw-a",
   "netns": "$P-ecs", "primary": {"ip": "$ECS_IP"}}],
 "topology": {"vpcNetns": "$P-vpc"},
 "timing": {"attachMs": $ATTACH_MS, "detachMs": 1000, "routeMs": 50},
 "faults": {"latencyMs": $API_MS},
 "seed": 7
}
EOF
	cat >"$T/kube.json" <<EOF
{"objects": [
 {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node1"},
  "spec": {"podCIDR": "10.244.1.0/24"}},
 {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node2"},
  "spec": {"podCIDR": "10.244.2.0/24"}}]}
EOF
	fakes_up "$CLOUD" "$T/cloud.json" "$T/kube.json"
fi
unset ALIBABA_CLOUD_ACCESS_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET

# ---- agents -----------------------------------------------------------------

# agent_start N MIN [EXTRA JSON MEMBERS]: eni-agent for node N
agent_start() {
	local n=$1 min=$2 md k=0 pid
	md=FAKE_METADATA_URL_I_NODE$n
	cat >"$T/agent$n.json" <<EOF
{"openapi_endpoint": "$FAKE_ALIYUN_URL", "ca_file": "$FAKE_CA",
 "metadata_endpoint": "${!md}",
 "kube_server": "$FAKE_KUBE_URL", "kube_token_file": "$FAKE_KUBE_TOKEN_FILE",
 "kube_ca_file": "$FAKE_CA", "node_name": "node$n",
 "socket": "$T/agent$n.sock", "state_dir": "$T/state$n",
 "link_netns": "/run/netns/$P-n$n", "min_pool_size": $min,
 "max_pool_size": 5, "metrics_port": 0, "service_cidr": "10.96.0.0/12",
 "gc_grace": "2s", "gc_interval": "200ms", "ip_pool_sync_period": "3s",
 "alloc_timeout": "20s", "log_level": "debug"${3:+, $3}}
EOF
	setsid "$VPCNET" eni-agent run --config "$T/agent$n.json" \
		>>"$T/agent$n.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$T/agent$n.pid"
	on_exit "kill -9 $pid"
	until call "$n" -T 2 info >/dev/null 2>&1; do
		k=$((k + 1))
		[ $k -lt 200 ] && kill -0 "$pid" 2>/dev/null ||
			{ tail -n 20 "$T/agent$n.log"
			  fail "agent $n did not start"; return 1; }
		sleep 0.05
	done
}

agent_stop() {	# agent_stop N
	local pid
	[ -f "$T/agent$1.pid" ] || return 0
	pid=$(cat "$T/agent$1.pid")
	rm -f "$T/agent$1.pid"
	kill "$pid" 2>/dev/null
	timeout 10 tail --pid="$pid" -s 0.05 -f /dev/null
}

call() {	# call N ARGS: eni-agent call on node N's socket
	local n=$1
	shift
	"$VPCNET" eni-agent call -s "$T/agent$n.sock" "$@"
}
info() { call "$1" info | js "$2"; }

wait_for() {	# wait_for WHAT CMD...: poll CMD for 20 s
	local what=$1 n=0
	shift
	until "$@" >/dev/null 2>&1; do
		n=$((n + 1))
		[ $n -lt 400 ] || { fail "timed out waiting for $what"
			return 1; }
		sleep 0.05
	done
}
idle_is() { [ "$(info "$1" o.pool.idle)" = "$2" ]; }
inuse_is() { [ "$(info "$1" o.pool.inuse)" = "$2" ]; }

# ---- pods -------------------------------------------------------------------

# kpod NAME NODE [ANNOTATIONS-JSON]: the pod object in the API
kpod() {
	kctl /apply "$(jq -nc --arg n "$1" --arg node "node$2" \
		--argjson a "${3:-{\}}" '{apiVersion: "v1", kind: "Pod",
		metadata: {name: $n, namespace: "default", annotations: $a},
		spec: {nodeName: $node,
			containers: [{name: "c", image: "x"}]}}')"
}

# tw VERB POD NODE: cni-terway in the node netns for pod default/POD
tw() {
	local args="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$2"
	ip netns exec "$P-n$3" env -i PATH="$PATH" CNI_COMMAND="$1" \
		CNI_CONTAINERID="ctr-$2" CNI_NETNS="/run/netns/$P-$2" \
		CNI_IFNAME=eth0 CNI_PATH=/opt/cni/bin \
		CNI_ARGS="$args;K8S_POD_INFRA_CONTAINER_ID=ctr-$2" \
		VPCNET_LOG_LEVEL=info "$VPCNET" cni-terway <"$T/conf$3"
}

conf() {	# conf N: the CNI config of node N
	cat >"$T/conf$1" <<EOF
{"cniVersion":"1.0.0","name":"$NET","type":"terway",
 "socket":"$T/agent$1.sock","dataDir":"$T/terway$1",
 "ipam":{"dataDir":"$T/ipam$1"},"timeoutMs":30000,
 "capabilities":{"bandwidth":true}}
EOF
}

# add POD NODE [ANNOTATIONS]: API object, netns, CNI ADD (ms in $T/ms.POD)
add() {
	local t0 t1
	kpod "$1" "$2" "${3:-}" || fail "kube: pod $1" || return 1
	mkns "$1" || return 1
	t0=$(date +%s%N)
	tw ADD "$1" "$2" >"$T/res.$1" 2>"$T/err.$1" ||
		fail "ADD $1: $(cat "$T/res.$1" "$T/err.$1")" || return 1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000)) >"$T/ms.$1"
	serve "$1"
}

del() {	# del POD NODE
	tw DEL "$1" "$2" >"$T/del.$1" 2>&1 || fail "DEL $1: $(cat "$T/del.$1")"
}

ipof() { jq -r '.ips[0].address' "$T/res.$1" | cut -d/ -f1; }

listening() { ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q .; }

rmns() {	# rmns POD: the pod's netns and what runs in it
	ip netns pids "$P-$1" 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns del "$P-$1"
}

# serve POD: a TCP server on :8080 in the pod answering "POD <peer>"
serve() {
	ip netns exec "$P-$1" node -e 'require("net").createServer((s) =>
		s.end(process.argv[1] + " " + s.remoteAddress + "\n"))
		.listen(8080, "0.0.0.0")' "$1" >/dev/null 2>&1 &
	wait_for "server in $1" listening "$P-$1" 8080
}

# tcp FROM-NETNS IP PORT: the answer of the server there
tcp() {
	ip netns exec "$1" timeout 5 nc -N -w 3 "$2" "$3" </dev/null 2>&1
}

# expect_tcp WHAT FROM-NETNS IP PORT WANT-POD [WANT-PEER]
expect_tcp() {
	local got
	got=$(tcp "$2" "$3" "$4")
	[ -n "${6:-}" ] || got=${got%% *}
	expect_eq "$1" "$got" "$5${6:+ $6}"
}

pingok() {	# pingok WHAT FROM-NETNS IP
	ip netns exec "$2" ping -c1 -W2 "$3" >/dev/null || fail "$1: no ping"
}

# kube_proxy N: DNAT rules on node N as kube-proxy programs them:
# ClusterIP $CIP:80 -> $2:8080, NodePort $NPORT -> $3:8080; with a 4th
# argument, also masquerade what was DNATed (kube-proxy's masquerade-all):
# an exclusive-ENI pod's replies leave by its ENI, past the node's
# conntrack, so without SNAT its service traffic breaks (as with Terway)
kube_proxy() {
	ip netns exec "$P-n$1" nft -f - <<EOF
table ip $P-kp
delete table ip $P-kp
table ip $P-kp {
	chain pre {
		type nat hook prerouting priority dstnat;
		ip daddr $CIP tcp dport 80 dnat to $2:8080
		fib daddr type local tcp dport $NPORT dnat to $3:8080
	}
	chain out {
		type nat hook output priority -100;
		ip daddr $CIP tcp dport 80 dnat to $2:8080
	}
	chain post {
		type nat hook postrouting priority 100;
		${4:+ct status dnat masquerade}
	}
}
EOF
}

# ---- eniip ------------------------------------------------------------------

setup_eniip() {
	need_fakes || return
	conf 1 && conf 2
	agent_start 1 2 && agent_start 2 0 || return 1
	wait_for "pool 1 at min" idle_is 1 2 || return 1
	add a1 1 && add a2 1 || return 1
	add b1 2 || return 1	# the first pod of node 2: an empty pool
	add b2 2 || return 1
	echo "# a1 $(ipof a1), a2 $(ipof a2), b1 $(ipof b1), b2 $(ipof b2)"
	for p in a1 a2 b1 b2; do
		jq -e '.ips[0].address | test("^192\\.168\\.10\\.")' \
			"$T/res.$p" >/dev/null ||
			{ fail "$p: $(cat "$T/res.$p")"; return 1; }
	done
}

latency() {
	need_fakes || return
	latency_lines | tee "$T/latency"
	[ "$(cat "$T/ms.a1")" -lt 1000 ] || fail "warm ADD took over 1 s"
}

latency_lines() {
	echo "# fake cloud: ${API_MS} ms per API call, attach ${ATTACH_MS} ms"
	echo "# ADD from a warm pool (node1, a1 a2): $(cat "$T/ms.a1") ms," \
		"$(cat "$T/ms.a2") ms"
	echo "# ADD from an empty pool (node2 min 0, b1: create+attach ENI):" \
		"$(cat "$T/ms.b1") ms; next (b2): $(cat "$T/ms.b2") ms"
}

same_node() {
	need_fakes || return
	expect_tcp "a1->a2" "$P-a1" "$(ipof a2)" 8080 a2 "$(ipof a1)"
	expect_tcp "a2->a1" "$P-a2" "$(ipof a1)" 8080 a1 "$(ipof a2)"
	expect_tcp "b1->b2" "$P-b1" "$(ipof b2)" 8080 b2 "$(ipof b1)"
}

cross_node() {
	need_fakes || return
	expect_tcp "a1->b1" "$P-a1" "$(ipof b1)" 8080 b1 "$(ipof a1)"
	expect_tcp "b2->a2" "$P-b2" "$(ipof a2)" 8080 a2 "$(ipof b2)"
	pingok "a1->b2 icmp" "$P-a1" "$(ipof b2)"
}

# ClusterIP on node 1 to a pod of node 1 and to one of node 2
cluster_ip() {
	need_fakes || return
	kube_proxy 1 "$(ipof a2)" "$(ipof a2)" || fail "nft" || return 1
	expect_tcp "a1->ClusterIP->a2" "$P-a1" $CIP 80 a2 "$(ipof a1)"
	kube_proxy 1 "$(ipof b1)" "$(ipof a1)" || fail "nft" || return 1
	expect_tcp "a2->ClusterIP->b1 (other node)" "$P-a2" $CIP 80 b1 \
		"$(ipof a2)"
	expect_tcp "node1->ClusterIP->b1" "$P-n1" $CIP 80 b1
}

node_port() {
	need_fakes || return
	kube_proxy 2 "$(ipof b1)" "$(ipof b2)" || fail "nft" || return 1
	expect_tcp "ecs->NodePort of node2->b2" "$P-ecs" $N2_IP $NPORT b2 \
		$ECS_IP
	kube_proxy 1 "$(ipof b1)" "$(ipof a1)" || fail "nft" || return 1
	expect_tcp "ecs->NodePort of node1->a1" "$P-ecs" $N1_IP $NPORT a1 \
		$ECS_IP
}

# ecs runs a server too
ecs_serve() {
	ip netns exec "$P-ecs" ss -Hltn 'sport = :8080' | grep -q . && return
	serve ecs
}

pod_ecs() {
	need_fakes || return
	ecs_serve || return 1
	expect_tcp "a1->ecs" "$P-a1" $ECS_IP 8080 ecs "$(ipof a1)"
	expect_tcp "b2->ecs" "$P-b2" $ECS_IP 8080 ecs "$(ipof b2)"
}

ecs_pod() {
	need_fakes || return
	expect_tcp "ecs->a2" "$P-ecs" "$(ipof a2)" 8080 a2 $ECS_IP
	expect_tcp "ecs->b1" "$P-ecs" "$(ipof b1)" 8080 b1 $ECS_IP
}

# ---- eni (exclusive) --------------------------------------------------------

eni_pod() {
	need_fakes || return
	local mac
	add x1 1 '{"k8s.aliyun.com/eni": "true"}' || return 1
	mac=$(ip netns exec "$P-x1" cat /sys/class/net/eth0/address)
	echo "# eni pod x1: ADD $(cat "$T/ms.x1") ms (create+attach ENI)" |
		tee -a "$T/latency"
	jq -e '.interfaces | length == 3' "$T/res.x1" >/dev/null ||
		fail "not an eni result: $(cat "$T/res.x1")" || return 1
	ctl GET /state | grep -qi "$mac" || fail "eth0 is not an ENI" ||
		return 1
	expect_tcp "x1->b1 (other node)" "$P-x1" "$(ipof b1)" 8080 b1 \
		"$(ipof x1)"
	expect_tcp "a1->x1 (same node)" "$P-a1" "$(ipof x1)" 8080 x1 \
		"$(ipof a1)"
	kube_proxy 1 "$(ipof b2)" "$(ipof x1)" masq || fail "nft" || return 1
	expect_tcp "x1->ClusterIP->b2" "$P-x1" $CIP 80 b2
	expect_tcp "ecs->NodePort->x1" "$P-ecs" $N1_IP $NPORT x1
	ecs_serve || return 1
	expect_tcp "x1->ecs" "$P-x1" $ECS_IP 8080 ecs "$(ipof x1)"
	expect_tcp "ecs->x1" "$P-ecs" "$(ipof x1)" 8080 x1 $ECS_IP
}

eni_back() {
	need_fakes || return
	local mac
	mac=$(ip netns exec "$P-x1" cat /sys/class/net/eth0/address)
	del x1 1 || return 1
	ip -n "$P-n1" -o link | grep -qi "$mac" ||
		{ fail "ENI $mac not back in node1: $(cat "$T/del.x1")"
		  return 1; }
	wait_for "ENI $mac deleted by the agent" sh -c \
		"! curl -sf '$FAKE_ALIYUN_CONTROL/state' | grep -qi '$mac'"
}

# ---- bandwidth --------------------------------------------------------------

# measure DIR POD LIMIT PORT: between the pod and node1 (measure_bps in
# lib.sh), recorded with the latencies
measure() {
	local rc=0
	measure_bps "$P-n1" $N1_IP "$P-$2" "$4" "$1" "$3" || rc=1
	echo "# bw $1 of $2: limit $3, measured $BPS bit/s" | tee -a "$T/latency"
	return $rc
}

bandwidth() {
	need_fakes || return
	command -v iperf3 >/dev/null || { skip "iperf3 not installed"; return; }
	# the standard annotation wins; k8s.aliyun.com/* are 1024-based
	# bytes/s (Terway's parseBandwidth): 2M = 16777216 bit/s
	add w1 1 '{"kubernetes.io/ingress-bandwidth": "10M",
		"k8s.aliyun.com/ingress-bandwidth": "50M",
		"k8s.aliyun.com/egress-bandwidth": "2M"}' || return 1
	measure ingress w1 $((10 * M)) 5300 &&
	measure egress w1 16777216 5310
	del w1 1
}

# ---- GC ---------------------------------------------------------------------

gc_pod() {
	need_fakes || return
	local before
	add g1 2 || return 1
	before=$(info 2 o.pool.inuse)
	kctl /delete '{"apiVersion": "v1", "kind": "Pod",
		"metadata": {"name": "g1", "namespace": "default"}}' || return 1
	wait_for "GC" inuse_is 2 $((before - 1)) || return 1
	grep -q 'gc: pod default/g1 is gone' "$T/agent2.log" ||
		fail "not logged"
	del g1 2	# the kubelet's late DEL still succeeds
}

teardown_eniip() {
	need_fakes || return
	local p n
	for p in a1:1 a2:1 b1:2 b2:2; do
		del "${p%:*}" "${p#*:}" || return 1
		rmns "${p%:*}"
		kctl /delete "{\"apiVersion\": \"v1\", \"kind\": \"Pod\",
			\"metadata\": {\"name\": \"${p%:*}\",
			\"namespace\": \"default\"}}"
	done
	for n in 1 2; do
		inuse_is $n 0 || fail "node $n: $(info $n o.pool.inuse) in use"
		ip -n "$P-n$n" -o link | grep -q ' cali' &&
			fail "veth left on node $n"
		agent_stop $n
	done
	ip netns exec "$P-n1" nft delete table ip $P-kp
	ip netns exec "$P-n2" nft delete table ip $P-kp
	return 0
}

# ---- vpc --------------------------------------------------------------------

setup_vpc() {
	need_fakes || return
	local n
	for n in 1 2; do
		agent_start $n 0 "\"mode\": \"vpc\",
			\"cluster_cidr\": \"10.244.0.0/16\",
			\"subnet_file\": \"$T/flannel$n/subnet.env\"" ||
			return 1
	done
	wait_for "route entries" sh -c "ip -n $P-vpc route |
		grep -q '10.244.1.0/24 via $N1_IP' && ip -n $P-vpc route |
		grep -q '10.244.2.0/24 via $N2_IP'" || return 1
	add c1 1 && add c2 1 && add d1 2 || return 1
	echo "# c1 $(ipof c1), c2 $(ipof c2), d1 $(ipof d1)"
	expect_eq "c1 from node1's podCIDR" "$(ipof c1 | cut -d. -f1-3)" \
		10.244.1
}

vpc_traffic() {
	need_fakes || return
	expect_tcp "c1->c2" "$P-c1" "$(ipof c2)" 8080 c2 "$(ipof c1)"
	expect_tcp "c1->d1 (other node)" "$P-c1" "$(ipof d1)" 8080 d1 \
		"$(ipof c1)"
	kube_proxy 1 "$(ipof d1)" "$(ipof c2)" || fail "nft" || return 1
	expect_tcp "c1->ClusterIP->d1" "$P-c1" $CIP 80 d1 "$(ipof c1)"
	expect_tcp "ecs->NodePort->c2" "$P-ecs" $N1_IP $NPORT c2 $ECS_IP
	ecs_serve || return 1
	expect_tcp "d1->ecs" "$P-d1" $ECS_IP 8080 ecs "$(ipof d1)"
	expect_tcp "ecs->c1" "$P-ecs" "$(ipof c1)" 8080 c1 $ECS_IP
}

teardown_vpc() {
	need_fakes || return
	del c1 1 && del c2 1 && del d1 2 || return 1
	agent_stop 1
	agent_stop 2
}

testing "eniip: two agents, pods a1 a2 (node1), b1 b2 (node2)" setup_eniip
testing "eniip: ADD latency, warm and empty pool" latency
testing "eniip: pod->pod on the same node" same_node
testing "eniip: pod->pod across nodes" cross_node
testing "eniip: pod->ClusterIP (DNAT on the node)" cluster_ip
testing "eniip: ecs->NodePort (DNAT on the node)" node_port
testing "eniip: pod->ecs" pod_ecs
testing "eniip: ecs->pod" ecs_pod
testing "eni: an annotated pod on its own ENI, all five paths" eni_pod
testing "eni: DEL returns the ENI to the host, the agent deletes it" eni_back
testing "bandwidth annotations measured with iperf3 (10%)" bandwidth
testing "GC: a pod deleted from the API without DEL: IP reclaimed" gc_pod
testing "eniip: DEL all, nothing in use, no veth left" teardown_eniip
testing "vpc: agents in vpc mode, route entries, pods c1 c2 d1" setup_vpc
testing "vpc: the five paths" vpc_traffic
testing "vpc: DEL all" teardown_vpc
cat "$T/latency" 2>/dev/null
finish
