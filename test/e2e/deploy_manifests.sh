#!/bin/bash
# deploy/: the DaemonSet manifests against the code (applets, flags,
# config keys, RBAC = exactly the API reads the code makes) and the OCI
# image deploy/image.sh makes.  Needs python3 with PyYAML (python3-yaml).
. "$(dirname "$0")/lib.sh"
# Debian's python3 (python3-yaml), not one earlier in PATH
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

have_yaml() {
	$PY -c "import yaml" 2>/dev/null ||
		skip "python3 without PyYAML (apt-get install python3-yaml)"
}

# The checks, in python: manifests parsed with yaml.safe_load_all; the
# API set derived from the C sources.
cat >"$T/check.py" <<'PY'
import json, os, re, subprocess, sys, glob, yaml
top, vpcnet, what = sys.argv[1], sys.argv[2], sys.argv[3]
errs = []
def err(m): errs.append(m)

def applets():
    names = {}
    for line in subprocess.check_output([vpcnet, "--list"], text=True).splitlines():
        f = line.split()
        names[f[0]] = f[0]
        if f[1] != "-":
            names[f[1]] = f[0]
    return names

def code_reads(applet_dir):
    """(group, resource, verb) the applet's sources ask of the API."""
    src = ""
    for f in sorted(glob.glob(os.path.join(top, "applets", applet_dir, "*.c"))):
        src += open(f).read()
    verbs = set()
    if re.search(r"\bkube_reflect\s*\(", src): verbs |= {"list", "watch"}
    if re.search(r"\bkube_list\s*\(", src): verbs.add("list")
    if re.search(r"\bkube_watch\s*\(", src): verbs.add("watch")
    if re.search(r"\bkube_get\s*\(", src): verbs.add("get")
    if re.search(r"\bkube_path\s*\(", src):
        err(f"applets/{applet_dir} builds API paths with kube_path(): "
            "teach this test to derive them")
    res = set()
    for m in re.finditer(r'"/api/v1/([a-z]+)"|"/apis/([a-z0-9.-]+)/[a-z0-9]+/([a-z]+)"', src):
        res.add(("", m.group(1)) if m.group(1) else (m.group(2), m.group(3)))
    return {(g, r, v) for g, r in res for v in verbs}

def lib_is_read_only():
    for f in glob.glob(os.path.join(top, "lib", "kube*.c")):
        for m in re.finditer(r'\.method\s*=\s*"([A-Z]+)"', open(f).read()):
            if m.group(1) != "GET":
                err(f"{os.path.basename(f)} sends {m.group(1)}: write verbs "
                    "need RBAC (update this test and the manifests)")

def conf_keys():
    src = open(os.path.join(top, "applets/eni_agent/conf.c")).read()
    table = src[src.index("static const struct key keys[]"):]
    table = table[:table.index("};")]
    return set(re.findall(r'^\s*(?:[SIDX]\(|\{ )"(\w+)"', table, re.M))

def help_text(argv):
    p = subprocess.run([vpcnet] + argv + ["--help"], capture_output=True, text=True)
    return p.stdout + p.stderr

def rules_of(docs, sa, ns):
    roles = {(d["kind"], d["metadata"]["name"]): d for d in docs
             if d["kind"] in ("ClusterRole", "Role")}
    got = set()
    for b in docs:
        if b["kind"] not in ("ClusterRoleBinding", "RoleBinding"): continue
        if not any(s["kind"] == "ServiceAccount" and s["name"] == sa and
                   s.get("namespace", b["metadata"].get("namespace")) == ns
                   for s in b.get("subjects", [])):
            continue
        ref = b["roleRef"]
        role = roles.get((ref["kind"], ref["name"]))
        if role is None:
            err(f"binding {b['metadata']['name']}: role {ref['name']} not in the manifest")
            continue
        for r in role.get("rules", []):
            for k in ("apiGroups", "resources", "verbs"):
                if "*" in r.get(k, []): err(f"{ref['name']}: wildcard in {k}")
            if r.get("resourceNames") or r.get("nonResourceURLs"):
                err(f"{ref['name']}: unexpected resourceNames/nonResourceURLs")
            for g in r.get("apiGroups", []):
                for res in r.get("resources", []):
                    for v in r.get("verbs", []):
                        got.add((g, res, v))
    return got

def check_privileged(path):
    lines = open(path).read().splitlines()
    for i, l in enumerate(lines):
        if re.match(r"\s*privileged:\s*true", l):
            if not (i and re.match(r"\s*#.*privileged", lines[i - 1])):
                err(f"{path}:{i+1}: privileged: true without a comment saying why")

def check_manifest(path):
    docs = [d for d in yaml.safe_load_all(open(path)) if d]
    names = applets()
    keys = conf_keys()
    cms = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    check_privileged(path)
    sets = {}	# service account -> required (group, resource, verb)
    dss = [d for d in docs if d["kind"] == "DaemonSet"]
    if not dss: err(f"{path}: no DaemonSet")
    for ds in dss:
        ns = ds["metadata"]["namespace"]
        spec = ds["spec"]["template"]["spec"]
        sa = spec.get("serviceAccountName")
        if not sa: err(f"{ds['metadata']['name']}: no serviceAccountName")
        if not spec.get("hostNetwork"): err(f"{ds['metadata']['name']}: not hostNetwork")
        need = sets.setdefault((sa, ns), set())
        vols = {v["name"]: v for v in spec.get("volumes", [])}
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            cid = f"{ds['metadata']['name']}/{c['name']}"
            cmd = [str(a) for a in c.get("command", [])]
            sc = c.get("securityContext", {})
            if sc.get("privileged"):
                pass	# judged by check_privileged (needs a comment)
            if "ALL" not in sc.get("capabilities", {}).get("drop", []):
                err(f"{cid}: capabilities not dropped (drop: [ALL])")
            for cap in sc.get("capabilities", {}).get("add", []):
                if cap not in ("NET_ADMIN",): err(f"{cid}: capability {cap}")
            if sc.get("allowPrivilegeEscalation", True): err(f"{cid}: allowPrivilegeEscalation")
            if not cmd or cmd[0] != "/vpcnet":
                err(f"{cid}: command does not run /vpcnet: {cmd}"); continue
            if cmd[1] == "--install":
                if not re.search(r"--install", help_text([])):
                    err(f"{cid}: vpcnet has no --install")
                for a in cmd[3:4]:
                    conf_file_check(cid, a, c, vols, cms)
                continue
            if cmd[1] not in names:
                err(f"{cid}: {cmd[1]} is not an applet of vpcnet --list"); continue
            applet = names[cmd[1]]
            sub = [cmd[2]] if len(cmd) > 2 and not cmd[2].startswith("-") else []
            h = help_text([cmd[1]] + sub)
            for a in cmd[2 + len(sub):]:
                if a.startswith("--") and not re.search(re.escape(a) + r"\b", h):
                    err(f"{cid}: {cmd[1]} {' '.join(sub)} has no option {a}")
            r = c.get("resources", {})
            if not r.get("requests", {}).get("memory") or not r.get("limits", {}).get("memory"):
                err(f"{cid}: no memory request/limit")
            if c in spec.get("containers", []):
                lp = c.get("livenessProbe", {}).get("httpGet", {})
                if lp.get("path") != "/healthz" or lp.get("host") != "127.0.0.1":
                    err(f"{cid}: no liveness probe on 127.0.0.1 /healthz")
            reads = code_reads(applet.replace("-", "_"))
            if applet == "eni-agent":
                mode = agent_mode(cid, c, vols, cms, keys)
                src = open(os.path.join(top, "applets/eni_agent/kube.c")).read()
                if mode != "vpc" and re.search(r"mode == EA_MODE_VPC\)\s*\{\s*rc = start_one\(ag, &cfg, 1", src):
                    reads = {x for x in reads if x[1] != "nodes"}
                port = cm_json(c, vols, cms, "eni-agent.json").get("metrics_port", 9483)
                if lp and lp.get("port") != port:
                    err(f"{cid}: probe port {lp.get('port')} != metrics_port {port}")
            if applet == "netpolicy" and lp:
                if str(lp.get("port")) != cmd[cmd.index("--metrics-port") + 1]:
                    err(f"{cid}: probe port is not --metrics-port")
            need |= reads
    for (sa, ns), need in sets.items():
        got = rules_of(docs, sa, ns)
        for x in sorted(need - got): err(f"{path}: {sa} lacks {x} that the code uses")
        for x in sorted(got - need): err(f"{path}: {sa} is granted {x} that the code never uses")
        print(f"# {os.path.basename(path)} {sa}: {sorted(got)}")

def cm_json(c, vols, cms, fname):
    for m in c.get("volumeMounts", []):
        cm = vols.get(m["name"], {}).get("configMap")
        if not cm: continue
        for it in cm.get("items", []):
            if it["path"] == fname:
                return json.loads(cms[cm["name"]]["data"][it["key"]])
    return {}

def agent_mode(cid, c, vols, cms, keys):
    cmd = c["command"]
    conf = cmd[cmd.index("--config") + 1] if "--config" in cmd else "/etc/vpcnet/eni-agent.json"
    j = cm_json(c, vols, cms, os.path.basename(conf))
    if not j: err(f"{cid}: {conf} does not come from a ConfigMap")
    for k in j:
        if k not in keys: err(f"{cid}: eni-agent.json key {k} unknown to conf.c")
    for k in ("access_key", "access_secret"):
        if k in j: err(f"{cid}: a secret ({k}) in a ConfigMap")
    return j.get("mode", "eniip")

def conf_file_check(cid, path, c, vols, cms):
    j = cm_json(c, vols, cms, os.path.basename(path))
    if not j.get("plugins"): err(f"{cid}: {path}: not a conflist from a ConfigMap"); return
    names = applets()
    if j["plugins"][0]["type"] not in names:
        err(f"{cid}: {path}: first plugin {j['plugins'][0]['type']} is not ours")

def check_image(tarball):
    import tarfile, hashlib, io
    t = tarfile.open(tarball)
    def blob(d, size=None):
        algo, h = d.split(":")
        data = t.extractfile(f"blobs/{algo}/{h}").read()
        if hashlib.sha256(data).hexdigest() != h: err(f"blob {h}: digest mismatch")
        if size is not None and size != len(data): err(f"blob {h}: size {len(data)} != {size}")
        return data
    if json.loads(t.extractfile("oci-layout").read())["imageLayoutVersion"] != "1.0.0":
        err("oci-layout version")
    idx = json.loads(t.extractfile("index.json").read())
    if idx.get("schemaVersion") != 2 or len(idx["manifests"]) != 1: err("index.json")
    md = idx["manifests"][0]
    if md["mediaType"] != "application/vnd.oci.image.manifest.v1+json": err("manifest type")
    man = json.loads(blob(md["digest"], md["size"]))
    conf = json.loads(blob(man["config"]["digest"], man["config"]["size"]))
    if man["config"]["mediaType"] != "application/vnd.oci.image.config.v1+json": err("config type")
    if conf["rootfs"]["type"] != "layers" or len(man["layers"]) != 1: err("layers")
    l = man["layers"][0]
    if l["mediaType"] != "application/vnd.oci.image.layer.v1.tar+gzip": err("layer type")
    import gzip
    raw = gzip.decompress(blob(l["digest"], l["size"]))
    if "sha256:" + hashlib.sha256(raw).hexdigest() != conf["rootfs"]["diff_ids"][0]:
        err("diff_id is not the sha256 of the uncompressed layer")
    if conf.get("config", {}).get("Entrypoint") != ["/vpcnet"]: err("Entrypoint")
    lt = tarfile.open(fileobj=io.BytesIO(raw))
    members = {m.name: m for m in lt.getmembers()}
    v = members.get("vpcnet")
    if not v or not v.isreg() or v.mode & 0o111 == 0: err("layer: no executable vpcnet")
    elif lt.extractfile(v).read() != open(vpcnet, "rb").read(): err("layer: vpcnet differs from the build")
    for n in applets():
        m = members.get(n)
        if not m or not m.issym() or m.linkname != "/vpcnet": err(f"layer: {n} is not a symlink to /vpcnet")
    extra = set(members) - set(applets()) - {"vpcnet"}
    if extra: err(f"layer: unexpected {sorted(extra)}")
    print(f"# image: {len(members)} entries, {l['size']} bytes gzip'd")

lib_is_read_only()
if what == "image": check_image(sys.argv[4])
else: check_manifest(what)
for e in errs: print(e, file=sys.stderr)
sys.exit(1 if errs else 0)
PY

manifest() {
	have_yaml || return
	$PY "$T/check.py" "$TOP" "$VPCNET" "$TOP/deploy/$1"
}

image_layout() {
	VPCNET=$VPCNET "$TOP/deploy/image.sh" "$T/img.tar" >/dev/null ||
		fail "deploy/image.sh failed"
	$PY "$T/check.py" "$TOP" "$VPCNET" image "$T/img.tar"
}

image_reproducible() {
	VPCNET=$VPCNET "$TOP/deploy/image.sh" "$T/img2.tar" >/dev/null &&
		cmp -s "$T/img.tar" "$T/img2.tar" ||
		fail "two runs of deploy/image.sh differ"
}

# What the init container does: /vpcnet (in the image) installs onto a
# host path and the image goes away; the host's links must still work and
# the conflist must land in the host's net.d.
install_from_container() {
	mkdir -p "$T/img" "$T/host/bin" "$T/host/net.d" "$T/cm"
	cp "$VPCNET" "$T/img/vpcnet"
	echo '{"cniVersion":"1.0.0","name":"terway","plugins":[{"type":"terway"}]}' \
		>"$T/cm/10-terway.conflist"
	"$T/img/vpcnet" --install "$T/host/bin" "$T/cm/10-terway.conflist" \
		"$T/host/net.d" >"$T/inst.out" 2>&1
	if grep -q 'usage: vpcnet --install DIR$' "$T/inst.out"; then
		skip "vpcnet --install DIR CONFLIST CONFDIR (copy the binary and the conflist onto the host) is not in main.c yet"
		return
	fi
	rm -rf "$T/img"
	[ -f "$T/host/bin/vpcnet" ] && [ ! -L "$T/host/bin/vpcnet" ] ||
		fail "the binary was not copied into the host dir"
	"$T/host/bin/terway" --help >/dev/null 2>&1 ||
		fail "host link terway does not run: $(ls -l "$T/host/bin")"
	cmp -s "$T/cm/10-terway.conflist" "$T/host/net.d/10-terway.conflist" ||
		fail "conflist not installed"
}

testing "flannel-mode.yaml: applets, flags, config keys, RBAC = code" \
	manifest flannel-mode.yaml
testing "terway-mode.yaml: applets, flags, config keys, RBAC = code" \
	manifest terway-mode.yaml
testing "image.sh: valid OCI layout, layer = vpcnet + applet links" image_layout
testing "image.sh: reproducible" image_reproducible
testing "install step from a container onto host paths" install_from_container
finish
