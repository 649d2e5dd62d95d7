# Shared helpers for e2e tests (sourced). Each test file:
#	. "$(dirname "$0")/lib.sh"
#	testing "pods ping each other" ping_pods
#	finish
# Every namespace, link and file a test makes carries $P (a unique prefix)
# and is removed by the EXIT trap, also when the test fails.

set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VPCNET=${VPCNET:-$TOP/build/vpcnet}
P=${P:-vt$(printf '%04x' $((RANDOM % 65536)))}
T=$(mktemp -d "/tmp/$P.XXXXXX")
NS_LIST=""
CLEANUPS=""
PASS=0 FAIL=0 SKIPPED=0

# testing NAME CMD...: run CMD in this shell (so mkns and on_exit in it
# reach the cleanup trap), print ok/not ok with its output on failure.
testing() {
	local name=$1 out rc
	shift
	TFAIL=0
	"$@" >"$T/.testing.out" 2>&1
	rc=$?
	[ $rc = 0 ] && [ $TFAIL != 0 ] && rc=1	# a fail() not chained to return
	out=$(cat "$T/.testing.out")
	if [ $rc = 0 ]; then
		echo "ok - $name"
		PASS=$((PASS + 1))
	elif [ $rc = 77 ]; then
		echo "ok - $name # SKIP ${out##*$'\n'}"
		SKIPPED=$((SKIPPED + 1))
	else
		echo "not ok - $name"
		printf '%s\n' "$out" | sed 's/^/#   /' | tail -n 40
		FAIL=$((FAIL + 1))
	fi
}

# mkns NAME: create netns $P-NAME with lo up; remembered for cleanup.
mkns() {
	ip netns add "$P-$1" || return 1
	NS_LIST="$NS_LIST $P-$1"
	ip -n "$P-$1" link set lo up
}

# on_exit CMD: run CMD (a string) at exit, last registered first.
on_exit() { CLEANUPS="$1;$CLEANUPS"; }

cleanup() {
	local ns
	eval "$CLEANUPS" >/dev/null 2>&1
	for ns in $NS_LIST; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	# host-side links we named with the prefix
	ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' |
		grep "^$P" | xargs -r -n1 ip link del 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# fail MSG: report and mark the running test failed, even when the caller
# goes on (cmd || fail "..." in the middle of a function).
TFAIL=0
fail() { echo "$*" >&2; TFAIL=1; return 1; }
skip() { echo "$*"; return 77; }

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}

finish() {
	[ $FAIL = 0 ]
}

# cloud_json NODE_NETNS VPC_NETNS [JQ]: the fake cloud's world for one ECS
# node (test/fake/aliyun.js): vSwitch vsw-a 192.168.10.0/24, an
# ecs.g6.large (5 ENIs x 15 IPs) at 192.168.10.11 with a RAM role; JQ
# (a jq filter) changes what a test needs changed.
cloud_json() {
	jq -n --arg node "$1" --arg vpc "$2" '{
	 vswitches: [{id: "vsw-a", cidr: "192.168.10.0/24",
	  zone: "cn-hangzhou-h"}],
	 instanceTypes: {"ecs.g6.large": {EniQuantity: 5,
	  EniPrivateIpAddressQuantity: 15, EniTotalQuantity: 5}},
	 instances: [{id: "i-node1", type: "ecs.g6.large", vswitch: "vsw-a",
	  netns: $node, primary: {ip: "192.168.10.11"},
	  ramRole: "KubernetesWorkerRole"}],
	 topology: {vpcNetns: $vpc},
	 timing: {attachMs: 50, detachMs: 50, routeMs: 50},
	 seed: 7}' | jq "${3:-.}"
}
