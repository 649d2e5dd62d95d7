#!/bin/bash
# Runs every test of `make check` and ends with "N passed, N failed, N skipped".
# Unit tests: build/unit/* (static musl, our lib/mnl) and build/asan/unit/*
# (glibc, ASan+UBSan, Debian's libmnl). Fuzz targets: a short run each.
# e2e: test/e2e/*.sh with the static binary, and the netlink ones
# (marked "# netlink" on their second line) again with build/glibc/vpcnet.
# TESTS=pattern limits what runs.
cd "$(dirname "$0")/.." || exit 1
TOP=$PWD
pass=0 fail=0 skip=0
filter=${TESTS:-}

count() {	# count TAP-ish lines of a log
	local log=$1 p f s
	p=$(grep -c '^ok - ' "$log")
	s=$(grep -c '^ok - .*# SKIP' "$log")
	f=$(grep -c '^not ok - ' "$log")
	pass=$((pass + p - s)) fail=$((fail + f)) skip=$((skip + s))
}

run_one() {	# run_one LABEL CMD...
	local label=$1 log rc
	shift
	case "$label" in *$filter*) ;; *) return ;; esac
	log=$(mktemp)
	echo "== $label"
	"$@" >"$log" 2>&1
	rc=$?
	sed 's/^/   /' "$log" | grep -v '^   ok - ' | head -n 200
	grep '^ok - ' "$log" | sed 's/^/   /'
	count "$log"
	if [ $rc != 0 ] && ! grep -q '^not ok - ' "$log"; then
		echo "   not ok - $label exited $rc"
		fail=$((fail + 1))
	fi
	rm -f "$log"
}

for t in build/unit/*_test; do
	[ -x "$t" ] && run_one "unit/musl/${t##*/}" "$t"
done
for t in build/asan/unit/*_test; do
	[ -x "$t" ] && ASAN_OPTIONS=detect_leaks=1 \
		run_one "unit/asan/${t##*/}" "$t"
done
for t in build/fuzz/*_fuzz; do
	[ -x "$t" ] && run_one "fuzz/${t##*/}" test/fuzz/run.sh "$t"
done
for t in test/e2e/*.sh; do
	case "${t##*/}" in lib.sh | *_lib.sh) continue ;; esac
	run_one "e2e/${t##*/}" bash "$t"
	if sed -n 2p "$t" | grep -q '# netlink'; then
		VPCNET=$TOP/build/glibc/vpcnet \
			run_one "e2e-glibc-libmnl/${t##*/}" bash "$t"
	fi
done
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
