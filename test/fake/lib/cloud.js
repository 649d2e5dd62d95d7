'use strict';
// State and actions of the fake Alibaba Cloud (ECS 2014-05-26, VPC 2016-04-28).
// Every action takes the decoded request parameters and returns the reply
// object (RequestId is added by the gateway) or throws ApiError.

const crypto = require('crypto');
const cidr = require('./cidr');
const { randomId } = require('./common');

class ApiError extends Error {
	constructor(status, code, message) {
		super(message);
		this.status = status;
		this.code = code;
	}
}

const E = {
	missing: (n) => new ApiError(400, `Missing${n}`,
		`${n} is mandatory for this action.`),
	invalid: (n, why) => new ApiError(400, `InvalidParameter`,
		`The specified parameter "${n}" is not valid${why ? ': ' + why : '.'}`),
	eniNotFound: (id) => new ApiError(404, 'InvalidEniId.NotFound',
		`The specified EniId "${id}" is not found.`),
	ecsNotFound: (id) => new ApiError(404, 'InvalidEcsId.NotFound',
		`The specified EcsId "${id}" is not found.`),
	vswNotFound: (id) => new ApiError(404, 'InvalidVSwitchId.NotFound',
		`The specified VSwitchId "${id}" is not found.`),
	eniState: (want, got) => new ApiError(400,
		'InvalidOperation.InvalidEniState',
		`The operation is not allowed in the current ENI state. Expecting ` +
		`status is "${want}" while current status is "${got}".`),
	ipv4Count: () => new ApiError(403, 'InvalidOperation.Ipv4CountExceeded',
		'The maximum number of IPv4 addresses has been reached.'),
};

function nowIso() {
	return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

// ---- parameter helpers ------------------------------------------------------

function req(p, n) {
	if (p[n] === undefined || p[n] === '')
		throw E.missing(n);
	return p[n];
}

// list(p, "NetworkInterfaceId") -> values of NetworkInterfaceId.1..N
function list(p, name) {
	const re = new RegExp('^' + name.replace(/\./g, '\\.') + '\\.(\\d+)$');
	return Object.keys(p).map((k) => [re.exec(k), k]).filter(([m]) => m)
		.sort((a, b) => Number(a[0][1]) - Number(b[0][1]))
		.map(([, k]) => p[k]);
}

function tags(p) {
	const out = [];
	for (const k of Object.keys(p)) {
		const m = /^Tag\.(\d+)\.Key$/.exec(k);
		if (m)
			out.push({ n: Number(m[1]), Key: p[k],
				Value: p[`Tag.${m[1]}.Value`] || '' });
	}
	out.sort((a, b) => a.n - b.n);
	if (out.length > 20)
		throw E.invalid('Tag', 'at most 20 tags');
	return out.map(({ Key, Value }) => ({ Key, Value }));
}

function int(p, n, min, max, def) {
	if (p[n] === undefined || p[n] === '')
		return def;
	if (!/^-?\d+$/.test(p[n]))
		throw E.invalid(n, 'not an integer');
	const v = Number(p[n]);
	if (v < min || v > max)
		throw E.invalid(n, `must be between ${min} and ${max}`);
	return v;
}

// Token paging: NextToken is an opaque base64 offset.
function pageByToken(items, p, maxName, lo, hi, def) {
	const max = int(p, maxName, lo, hi, def);
	let off = 0;
	if (p.NextToken) {
		const d = Buffer.from(p.NextToken, 'base64').toString();
		if (!/^o:\d+$/.test(d))
			throw new ApiError(400, 'InvalidParameter.NextToken',
				'The specified NextToken is not valid.');
		off = Number(d.slice(2));
	}
	const page = items.slice(off, off + max);
	const next = off + max < items.length ?
		Buffer.from(`o:${off + max}`).toString('base64') : '';
	return { page, next };
}

function pageByNumber(items, p, maxSize, defSize) {
	const num = int(p, 'PageNumber', 1, 1e9, 1);
	const size = int(p, 'PageSize', 1, maxSize, defSize);
	return { num, size, page: items.slice((num - 1) * size, num * size) };
}

// ---- the cloud ---------------------------------------------------------------

class Cloud {
	constructor(cfg, hooks) {
		this.cfg = cfg;
		this.hooks = hooks || {};	// datapath callbacks
		this.enis = new Map();
		this.macs = new Set();
		this.tokens = new Map();	// action|token -> {sig, reply}
		this.vswitches = new Map();
		this.instances = new Map();
		this.types = cfg.instanceTypes;
		for (const v of cfg.vswitches) {
			const net = cidr.parse(v.cidr);
			if (!net || net.bits > 29)
				throw new Error(`vswitch ${v.id}: bad cidr ${v.cidr}`);
			this.vswitches.set(v.id, { id: v.id, zone: v.zone, net,
				used: new Set(), name: v.name || '',
				gateway: cidr.int2ip(net.last - 2),
				created: nowIso() });
		}
		this.routeTable = { id: cfg.vpc.routeTableId,
			vRouterId: cfg.vpc.vRouterId, created: nowIso(),
			entries: new Map() };
		this.addSystemRoutes();
		for (const i of cfg.instances)
			this.addInstance(i);
	}

	addSystemRoutes() {
		const sys = (c, hop) => this.routeTable.entries.set(c, {
			id: randomId('rte-', 20), cidr: c, type: 'System',
			status: 'Available', nextHopType: hop, nextHopId: '',
			name: '', description: '', created: nowIso() });
		for (const v of this.vswitches.values())
			sys(v.net.text, 'local');
		sys('100.64.0.0/10', 'service');
	}

	addInstance(i) {
		const type = this.types[i.type];
		if (!type)
			throw new Error(`instance ${i.id}: unknown type ${i.type}`);
		const vsw = this.vswitches.get(i.vswitch);
		if (!vsw)
			throw new Error(`instance ${i.id}: unknown vswitch ${i.vswitch}`);
		const prim = i.primary || {};
		const inst = { id: i.id, type: i.type, zone: i.zone || vsw.zone,
			vswitch: vsw.id, netns: i.netns || '', hostname: i.hostname ||
			i.id, ramRole: i.ramRole || '', metadataClients:
			i.metadataClients || [] };
		const ip = prim.ip ? this.claimIp(vsw, prim.ip) : this.allocIps(vsw, 1)[0];
		const eni = this.newEni({ id: prim.eni || randomId('eni-', 20),
			type: 'Primary', vsw, ip, mac: prim.mac,
			sgs: i.securityGroups || [this.cfg.securityGroups[0] ||
				'sg-fake0001'], tags: [] });
		eni.status = 'InUse';
		eni.instanceId = inst.id;
		eni.inUseAt = 0;
		inst.primaryEni = eni.id;
		this.instances.set(inst.id, inst);
		return inst;
	}

	// ---- IPs and MACs

	vswFree(vsw) {
		return vsw.net.size - 4 - vsw.used.size;
	}

	claimIp(vsw, ip) {
		const v = cidr.ip2int(ip);
		if (v === null || !cidr.contains(vsw.net, v) || v === vsw.net.first ||
		    v > vsw.net.last - 3)
			throw new ApiError(403, 'InvalidVSwitchId.IpInvalid',
				`The specified IpAddress "${ip}" is not valid in VSwitch ` +
				`CIDR block "${vsw.net.text}".`);
		if (vsw.used.has(v))
			throw new ApiError(403, 'InvalidIp.IpAssigned',
				`The specified IP "${ip}" is already assigned.`);
		vsw.used.add(v);
		return ip;
	}

	needFree(vsw, n) {
		if (this.vswFree(vsw) < n) {
			const code = this.cfg.vswitchExhaustedCode;
			throw new ApiError(403, code, code ===
				'InvalidVSwitchId.IpNotEnough' ?
				`The specified VSwitch "${vsw.id}" has not enough IpAddress.` :
				'The number of private IP addresses exceeds the quota.');
		}
	}

	allocIps(vsw, n) {
		this.needFree(vsw, n);
		const out = [];
		for (let v = vsw.net.first + 1; out.length < n &&
		     v <= vsw.net.last - 3; v++) {
			if (!vsw.used.has(v)) {
				vsw.used.add(v);
				out.push(cidr.int2ip(v));
			}
		}
		return out;
	}

	releaseIp(vsw, ip) {
		vsw.used.delete(cidr.ip2int(ip));
	}

	newMac() {
		for (;;) {
			const b = crypto.randomBytes(3);
			const mac = '00:16:3e:' + [...b].map((x) =>
				x.toString(16).padStart(2, '0')).join(':');
			if (!this.macs.has(mac)) {
				this.macs.add(mac);
				return mac;
			}
		}
	}

	newEni({ id, type, vsw, ip, mac, sgs, tags: t, name, description }) {
		if (mac)
			this.macs.add(mac.toLowerCase());
		const eni = { id, type, status: 'Available', vswitch: vsw.id,
			zone: vsw.zone, mac: (mac || this.newMac()).toLowerCase(),
			primaryIp: ip, secondary: [], instanceId: '', sgs, tags: t,
			name: name || '', description: description || '',
			created: nowIso(), timer: null, inUseAt: 0,
			trafficMode: 'Standard' };
		this.enis.set(id, eni);
		return eni;
	}

	eniIps(eni) {
		return [eni.primaryIp, ...eni.secondary.map((s) => s.ip)];
	}

	getEni(id) {
		const e = this.enis.get(id);
		if (!e)
			throw E.eniNotFound(id);
		return e;
	}

	// IP quota of one ENI (primary included) where it is now.
	ipQuota(eni) {
		if (eni.instanceId) {
			const inst = this.instances.get(eni.instanceId);
			return this.types[inst.type].EniPrivateIpAddressQuantity;
		}
		return this.cfg.quotas.unattachedEniIps;
	}

	// ---- replies

	eniReply(eni, createStyle) {
		const ips = [{ PrivateIpAddress: eni.primaryIp, Primary: true,
			AssociatedPublicIp: {} }].concat(eni.secondary.map((s) => ({
			PrivateIpAddress: s.ip, Primary: false, AssociatedPublicIp: {} })));
		const vsw = this.vswitches.get(eni.vswitch);
		return {
			NetworkInterfaceId: eni.id,
			NetworkInterfaceName: eni.name,
			Description: eni.description,
			Status: eni.status,
			Type: eni.type,
			VpcId: this.cfg.vpc.id,
			VSwitchId: vsw.id,
			ZoneId: eni.zone,
			PrivateIpAddress: eni.primaryIp,
			MacAddress: eni.mac,
			InstanceId: eni.instanceId,
			CreationTime: eni.created,
			ResourceGroupId: '',
			ServiceManaged: false,
			OwnerId: this.cfg.ownerId,
			NetworkInterfaceTrafficMode: eni.trafficMode,
			SecurityGroupIds: { SecurityGroupId: eni.sgs.slice() },
			PrivateIpSets: { PrivateIpSet: ips },
			Ipv6Sets: { Ipv6Set: [] },
			Ipv4PrefixSets: { Ipv4PrefixSet: [] },
			Ipv6PrefixSets: { Ipv6PrefixSet: [] },
			AssociatedPublicIp: {},
			Tags: { Tag: eni.tags.map((t) => createStyle ?
				{ Key: t.Key, Value: t.Value } :
				{ TagKey: t.Key, TagValue: t.Value }) },
		};
	}

	// ---- ClientToken idempotency

	async idempotent(action, p, fn) {
		const tok = p.ClientToken;
		if (!tok)
			return fn();
		if (tok.length > 64 || /[^\x20-\x7e]/.test(tok))
			throw E.invalid('ClientToken', 'at most 64 ASCII characters');
		const sig = JSON.stringify(Object.keys(p).sort().filter((k) =>
			!['Signature', 'SignatureNonce', 'Timestamp', 'AccessKeyId',
				'SecurityToken'].includes(k)).map((k) => [k, p[k]]));
		const key = `${action}|${tok}`;
		const seen = this.tokens.get(key);
		if (seen) {
			if (seen.sig !== sig)
				throw new ApiError(400, 'IdempotentParameterMismatch',
					'The request uses the same client token as a previous, ' +
					'but non-identical request.');
			return JSON.parse(JSON.stringify(await seen.reply));
		}
		// Remember the call while it runs: a concurrent retry waits for it.
		const run = Promise.resolve().then(fn);
		this.tokens.set(key, { sig, reply: run });
		try {
			const reply = await run;
			this.tokens.set(key, { sig, reply:
				JSON.parse(JSON.stringify(reply)) });
			return reply;
		} catch (e) {
			this.tokens.delete(key);	// a failed call may be retried
			throw e;
		}
	}

	// ---- async transitions

	schedule(eni, ms, fn) {
		clearTimeout(eni.timer);
		eni.pending = fn;
		if (ms === null)
			return;		// never completes (fault), until /settle
		eni.timer = setTimeout(() => this.settleEni(eni), ms);
	}

	settleEni(eni) {
		clearTimeout(eni.timer);
		eni.timer = null;
		const fn = eni.pending;
		eni.pending = null;
		if (fn)
			return fn();
		return Promise.resolve();
	}

	async settleAll() {
		for (const eni of this.enis.values())
			await this.settleEni(eni);
		for (const e of this.routeTable.entries.values()) {
			if (e.pending) {
				clearTimeout(e.timer);
				const fn = e.pending;
				e.pending = null;
				await fn();
			}
		}
	}

	actionFault(action) {
		return Object.assign({}, this.cfg.faults,
			(this.cfg.faults.actions || {})[action] || {});
	}
}

module.exports = { Cloud, ApiError, E, req, list, tags, int, pageByToken,
	pageByNumber, nowIso };
