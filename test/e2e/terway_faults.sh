#!/bin/bash
# cni-terway and eni-agent under faults, with the real eni-agent against
# the fake cloud (test/fake/aliyun.js) and the fake Kubernetes API:
#  - ADDs killed with SIGKILL all along their code path, in eniip mode
#    (next to a live pod; bandwidth annotations, so tbf and ifb too) and
#    in vpc mode, each followed by the runtime's DEL (and CNI GC every
#    10): nothing is left in the agent (its state file, its counts), in
#    the state files, the lease store, the pod or the node's netns
#    (links, routes, rules, qdiscs, nft); ADDs of fresh pods then work.
#  - ADDs of exclusive-ENI pods (eni mode) killed all along their span
#    (the agent's worker creating and attaching the pod's ENI), each
#    followed by the runtime's DEL: once the worker is done, the agent
#    holds nothing for the pod, no exclusive ENI is left in the cloud,
#    the node holds the ENIs the cloud attached to it (no more, none in
#    a pod), no veth, route or rule.  The same made certain with an
#    attach the cloud holds back: an ADD killed while the worker attaches
#    its ENI, one while its request waits for the worker.  An eni pod
#    ADDed after works.
#  - ADDs and DELs in parallel loops while the agent is stopped (SIGTERM)
#    and killed (SIGKILL) and restarted: every pod added holds its IP in
#    the agent, no IP twice, none held for a pod deleted or whose ADD
#    failed (the runtime DELs it), the cloud holds the agent's IPs.
#  - The state directory (dataDir; vpc mode: also ipam.dataDir) on a
#    64 KiB tmpfs, full (before or after the pod is wired) or read-only:
#    ADD fails with code 5 (I/O) and leaves nothing (the agent holds no
#    IP for it, no link, rule, route or qdisc, no state file, temporary
#    or lease); its DEL succeeds; with room again an ADD works.
P=${P:-twf$(printf '%04x' $((RANDOM % 65536)))}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fake_lib.sh"
CLOUD=$T/cloud
NODE=$P-n1
NET=$P-tw
SOCK=$T/agent.sock
STATE=$T/state
TWD=$T/terway
IPAMD=$T/ipam
MIN=2 MAX=5
KILLS=100	# eniip ADDs killed (trials: more, some finish)
VKILLS=30	# vpc ADDs killed
XTRIALS=26	# eni ADDs killed at points over 0..1.2x their span
WORKERS=3 WPODS=5	# load: parallel loops, pods each
BW='{"k8s.aliyun.com/ingress-bandwidth": "10M",
	"k8s.aliyun.com/egress-bandwidth": "10M"}'

# TWF_KEEP=DIR: a copy of the logs and state there at the end (debugging)
[ -z "${TWF_KEEP:-}" ] || on_exit "cp -a '$T' '$TWF_KEEP'"

if command -v node >/dev/null && mkns vpc && mkns n1; then
	cloud_json "$NODE" "$P-vpc" '.timing.attachMs = 100 |
		.timing.detachMs = 100 | .faults.latencyMs = 10' \
		>"$T/cloud.json"
	cat >"$T/kube.json" <<EOF
{"objects": [{"apiVersion": "v1", "kind": "Node",
  "metadata": {"name": "node1"}, "spec": {"podCIDR": "10.244.1.0/24"}}]}
EOF
	fakes_up "$CLOUD" "$T/cloud.json" "$T/kube.json"
fi
unset ALIBABA_CLOUD_ACCESS_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET

# ---- the agent ----------------------------------------------------------

# agent_start [EXTRA JSON MEMBERS]
agent_start() {
	local n=0 pid
	cat >"$T/agent.json" <<EOF
{"openapi_endpoint": "$FAKE_ALIYUN_URL", "ca_file": "$FAKE_CA",
 "metadata_endpoint": "$FAKE_METADATA_URL_I_NODE1",
 "kube_server": "$FAKE_KUBE_URL", "kube_token_file": "$FAKE_KUBE_TOKEN_FILE",
 "kube_ca_file": "$FAKE_CA", "node_name": "node1", "socket": "$SOCK",
 "state_dir": "$STATE", "link_netns": "/run/netns/$NODE",
 "min_pool_size": $MIN, "max_pool_size": $MAX, "metrics_port": 0,
 "service_cidr": "10.96.0.0/12", "gc_grace": "2s", "gc_interval": "200ms",
 "ip_pool_sync_period": "2s", "alloc_timeout": "20s",
 "log_level": "debug"${1:+, $1}}
EOF
	setsid "$VPCNET" eni-agent run --config "$T/agent.json" \
		>>"$T/agent.log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$T/agent.pid"
	until call -T 2 info >/dev/null 2>&1; do
		n=$((n + 1))
		[ $n -lt 200 ] && kill -0 "$pid" 2>/dev/null ||
			{ tail -n 20 "$T/agent.log"; fail "agent did not start"
			  return 1; }
		sleep 0.05
	done
}
on_exit '[ -f "$T/agent.pid" ] && kill -9 $(cat "$T/agent.pid")'

agent_stop() {	# agent_stop [SIGNAL]: and wait for its end
	local pid
	[ -f "$T/agent.pid" ] || return 0
	pid=$(cat "$T/agent.pid")
	kill -"${1:-TERM}" "$pid" 2>/dev/null
	timeout 10 tail --pid="$pid" -s 0.02 -f /dev/null
	rm -f "$T/agent.pid"
}

call() { "$VPCNET" eni-agent call -s "$SOCK" "$@"; }
info() { call -T 5 info | jq -r "$1"; }

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
idle_is() { [ "$(info .pool.idle)" = "$1" ]; }
inuse_is() { [ "$(info .pool.inuse)" = "$1" ]; }

# allocs: "containerID ip" of each allocation in the agent's state file
allocs() {
	[ -f "$STATE/state.json" ] || return 0
	jq -r '.allocs[] | "\(.containerID) \(.ip)"' "$STATE/state.json" |
		sort
}
held() { allocs | grep -c "^$1 "; }

ours() {	# our ENIs in the fake cloud: "id status nips" a line
	ctl GET /state | jq -r '.enis[] | select(any(.Tags.Tag[];
		.TagKey == "vpcnet.io/instance")) | [.NetworkInterfaceId,
		.Status, (.PrivateIpSets.PrivateIpSet | length)] | join(" ")'
}
cloud_ips() { ours | awk '{n += $3} END {print n + 0}'; }
cloud_ips_are() { [ "$(cloud_ips)" = "$1" ]; }

# the cloud holds what the agent counts, on attached ENIs only
cloud_is_agent() {
	local c a
	c=$(cloud_ips)
	a=$(call -T 5 info | jq '.pool.idle + .pool.inuse')
	[ "$c" = "$a" ] && ! ours | grep -qv InUse
}

# ---- pods and the plugin ---------------------------------------------------

# pods NAME... with the bandwidth annotations (or those of $ANN); netns each
pods() {
	local n
	jq -nc --argjson a "${ANN:-$BW}" '[$ARGS.positional[] |
		{apiVersion: "v1", kind: "Pod", metadata: {name: .,
		namespace: "default", annotations: $a},
		spec: {nodeName: "node1", containers: [{name: "c",
		image: "x"}]}}]' --args "$@" \
		>"$T/pods.json"
	kctl /apply @"$T/pods.json" || fail "kube: pods $*" || return 1
	for n in "$@"; do mkns "$n" || return 1; done
}

conf() {	# the CNI config
	cat >"$T/conf" <<EOF
{"cniVersion":"1.1.0","name":"$NET","type":"terway",
 "socket":"$SOCK","dataDir":"$TWD",
 "ipam":{"dataDir":"$IPAMD"},"timeoutMs":30000}
EOF
}

# cni VERB CID POD [TIMEOUT]: cni-terway in the node netns for pod
# default/POD; with TIMEOUT, SIGKILLed after that many seconds (timeout
# execs straight into env and the plugin: the delay is the plugin's)
cni() {
	local args="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$3"
	nsenter --net="/run/netns/$NODE" timeout --foreground -s KILL \
		"${4:-60}" env -i PATH="$PATH" CNI_COMMAND="$1" \
		CNI_CONTAINERID="$2" CNI_NETNS="/run/netns/$P-$3" \
		CNI_IFNAME=eth0 CNI_PATH=/opt/cni/bin \
		CNI_ARGS="$args;K8S_POD_INFRA_CONTAINER_ID=$2" \
		VPCNET_LOG_LEVEL=warn "$VPCNET" cni-terway <"${CONF:-$T/conf}"
}

gc() {	# gc VALID_CID...: CNI GC with those (eth0) attachments valid
	jq -c '.["cni.dev/valid-attachments"] = [$ARGS.positional[] |
		{containerID: ., ifname: "eth0"}]' "$T/conf" --args "$@" \
		>"$T/gc.conf"
	nsenter --net="/run/netns/$NODE" env -i PATH="$PATH" CNI_COMMAND=GC \
		CNI_PATH=/opt/cni/bin VPCNET_LOG_LEVEL=warn "$VPCNET" \
		cni-terway <"$T/gc.conf" >"$T/gc.out" 2>&1 ||
		fail "GC: $(cat "$T/gc.out")"
}

veth_of() {	# Terway's host veth name of pod default/POD
	echo "cali$(printf 'default.%s' "$1" | sha1sum | cut -c1-11)"
}
lease_of() { grep -l "^$1"$'\r' "$IPAMD/$NET"/* 2>/dev/null; }

# what the node's netns holds that a pod's ADD makes
node_objs() {
	local n=/run/netns/$NODE
	echo "veths=$(ip -n "$NODE" -o link show | grep -c ': cali')" \
		"ifbs=$(ip -n "$NODE" -o link show type ifb | wc -l)" \
		"rules=$(ip -n "$NODE" rule show | grep -cE '^(512|2048):')" \
		"routes=$(ip -n "$NODE" -4 route show table all | grep -c cali)" \
		"qdiscs=$(tc -n "$NODE" qdisc show | grep -cE \
			'qdisc (tbf|ingress)')" \
		"nft=$(nsenter --net="$n" nft list ruleset | wc -l)"
}
states() { ls -A "$TWD" 2>/dev/null | grep -vx '\.vpcnet\.lock'; }

# nothing of CID is left, the node holds what it held before ($BASE)
left_nothing() {
	local cid=$1 pod=$2
	expect_eq "$cid: held in the agent" "$(held "$cid")" 0
	expect_eq "$cid: agent in use" "$(info .pool.inuse)" "$BASE_INUSE"
	expect_eq "$cid: node" "$(node_objs)" "$BASE"
	expect_eq "$cid: state files" "$(states | xargs)" "$BASE_STATES"
	expect_eq "$cid: lease" "$(lease_of "$cid")" ""
	ip -n "$P-$pod" link show eth0 >/dev/null 2>&1 &&
		fail "$cid: eth0 left in $pod"
	return 0
}

# ---- ADDs killed -------------------------------------------------------------

# how long the plugin runs in an ADD (us, add_span of 6); $span names
# the pods
span_add() { cni ADD "m$1-$span" k0 >/dev/null || fail "ADD m$1"; }
span_del() { cni DEL "m$1-$span" k0 >/dev/null || fail "DEL m$1"; }

secs() { echo "$(($1 / 1000000)).$(printf %06d $(($1 % 1000000)))"; }

# one trial: an ADD killed after US microseconds; what it left; DEL
ktrial() {
	local cid=$1 pod=$2 us=$3 s rc
	cni ADD "$cid" "$pod" "$(secs "$us")" >"$T/kadd.out" 2>&1
	rc=$?
	KRC=$rc
	s=$([ $rc = 0 ] && echo done || echo killed)
	[ "$(held "$cid")" = 1 ] && s="$s+alloc"
	[ -e "$TWD/$cid@eth0" ] && s="$s+state"
	[ -n "$(lease_of "$cid")" ] && s="$s+lease"
	ip -n "$NODE" link show "$(veth_of "$pod")" >/dev/null 2>&1 &&
		s="$s+veth"
	ip -n "$P-$pod" link show eth0 >/dev/null 2>&1 && s="$s+eth0"
	[ "$(node_objs)" = "$BASE" ] || s="$s+node"
	HIST[$s]=$((${HIST[$s]:-0} + 1))
	# timeout --foreground: 137 when it killed the plugin
	case $rc in 0|124|137) ;; *) fail "$cid: ADD exit $rc: $(cat \
		"$T/kadd.out")" ;; esac
	cni DEL "$cid" "$pod" >"$T/del.out" 2>&1 ||
		fail "$cid: DEL after a kill at ${us}us: $(cat "$T/del.out")"
	left_nothing "$cid" "$pod"
}

# kill_phase NAME KILLS VALID...: trials until KILLS ADDs were killed,
# the delay stepping over the ADD's span (a finer offset on each pass),
# CNI GC every 10 with VALID
kill_phase() {
	local name=$1 want=$2 d i=0 j us killed=0
	shift 2
	d=$(span=$name add_span "$NODE" 6 span_add span_del) || return 1
	echo "# $name: ADD takes ${d}us or more, kills spread over 0..1.2x that" \
		>>"$T/notes"
	BASE=$(node_objs) BASE_INUSE=$(info .pool.inuse)
	BASE_STATES=$(states | xargs)
	declare -gA HIST=()
	while [ $killed -lt "$want" ]; do
		[ $i -lt $((want * 3)) ] || {
			fail "$name: only $killed kills in $i trials"
			return 1
		}
		j=$((i % 50))
		us=$((1 + j * d / 40 + (i / 50) * d / 120))
		ktrial "$name$i" "k$((i % 4))" $us || return 1
		[ $TFAIL = 0 ] || return 1
		[ "$KRC" = 0 ] || killed=$((killed + 1))
		i=$((i + 1))
		[ $((i % 10)) != 0 ] || gc "$@" || return 1
	done
	echo "# $name: $i trials, $killed killed; what each left before" \
		"its DEL:" >>"$T/notes"
	for j in "${!HIST[@]}"; do echo "#   ${HIST[$j]} x $j"; done |
		sort -k4 >>"$T/notes"
	TRIALS=$((TRIALS + i))
}

setup() {
	need_fakes || return
	conf
	pods k0 k1 k2 k3 anchor f1 f2 || return 1
	agent_start || return 1
	wait_for "pool at min" idle_is $MIN || return 1
	cni ADD anchor anchor >"$T/res.anchor" ||
		fail "ADD anchor: $(cat "$T/res.anchor")"
}

eniip_kills() {
	need_fakes || return
	TRIALS=0
	kill_phase e $KILLS anchor || return 1
	expect_eq "anchor still held" "$(held anchor)" 1
}

ipof() { jq -r '.ips[0].address' "$T/res.$1" | cut -d/ -f1; }

pingok() {	# pingok FROM-POD TO-IP
	ip netns exec "$P-$1" ping -c1 -W2 "$2" >/dev/null ||
		fail "$1 -> $2: no ping"
}

after_kills() {
	need_fakes || return
	local p
	for p in f1 f2; do
		cni ADD "$p" "$p" >"$T/res.$p" ||
			fail "ADD $p after the kills: $(cat "$T/res.$p")" ||
			return 1
	done
	pingok f1 "$(ipof f2)"
	pingok f2 "$(ipof anchor)"
	expect_eq "distinct IPs" "$(for p in anchor f1 f2; do ipof $p; done |
		sort -u | wc -l)" 3
	expect_eq "agent's allocations" "$(allocs | xargs)" \
		"$(for p in anchor f1 f2; do echo "$p $(ipof $p)"; done | sort |
		xargs)"
	for p in f1 f2 anchor; do
		cni DEL "$p" "$p" >/dev/null || fail "DEL $p"
	done
	gc
	expect_eq "agent's allocations" "$(allocs)" ""
	expect_eq "in use" "$(info .pool.inuse)" 0
	expect_eq "node" "$(node_objs)" \
		"veths=0 ifbs=0 rules=0 routes=0 qdiscs=0 nft=0"
	expect_eq "state files" "$(states)" ""
}

# ---- the agent restarted under load -----------------------------------

# worker J: ADD or DEL (the pod is there or not) a random pod of its own,
# until $T/stop; a failed ADD is DELed, as the runtime does; the log says
# what happened: "ADD cid pod ip", "ADDFAIL cid", "DEL cid", "DELFAIL cid"
worker() {
	local j=$1 k n=0 cid pod
	local -a live=()
	while [ ! -e "$T/stop" ]; do
		k=$((RANDOM % WPODS))
		pod=w${j}p$k
		cid=${live[$k]:-}
		if [ -n "$cid" ]; then
			if cni DEL "$cid" "$pod" >"$T/w$j.out" 2>&1; then
				echo "DEL $cid"
				live[$k]=
			else
				echo "DELFAIL $cid $(head -c 300 "$T/w$j.out")"
			fi
			continue
		fi
		n=$((n + 1))
		cid=c-$pod-$n
		if cni ADD "$cid" "$pod" >"$T/w$j.out" 2>&1; then
			echo "ADD $cid $pod $(jq -r '.ips[0].address' \
				"$T/w$j.out" | cut -d/ -f1)"
			live[$k]=$cid
			continue
		fi
		echo "ADDFAIL $cid $(head -c 300 "$T/w$j.out" | tr '\n' ' ')"
		if cni DEL "$cid" "$pod" >"$T/w$j.out" 2>&1; then
			echo "DEL $cid"
		else
			echo "DELFAIL $cid $(head -c 300 "$T/w$j.out")"
		fi
	done >>"$T/load.$j" 2>&1
}

adds() { cat "$T"/load.* 2>/dev/null | grep -c '^ADD '; }
adds_over() { [ "$(adds)" -gt "$1" ]; }

# live: "cid ip" of the pods whose last word was a successful ADD
live() {
	cat "$T"/load.* | awk '$1 == "ADD" {ip[$2] = $4}
		$1 == "DEL" {delete ip[$2]}
		END {for (c in ip) print c, ip[c]}' | sort
}

restarts() {
	need_fakes || return
	local j sig pids="" a
	pods $(for j in $(seq $WORKERS); do for a in $(seq 0 $((WPODS - 1)))
		do echo "w${j}p$a"; done; done) || return 1
	rm -f "$T/stop" "$T"/load.*
	for j in $(seq $WORKERS); do
		worker "$j" &
		pids="$pids $!"
	done
	on_exit "touch '$T/stop'; kill $pids"
	for sig in KILL TERM KILL KILL KILL KILL; do
		a=$(adds)
		wait_for "ADDs before a SIG$sig" adds_over $((a + 8)) || break
		sleep "0.0$((RANDOM % 10))"	# jitter: a random point
		echo "# SIG$sig after $(adds) ADDs: $(info \
			'"idle \(.pool.idle), in use \(.pool.inuse)"')" >>"$T/notes"
		agent_stop $sig
		agent_start || break
	done
	a=$(adds)
	wait_for "ADDs after the restarts" adds_over $((a + 8))
	touch "$T/stop"
	wait $pids
	echo "# load: $(cat "$T"/load.* | grep -c '^ADD ') ADDs," \
		"$(cat "$T"/load.* | grep -c '^ADDFAIL') failed," \
		"$(cat "$T"/load.* | grep -c '^DEL ') DELs;" \
		"$(live | wc -l) pods up" >>"$T/notes"
	[ $TFAIL = 0 ] || return 1
	grep -h DELFAIL "$T"/load.* | head -n 5 | grep . &&
		fail "DELs failed"
	return 0
}

# the agent holds exactly the IPs of the pods up, each once
after_restarts() {
	need_fakes || return
	local n cid ip pod
	gc $(live | awk '{print $1}') || return 1
	n=$(live | wc -l)
	expect_eq "the agent's allocations are the pods up" "$(allocs)" \
		"$(live)" || return 1
	expect_eq "distinct IPs" "$(live | awk '{print $2}' | sort -u |
		wc -l)" "$n" || return 1
	while read -r cid ip; do
		pod=${cid#c-}
		ip -n "$P-${pod%-*}" -4 -o addr show dev eth0 2>&1 |
			grep -q " $ip/32 " || fail "$cid: $ip not on its eth0"
	done < <(live)
	wait_for "in use = $n pods" inuse_is "$n" || return 1
	expect_eq "the pods' IPs assigned in the cloud" "$(ctl GET /state |
		jq -r '.enis[].PrivateIpSets.PrivateIpSet[].PrivateIpAddress' |
		grep -cxFf <(live | awk '{print $2}'))" "$n" || return 1
	wait_for "the cloud holds the agent's IPs" cloud_is_agent ||
		fail "cloud: $(ours | xargs); agent: $(call info)"
}

del_all() {
	need_fakes || return
	local cid pod
	while read -r cid _; do
		pod=${cid#c-}
		pod=${pod%-*}
		cni DEL "$cid" "$pod" >"$T/del.out" 2>&1 ||
			fail "DEL $cid: $(cat "$T/del.out")"
	done < <(live)
	gc
	expect_eq "agent's allocations" "$(allocs)" "" &&
	expect_eq "state files" "$(states)" "" &&
	expect_eq "node" "$(node_objs)" \
		"veths=0 ifbs=0 rules=0 routes=0 qdiscs=0 nft=0" || return 1
	wait_for "in use 0" inuse_is 0 || return 1
	wait_for "idle = max" idle_is $MAX || return 1
	wait_for "the cloud holds max IPs" cloud_ips_are $MAX
	wait_for "the cloud holds the agent's IPs" cloud_is_agent ||
		fail "cloud: $(ours | xargs); agent: $(call info)"
}

# ---- eni mode: exclusive ENIs ----------------------------------------------

XANN='{"k8s.aliyun.com/eni": "true"}'

excl() {	# our exclusive ENIs in the fake cloud: "id status mac" a line
	ctl GET /state | jq -r '.enis[] | select(any(.Tags.Tag[];
		.TagKey == "vpcnet.io/mode" and .TagValue == "eni")) |
		[.NetworkInterfaceId, .Status, (.MacAddress | ascii_downcase)] |
		join(" ")'
}
no_excl() { [ -z "$(excl)" ]; }

# MACs of the ENIs the cloud has attached to the node (primary included)
# and of the links in the node's netns that are not pods' veths
cloud_macs() {
	ctl GET /state | jq -r '.enis[] | select(.InstanceId == "i-node1" and
		.Status == "InUse") | .MacAddress | ascii_downcase' | sort
}
node_macs() {
	ip -j -n "$NODE" link show | jq -r '.[] | select(.ifname != "lo" and
		(.ifname | startswith("cali") | not)) | .address' | sort
}

# the agent's log since the eni section began: an exclusive ENI asked for
# CID ("creating"), and its outcome: the worker's (made, made and deleted
# as released meanwhile, failed), or the request dropped by a release
# before the worker took it
xlog() { tail -n "+$XLOG0" "$T/agent.log"; }
asked() { xlog | grep -c "container=$1: creating an exclusive ENI"; }
worker_done() {
	[ "$(xlog | grep -c "container=$1: exclusive ENI")" -ge \
		"$(asked "$1")" ]
}

# after a DEL of CID: the worker done, no exclusive ENI left in the cloud,
# the node's ENI links are the cloud's attached ENIs, nothing else left
xsettled() {
	local cid=$1 pod=$2
	wait_for "the agent's worker done with $cid" worker_done "$cid" ||
		return 1
	wait_for "no exclusive ENI in the cloud" no_excl ||
		fail "$cid: exclusive ENIs left: $(excl | xargs)" || return 1
	expect_eq "$cid: the node's ENI links are the cloud's" \
		"$(node_macs | xargs)" "$(cloud_macs | xargs)"
	expect_eq "$cid: the cloud holds the agent's ENIs" \
		"$(ours | grep -c InUse)" "$(info .pool.enis)"
	wait_for "the cloud holds the agent's IPs" cloud_is_agent ||
		fail "cloud: $(ours | xargs); agent: $(call info)"
	left_nothing "$cid" "$pod"
}

# how long the plugin runs in an eni ADD (us, add_span of 3); each DEL
# waits until the agent's worker is done
xspan_add() {
	cni ADD "xm$1" x0 >"$T/xm.out" || fail "ADD xm$1: $(cat "$T/xm.out")"
}
xspan_del() {
	cni DEL "xm$1" x0 >/dev/null || fail "DEL xm$1" || return 1
	xsettled "xm$1" x0 >&2
}

# one trial: an eni ADD killed after US microseconds; what it left (quick
# looks: the DEL follows soon, mostly while the agent's worker still makes
# the ENI); the runtime's DEL; once the worker is done, nothing left
xtrial() {
	local cid=$1 pod=$2 us=$3 s rc
	cni ADD "$cid" "$pod" "$(secs "$us")" >"$T/kadd.out" 2>&1
	rc=$?
	KRC=$rc
	s=$([ $rc = 0 ] && echo done || echo killed)
	[ "$(asked "$cid")" = 0 ] || s="$s+asked"
	[ "$(held "$cid")" = 1 ] && s="$s+alloc"
	[ -e "$TWD/$cid@eth0" ] && s="$s+state"
	ip -n "$P-$pod" link show eth0 >/dev/null 2>&1 && s="$s+eth0"
	HIST[$s]=$((${HIST[$s]:-0} + 1))
	case $rc in 0|124|137) ;; *) fail "$cid: ADD exit $rc: $(cat \
		"$T/kadd.out")" ;; esac
	cni DEL "$cid" "$pod" >"$T/del.out" 2>&1 ||
		fail "$cid: DEL after a kill at ${us}us: $(cat "$T/del.out")"
	# the ENI is attached until the agent has the release: DEL finds it
	grep -q ENI "$T/del.out" && fail "$cid: DEL: $(cat "$T/del.out")"
	ip -n "$P-$pod" link show eth0 >/dev/null 2>&1 &&
		fail "$cid: eth0 left in $pod after DEL"
	xsettled "$cid" "$pod"
}

xsetup() {
	need_fakes || return
	# a quick cloud: the section stays short
	ctl POST /timing '{"attachMs": 50, "detachMs": 50}' >/dev/null &&
		ctl POST /faults '{"latencyMs": 5}' >/dev/null ||
		fail "fake cloud timing" || return 1
	XLOG0=$(($(wc -l <"$T/agent.log") + 1))
	ANN=$XANN pods x0 x1 x2 x3 xf && ANN='{}' pods xa || return 1
	cni ADD xa xa >"$T/res.xa" || fail "ADD xa: $(cat "$T/res.xa")"
}

eni_kills() {
	need_fakes || return
	local d i us killed=0
	BASE=$(node_objs) BASE_INUSE=$(info .pool.inuse)
	BASE_STATES=$(states | xargs)
	d=$(add_span "$NODE" 3 xspan_add xspan_del) || return 1
	echo "# x: eni ADD takes ${d}us or more, kills spread over 0..1.2x" \
		"that" >>"$T/notes"
	declare -gA HIST=()
	for ((i = 0; i < XTRIALS; i++)); do
		us=$((1 + i * d * 6 / 5 / (XTRIALS - 1)))
		xtrial "x$i" "x$((i % 4))" $us || return 1
		[ $TFAIL = 0 ] || return 1
		[ "$KRC" = 0 ] || killed=$((killed + 1))
		[ $(((i + 1) % 10)) != 0 ] || gc xa || return 1
	done
	echo "# x: $XTRIALS trials, $killed killed; $(xlog | grep -c \
		'released meanwhile') released while the worker made the" \
		"ENI; what each left before its DEL:" >>"$T/notes"
	for i in "${!HIST[@]}"; do echo "#   ${HIST[$i]} x $i"; done |
		sort -k4 >>"$T/notes"
	TRIALS=$((${TRIALS:-0} + XTRIALS))
	expect_eq "xa still held" "$(held xa)" 1
}

is_asked() { [ "$(asked "$1")" -ge 1 ]; }
attaching() { excl | grep -q ' Attaching '; }
# the pid of the plugin run for container CID (its environment names it)
plugin_pid() {
	grep -lzx "CNI_CONTAINERID=$1" /proc/[0-9]*/environ 2>/dev/null |
		cut -d/ -f3
}

# The race made certain: the cloud holds every attach until told.  xw1's
# ADD is killed while the worker waits for the attach of its ENI, xw2's
# while its request waits for the worker; the runtime DELs both; then the
# attach completes: xw1's ENI is deleted, xw2's never made.
xrace() {
	need_fakes || return
	local j pid jobs=""
	ctl POST /faults '{"attachNeverCompletes": true}' >/dev/null ||
		fail "fake cloud faults" || return 1
	for j in 1 2; do
		cni ADD "xw$j" "x$j" >/dev/null 2>&1 &
		jobs="$jobs $!"
		wait_for "xw$j's request in the agent" is_asked "xw$j" ||
			return 1
		[ $j = 2 ] || wait_for "xw1's ENI attaching" attaching ||
			return 1
	done
	for j in 1 2; do
		pid=$(plugin_pid "xw$j")
		[ -n "$pid" ] || fail "xw$j: no plugin process" || return 1
		kill -9 $pid
	done
	wait $jobs
	for j in 2 1; do
		cni DEL "xw$j" "x$j" >"$T/del.out" 2>&1 ||
			fail "DEL xw$j: $(cat "$T/del.out")"
	done
	xlog | grep -q 'container=xw2: exclusive ENI request dropped' ||
		fail "xw2's waiting request not dropped by its DEL"
	ctl POST /faults '{"attachNeverCompletes": false}' >/dev/null &&
		ctl POST /settle >/dev/null || fail "fake cloud settle" ||
		return 1
	xsettled xw1 x1 && xsettled xw2 x2 || return 1
	xlog | grep -q 'container=xw1: exclusive ENI eni-.*released mean' ||
		fail "xw1's ENI: $(xlog | grep 'container=xw1:')"
	expect_eq "xw2: ENIs made" \
		"$(xlog | grep -c 'container=xw2: exclusive ENI eni-')" 0
}

eni_after() {
	need_fakes || return
	local mac
	cni ADD xf xf >"$T/res.xf" || fail "ADD xf: $(cat "$T/res.xf")" ||
		return 1
	jq -e '.interfaces | length == 3' "$T/res.xf" >/dev/null ||
		fail "not an eni result: $(cat "$T/res.xf")" || return 1
	mac=$(ip netns exec "$P-xf" cat /sys/class/net/eth0/address)
	expect_eq "xf's eth0 is its exclusive ENI" \
		"$(excl | awk '{print $2, $3}')" "InUse $mac" || return 1
	pingok xf "$(ipof xa)"
	pingok xa "$(ipof xf)"
	cni DEL xf xf >"$T/del.out" 2>&1 || fail "DEL xf: $(cat "$T/del.out")"
	grep -q ENI "$T/del.out" && fail "DEL xf: $(cat "$T/del.out")"
	ip -n "$P-xf" link show eth0 >/dev/null 2>&1 && fail "eth0 left in xf"
	wait_for "xf's ENI deleted" no_excl || return 1
	cni DEL xa xa >/dev/null || fail "DEL xa"
	gc
	expect_eq "agent's allocations" "$(allocs)" ""
	expect_eq "in use" "$(info .pool.inuse)" 0
	expect_eq "node" "$(node_objs)" \
		"veths=0 ifbs=0 rules=0 routes=0 qdiscs=0 nft=0"
	expect_eq "state files" "$(states)" ""
	expect_eq "the node's ENI links are the cloud's" \
		"$(node_macs | xargs)" "$(cloud_macs | xargs)"
	expect_eq "ENIs the agent's GC or reconcile had to clean up" \
		"$(xlog | grep -E 'gc: (exclusive ENI|ENI .* is ours)')" ""
	ctl POST /timing '{"attachMs": 100, "detachMs": 100}' >/dev/null &&
		ctl POST /faults '{"latencyMs": 10}' >/dev/null ||
		fail "fake cloud timing"
}

# ---- vpc mode ----------------------------------------------------------

vpc_kills() {
	need_fakes || return
	agent_stop
	agent_start "\"mode\": \"vpc\", \"cluster_cidr\": \"10.244.0.0/16\",
		\"subnet_file\": \"$T/flannel/subnet.env\"" || return 1
	cni ADD anchor anchor >"$T/res.anchor" ||
		fail "ADD anchor: $(cat "$T/res.anchor")" || return 1
	kill_phase v $VKILLS anchor || return 1
	expect_eq "anchor's lease" "$(lease_of anchor | wc -l)" 1
}

vpc_after() {
	need_fakes || return
	cni ADD f1 f1 >"$T/res.f1" || fail "ADD f1: $(cat "$T/res.f1")" ||
		return 1
	pingok f1 "$(ipof anchor)"
	cni DEL f1 f1 >/dev/null && cni DEL anchor anchor >/dev/null ||
		fail "DEL"
	gc
	expect_eq "leases" "$(ls -A "$IPAMD/$NET" | grep -v \
		-e '^lock$' -e '^last_reserved_ip\.0$')" ""
	expect_eq "state files" "$(states)" ""
	expect_eq "node" "$(node_objs)" \
		"veths=0 ifbs=0 rules=0 routes=0 qdiscs=0 nft=0"
}

# What a kill leaves at the two narrowest points, made by hand: a state
# file's temporary (killed in statefile_write) and a vpc lease with no
# state file yet (killed between the lease and the first state write).
leftovers() {
	need_fakes || return
	local d=$TWD
	cni ADD g1 k0 >/dev/null || fail "ADD g1" || return 1
	cp "$d/g1@eth0" "$d/.g1@eth0.tmpAAAAAA" &&
		cp "$d/g1@eth0" "$d/.g2@eth0.tmpBBBBBB" &&
		: >"$d/.g3@eth0.tmpCCCCCC" || return 1
	gc g1 || return 1
	expect_eq "after GC (g1 valid)" "$(ls -A "$d" | grep tmp | xargs)" \
		".g1@eth0.tmpAAAAAA"
	cni DEL g1 k0 >/dev/null || fail "DEL g1"
	expect_eq "after DEL" "$(ls -A "$d" | grep tmp | xargs)" ""
	printf 'g4\r\neth0' >"$IPAMD/$NET/10.244.1.200"
	cni DEL g4 k1 >/dev/null || fail "DEL g4"
	expect_eq "lease without a state file, after DEL" "$(lease_of g4)" ""
	expect_eq "state files" "$(states)" ""
}

# ---- full and read-only state directories ------------------------------

SMALL=$T/small	# a 64 KiB tmpfs: dataDir or ipam.dataDir on it

# sconf WHICH: $T/conf.small, the state (tw) or lease (ipam) dataDir on
# the tmpfs
sconf() {
	case $1 in
	tw) datadirs "$T/conf" "$SMALL/tw" "$IPAMD" ;;
	ipam) datadirs "$T/conf" "$TWD" "$SMALL/ipam" ;;
	esac >"$T/conf.small"
}

# nothing of f1 anywhere: agent, node, pod, state files and their
# temporaries, leases (both places)
small_clean() {
	local d
	expect_eq "held in the agent" "$(held f1)" 0
	expect_eq "agent in use" "$(info .pool.inuse)" "$BASE_INUSE"
	expect_eq "node" "$(node_objs)" "$BASE"
	ip -n "$P-f1" link show eth0 >/dev/null 2>&1 && fail "eth0 left in f1"
	expect_eq "state files" "$(states | xargs)" "$BASE_STATES"
	expect_eq "state files on the tmpfs" "$(ls -A "$SMALL/tw" 2>/dev/null |
		grep -vx '\.vpcnet\.lock' | xargs)" ""
	d=$(ls -A "$IPAMD/$NET" "$SMALL/ipam/$NET" 2>/dev/null | grep -v \
		-e '^$' -e ':$' -e '^lock$' -e '^last_reserved_ip\.0$')
	expect_eq "leases" "$(echo $d)" ""
}

# sadd_fails WHY: ADD f1 fails with a spec error, code 5; nothing left;
# its DEL (as the runtime's) succeeds and leaves nothing
sadd_fails() {
	local out
	out=$(CONF=$T/conf.small cni ADD f1 f1 2>"$T/err") &&
		{ fail "$1: ADD succeeded: $out"; return 1; }
	echo "$out" | jq -e '.cniVersion == "1.1.0" and .code == 5 and
		(.msg | length > 0)' >/dev/null ||
		fail "$1: want a code 5 error, got: $out $(cat "$T/err")"
	echo "# $1: $(echo "$out" | jq -c '{code, msg}')" >>"$T/notes"
	small_clean
	CONF=$T/conf.small cni DEL f1 f1 >"$T/del.out" 2>&1 ||
		fail "$1: DEL: $(cat "$T/del.out")"
	small_clean
}

sadd_works() {
	CONF=$T/conf.small cni ADD f1 f1 >"$T/res.f1" 2>&1 ||
		fail "ADD $1: $(cat "$T/res.f1")" || return 1
	CONF=$T/conf.small cni DEL f1 f1 >"$T/del.out" 2>&1 ||
		fail "DEL $1: $(cat "$T/del.out")"
	small_clean
}

# sfill [PAGES]: fill the tmpfs, leaving PAGES (4 KiB) free
sfill() {
	dd if=/dev/zero of="$SMALL/fill" bs=4k >/dev/null 2>&1
	[ "${1:-0}" = 0 ] || truncate -s "-$(($1 * 4096))" "$SMALL/fill"
}

# an ifindex just taken in the node's netns (they only grow): a veth
# pair made and deleted; between two calls, 2 + the links made meanwhile
ifx() {
	ip -n "$NODE" link add "$P-ix" type veth peer name "$P-iy" &&
		ip -n "$NODE" -o link show | cut -d: -f1 | sort -n | tail -n1 &&
		ip -n "$NODE" link del "$P-ix"
}

# full WHICH PAGES: the tmpfs full but PAGES; state writes take a page
# each (the temporary next to the file it replaces): 0 pages fails the
# first state write (nothing wired yet), 1 the second (after the wiring:
# veth and ifb made, torn down by the rollback)
full() {
	need_fakes || return
	local i0 made
	sconf "$1"
	BASE=$(node_objs) BASE_INUSE=$(info .pool.inuse)
	BASE_STATES=$(states | xargs)
	sadd_works "before filling" || return 1	# dirs, locks
	sfill "$2"
	i0=$(ifx) || return 1
	sadd_fails "$MODE: $1 dataDir full ($2 pages free)"
	made=$(($(ifx) - i0 - 2))
	echo "#   the ADD made $made links before it failed" >>"$T/notes"
	if [ "$1$2" = tw1 ]; then
		[ $made -gt 0 ] || fail "the ADD failed before the wiring"
	else
		expect_eq "links the failed ADD made" $made 0
	fi
	rm -f "$SMALL/fill"
	sadd_works "after freeing space"
}

ro() {
	need_fakes || return
	sconf "$1"
	BASE=$(node_objs) BASE_INUSE=$(info .pool.inuse)
	BASE_STATES=$(states | xargs)
	sadd_works "before remounting ro" || return 1
	mount -o remount,ro "$SMALL" || return 1
	sadd_fails "$MODE: $1 dataDir read-only"
	mount -o remount,rw "$SMALL" || return 1
	sadd_works "after remounting rw"
}

T0=$(date +%s)
testing "setup: agent (eniip), pods, an anchor pod up" setup
testing "eniip: $KILLS+ ADDs killed at spread points: DEL, GC leave nothing" \
	eniip_kills
testing "eniip: ADDs after the kills work; then nothing is left" after_kills
testing "agent restarted (SIGTERM, SIGKILL) under $WORKERS ADD/DEL loops" \
	restarts
testing "after the restarts: the agent holds the pods' IPs, once each" \
	after_restarts
testing "DEL all: nothing held, the cloud back to max idle IPs" del_all
MODE=eniip
TS=$(date +%s)
testing "mount a 64 KiB tmpfs" small_tmpfs "$SMALL"
testing "eniip: dataDir full: code 5, nothing left; DEL; then ADD works" \
	full tw 0
testing "eniip: dataDir full after the wiring: code 5, all rolled back" \
	full tw 1
testing "eniip: dataDir read-only: code 5, nothing left; DEL; then ADD works" \
	ro tw
TS=$(($(date +%s) - TS))
testing "eni: setup: eni pods, an eniip pod up" xsetup
testing "eni: $XTRIALS ADDs killed at spread points: DEL leaves nothing" \
	eni_kills
testing "eni: ADDs killed while their ENI attaches and while they wait" \
	xrace
testing "eni: an eni ADD after the kills works, pings; then nothing is left" \
	eni_after
testing "vpc: $VKILLS+ ADDs killed at spread points: DEL and GC leave nothing" \
	vpc_kills
testing "vpc: an ADD after the kills works; then nothing is left" vpc_after
testing "a killed ADD's state temporary and lease: DEL and GC remove them" \
	leftovers
MODE=vpc
TS0=$(date +%s)
testing "vpc: ipam.dataDir full: code 5, nothing left; DEL; then ADD works" \
	full ipam 0
testing "vpc: dataDir full after the lease: code 5, lease released" \
	full tw 0
testing "vpc: dataDir full after the wiring: code 5, all rolled back" \
	full tw 1
testing "vpc: ipam.dataDir read-only: code 5, nothing left; DEL; ADD works" \
	ro ipam
echo "# full and read-only dataDirs: $((TS + $(date +%s) - TS0)) s"
cat "$T/notes" 2>/dev/null
echo "# $TRIALS killed-ADD trials in all; $(($(date +%s) - T0)) s"
agent_stop
finish
