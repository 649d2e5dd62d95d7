#!/usr/bin/env node
// Fidelity checks of the fake Kubernetes API server (kube.js) with the
// official @kubernetes/client-node. Reads the FAKE_* variables of start.sh.
//
// usage: node check_kube.mjs list|watch|gone|informer|crud   (exit 0 = pass)

import assert from 'node:assert';
import * as k8s from '@kubernetes/client-node';

const env = process.env;

function kubeconfig(token) {
	const kc = new k8s.KubeConfig();
	kc.loadFromOptions({
		clusters: [{ name: 'fake', server: env.FAKE_KUBE_URL,
			caFile: env.FAKE_CA, skipTLSVerify: false }],
		users: [{ name: 'fake', token: token || env.FAKE_KUBE_TOKEN }],
		contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
		currentContext: 'fake',
	});
	return kc;
}

const kc = kubeconfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const net = kc.makeApiClient(k8s.NetworkingV1Api);

async function ctl(path, body) {
	const r = await fetch(env.FAKE_KUBE_CONTROL + path, { method: 'POST',
		body: JSON.stringify(body || {}) });
	assert.ok(r.ok, `${path}: ${r.status} ${await r.clone().text()}`);
	return r.json();
}

// The API through the control port (no auth): PATCH, DELETE, ...
async function api(method, path, body, type) {
	const r = await fetch(env.FAKE_KUBE_CONTROL + path, { method,
		headers: { 'Content-Type': type || 'application/json' },
		body: body ? JSON.stringify(body) : undefined });
	return { status: r.status, body: await r.json() };
}

function pod(ns, name, node, labels) {
	return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns,
		labels: labels || {} }, spec: { nodeName: node, containers:
		[{ name: 'c', image: 'pause', ports: [{ name: 'http',
			containerPort: 80 }] }] } };
}

async function until(what, fn, ms) {
	const end = Date.now() + (ms || 10000);
	for (;;) {
		const v = await fn();
		if (v)
			return v;
		if (Date.now() > end)
			throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 20));
	}
}

async function freshNamespace(name) {
	await api('DELETE', `/api/v1/namespaces/${name}`);
	await ctl('/apply', { apiVersion: 'v1', kind: 'Namespace',
		metadata: { name } });
}

// Start a watch; returns {events, stop, done (promise of the error or null)}
function watch(path, params) {
	const events = [];
	let resolveDone;
	const done = new Promise((r) => (resolveDone = r));
	const w = new k8s.Watch(kc);
	const req = w.watch(path, params, (type, obj) => events.push({ type,
		obj }), (err) => resolveDone(err || null));
	return { events, done, stop: async () => (await req).abort() };
}

async function checkList() {
	await freshNamespace('lst');
	const names = ['a', 'b', 'c', 'd', 'e'];
	await ctl('/apply', names.map((n, i) => pod('lst', `p-${n}`,
		i % 2 ? 'node-1' : 'node-2', { app: i < 3 ? 'web' : 'db' })));
	const seen = [];
	let cont;
	let rv;
	let pages = 0;
	do {
		const r = await core.listNamespacedPod({ namespace: 'lst', limit: 2,
			_continue: cont });
		seen.push(...r.items.map((p) => p.metadata.name));
		cont = r.metadata._continue;
		rv = rv || r.metadata.resourceVersion;
		assert.strictEqual(r.metadata.resourceVersion, rv,
			'one RV across all chunks');
		pages++;
		if (pages === 1)	// a change between chunks is not seen
			await ctl('/apply', pod('lst', 'p-f', 'node-1'));
	} while (cont);
	assert.deepStrictEqual(seen, names.map((n) => `p-${n}`));
	assert.strictEqual(pages, 3);
	const all = await core.listPodForAllNamespaces({ fieldSelector:
		'spec.nodeName=node-1,metadata.namespace=lst', labelSelector:
		'app in (web,db),app!=db' });
	assert.deepStrictEqual(all.items.map((p) => p.metadata.name), ['p-b']);
	const one = await core.readNamespacedPod({ namespace: 'lst',
		name: 'p-c' });
	assert.strictEqual(one.spec.nodeName, 'node-2');
	assert.strictEqual(one.kind, 'Pod');
	await assert.rejects(core.readNamespacedPod({ namespace: 'lst',
		name: 'nope' }), (e) => {
		assert.strictEqual(e.code, 404);
		const s = JSON.parse(e.body);
		assert.strictEqual(s.kind, 'Status');
		assert.strictEqual(s.reason, 'NotFound');
		assert.strictEqual(s.message, 'pods "nope" not found');
		return true;
	});
	const bad = kubeconfig('wrong').makeApiClient(k8s.CoreV1Api);
	await assert.rejects(bad.listNamespace(), (e) => e.code === 401);
	await assert.rejects(core.listPodForAllNamespaces({ fieldSelector:
		'spec.bogus=1' }), (e) => e.code === 400);
	const nss = await core.listNamespace({ labelSelector:
		'kubernetes.io/metadata.name=lst' });
	assert.strictEqual(nss.items.length, 1);
	const nps = await net.listNetworkPolicyForAllNamespaces();
	assert.ok(Array.isArray(nps.items));
}

async function checkWatch() {
	await freshNamespace('wat');
	const l = await core.listNamespacedPod({ namespace: 'wat' });
	const w = watch('/api/v1/namespaces/wat/pods', { resourceVersion:
		l.metadata.resourceVersion, allowWatchBookmarks: true,
	labelSelector: 'app=web' });
	await until('watch registered', async () => (await (await fetch(
		env.FAKE_KUBE_CONTROL + '/counters')).json()).activeWatches > 0);
	await ctl('/apply', pod('wat', 'p1', 'node-1', { app: 'web' }));
	await ctl('/apply', pod('wat', 'other', 'node-1', { app: 'db' }));
	const st = await api('PATCH', '/api/v1/namespaces/wat/pods/p1/status',
		{ status: { phase: 'Running', podIP: '10.1.0.5', podIPs:
			[{ ip: '10.1.0.5' }] } }, 'application/merge-patch+json');
	assert.strictEqual(st.status, 200);
	await api('PATCH', '/api/v1/namespaces/wat/pods/p1', [{ op: 'replace',
		path: '/metadata/labels/app', value: 'db' }],
	'application/json-patch+json');
	await api('PATCH', '/api/v1/namespaces/wat/pods/p1', { metadata:
		{ labels: { app: 'web' } } }, 'application/strategic-merge-patch+json');
	await api('DELETE', '/api/v1/namespaces/wat/pods/p1');
	await ctl('/bookmark');
	await until('6 events', () => w.events.length >= 6);
	const types = w.events.map((e) => e.type);
	assert.deepStrictEqual(types, ['ADDED', 'MODIFIED', 'DELETED', 'ADDED',
		'DELETED', 'BOOKMARK'], 'selector transitions: out = DELETED, ' +
		'back in = ADDED');
	assert.strictEqual(w.events[1].obj.status.podIP, '10.1.0.5');
	assert.ok(w.events.every((e) => e.obj.metadata.name === 'p1' ||
		e.type === 'BOOKMARK'));
	const rvs = w.events.map((e) => Number(e.obj.metadata.resourceVersion));
	assert.ok(rvs.every((v, i) => i === 0 || v > rvs[i - 1] ||
		(v === rvs[i - 1] && w.events[i].type === 'BOOKMARK')),
	'resourceVersions increase');
	// resume after the last seen RV: nothing is replayed twice or lost
	await ctl('/apply', pod('wat', 'p2', 'node-1', { app: 'web' }));
	await ctl('/drop-watches', { mode: 'reset' });
	await w.done;
	const w2 = watch('/api/v1/namespaces/wat/pods', { resourceVersion:
		w.events[4].obj.metadata.resourceVersion });
	await until('replayed event', () => w2.events.length >= 1);
	assert.strictEqual(w2.events[0].obj.metadata.name, 'p2');
	await w2.stop();
	// a short timeoutSeconds ends the stream cleanly
	const w3 = watch('/api/v1/pods', { timeoutSeconds: 1 });
	assert.strictEqual(await w3.done, null);
	assert.ok(w3.events.length >= 1, 'rv "" starts with ADDED of all');
}

async function checkGone() {
	await freshNamespace('gon');
	const l = await core.listNamespacedPod({ namespace: 'gon' });
	await ctl('/apply', pod('gon', 'p1', 'node-1'));
	await ctl('/compact');
	const w = watch('/api/v1/namespaces/gon/pods', { resourceVersion:
		l.metadata.resourceVersion });
	assert.strictEqual(await w.done, null);
	assert.strictEqual(w.events.length, 1);
	assert.strictEqual(w.events[0].type, 'ERROR');
	assert.strictEqual(w.events[0].obj.code, 410);
	assert.strictEqual(w.events[0].obj.reason, 'Expired');
	await ctl('/config', { watchGoneAs: 'http' });
	const w2 = watch('/api/v1/namespaces/gon/pods', { resourceVersion:
		l.metadata.resourceVersion });
	const err = await w2.done;
	await ctl('/config', { watchGoneAs: 'event' });
	assert.strictEqual(err && err.statusCode, 410);
	// an expired continue token
	const p = await core.listNamespace({ limit: 1 });
	await ctl('/apply', pod('gon', 'p2', 'node-1'));
	await ctl('/compact');
	await assert.rejects(core.listNamespace({ limit: 1, _continue:
		p.metadata._continue }), (e) => e.code === 410);
}

async function checkInformer() {
	await freshNamespace('inf');
	const inf = k8s.makeInformer(kc, '/api/v1/namespaces/inf/pods', () =>
		core.listNamespacedPod({ namespace: 'inf' }));
	const log = [];
	inf.on('add', (o) => log.push(`add ${o.metadata.name}`));
	inf.on('update', (o) => log.push(`update ${o.metadata.name}`));
	inf.on('delete', (o) => log.push(`delete ${o.metadata.name}`));
	let stopped = false;
	inf.on('error', (e) => stopped || log.push(`error ${e.message}`));
	await ctl('/apply', pod('inf', 'p1', 'node-1'));
	await inf.start();
	await until('initial add', () => log.includes('add p1'));
	await ctl('/apply', pod('inf', 'p2', 'node-1'));
	await until('add p2', () => log.includes('add p2'));
	// server closes the stream: the informer re-watches from its RV
	await ctl('/drop-watches', { mode: 'close' });
	await ctl('/apply', pod('inf', 'p3', 'node-1'));
	await until('add p3', () => log.includes('add p3'));
	// history compacted while the informer is away: 410, relist
	await until('re-watching', async () => (await (await fetch(
		env.FAKE_KUBE_CONTROL + '/counters')).json()).activeWatches > 0);
	await ctl('/drop-watches', { mode: 'close' });
	await api('DELETE', '/api/v1/namespaces/inf/pods/p1');
	await ctl('/compact');
	await until('delete p1 via relist', () => log.includes('delete p1'));
	await ctl('/apply', Object.assign(pod('inf', 'p2', 'node-2')));
	await until('update p2', () => log.includes('update p2'));
	stopped = true;
	await inf.stop();
	assert.deepStrictEqual(inf.list().map((p) => p.metadata.name).sort(),
		['p2', 'p3']);
	assert.ok(!log.some((l) => l.startsWith('error')), log.join(', '));
}

async function checkCrud() {
	await freshNamespace('crd');
	const np = await net.createNamespacedNetworkPolicy({ namespace: 'crd',
		body: { metadata: { name: 'deny' }, spec: { podSelector: {},
			policyTypes: ['Ingress'] } } });
	assert.strictEqual(np.metadata.generation, 1);
	assert.ok(np.metadata.uid && np.metadata.resourceVersion);
	await assert.rejects(net.createNamespacedNetworkPolicy({ namespace: 'crd',
		body: { metadata: { name: 'deny' }, spec: { podSelector: {} } } }),
	(e) => e.code === 409 && JSON.parse(e.body).reason === 'AlreadyExists');
	np.spec.ingress = [{ from: [{ podSelector: { matchLabels:
		{ app: 'web' } } }] }];
	const np2 = await net.replaceNamespacedNetworkPolicy({ namespace: 'crd',
		name: 'deny', body: np });
	assert.strictEqual(np2.metadata.generation, 2);
	await assert.rejects(net.replaceNamespacedNetworkPolicy({ namespace:
		'crd', name: 'deny', body: np }), (e) => e.code === 409 &&
		JSON.parse(e.body).reason === 'Conflict', 'stale RV -> Conflict');
	await assert.rejects(core.createNamespacedPod({ namespace: 'nowhere',
		body: pod('nowhere', 'x', 'n') }), (e) => e.code === 404);
	await ctl('/apply', { apiVersion: 'v1', kind: 'Node', metadata:
		{ name: 'node-1' }, spec: { podCIDR: '10.244.1.0/24' } });
	const n = await core.patchNode({ name: 'node-1', body: { metadata:
		{ annotations: { 'vpcnet.io/test': 'yes' } } } },
	k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
	assert.strictEqual(n.metadata.annotations['vpcnet.io/test'], 'yes');
	assert.strictEqual(n.spec.podCIDR, '10.244.1.0/24');
	const g = await core.createNamespacedPod({ namespace: 'crd', body: {
		metadata: { generateName: 'gen-' }, spec: { containers: [] } } });
	assert.match(g.metadata.name, /^gen-[a-z0-9]{5}$/);
	await net.deleteNamespacedNetworkPolicy({ namespace: 'crd',
		name: 'deny' });
	await core.deleteNamespace({ name: 'crd' });
	const left = await core.listPodForAllNamespaces({ fieldSelector:
		'metadata.namespace=crd' });
	assert.strictEqual(left.items.length, 0, 'namespace delete removes pods');
	const v = await kc.makeApiClient(k8s.VersionApi).getCode();
	assert.strictEqual(v.major, '1');
}

const CHECKS = { list: checkList, watch: checkWatch, gone: checkGone,
	informer: checkInformer, crud: checkCrud };

const name = process.argv[2];
if (!CHECKS[name]) {
	console.error(`unknown check ${name}`);
	process.exit(2);
}
CHECKS[name]().then(() => process.exit(0), (e) => {
	console.error(e.stack || e.message);
	process.exit(1);
});
