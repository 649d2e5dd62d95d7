#!/bin/bash
# Dispatch: argv[0], "vpcnet APPLET", --list/--help/--version/--install.
. "$(dirname "$0")/lib.sh"

static_binary() {
	[ -x "$TOP/build/vpcnet" ] || fail "build/vpcnet missing"
	! readelf -d "$TOP/build/vpcnet" 2>&1 | grep -q 'Dynamic section' ||
		fail "has a dynamic section"
	! readelf -l "$TOP/build/vpcnet" | grep -q INTERP || fail "has PT_INTERP"
	file "$TOP/build/vpcnet" 2>/dev/null | grep -q 'not stripped' &&
		fail "not stripped"
	return 0
}

list_sorted_and_complete() {
	local names src
	names=$("$VPCNET" --list | awk '{print $1}')
	[ "$names" = "$(printf '%s\n' $names | LC_ALL=C sort)" ] ||
		fail "--list not sorted: $names"
	for src in "$TOP"/applets/*.c "$TOP"/applets/*/; do
		[ -e "$src" ] || continue
		src=${src%/}
		src=$(basename "$src" .c | tr _ -)
		printf '%s\n' $names | grep -qx "$src" ||
			fail "applet $src missing from the table"
	done
	"$VPCNET" --list | grep -q '^cni-flannel  *flannel ' || fail "alias"
	"$VPCNET" --list | grep '^netpolicy' | grep -q 'not implemented' ||
		"$VPCNET" netpolicy --help >/dev/null
}

version_and_help() {
	"$VPCNET" --version | grep -qx "vpcnet $(cat "$TOP/VERSION")" ||
		fail "version"
	"$VPCNET" --help | grep -q '^usage: vpcnet' || fail "--help"
	"$VPCNET" >/dev/null 2>&1 && fail "no args should exit non-zero"
	"$VPCNET" nosuch 2>&1 | grep -q 'unknown applet' || fail "unknown"
	"$VPCNET" cni-flannel --help | grep -qi flannel || fail "applet help"
	return 0
}

install_idempotent() {
	local d=$T/bin a
	mkdir -p "$d"
	"$VPCNET" --install "$d" || fail "install"
	"$VPCNET" --install "$d" || fail "install twice"
	cmp "$VPCNET" "$d/vpcnet" || fail "DIR/vpcnet is not a copy"
	for a in cni-flannel flannel cni-terway terway eni-agent netpolicy; do
		[ "$(readlink "$d/$a")" = vpcnet ] || fail "$a not linked"
	done
	[ "$(ls -A "$d" | wc -l)" = 7 ] || fail "stray files: $(ls -A "$d")"
	ln -sf /nonexistent "$d/flannel"
	"$VPCNET" --install "$d" && [ -e "$d/flannel" ] || fail "stale link"
	"$d/flannel" --help | grep -qi flannel || fail "argv0 dispatch"
	CNI_COMMAND=VERSION "$d/flannel" </dev/null | grep -q supportedVersions ||
		fail "flannel VERSION via symlink"
	# run from the installed copy: no second copy, links unchanged
	"$d/vpcnet" --install "$d" && [ "$(ls -A "$d" | wc -l)" = 7 ] ||
		fail "install from DIR itself"
}

install_conflist() {
	local d=$T/bin2 c=$T/netd
	mkdir -p "$d" "$c"
	echo '{"cniVersion":"1.0.0","name":"x","plugins":[{"type":"flannel"}]}' \
		>"$T/10-x.conflist"
	"$VPCNET" --install "$d" "$T/10-x.conflist" "$c" || fail "install"
	cmp "$T/10-x.conflist" "$c/10-x.conflist" || fail "conflist differs"
	echo 'not json' >"$T/bad.conflist"
	"$VPCNET" --install "$d" "$T/bad.conflist" "$c" 2>"$T/err" &&
		fail "bad conflist accepted"
	grep -q "not a JSON object" "$T/err" || fail "message: $(cat "$T/err")"
	[ ! -e "$c/bad.conflist" ] || fail "bad conflist written"
}

not_implemented_exit() {
	local a
	for a in $("$VPCNET" --list | grep 'not implemented' | awk '{print $1}'); do
		"$VPCNET" "$a" </dev/null >/dev/null 2>&1 && fail "$a exit 0"
	done
	return 0
}

testing "static stripped binary, no dynamic section" static_binary
testing "--list sorted and complete" list_sorted_and_complete
testing "--version, --help, unknown applet" version_and_help
testing "--install DIR: a copy and links, idempotent, argv[0] dispatch" \
	install_idempotent
testing "--install DIR CONFLIST CONFDIR writes a checked conflist" \
	install_conflist
testing "unimplemented applets exit non-zero" not_implemented_exit
finish
