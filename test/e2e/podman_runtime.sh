#!/bin/bash
# netlink
# podman (Debian 12's 4.3, CNI network backend, runc) as the container
# runtime, with `vpcnet --install DIR` as its only CNI plugin dir:
# containers on a cni-flannel network (podman in the host's root netns, a
# bridge of our own) and on a cni-terway network (the real eni-agent with
# the fake cloud and fake kube; podman runs in the node netns, as it would
# on an ECS node) get addresses, reach each other and the host, and
# `podman rm` releases everything.
# podman is isolated from the host's: its containers.conf, storage.conf and
# registries.conf are in $T (graphroot, runroot, tmp_dir, file locks, file
# events, plugin and network config dirs), containers go to a cgroup parent
# of our own; the image is a busybox-static rootfs made with `podman import`.
# What podman 4.3 sends (seen in libcni's result cache): CNI_ARGS
# "IgnoreUnknown=1;K8S_POD_NAME=<container name>" (plus IP=, MAC= for --ip,
# --mac-address, and whatever CNI_ARGS its environment holds), no
# K8S_POD_NAMESPACE; runtimeConfig "aliases" and "portMappings" when the
# plugin declares those capabilities.
P=${P:-pdm$(printf '%04x' $((RANDOM % 65536)))}
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fake_lib.sh"
PT=$T/podman			# podman's private world
IMG=localhost/$P-busybox:1
CG=/$P-cg			# cgroup parent of the containers
FLNET=$P-fl TWNET=$P-tw
SANDBOXES=""
BR=${P}br
NODE=$P-n1
NODE_IP=192.168.10.11
VSW=192.168.10

# ---- podman, isolated -------------------------------------------------------

export CONTAINERS_CONF=$PT/containers.conf
export CONTAINERS_STORAGE_CONF=$PT/storage.conf
export CONTAINERS_REGISTRIES_CONF=$PT/registries.conf

# pdm ARGS: podman in the root netns; pdn ARGS: in the node netns, with
# the namespace the pods have in the fake kube (podman sends none itself)
pdm() { timeout -k 5 60 podman "$@"; }
pdn() {
	CNI_ARGS=K8S_POD_NAMESPACE=default timeout -k 5 60 \
		nsenter --net="/run/netns/$NODE" podman "$@"
}

# host paths podman or runc make outside of its configuration (libcni's
# cache, the blob info cache, runc's default root): removed at exit when
# this test made them and they hold nothing else
HOST_DIRS="/var/lib/containers /var/lib/containers/cache
	/var/lib/cni/results /run/runc"
for d in $HOST_DIRS; do
	[ -e "$d" ] || on_exit "rm -f '$d/blob-info-cache-v1.boltdb'; rmdir '$d'"
done

podman_conf() {
	mkdir -p "$PT/cni" "$PT/net.d" "$PT/tmp" "$PT/volumes" "$PT/rootfs/bin"
	cat >"$PT/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[network]
network_backend = "cni"
cni_plugin_dirs = ["$PT/cni"]
network_config_dir = "$PT/net.d"
default_network = "$P-default"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
lock_type = "file"
tmp_dir = "$PT/tmp"
volume_path = "$PT/volumes"
static_dir = "$PT/storage/libpod"
image_copy_tmp_dir = "$PT/tmp"
EOF
	cat >"$PT/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$PT/storage"
runroot = "$PT/run"
EOF
	echo 'unqualified-search-registries = []' >"$PT/registries.conf"
}

# podman_clean: every container (terway ones from the node netns, so their
# DEL runs there), the image, mounts under $T, our cgroups
podman_clean() {
	local c d
	for c in $(pdm ps -aq --filter "label=$P=tw"); do
		pdn rm -f -t 0 "$c"
	done
	pdm rm -fa -t 0
	pdm rmi -af
	mount | awk '{print $3}' | grep "^$T/" | sort -r | xargs -r -n1 umount -l
	for d in /sys/fs/cgroup/*$CG; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \;
	done
	return 0
}

setup_podman() {
	local a
	command -v podman >/dev/null || { skip "podman is not installed"; return; }
	command -v runc >/dev/null || fail "runc is not installed" || return 1
	[ -x /bin/busybox ] || fail "busybox-static is not installed" ||
		return 1
	podman_conf
	on_exit podman_clean
	"$VPCNET" --install "$PT/cni" || fail "vpcnet --install" || return 1
	# the image: a busybox-static rootfs with every applet linked
	cp /bin/busybox "$PT/rootfs/bin/"
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] || ln -s busybox "$PT/rootfs/bin/$a"
	done
	tar -C "$PT/rootfs" -cf "$PT/rootfs.tar" . &&
	pdm import -q "$PT/rootfs.tar" "$IMG" >/dev/null ||
		fail "podman import" || return 1
	expect_eq "backend, runtime" "$(pdm info --format \
		'{{.Host.NetworkBackend}} {{.Host.OCIRuntime.Name}}')" "cni runc"
}
ready() { [ -f "$PT/containers.conf" ] || skip "no podman"; }

# ---- helpers ----------------------------------------------------------------

# ipof CTR NET: the address podman reports
ipof() {
	pdm inspect "$1" | jq -r --arg n "$2" \
		'.[0].NetworkSettings.Networks[$n].IPAddress'
}
sandbox() { pdm inspect -f '{{.NetworkSettings.SandboxKey}}' "$1"; }
# inside CTR: the address on eth0 as the container sees it
inside() {
	pdm exec "$1" ip -4 -o addr show dev eth0 | awk '{print $4}' |
		cut -d/ -f1
}

# serve CTR: a one-shot TCP server on :8080 answering its name
serve() {
	local n=0
	pdm exec -d "$1" sh -c "echo $1 | nc -l -p 8080" >/dev/null || return 1
	until nsenter --net="$(sandbox "$1")" ss -Hltn 'sport = :8080' |
		grep -q .; do
		n=$((n + 1))
		[ $n -lt 100 ] || { fail "no server in $1"; return 1; }
		sleep 0.05
	done
}

# expect_tcp FROM-CTR TO-CTR TO-IP
expect_tcp() {
	serve "$2" || return 1
	expect_eq "tcp $1->$2" "$(pdm exec "$1" nc -w 3 "$3" 8080 </dev/null)" \
		"$2"
}

pingok() {	# pingok CTR IP
	pdm exec "$1" ping -c1 -W2 "$2" >/dev/null || fail "$1: no ping to $2"
}

# what podman passed (libcni's cache of the attachment)
sent() {
	local id
	id=$(pdm inspect -f '{{.Id}}' "$1") || return 1
	jq -c '{cniArgs, capabilityArgs}' "/var/lib/cni/results/$2-$id-eth0"
}

# gone_check: after rm, no netns of the containers, no libcni cache file
gone_check() {
	local s
	for s in $SANDBOXES; do
		[ -e "$s" ] && fail "netns $s left"
	done
	s=$(ls /var/lib/cni/results 2>/dev/null | grep "^$P-")
	[ -z "$s" ] || fail "libcni cache left: $s"
	return 0
}

# ---- flannel ----------------------------------------------------------------

# a /16 of 10/8 no host route covers or falls into (default aside)
pick_net() {
	local _ x
	for _ in $(seq 20); do
		x=$((100 + RANDOM % 150))
		[ -z "$(ip -4 route show root 10.$x.0.0/16)" ] &&
		! ip -4 route show match 10.$x.0.0/16 | grep -qv '^default' &&
			{ echo $x; return; }
	done
	return 1
}

setup_flannel() {
	ready || return
	local x
	x=$(pick_net) || fail "no free 10.x.0.0/16 on the host" || return 1
	FLSUB=10.$x.$((RANDOM % 250 + 1))
	cat >"$T/subnet.env" <<EOF
FLANNEL_NETWORK=10.$x.0.0/16
FLANNEL_SUBNET=$FLSUB.1/24
FLANNEL_MTU=1450
FLANNEL_IPMASQ=false
EOF
	cat >"$PT/net.d/$FLNET.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "$FLNET", "plugins": [
 {"type": "flannel", "subnetFile": "$T/subnet.env", "dataDir": "$T/flannel",
  "ipam": {"dataDir": "$T/ipam"},
  "capabilities": {"portMappings": true, "aliases": true},
  "delegate": {"bridge": "$BR", "hairpinMode": true,
   "isDefaultGateway": true}}]}
EOF
	pdm network ls --format '{{.Name}} {{.Driver}}' | tee "$T/netls"
	grep -qx "$FLNET flannel" "$T/netls" || fail "$FLNET not listed"
}

run_flannel() {
	ready || return
	local c ip
	pdm run -d --name $P-a --label $P=fl --cgroup-parent $CG \
		--network $FLNET "$IMG" sleep 1000 >/dev/null &&
	pdm run -d --name $P-b --label $P=fl --cgroup-parent $CG \
		--network $FLNET -p 127.0.0.1::80 --network-alias bee "$IMG" \
		sleep 1000 >/dev/null || fail "podman run" || return 1
	for c in $P-a $P-b; do
		ip=$(ipof $c $FLNET)
		echo "# $c $ip"
		case "$ip" in $FLSUB.*) ;; *) fail "$c: '$ip' not in $FLSUB.0/24" ;; esac
		expect_eq "$c eth0" "$(inside $c)" "$ip"
		SANDBOXES="$SANDBOXES $(sandbox $c)"
	done
	echo "# podman sent: $(sent $P-b $FLNET)"
	expect_eq "bridge of the host veths" "$(ip -o link show master $BR |
		wc -l)" 2
}

talk_flannel() {
	ready || return
	local a b
	a=$(ipof $P-a $FLNET) b=$(ipof $P-b $FLNET)
	pingok $P-a "$b"
	pingok $P-b "$a"
	pingok $P-a $FLSUB.1	# the host, by the bridge gateway
	ping -c1 -W2 "$b" >/dev/null || fail "host: no ping to $b"
	expect_tcp $P-a $P-b "$b"
	expect_tcp $P-b $P-a "$a"
	serve $P-a &&
	expect_eq "tcp host->$P-a" "$(timeout 5 nc -N -w 3 "$a" 8080 \
		</dev/null)" $P-a
}

rm_flannel() {
	ready || return
	local l
	pdm rm -f -t 0 $P-a $P-b >/dev/null || fail "podman rm" || return 1
	l=$(ls "$T/ipam/$FLNET" 2>/dev/null | grep -v -e '^lock$' \
		-e '^last_reserved_ip')
	[ -z "$l" ] || fail "leases left: $l"
	l=$(ls -A "$T/flannel" 2>/dev/null | grep -vx '\.vpcnet\.lock')
	[ -z "$l" ] || fail "flannel state left: $l"
	l=$(ip -o link show master $BR)
	[ -z "$l" ] || fail "host veths left: $l"
	gone_check
	SANDBOXES=""
}

# --ip and --mac-address: podman sends them as CNI_ARGS IP= and MAC=
static_addr() {
	ready || return
	local mac=02:42:0a:00:00:32
	pdm run -d --name $P-c --label $P=fl --cgroup-parent $CG \
		--network $FLNET --ip $FLSUB.50 --mac-address $mac "$IMG" \
		sleep 1000 >/dev/null || fail "podman run" || return 1
	SANDBOXES=$(sandbox $P-c)
	echo "# podman sent: $(sent $P-c $FLNET)"
	expect_eq "inspect" "$(ipof $P-c $FLNET)" $FLSUB.50
	expect_eq "eth0" "$(inside $P-c)" $FLSUB.50
	expect_eq "mac" "$(pdm exec $P-c cat /sys/class/net/eth0/address)" $mac
	pingok $P-c $FLSUB.1
	pdm rm -f -t 0 $P-c >/dev/null || fail "podman rm"
	[ -e "$T/ipam/$FLNET/$FLSUB.50" ] && fail "lease left"
	gone_check
	SANDBOXES=""
}

# ---- terway -----------------------------------------------------------------

# kpod NAME: the pod object on node1, as the API server would hold it
kpod() {
	kctl /apply "$(jq -nc --arg n "$1" '{apiVersion: "v1", kind: "Pod",
		metadata: {name: $n, namespace: "default"},
		spec: {nodeName: "node1", containers: [{name: "c", image: "x"}]}}')"
}
call() { "$VPCNET" eni-agent call -s "$T/agent.sock" "$@"; }
inuse() { call info | jq -r .pool.inuse; }

wait_for() {	# wait_for WHAT CMD...: poll CMD for 20 s
	local what=$1 n=0
	shift
	until "$@" >/dev/null 2>&1; do
		n=$((n + 1))
		[ $n -lt 400 ] || { fail "timed out waiting for $what"; return 1; }
		sleep 0.05
	done
}

# the fake cloud (vpc netns, node netns $NODE) and kube, one eni-agent
setup_terway() {
	ready || return
	command -v node >/dev/null || { skip "node is not installed"; return; }
	local k=0 pid md
	mkns vpc && mkns n1 || return 1
	cat >"$T/cloud.json" <<EOF
{"vswitches": [{"id": "vsw-a", "cidr": "$VSW.0/24", "zone": "cn-hangzhou-h"}],
 "instanceTypes": {"ecs.g6.large": {"EniQuantity": 4,
  "EniPrivateIpAddressQuantity": 10, "EniTotalQuantity": 4}},
 "instances": [{"id": "i-node1", "type": "ecs.g6.large", "vswitch": "vsw-a",
  "netns": "$NODE", "primary": {"ip": "$NODE_IP"},
  "ramRole": "KubernetesWorkerRole"}],
 "topology": {"vpcNetns": "$P-vpc"},
 "timing": {"attachMs": 100, "detachMs": 100, "routeMs": 50}, "seed": 7}
EOF
	cat >"$T/kube.json" <<EOF
{"objects": [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node1"},
  "spec": {"podCIDR": "10.244.1.0/24"}}]}
EOF
	fakes_up "$T/cloud" "$T/cloud.json" "$T/kube.json" ||
		fail "fakes: $(cat "$T/cloud.out")" || return 1
	unset ALIBABA_CLOUD_ACCESS_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET
	md=FAKE_METADATA_URL_I_NODE1
	cat >"$T/agent.json" <<EOF
{"openapi_endpoint": "$FAKE_ALIYUN_URL", "ca_file": "$FAKE_CA",
 "metadata_endpoint": "${!md}",
 "kube_server": "$FAKE_KUBE_URL", "kube_token_file": "$FAKE_KUBE_TOKEN_FILE",
 "kube_ca_file": "$FAKE_CA", "node_name": "node1",
 "socket": "$T/agent.sock", "state_dir": "$T/state",
 "link_netns": "/run/netns/$NODE", "min_pool_size": 2,
 "max_pool_size": 5, "metrics_port": 0, "service_cidr": "10.96.0.0/12",
 "alloc_timeout": "20s", "log_level": "debug"}
EOF
	setsid "$VPCNET" eni-agent run --config "$T/agent.json" \
		>>"$T/agent.log" 2>&1 </dev/null &
	pid=$!
	on_exit "kill -9 $pid"
	until call -T 2 info >/dev/null 2>&1; do
		k=$((k + 1))
		[ $k -lt 200 ] && kill -0 "$pid" 2>/dev/null ||
			{ tail -n 20 "$T/agent.log"
			  fail "agent did not start"; return 1; }
		sleep 0.05
	done
	on_exit podman_clean	# again: before the agent stops
	cat >"$PT/net.d/$TWNET.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "$TWNET", "plugins": [
 {"type": "terway", "socket": "$T/agent.sock", "dataDir": "$T/terway",
  "ipam": {"dataDir": "$T/twipam"}, "timeoutMs": 20000,
  "capabilities": {"bandwidth": true, "portMappings": true,
   "aliases": true}}]}
EOF
	pdm network ls --format '{{.Name}} {{.Driver}}' | tee "$T/netls"
	grep -qx "$TWNET terway" "$T/netls" || fail "$TWNET not listed"
}
twready() { [ -S "$T/agent.sock" ] || skip "no agent"; }

run_terway() {
	twready || return
	local c ip
	for c in $P-t1 $P-t2; do
		kpod $c || fail "kube: pod $c" || return 1
		pdn run -d --name $c --label $P=tw --cgroup-parent $CG \
			--network $TWNET "$IMG" sleep 1000 >/dev/null ||
			fail "podman run $c: $(tail -n 5 "$T/agent.log")" ||
			return 1
		ip=$(ipof $c $TWNET)
		echo "# $c $ip"
		case "$ip" in $VSW.*) ;; *) fail "$c: '$ip' not in $VSW.0/24" ;; esac
		expect_eq "$c eth0" "$(inside $c)" "$ip"
		SANDBOXES="$SANDBOXES $(sandbox $c)"
	done
	echo "# podman sent: $(sent $P-t1 $TWNET)"
	expect_eq "agent: IPs in use" "$(inuse)" 2
	expect_eq "host veths in the node" "$(ip -n $NODE -o link show |
		grep -c ' cali')" 2
}

talk_terway() {
	twready || return
	local a b
	a=$(ipof $P-t1 $TWNET) b=$(ipof $P-t2 $TWNET)
	pingok $P-t1 "$b"
	pingok $P-t2 "$a"
	pingok $P-t1 $NODE_IP
	ip netns exec $NODE ping -c1 -W2 "$a" >/dev/null ||
		fail "node: no ping to $a"
	expect_tcp $P-t1 $P-t2 "$b"
	expect_tcp $P-t2 $P-t1 "$a"
}

rm_terway() {
	twready || return
	local l
	pdn rm -f -t 0 $P-t1 $P-t2 >/dev/null || fail "podman rm" || return 1
	expect_eq "agent: IPs in use" "$(inuse)" 0
	l=$(ls -A "$T/terway" 2>/dev/null | grep -vx '\.vpcnet\.lock')
	[ -z "$l" ] || fail "terway state left: $l"
	l=$(ip -n $NODE -o link show | grep -o ' cali[0-9a-f]*')
	[ -z "$l" ] || fail "host veths left: $l"
	l=$(ip -n $NODE rule show | grep -E '^(512|2048):')
	[ -z "$l" ] || fail "rules left: $l"
	gone_check
	SANDBOXES=""
}

# podman alone sends no K8S_POD_NAMESPACE: the ADD fails with the plugin's
# message, podman removes the half-made attachment, nothing is left in use
no_namespace() {
	twready || return
	local out l
	kpod $P-t3 || return 1
	out=$(timeout -k 5 60 nsenter --net="/run/netns/$NODE" podman run -d \
		--name $P-t3 --label $P=tw --cgroup-parent $CG \
		--network $TWNET "$IMG" sleep 1000 2>&1) &&
		fail "podman run succeeded: $out"
	echo "# $out"
	case "$out" in
	*"K8S_POD_NAMESPACE and K8S_POD_NAME are required"*) ;;
	*) fail "not the plugin's error" ;;
	esac
	pdm rm -f -t 0 $P-t3 >/dev/null 2>&1
	expect_eq "agent: IPs in use" "$(inuse)" 0
	l=$(ip -n $NODE -o link show | grep -o ' cali[0-9a-f]*')
	[ -z "$l" ] || fail "host veths left: $l"
	return 0
}

testing "podman: private config, vpcnet --install as plugin dir, image" \
	setup_podman
testing "flannel: the network in podman network ls" setup_flannel
testing "flannel: two containers get addresses in the node subnet" \
	run_flannel
testing "flannel: ping and TCP between them and with the host" talk_flannel
testing "flannel: podman rm releases leases, veths, state" rm_flannel
testing "flannel: --ip, --mac-address (CNI_ARGS IP=, MAC=)" static_addr
testing "terway: fake cloud and kube, eni-agent, the network listed" \
	setup_terway
testing "terway: two containers (podman in the node) get vSwitch IPs" \
	run_terway
testing "terway: ping and TCP between them and with the node" talk_terway
testing "terway: podman rm returns the IPs to the agent, nothing left" \
	rm_terway
testing "terway: without K8S_POD_NAMESPACE podman run fails cleanly" \
	no_namespace
finish
