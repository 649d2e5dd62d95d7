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

# iperf_bps SERVER_NS SERVER_IP CLIENT_NS PORT DIR: bit/s the receiver
# counted over 3 s after omitting the first second. DIR egress: the
# client sends; ingress: the server sends (-R). The server takes one
# client and both ends are bounded by timeout. The sender's
# retransmissions go to $T/iperf.PORT.retr (for a failed try's report).
iperf_bps() {
	local sns=$1 sip=$2 cns=$3 port=$4 rev="" spid i rc
	[ "$5" = ingress ] && rev=-R
	ip netns exec "$sns" timeout 30 iperf3 -s -1 -B "$sip" -p "$port" \
		>/dev/null 2>&1 &
	spid=$!
	for i in $(seq 100); do
		ip netns exec "$sns" ss -Hltn "sport = :$port" | grep -q . &&
			break
		sleep 0.05
	done
	ip netns exec "$cns" timeout 30 iperf3 -c "$sip" -p "$port" -t 3 -O 1 \
		$rev -J >"$T/iperf.$port" 2>&1
	rc=$?
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	[ $rc = 0 ] || { cat "$T/iperf.$port" >&2; return 1; }
	jq -r '.end.sum_sent.retransmits // "?"' "$T/iperf.$port" \
		>"$T/iperf.$port.retr"
	jq -r '.end.sum_received.bits_per_second | floor' "$T/iperf.$port"
}

# within GOT WANT: GOT within +-10% of WANT
within() { awk -v g="$1" -v w="$2" 'BEGIN { exit !(g >= w * 0.9 &&
	g <= w * 1.1) }'; }

# measure_bps SERVER_NS SERVER_IP CLIENT_NS PORT DIR LIMIT: sets BPS to a
# measurement within +-10% of LIMIT, from up to 3 tries on ports PORT,
# PORT+1, PORT+2; fails with every try's figure if none is. A try can
# come out low when the VM's CPU is busy: the tbf queue holds 25 ms
# (as upstream's), a stalled sender or receiver overflows it and TCP
# backs off. None comes out high while the limit is in force (the
# bucket, at most 1 s at rate, is spent in the omitted first second).
measure_bps() {
	local try tries=""
	for try in 0 1 2; do
		BPS=$(iperf_bps "$1" "$2" "$3" $(($4 + try)) "$5") || BPS=0
		within "$BPS" "$6" && return 0
		tries="$tries $BPS (retransmits $(cat "$T/iperf.$(($4 + try)).retr" \
			2>/dev/null || echo ?))"
		sleep 1
	done
	fail "$5 between $1 and $3: tries$tries bit/s, want $6 +-10%"
}

now_us() { echo $(($(date +%s%N) / 1000)); }

# add_span NETNS N ADD DEL: how long a plugin runs in an ADD, in us.
# Calls "ADD I" then "DEL I" for I = 0..N (0 warms up), timing each ADD
# and, after it, the start-up of nsenter and timeout in NETNS alone (the
# wrappers a killed ADD runs under); prints least_span of the N pairs.
# ADD and DEL are the caller's functions, failing on error; their
# output goes to stderr.
add_span() {
	local ns=$1 n=$2 add=$3 del=$4 i t0 t1 t2 ts="" us=""
	for i in $(seq 0 "$n"); do
		t0=$(now_us)
		"$add" "$i" >&2 || return 1
		t1=$(now_us)
		nsenter --net="/run/netns/$ns" timeout --foreground 10 true
		t2=$(now_us)
		[ "$i" = 0 ] || ts="$ts $((t1 - t0))" us="$us $((t2 - t1))"
		"$del" "$i" >&2 || return 1
	done
	least_span "$ts" "$us"
}

# least_span "A..." "B...": the least of the A times less the least of
# the B times (us, at least 1000). The least, not a median nor each A
# less its B: on a busy or stolen CPU any one time can come out ten times
# its run-through.
least_span() {
	local a b
	a=$(printf '%s\n' $1 | sort -n | head -n1)
	b=$(printf '%s\n' $2 | sort -n | head -n1)
	a=$((a - b))
	echo $((a < 1000 ? 1000 : a))
}

# small_tmpfs DIR: a 64 KiB tmpfs on DIR (a state directory to fill up or
# remount read-only), unmounted at exit
small_tmpfs() {
	mkdir -p "$1" && mount -t tmpfs -o size=64k "$P-small" "$1" ||
		return 1
	on_exit "umount -l '$1'"
}

# datadirs CONF DIR IPAMDIR: CONF with dataDir DIR and ipam.dataDir IPAMDIR
datadirs() {
	jq --arg d "$2" --arg i "$3" '.dataDir = $d | .ipam.dataDir = $i' "$1"
}
