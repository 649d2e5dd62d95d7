#!/bin/bash
# Start and stop the fakes in the background, for tests.
#
#   start.sh aliyun DIR [CONFIG.json]   fake Alibaba Cloud + metadata service
#   start.sh kube DIR [CONFIG.json]     fake Kubernetes API server
#   start.sh stop DIR [aliyun|kube]     stop them (both when no name given)
#
# DIR gets certs/ (test CA, server and client certs; made once by mkcerts.sh),
# NAME.env (sourceable: URLs, ports, PID, CA path, credentials), NAME.log and
# NAME.pid. Ports are picked by the kernel (port 0); start.sh returns once the
# fake has written its env file and said "ready" on a fifo (no fixed sleeps).
# Environment: FAKE_LISTEN (default 127.0.0.1), FAKE_NETNS (run the fake
# inside that netns), FAKE_CERT_NAMES (extra DNS names/IPs for the server
# cert), FAKE_READY_TIMEOUT (seconds, default 20).
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "start.sh: $*" >&2; exit 1; }

start() {	# start NAME DIR [CONFIG]
	local name=$1 dir=$2 config=${3:-} fifo pid line
	mkdir -p "$dir" || die "cannot create $dir"
	dir=$(cd "$dir" && pwd)
	command -v node >/dev/null || die "node is not installed"
	if [ ! -s "$dir/certs/server.pem" ]; then
		# shellcheck disable=SC2086
		"$here/mkcerts.sh" "$dir/certs" kubernetes \
			kubernetes.default.svc kubernetes.default.svc.cluster.local \
			ecs.aliyuncs.com vpc.aliyuncs.com \
			"ecs-vpc.cn-hangzhou.aliyuncs.com" \
			"vpc-vpc.cn-hangzhou.aliyuncs.com" \
			${FAKE_CERT_NAMES:-} >/dev/null ||
			die "mkcerts.sh failed"
	fi
	stop_one "$name" "$dir"
	fifo=$dir/.$name.ready
	rm -f "$fifo" "$dir/$name.env"
	mkfifo "$fifo" || die "mkfifo $fifo"
	# Open read-write so neither side blocks on open; read with a timeout.
	exec {fd}<>"$fifo"
	local args=(--certs "$dir/certs" --listen "${FAKE_LISTEN:-127.0.0.1}"
		--ready "$fifo" --env "$dir/$name.env")
	[ -n "$config" ] && args+=(--config "$(cd "$(dirname "$config")" &&
		pwd)/$(basename "$config")")
	if [ -n "${FAKE_NETNS:-}" ]; then
		setsid ip netns exec "$FAKE_NETNS" node "$here/$name.js" \
			"${args[@]}" </dev/null >"$dir/$name.log" 2>&1 &
	else
		setsid node "$here/$name.js" "${args[@]}" \
			</dev/null >"$dir/$name.log" 2>&1 &
	fi
	pid=$!
	echo "$pid" >"$dir/$name.pid"
	line=
	read -r -t "${FAKE_READY_TIMEOUT:-20}" -u "$fd" line
	exec {fd}<&-
	rm -f "$fifo"
	case "$line" in
	ready*) ;;
	*)	kill "$pid" 2>/dev/null
		sed 's/^/  /' "$dir/$name.log" >&2
		die "$name did not become ready" ;;
	esac
	kill -0 "$pid" 2>/dev/null || die "$name exited"
	echo "$dir/$name.env"
}

stop_one() {	# stop_one NAME DIR
	local pid
	[ -f "$2/$1.pid" ] || return 0
	pid=$(cat "$2/$1.pid")
	rm -f "$2/$1.pid"
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	# tail --pid returns as soon as the process is gone
	timeout 10 tail --pid="$pid" -s 0.05 -f /dev/null 2>/dev/null ||
		kill -KILL "$pid" 2>/dev/null
	return 0
}

case "${1:-}" in
aliyun|kube)
	[ $# -ge 2 ] || die "usage: $0 $1 DIR [CONFIG]"
	start "$1" "$2" "${3:-}" ;;
stop)
	[ $# -ge 2 ] || die "usage: $0 stop DIR [aliyun|kube]"
	if [ -n "${3:-}" ]; then
		stop_one "$3" "$2"
	else
		stop_one aliyun "$2"
		stop_one kube "$2"
	fi ;;
*)
	sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2 ;;
esac
