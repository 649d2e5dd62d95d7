'use strict';
// Object store of the fake Kubernetes API server: one global resourceVersion,
// an event history (for watch resumption and consistent paged lists), label
// and field selectors, and watchers fed on every change.

const crypto = require('crypto');

const TYPES = [
	{ group: '', version: 'v1', resource: 'pods', kind: 'Pod',
		namespaced: true, short: ['po'], status: true },
	{ group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace',
		namespaced: false, short: ['ns'], status: true },
	{ group: '', version: 'v1', resource: 'nodes', kind: 'Node',
		namespaced: false, short: ['no'], status: true },
	{ group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap',
		namespaced: true, short: ['cm'] },
	{ group: '', version: 'v1', resource: 'services', kind: 'Service',
		namespaced: true, short: ['svc'], status: true },
	{ group: '', version: 'v1', resource: 'events', kind: 'Event',
		namespaced: true, short: ['ev'] },
	{ group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies',
		kind: 'NetworkPolicy', namespaced: true, short: ['netpol'] },
];

// Field selectors each kind supports (besides metadata.name/namespace).
const FIELDS = {
	Pod: { 'spec.nodeName': (o) => (o.spec || {}).nodeName,
		'spec.restartPolicy': (o) => (o.spec || {}).restartPolicy,
		'spec.schedulerName': (o) => (o.spec || {}).schedulerName,
		'spec.serviceAccountName': (o) => (o.spec || {}).serviceAccountName,
		'spec.hostNetwork': (o) => String(!!(o.spec || {}).hostNetwork),
		'status.phase': (o) => (o.status || {}).phase,
		'status.podIP': (o) => (o.status || {}).podIP,
		'status.nominatedNodeName': (o) => (o.status || {}).nominatedNodeName },
	Node: { 'spec.unschedulable': (o) => String(!!(o.spec || {}).unschedulable) },
	Namespace: { 'status.phase': (o) => (o.status || {}).phase },
	Event: { 'involvedObject.kind': (o) => (o.involvedObject || {}).kind,
		'involvedObject.name': (o) => (o.involvedObject || {}).name,
		'involvedObject.namespace': (o) => (o.involvedObject || {}).namespace,
		'involvedObject.uid': (o) => (o.involvedObject || {}).uid,
		'reason': (o) => o.reason, 'type': (o) => o.type },
};

class KError extends Error {
	constructor(code, reason, message, details) {
		super(message);
		this.code = code;
		this.reason = reason;
		this.details = details;
	}
}

function typeName(t) {
	return t.group ? `${t.resource}.${t.group}` : t.resource;
}

function notFound(t, name) {
	return new KError(404, 'NotFound', `${typeName(t)} "${name}" not found`,
		Object.assign({ name, kind: t.resource }, t.group ?
			{ group: t.group } : {}));
}

function apiVersion(t) {
	return t.group ? `${t.group}/${t.version}` : t.version;
}

function clone(o) {
	return o === undefined ? undefined : JSON.parse(JSON.stringify(o));
}

function now() {
	return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

// ---- selectors ----------------------------------------------------------------

function badSelector(msg) {
	return new KError(400, 'BadRequest', `unable to parse requirement: ${msg}`);
}

// Label selector: a=b, a==b, a!=b, a in (x,y), a notin (x), a, !a
function parseLabelSelector(s) {
	const reqs = [];
	if (!s || !s.trim())
		return reqs;
	// split on commas not inside parentheses
	const parts = [];
	let depth = 0;
	let cur = '';
	for (const ch of s) {
		if (ch === '(')
			depth++;
		if (ch === ')')
			depth--;
		if (ch === ',' && depth === 0) {
			parts.push(cur);
			cur = '';
		} else {
			cur += ch;
		}
	}
	parts.push(cur);
	const KEY = '[A-Za-z0-9][-A-Za-z0-9_./]*';
	const VAL = '[-A-Za-z0-9_.]*';
	for (const raw of parts) {
		const p = raw.trim();
		let m;
		if ((m = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VAL})$`).exec(p)))
			reqs.push({ key: m[1], op: m[2] === '!=' ? '!=' : '=', vals: [m[3]] });
		else if ((m = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`)
			.exec(p))) {
			const vals = m[3].split(',').map((v) => v.trim());
			if (vals.some((v) => !new RegExp(`^${VAL}$`).test(v)))
				throw badSelector(`invalid value in ${p}`);
			reqs.push({ key: m[1], op: m[2], vals });
		} else if ((m = new RegExp(`^!\\s*(${KEY})$`).exec(p)))
			reqs.push({ key: m[1], op: '!' });
		else if ((m = new RegExp(`^(${KEY})$`).exec(p)))
			reqs.push({ key: m[1], op: 'exists' });
		else
			throw badSelector(`found '${p}', expected: key, !key, key=value, ` +
				'key!=value, key in (...), key notin (...)');
	}
	return reqs;
}

function labelsMatch(reqs, obj) {
	const l = (obj.metadata && obj.metadata.labels) || {};
	return reqs.every((r) => {
		const has = Object.prototype.hasOwnProperty.call(l, r.key);
		switch (r.op) {
		case '=': return has && l[r.key] === r.vals[0];
		case '!=': return !has || l[r.key] !== r.vals[0];
		case 'in': return has && r.vals.includes(l[r.key]);
		case 'notin': return !has || !r.vals.includes(l[r.key]);
		case 'exists': return has;
		default: return !has;
		}
	});
}

function parseFieldSelector(s, t) {
	const reqs = [];
	if (!s || !s.trim())
		return reqs;
	const getters = Object.assign({
		'metadata.name': (o) => o.metadata.name,
		'metadata.namespace': (o) => o.metadata.namespace || '',
	}, FIELDS[t.kind] || {});
	for (const raw of s.split(',')) {
		const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(raw);
		if (!m)
			throw new KError(400, 'BadRequest',
				`invalid selector: '${s}'; can't understand '${raw}'`);
		if (!getters[m[1]])
			throw new KError(400, 'BadRequest',
				`field label not supported: ${m[1]}`);
		reqs.push({ get: getters[m[1]], neg: m[2] === '!=', val: m[3] });
	}
	return reqs;
}

function fieldsMatch(reqs, obj) {
	return reqs.every((r) => {
		const v = r.get(obj);
		const s = v === undefined || v === null ? '' : String(v);
		return r.neg ? s !== r.val : s === r.val;
	});
}

// ---- the store -----------------------------------------------------------------

class Store {
	constructor(cfg) {
		this.cfg = cfg;
		this.rv = 1;
		this.objects = new Map();	// key -> object
		this.history = [];		// {rv, type, key, t, obj, prev}
		this.compactRev = 1;		// watch/list from RV < this: 410
		this.watchers = new Set();
	}

	typeOf(group, resource) {
		return TYPES.find((t) => t.group === group && t.resource === resource);
	}

	typeOfObject(obj) {
		const av = String(obj.apiVersion || '');
		const group = av.includes('/') ? av.split('/')[0] : '';
		return TYPES.find((t) => t.kind === obj.kind && t.group === group);
	}

	key(t, ns, name) {
		return `${typeName(t)}/${t.namespaced ? ns : ''}/${name}`;
	}

	get(t, ns, name) {
		const o = this.objects.get(this.key(t, ns, name));
		if (!o)
			throw notFound(t, name);
		return o;
	}

	// Objects of type t at resourceVersion rv (undefined: now), key order.
	snapshot(t, rv) {
		let map = this.objects;
		if (rv !== undefined && rv < this.rv) {
			if (rv < this.compactRev)
				throw new KError(410, 'Expired', 'The provided continue ' +
					'parameter is too old to display a consistent list ' +
					'result. You can start a new list without the continue ' +
					'parameter.');
			map = new Map(this.objects);
			for (let i = this.history.length - 1; i >= 0; i--) {
				const e = this.history[i];
				if (e.rv <= rv)
					break;
				if (e.type === 'ADDED')
					map.delete(e.key);
				else
					map.set(e.key, e.prev);
			}
		}
		const prefix = `${typeName(t)}/`;
		return [...map.entries()].filter(([k]) => k.startsWith(prefix))
			.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
	}

	commit(type, t, key, obj, prev) {
		this.rv++;
		obj.metadata.resourceVersion = String(this.rv);
		if (type === 'DELETED')
			this.objects.delete(key);
		else
			this.objects.set(key, obj);
		const ev = { rv: this.rv, type, key, t, obj, prev, at: Date.now() };
		this.history.push(ev);
		this.trim();
		for (const w of this.watchers)
			w.onEvent(ev);
		return obj;
	}

	trim() {
		const lim = this.cfg.historyLimit;
		const age = this.cfg.historySeconds * 1000;
		while (this.history.length && (this.history.length > lim ||
		       Date.now() - this.history[0].at > age)) {
			const e = this.history.shift();
			this.compactRev = e.rv;
		}
	}

	// Drop all history: watching or paging from any older RV gives 410.
	compact() {
		this.history = [];
		this.compactRev = this.rv;
	}

	defaults(t, obj, ns) {
		const md = obj.metadata;
		md.uid = crypto.randomUUID();
		md.creationTimestamp = now();
		if (t.namespaced)
			md.namespace = ns;
		else
			delete md.namespace;
		if (md.generation === undefined && t.kind !== 'Event' &&
		    t.kind !== 'ConfigMap')
			md.generation = 1;
		obj.apiVersion = apiVersion(t);
		obj.kind = t.kind;
		if (t.kind === 'Namespace') {
			md.labels = Object.assign({}, md.labels,
				{ 'kubernetes.io/metadata.name': md.name });
			obj.spec = Object.assign({ finalizers: ['kubernetes'] }, obj.spec);
			obj.status = Object.assign({ phase: 'Active' }, obj.status);
		}
		if (t.kind === 'Pod')
			obj.status = Object.assign({ phase: 'Pending' }, obj.status);
	}

	create(t, ns, body, opts) {
		const obj = clone(body);
		if (!obj || typeof obj !== 'object' || Array.isArray(obj))
			throw new KError(400, 'BadRequest', 'the body is not an object');
		obj.metadata = obj.metadata || {};
		const md = obj.metadata;
		if (t.namespaced && md.namespace && md.namespace !== ns)
			throw new KError(400, 'BadRequest', 'the namespace of the ' +
				'provided object does not match the namespace sent on the ' +
				'request');
		if (!md.name && md.generateName)
			md.name = md.generateName + crypto.randomBytes(4).toString('hex')
				.slice(0, 5);
		if (!md.name)
			throw new KError(422, 'Invalid', `${t.kind} "" is invalid: ` +
				'metadata.name: Required value: name or generateName is ' +
				'required', { kind: t.kind, name: '' });
		if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(md.name) ||
		    md.name.length > 253)
			throw new KError(422, 'Invalid', `${t.kind} "${md.name}" is ` +
				'invalid: metadata.name: Invalid value: a lowercase RFC 1123 ' +
				'subdomain is required', { kind: t.kind, name: md.name });
		if (t.namespaced && !(opts && opts.force) &&
		    !this.objects.has(this.key(this.typeOf('', 'namespaces'), '', ns)))
			throw new KError(404, 'NotFound', `namespaces "${ns}" not found`,
				{ name: ns, kind: 'namespaces' });
		const key = this.key(t, ns, md.name);
		if (this.objects.has(key))
			throw new KError(409, 'AlreadyExists', `${typeName(t)} ` +
				`"${md.name}" already exists`, Object.assign({ name: md.name,
				kind: t.resource }, t.group ? { group: t.group } : {}));
		delete md.resourceVersion;
		this.defaults(t, obj, ns);
		return this.commit('ADDED', t, key, obj, undefined);
	}

	// Replace (PUT/PATCH result). sub: 'status' for the status subresource,
	// '' for the main resource, 'all' for the control interface.
	update(t, ns, name, body, sub) {
		const key = this.key(t, ns, name);
		const old = this.objects.get(key);
		if (!old)
			throw notFound(t, name);
		const obj = clone(body);
		if (!obj || typeof obj !== 'object' || !obj.metadata)
			throw new KError(400, 'BadRequest', 'the body has no metadata');
		if (obj.metadata.name && obj.metadata.name !== name)
			throw new KError(400, 'BadRequest', 'the name of the object ' +
				`(${obj.metadata.name}) does not match the name on the URL ` +
				`(${name})`);
		const want = obj.metadata.resourceVersion;
		if (want && want !== old.metadata.resourceVersion && sub !== 'all')
			throw new KError(409, 'Conflict', 'Operation cannot be ' +
				`fulfilled on ${typeName(t)} "${name}": the object has been ` +
				'modified; please apply your changes to the latest version ' +
				'and try again', { name, kind: t.resource });
		let next;
		if (sub === 'status') {
			next = clone(old);
			next.status = obj.status;
		} else {
			next = obj;
			if (t.status && sub !== 'all')
				next.status = clone(old.status);
			next.metadata.name = name;
			for (const k of ['uid', 'creationTimestamp', 'namespace'])
				next.metadata[k] = old.metadata[k];
			next.apiVersion = old.apiVersion;
			next.kind = old.kind;
			if (JSON.stringify(next.spec) !== JSON.stringify(old.spec) &&
			    old.metadata.generation !== undefined)
				next.metadata.generation = old.metadata.generation + 1;
			else
				next.metadata.generation = old.metadata.generation;
		}
		if (t.kind === 'Namespace')
			next.metadata.labels = Object.assign({}, next.metadata.labels,
				{ 'kubernetes.io/metadata.name': name });
		next.metadata.resourceVersion = old.metadata.resourceVersion;
		if (JSON.stringify(next) === JSON.stringify(old))
			return old;	// no-op: no new RV, no event (as the real one)
		return this.commit('MODIFIED', t, key, next, old);
	}

	remove(t, ns, name) {
		const key = this.key(t, ns, name);
		const old = this.objects.get(key);
		if (!old)
			throw notFound(t, name);
		const gone = clone(old);
		if (t.kind === 'Namespace') {
			for (const [k, o] of [...this.objects.entries()]) {
				const ot = this.typeOfObject(o);
				if (ot && ot.namespaced && o.metadata.namespace === name)
					this.commit('DELETED', ot, k, clone(o), o);
			}
		}
		return this.commit('DELETED', t, key, gone, old);
	}
}

module.exports = { Store, TYPES, KError, parseLabelSelector, labelsMatch,
	parseFieldSelector, fieldsMatch, apiVersion, typeName, clone, notFound };
