#!/bin/bash
# cni-flannel under faults: ADDs killed with SIGKILL all along the code path
# (then the runtime's DEL and GC leave nothing), the state directories full
# or read-only (a clean CNI error, nothing half-written), and 200 pods
# added and deleted concurrently, three rounds.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cni_lib.sh"
KILLS=120	# killed ADDs (half alone, half beside a live pod)
NPODS=200	# concurrent rounds
BATCH=50
SMALL=$T/small	# a 64 KiB tmpfs for the full / read-only cases

setup() {
	local i
	node_up || return 1
	for i in 0 1 2 3 anchor; do mkns "k$i" || return 1; done
	subnet_env 10.244.0.0/16 10.244.7.1/24 1450 false
	# masquerade and both bandwidth directions: every kind of object
	flannel_conf 1.1.0 | jq '. + {ingressRate: 100000000,
		ingressBurst: 1000000, egressRate: 100000000,
		egressBurst: 1000000}' >"$T/conf"
	flannel_conf 1.1.0 >"$T/conf.plain"
}

# gc VALID_CID...: GC with those (eth0) attachments valid
gc() {
	local v
	v=$(printf '%s\n' "$@" | jq -R 'select(. != "") |
		{containerID: ., ifname: "eth0"}' | jq -s .)
	jq --argjson v "$v" '.["cni.dev/valid-attachments"] = $v' "$T/conf" |
		cni GC "" "" "" || fail "GC $*"
}

# kadd CID POD SECONDS: an ADD killed by SIGKILL after SECONDS (nsenter
# and timeout exec straight into the plugin: the delay is the plugin's)
kadd() {
	nsenter --net="/run/netns/$NODE" timeout --foreground -s KILL "$3" \
		env -i PATH="$PATH" CNI_COMMAND=ADD CNI_CONTAINERID="$1" \
		CNI_NETNS="/run/netns/$P-$2" CNI_IFNAME=eth0 \
		CNI_PATH=/opt/cni/bin "$VPCNET" cni-flannel <"$T/conf" \
		>/dev/null 2>&1
}

vethn() { ip -n "$NODE" -o link show type veth | wc -l; }
ifbn() { ip -n "$NODE" -o link show type ifb | wc -l; }
lease_of() { grep -l "^$1"$'\r' "$IPAM_DATA/$NET"/* 2>/dev/null; }
tmp_files() {
	find "$FL_DATA" "$IPAM_DATA" -name '*.tmp*' 2>/dev/null
}

# one trial: kill an ADD after $2 us, note how far it got, DEL, check
ktrial() {
	local cid=$1 us=$2 pod=k$(($3 % 4)) s rc
	kadd "$cid" "$pod" "$((us / 1000000)).$(printf %06d $((us % 1000000)))"
	rc=$?
	KRC=$rc
	s=$([ $rc = 0 ] && echo done || echo killed)
	[ -n "$(lease_of "$cid")" ] && s="$s+lease"
	[ -e "$FL_DATA/$cid" ] && s="$s+state"
	[ "$(vethn)" -gt "$BASE_VETH" ] && s="$s+veth"
	[ "$(ifbn)" -gt "$BASE_IFB" ] && s="$s+ifb"
	HIST[$s]=$((${HIST[$s]:-0} + 1))
	# timeout --foreground: 124 or 137 when it killed the plugin
	case $rc in 0|124|137) ;; *) fail "$cid: ADD exit $rc" ;; esac
	cni DEL "$cid" "$pod" eth0 <"$T/conf" >"$T/del.out" ||
		fail "$cid: DEL after kill at ${us}us: $(cat "$T/del.out")"
	[ -z "$(lease_of "$cid")" ] || fail "$cid: lease left"
	[ ! -e "$FL_DATA/$cid" ] || fail "$cid: state file left"
	expect_eq "$cid: veths" "$(vethn)" "$BASE_VETH"
	expect_eq "$cid: ifbs" "$(ifbn)" "$BASE_IFB"
	ip -n "$P-$pod" link show eth0 >/dev/null 2>&1 &&
		fail "$cid: eth0 left in $pod"
	return 0
}

# how long the plugin runs in an ADD (us, add_span of 5)
span_add() { kadd "m$1" k0 10 || fail "ADD m$1"; }
span_del() { cni DEL "m$1" k0 eth0 <"$T/conf" || fail "DEL m$1"; }

# kill_phase NAME VALID: trials until KILLS/2 ADDs were killed, the delay
# stepping over the ADD's span (a finer offset on each pass), GC every 10
kill_phase() {
	local d i=0 j us killed=0
	d=$(add_span "$NODE" 5 span_add span_del) || return 1
	echo "# $1: ADD takes ${d}us, kills spread over it" >>"$T/notes"
	while [ $killed -lt $((KILLS / 2)) ]; do
		[ $i -lt $((KILLS * 2)) ] || {
			fail "$1: only $killed kills in $i trials"
			return 1
		}
		BASE_VETH=$(vethn) BASE_IFB=$(ifbn)
		j=$((i % 50))
		us=$((1 + j * d / 40 + (i / 50) * d / 120))
		ktrial "$1$i" $us $i || return 1
		[ "$KRC" = 0 ] || killed=$((killed + 1))
		i=$((i + 1))
		[ $((i % 10)) != 0 ] || gc $2 || return 1
	done
	TRIALS=$((TRIALS + i))
}

# first phase with no other pod (each ADD programs the masquerade set, the
# DEL removes it), the second next to a live pod (GC must keep it)
kill_trials() {
	local i
	declare -gA HIST=()
	TRIALS=0
	kill_phase a "" || return 1
	cni ADD anchor kanchor eth0 <"$T/conf" >/dev/null || fail "ADD anchor"
	kill_phase b anchor || return 1
	echo "# $TRIALS trials; what each left before its DEL:" >>"$T/notes"
	for i in "${!HIST[@]}"; do echo "#   ${HIST[$i]} x $i"; done |
		sort -k4 >>"$T/notes"
	expect_eq "anchor lease" "$(lease_of anchor | wc -l)" 1
	expect_eq "masquerade with the anchor" "$(ip netns exec "$NODE" \
		nft list ruleset | grep -c masquerade)" 1
}

after_chaos() {
	local i
	for i in 0 1 2; do
		cni ADD "after$i" "k$i" eth0 <"$T/conf" >"$T/res.$i" ||
			fail "ADD after the kills: $(cat "$T/res.$i")"
	done
	ip netns exec "$P-k0" ping -c1 -W2 \
		"$(jq -r '.ips[0].address' "$T/res.2" | cut -d/ -f1)" \
		>/dev/null || fail "k0 -> k2"
	for i in 0 1 2; do
		cni DEL "after$i" "k$i" eth0 <"$T/conf" || fail "DEL after$i"
	done
	cni DEL anchor kanchor eth0 <"$T/conf" || fail "DEL anchor"
	gc || return 1
	state_clean
	expect_eq "ifbs" "$(ifbn)" 0
	expect_eq "tmp files" "$(tmp_files)" ""
	expect_eq "ipam dir" "$(ls -A "$IPAM_DATA/$NET" | grep -v \
		-e '^lock$' -e '^last_reserved_ip\.0$')" ""
}

# The temporary of a state file: the attachment's DEL removes it, GC
# removes a complete one whose attachment is not valid.
state_tmps() {
	local f=$FL_DATA
	cni ADD g1 k0 eth0 <"$T/conf" >/dev/null || fail "ADD g1"
	cp "$f/g1" "$f/.g1.tmpAAAAAA" && cp "$f/g1" "$f/.g2.tmpBBBBBB" &&
		: >"$f/.g3.tmpCCCCCC" || return 1
	gc g1 || return 1
	expect_eq "after GC" "$(cd "$f" && ls -A | grep tmp | sort | xargs)" \
		".g1.tmpAAAAAA .g3.tmpCCCCCC"
	cni DEL g1 k0 eth0 <"$T/conf" || fail "DEL g1"
	cni DEL g3 k1 eth0 <"$T/conf" || fail "DEL g3"
	expect_eq "after DEL" "$(tmp_files)" ""
	state_clean
}

# ---- full and read-only state directories ------------------------------

# small_conf WHICH: conf with the ipam or the flannel dataDir on the tmpfs
small_conf() {
	case $1 in
	ipam) datadirs "$T/conf" "$FL_DATA" "$SMALL/ipam" ;;
	flannel) datadirs "$T/conf" "$SMALL/flannel" "$IPAM_DATA" ;;
	esac
}

# nothing_half_written: the failed ADD of f1 left no trace
nothing_half_written() {
	local d
	for d in "$IPAM_DATA/$NET" "$SMALL/ipam/$NET"; do
		[ -d "$d" ] || continue
		d=$(ls -A "$d" | grep -v -e '^lock$' -e '^last_reserved_ip')
		[ -z "$d" ] || fail "lease store: $d"
	done
	d=$(ls -A "$FL_DATA" "$SMALL/flannel" 2>/dev/null | grep -v \
		-e '^\.vpcnet\.lock$' -e '^$' -e ':$')
	[ -z "$d" ] || fail "flannel dir: $d"
	expect_eq "veths" "$(vethn)" 0
	expect_eq "ifbs" "$(ifbn)" 0
	expect_eq "pod eth0" "$(ip -n "$P-k0" -o link show eth0 2>/dev/null)" ""
	expect_eq "masquerade" "$(ip netns exec "$NODE" nft list ruleset |
		grep -c masquerade)" 0
}

# add_fails WHY: ADD f1 fails with CNI code 5, JSON on stdout
add_fails() {
	local out
	out=$(small_conf "$WHICH" | cni ADD f1 k0 eth0 2>"$T/err") &&
		{ fail "ADD succeeded with $1"; return 1; }
	echo "$out" | jq -e '.code == 5 and (.msg | length > 0)' \
		>/dev/null || fail "$1: want a code 5 error, got: $out"
	echo "# $1: $out" >>"$T/notes"
	nothing_half_written
}

add_works() {
	small_conf "$WHICH" | cni ADD f1 k0 eth0 >"$T/ok" ||
		fail "ADD $1: $(cat "$T/ok")"
	small_conf "$WHICH" | cni DEL f1 k0 eth0 || fail "DEL $1"
	nothing_half_written
}

fill() { dd if=/dev/zero of="$SMALL/fill" bs=4k >/dev/null 2>&1; true; }

full_dir() {
	WHICH=$1
	add_works "before filling" || return 1	# makes dirs and locks
	fill
	add_fails "$WHICH dataDir full" || return 1
	rm -f "$SMALL/fill"
	add_works "after freeing space"
}

ro_dir() {
	WHICH=$1
	mount -o remount,ro "$SMALL" || return 1
	add_fails "$WHICH dataDir read-only"
	# the runtime's DEL of the failed ADD: nothing recorded, so it succeeds
	small_conf "$WHICH" | cni DEL f1 k0 eth0 >"$T/del" 2>&1 ||
		fail "DEL on a read-only dir: $(cat "$T/del")"
	mount -o remount,rw "$SMALL" || return 1
	add_works "after remounting rw"
}

# ---- 200 pods at once, three rounds ------------------------------------

mass_setup() {
	local i
	for i in $(seq $NPODS); do mkns "m$i" || return 1; done
}

# batch VERB FIRST: VERB pods FIRST..FIRST+BATCH-1 at once
batch() {
	local i pids="" bad=0
	for i in $(seq "$2" $(($2 + BATCH - 1))); do
		cni "$1" "r$ROUND-$i" "m$i" eth0 <"$T/conf.plain" \
			>"$T/mres.$i" 2>&1 &
		pids="$pids $!"
	done
	for i in $pids; do wait "$i" || bad=$((bad + 1)); done
	[ $bad = 0 ] || fail "round $ROUND: $bad ${1}s failed: $(cat \
		"$T"/mres.* | grep -v '"interfaces"' | head -n3)"
}

mass_round() {
	local i n
	ROUND=$1
	for i in $(seq 1 $BATCH $NPODS); do batch ADD "$i" || return 1; done
	n=$(for i in $(seq $NPODS); do jq -r '.ips[0].address' "$T/mres.$i"
		done | sort -u | wc -l)
	expect_eq "round $1: distinct IPs" "$n" $NPODS &&
	expect_eq "round $1: leases" "$(leases | wc -l)" $NPODS &&
	expect_eq "round $1: veths" "$(vethn)" $NPODS || return 1
	for i in $(seq 1 $BATCH $NPODS); do batch DEL "$i" || return 1; done
	state_clean
	expect_eq "tmp files" "$(tmp_files)" ""
}

testing "setup" setup
testing "$KILLS ADDs killed at spread points: DEL and GC leave nothing" \
	kill_trials
cat "$T/notes" 2>/dev/null
testing "ADDs after the kills work; then nothing is left" after_chaos
rm -f "$T/notes"
testing "state file temporaries: removed by DEL and GC" state_tmps
testing "mount a 64 KiB tmpfs" small_tmpfs "$SMALL"
testing "ipam dataDir full: code 5, nothing half-written" full_dir ipam
testing "flannel dataDir full: code 5, nothing half-written" full_dir flannel
testing "ipam dataDir read-only: code 5, nothing half-written" ro_dir ipam
testing "flannel dataDir read-only: code 5, nothing half-written" \
	ro_dir flannel
cat "$T/notes" 2>/dev/null
testing "$NPODS pod netns" mass_setup
for r in 1 2 3; do
	testing "round $r: $NPODS ADDs and DELs, $BATCH at a time" mass_round $r
done
finish
