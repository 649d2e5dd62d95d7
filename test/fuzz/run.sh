#!/bin/sh
# test/fuzz/run.sh FUZZER...: run each libFuzzer target over its seed corpus
# (test/fuzz/corpus/<name>/) for FUZZ_SECONDS (default 10), prints ok/not ok.
rc=0
for f in "$@"; do
	name=$(basename "$f")
	seeds=$(dirname "$0")/corpus/${name%_fuzz}
	work=$(mktemp -d)
	[ -d "$seeds" ] && cp -r "$seeds"/. "$work"/ 2>/dev/null
	if "$f" -max_total_time="${FUZZ_SECONDS:-10}" -rss_limit_mb=1024 \
		-timeout=5 -print_final_stats=1 -artifact_prefix="$work/" "$work" >"$work.log" 2>&1; then
		echo "ok - $name ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work.log" | awk '{print $2}') runs)"
	else
		echo "not ok - $name"
		tail -n 30 "$work.log"
		rc=1
	fi
	rm -rf "$work" "$work.log"
done
exit $rc
