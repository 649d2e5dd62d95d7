#!/bin/bash
# netlink
# Side by side with Debian's upstream plugins (containernetworking-plugins):
# - the IPAM store is shared with host-local in both directions;
# - given the delegate config upstream flannel builds from the same
#   subnet.env, bridge + host-local and cni-flannel produce the same result
#   and the same kernel state (apart from random names);
# - cnitool (the CNI project's client, built from Debian's source) drives it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cni_lib.sh"
UP=/usr/lib/cni

# upstream_conf: what flannel's plugin hands to bridge for our subnet.env
upstream_conf() {
	cat <<EOC
{"cniVersion":"0.3.1","name":"$NET","type":"bridge","bridge":"$BR",
 "hairpinMode":true,"isDefaultGateway":true,"isGateway":true,
 "ipMasq":false,"mtu":1400,
 "ipam":{"type":"host-local","dataDir":"$IPAM_DATA",
  "ranges":[[{"subnet":"10.244.3.0/24"}]],
  "routes":[{"dst":"10.244.0.0/16"}]}}
EOC
}

upstream() {	# upstream PLUGIN VERB CID POD IFNAME < conf
	ip netns exec "$NODE" env -i PATH="$PATH" CNI_COMMAND="$2" \
		CNI_CONTAINERID="$3" CNI_NETNS="${4:+/run/netns/$P-$4}" \
		CNI_IFNAME="$5" CNI_PATH=$UP "$UP/$1"
}

setup() {
	[ -x $UP/bridge ] && [ -x $UP/host-local ] ||
		skip "containernetworking-plugins not installed"
	node_up && mkns up && mkns us || return 1
	subnet_env 10.244.0.0/16 10.244.3.1/24 1400 true
	flannel_conf 0.3.1 >"$T/conf"
	upstream_conf >"$T/upconf"
}

# normalise a result: drop random names/MACs, sort keys
norm() {
	jq -S 'del(.interfaces[]?.mac) |
		.interfaces |= map(if .sandbox then . else del(.name) end) |
		del(.interfaces[]?.sandbox)' "$1"
}

# linkstate NS IFNAME: link flags, mtu, qdisc, master, state, qlen,
# hairpin, without names, indexes and MACs
linkstate() {
	ip -n "$1" -d -o link show "$2" | sed -e 's/^[0-9]*: [^:]*: //' \
		-e 's/link\/ether [^ ]* brd [^ ]*//' -e 's/link-netns[^ ]* [^ ]*//' \
		-e 's/designated_[a-z]* [^ ]*//g' -e 's/port_[a-z]* [^ ]*//g' \
		-e 's/[a-z_]*_timer *[0-9.]*//g' -e 's/ \+/ /g'
	[ -n "$(ip -n "$1" -o link show "$2")" ]
}

same_result_and_state() {
	upstream bridge ADD ctr-up up eth0 <"$T/upconf" >"$T/r-up" ||
		{ cat "$T/r-up"; fail "upstream ADD"; return 1; }
	cni ADD ctr-us us eth0 <"$T/conf" >"$T/r-us" ||
		{ cat "$T/r-us"; fail "vpcnet ADD"; return 1; }
	diff <(norm "$T/r-up" | sed 's/10\.244\.3\.2\//X\//') \
	     <(norm "$T/r-us" | sed 's/10\.244\.3\.3\//X\//') ||
		fail "results differ (upstream <, vpcnet >)"
	diff <(ip -n "$P-up" -d -o addr show dev eth0 scope global |
		awk '{print $3,$4,$5}' |
		sed 's/10\.244\.3\.2/X/') \
	     <(ip -n "$P-us" -d -o addr show dev eth0 scope global |
		awk '{print $3,$4,$5}' |
		sed 's/10\.244\.3\.3/X/') || fail "pod addresses differ"
	diff <(ip -n "$P-up" route show | sed 's/10\.244\.3\.2/X/') \
	     <(ip -n "$P-us" route show | sed 's/10\.244\.3\.3/X/') ||
		fail "pod routes differ"
	[ "$(jq -r '.ips[0].address' "$T/r-us")" = 10.244.3.3/24 ] ||
		fail "vpcnet result: $(cat "$T/r-us")"
	diff <(linkstate "$P-up" eth0) <(linkstate "$P-us" eth0) ||
		fail "pod link state differs"
	diff <(linkstate "$NODE" "$(jq -r '.interfaces[1].name' "$T/r-up")") \
	     <(linkstate "$NODE" "$(jq -r '.interfaces[1].name' "$T/r-us")") ||
		fail "host veth state differs"
	expect_eq "bridge address" "$(ip -n "$NODE" -o -4 addr show "$BR" |
		awk '{print $4}')" 10.244.3.1/24
}

leases_shared_both_ways() {
	# upstream's lease (10.244.3.2) was skipped by vpcnet (got .3): now
	# release vpcnet's pod with upstream host-local and upstream's with us.
	[ -f "$IPAM_DATA/$NET/10.244.3.2" ] || fail "upstream lease missing"
	cmp <(printf 'ctr-us\r\neth0') "$IPAM_DATA/$NET/10.244.3.3" ||
		fail "lease file format differs from host-local's"
	cmp "$IPAM_DATA/$NET/10.244.3.2" <(printf 'ctr-up\r\neth0') ||
		fail "upstream lease not as expected"
	cni DEL ctr-up up eth0 <"$T/conf" || fail "vpcnet DEL of upstream pod"
	[ ! -f "$IPAM_DATA/$NET/10.244.3.2" ] || fail "upstream lease kept"
	upstream bridge DEL ctr-us us eth0 <"$T/upconf" || fail "upstream DEL"
	[ ! -f "$IPAM_DATA/$NET/10.244.3.3" ] || fail "vpcnet lease kept"
	cni DEL ctr-us us eth0 <"$T/conf" || fail "vpcnet DEL after upstream"
}

cnitool_drives_it() {
	local tool bin=$T/cnibin confdir=$T/netconf out
	tool=$("$TOP/test/tools/cnitool.sh" 2>"$T/cnitool.err") ||
		skip "cnitool build failed: $(tail -n1 "$T/cnitool.err")"
	mkdir -p "$bin" "$confdir"
	"$VPCNET" --install "$bin" || return 1
	cat >"$confdir/10-flannel.conflist" <<EOC
{"cniVersion":"1.0.0","name":"$NET","plugins":[
 {"type":"flannel","subnetFile":"$SUBNET_ENV","dataDir":"$FL_DATA",
  "ipam":{"dataDir":"$IPAM_DATA"},
  "delegate":{"bridge":"$BR","hairpinMode":true,"isDefaultGateway":true}}]}
EOC
	mkns tool || return 1
	out=$(ip netns exec "$NODE" env NETCONFPATH="$confdir" CNI_PATH="$bin" \
		"$tool" add "$NET" "/run/netns/$P-tool") || fail "cnitool add: $out"
	echo "$out" | jq -e '.ips[0].address' >/dev/null || fail "no ip: $out"
	ip netns exec "$NODE" env NETCONFPATH="$confdir" CNI_PATH="$bin" \
		"$tool" check "$NET" "/run/netns/$P-tool" || fail "cnitool check"
	ip netns exec "$NODE" env NETCONFPATH="$confdir" CNI_PATH="$bin" \
		"$tool" del "$NET" "/run/netns/$P-tool" || fail "cnitool del"
	state_clean
}

testing "setup: upstream bridge/host-local present" setup
testing "same result and kernel state as bridge + host-local" \
	same_result_and_state
testing "host-local store shared in both directions" leases_shared_both_ways
testing "cnitool add/check/del against a conflist naming flannel" \
	cnitool_drives_it
finish
