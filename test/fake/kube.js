#!/usr/bin/env node
'use strict';
// Fake Kubernetes API server for tests: HTTPS, bearer-token (or client cert)
// auth, core/v1 pods, namespaces, nodes, configmaps, services, events and
// networking.k8s.io/v1 networkpolicies; GET, LIST (limit/continue, label and
// field selectors), WATCH (chunked event stream, bookmarks, 410 Expired),
// POST, PUT, PATCH, DELETE; discovery for kubectl and client libraries; and
// a plain-HTTP control endpoint. See README.md in this directory.
//
// usage: node kube.js --certs DIR [--config FILE] [--listen ADDR] [--port N]
//        [--control-port N] [--ready FILE] [--env FILE]

const fs = require('fs');
const https = require('https');
const http = require('http');
const path = require('path');
const common = require('./lib/common');
const K = require('./lib/kstore');

const NAME = 'fake-kube';
const GIT_VERSION = 'v1.30.0-fake';

function log(...m) {
	common.log(NAME, ...m);
}

function defaults() {
	return {
		tokens: ['vpcnet-test-token'],
		tokenFile: '',
		clientCertAuth: true,
		historyLimit: 10000,
		historySeconds: 300,
		bookmarkIntervalMs: 60000,
		minRequestTimeoutSeconds: 1800,
		watchGoneAs: 'event',		// 410 for an old RV: 'event' | 'http'
		watchChunking: 'event',		// 'event' | 'split' | 'merge'
		objects: [],
	};
}

function loadConfig(file) {
	const cfg = defaults();
	if (file)
		common.merge(cfg, JSON.parse(fs.readFileSync(file, 'utf8')));
	return cfg;
}

function status(code, reason, message, details) {
	return { kind: 'Status', apiVersion: 'v1', metadata: {},
		status: 'Failure', message, reason, details: details || undefined,
		code };
}

function sendStatus(res, e) {
	common.sendJSON(res, e.code, status(e.code, e.reason, e.message,
		e.details));
}

// ---- discovery -----------------------------------------------------------------

function resourceList(group, version) {
	const verbs = ['create', 'delete', 'get', 'list', 'patch', 'update',
		'watch'];
	const out = [];
	for (const t of K.TYPES) {
		if (t.group !== group || t.version !== version)
			continue;
		out.push({ name: t.resource, singularName: t.kind.toLowerCase(),
			namespaced: t.namespaced, kind: t.kind, verbs,
			shortNames: t.short });
		if (t.status)
			out.push({ name: `${t.resource}/status`, singularName: '',
				namespaced: t.namespaced, kind: t.kind,
				verbs: ['get', 'patch', 'update'] });
	}
	return { kind: 'APIResourceList', apiVersion: 'v1',
		groupVersion: group ? `${group}/${version}` : version,
		resources: out };
}

function groups() {
	const gs = [...new Set(K.TYPES.filter((t) => t.group).map((t) =>
		t.group))];
	return gs.map((g) => {
		const v = K.TYPES.find((t) => t.group === g).version;
		const gv = { groupVersion: `${g}/${v}`, version: v };
		return { name: g, versions: [gv], preferredVersion: gv };
	});
}

function discovery(urlPath, host) {
	switch (urlPath) {
	case '/version':
		return { major: '1', minor: '30', gitVersion: GIT_VERSION,
			gitCommit: '0000000000000000000000000000000000000000',
			gitTreeState: 'clean', buildDate: '2024-01-01T00:00:00Z',
			goVersion: 'go1.22.0', compiler: 'gc', platform: 'linux/amd64' };
	case '/api':
		return { kind: 'APIVersions', versions: ['v1'],
			serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0',
				serverAddress: host }] };
	case '/apis':
		return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups() };
	case '/api/v1':
		return resourceList('', 'v1');
	}
	const m = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(urlPath);
	if (m) {
		const g = groups().find((x) => x.name === m[1]);
		if (!g)
			return null;
		if (!m[2])
			return Object.assign({ kind: 'APIGroup', apiVersion: 'v1' }, g);
		if (g.versions.some((v) => v.version === m[2]))
			return resourceList(m[1], m[2]);
	}
	return null;
}

// ---- request routing -------------------------------------------------------------

// /api/v1/... or /apis/G/V/... -> {t, ns, name, sub, watchPath} or null
function route(store, urlPath) {
	let segs = urlPath.split('/').filter(Boolean);
	let group;
	if (segs[0] === 'api' && segs[1] === 'v1') {
		group = '';
		segs = segs.slice(2);
	} else if (segs[0] === 'apis' && segs.length >= 3) {
		group = segs[1];
		segs = segs.slice(3);
	} else {
		return null;
	}
	let watchPath = false;
	if (segs[0] === 'watch') {
		watchPath = true;
		segs = segs.slice(1);
	}
	let ns = '';
	if (segs[0] === 'namespaces' && segs.length >= 3) {
		const t = store.typeOf(group, segs[2]);
		if (t && t.namespaced) {
			ns = segs[1];
			segs = segs.slice(2);
		}
	}
	const t = store.typeOf(group, segs[0]);
	if (!t || segs.length > 3 || (ns && !t.namespaced))
		return null;
	if (!t.namespaced && ns)
		return null;
	return { t, ns, name: segs[1] || '', sub: segs[2] || '', watchPath };
}

function patchObject(obj, type, patch) {
	if (type.startsWith('application/json-patch+json'))
		return jsonPatch(obj, patch);
	if (type.startsWith('application/merge-patch+json') ||
	    type.startsWith('application/strategic-merge-patch+json'))
		return mergePatch(obj, patch);
	throw new K.KError(415, 'UnsupportedMediaType',
		`the body of the request was in an unknown format - accepted media ` +
		'types include: application/json-patch+json, ' +
		'application/merge-patch+json, application/strategic-merge-patch+json');
}

// RFC 7386 (strategic merge is approximated by it)
function mergePatch(target, patch) {
	if (!common.isObject(patch))
		return K.clone(patch);
	const out = common.isObject(target) ? K.clone(target) : {};
	for (const k of Object.keys(patch)) {
		if (patch[k] === null)
			delete out[k];
		else
			out[k] = mergePatch(out[k], patch[k]);
	}
	return out;
}

// RFC 6902: add, remove, replace, test, copy, move
function jsonPatch(obj, ops) {
	if (!Array.isArray(ops))
		throw new K.KError(400, 'BadRequest', 'json patch is not an array');
	let doc = K.clone(obj);
	const ptr = (p) => p.split('/').slice(1).map((s) =>
		s.replace(/~1/g, '/').replace(/~0/g, '~'));
	const walk = (p) => {
		const parts = ptr(p);
		let cur = doc;
		for (const s of parts.slice(0, -1)) {
			if (cur === null || typeof cur !== 'object' || !(s in cur))
				throw new K.KError(422, 'Invalid', `json patch: no path ${p}`);
			cur = cur[s];
		}
		return [cur, parts[parts.length - 1]];
	};
	const get = (p) => {
		const [c, k] = walk(p);
		return c[k];
	};
	const put = (p, v, replace) => {
		if (p === '') {
			doc = v;
			return;
		}
		const [c, k] = walk(p);
		if (Array.isArray(c) && !replace)
			c.splice(k === '-' ? c.length : Number(k), 0, v);
		else
			c[k] = v;
	};
	const del = (p) => {
		const [c, k] = walk(p);
		if (!(k in c))
			throw new K.KError(422, 'Invalid', `json patch: no path ${p}`);
		if (Array.isArray(c))
			c.splice(Number(k), 1);
		else
			delete c[k];
	};
	for (const op of ops) {
		switch (op.op) {
		case 'add': put(op.path, K.clone(op.value), false); break;
		case 'replace': get(op.path); put(op.path, K.clone(op.value), true);
			break;
		case 'remove': del(op.path); break;
		case 'copy': put(op.path, K.clone(get(op.from)), false); break;
		case 'move': { const v = get(op.from); del(op.from);
			put(op.path, v, false); break; }
		case 'test':
			if (JSON.stringify(get(op.path)) !== JSON.stringify(op.value))
				throw new K.KError(422, 'Invalid', `json patch test failed ` +
					`at ${op.path}`);
			break;
		default:
			throw new K.KError(400, 'BadRequest', `bad json patch op ${op.op}`);
		}
	}
	return doc;
}

// ---- list and watch ---------------------------------------------------------------

function encodeContinue(rv, key) {
	return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv,
		start: key + '\u0000' })).toString('base64url');
}

function decodeContinue(tok) {
	try {
		const d = JSON.parse(Buffer.from(tok, 'base64url').toString());
		if (typeof d.rv === 'number' && typeof d.start === 'string')
			return d;
	} catch (e) { /* fall through */ }
	throw new K.KError(400, 'BadRequest', 'continue key is not valid: ' +
		'incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

function selectors(q, t) {
	return { labels: K.parseLabelSelector(q.get('labelSelector')),
		fields: K.parseFieldSelector(q.get('fieldSelector'), t) };
}

function matches(sel, obj) {
	return !!obj && K.labelsMatch(sel.labels, obj) &&
		K.fieldsMatch(sel.fields, obj);
}

function list(store, r, q) {
	const sel = selectors(q, r.t);
	const limit = Number(q.get('limit') || 0);
	let rv = store.rv;
	let start = '';
	if (q.get('continue')) {
		const c = decodeContinue(q.get('continue'));
		rv = c.rv;
		start = c.start;
	} else if (q.get('resourceVersion') && q.get('resourceVersion') !== '0') {
		const want = Number(q.get('resourceVersion'));
		if (!Number.isInteger(want))
			throw new K.KError(400, 'BadRequest',
				`invalid resource version: ${q.get('resourceVersion')}`);
		if (want > store.rv)
			throw new K.KError(504, 'Timeout', `Too large resource version: ` +
				`${want}, current: ${store.rv}`);
		if (q.get('resourceVersionMatch') === 'Exact')
			rv = want;
	}
	const snap = store.snapshot(r.t, rv).filter(([k, o]) => k >= start &&
		(!r.ns || o.metadata.namespace === r.ns) && matches(sel, o));
	const items = limit > 0 ? snap.slice(0, limit) : snap;
	const md = { resourceVersion: String(rv) };
	if (limit > 0 && snap.length > limit) {
		md.continue = encodeContinue(rv, items[items.length - 1][0]);
		if (!sel.labels.length && !sel.fields.length)
			md.remainingItemCount = snap.length - limit;
	}
	return { kind: `${r.t.kind}List`, apiVersion: K.apiVersion(r.t),
		metadata: md, items: items.map(([, o]) => {
			// list items carry no kind/apiVersion, as from the real server
			const { kind, apiVersion, ...rest } = o;	// eslint-disable-line
			return rest;
		}) };
}

class Watcher {
	constructor(srv, r, q, res) {
		this.srv = srv;
		this.store = srv.store;
		this.r = r;
		this.res = res;
		this.sel = selectors(q, r.t);
		if (r.name)
			this.sel.fields.push({ get: (o) => o.metadata.name, neg: false,
				val: r.name });
		this.bookmarks = ['true', '1'].includes(q.get('allowWatchBookmarks'));
		this.pending = [];
		this.closed = false;
		const to = q.get('timeoutSeconds');
		const min = srv.cfg.minRequestTimeoutSeconds;
		this.timeout = to !== null && to !== '' ? Number(to) :
			min * (1 + Math.random());
	}

	inScope(obj) {
		return !this.r.ns || obj.metadata.namespace === this.r.ns;
	}

	// An object moving in or out of the selection is ADDED or DELETED to
	// this watcher, like the real apiserver does.
	onEvent(ev) {
		if (this.closed || ev.t !== this.r.t)
			return;
		const now = this.inScope(ev.obj) && matches(this.sel, ev.obj);
		const was = ev.prev && this.inScope(ev.prev) &&
			matches(this.sel, ev.prev);
		let type = ev.type;
		if (ev.type === 'MODIFIED') {
			if (now && !was)
				type = 'ADDED';
			else if (!now && was)
				type = 'DELETED';
			else if (!now)
				return;
		} else if (ev.type === 'DELETED') {
			if (!was)
				return;
		} else if (!now) {
			return;
		}
		this.send({ type, object: ev.obj });
	}

	send(ev) {
		if (this.closed)
			return;
		const text = JSON.stringify(ev) + '\n';
		const mode = this.srv.cfg.watchChunking;
		if (mode === 'merge') {
			this.pending.push(text);
			if (this.pending.length === 1)
				setImmediate(() => this.flush());
		} else if (mode === 'split' && text.length > 2) {
			const a = 1 + Math.floor(Math.random() * (text.length - 1));
			const b = a + Math.floor(Math.random() * (text.length - a));
			for (const piece of [text.slice(0, a), text.slice(a, b),
				text.slice(b)]) {
				if (piece)
					this.res.write(piece);
			}
		} else {
			this.res.write(text);
		}
	}

	flush() {
		if (!this.closed && this.pending.length)
			this.res.write(this.pending.join(''));
		this.pending = [];
	}

	bookmark(extra) {
		if (!this.bookmarks || this.closed)
			return;
		const md = { resourceVersion: String(this.store.rv),
			creationTimestamp: null };
		if (extra)
			md.annotations = extra;
		this.send({ type: 'BOOKMARK', object: { kind: this.r.t.kind,
			apiVersion: K.apiVersion(this.r.t), metadata: md } });
	}

	gone(rv) {
		const e = status(410, 'Expired', `too old resource version: ${rv} ` +
			`(${this.store.compactRev + 1})`);
		this.send({ type: 'ERROR', object: e });
		this.close();
	}

	start(rvParam, initial) {
		const res = this.res;
		res.writeHead(200, { 'Content-Type': 'application/json',
			'Cache-Control': 'no-cache, private',
			'Transfer-Encoding': 'chunked' });
		res.flushHeaders();
		res.on('close', () => this.close());
		this.timer = setTimeout(() => this.close(), this.timeout * 1000);
		if (this.bookmarks && this.srv.cfg.bookmarkIntervalMs > 0)
			this.btimer = setInterval(() => this.bookmark(),
				this.srv.cfg.bookmarkIntervalMs);
		const rv = rvParam === '' || rvParam === '0' ? null : Number(rvParam);
		if (rv !== null && rv < this.store.compactRev)
			return this.gone(rv);
		if (rv === null || initial) {
			for (const [, o] of this.store.snapshot(this.r.t, rv === null ?
				undefined : rv)) {
				if (this.inScope(o) && matches(this.sel, o))
					this.send({ type: 'ADDED', object: o });
			}
			if (initial)
				this.bookmark({ 'k8s.io/initial-events-end': 'true' });
		}
		if (rv !== null) {
			for (const ev of this.store.history) {
				if (ev.rv > rv)
					this.onEvent(ev);
			}
		}
		this.store.watchers.add(this);
		this.srv.counters.watches++;
	}

	close(abort) {
		if (this.closed)
			return;
		this.flush();
		this.closed = true;
		clearTimeout(this.timer);
		clearInterval(this.btimer);
		this.store.watchers.delete(this);
		if (abort)
			this.res.destroy();
		else
			this.res.end();
	}
}

// ---- the server -----------------------------------------------------------------

class Server {
	constructor(cfg) {
		this.cfg = cfg;
		this.store = new K.Store(cfg);
		this.counters = { requests: 0, unauthorized: 0, watches: 0,
			lists: 0, byVerb: {} };
		this.tokenCache = { mtime: 0, tokens: [] };
		const nsType = this.store.typeOf('', 'namespaces');
		for (const ns of ['default', 'kube-system', 'kube-public',
			'kube-node-lease'])
			this.store.create(nsType, '', { metadata: { name: ns } });
		this.apply(cfg.objects);
		this.store.compactRev = 1;
	}

	tokens() {
		const out = this.cfg.tokens.slice();
		if (this.cfg.tokenFile) {
			try {
				const st = fs.statSync(this.cfg.tokenFile);
				if (st.mtimeMs !== this.tokenCache.mtime) {
					this.tokenCache = { mtime: st.mtimeMs, tokens: [fs
						.readFileSync(this.cfg.tokenFile, 'utf8').trim()] };
				}
				out.push(...this.tokenCache.tokens);
			} catch (e) { /* no file: no token from it */ }
		}
		return out;
	}

	authorized(req) {
		if (this.cfg.clientCertAuth && req.socket.authorized)
			return true;
		const h = String(req.headers.authorization || '');
		const m = /^Bearer\s+(\S+)$/i.exec(h);
		return !!m && this.tokens().includes(m[1]);
	}

	// Upsert objects (a list, a List, or one object); bypasses subresource
	// rules and namespace checks. Used by the config and the control API.
	apply(objs) {
		const items = Array.isArray(objs) ? objs :
			objs && Array.isArray(objs.items) ? objs.items : [objs];
		const out = [];
		for (const o of items) {
			if (!o)
				continue;
			const t = this.store.typeOfObject(o);
			if (!t)
				throw new K.KError(400, 'BadRequest', `unknown kind ` +
					`${o.apiVersion}/${o.kind}`);
			const md = o.metadata || {};
			const ns = t.namespaced ? md.namespace || 'default' : '';
			if (t.namespaced && !this.store.objects.has(this.store.key(
				this.store.typeOf('', 'namespaces'), '', ns)))
				this.store.create(this.store.typeOf('', 'namespaces'), '',
					{ metadata: { name: ns } });
			const key = this.store.key(t, ns, md.name || '');
			out.push(this.store.objects.has(key) ?
				this.store.update(t, ns, md.name, o, 'all') :
				this.store.create(t, ns, o, { force: true }));
		}
		return out;
	}

	async handle(req, res, trusted) {
		this.counters.requests++;
		try {
			const u = new URL(req.url, 'http://x');
			if (['/healthz', '/livez', '/readyz'].includes(u.pathname))
				return common.sendText(res, 200, 'ok');
			if (!trusted && !this.authorized(req)) {
				this.counters.unauthorized++;
				return sendStatus(res, new K.KError(401, 'Unauthorized',
					'Unauthorized'));
			}
			const d = discovery(u.pathname.replace(/\/$/, ''),
				String(req.headers.host || ''));
			if (d) {
				if (req.method !== 'GET')
					throw new K.KError(405, 'MethodNotAllowed',
						'the server does not allow this method on the ' +
						'requested resource');
				return common.sendJSON(res, 200, d);
			}
			const r = route(this.store, u.pathname);
			if (!r)
				throw new K.KError(404, 'NotFound',
					'the server could not find the requested resource');
			await this.resource(req, res, r, u.searchParams);
		} catch (e) {
			if (e instanceof K.KError)
				return sendStatus(res, e);
			if (e.status === 413)
				return sendStatus(res, new K.KError(413,
					'RequestEntityTooLarge', 'the request is too large'));
			log('internal error:', e.stack || e);
			sendStatus(res, new K.KError(500, 'InternalError',
				`Internal error occurred: ${e.message}`));
		}
	}

	async body(req) {
		const b = await common.readBody(req, 3 << 20);
		try {
			return JSON.parse(b.toString('utf8'));
		} catch (e) {
			throw new K.KError(400, 'BadRequest',
				`the object provided is unrecognized: ${e.message}`);
		}
	}

	async resource(req, res, r, q) {
		const { t, ns, name, sub } = r;
		const verb = req.method;
		this.counters.byVerb[verb] = (this.counters.byVerb[verb] || 0) + 1;
		if (sub && sub !== 'status')
			throw new K.KError(404, 'NotFound',
				'the server could not find the requested resource');
		if (sub && !t.status)
			throw new K.KError(404, 'NotFound',
				'the server could not find the requested resource');
		const watch = r.watchPath || ['true', '1'].includes(q.get('watch'));
		if (verb === 'GET' && watch) {
			const w = new Watcher(this, r, q, res);
			const rv = q.get('resourceVersion') || '';
			const initial = q.get('sendInitialEvents') === 'true';
			if (rv && rv !== '0' && Number(rv) < this.store.compactRev &&
			    this.cfg.watchGoneAs === 'http')
				throw new K.KError(410, 'Expired', `too old resource ` +
					`version: ${rv} (${this.store.compactRev + 1})`);
			w.start(rv, initial);
			return;
		}
		if (verb === 'GET' && !name) {
			this.counters.lists++;
			return common.sendJSON(res, 200, list(this.store, r, q));
		}
		if (verb === 'GET')
			return common.sendJSON(res, 200, this.store.get(t, ns, name));
		if (verb === 'POST' && !name)
			return common.sendJSON(res, 201, this.store.create(t, ns,
				await this.body(req)));
		if (!name)
			throw new K.KError(405, 'MethodNotAllowed', 'the server does ' +
				'not allow this method on the requested resource');
		if (verb === 'PUT')
			return common.sendJSON(res, 200, this.store.update(t, ns, name,
				await this.body(req), sub));
		if (verb === 'PATCH') {
			const cur = this.store.get(t, ns, name);
			const patched = patchObject(cur, String(
				req.headers['content-type'] || ''), await this.body(req));
			if (!common.isObject(patched) || !common.isObject(patched.metadata))
				throw new K.KError(422, 'Invalid', 'patch removed metadata');
			const pv = patched.metadata.resourceVersion;
			if (pv === cur.metadata.resourceVersion)
				delete patched.metadata.resourceVersion;
			return common.sendJSON(res, 200, this.store.update(t, ns, name,
				patched, sub));
		}
		if (verb === 'DELETE')
			return common.sendJSON(res, 200, this.store.remove(t, ns, name));
		throw new K.KError(405, 'MethodNotAllowed', 'the server does not ' +
			'allow this method on the requested resource');
	}

	watchers() {
		return [...this.store.watchers];
	}
}

// ---- control endpoint -------------------------------------------------------------

function control(srv) {
	const serve = controlRoutes(srv);
	return (req, res) => serve(req, res).catch((e) => {
		log('control error:', e.stack || e);
		common.sendJSON(res, 500, { error: e.message });
	});
}

function controlRoutes(srv) {
	return async (req, res) => {
		const u = new URL(req.url, 'http://x');
		// The API itself, without authentication.
		if (u.pathname.startsWith('/api/') || u.pathname.startsWith('/apis/'))
			return srv.handle(req, res, true);
		let body = null;
		try {
			const b = await common.readBody(req, 3 << 20);
			if (b.length)
				body = JSON.parse(b.toString());
		} catch (e) {
			return common.sendJSON(res, 400, { error: `bad body: ${e.message}` });
		}
		try {
			switch (`${req.method} ${u.pathname}`) {
			case 'GET /healthz':
				return common.sendText(res, 200, 'ok\n');
			case 'POST /apply':
				return common.sendJSON(res, 200, srv.apply(body));
			case 'POST /delete': {
				const items = Array.isArray(body) ? body : [body];
				const out = [];
				for (const o of items) {
					const t = srv.store.typeOfObject(o);
					if (!t)
						throw new K.KError(400, 'BadRequest', 'unknown kind');
					const md = o.metadata || {};
					out.push(srv.store.remove(t, t.namespaced ?
						md.namespace || 'default' : '', md.name));
				}
				return common.sendJSON(res, 200, out);
			}
			case 'POST /drop-watches': {
				const ws = srv.watchers();
				const abort = !body || body.mode !== 'close';
				ws.forEach((w) => w.close(abort));
				return common.sendJSON(res, 200, { dropped: ws.length });
			}
			case 'POST /compact':
				srv.store.compact();
				return common.sendJSON(res, 200, { compactRev:
					srv.store.compactRev });
			case 'POST /bookmark':
				srv.watchers().forEach((w) => w.bookmark());
				return common.sendJSON(res, 200, { rv: srv.store.rv });
			case 'POST /config':
				common.merge(srv.cfg, body || {});
				return common.sendJSON(res, 200, Object.assign({}, srv.cfg,
					{ objects: undefined }));
			case 'GET /state':
				return common.sendJSON(res, 200, { resourceVersion:
					srv.store.rv, compactRev: srv.store.compactRev,
				watchers: srv.watchers().map((w) => ({ resource:
					w.r.t.resource, namespace: w.r.ns })),
				objects: [...srv.store.objects.values()] });
			case 'GET /counters':
				return common.sendJSON(res, 200, Object.assign({
					activeWatches: srv.store.watchers.size }, srv.counters));
			default:
				return common.sendJSON(res, 404, { error: 'no such route' });
			}
		} catch (e) {
			if (e instanceof K.KError)
				return sendStatus(res, e);
			return common.sendJSON(res, 500, { error: e.message });
		}
	};
}

function kubeconfig(url, ca, token) {
	return JSON.stringify({ apiVersion: 'v1', kind: 'Config',
		clusters: [{ name: 'fake', cluster: { server: url,
			'certificate-authority': ca } }],
		users: [{ name: 'fake', user: { token } }],
		contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake',
			namespace: 'default' } }],
		'current-context': 'fake' }, null, 1) + '\n';
}

async function main() {
	common.keepAlive(NAME);
	const args = common.parseArgs(process.argv.slice(2));
	if (!args.certs)
		throw new Error('--certs DIR is required (see mkcerts.sh)');
	const cfg = loadConfig(args.config);
	const srv = new Server(cfg);
	const host = args.listen || '127.0.0.1';
	const ca = path.resolve(args.certs, 'ca.pem');
	const api = https.createServer({
		key: fs.readFileSync(path.join(args.certs, 'server.key')),
		cert: fs.readFileSync(path.join(args.certs, 'server.pem')),
		ca: fs.readFileSync(ca), requestCert: !!cfg.clientCertAuth,
		rejectUnauthorized: false,
	}, (q, r) => srv.handle(q, r, false));
	api.keepAliveTimeout = 60000;
	const ctl = http.createServer(control(srv));
	const port = await common.listen(api, Number(args.port || 0), host);
	const cport = await common.listen(ctl, Number(args['control-port'] || 0),
		host);
	const hostUrl = host.includes(':') ? `[${host}]` : host;
	const url = `https://${hostUrl}:${port}`;
	const token = cfg.tokens[0] || '';
	const env = { FAKE_KUBE_PID: process.pid, FAKE_KUBE_URL: url,
		FAKE_KUBE_PORT: port, FAKE_KUBE_CONTROL: `http://${hostUrl}:${cport}`,
		FAKE_KUBE_TOKEN: token, FAKE_CA: ca };
	if (args.env) {
		const dir = path.dirname(path.resolve(args.env));
		const tf = path.join(dir, 'kube.token');
		const kc = path.join(dir, 'kubeconfig');
		common.writeAtomic(tf, token + '\n');
		common.writeAtomic(kc, kubeconfig(url, ca, token));
		env.FAKE_KUBE_TOKEN_FILE = tf;
		env.FAKE_KUBECONFIG = kc;
		common.writeAtomic(args.env, Object.entries(env).map(([k, v]) =>
			`export ${k}='${String(v).replace(/'/g, "'\\''")}'`).join('\n') +
			'\n');
	}
	log(`listening api=${port} control=${cport}`);
	const stop = () => {
		for (const w of srv.watchers())
			w.close(true);
		api.close();
		ctl.close();
		process.exit(0);
	};
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
	common.signalReady(args.ready, 'ready ' + JSON.stringify({ api: port,
		control: cport }));
}

main().catch((e) => {
	log('fatal:', e.stack || e.message);
	process.exit(1);
});
