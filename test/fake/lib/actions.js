'use strict';
// Actions of the fake ECS (2014-05-26) and VPC (2016-04-28) APIs.
// Each is fn(cloud, params) -> reply (may return a Promise).

const cidr = require('./cidr');
const { randomId } = require('./common');
const { ApiError, E, req, list, tags, int, pageByToken, pageByNumber,
	nowIso } = require('./cloud');

const IN_FLIGHT = ['Attaching', 'InUse', 'Detaching'];

function securityGroups(c, p) {
	let sgs = list(p, 'SecurityGroupIds');
	if (p.SecurityGroupId)
		sgs = [p.SecurityGroupId].concat(sgs);
	if (sgs.length === 0)
		throw E.missing('SecurityGroupId');
	if (sgs.length > 10)
		throw E.invalid('SecurityGroupIds', 'at most 10');
	const known = c.cfg.securityGroups;
	for (const sg of sgs) {
		if (known.length && !known.includes(sg))
			throw new ApiError(404, 'InvalidSecurityGroupId.NotFound',
				`The specified SecurityGroupId "${sg}" is not found.`);
	}
	return sgs;
}

function CreateNetworkInterface(c, p) {
	const vsw = c.vswitches.get(req(p, 'VSwitchId'));
	if (!vsw)
		throw E.vswNotFound(p.VSwitchId);
	const sgs = securityGroups(c, p);
	const t = tags(p);
	const type = p.InstanceType || 'Secondary';
	if (!['Secondary', 'Trunk'].includes(type))
		throw E.invalid('InstanceType');
	const explicit = list(p, 'PrivateIpAddress');
	const count = int(p, 'SecondaryPrivateIpAddressCount', 0, 1000, 0);
	if (explicit.length && count)
		throw E.invalid('SecondaryPrivateIpAddressCount',
			'conflicts with PrivateIpAddress.N');
	if (1 + explicit.length + count > c.cfg.quotas.unattachedEniIps)
		throw E.ipv4Count();
	const mine = [...c.enis.values()].filter((e) => e.type !== 'Primary');
	if (mine.length >= c.cfg.quotas.enisPerRegion)
		throw new ApiError(403, 'MaxEniCountExceeded',
			'The number of ENI exceeds the limit per region.');
	// All or nothing: check room before claiming anything.
	const need = (p.PrimaryIpAddress ? 0 : 1) + count;
	c.needFree(vsw, need + explicit.length);
	const claimed = [];
	let primary = null;
	try {
		if (p.PrimaryIpAddress)
			primary = c.claimIp(vsw, p.PrimaryIpAddress);
		for (const ip of explicit)
			claimed.push(c.claimIp(vsw, ip));
		claimed.push(...c.allocIps(vsw, need));
	} catch (e) {
		for (const ip of claimed.concat(primary ? [primary] : []))
			c.releaseIp(vsw, ip);
		throw e;
	}
	if (!primary)
		primary = claimed.splice(explicit.length, 1)[0];
	const eni = c.newEni({ id: randomId('eni-', 20), type, vsw, ip: primary,
		sgs, tags: t, name: p.NetworkInterfaceName,
		description: p.Description });
	if (p.NetworkInterfaceTrafficMode)
		eni.trafficMode = p.NetworkInterfaceTrafficMode;
	eni.secondary = claimed.map((ip) => ({ ip, at: Date.now() }));
	return c.eniReply(eni, true);
}

function attachCount(c, instId) {
	return [...c.enis.values()].filter((e) => e.instanceId === instId &&
		IN_FLIGHT.includes(e.status)).length;
}

function AttachNetworkInterface(c, p) {
	const eni = c.getEni(req(p, 'NetworkInterfaceId'));
	const inst = c.instances.get(req(p, 'InstanceId'));
	if (!inst)
		throw E.ecsNotFound(p.InstanceId);
	if (eni.status !== 'Available')
		throw E.eniState('Available', eni.status);
	if (eni.zone !== inst.zone)
		throw new ApiError(403, 'InvalidOperation.AvailabilityZoneMismatch',
			'The VPC VSwitch of the specified ENI and ECS instance are not ' +
			'in the same availability zone.');
	const type = c.types[inst.type];
	if (attachCount(c, inst.id) >= type.EniQuantity)
		throw new ApiError(403, 'EniPerInstanceLimitExceeded',
			'The number of ENI exceeds the limit for the type of instance.');
	eni.status = 'Attaching';
	eni.instanceId = inst.id;
	const f = c.actionFault('AttachNetworkInterface');
	const ms = f.attachNeverCompletes ? null : c.cfg.timing.attachMs;
	c.schedule(eni, ms, async () => {
		if (c.hooks.attach)
			await c.hooks.attach(eni, inst);
		eni.status = 'InUse';
		eni.inUseAt = Date.now();
	});
	return {};
}

function DetachNetworkInterface(c, p) {
	const eni = c.getEni(req(p, 'NetworkInterfaceId'));
	const instId = req(p, 'InstanceId');
	if (!c.instances.has(instId))
		throw E.ecsNotFound(instId);
	if (eni.type === 'Primary')
		throw new ApiError(400, 'InvalidOperation.DetachPrimaryEniNotAllowed',
			'Detaching the primary ENI is not allowed.');
	if (eni.status !== 'InUse')
		throw E.eniState('InUse', eni.status);
	if (eni.instanceId !== instId)
		throw new ApiError(403, 'InvalidOperation.InvalidEcsState',
			`The specified ENI is not attached to instance "${instId}".`);
	eni.status = 'Detaching';
	c.schedule(eni, c.cfg.timing.detachMs, async () => {
		if (c.hooks.detach)
			await c.hooks.detach(eni);
		eni.status = 'Available';
		eni.instanceId = '';
		eni.inUseAt = 0;
	});
	return {};
}

function DeleteNetworkInterface(c, p) {
	const eni = c.getEni(req(p, 'NetworkInterfaceId'));
	if (eni.type === 'Primary' || eni.status !== 'Available')
		throw E.eniState('Available', eni.status);
	const vsw = c.vswitches.get(eni.vswitch);
	for (const ip of c.eniIps(eni))
		c.releaseIp(vsw, ip);
	c.macs.delete(eni.mac);
	c.enis.delete(eni.id);
	return {};
}

function checkUsable(eni) {
	if (eni.status !== 'Available' && eni.status !== 'InUse')
		throw E.eniState('Available/InUse', eni.status);
}

async function AssignPrivateIpAddresses(c, p) {
	const eni = c.getEni(req(p, 'NetworkInterfaceId'));
	checkUsable(eni);
	const explicit = list(p, 'PrivateIpAddress');
	const count = int(p, 'SecondaryPrivateIpAddressCount', 1, 1000, 0);
	if (!explicit.length && !count)
		throw E.missing('SecondaryPrivateIpAddressCount');
	if (explicit.length && count)
		throw E.invalid('SecondaryPrivateIpAddressCount',
			'conflicts with PrivateIpAddress.N');
	const n = explicit.length || count;
	if (1 + eni.secondary.length + n > c.ipQuota(eni))
		throw E.ipv4Count();
	const vsw = c.vswitches.get(eni.vswitch);
	let got = [];
	if (explicit.length) {
		try {
			for (const ip of explicit)
				got.push(c.claimIp(vsw, ip));
		} catch (e) {
			got.forEach((ip) => c.releaseIp(vsw, ip));
			throw e;
		}
	} else {
		got = c.allocIps(vsw, n);
	}
	const at = Date.now();
	eni.secondary.push(...got.map((ip) => ({ ip, at })));
	if (eni.status === 'InUse' && c.hooks.ips)
		await c.hooks.ips(eni);
	return { AssignedPrivateIpAddressesSet: { NetworkInterfaceId: eni.id,
		PrivateIpSet: { PrivateIpAddress: got },
		Ipv4PrefixSet: { Ipv4Prefixes: [] } } };
}

async function UnassignPrivateIpAddresses(c, p) {
	const eni = c.getEni(req(p, 'NetworkInterfaceId'));
	checkUsable(eni);
	const ips = list(p, 'PrivateIpAddress');
	if (!ips.length)
		throw E.missing('PrivateIpAddress.1');
	for (const ip of ips) {
		if (!eni.secondary.some((s) => s.ip === ip))
			throw new ApiError(403, 'InvalidIp.IpUnassigned',
				`The specified IP "${ip}" is not assigned on this ENI.`);
	}
	const vsw = c.vswitches.get(eni.vswitch);
	eni.secondary = eni.secondary.filter((s) => !ips.includes(s.ip));
	ips.forEach((ip) => c.releaseIp(vsw, ip));
	if (eni.status === 'InUse' && c.hooks.ips)
		await c.hooks.ips(eni);
	return {};
}

function eniFilter(c, p) {
	const ids = list(p, 'NetworkInterfaceId');
	if (ids.length > 100)
		throw E.invalid('NetworkInterfaceId', 'at most 100');
	const privs = list(p, 'PrivateIpAddress');
	const want = tags(p);
	for (const t of want) {
		if (!t.Key)
			throw E.invalid('Tag.N.Key', 'empty');
	}
	return (e) => (!ids.length || ids.includes(e.id)) &&
		(!p.InstanceId || e.instanceId === p.InstanceId) &&
		(!p.Status || e.status === p.Status) &&
		(!p.Type || e.type === p.Type) &&
		(!p.VpcId || p.VpcId === c.cfg.vpc.id) &&
		(!p.VSwitchId || e.vswitch === p.VSwitchId) &&
		(!p.SecurityGroupId || e.sgs.includes(p.SecurityGroupId)) &&
		(!p.PrimaryIpAddress || e.primaryIp === p.PrimaryIpAddress) &&
		(!p.NetworkInterfaceName || e.name === p.NetworkInterfaceName) &&
		(!privs.length || privs.some((ip) => c.eniIps(e).includes(ip))) &&
		want.every((t) => e.tags.some((x) => x.Key === t.Key &&
			(!t.Value || x.Value === t.Value)));
}

function DescribeNetworkInterfaces(c, p) {
	const all = [...c.enis.values()].filter(eniFilter(c, p));
	if (p.NextToken !== undefined || p.MaxResults !== undefined) {
		const { page, next } = pageByToken(all, p, 'MaxResults', 1, 500, 10);
		return { NextToken: next, TotalCount: all.length,
			NetworkInterfaceSets: { NetworkInterfaceSet:
				page.map((e) => c.eniReply(e)) } };
	}
	const { num, size, page } = pageByNumber(all, p, 1000, 10);
	return { TotalCount: all.length, PageNumber: num, PageSize: size,
		NetworkInterfaceSets: { NetworkInterfaceSet:
			page.map((e) => c.eniReply(e)) } };
}

function DescribeInstanceTypes(c, p) {
	const want = list(p, 'InstanceTypes');
	const all = Object.keys(c.types).sort().filter((id) =>
		(!want.length || want.includes(id)) && (!p.InstanceTypeFamily ||
		id.startsWith(p.InstanceTypeFamily + '.')))
		.map((id) => Object.assign({ InstanceTypeId: id,
			InstanceTypeFamily: id.split('.').slice(0, 2).join('.') },
		c.types[id]));
	const { page, next } = pageByToken(all, p, 'MaxResults', 1, 1600, 1600);
	return { NextToken: next, InstanceTypes: { InstanceType: page } };
}

function DescribeInstances(c, p) {
	let ids = [];
	if (p.InstanceIds) {
		try {
			ids = JSON.parse(p.InstanceIds);
		} catch (e) {
			throw E.invalid('InstanceIds', 'not a JSON array');
		}
	}
	const all = [...c.instances.values()].filter((i) =>
		(!ids.length || ids.includes(i.id)));
	const { num, size, page } = pageByNumber(all, p, 100, 10);
	return { TotalCount: all.length, PageNumber: num, PageSize: size,
		Instances: { Instance: page.map((i) => {
			const eni = c.enis.get(i.primaryEni);
			return { InstanceId: i.id, InstanceType: i.type,
				ZoneId: i.zone, RegionId: c.cfg.region, Status: 'Running',
				HostName: i.hostname, InstanceNetworkType: 'vpc',
				VpcAttributes: { VpcId: c.cfg.vpc.id,
					VSwitchId: i.vswitch, PrivateIpAddress:
					{ IpAddress: [eni.primaryIp] } },
				NetworkInterfaces: { NetworkInterface: [...c.enis.values()]
					.filter((e) => e.instanceId === i.id &&
						e.status === 'InUse').map((e) => ({
						NetworkInterfaceId: e.id, MacAddress: e.mac,
						PrimaryIpAddress: e.primaryIp, Type: e.type })) } };
		}) } };
}

function DescribeVSwitches(c, p) {
	const all = [...c.vswitches.values()].filter((v) =>
		(!p.VSwitchId || p.VSwitchId.split(',').includes(v.id)) &&
		(!p.VpcId || p.VpcId === c.cfg.vpc.id) &&
		(!p.ZoneId || v.zone === p.ZoneId));
	const { num, size, page } = pageByNumber(all, p, 50, 10);
	return { TotalCount: all.length, PageNumber: num, PageSize: size,
		VSwitches: { VSwitch: page.map((v) => ({
			VSwitchId: v.id, VpcId: c.cfg.vpc.id, Status: 'Available',
			CidrBlock: v.net.text, ZoneId: v.zone,
			AvailableIpAddressCount: c.vswFree(v), Description: '',
			VSwitchName: v.name, CreationTime: v.created, IsDefault: false,
			ResourceGroupId: '', OwnerId: c.cfg.ownerId,
			RouteTable: { RouteTableId: c.routeTable.id,
				RouteTableType: 'System' } })) } };
}

// ---- route table -----------------------------------------------------------

function routeTable(c, id) {
	if (id !== c.routeTable.id)
		throw new ApiError(404, 'InvalidRouteTableId.NotFound',
			`The specified route table "${id}" is not found.`);
	return c.routeTable;
}

function nextHopIp(c, type, id) {
	if (type === 'Instance') {
		const inst = c.instances.get(id);
		if (!inst)
			throw new ApiError(404, 'InvalidInstanceId.NotFound',
				`The specified instance "${id}" is not found.`);
		return c.enis.get(inst.primaryEni).primaryIp;
	}
	if (type === 'NetworkInterface')
		return c.getEni(id).primaryIp;
	throw E.invalid('NextHopType', 'only Instance and NetworkInterface');
}

function busy(rt) {
	if ([...rt.entries.values()].some((e) => e.status !== 'Available'))
		throw new ApiError(400, 'TaskConflict',
			'The operation conflicts with another task in progress on ' +
			'the route table; try again later.');
}

function CreateRouteEntry(c, p) {
	const rt = routeTable(c, req(p, 'RouteTableId'));
	const dst = cidr.parse(req(p, 'DestinationCidrBlock'));
	if (!dst)
		throw E.invalid('DestinationCidrBlock');
	const type = p.NextHopType || 'Instance';
	const via = nextHopIp(c, type, req(p, 'NextHopId'));
	if (rt.entries.has(dst.text))
		throw new ApiError(400, 'RouterEntryConflict.Duplicated',
			'Specified CIDR block is already exists.');
	if (cidr.overlaps(dst, cidr.parse('100.64.0.0/10')))
		throw E.invalid('DestinationCidrBlock', 'within 100.64.0.0/10');
	for (const v of c.vswitches.values()) {
		if (v.net.first <= dst.first && dst.last <= v.net.last)
			throw new ApiError(400, 'InvalidCIDRBlock.Duplicate',
				'The destination CIDR block is the same as or within a ' +
				'vSwitch CIDR block.');
	}
	if (c.cfg.strictRouteConcurrency)
		busy(rt);
	const custom = [...rt.entries.values()].filter((e) =>
		e.type === 'Custom').length;
	if (custom >= c.cfg.quotas.routeEntriesPerTable)
		throw new ApiError(400, 'QuotaExceeded.RouteEntry',
			'The number of route entries exceeds the quota.');
	const e = { id: randomId('rte-', 20), cidr: dst.text, type: 'Custom',
		status: 'Pending', nextHopType: type, nextHopId: p.NextHopId,
		name: p.RouteEntryName || '', description: p.Description || '',
		created: nowIso(), via };
	rt.entries.set(dst.text, e);
	e.pending = async () => {
		if (c.hooks.addRoute)
			await c.hooks.addRoute(e.cidr, via);
		e.status = 'Available';
	};
	e.timer = setTimeout(() => {
		const fn = e.pending;
		e.pending = null;
		if (fn)
			fn();
	}, c.cfg.timing.routeMs);
	return { RouteEntryId: e.id };
}

function findEntry(c, p) {
	if (p.RouteEntryId) {
		for (const e of c.routeTable.entries.values()) {
			if (e.id === p.RouteEntryId)
				return e;
		}
	} else {
		const rt = routeTable(c, req(p, 'RouteTableId'));
		const dst = cidr.parse(req(p, 'DestinationCidrBlock'));
		if (!dst)
			throw E.invalid('DestinationCidrBlock');
		const e = rt.entries.get(dst.text);
		if (e && (!p.NextHopId || p.NextHopId === e.nextHopId))
			return e;
	}
	throw new ApiError(404, 'InvalidRouteEntry.NotFound',
		'The specified route entry is not found.');
}

function DeleteRouteEntry(c, p) {
	const e = findEntry(c, p);
	if (e.type !== 'Custom')
		throw new ApiError(403, 'OperationDenied.SystemRouteEntry',
			'System route entries cannot be deleted.');
	if (e.status !== 'Available')
		throw new ApiError(400, 'IncorrectRouteEntryStatus',
			`The route entry is in status ${e.status}.`);
	if (c.cfg.strictRouteConcurrency)
		busy(c.routeTable);
	e.status = 'Deleting';
	e.pending = async () => {
		if (c.hooks.delRoute)
			await c.hooks.delRoute(e.cidr);
		c.routeTable.entries.delete(e.cidr);
	};
	e.timer = setTimeout(() => {
		const fn = e.pending;
		e.pending = null;
		if (fn)
			fn();
	}, c.cfg.timing.routeMs);
	return {};
}

function entryReply(c, e, list) {
	const hop = e.nextHopType === 'Instance' ||
		e.nextHopType === 'NetworkInterface';
	const base = { RouteTableId: c.routeTable.id, RouteEntryId: e.id,
		DestinationCidrBlock: e.cidr, Type: e.type, Status: e.status,
		NextHopType: e.nextHopType, RouteEntryName: e.name,
		Description: e.description, IpVersion: 'ipv4' };
	if (list)
		return Object.assign(base, { NextHops: { NextHop: hop ? [{
			NextHopType: e.nextHopType, NextHopId: e.nextHopId,
			Enabled: 1, Weight: 0 }] : [] } });
	return Object.assign(base, { InstanceId: e.nextHopId,
		NextHops: { NextHop: [] } });
}

function DescribeRouteTables(c, p) {
	const rt = c.routeTable;
	const match = (!p.RouteTableId || p.RouteTableId === rt.id) &&
		(!p.VRouterId || p.VRouterId === rt.vRouterId);
	const all = match ? [rt] : [];
	const { num, size, page } = pageByNumber(all, p, 50, 10);
	return { TotalCount: all.length, PageNumber: num, PageSize: size,
		RouteTables: { RouteTable: page.map((t) => ({
			RouteTableId: t.id, VRouterId: t.vRouterId,
			RouteTableType: 'System', CreationTime: t.created,
			ResourceGroupId: '',
			RouteEntrys: { RouteEntry: [...t.entries.values()].map((e) =>
				entryReply(c, e, false)) } })) } };
}

function DescribeRouteEntryList(c, p) {
	const rt = routeTable(c, req(p, 'RouteTableId'));
	const all = [...rt.entries.values()].filter((e) =>
		(!p.RouteEntryId || e.id === p.RouteEntryId) &&
		(!p.DestinationCidrBlock || e.cidr === p.DestinationCidrBlock) &&
		(!p.RouteEntryType || e.type === p.RouteEntryType) &&
		(!p.NextHopId || e.nextHopId === p.NextHopId) &&
		(!p.NextHopType || e.nextHopType === p.NextHopType));
	const { page, next } = pageByToken(all, p, 'MaxResult', 1, 100, 50);
	return { NextToken: next, RouteEntrys: { RouteEntry:
		page.map((e) => entryReply(c, e, true)) } };
}

// product -> action -> fn
const ROUTES = { CreateRouteEntry, DeleteRouteEntry, DescribeRouteTables };
const ACTIONS = {
	ecs: Object.assign({
		CreateNetworkInterface, AttachNetworkInterface,
		DetachNetworkInterface, DeleteNetworkInterface,
		AssignPrivateIpAddresses, UnassignPrivateIpAddresses,
		DescribeNetworkInterfaces, DescribeInstanceTypes, DescribeInstances,
	}, ROUTES),
	vpc: Object.assign({ DescribeVSwitches, DescribeRouteEntryList }, ROUTES),
};

const IDEMPOTENT = new Set(['CreateNetworkInterface',
	'AssignPrivateIpAddresses', 'CreateRouteEntry']);

module.exports = { ACTIONS, IDEMPOTENT };
