#!/bin/bash
# CNI ADD/DEL wall time, N sequential pods, vpcnet cni-flannel vs Debian's
# upstream bridge + host-local given the delegate config flannel would build
# from the same subnet.env (optionally with ipMasq). Prints a table.
# usage: test/bench/cni_add_del.sh [N] [masq 0|1]
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
VPCNET=${VPCNET:-$TOP/build/vpcnet}
N=${1:-50}
MASQ=${2:-0}
UP=/usr/lib/cni
P=vb$$
T=$(mktemp -d)
cleanup() {
	for i in $(seq "$N"); do ip netns del "$P-$i" 2>/dev/null; done
	ip netns del "$P-node" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
ip netns add "$P-node"
for i in $(seq "$N"); do ip netns add "$P-$i"; done
ipmasq_env=$([ "$MASQ" = 1 ] && echo false || echo true)
printf 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=%s\n' \
	"$ipmasq_env" >"$T/subnet.env"
cat >"$T/vpcnet.conf" <<EOC
{"cniVersion":"0.3.1","name":"bv","type":"flannel","subnetFile":"$T/subnet.env",
 "dataDir":"$T/fl","ipam":{"dataDir":"$T/ipam-v"},
 "delegate":{"bridge":"${P}v","hairpinMode":true,"isDefaultGateway":true}}
EOC
masq=$([ "$MASQ" = 1 ] && echo true || echo false)
cat >"$T/up.conf" <<EOC
{"cniVersion":"0.3.1","name":"bu","type":"bridge","bridge":"${P}u",
 "hairpinMode":true,"isDefaultGateway":true,"isGateway":true,"ipMasq":$masq,
 "mtu":1450,"ipam":{"type":"host-local","dataDir":"$T/ipam-u",
 "ranges":[[{"subnet":"10.244.1.0/24"}]],"routes":[{"dst":"10.244.0.0/16"}]}}
EOC

# run VERB i conf binary: prints elapsed microseconds
run() {
	local t0 t1
	t0=$(date +%s%N)
	ip netns exec "$P-node" env CNI_COMMAND="$1" CNI_CONTAINERID="c$2" \
		CNI_NETNS="/run/netns/$P-$2" CNI_IFNAME=eth0 CNI_PATH=$UP \
		"$4" <"$3" >/dev/null 2>&1 || echo "FAILED $1 $2 $4" >&2
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}

# stats FILE: median and p95 in ms
stats() {
	sort -n "$1" | awk '{a[NR]=$1} END {m=a[int((NR+1)/2)]; p=a[int(NR*0.95+0.5)];
		printf "%.2f %.2f", m/1000, p/1000}'
}

# the namespace entry of `ip netns exec` is the same for both; measure it
for i in $(seq "$N"); do run NONE "$i" /dev/null /bin/true; done >"$T/base"
for i in $(seq "$N"); do run ADD "$i" "$T/vpcnet.conf" "$VPCNET"; done >"$T/v-add"
for i in $(seq "$N"); do run DEL "$i" "$T/vpcnet.conf" "$VPCNET"; done >"$T/v-del"
for i in $(seq "$N"); do run ADD "$i" "$T/up.conf" "$UP/bridge"; done >"$T/u-add"
for i in $(seq "$N"); do run DEL "$i" "$T/up.conf" "$UP/bridge"; done >"$T/u-del"

read -r bm bp < <(stats "$T/base")
printf '%-34s %10s %10s\n' "($N sequential pods, ipMasq=$MASQ)" "median ms" "p95 ms"
printf '%-34s %10s %10s\n' "ip netns exec + /bin/true (floor)" "$bm" "$bp"
for x in "vpcnet cni-flannel ADD:v-add" "upstream bridge+host-local ADD:u-add" \
	 "vpcnet cni-flannel DEL:v-del" "upstream bridge+host-local DEL:u-del"; do
	read -r m p < <(stats "$T/${x##*:}")
	printf '%-34s %10s %10s\n' "${x%%:*}" "$m" "$p"
done
read -r va _ < <(stats "$T/v-add"); read -r ua _ < <(stats "$T/u-add")
read -r vd _ < <(stats "$T/v-del"); read -r ud _ < <(stats "$T/u-del")
awk -v va="$va" -v ua="$ua" -v vd="$vd" -v ud="$ud" -v b="$bm" 'BEGIN {
	printf "ratio vpcnet/upstream (raw): ADD %.3f, DEL %.3f\n", va/ua, vd/ud
	printf "ratio after the exec floor:  ADD %.3f, DEL %.3f\n", (va-b)/(ua-b), (vd-b)/(ud-b) }'
