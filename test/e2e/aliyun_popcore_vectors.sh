#!/bin/bash
# Signature 1.0: lib/aliyun agrees with the official @alicloud/pop-core on
# 20 requests it signs (GET and POST, ECS and VPC, STS tokens, values with
# spaces, * ~ / + = & % ! ' ( ), tab, UTF-8, emoji).  check_aliyun.js
# captures what pop-core puts on the wire and writes the vectors; our
# aliyun_canonical_query, aliyun_string_to_sign and aliyun_signature must
# give the same bytes for each (test/unit/aliyun_test --vectors FILE N).
. "$(dirname "$0")/lib.sh"
FAKE=$TOP/test/fake

deps=ok
if ! command -v node >/dev/null; then
	deps="node is not installed"
elif [ ! -d "$FAKE/node_modules/@alicloud/pop-core" ]; then
	if ! command -v npm >/dev/null; then
		deps="npm is not installed"
	elif ! (cd "$FAKE" && timeout 300 npm ci --no-audit --no-fund \
		>"$T/npm.log" 2>&1); then
		deps="npm ci in test/fake failed (registry unreachable?): $(
			grep -m 1 'npm error' "$T/npm.log")"
	fi
fi

popcore_vectors() {
	[ "$deps" = ok ] || { skip "$deps"; return; }
	node "$FAKE/check_aliyun.js" vectors "$T/vectors.txt" || return 1
	expect_eq "vectors" "$(grep -c '^name=' "$T/vectors.txt")" 20 &&
	expect_eq "POST vectors" "$(grep -c '^method=POST$' "$T/vectors.txt")" 6 &&
	grep -q '^param=SecurityToken=' "$T/vectors.txt" ||
		fail "no STS vector"
}

ours() {	# ours TEST_BINARY
	[ -s "$T/vectors.txt" ] || { skip "no vectors (pop-core missing)"; return; }
	[ -x "$1" ] || { skip "${1#"$TOP"/} is not built (make units)"; return; }
	"$1" --vectors "$T/vectors.txt" 20
}

testing "pop-core signs 20 generated requests (GET/POST, ECS/VPC, STS)" \
	popcore_vectors
testing "lib/aliyun (musl) gives pop-core's bytes for all 20" \
	ours "$TOP/build/unit/aliyun_test"
testing "lib/aliyun (glibc, ASan/UBSan) gives pop-core's bytes for all 20" \
	ours "$TOP/build/asan/unit/aliyun_test"
finish
