# Helpers for CNI plugin e2e tests (sourced after lib.sh).
# A test "node" is the netns $P-node; pods are netns $P-<name>; the plugin
# runs inside the node netns, so nothing touches the host's networking.

NODE=$P-node
NET=$P-net		# CNI network name
BR=${P}br		# bridge name (<= 15 chars)
SUBNET_ENV=$T/subnet.env
FL_DATA=$T/flannel
IPAM_DATA=$T/ipam

# node_up: create the node netns (idempotent)
node_up() {
	ip netns list | grep -qw "$NODE" || mkns node
}

# subnet_env NET SUBNET MTU IPMASQ [V6NET V6SUBNET]
subnet_env() {
	{
		echo "FLANNEL_NETWORK=$1"
		echo "FLANNEL_SUBNET=$2"
		echo "FLANNEL_MTU=$3"
		echo "FLANNEL_IPMASQ=$4"
		[ -z "${5:-}" ] || echo "FLANNEL_IPV6_NETWORK=$5"
		[ -z "${6:-}" ] || echo "FLANNEL_IPV6_SUBNET=$6"
	} >"$SUBNET_ENV"
}

# flannel_conf [CNIVERSION] [EXTRA_DELEGATE_JSON]: a kube-flannel style conf
flannel_conf() {
	local ver=${1:-1.0.0} extra=${2:-}
	cat <<EOC
{"cniVersion":"$ver","name":"$NET","type":"flannel",
 "subnetFile":"$SUBNET_ENV","dataDir":"$FL_DATA",
 "ipam":{"dataDir":"$IPAM_DATA"},
 "delegate":{"bridge":"$BR","hairpinMode":true,"isDefaultGateway":true$extra}}
EOC
}

# cni VERB CID POD IFNAME < conf: run the plugin in the node netns.
# POD may be "" (empty CNI_NETNS) or a path starting with / .
cni() {
	local verb=$1 cid=$2 pod=$3 ifname=$4 netns
	case "$pod" in
	"") netns="" ;;
	/*) netns=$pod ;;
	*) netns=/run/netns/$P-$pod ;;
	esac
	ip netns exec "$NODE" env -i PATH="$PATH" CNI_COMMAND="$verb" \
		CNI_CONTAINERID="$cid" CNI_NETNS="$netns" CNI_IFNAME="$ifname" \
		CNI_PATH=/opt/cni/bin CNI_ARGS="${CNI_ARGS_EXTRA:-}" \
		${VPCNET_ENV:-} "$VPCNET" cni-flannel
}


# pod_ip POD [4|6]: the address on eth0 of a pod netns
pod_ip() {
	ip -n "$P-$1" -"${2:-4}" -o addr show dev eth0 scope global |
		awk '{print $4}' | cut -d/ -f1 | head -n1
}

# state_clean: no lease, no flannel state, no host veth, no nft table rule
leases() { ls "$IPAM_DATA/$NET" 2>/dev/null | grep -v -e '^lock$' -e '^last_reserved_ip' ; }
state_clean() {
	local l
	l=$(leases)
	[ -z "$l" ] || fail "leases left: $l"
	l=$(ls -A "$FL_DATA" 2>/dev/null | grep -vx '\.vpcnet\.lock')
	[ -z "$l" ] || fail "flannel state left: $l"
	l=$(ip -n "$NODE" -o link show type veth 2>/dev/null |
		grep -o ' veth[0-9a-f]\{8\}')
	[ -z "$l" ] || fail "pod veth left: $l"
	l=$(ip netns exec "$NODE" nft list ruleset 2>/dev/null | grep -c masquerade)
	[ "$l" = 0 ] || fail "masquerade rules left: $l"
	return 0
}
