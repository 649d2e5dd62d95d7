#!/bin/bash
# `make bench`: benchmarks side by side with Debian's upstream plugins.
cd "$(dirname "$0")/../.." || exit 1
echo "## binary size"
printf 'vpcnet (all applets): %s bytes\n' "$(stat -c %s build/vpcnet)"
printf 'upstream bridge + host-local + bandwidth: %s bytes\n' \
	"$(stat -c %s /usr/lib/cni/bridge /usr/lib/cni/host-local \
	/usr/lib/cni/bandwidth | awk '{s+=$1} END {print s}')"
printf 'smallest single upstream plugin: %s\n' \
	"$(stat -c '%s bytes (%n)' /usr/lib/cni/* | sort -n | head -n1)"
echo
echo "## CNI ADD/DEL, cni-flannel vs Debian's upstream plugins"
test/bench/cni_bench.py 50 || exit 1
echo
echo "## bandwidth accuracy (iperf3 -t 3 -O 1 through cni-flannel's limits)"
test/e2e/flannel_bandwidth.sh 2>&1 | sed -n 's/^ *# bw //p'
echo
echo "## daemons' memory, steady state with 100 pods"
test/bench/daemons_rss.sh
echo
echo "## netpolicy: 1,000 policies over 10,000 pods"
test/bench/netpolicy.sh
