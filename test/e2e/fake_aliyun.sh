#!/bin/bash
# The fake Alibaba Cloud (test/fake/aliyun.js): checked against the official
# @alicloud/pop-core client, and its data path (ENI = veth into a vpc netns).
. "$(dirname "$0")/lib.sh"
FAKE=$TOP/test/fake

# js EXPR: evaluate EXPR on the JSON read from stdin (o = the object)
js() {
	node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>{
		const o=JSON.parse(s);const v=eval(process.argv[1]);
		console.log(typeof v==="object"?JSON.stringify(v):v)})' "$1"
}

deps=ok
if ! command -v node >/dev/null; then
	deps="node is not installed"
elif [ ! -d "$FAKE/node_modules/@alicloud/pop-core" ]; then
	if ! command -v npm >/dev/null; then
		deps="npm is not installed"
	elif ! (cd "$FAKE" && timeout 300 npm ci --no-audit --no-fund \
		>"$T/npm.log" 2>&1); then
		deps="npm ci in test/fake failed (registry unreachable?): $(
			grep -m 1 'npm error' "$T/npm.log")"
	fi
fi

popcore() {	# popcore CHECK...: a check_aliyun.js check
	[ "$deps" = ok ] || { skip "$deps"; return; }
	node "$FAKE/check_aliyun.js" "$@"
}

cat >"$T/cloud.json" <<EOF
{
 "vswitches": [
  {"id": "vsw-a", "cidr": "192.168.10.0/24", "zone": "cn-hangzhou-h"},
  {"id": "vsw-small", "cidr": "192.168.20.0/28", "zone": "cn-hangzhou-h"}
 ],
 "instances": [{"id": "i-node1", "type": "ecs.g6.large", "vswitch": "vsw-a",
  "ramRole": "KubernetesWorkerRole"}],
 "timing": {"attachMs": 200, "detachMs": 200, "routeMs": 100}
}
EOF

# Setup runs here, not inside `testing` (a subshell): its cleanups and
# namespaces must reach lib.sh's exit trap.
if command -v node >/dev/null &&
	"$FAKE/start.sh" aliyun "$T/cloud" "$T/cloud.json" >"$T/cloud.out" 2>&1
then
	on_exit "'$FAKE/start.sh' stop '$T/cloud'"
fi

started() {
	command -v node >/dev/null || { skip "node is not installed"; return; }
	[ -f "$T/cloud/aliyun.env" ] || { cat "$T/cloud.out"; return 1; }
}

with_cloud() {	# with_cloud CMD...: run CMD with the fake's environment
	[ -f "$T/cloud/aliyun.env" ] || { skip "the fake did not start"; return; }
	(set -a; . "$T/cloud/aliyun.env"; "$@")
}

doc_vector() {	# the worked example of the signature documentation
	node -e '
	const p = require(process.argv[1] + "/lib/popsign");
	const params = { AccessKeyId: "testid", Action: "DescribeRegions",
		Format: "XML", SignatureMethod: "HMAC-SHA1",
		SignatureNonce: "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
		SignatureVersion: "1.0", Timestamp: "2016-02-23T12:46:24Z",
		Version: "2014-05-26" };
	const s = p.sign("testsecret", p.stringToSign("GET", params));
	if (s !== "OLeaidS1JvxuMvnyHOwuJ+uX5qY=") {
		console.error("got " + s); process.exit(1);
	}' "$FAKE"
}

vectors() {
	[ "$deps" = ok ] || { skip "$deps"; return; }
	node "$FAKE/check_aliyun.js" vectors "$T/vectors.json" || return 1
	n=$(js 'o.vectors.length' <"$T/vectors.json")
	expect_eq "vectors" "$n" 20 || return 1
	node "$FAKE/check_aliyun.js" vectors "$T/vectors.txt" || return 1
	expect_eq "txt vectors" "$(grep -c '^name=' "$T/vectors.txt")" 20
}

raw_checks() {	# no npm needed: our own signer against the fake
	local out
	out=$(with_cloud node "$FAKE/call.js" ecs DescribeInstanceTypes) ||
		fail "DescribeInstanceTypes: $out" || return 1
	out=$(with_cloud env ALIBABA_CLOUD_ACCESS_KEY_SECRET=wrong \
		node "$FAKE/call.js" ecs DescribeInstanceTypes) &&
		fail "wrong secret accepted"
	expect_eq code "$(echo "$out" | js o.Code)" SignatureDoesNotMatch
}

bad_requests() {	# garbage never kills the fake
	local u c
	u=$(with_cloud sh -c 'echo $FAKE_ALIYUN_URL')
	c=$T/cloud/certs/ca.pem
	curl -s --cacert "$c" -X DELETE "$u/" >/dev/null
	curl -s --cacert "$c" "$u/?%zz=%%&&&==&Action" >/dev/null
	curl -s --cacert "$c" -X POST -H 'Content-Type: application/json' \
		-d '{"x":' "$u/" >/dev/null
	head -c 2000000 /dev/zero | curl -s --cacert "$c" -X POST \
		--data-binary @- "$u/" >/dev/null
	printf 'GARBAGE\r\n\r\n' | timeout 2 openssl s_client -quiet \
		-connect "${u#https://}" >/dev/null 2>&1
	with_cloud node "$FAKE/call.js" ecs DescribeInstanceTypes >/dev/null ||
		fail "fake died or broke after bad requests"
}

testing "signature v1: documented example" doc_vector
testing "fake cloud starts (test CA, free ports)" started
testing "own signer accepted, wrong secret rejected" raw_checks
testing "pop-core: ECS ENI lifecycle, ClientToken, filters, paging" \
	with_cloud popcore ecs
testing "pop-core: VPC vSwitches and route entries" with_cloud popcore vpc
testing "pop-core: wrong secret, unknown key, nonce replay, old timestamp" \
	with_cloud popcore badsig
testing "pop-core: STS credentials from the metadata RAM role" \
	with_cloud popcore sts
testing "metadata service: IMDSv2 token, ENI MACs and IPs" \
	with_cloud popcore metadata
testing "quotas: ENIs per instance, IPs per ENI, vSwitch exhaustion" \
	with_cloud popcore quota
testing "faults: throttling, 5xx, lost reply + ClientToken, stuck attach" \
	with_cloud popcore faults
testing "pop-core: 20 signature vectors agree with the fake" vectors
testing "bad requests do not crash the fake" bad_requests

# ---- data path ------------------------------------------------------------------

DP=$T/dp
dp_env() { (set -a; . "$DP/aliyun.env"; "$@"); }
dp_call() { dp_env node "$FAKE/call.js" "$@"; }

if command -v node >/dev/null && mkns vpc && mkns n1 && mkns n2; then
	cat >"$T/dp.json" <<EOF
{
 "vswitches": [{"id": "vsw-dp", "cidr": "10.77.0.0/24",
  "zone": "cn-hangzhou-h"}],
 "instances": [
  {"id": "i-n1", "type": "ecs.g6.large", "vswitch": "vsw-dp",
   "netns": "$P-n1", "primary": {"ip": "10.77.0.11"}},
  {"id": "i-n2", "type": "ecs.g6.large", "vswitch": "vsw-dp",
   "netns": "$P-n2", "primary": {"ip": "10.77.0.12"}}
 ],
 "topology": {"vpcNetns": "$P-vpc"},
 "timing": {"attachMs": 100, "detachMs": 100, "routeMs": 50}
}
EOF
	"$FAKE/start.sh" aliyun "$DP" "$T/dp.json" >"$T/dp.out" 2>&1 &&
		on_exit "'$FAKE/start.sh' stop '$DP'"
fi

dp_start() {
	command -v node >/dev/null || { skip "node is not installed"; return; }
	[ -f "$DP/aliyun.env" ] || { cat "$T/dp.out" 2>/dev/null; return 1; }
}

# the primary ENIs exist from the start, configured like DHCP would
dp_primary() {
	local mac
	mac=$(dp_env sh -c 'curl -s $FAKE_ALIYUN_CONTROL/state' |
		js 'o.instances[0].mac')
	ip -n "$P-n1" -o link show eth0 | grep -q "link/ether $mac" ||
		fail "eth0 in n1 lacks MAC $mac" || return 1
	ip netns exec "$P-n1" ping -c 1 -W 2 10.77.0.12 >/dev/null ||
		fail "n1 cannot ping n2 through the vpc"
}

wait_status() {	# wait_status ENI STATUS
	local s n=0
	while [ $n -lt 100 ]; do
		n=$((n + 1))
		s=$(dp_call ecs DescribeNetworkInterfaces "NetworkInterfaceId.1=$1" |
			js 'o.NetworkInterfaceSets.NetworkInterfaceSet[0].Status')
		[ "$s" = "$2" ] && return 0
		sleep 0.05
	done
	fail "ENI $1 stuck in $s, want $2"
}

# each test runs in a subshell: the ENI under test is kept in a file
eni() { [ -f "$T/eni" ] && . "$T/eni"; }

dp_attach() {
	local out
	out=$(dp_call ecs CreateNetworkInterface VSwitchId=vsw-dp \
		SecurityGroupId=sg-fake0000000000000001 \
		SecondaryPrivateIpAddressCount=1) || fail "create: $out" || return 1
	ENI=$(echo "$out" | js o.NetworkInterfaceId)
	MAC=$(echo "$out" | js o.MacAddress)
	IP=$(echo "$out" | js 'o.PrivateIpSets.PrivateIpSet[1].PrivateIpAddress')
	echo "ENI=$ENI IP=$IP" >"$T/eni"
	dp_call ecs AttachNetworkInterface "NetworkInterfaceId=$ENI" \
		InstanceId=i-n1 >/dev/null || return 1
	wait_status "$ENI" InUse || return 1
	out=$(ip -n "$P-n1" -o link show eth1) || fail "no eth1 in n1" || return 1
	echo "$out" | grep -q "link/ether $MAC" || fail "eth1: $out" || return 1
	echo "$out" | grep -q "state DOWN" || fail "eth1 not left down: $out"
}

dp_ping() {	# the test configures the ENI; n2 reaches its secondary IP
	eni || { skip "no ENI attached"; return; }
	ip -n "$P-n1" addr add "$IP/32" dev eth1 &&
	ip -n "$P-n1" link set eth1 up || return 1
	ip -n "$P-vpc" route show "$IP/32" | grep -q dev ||
		fail "no vpc route for $IP" || return 1
	ip netns exec "$P-n2" ping -c 1 -W 2 "$IP" >/dev/null ||
		fail "n2 cannot ping ENI IP $IP"
}

dp_ips() {	# assign/unassign follow in the vpc routes
	local out ip2
	eni || { skip "no ENI attached"; return; }
	out=$(dp_call ecs AssignPrivateIpAddresses "NetworkInterfaceId=$ENI" \
		SecondaryPrivateIpAddressCount=1) || return 1
	ip2=$(echo "$out" | js \
		'o.AssignedPrivateIpAddressesSet.PrivateIpSet.PrivateIpAddress[0]')
	ip -n "$P-vpc" route show "$ip2/32" | grep -q dev ||
		fail "no route for assigned $ip2" || return 1
	dp_call ecs UnassignPrivateIpAddresses "NetworkInterfaceId=$ENI" \
		"PrivateIpAddress.1=$ip2" >/dev/null || return 1
	[ -z "$(ip -n "$P-vpc" route show "$ip2/32")" ] ||
		fail "route for unassigned $ip2 still there"
}

dp_route_entry() {	# a VPC route entry becomes a route in the vpc netns
	dp_call vpc CreateRouteEntry RouteTableId=vtb-fake0000000000000001 \
		DestinationCidrBlock=10.250.1.0/24 NextHopType=Instance \
		NextHopId=i-n1 >/dev/null || return 1
	dp_env sh -c 'curl -s -X POST $FAKE_ALIYUN_CONTROL/settle' >/dev/null
	ip -n "$P-vpc" route show 10.250.1.0/24 | grep -q "via 10.77.0.11" ||
		fail "route entry not in vpc netns" || return 1
	ip -n "$P-n1" addr add 10.250.1.1/32 dev lo || return 1
	ip netns exec "$P-n2" ping -c 1 -W 2 10.250.1.1 >/dev/null ||
		fail "n2 cannot reach 10.250.1.1 behind n1"
}

dp_detach() {
	eni || { skip "no ENI attached"; return; }
	dp_call ecs DetachNetworkInterface "NetworkInterfaceId=$ENI" \
		InstanceId=i-n1 >/dev/null || return 1
	wait_status "$ENI" Available || return 1
	! ip -n "$P-n1" link show eth1 >/dev/null 2>&1 ||
		fail "eth1 still in n1 after detach" || return 1
	[ -z "$(ip -n "$P-vpc" route show "$IP/32")" ] ||
		fail "vpc route for $IP left behind"
}

dp_stop() {	# stopping the fake removes what it made
	"$FAKE/start.sh" stop "$DP" || return 1
	! ip -n "$P-n1" link show eth0 >/dev/null 2>&1 ||
		fail "eth0 left in n1"
}

testing "datapath: fake starts with a vpc and two nodes" dp_start
testing "datapath: primary ENIs wired, nodes ping each other" dp_primary
testing "datapath: attach makes eth1 with the ENI MAC, down" dp_attach
testing "datapath: ping to the ENI's IP once configured" dp_ping
testing "datapath: assign/unassign update vpc routes" dp_ips
testing "datapath: route entry -> route via the instance" dp_route_entry
testing "datapath: detach removes the link and routes" dp_detach
testing "datapath: stop cleans up" dp_stop
finish
