#!/usr/bin/python3
"""CNI ADD/DEL side by side: vpcnet cni-flannel against Debian's upstream
plugins given the same network, in one run, inside one node netns.

A plugin call is timed the way a runtime makes it: posix_spawn (vfork) of
the plugin with the config on stdin, wait4 for its exit. CPU is the child's
user+sys time from wait4's rusage. Upstream chains are run as libcni does:
each plugin in turn with the previous result as prevResult (ADD), in reverse
order without it (DEL); their times are summed, the JSON handling between
them is not counted.

usage: test/bench/cni_bench.py [N]   (root; after `make`)
"""
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
VPCNET = os.environ.get("VPCNET", os.path.join(TOP, "build/vpcnet"))
UP = "/usr/lib/cni"
N = int(sys.argv[1]) if len(sys.argv) > 1 else 50
P = "cb%d" % os.getpid()
BW = {"ingressRate": 100000000, "ingressBurst": 1000000,
      "egressRate": 100000000, "egressBurst": 1000000}


def sh(*args):
    subprocess.run(args, check=True)


def setns(path):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
        raise OSError(ctypes.get_errno(), "setns " + path)
    os.close(fd)


def call(tmp, binary, verb, cid, conf, wait=True):
    """Start one plugin call; with wait, return (result, wall s, cpu s)."""
    cf = os.path.join(tmp, "in-%s-%s" % (cid, verb))
    out = os.path.join(tmp, "out-%s-%s" % (cid, verb))
    with open(cf, "w") as f:
        json.dump(conf, f)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "CNI_COMMAND": verb,
           "CNI_CONTAINERID": cid, "CNI_NETNS": "/run/netns/%s-%s" % (P, cid),
           "CNI_IFNAME": "eth0", "CNI_PATH": UP}
    fa = [(os.POSIX_SPAWN_OPEN, 0, cf, os.O_RDONLY, 0),
          (os.POSIX_SPAWN_OPEN, 1, out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
           0o600)]
    t0 = time.perf_counter()
    pid = os.posix_spawn(binary, [binary], env, file_actions=fa)
    if not wait:
        return pid, out, t0
    return finish(pid, out, t0, verb, cid)


def finish(pid, out, t0, verb, cid):
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    with open(out) as f:
        text = f.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("%s %s failed: %s" % (verb, cid, text))
    res = json.loads(text) if text.strip() else None
    return res, wall, ru.ru_utime + ru.ru_stime


def ip_of(res):
    return res["ips"][0]["address"].split("/")[0]


class Network:
    """One CNI network: how to ADD and DEL a pod, as a list of plugins."""

    def __init__(self, tmp, label, chain):
        self.tmp, self.label, self.chain = tmp, label, chain

    def add(self, cid):
        prev, wall, cpu = None, 0.0, 0.0
        for binary, conf in self.chain:
            c = dict(conf)
            if prev is not None:
                c["prevResult"] = prev
            prev, w, u = call(self.tmp, binary, "ADD", cid, c)
            wall, cpu = wall + w, cpu + u
        return prev, wall, cpu

    def delete(self, cid):
        wall = 0.0
        for binary, conf in reversed(self.chain):
            wall += call(self.tmp, binary, "DEL", cid, conf)[1]
        return wall


def networks(tmp, masq, bw):
    """(vpcnet, upstream) Network pair for one scenario."""
    tag = "%d%d" % (masq, bw)
    senv = os.path.join(tmp, "subnet.env." + tag)
    with open(senv, "w") as f:
        f.write("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\n"
                "FLANNEL_MTU=1450\nFLANNEL_IPMASQ=%s\n" %
                ("false" if masq else "true"))
    v = {"cniVersion": "0.3.1", "name": "bv" + tag, "type": "flannel",
         "subnetFile": senv, "dataDir": os.path.join(tmp, "fl" + tag),
         "ipam": {"dataDir": os.path.join(tmp, "ipam-v" + tag)},
         "delegate": {"bridge": P + "v" + tag, "hairpinMode": True,
                      "isDefaultGateway": True}}
    u = {"cniVersion": "0.3.1", "name": "bu" + tag, "type": "bridge",
         "bridge": P + "u" + tag, "hairpinMode": True,
         "isDefaultGateway": True, "isGateway": True, "ipMasq": bool(masq),
         "mtu": 1450,
         "ipam": {"type": "host-local",
                  "dataDir": os.path.join(tmp, "ipam-u" + tag),
                  "ranges": [[{"subnet": "10.244.1.0/24"}]],
                  "routes": [{"dst": "10.244.0.0/16"}]}}
    flannel = os.path.join(tmp, "flannel")
    vchain = [(flannel, v)]
    uchain = [(os.path.join(UP, "bridge"), u)]
    if bw:
        v["runtimeConfig"] = {"bandwidth": BW}
        b = {"cniVersion": "0.3.1", "name": "bu" + tag, "type": "bandwidth",
             "runtimeConfig": {"bandwidth": BW}}
        uchain.append((os.path.join(UP, "bandwidth"), b))
    return Network(tmp, "v", vchain), Network(tmp, "u", uchain)


def ms(xs, q):
    xs = sorted(xs)
    if q == 50:
        return statistics.median(xs) * 1000
    return xs[min(len(xs) - 1, int(len(xs) * q / 100 + 0.5) - 1)] * 1000


def sequential(net):
    adds, cpus, dels, ips = [], [], [], set()
    for i in range(1, N + 1):
        res, w, c = net.add(str(i))
        adds.append(w)
        cpus.append(c)
        ips.add(ip_of(res))
    for i in range(1, N + 1):
        dels.append(net.delete(str(i)))
    if len(ips) != N:
        raise RuntimeError("duplicate IPs: %d distinct of %d" % (len(ips), N))
    return adds, cpus, dels


def parallel(net):
    """N ADDs started at once (the plugin alone, no chain): wall time from
    the first start to the last exit, and the distinct addresses."""
    binary, conf = net.chain[0]
    t0 = time.perf_counter()
    started = [(str(i),) + call(net.tmp, binary, "ADD", str(i), conf, False)
               for i in range(1, N + 1)]
    ips = set()
    for cid, pid, out, t in started:
        ips.add(ip_of(finish(pid, out, t, "ADD", cid)[0]))
    wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    started = [(str(i),) + call(net.tmp, binary, "DEL", str(i), conf, False)
               for i in range(1, N + 1)]
    for cid, pid, out, t in started:
        finish(pid, out, t, "DEL", cid)
    return wall, len(ips), time.perf_counter() - t0


def row(name, v, u):
    print("%-40s %10.2f %10.2f %8.3f %7.1fx" % (name, v, u, v / u, u / v))


def main():
    tmp = tempfile.mkdtemp(prefix="vpcnet-bench.")
    made = []
    try:
        for ns in ["node"] + [str(i) for i in range(1, N + 1)]:
            sh("ip", "netns", "add", "%s-%s" % (P, ns))
            made.append("%s-%s" % (P, ns))
        # runtimes exec the plugin by its type name: a symlink, as after
        # --install
        os.symlink(VPCNET, os.path.join(tmp, "flannel"))
        setns("/run/netns/%s-node" % P)
        print("(%d pods; ms per call; ratio = vpcnet/upstream; "
              "speed-up = upstream/vpcnet)" % N)
        print("%-40s %10s %10s %8s %8s" %
              ("", "vpcnet", "upstream", "ratio", "speedup"))
        for masq, bw, what in [
                (0, 0, "bridge+host-local"),
                (1, 0, "bridge+host-local, ipMasq"),
                (0, 1, "bridge+host-local+bandwidth")]:
            v, u = networks(tmp, masq, bw)
            va, vc, vd = sequential(v)
            ua, uc, ud = sequential(u)
            print("-- vs %s, %d sequential pods" % (what, N))
            row("ADD median", ms(va, 50), ms(ua, 50))
            row("ADD p95", ms(va, 95), ms(ua, 95))
            row("DEL median", ms(vd, 50), ms(ud, 50))
            row("DEL p95", ms(vd, 95), ms(ud, 95))
            row("CPU (user+sys) per ADD, median", ms(vc, 50), ms(uc, 50))
        v, u = networks(tmp, 0, 0)
        vw, vn, vdw = parallel(v)
        uw, un, udw = parallel(u)
        print("-- vs bridge+host-local, %d ADDs started at once" % N)
        row("all ADDs done (wall)", vw * 1000, uw * 1000)
        row("all DELs done (wall)", vdw * 1000, udw * 1000)
        print("%-40s %10d %10d" % ("distinct IPs", vn, un))
        if vn != N or un != N:
            raise RuntimeError("duplicate IPs in the parallel ADDs")
    finally:
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns])
        shutil.rmtree(tmp, ignore_errors=True)


main()
