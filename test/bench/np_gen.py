#!/usr/bin/env python3
"""Generate a netpolicy benchmark cluster as a Kubernetes List (stdout).

    np_gen.py [--pods 10000] [--policies 1000] [--namespaces 100]
              [--nodes 100] [--seed 1] [--relabel N]

Namespaces ns-0.. (labels team, env), pods spread over the namespaces and
over nodes node-0.. (addresses from 10.200.0.2 on), each with container
ports http 8080/TCP, metrics 9090/TCP, dns 53/UDP and labels app, tier,
ver. Policies are spread over the namespaces and mix what real clusters
use: default deny, podSelector peers, namespaceSelector AND podSelector,
matchExpressions, numeric and named ports, endPort, ipBlock with except,
egress. --relabel N prints the same cluster with pod N's app label
changed (for the incremental-update measurement). No network needed.
"""
import argparse
import json
import random
import sys


def pod_ip(i, nodes):
    n = 10 << 24 | 200 << 16
    n += i + 2
    if n >= (10 << 24 | 255 << 16):
        return i % nodes, None
    return i % nodes, "%d.%d.%d.%d" % (n >> 24, n >> 16 & 255, n >> 8 & 255,
                                       n & 255)


def namespaces(n):
    out = []
    for i in range(n):
        out.append({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": "ns-%d" % i, "labels": {
                        "kubernetes.io/metadata.name": "ns-%d" % i,
                        "team": "team-%d" % (i % 10),
                        "env": "prod" if i % 2 == 0 else "staging"}}})
    return out


def pods(n, nns, nodes, relabel):
    out = []
    tiers = ["web", "db", "cache"]
    for i in range(n):
        node, ip = pod_ip(i, nodes)
        if ip is None:
            sys.exit("too many pods (10.200.0.0-10.254.255.255)")
        app = "app-%d" % (i // nns % 10)
        if i == relabel:
            app = "app-relabeled"
        out.append({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": "pod-%d" % i, "namespace": "ns-%d" % (i % nns),
            "labels": {"app": app, "tier": tiers[i % 3],
                       "ver": "v%d" % (i % 4)}},
            "spec": {"nodeName": "node-%d" % node, "containers": [{
                "name": "main", "ports": [
                    {"name": "http", "containerPort": 8080,
                     "protocol": "TCP"},
                    {"name": "metrics", "containerPort": 9090,
                     "protocol": "TCP"},
                    {"name": "dns", "containerPort": 53,
                     "protocol": "UDP"}]}]},
            "status": {"phase": "Running", "podIP": ip,
                       "podIPs": [{"ip": ip}]}})
    return out


def sel(labels):
    return {"matchLabels": labels}


def rule(rnd, k, nns):
    """One ingress or egress rule of kind k."""
    app = "app-%d" % rnd.randrange(10)
    team = "team-%d" % rnd.randrange(10)
    if k == 0:
        return {"from": [{"podSelector": sel({"app": app})}],
                "ports": [{"protocol": "TCP", "port": 8080}]}
    if k == 1:
        return {"from": [{"namespaceSelector": sel({"team": team}),
                          "podSelector": sel({"app": app})}],
                "ports": [{"port": "http"}]}
    if k == 2:
        return {"from": [{"namespaceSelector": {"matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod"]}]}},
            {"podSelector": {"matchExpressions": [
                {"key": "tier", "operator": "NotIn", "values": ["db"]}]}}],
            "ports": [{"protocol": "TCP", "port": 9000, "endPort": 9100}]}
    if k == 3:
        a, b = rnd.randrange(256), rnd.randrange(256)
        return {"from": [{"ipBlock": {"cidr": "10.%d.0.0/16" % a,
                                      "except": ["10.%d.%d.0/24" % (a, b)]}}],
                "ports": [{"protocol": "TCP", "port": 443}]}
    if k == 4:
        return {"from": [{"namespaceSelector": sel({"team": team})}],
                "ports": [{"port": "metrics"}, {"protocol": "UDP",
                                                 "port": "dns"}]}
    return {"from": [{"podSelector": {"matchExpressions": [
        {"key": "ver", "operator": "Exists"}]},
        "namespaceSelector": sel({"env": "staging"})}]}


def policies(n, nns, rnd):
    out = []
    for i in range(n):
        ns = "ns-%d" % (i % nns)
        k = i // nns
        meta = {"name": "np-%d" % i, "namespace": ns}
        if k == 0:
            spec = {"podSelector": {}, "policyTypes": ["Ingress"]}
        elif k % 7 == 6:
            spec = {"podSelector": sel({"tier": "db"}),
                    "policyTypes": ["Egress"],
                    "egress": [{"to": [{"namespaceSelector":
                                        sel({"env": "prod"})}],
                                "ports": [{"protocol": "UDP", "port": 53},
                                          {"protocol": "TCP",
                                           "port": 5432}]},
                               {"to": [{"ipBlock": {
                                   "cidr": "0.0.0.0/0",
                                   "except": ["10.0.0.0/8"]}}]}]}
        else:
            nr = 1 + rnd.randrange(3)
            spec = {"podSelector": sel({"app": "app-%d" % rnd.randrange(10)}),
                    "ingress": [rule(rnd, rnd.randrange(6), nns)
                                for _ in range(nr)]}
        out.append({"apiVersion": "networking.k8s.io/v1",
                    "kind": "NetworkPolicy", "metadata": meta, "spec": spec})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=10000)
    ap.add_argument("--policies", type=int, default=1000)
    ap.add_argument("--namespaces", type=int, default=100)
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--relabel", type=int, default=-1)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    items = (namespaces(a.namespaces) +
             pods(a.pods, a.namespaces, a.nodes, a.relabel) +
             policies(a.policies, a.namespaces, rnd))
    json.dump({"apiVersion": "v1", "kind": "List", "items": items},
              sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
