#!/usr/bin/env node
'use strict';
// Fake Alibaba Cloud for tests: ECS (2014-05-26) + VPC (2016-04-28) OpenAPI
// (RPC style, signature v1) over HTTPS, the ECS metadata service (IMDSv2)
// over HTTP, and a control endpoint. See README.md in this directory.
//
// usage: node aliyun.js --certs DIR [--config FILE] [--listen ADDR]
//        [--port N] [--metadata-port N] [--control-port N]
//        [--ready FILE] [--env FILE] [--state-file FILE]
// Ports default to 0 (free port); the chosen ones go to --env (KEY=VALUE).

const fs = require('fs');
const http = require('http');
const https = require('https');
const crypto = require('crypto');
const path = require('path');
const common = require('./lib/common');
const popsign = require('./lib/popsign');
const cidr = require('./lib/cidr');
const { Cloud, ApiError, E } = require('./lib/cloud');
const { ACTIONS, IDEMPOTENT } = require('./lib/actions');
const { Datapath } = require('./lib/datapath');

const NAME = 'fake-aliyun';
const VERSIONS = { '2014-05-26': 'ecs', '2016-04-28': 'vpc' };
const SKEW_MS = 15 * 60 * 1000;
const NONCE_MS = 31 * 60 * 1000;

function log(...m) {
	common.log(NAME, ...m);
}

// ---- configuration -------------------------------------------------------------

function defaults() {
	return {
		region: 'cn-hangzhou',
		ownerId: '1234567890123456',
		vpc: { id: 'vpc-fake0000000000000001', cidr: '192.168.0.0/16',
			routeTableId: 'vtb-fake0000000000000001',
			vRouterId: 'vrt-fake0000000000000001' },
		vswitches: [{ id: 'vsw-fake0000000000000001', cidr: '192.168.0.0/24',
			zone: 'cn-hangzhou-h' }],
		securityGroups: ['sg-fake0000000000000001'],
		instanceTypes: {
			'ecs.g6.large': { CpuCoreCount: 2, MemorySize: 8,
				EniQuantity: 3, EniPrivateIpAddressQuantity: 6,
				EniIpv6AddressQuantity: 1, EniTotalQuantity: 3,
				EniTrunkSupported: false, InstanceBandwidthRx: 1024000,
				InstanceBandwidthTx: 1024000, MaximumQueueNumberPerEni: 2 },
		},
		instances: [{ id: 'i-fake0000000000000001', type: 'ecs.g6.large',
			vswitch: 'vsw-fake0000000000000001' }],
		credentials: [{ accessKeyId: 'LTAI5tFakeAccessKey0001',
			accessKeySecret: 'FakeAccessKeySecret0000000001' }],
		timing: { attachMs: 300, detachMs: 300, routeMs: 100,
			metadataLagMs: 0 },
		quotas: { enisPerRegion: 1000, routeEntriesPerTable: 200,
			unattachedEniIps: 0 },
		vswitchExhaustedCode: 'InvalidVSwitchId.IpNotEnough',
		strictRouteConcurrency: true,
		faults: { throttleRate: 0, throttleCode: 'Throttling.User',
			errorRate: 0, errorCode: 'ServiceUnavailable',
			errorAfterCommit: false, latencyMs: 0, latencyJitterMs: 0,
			attachNeverCompletes: false, actions: {} },
		metadata: { requireToken: true, perInstancePorts: true,
			defaultInstance: '', stsTtlSeconds: 21600 },
		topology: null,
		seed: 0,
	};
}

function loadConfig(file) {
	const cfg = defaults();
	if (file) {
		const user = JSON.parse(fs.readFileSync(file, 'utf8'));
		// Lists and maps given by the user replace the defaults whole.
		for (const k of ['vswitches', 'instances', 'credentials',
			'instanceTypes', 'securityGroups']) {
			if (user[k] !== undefined) {
				cfg[k] = user[k];
				delete user[k];
			}
		}
		common.merge(cfg, user);
	}
	if (!cfg.quotas.unattachedEniIps) {
		const q = Object.values(cfg.instanceTypes).map((t) =>
			t.EniPrivateIpAddressQuantity || 0);
		cfg.quotas.unattachedEniIps = Math.max(11, ...q);
	}
	return cfg;
}

// ---- credentials, STS role credentials --------------------------------------

function newSts(ttl) {
	return { accessKeyId: common.randomId('STS.', 24),
		accessKeySecret: crypto.randomBytes(24).toString('base64')
			.replace(/[+/=]/g, 'x'),
		securityToken: crypto.randomBytes(96).toString('base64'),
		expiration: new Date(Date.now() + ttl * 1000).toISOString()
			.replace(/\.\d+Z$/, 'Z') };
}

class Credentials {
	constructor(cfg) {
		this.cfg = cfg;
		this.byId = new Map();
		for (const c of cfg.credentials)
			this.byId.set(c.accessKeyId, c);
		this.roles = new Map();		// instanceId -> sts cred
	}

	roleCred(inst) {
		let c = this.roles.get(inst.id);
		if (!c || Date.parse(c.expiration) - Date.now() < 5 * 60 * 1000)
			c = this.rotate(inst);
		return c;
	}

	rotate(inst) {
		const c = newSts(this.cfg.metadata.stsTtlSeconds);
		c.lastUpdated = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
		this.roles.set(inst.id, c);
		this.byId.set(c.accessKeyId, c);
		return c;
	}
}

// ---- the gateway: parse, authenticate, dispatch ------------------------------

function parseParams(req, body) {
	const u = new URL(req.url, 'http://x');
	const p = Object.create(null);
	const add = (sp) => {
		for (const [k, v] of sp) {
			if (!(k in p))
				p[k] = v;	// first value wins, like the servlet API
		}
	};
	add(u.searchParams);
	if (req.method === 'POST' && body.length) {
		const ct = (req.headers['content-type'] || '').toLowerCase();
		if (ct.startsWith('application/x-www-form-urlencoded') || !ct)
			add(new URLSearchParams(body.toString('utf8')));
	}
	return { path: u.pathname, p };
}

const TS_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z$/;

class Gateway {
	constructor(cfg, cloud, creds, counters) {
		this.cfg = cfg;
		this.cloud = cloud;
		this.creds = creds;
		this.counters = counters;
		this.nonces = new Map();
		this.rand = common.prng(cfg.seed || Date.now());
		this.failNext = [];
	}

	authenticate(method, p) {
		for (const n of ['AccessKeyId', 'Signature', 'SignatureMethod',
			'SignatureNonce', 'Timestamp', 'Version', 'Action']) {
			if (!p[n])
				throw E.missing(n);
		}
		if (p.Format && !['JSON', 'XML'].includes(p.Format.toUpperCase()))
			throw new ApiError(400, 'InvalidParameter.Format',
				'Specified parameter format is not valid.');
		if (p.SignatureMethod !== 'HMAC-SHA1')
			throw new ApiError(400, 'InvalidSignatureMethod',
				'Specified signature method is not valid.');
		if (p.SignatureVersion && p.SignatureVersion !== '1.0')
			throw new ApiError(400, 'InvalidSignatureVersion',
				'Specified signature version is not valid.');
		const m = TS_RE.exec(p.Timestamp);
		const t = m ? Date.parse(p.Timestamp) : NaN;
		if (!m || isNaN(t))
			throw new ApiError(400, 'InvalidTimeStamp.Format',
				'Specified time stamp or date value is not well formatted.');
		if (Math.abs(Date.now() - t) > SKEW_MS)
			throw new ApiError(400, 'InvalidTimeStamp.Expired',
				'Specified time stamp or date value is expired.');
		const cred = this.creds.byId.get(p.AccessKeyId);
		if (!cred)
			throw new ApiError(404, 'InvalidAccessKeyId.NotFound',
				'Specified access key is not found.');
		if (cred.active === false)
			throw new ApiError(400, 'InvalidAccessKeyId.Inactive',
				'Specified access key is disabled.');
		if (cred.securityToken) {
			if (!p.SecurityToken)
				throw E.missing('SecurityToken');
			if (p.SecurityToken !== cred.securityToken)
				throw new ApiError(400,
					'InvalidSecurityToken.MismatchWithAccessKey',
					'Specified SecurityToken mismatch with the AccessKey.');
			if (cred.expiration && Date.parse(cred.expiration) < Date.now())
				throw new ApiError(400, 'InvalidSecurityToken.Expired',
					'Specified SecurityToken is expired.');
		}
		const sts = popsign.stringToSign(method, p);
		const want = popsign.sign(cred.accessKeySecret, sts);
		if (want !== p.Signature)
			throw new ApiError(400, 'SignatureDoesNotMatch',
				'Specified signature is not matched with our calculation. ' +
				`server string to sign is:${sts}`);
		this.useNonce(p.SignatureNonce);
	}

	useNonce(nonce) {
		const now = Date.now();
		if (this.nonces.size > 10000 || this.nonces.size % 512 === 0) {
			for (const [n, t] of this.nonces) {
				if (now - t > NONCE_MS)
					this.nonces.delete(n);
			}
		}
		if (this.nonces.has(nonce))
			throw new ApiError(400, 'SignatureNonceUsed',
				'Specified signature nonce was used already.');
		this.nonces.set(nonce, now);
	}

	// Injected faults for this call: {when: 'before'|'after', err} or null
	fault(action) {
		const i = this.failNext.findIndex((f) => f.action === action ||
			f.action === '*' || !f.action);
		if (i >= 0) {
			const f = this.failNext[i];
			if (--f.count <= 0)
				this.failNext.splice(i, 1);
			return { after: !!f.afterCommit, err: new ApiError(
				f.status || statusOf(f.code), f.code || 'ServiceUnavailable',
				f.message || defaultMessage(f.code)) };
		}
		const f = this.cloud.actionFault(action);
		if (f.throttleRate && this.rand() < f.throttleRate)
			return { after: false, err: new ApiError(400, f.throttleCode,
				defaultMessage(f.throttleCode)) };
		if (f.errorRate && this.rand() < f.errorRate)
			return { after: !!f.errorAfterCommit, err: new ApiError(
				statusOf(f.errorCode), f.errorCode,
				defaultMessage(f.errorCode)) };
		return null;
	}

	async handle(req, res) {
		const reqId = crypto.randomUUID().toUpperCase();
		let action = '(gateway)';
		let reply;
		try {
			if (req.method !== 'GET' && req.method !== 'POST')
				throw new ApiError(400, 'UnsupportedHTTPMethod',
					'This http method not supported.');
			const body = await common.readBody(req, 1 << 20);
			const { path: urlPath, p } = parseParams(req, body);
			if (urlPath !== '/')
				throw new ApiError(404, 'InvalidAction.NotFound',
					'Specified api is not found, please check your url and ' +
					'method.');
			this.authenticate(req.method, p);
			const product = VERSIONS[p.Version];
			if (!product)
				throw new ApiError(400, 'InvalidVersion',
					'Specified parameter Version is not valid.');
			const fn = ACTIONS[product][p.Action];
			if (!fn)
				throw new ApiError(404, 'InvalidAction.NotFound',
					'Specified api is not found, please check your url and ' +
					'method.');
			action = p.Action;
			reply = await this.dispatch(action, fn, p);
		} catch (e) {
			this.replyError(req, res, reqId, action, e);
			return;
		}
		this.count(action, null);
		const out = Object.assign({ RequestId: reqId }, reply);
		common.sendJSON(res, 200, out, { 'x-acs-request-id': reqId });
	}

	async dispatch(action, fn, p) {
		const f = this.cloud.actionFault(action);
		const ms = (f.latencyMs || 0) + (f.latencyJitterMs ?
			Math.floor(this.rand() * f.latencyJitterMs) : 0);
		if (ms > 0)
			await new Promise((r) => setTimeout(r, ms));
		const fault = this.fault(action);
		if (fault && !fault.after)
			throw fault.err;
		if (!p.RegionId)
			throw E.missing('RegionId');
		if (p.RegionId !== this.cfg.region)
			throw new ApiError(404, 'InvalidRegionId.NotFound',
				`The specified RegionId "${p.RegionId}" does not exist.`);
		const run = () => fn(this.cloud, p);
		const reply = IDEMPOTENT.has(action) ?
			await this.cloud.idempotent(action, p, run) : await run();
		if (fault)
			throw fault.err;	// the action took effect, the reply is lost
		return reply;
	}

	replyError(req, res, reqId, action, e) {
		if (!(e instanceof ApiError)) {
			if (e.status === 413) {
				e = new ApiError(413, 'RequestEntityTooLarge',
					'The request body is too large.');
			} else {
				log('internal error:', e.stack || e);
				e = new ApiError(500, 'InternalError', 'The request ' +
					'processing has failed due to some unknown error, ' +
					'exception or failure.');
			}
		}
		this.count(action, e.code);
		const host = String(req.headers.host || 'ecs.aliyuncs.com')
			.replace(/:\d+$/, '');
		const product = host.startsWith('vpc') ? 'Vpc' : 'Ecs';
		log(`${req.method} ${action} -> ${e.status} ${e.code}`);
		common.sendJSON(res, e.status, { RequestId: reqId, HostId: host,
			Code: e.code, Message: e.message,
			Recommend: `https://api.aliyun.com/troubleshoot?q=${e.code}` +
				`&product=${product}` }, { 'x-acs-request-id': reqId });
	}

	count(action, code) {
		const c = this.counters.actions[action] ||
			(this.counters.actions[action] = { calls: 0, ok: 0, errors: {} });
		c.calls++;
		if (code)
			c.errors[code] = (c.errors[code] || 0) + 1;
		else
			c.ok++;
	}
}

function statusOf(code) {
	if (code === 'InternalError')
		return 500;
	if (code === 'ServiceUnavailable')
		return 503;
	return 400;
}

function defaultMessage(code) {
	return {
		'Throttling': 'Request was denied due to request throttling.',
		'Throttling.User': 'Request was denied due to user flow control.',
		'Throttling.Api': 'Request was denied due to api flow control.',
		'ServiceUnavailable': 'The request has failed due to a temporary ' +
			'failure of the server.',
		'InternalError': 'The request processing has failed due to some ' +
			'unknown error, exception or failure.',
		'Operation.Conflict': 'ecs task is conflicted.',
	}[code] || `Injected error ${code}.`;
}

// ---- metadata service ---------------------------------------------------------

class Metadata {
	constructor(cfg, cloud, creds, counters) {
		this.cfg = cfg;
		this.cloud = cloud;
		this.creds = creds;
		this.counters = counters.metadata;
		this.tokens = new Map();	// token -> {exp, inst}
	}

	// Which instance is asking: a per-instance port, else the client address
	// (an instance's primary IP or one of its metadataClients), else
	// metadata.defaultInstance, else the only instance.
	instanceFor(req, fixed) {
		if (fixed)
			return fixed;
		const addr = String(req.socket.remoteAddress || '')
			.replace(/^::ffff:/, '');
		for (const inst of this.cloud.instances.values()) {
			const eni = this.cloud.enis.get(inst.primaryEni);
			if (inst.metadataClients.includes(addr) || eni.primaryIp === addr)
				return inst;
		}
		const d = this.cfg.metadata.defaultInstance;
		if (d && this.cloud.instances.has(d))
			return this.cloud.instances.get(d);
		if (this.cloud.instances.size === 1)
			return this.cloud.instances.values().next().value;
		return null;
	}

	handle(req, res, fixed) {
		try {
			this.serve(req, res, fixed);
		} catch (e) {
			log('metadata error:', e.stack || e);
			common.sendText(res, 500, 'Internal Server Error\n');
		}
	}

	serve(req, res, fixed) {
		this.counters.requests++;
		const u = new URL(req.url, 'http://x');
		const inst = this.instanceFor(req, fixed);
		if (!inst) {
			common.sendText(res, 404, 'no instance for this client\n');
			return;
		}
		if (u.pathname === '/latest/api/token') {
			this.token(req, res, inst);
			return;
		}
		if (req.method !== 'GET' && req.method !== 'HEAD') {
			common.sendText(res, 405, 'Method Not Allowed\n');
			return;
		}
		const tok = req.headers['x-aliyun-ecs-metadata-token'];
		if (tok !== undefined) {
			const t = this.tokens.get(tok);
			if (!t || t.exp < Date.now() || t.inst !== inst.id) {
				this.counters.unauthorized++;
				common.sendText(res, 401, 'Unauthorized\n');
				return;
			}
		} else if (this.cfg.metadata.requireToken) {
			this.counters.forbidden++;
			common.sendText(res, 403, 'Forbidden\n');
			return;
		}
		const prefix = '/latest/meta-data/';
		if (!(u.pathname + '/').startsWith(prefix)) {
			common.sendText(res, 404, 'Not Found\n');
			return;
		}
		const v = this.value(inst, u.pathname.slice(prefix.length));
		if (v === null) {
			common.sendText(res, 404, 'Not Found\n');
			return;
		}
		common.sendText(res, 200, v);
	}

	token(req, res, inst) {
		if (req.method !== 'PUT') {
			common.sendText(res, 405, 'Method Not Allowed\n');
			return;
		}
		if (req.headers['x-forwarded-for']) {
			common.sendText(res, 403, 'Forbidden\n');
			return;
		}
		const ttl = Number(req.headers['x-aliyun-ecs-metadata-token-ttl-seconds']);
		if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) {
			common.sendText(res, 400, 'Bad Request\n');
			return;
		}
		const t = crypto.randomBytes(33).toString('base64');
		this.tokens.set(t, { exp: Date.now() + ttl * 1000, inst: inst.id });
		this.counters.tokens++;
		common.sendText(res, 200, t);
	}

	// ENIs the guest sees: attached long enough ago (metadataLagMs).
	visibleEnis(inst) {
		const lag = this.cfg.timing.metadataLagMs;
		return [...this.cloud.enis.values()].filter((e) =>
			e.instanceId === inst.id && e.status === 'InUse' &&
			Date.now() - e.inUseAt >= lag);
	}

	macValue(eni, key) {
		const vsw = this.cloud.vswitches.get(eni.vswitch);
		const lag = this.cfg.timing.metadataLagMs;
		const ips = [eni.primaryIp].concat(eni.secondary.filter((s) =>
			Date.now() - s.at >= lag).map((s) => s.ip));
		const vals = {
			'network-interface-id': eni.id,
			'primary-ip-address': eni.primaryIp,
			'gateway': vsw.gateway,
			'netmask': cidr.netmask(vsw.net.bits),
			'vswitch-cidr-block': vsw.net.text,
			'vswitch-id': vsw.id,
			'vpc-cidr-block': this.cfg.vpc.cidr,
			'vpc-id': this.cfg.vpc.id,
			'private-ipv4s': JSON.stringify(ips),
		};
		if (key === '' || key === '/')
			return Object.keys(vals).join('\n');
		return vals[key.replace(/\/$/, '')] ?? null;
	}

	value(inst, p) {
		const eni = this.cloud.enis.get(inst.primaryEni);
		const vsw = this.cloud.vswitches.get(inst.vswitch);
		const top = {
			'instance-id': inst.id,
			'instance/instance-type': inst.type,
			'region-id': this.cfg.region,
			'zone-id': inst.zone,
			'vpc-id': this.cfg.vpc.id,
			'vpc-cidr-block': this.cfg.vpc.cidr,
			'vswitch-id': vsw.id,
			'vswitch-cidr-block': vsw.net.text,
			'mac': eni.mac,
			'private-ipv4': eni.primaryIp,
			'hostname': inst.hostname,
			'owner-account-id': this.cfg.ownerId,
		};
		const m = /^network\/interfaces\/macs\/?(.*)$/.exec(p);
		if (m) {
			if (m[1] === '')
				return this.visibleEnis(inst).map((e) => e.mac + '/')
					.join('\n');
			const [mac, ...rest] = m[1].split('/');
			const e = this.visibleEnis(inst).find((x) => x.mac ===
				mac.toLowerCase());
			return e ? this.macValue(e, rest.join('/')) : null;
		}
		const r = /^ram\/security-credentials\/?(.*)$/.exec(p);
		if (r) {
			if (!inst.ramRole)
				return null;
			if (r[1] === '')
				return inst.ramRole;
			if (r[1].replace(/\/$/, '') !== inst.ramRole)
				return null;
			const c = this.creds.roleCred(inst);
			return JSON.stringify({ AccessKeyId: c.accessKeyId,
				AccessKeySecret: c.accessKeySecret, Expiration: c.expiration,
				SecurityToken: c.securityToken, LastUpdated: c.lastUpdated,
				Code: 'Success' }, null, 2);
		}
		const key = p.replace(/\/$/, '');
		if (key === '')
			return Object.keys(top).filter((k) => !k.includes('/'))
				.concat(['instance/', 'network/', 'ram/']).join('\n');
		if (key === 'instance')
			return 'instance-type';
		if (key === 'network')
			return 'interfaces/';
		if (key === 'network/interfaces')
			return 'macs/';
		if (key === 'ram')
			return inst.ramRole ? 'security-credentials/' : null;
		return top[key] ?? null;
	}
}

// ---- control endpoint ---------------------------------------------------------

function stateDump(cloud, dp) {
	return {
		enis: [...cloud.enis.values()].map((e) => cloud.eniReply(e)),
		vswitches: [...cloud.vswitches.values()].map((v) => ({ id: v.id,
			cidr: v.net.text, zone: v.zone, gateway: v.gateway,
			available: cloud.vswFree(v) })),
		instances: [...cloud.instances.values()].map((i) => ({ id: i.id,
			type: i.type, zone: i.zone, netns: i.netns,
			primaryEni: i.primaryEni,
			primaryIp: cloud.enis.get(i.primaryEni).primaryIp,
			mac: cloud.enis.get(i.primaryEni).mac })),
		routeTable: { id: cloud.routeTable.id, entries:
			[...cloud.routeTable.entries.values()].map((e) => ({ id: e.id,
				cidr: e.cidr, type: e.type, status: e.status,
				nextHopType: e.nextHopType, nextHopId: e.nextHopId })) },
		datapath: dp ? dp.state() : null,
	};
}

function control(ctx) {
	const serve = controlRoutes(ctx);
	return (req, res) => serve(req, res).catch((e) => {
		log('control error:', e.stack || e);
		common.sendJSON(res, 500, { error: e.message });
	});
}

function controlRoutes(ctx) {
	return async (req, res) => {
		const { cfg, cloud, gw, counters, creds, dp } = ctx;
		let body = {};
		try {
			const b = await common.readBody(req, 1 << 20);
			if (b.length)
				body = JSON.parse(b.toString());
		} catch (e) {
			common.sendJSON(res, 400, { error: `bad body: ${e.message}` });
			return;
		}
		const route = `${req.method} ${new URL(req.url, 'http://x').pathname}`;
		switch (route) {
		case 'GET /healthz':
			return common.sendText(res, 200, 'ok\n');
		case 'GET /state':
			return common.sendJSON(res, 200, stateDump(cloud, dp));
		case 'GET /counters':
			return common.sendJSON(res, 200, counters);
		case 'POST /counters/reset':
			counters.actions = {};
			for (const k of Object.keys(counters.metadata))
				counters.metadata[k] = 0;
			return common.sendJSON(res, 200, counters);
		case 'GET /faults':
			return common.sendJSON(res, 200, cfg.faults);
		case 'POST /faults':
			common.merge(cfg.faults, body);
			return common.sendJSON(res, 200, cfg.faults);
		case 'POST /faults/reset':
			cfg.faults = defaults().faults;
			gw.failNext = [];
			return common.sendJSON(res, 200, cfg.faults);
		case 'POST /fail-next':
			gw.failNext.push(Object.assign({ count: 1 }, body));
			return common.sendJSON(res, 200, gw.failNext);
		case 'POST /timing':
			common.merge(cfg.timing, body);
			return common.sendJSON(res, 200, cfg.timing);
		case 'POST /metadata':
			common.merge(cfg.metadata, body);
			return common.sendJSON(res, 200, cfg.metadata);
		case 'POST /settle':
			await cloud.settleAll();
			if (dp)
				await dp.queue;
			return common.sendJSON(res, 200, stateDump(cloud, dp));
		case 'POST /sts/rotate': {
			const out = {};
			for (const inst of cloud.instances.values()) {
				if (inst.ramRole)
					out[inst.id] = creds.rotate(inst).accessKeyId;
			}
			return common.sendJSON(res, 200, out);
		}
		default:
			return common.sendJSON(res, 404, { error: `no route ${route}` });
		}
	};
}

// ---- data path hooks -------------------------------------------------------------

function datapathHooks(cfg, cloud) {
	if (!cfg.topology || !cfg.topology.vpcNetns)
		return null;
	const dp = new Datapath(cfg.topology, log);
	const nsOf = (inst) => inst && inst.netns;
	cloud.hooks = {
		attach: (eni, inst) => nsOf(inst) ? dp.attach(eni, inst.netns,
			{ ips: cloud.eniIps(eni) }) : null,
		detach: (eni) => dp.detach(eni.id),
		ips: (eni) => dp.setIps(eni.id, cloud.eniIps(eni)),
		addRoute: (c, via) => dp.addRoute(c, via),
		delRoute: (c) => dp.delRoute(c),
	};
	return dp;
}

async function setupTopology(cfg, cloud, dp) {
	await dp.init([...cloud.vswitches.values()].map((v) => v.gateway));
	if (cfg.topology.primaryLinks === false)
		return;
	for (const inst of cloud.instances.values()) {
		if (!inst.netns)
			continue;
		const eni = cloud.enis.get(inst.primaryEni);
		const vsw = cloud.vswitches.get(eni.vswitch);
		await dp.attach(eni, inst.netns, { primary: true, ips:
			cloud.eniIps(eni), configure: cfg.topology.configurePrimary !==
			false, prefixLen: vsw.net.bits, gateway: vsw.gateway });
	}
}

// ---- main --------------------------------------------------------------------------

function envName(s) {
	return s.replace(/[^A-Za-z0-9]/g, '_').toUpperCase();
}

async function main() {
	common.keepAlive(NAME);
	const args = common.parseArgs(process.argv.slice(2));
	if (!args.certs)
		throw new Error('--certs DIR is required (see mkcerts.sh)');
	const cfg = loadConfig(args.config);
	const cloud = new Cloud(cfg);
	const creds = new Credentials(cfg);
	const counters = { actions: {}, metadata: { requests: 0, tokens: 0,
		unauthorized: 0, forbidden: 0 } };
	const gw = new Gateway(cfg, cloud, creds, counters);
	const md = new Metadata(cfg, cloud, creds, counters);
	const dp = datapathHooks(cfg, cloud);
	if (dp)
		await setupTopology(cfg, cloud, dp);
	const host = args.listen || '127.0.0.1';
	const tls = { key: fs.readFileSync(path.join(args.certs, 'server.key')),
		cert: fs.readFileSync(path.join(args.certs, 'server.pem')) };
	const api = https.createServer(tls, (q, r) => gw.handle(q, r));
	const meta = http.createServer((q, r) => md.handle(q, r, null));
	const ctl = http.createServer(control({ cfg, cloud, gw, counters, creds,
		dp }));
	const servers = [api, meta, ctl];
	const ports = {
		api: await common.listen(api, Number(args.port || 0), host),
		metadata: await common.listen(meta, Number(args['metadata-port'] ||
			0), host),
		control: await common.listen(ctl, Number(args['control-port'] || 0),
			host),
		instances: {},
	};
	if (cfg.metadata.perInstancePorts) {
		for (const inst of cloud.instances.values()) {
			const s = http.createServer((q, r) => md.handle(q, r, inst));
			servers.push(s);
			ports.instances[inst.id] = await common.listen(s, 0, host);
		}
	}
	const hostUrl = host.includes(':') ? `[${host}]` : host;
	const cred = cfg.credentials[0] || {};
	const env = {
		FAKE_ALIYUN_PID: process.pid,
		FAKE_ALIYUN_URL: `https://${hostUrl}:${ports.api}`,
		FAKE_ALIYUN_PORT: ports.api,
		FAKE_ALIYUN_CONTROL: `http://${hostUrl}:${ports.control}`,
		FAKE_ALIYUN_REGION: cfg.region,
		FAKE_METADATA_URL: `http://${hostUrl}:${ports.metadata}`,
		FAKE_METADATA_PORT: ports.metadata,
		FAKE_CA: path.resolve(args.certs, 'ca.pem'),
		ALIBABA_CLOUD_ACCESS_KEY_ID: cred.accessKeyId || '',
		ALIBABA_CLOUD_ACCESS_KEY_SECRET: cred.accessKeySecret || '',
	};
	for (const [id, port] of Object.entries(ports.instances))
		env[`FAKE_METADATA_URL_${envName(id)}`] = `http://${hostUrl}:${port}`;
	if (args.env)
		common.writeAtomic(args.env, Object.entries(env).map(([k, v]) =>
			`export ${k}='${String(v).replace(/'/g, "'\\''")}'`).join('\n') + '\n');
	log(`listening api=${ports.api} metadata=${ports.metadata} ` +
		`control=${ports.control}`);
	const stop = async () => {
		for (const s of servers)
			s.close();
		if (dp)
			await dp.cleanup();
		process.exit(0);
	};
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
	common.signalReady(args.ready, 'ready ' + JSON.stringify(ports));
}

main().catch((e) => {
	log('fatal:', e.stack || e.message);
	process.exit(1);
});
