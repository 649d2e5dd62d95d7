#!/bin/bash
# Daemon memory in steady state with 100 pods (`make bench`, called by
# run.sh; root, after `make`): VmRSS and VmHWM from /proc/PID/status of
#  - eni-agent run against the fake cloud and the fake API server, holding
#    100 pod IPs allocated through `eni-agent call alloc` as cni-terway asks
#    (8 ENIs x 20 IPs; pool min 2, max 5);
#  - netpolicy run against the fake API server holding 100 pods of this
#    node, 10 namespaces and 50 policies (np_gen.py), in a netns.
# Each daemon is measured once it has settled (pool idle within [min, max],
# table synced) and has then been idle for a second. The same is done with
# the glibc build (build/glibc/vpcnet, dynamic, -O1 -g) when it is present
# and up to date. Prints a table; the goal is under 4 MB (4096 kB).
# Environment: RSS_PODS (100), RSS_POLICIES (50).
P=drss$(printf '%04x' $((RANDOM % 65536)))
. "$(dirname "$0")/../e2e/lib.sh"
FAKE=$TOP/test/fake
PODS=${RSS_PODS:-100}
POLS=${RSS_POLICIES:-50}
GOAL=4096
ROWS=()

die() { echo "daemons_rss: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }

# wait_for SECONDS CMD...: poll CMD every 50 ms
wait_for() {
	local end=$(($(now_ms) + $1 * 1000))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(now_ms)" -lt $end ] || return 1
		sleep 0.05
	done
}

status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

row() {	# row DAEMON BUILD PID PODS: measure PID, add a table row
	local rss hwm goal
	tr '\0' ' ' <"/proc/$3/cmdline" | grep -q "^[^ ]*vpcnet $1 run " ||
		die "$1 ($2): pid $3 is not the daemon"
	rss=$(status_kb "$3" VmRSS) hwm=$(status_kb "$3" VmHWM)
	[ -n "$rss" ] || die "$1 ($2): no /proc/$3/status"
	goal="ok"
	[ "$rss" -lt $GOAL ] || goal="over (RSS)"
	[ "$hwm" -lt $GOAL ] || goal="$goal, peak over"
	ROWS+=("$(printf '| %-12s | %-6s | %4s | %8s | %8s | %-20s |' \
		"$1" "$2" "$4" "$rss" "$hwm" "$goal")")
}

stop_pid() {	# stop_pid PID: SIGTERM, wait up to 10 s, then SIGKILL
	kill "$1" 2>/dev/null || return 0
	timeout 10 tail --pid="$1" -s 0.05 -f /dev/null || kill -9 "$1"
}

# --- eni-agent ---------------------------------------------------------------

eni_fakes() {	# eni_fakes DIR: the fake cloud and API server for one run
	local d=$1
	mkdir -p "$d"
	cat >"$d/cloud.json" <<EOF
{
 "vswitches": [{"id": "vsw-a", "cidr": "192.168.0.0/22",
  "zone": "cn-hangzhou-h"}],
 "instanceTypes": {"ecs.g6.2xlarge": {"EniQuantity": 8,
  "EniPrivateIpAddressQuantity": 20, "EniTotalQuantity": 8}},
 "instances": [{"id": "i-node1", "type": "ecs.g6.2xlarge",
  "vswitch": "vsw-a", "netns": "$P-n1", "primary": {"ip": "192.168.0.11"},
  "ramRole": "KubernetesWorkerRole"}],
 "topology": {"vpcNetns": "$P-vpc"},
 "timing": {"attachMs": 50, "detachMs": 50, "routeMs": 50},
 "seed": 7
}
EOF
	python3 - "$PODS" >"$d/kube.json" <<'EOF' || return 1
import json, sys
n = int(sys.argv[1])
objs = [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node1"},
         "spec": {"podCIDR": "10.244.1.0/24"}}]
objs += [{"apiVersion": "v1", "kind": "Pod",
          "metadata": {"name": "p%d" % i, "namespace": "default"},
          "spec": {"nodeName": "node1",
                   "containers": [{"name": "c", "image": "x"}]}}
         for i in range(n)]
print(json.dumps({"objects": objs}))
EOF
	"$FAKE/start.sh" aliyun "$d" "$d/cloud.json" >"$d/fake.out" 2>&1 &&
		"$FAKE/start.sh" kube "$d" "$d/kube.json" >>"$d/fake.out" 2>&1 ||
		{ "$FAKE/start.sh" stop "$d"; die "fakes: $(cat "$d/fake.out")"; }
}

idle_ok() {	# the pool is within [min, max] and no call is pending
	local i
	i=$("$1" eni-agent call -s "$2" info |
		jq -r '"\(.pool.inuse) \(.pool.idle)"') || return 1
	[ "${i% *}" = "$PODS" ] && [ "${i#* }" -ge 2 ] && [ "${i#* }" -le 5 ]
}

eni_agent() {	# eni_agent BUILD BINARY
	local d=$T/eni-$1 bin=$2 sock pid i pids=()
	sock=$d/agent.sock
	mkns vpc && mkns n1 || die "netns"
	eni_fakes "$d"
	on_exit "'$FAKE/start.sh' stop '$d'"
	# shellcheck disable=SC1091
	( . "$d/aliyun.env" && . "$d/kube.env" && cat >"$d/agent.json" <<EOF
{"openapi_endpoint": "$FAKE_ALIYUN_URL", "ca_file": "$FAKE_CA",
 "metadata_endpoint": "$FAKE_METADATA_URL_I_NODE1",
 "kube_server": "$FAKE_KUBE_URL", "kube_token_file": "$FAKE_KUBE_TOKEN_FILE",
 "kube_ca_file": "$FAKE_CA", "node_name": "node1", "socket": "$sock",
 "state_dir": "$d/state", "link_netns": "/run/netns/$P-n1",
 "min_pool_size": 2, "max_pool_size": 5, "metrics_port": 0,
 "service_cidr": "10.96.0.0/12", "alloc_timeout": "60s"}
EOF
	) || die "config"
	setsid "$bin" eni-agent run --config "$d/agent.json" \
		>"$d/agent.log" 2>&1 </dev/null &
	pid=$!
	on_exit "kill -9 $pid"
	wait_for 20 "$bin" eni-agent call -s "$sock" -T 2 info ||
		die "eni-agent ($1) did not start: $(tail -n 5 "$d/agent.log")"
	for i in $(seq 0 $((PODS - 1))); do	# 10 CNI ADDs at a time
		"$bin" eni-agent call -s "$sock" -T 60 alloc containerID=c-p$i \
			ifname=eth0 namespace=default name=p$i \
			netns=/var/run/netns/cni-$i >"$d/a.$i" 2>&1 &
		pids+=($!)
		[ ${#pids[@]} -lt 10 ] && continue
		wait "${pids[@]}"
		pids=()
	done
	[ ${#pids[@]} = 0 ] || wait "${pids[@]}"
	[ "$(grep -l '"ok":true' "$d"/a.* | wc -l)" = "$PODS" ] ||
		die "eni-agent ($1): allocations failed: $(grep -vh '"ok":true' \
			"$d"/a.* | head -n 3)"
	wait_for 30 idle_ok "$bin" "$sock" ||
		die "eni-agent ($1): pool did not settle"
	sleep 1
	row eni-agent "$1" "$pid" "$PODS"
	stop_pid "$pid"
	"$FAKE/start.sh" stop "$d"
	ip netns del "$P-n1" 2>/dev/null
	ip netns del "$P-vpc" 2>/dev/null
}

# --- netpolicy run ------------------------------------------------------------

synced() { grep -q ' synced reason=' "$1"; }

netpolicy() {	# netpolicy BUILD BINARY
	local d=$T/np-$1 bin=$2 pid
	mkdir -p "$d"
	mkns np || die "netns"
	python3 "$TOP/test/bench/np_gen.py" --pods "$PODS" --policies "$POLS" \
		--namespaces 10 --nodes 1 | jq '{objects: .items}' \
		>"$d/kube.json" || die "np_gen.py"
	FAKE_NETNS=$P-np "$FAKE/start.sh" kube "$d" "$d/kube.json" \
		>"$d/fake.out" 2>&1 || die "fake: $(cat "$d/fake.out")"
	on_exit "'$FAKE/start.sh' stop '$d'"
	# shellcheck disable=SC1091
	. "$d/kube.env"
	ip netns exec "$P-np" "$bin" netpolicy run --server "$FAKE_KUBE_URL" \
		--token-file "$FAKE_KUBE_TOKEN_FILE" --ca-file "$FAKE_CA" \
		--node node-0 --no-br-netfilter >"$d/run.log" 2>&1 &
	pid=$!
	on_exit "kill -9 $pid"
	wait_for 30 synced "$d/run.log" ||
		die "netpolicy run ($1) did not sync: $(tail -n 5 "$d/run.log")"
	grep -q " local=$PODS " "$d/run.log" ||
		die "netpolicy run ($1): not $PODS local pods: $(grep synced "$d/run.log")"
	sleep 1
	row "netpolicy" "$1" "$pid" "$PODS"
	stop_pid "$pid"
	"$FAKE/start.sh" stop "$d" kube
	ip netns del "$P-np" 2>/dev/null
}

# --- main -----------------------------------------------------------------

[ "$(id -u)" = 0 ] || die "run as root"
[ -x "$VPCNET" ] || die "no $VPCNET: run make"
command -v node >/dev/null && command -v jq >/dev/null ||
	die "node and jq are needed (make deps)"
BUILDS=("musl $VPCNET")
G=$TOP/build/glibc/vpcnet
# `make bench` builds it; run alone, the script measures what is there
if [ -x "$G" ]; then
	BUILDS+=("glibc $G")
else
	GNOTE="glibc build skipped: no $G (make build/glibc/vpcnet)"
fi
for b in "${BUILDS[@]}"; do
	eni_agent ${b% *} "${b#* }"
	netpolicy ${b% *} "${b#* }"
done
echo "daemon memory in steady state, $PODS pods (netpolicy: $POLS policies," \
	"10 namespaces); goal < $GOAL kB"
printf '| %-12s | %-6s | %4s | %8s | %8s | %-20s |\n' daemon build pods \
	"VmRSS kB" "VmHWM kB" "goal < 4 MB"
printf '|%s|%s|%s|%s|%s|%s|\n' --------------  -------- ------ ---------- \
	---------- ----------------------
printf '%s\n' "${ROWS[@]}"
[ -z "${GNOTE:-}" ] || echo "($GNOTE)"
