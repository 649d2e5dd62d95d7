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
# runtimes exec the plugin by its type name: a symlink, as after --install
ln -s "$VPCNET" "$T/flannel"
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

# loop VERB conf binary: N calls inside the node netns, one elapsed time
# (microseconds, bash's EPOCHREALTIME around fork+exec+wait) per line
loop() {
	ip netns exec "$P-node" env -i PATH="$PATH" P="$P" N="$N" UP="$UP" \
		bash -c '
		for i in $(seq "$N"); do
			t0=$EPOCHREALTIME
			CNI_COMMAND='"$1"' CNI_CONTAINERID=c$i \
			CNI_NETNS=/run/netns/$P-$i CNI_IFNAME=eth0 CNI_PATH=$UP \
				'"$3"' <'"$2"' >/dev/null || echo "FAILED $i" >&2
			t1=$EPOCHREALTIME
			echo $(( (${t1/./} - ${t0/./}) ))
		done'
}

# stats FILE: median and p95 in ms
stats() {
	sort -n "$1" | awk '{a[NR]=$1} END {m=a[int((NR+1)/2)]; p=a[int(NR*0.95+0.5)];
		printf "%.2f %.2f", m/1000, p/1000}'
}

loop ADD "$T/vpcnet.conf" "$T/flannel" >"$T/v-add"
loop DEL "$T/vpcnet.conf" "$T/flannel" >"$T/v-del"
loop ADD "$T/up.conf" "$UP/bridge" >"$T/u-add"
loop DEL "$T/up.conf" "$UP/bridge" >"$T/u-del"
# CPU time (user+sys) of one more ADD/DEL pair each
cpu() {
	ip netns exec "$P-node" env CNI_COMMAND=$1 CNI_CONTAINERID=cpu \
		CNI_NETNS=/run/netns/$P-1 CNI_IFNAME=eth9 CNI_PATH=$UP \
		bash -c "TIMEFORMAT=%3U+%3S; time $3 <$2 >/dev/null 2>&1" 2>&1 |
		tail -n1 | awk -F+ '{printf "%.1f", ($1+$2)*1000}'
}
vcpu=$(cpu ADD "$T/vpcnet.conf" "$T/flannel"); cpu DEL "$T/vpcnet.conf" "$T/flannel" >/dev/null
ucpu=$(cpu ADD "$T/up.conf" "$UP/bridge"); cpu DEL "$T/up.conf" "$UP/bridge" >/dev/null

printf '%-34s %10s %10s\n' "($N sequential pods, ipMasq=$MASQ)" "median ms" "p95 ms"
for x in "vpcnet cni-flannel ADD:v-add" "upstream bridge+host-local ADD:u-add" \
	 "vpcnet cni-flannel DEL:v-del" "upstream bridge+host-local DEL:u-del"; do
	read -r m p < <(stats "$T/${x##*:}")
	printf '%-34s %10s %10s\n' "${x%%:*}" "$m" "$p"
done
read -r va _ < <(stats "$T/v-add"); read -r ua _ < <(stats "$T/u-add")
read -r vd _ < <(stats "$T/v-del"); read -r ud _ < <(stats "$T/u-del")
awk -v va="$va" -v ua="$ua" -v vd="$vd" -v ud="$ud" 'BEGIN {
	printf "median ratio vpcnet/upstream: ADD %.3f (%.1fx faster), DEL %.3f (%.1fx faster)\n",
		va/ua, ua/va, vd/ud, ud/vd }'
echo "CPU time of one ADD (user+sys ms): vpcnet $vcpu, upstream $ucpu"
