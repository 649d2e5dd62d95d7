# The fake cloud and API server (test/fake) for e2e scripts, sourced after
# lib.sh: start them, skip or fail when they cannot run, poke their
# control endpoints.

FAKE=$TOP/test/fake

# fakes_up DIR CLOUD_JSON KUBE_JSON: the fake cloud (aliyun.js) and API
# server (kube.js), state in DIR, stopped at exit; sets their FAKE_*
# variables. Their output is in DIR.out.
fakes_up() {
	"$FAKE/start.sh" aliyun "$1" "$2" >"$1.out" 2>&1 &&
		on_exit "'$FAKE/start.sh' stop '$1'" &&
		"$FAKE/start.sh" kube "$1" "$3" >>"$1.out" 2>&1 &&
		. "$1/aliyun.env" && . "$1/kube.env"
}

# need_fakes: skip without node.js, fail (with the fakes' output) when the
# fakes started by fakes_up "$CLOUD" are not up
need_fakes() {
	command -v node >/dev/null || { skip "node is not installed"; return; }
	[ -n "${FAKE_KUBE_URL:-}" ] || { cat "$CLOUD.out"; return 1; }
}

ctl() {	# ctl METHOD PATH [JSON]: the fake cloud's control endpoint
	curl -sf -X "$1" ${3:+-d "$3"} "$FAKE_ALIYUN_CONTROL$2"
}

kctl() {	# kctl PATH JSON: the fake API server's control endpoint
	curl -sf -X POST --data-binary "$2" "$FAKE_KUBE_CONTROL$1" >/dev/null
}
