#!/bin/bash
# netlink
# cni-terway verbs and failures, eni-agent played by test/fake/fake_agent.js:
# VERSION, result shapes, the state file, STATUS (50 while the agent is
# down), ADD with the agent down or hanging (code 11, bounded), the
# agent's error and malformed answers, bad config and CNI_ARGS (clean
# errors, nothing left, the agent never asked), DEL with the agent down
# (release kept and retried by DEL or GC), GC.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/terway_lib.sh"

MAC1=02:00:00:00:01:01

eniip() {
	jq -nc --arg ip "$1" --arg mac $MAC1 --argjson t "$TBL" \
		'{mode: "eniip", ip: ($ip + "/24"), gateway: "10.0.1.253",
		  eni: {id: "eni-1", mac: $mac}, table: $t}'
}

setup() {
	vpc_up || return 1
	eni_link eth1 $MAC1 eni1 10.0.1.253 || return 1
	TBL=$(eni_table eth1 10.0.1.253) || return 1
	jq -n --argjson a "$(eniip 10.0.1.20)" '{default: $a}' >"$ANS"
	mkns p || return 1
	agent_start || return 1
	terway_conf 1.1.0 >"$T/conf"
}

# ms CMD...: run CMD, print its duration in ms on fd 3
ms() {
	local t0 t1 rc
	t0=$(date +%s%N)
	"$@"
	rc=$?
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000)) >&3
	return $rc
}

version_verb() {
	expect_eq version "$(echo '{"cniVersion":"0.4.0"}' |
		tw VERSION "" "" "" | jq -c .)" \
		'{"cniVersion":"0.4.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}'
}

result_shapes_and_state() {
	local out f
	out=$(terway_conf 0.3.1 | tw ADD c-v p eth0 2>/dev/null) ||
		fail "ADD 0.3.1: $out" || return 1
	expect_eq "0.3.1 ips.version" "$(echo "$out" | jq -r .ips[0].version)" \
		4 || return 1
	f=$TW_DATA/c-v@eth0
	expect_eq "state mode" "$(stat -c %a "$f")" 600 &&
	expect_eq "state" "$(jq -c '[.mode, .ip, .hostVeth, .table,
		.releasePending]' "$f")" \
		"[\"eniip\",\"10.0.1.20/32\",\"$(veth_name default p)\",$TBL,false]" ||
		return 1
	out=$(terway_conf 0.3.1 | tw ADD c-v p eth0 2>/dev/null) &&
		fail "second ADD into the same netns succeeded"
	echo "$out" | jq -e '.code == 100 and (.msg|test("already exists"))' \
		>/dev/null || fail "not the expected error: $out"
	terway_conf 0.3.1 | tw DEL c-v p eth0 || fail "DEL 0.3.1"
	out=$(tw ADD c-v p eth0 <"$T/conf" 2>/dev/null) ||
		fail "ADD 1.1.0: $out" || return 1
	expect_eq "1.1.0 mtu" "$(echo "$out" | jq -r .interfaces[1].mtu)" 1500
	tw DEL c-v p eth0 <"$T/conf" || fail "DEL 1.1.0"
	tw_clean
}

status_verb() {
	local out
	tw STATUS "" "" "" <"$T/conf" || fail "STATUS with the agent up"
	agent_stop
	out=$(tw STATUS "" "" "" <"$T/conf") && fail "STATUS passed, agent down"
	echo "$out" | jq -e '.code == 50 and (.msg|test("not reachable"))' \
		>/dev/null || fail "not code 50: $out"
	agent_start
}

add_agent_down() {
	local out t
	agent_stop
	: >"$REQS"
	out=$(ms tw ADD c-down p eth0 <"$T/conf" 2>/dev/null 3>"$T/ms") &&
		fail "ADD succeeded"
	t=$(cat "$T/ms")
	echo "ADD with the agent down: $t ms: $(echo "$out" | jq -r .msg)"
	echo "$out" | jq -e '.code == 11 and (.msg|test("not reachable"))' \
		>/dev/null || fail "not code 11: $out"
	[ "$t" -lt 2000 ] || fail "took $t ms"
	! ip -n "$P-p" link show eth0 >/dev/null 2>&1 || fail "eth0 made"
	agent_start && tw_clean
}

# The agent reads the request and never answers: ADD gives up at
# timeoutMs, rolls back (a release: the agent may finish the alloc) and,
# that failing too, keeps the release for a later DEL.
add_agent_hangs() {
	local out t conf
	conf=$(jq -c '.timeoutMs = 1000' "$T/conf")
	jq '.default = {hang: true} | .release = {hang: true}' "$ANS" \
		>"$ANS.h" && cp "$ANS" "$ANS.ok" && mv "$ANS.h" "$ANS"
	out=$(echo "$conf" | ms tw ADD c-hang p eth0 2>/dev/null 3>"$T/ms") &&
		fail "ADD succeeded"
	t=$(cat "$T/ms")
	echo "ADD with a hanging agent: $t ms: $(echo "$out" | jq -r .msg)"
	echo "$out" | jq -e '.code == 11 and (.msg|test("did not answer"))' \
		>/dev/null || fail "not code 11: $out"
	[ "$t" -lt 4000 ] || fail "took $t ms"
	expect_eq "release owed" "$(jq -c '[.mode, .releasePending]' \
		"$TW_DATA/c-hang@eth0")" '[null,true]' || return 1
	mv "$ANS.ok" "$ANS"
	echo "$conf" | tw DEL c-hang p eth0 || fail "DEL"
	expect_eq "releases (rollback, DEL)" \
		"$(requests release | grep -c c-hang)" 2 &&
	tw_clean
}

# bad_answer WHAT CODE REGEX ANSWER: ADD fails so, leaves nothing
bad_answer() {
	local out
	answer default/p "$4"
	out=$(tw ADD c-bad p eth0 <"$T/conf" 2>/dev/null) &&
		fail "$1: ADD succeeded"
	echo "$out" | jq -e --argjson c "$2" --arg re "$3" \
		'.code == $c and (.msg|test($re))' >/dev/null ||
		fail "$1: want $2 ~ /$3/, got $out" || return 1
	echo "$1: $(echo "$out" | jq -r .msg)"
	! ip -n "$P-p" link show eth0 >/dev/null 2>&1 || fail "$1: eth0 left"
	tw_clean
}

agent_answers() {
	local f=0
	bad_answer "pool exhausted" 11 "eni-agent: pool exhausted" \
		'{"error":{"code":11,"msg":"pool exhausted"}}' || f=1
	bad_answer "bad annotation" 7 "bandwidth" \
		'{"error":{"code":7,"msg":"k8s.aliyun.com/ingress-bandwidth: bad"}}' ||
		f=1
	bad_answer "not JSON" 100 "bad answer: not JSON" '{"raw":"oops\n"}' ||
		f=1
	bad_answer "version 2" 100 "unsupported protocol version" \
		'{"raw":"{\"v\":2,\"ok\":true}\n"}' || f=1
	bad_answer "vpc without podCIDR" 100 "podCIDR: missing" \
		'{"mode":"vpc"}' || f=1
	bad_answer "closed without answer" 11 "no answer" '{"raw":""}' || f=1
	bad_answer "IPv6 podCIDR" 100 "only IPv4" \
		'{"mode":"vpc","podCIDR":"fd00:1::/64"}' || f=1
	bad_answer "rate the kernel cannot hold" 7 "egress bandwidth" \
		"$(eniip 10.0.1.20 | jq -c '.egress = 10')" || f=1
	jq 'del(.pods)' "$ANS" >"$ANS.tmp" && mv "$ANS.tmp" "$ANS"
	[ $f = 0 ]
}

# bad_input WHAT CODE REGEX CONF [CNI_ARGS]: no state, no link, no request
bad_input() {
	local out n
	n=$(requests alloc | wc -l)
	out=$(printf '%s' "$4" | TW_ARGS=${5-"K8S_POD_NAMESPACE=default;K8S_POD_NAME=p"} \
		tw ADD c-in p eth0 2>/dev/null) && fail "$1: ADD succeeded"
	echo "$out" | jq -e --argjson c "$2" --arg re "$3" \
		'.code == $c and (.msg|test($re))' >/dev/null ||
		fail "$1: want $2 ~ /$3/, got $out" || return 1
	echo "$1: $(echo "$out" | jq -r .msg)"
	expect_eq "$1: agent asked" "$(requests alloc | wc -l)" "$n" &&
	tw_clean
}

bad_config() {
	local f=0 c
	c=$(cat "$T/conf")
	bad_input "not JSON" 6 "" '{"cniVersion":' || f=1
	bad_input "no name" 7 "name" "$(echo "$c" | jq -c 'del(.name)')" || f=1
	bad_input "mtu string" 7 "mtu" "$(echo "$c" | jq -c '.mtu = "x"')" || f=1
	bad_input "mtu 10" 7 "mtu" "$(echo "$c" | jq -c '.mtu = 10')" || f=1
	bad_input "long vethPrefix" 7 "vethPrefix" \
		"$(echo "$c" | jq -c '.vethPrefix = "abcdefghijkl"')" || f=1
	bad_input "vethPrefix with /" 7 "vethPrefix" \
		"$(echo "$c" | jq -c '.vethPrefix = "a/b"')" || f=1
	bad_input "relative socket" 7 "socket" \
		"$(echo "$c" | jq -c '.socket = "agent.sock"')" || f=1
	bad_input "timeoutMs 0" 7 "timeoutMs" \
		"$(echo "$c" | jq -c '.timeoutMs = 0')" || f=1
	bad_input "ipam dhcp" 2 "ipam.type" \
		"$(echo "$c" | jq -c '.ipam.type = "dhcp"')" || f=1
	bad_input "host_stack_cidrs" 7 "host_stack_cidrs" \
		"$(echo "$c" | jq -c '.host_stack_cidrs = ["x"]')" || f=1
	bad_input "bandwidth rate without burst" 7 "burst" \
		"$(echo "$c" | jq -c '.runtimeConfig.bandwidth = {ingressRate: 1000000}')" ||
		f=1
	bad_input "no K8S_POD_NAME" 4 "K8S_POD_NAME" "$c" \
		"K8S_POD_NAMESPACE=default" || f=1
	bad_input "no CNI_ARGS" 4 "K8S_POD_NAMESPACE" "$c" "" || f=1
	bad_input "unknown arg" 4 "FOO" "$c" \
		"K8S_POD_NAMESPACE=default;K8S_POD_NAME=p;FOO=1" || f=1
	[ $f = 0 ]
}

# DEL while the agent is down tears down and keeps the release; DEL
# again (agent up) or GC sends it.
del_agent_down() {
	local r
	mkns q || return 1
	answer default/q "$(eniip 10.0.1.21)"
	tw ADD c-p p eth0 <"$T/conf" >/dev/null 2>&1 &&
	tw ADD c-q q eth0 <"$T/conf" >/dev/null 2>&1 || fail "ADD" || return 1
	agent_stop
	tw DEL c-p p eth0 <"$T/conf" 2>"$T/err" || fail "DEL p, agent down"
	grep -q "kept for a later DEL or GC" "$T/err" || fail "no log line"
	tw DEL c-q q eth0 <"$T/conf" 2>/dev/null || fail "DEL q, agent down"
	tw DEL c-q q eth0 <"$T/conf" 2>/dev/null || fail "DEL q again, down"
	expect_eq "p torn down" "$(ip -n "$NODE" rule show | grep -c 10.0.1.20)" 0 &&
	expect_eq "releases owed" "$(cat "$TW_DATA"/c-*@eth0 |
		jq -r .releasePending | sort -u)" true || return 1
	agent_start || return 1
	: >"$REQS"
	tw DEL c-p p eth0 <"$T/conf" || fail "DEL p, agent up"
	jq -c '.["cni.dev/valid-attachments"] = []' "$T/conf" |
		tw GC "" "" "" || fail "GC"
	r=$(requests release | jq -r .containerID | sort | tr '\n' ' ')
	expect_eq "released by DEL and GC" "$r" "c-p c-q " && tw_clean
}

gc_verb() {
	local f
	mkns x && mkns y || return 1
	answer default/x "$(eniip 10.0.1.30)"
	answer default/y '{"mode":"vpc","podCIDR":"10.244.7.0/24"}'
	tw ADD c-x x eth0 <"$T/conf" >"$T/res-x" 2>/dev/null &&
	tw ADD c-y y eth0 <"$T/conf" >/dev/null 2>&1 || fail "ADD" || return 1
	: >"$REQS"
	jq -c '.["cni.dev/valid-attachments"] =
		[{"containerID": "c-x", "ifname": "eth0"}]' "$T/conf" |
		tw GC "" "" "" || fail "GC" || return 1
	expect_eq "y released" "$(requests release | jq -r .containerID)" c-y &&
	expect_eq "y's host veth" "$(ip -n "$NODE" -o link show |
		grep -c "$(veth_name default y)")" 0 &&
	expect_eq "y's lease" "$(ls "$IPAM_DATA/$NET" | grep -c '^10\.')" 0 &&
	expect_eq "y's eth0" "$(ip -n "$P-y" -o link show | grep -c eth0)" 0 ||
		return 1
	tw CHECK c-x x eth0 < <(with_prev "$T/conf" "$T/res-x") ||
		fail "CHECK x after GC" || return 1
	jq -c '.["cni.dev/valid-attachments"] = []' "$T/conf" |
		tw GC "" "" "" || fail "GC all"
	tw_clean
}

# 20 pods added and deleted 10 at a time: distinct veths and rules, the
# pods reach each other, nothing left
parallel() {
	local i p pids="" bad=0
	for i in $(seq 20); do
		mkns "m$i" || return 1
		answer "default/m$i" "$(eniip 10.0.1.$((100 + i)))" || return 1
	done
	for i in $(seq 20); do
		tw ADD "c-m$i" "m$i" eth0 <"$T/conf" >"$T/add.$i" 2>&1 &
		pids="$pids $!"
		[ $((i % 10)) = 0 ] || continue
		for p in $pids; do wait "$p" || bad=$((bad + 1)); done
		pids=""
	done
	[ $bad = 0 ] || { cat "$T"/add.*; fail "$bad ADDs failed"; return 1; }
	expect_eq "rules" "$(ip -n "$NODE" rule show | grep -cE '^(512|2048):')" \
		40 || return 1
	ip netns exec "$P-m1" ping -c1 -W2 10.0.1.120 >/dev/null ||
		fail "m1 -> m20"
	for i in $(seq 20); do
		tw DEL "c-m$i" "m$i" eth0 <"$T/conf" >"$T/del.$i" 2>&1 &
		pids="$pids $!"
		[ $((i % 10)) = 0 ] || continue
		for p in $pids; do wait "$p" || bad=$((bad + 1)); done
		pids=""
	done
	[ $bad = 0 ] || { cat "$T"/del.*; fail "$bad DELs failed"; return 1; }
	tw_clean
}

testing "setup: vpc, node, ENI, fake agent" setup
testing "VERSION" version_verb
testing "result per version, state file, a second ADD is refused" \
	result_shapes_and_state
testing "STATUS: 0 with the agent, 50 without" status_verb
testing "ADD with the agent down: code 11 at once, nothing made" \
	add_agent_down
testing "ADD with a hanging agent: code 11 at timeoutMs, release kept" \
	add_agent_hangs
testing "agent error and malformed answers: codes, nothing left" \
	agent_answers
testing "bad config and CNI_ARGS: clean errors, agent not asked" bad_config
testing "DEL with the agent down; the release is sent by DEL, GC" \
	del_agent_down
testing "GC tears down and releases what is not valid" gc_verb
testing "20 pods, 10 ADDs (then DELs) at a time" parallel
finish
