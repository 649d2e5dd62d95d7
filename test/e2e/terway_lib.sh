# Helpers for cni-terway e2e tests (sourced after lib.sh).
#
# A simulated VPC: netns $P-vpc routes; netns $P-node is the node, its eth0
# (192.168.0.10/24) a veth into the vpc (node0, 192.168.0.1). An ENI is a
# veth pair ethN (node, with the ENI MAC, down) <-> eniN (vpc, proxy_arp,
# as test/fake's data path makes them); the vSwitch gateways and an "ecs"
# address (172.16.0.5) sit on the vpc's lo. The pod netns are $P-<name>.
# eni-agent is test/fake/fake_agent.js answering from $ANS; the plugin runs
# inside the node netns.

NODE=$P-node
VPC=$P-vpc
NET=$P-tw			# CNI network name
TW_DATA=$T/terway
IPAM_DATA=$T/ipam
SOCK=$T/agent.sock
ANS=$T/answers.json
REQS=$T/requests.log
NODE_IP=192.168.0.10
ECS_IP=172.16.0.5
AGENT_PID=""
echo '{}' >"$ANS"

# vpc_up: the vpc and node netns, the node's primary link, the ecs address
vpc_up() {
	mkns vpc && mkns node || return 1
	ip netns exec "$VPC" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	ip -n "$VPC" link add node0 type veth peer name eth0 netns "$NODE" ||
		return 1
	ip -n "$VPC" addr add 192.168.0.1/24 dev node0
	ip -n "$VPC" link set node0 up
	ip -n "$NODE" addr add $NODE_IP/24 dev eth0
	ip -n "$NODE" link set eth0 up
	ip -n "$NODE" route add default via 192.168.0.1
	ip -n "$VPC" addr add $ECS_IP/32 dev lo
}

# eni_link NODENAME MAC VPCNAME GATEWAY [MTU]: attach an ENI (node end
# down)
eni_link() {
	ip -n "$VPC" link add "$3" type veth peer name "$1" address "$2" \
		mtu "${5:-1500}" netns "$NODE" || return 1
	ip netns exec "$VPC" sysctl -qw net.ipv4.conf."$3".proxy_arp=1 \
		net.ipv4.neigh."$3".proxy_delay=0 net.ipv4.conf."$3".rp_filter=0
	ip -n "$VPC" link set "$3" up
	ip -n "$VPC" addr replace "$4"/32 dev lo
}

# eni_table NODENAME GATEWAY: what eni-agent does for an eniip ENI (up,
# table 1000 + ifindex with the vSwitch gateway); prints the table
eni_table() {
	local idx
	idx=$(ip netns exec "$NODE" cat /sys/class/net/"$1"/ifindex) || return 1
	ip -n "$NODE" link set "$1" up
	ip -n "$NODE" route replace default via "$2" dev "$1" onlink \
		table $((1000 + idx))
	echo $((1000 + idx))
}

# vpc_owns IP VPCLINK MAC: the VPC delivers IP to that ENI (no ARP needed)
vpc_owns() {
	ip -n "$VPC" route replace "$1"/32 dev "$2" &&
	ip -n "$VPC" neigh replace "$1" lladdr "$3" dev "$2" nud permanent
}

agent_start() {
	local i
	node "$TOP/test/fake/fake_agent.js" "$SOCK" "$ANS" "$REQS" \
		>>"$T/agent.out" 2>&1 &
	AGENT_PID=$!
	on_exit "kill $AGENT_PID"
	for i in $(seq 200); do
		[ -S "$SOCK" ] && return 0
		sleep 0.05
	done
	fail "fake agent did not start: $(cat "$T/agent.out")"
}

agent_stop() {
	[ -n "$AGENT_PID" ] || return 0
	kill "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=""
	rm -f "$SOCK"
}

# answer NS/NAME JSON: the agent's alloc answer for that pod
answer() {
	jq --arg k "$1" --argjson a "$2" '.pods[$k] = $a' "$ANS" >"$ANS.tmp" &&
		mv "$ANS.tmp" "$ANS"
}

# terway_conf [CNIVERSION] [EXTRA_KEYS_JSON]
terway_conf() {
	local ver=${1:-1.0.0} extra=${2:-}
	cat <<EOC
{"cniVersion":"$ver","name":"$NET","type":"terway","socket":"$SOCK",
 "dataDir":"$TW_DATA","ipam":{"dataDir":"$IPAM_DATA"},"timeoutMs":5000,
 "capabilities":{"bandwidth":true}$extra}
EOC
}

# tw VERB CID POD IFNAME < conf: the plugin in the node netns, pod
# default/POD (CNI_ARGS from TW_ARGS when set). POD "" = empty CNI_NETNS.
tw() {
	local verb=$1 cid=$2 pod=$3 ifname=$4 netns args
	case "$pod" in
	"") netns="" ;;
	/*) netns=$pod ;;
	*) netns=/run/netns/$P-$pod ;;
	esac
	args=${TW_ARGS-"IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod##*-};K8S_POD_INFRA_CONTAINER_ID=$cid"}
	ip netns exec "$NODE" env -i PATH="$PATH" CNI_COMMAND="$verb" \
		CNI_CONTAINERID="$cid" CNI_NETNS="$netns" CNI_IFNAME="$ifname" \
		CNI_PATH=/opt/cni/bin CNI_ARGS="$args" \
		VPCNET_LOG_LEVEL=${VPCNET_LOG_LEVEL:-info} "$VPCNET" cni-terway
}

# veth_name NS POD: Terway's host veth name
veth_name() {
	echo "cali$(printf '%s.%s' "$1" "$2" | sha1sum | cut -c1-11)"
}

# pod_ip POD: the IPv4 address on eth0
pod_ip() {
	ip -n "$P-$1" -4 -o addr show dev eth0 | awk '{print $4}' |
		cut -d/ -f1 | head -n1
}

# with_prev CONF RESULT: CONF with RESULT as prevResult
with_prev() {
	jq -c --slurpfile p "$2" '. + {prevResult: $p[0]}' "$1"
}

# rx IFACE: packets received by a vpc link
rx() {
	ip netns exec "$VPC" cat /sys/class/net/"$1"/statistics/rx_packets
}

# requests OP: the requests of one op the agent got, one JSON per line
requests() {
	[ -f "$REQS" ] || return 0
	jq -c --arg op "$1" 'select(.op == $op)' "$REQS"
}

# tw_clean: no state file, host veth, rule of a pod or ifb left
tw_clean() {
	local l
	l=$(ls -A "$TW_DATA" 2>/dev/null | grep -vx '\.vpcnet\.lock')
	[ -z "$l" ] || fail "state left: $l"
	l=$(ip -n "$NODE" -o link show 2>/dev/null | grep -o ' cali[0-9a-f]*')
	[ -z "$l" ] || fail "host veth left: $l"
	l=$(ip -n "$NODE" rule show | grep -E '^(512|2048):')
	[ -z "$l" ] || fail "rules left: $l"
	l=$(ip -n "$NODE" -o link show type ifb 2>/dev/null)
	[ -z "$l" ] || fail "ifb left: $l"
	return 0
}
