# Shared by the netpolicy e2e tests (sourced after lib.sh and cni_lib.sh):
# the upstream model topology (namespaces x, y, z with pods a, b, c on one
# node wired by cni-flannel, each serving TCP and UDP on 80 and 81, and an
# "out" host behind the node), the List/object builders, and the probes
# that compare the whole reachability matrix with a truth table.

PROBE=${NP_PROBE:-$TOP/build/unit/np_probe_test}
PODS="x/a x/b x/c y/a y/b y/c z/a z/b z/c"
SRCS="$PODS out node"
DSTS="$PODS out"
PPS="tcp/80 tcp/81 udp/80 udp/81"
NODE_NAME=n1
TMO=500			# ms per probe; a failed "ok" is retried with 2 s
declare -A IP IP6 NAME
CASES=0

nsof() {
	case $1 in
	node) echo "$NODE" ;;
	out) echo "${OUT_NS:-$P-out}" ;;
	*) echo "$P-${1/\//-}" ;;
	esac
}

tentative() {	# any IPv6 address of the node or a pod still tentative?
	local ns
	for ns in node $PODS; do
		ip -n "$(nsof $ns)" -6 addr show tentative | grep -q . &&
			return 0
	done
	return 1
}

# serve_all: every pod and "out" serving TCP and UDP on 80 and 81
serve_all() {
	local pod
	for pod in $PODS out; do
		ip netns exec "$(nsof $pod)" "$PROBE" serve 80 81 \
			>"$T/ready.${pod/\//-}" 2>&1 &
	done
	for pod in $PODS out; do
		for _ in $(seq 50); do
			grep -q ready "$T/ready.${pod/\//-}" && break
			sleep 0.1
		done
		grep -q ready "$T/ready.${pod/\//-}" ||
			fail "$pod: no server" || return 1
	done
}

setup() {
	local pod
	[ -x "$PROBE" ] || skip "no $PROBE (make units)"
	node_up && mkns out || return 1
	if ! ip netns exec "$NODE" test -d /proc/sys/net/bridge; then
		modprobe br_netfilter 2>/dev/null
		ip netns exec "$NODE" test -d /proc/sys/net/bridge ||
			skip "br_netfilter not available"
	fi
	subnet_env 10.244.0.0/16 10.244.1.1/24 1500 true \
		fd00:10:244::/56 fd00:10:244:1::1/64
	flannel_conf 1.0.0 >"$T/conf"
	for pod in $PODS; do
		mkns "${pod/\//-}" || return 1
		cni ADD "ctr-${pod/\//-}" "${pod/\//-}" eth0 <"$T/conf" \
			>"$T/res" || { cat "$T/res"; return 1; }
		IP[$pod]=$(pod_ip "${pod/\//-}")
		IP6[$pod]=$(pod_ip "${pod/\//-}" 6)
		NAME[${IP[$pod]}]=$pod
	done
	for _ in $(seq 50); do	# IPv6 duplicate address detection
		tentative || break
		sleep 0.1
	done
	ip link add "${P}o0" netns "$NODE" type veth peer name eth0 \
		netns "$P-out" || return 1
	ip -n "$NODE" addr add 192.0.2.1/24 dev "${P}o0"
	ip -n "$NODE" link set "${P}o0" up
	ip -n "$P-out" addr add 192.0.2.2/24 dev eth0
	ip -n "$P-out" link set eth0 up
	ip -n "$P-out" route add 10.244.0.0/16 via 192.0.2.1
	IP[out]=192.0.2.2
	NAME[192.0.2.2]=out
	serve_all || return 1
	SETUP_OK=1
}

# --- the List ----------------------------------------------------------

# Per case: extra pod labels LBL[x/a]='"k":"v"', namespace labels
# NSLBL[y]='"k":"v"' (replacing ns=y), container ports PORTSOV[x/a]='[...]',
# nodes NODEOF[x/c]=n2, more items ITEMS+=('{...}'), policies POLS+=(...).
declare -A LBL NSLBL PORTSOV NODEOF
POLS=() ITEMS=() EXPECT=() APPLY_OPTS=() APPLY_BASE=()

reset_case() {
	LBL=() NSLBL=() PORTSOV=() NODEOF=()
	POLS=() ITEMS=() EXPECT=() APPLY_OPTS=()
}

ports_json() {
	local p s out=""
	for p in 80 81; do
		for s in TCP UDP; do
			out="$out${out:+,}{\"name\":\"serve-$p-${s,,}\",\"containerPort\":$p,\"protocol\":\"$s\"}"
		done
	done
	echo "[$out]"
}

pod_json() {
	local pod=$1 ns=${1%/*} name=${1#*/} extra=${LBL[$1]:-}
	local node=${NODEOF[$pod]:-$NODE_NAME} ports=${PORTSOV[$pod]:-}
	local ip6=${IP6[$pod]:+,{\"ip\":\"${IP6[$pod]}\"\}}
	printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"%s","labels":{"pod":"%s"%s}},"spec":{"nodeName":"%s","containers":[{"name":"c","ports":%s}]},"status":{"phase":"Running","podIP":"%s","podIPs":[{"ip":"%s"}%s]}}' \
		"$name" "$ns" "$name" "${extra:+,$extra}" "$node" \
		"${ports:-$(ports_json)}" "${IP[$pod]}" "${IP[$pod]}" "$ip6"
}

ns_json() {
	printf '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"%s","labels":{"kubernetes.io/metadata.name":"%s",%s}}}' \
		"$1" "$1" "${NSLBL[$1]:-\"ns\":\"$1\"}"
}

# pol NS NAME SPEC: a NetworkPolicy; @x/b@ in SPEC becomes x/b's address,
# @podnet@ the pods' CIDR ($PODNET)
pol() {
	local spec=${3//@podnet@/${PODNET:-}} k
	for k in "${!IP[@]}"; do
		spec=${spec//@$k@/${IP[$k]}}
	done
	printf '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"%s","namespace":"%s"},"spec":%s}' \
		"$2" "$1" "$spec"
}

list_json() {
	local items=() n pod
	for n in x y z; do items+=("$(ns_json $n)"); done
	for pod in $PODS; do items+=("$(pod_json "$pod")"); done
	items+=("${ITEMS[@]}" "${POLS[@]}")
	local IFS=,
	echo "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[${items[*]}]}"
}

np() { ip netns exec "$NODE" "$VPCNET" netpolicy "$@"; }

# apply_list: `netpolicy apply` of the current List, with $APPLY_BASE (the
# script's) and $APPLY_OPTS (the case's) options
apply_list() {
	list_json >"$T/list.json"
	np apply "${APPLY_BASE[@]}" "${APPLY_OPTS[@]}" "$T/list.json" \
		2>"$T/apply.err" || { cat "$T/apply.err"; fail "apply failed"; }
}

# --- probing -----------------------------------------------------------

specs_for() {	# specs_for SRC: probe specs to every destination
	local src=$1 dst pp
	for dst in $DSTS; do
		[ "$src" = "$dst" ] && [ "$src" = out ] && continue
		[ "$src" = node ] && [ "$dst" = out ] && continue
		for pp in $PPS; do
			echo "${pp%/*}:${IP[$dst]}:${pp#*/}"
		done
	done
}

# probe_all TMO [SRC...]: "SRC DST PORT ok|fail" lines in $T/actual
probe_all() {
	local tmo=$1 src srcs pids=()
	shift
	# shellcheck disable=SC2206
	srcs=(${*:-$SRCS})
	for src in "${srcs[@]}"; do
		# shellcheck disable=SC2046
		ip netns exec "$(nsof $src)" "$PROBE" probe "$tmo" \
			$(specs_for $src) >"$T/p.${src/\//-}" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	for src in "${srcs[@]}"; do
		sed 's/^\(tcp\|udp\):\(.*\):\([0-9]*\) /\1 \2 \3 /' \
			"$T/p.${src/\//-}" |
		while read -r proto ip port res; do
			echo "$src ${NAME[$ip]:-?$ip} $proto/$port $res"
		done
	done | sort
}

expected() {
	local src dst pp v r rs rd rp rv
	for src in $SRCS; do
		for dst in $DSTS; do
			[ "$src" = "$dst" ] && [ "$src" = out ] && continue
			[ "$src" = node ] && [ "$dst" = out ] && continue
			for pp in $PPS; do
				v=ok
				for r in "${EXPECT[@]}"; do
					read -r rs rd rp rv <<<"$r"
					# shellcheck disable=SC2053
					[[ $src == $rs && $dst == $rd &&
					   $pp == $rp ]] && v=$rv
				done
				[ "$src" = "$dst" ] && v=ok
				[ "$src" = node ] && v=ok
				echo "$src $dst $pp $v"
			done
		done
	done | sort
}

# Probe and compare. When the only differences are cells expected ok that
# failed, their sources are probed again with a longer timeout.
check_matrix() {
	local srcs
	expected >"$T/expected"
	probe_all $TMO >"$T/actual"
	diff "$T/expected" "$T/actual" | grep '^< ' >"$T/missing"
	if [ -s "$T/missing" ] && ! grep -q ' fail$' "$T/missing"; then
		srcs=$(awk '{print $2}' "$T/missing" | sort -u | tr '\n' ' ')
		# shellcheck disable=SC2086
		probe_all 2000 $srcs >"$T/retry"
		grep -v -E "^($(echo $srcs | tr ' ' '|')) " "$T/actual" |
			cat - "$T/retry" | sort >"$T/actual2"
		mv "$T/actual2" "$T/actual"
	fi
	cmp -s "$T/expected" "$T/actual" && return 0
	echo "mismatches (< expected, > actual):"
	diff "$T/expected" "$T/actual" | grep '^[<>]' | head -n 30
	return 1
}

# step: apply the current List, check the matrix
step() {
	[ -n "${SETUP_OK:-}" ] || skip "setup failed"
	CASES=$((CASES + 1))
	apply_list && check_matrix
}
