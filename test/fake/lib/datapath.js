'use strict';
// The fake VPC's data path, built with `ip` (this is a test fake).
//
// A "vpc" netns routes between instances. An attached ENI is a veth pair:
// the node end (in the instance's netns) carries the ENI MAC and is left
// down, named like the guest kernel would (lowest free ethN); the vpc end is
// up with proxy_arp, and the vpc netns has a /32 route per ENI IP through it.
// Every vSwitch gateway address sits on the vpc netns' lo, so the node can
// ARP for its gateway. Route entries of the route table become routes in the
// vpc netns via the next hop's primary IP. All operations run one at a time.
// Like the real VPC, which knows which ENI (MAC) holds each private IP, the
// vpc netns has a permanent neighbour entry per ENI IP: secondary IPs (pods
// behind the node, routed there) are delivered with no ARP from the guest.

const { execFile } = require('child_process');
const fs = require('fs');

function run(args) {
	return new Promise((resolve, reject) => {
		execFile('ip', args, { timeout: 10000 }, (err, stdout, stderr) => {
			if (err) {
				const e = new Error(`ip ${args.join(' ')}: ${
					(stderr || err.message).trim()}`);
				reject(e);
				return;
			}
			resolve(stdout);
		});
	});
}

function sysctl(ns, kv) {
	return run(['netns', 'exec', ns, 'sysctl', '-qw', ...kv]);
}

class Datapath {
	constructor(cfg, logf) {
		this.vpc = cfg.vpcNetns;
		this.createdNetns = false;
		this.log = logf;
		this.queue = Promise.resolve();
		this.links = new Map();		// eniId -> {vpcLink, ns, ips:Set}
		this.routes = new Map();	// cidr -> via
		this.errors = [];
		this.gateways = [];
		this.prefix = cfg.linkPrefix || 'v-';
	}

	// Serialize: every public operation goes through here and never rejects.
	enqueue(what, fn) {
		const p = this.queue.then(fn).catch((e) => {
			this.errors.push(`${what}: ${e.message}`);
			if (this.errors.length > 50)
				this.errors.shift();
			this.log(`datapath ${what}: ${e.message}`);
		});
		this.queue = p;
		return p;
	}

	init(gateways) {
		return this.enqueue('init', async () => {
			if (!fs.existsSync(`/run/netns/${this.vpc}`)) {
				await run(['netns', 'add', this.vpc]);
				this.createdNetns = true;
			}
			await run(['-n', this.vpc, 'link', 'set', 'lo', 'up']);
			await sysctl(this.vpc, ['net.ipv4.ip_forward=1',
				'net.ipv4.conf.all.rp_filter=0',
				'net.ipv4.conf.default.rp_filter=0']);
			for (const gw of gateways) {
				await run(['-n', this.vpc, 'addr', 'replace', `${gw}/32`,
					'dev', 'lo']);
				this.gateways.push(gw);
			}
		});
	}

	async freeEthName(ns, wantEth0) {
		const out = await run(['-n', ns, '-o', 'link', 'show']);
		const used = new Set(out.split('\n').map((l) =>
			(l.split(': ')[1] || '').split('@')[0]));
		if (wantEth0)
			return used.has('eth0') ? null : 'eth0';
		for (let i = 1; ; i++) {
			if (!used.has(`eth${i}`))
				return `eth${i}`;
		}
	}

	vpcLinkName(eniId) {
		return (this.prefix + eniId.replace(/^eni-/, '')).slice(0, 15);
	}

	// Plug an ENI into the instance's netns. primary: eth0, and when
	// configure is set also address + default route (what DHCP would do).
	attach(eni, ns, opts) {
		return this.enqueue(`attach ${eni.id}`, async () => {
			if (!fs.existsSync(`/run/netns/${ns}`))
				throw new Error(`netns ${ns} does not exist`);
			const name = await this.freeEthName(ns, opts.primary);
			if (!name) {
				this.log(`datapath: ${ns} already has eth0, not creating it`);
				return;
			}
			const vl = this.vpcLinkName(eni.id);
			await run(['-n', this.vpc, 'link', 'add', vl, 'type', 'veth',
				'peer', 'name', name, 'address', eni.mac, 'netns', ns]);
			await sysctl(this.vpc, [`net.ipv4.conf.${vl}.proxy_arp=1`,
				`net.ipv4.neigh.${vl}.proxy_delay=0`,
				`net.ipv4.conf.${vl}.rp_filter=0`]);
			await run(['-n', this.vpc, 'link', 'set', vl, 'up']);
			const rec = { vpcLink: vl, ns, nodeLink: name, mac: eni.mac,
				ips: new Set() };
			this.links.set(eni.id, rec);
			await this.applyIps(rec, opts.ips);
			if (opts.configure) {
				await run(['-n', ns, 'addr', 'add',
					`${opts.ips[0]}/${opts.prefixLen}`, 'dev', name]);
				await run(['-n', ns, 'link', 'set', name, 'up']);
				await run(['-n', ns, 'route', 'replace', 'default', 'via',
					opts.gateway, 'dev', name]);
			}
			eni.nodeLink = name;
		});
	}

	async applyIps(rec, ips) {
		const want = new Set(ips);
		for (const ip of rec.ips) {
			if (!want.has(ip)) {
				await run(['-n', this.vpc, 'route', 'del', `${ip}/32`,
					'dev', rec.vpcLink]).catch(() => {});
				await run(['-n', this.vpc, 'neigh', 'del', ip,
					'dev', rec.vpcLink]).catch(() => {});
				rec.ips.delete(ip);
			}
		}
		for (const ip of want) {
			if (!rec.ips.has(ip)) {
				await run(['-n', this.vpc, 'route', 'replace', `${ip}/32`,
					'dev', rec.vpcLink]);
				await run(['-n', this.vpc, 'neigh', 'replace', ip,
					'lladdr', rec.mac, 'dev', rec.vpcLink, 'nud',
					'permanent']);
				rec.ips.add(ip);
			}
		}
	}

	setIps(eniId, ips) {
		return this.enqueue(`ips ${eniId}`, async () => {
			const rec = this.links.get(eniId);
			if (rec)
				await this.applyIps(rec, ips);
		});
	}

	detach(eniId) {
		return this.enqueue(`detach ${eniId}`, async () => {
			const rec = this.links.get(eniId);
			if (!rec)
				return;
			this.links.delete(eniId);
			// Deleting the vpc end removes the pair, wherever the node end
			// went (renamed, moved into a pod netns).
			await run(['-n', this.vpc, 'link', 'del', rec.vpcLink])
				.catch(() => {});
		});
	}

	addRoute(cidr, via) {
		return this.enqueue(`route ${cidr}`, async () => {
			await run(['-n', this.vpc, 'route', 'replace', cidr, 'via', via]);
			this.routes.set(cidr, via);
		});
	}

	delRoute(cidr) {
		return this.enqueue(`unroute ${cidr}`, async () => {
			if (!this.routes.has(cidr))
				return;
			this.routes.delete(cidr);
			await run(['-n', this.vpc, 'route', 'del', cidr]).catch(() => {});
		});
	}

	state() {
		const links = {};
		for (const [id, r] of this.links)
			links[id] = { vpcLink: r.vpcLink, netns: r.ns,
				nodeLink: r.nodeLink, ips: [...r.ips] };
		return { vpcNetns: this.vpc, links,
			routes: Object.fromEntries(this.routes), errors: this.errors };
	}

	cleanup() {
		return this.enqueue('cleanup', async () => {
			for (const cidr of this.routes.keys())
				await run(['-n', this.vpc, 'route', 'del', cidr])
					.catch(() => {});
			for (const rec of this.links.values())
				await run(['-n', this.vpc, 'link', 'del', rec.vpcLink])
					.catch(() => {});
			for (const gw of this.gateways)
				await run(['-n', this.vpc, 'addr', 'del', `${gw}/32`,
					'dev', 'lo']).catch(() => {});
			if (this.createdNetns)
				await run(['netns', 'del', this.vpc]).catch(() => {});
		});
	}
}

module.exports = { Datapath };
