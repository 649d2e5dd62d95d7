'use strict';
// IPv4 helpers for the fake VPC.

function ip2int(s) {
	const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(String(s));
	if (!m)
		return null;
	let v = 0;
	for (let i = 1; i <= 4; i++) {
		const o = Number(m[i]);
		if (o > 255)
			return null;
		v = v * 256 + o;
	}
	return v;
}

function int2ip(v) {
	return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

// parse("10.0.0.0/24") -> {base, bits, size, first, last}; bare IP -> /32
function parse(s) {
	const parts = String(s).split('/');
	if (parts.length > 2)
		return null;
	const ip = ip2int(parts[0]);
	const bits = parts.length === 2 ? Number(parts[1]) : 32;
	if (ip === null || !Number.isInteger(bits) || bits < 0 || bits > 32 ||
	    (parts.length === 2 && !/^\d+$/.test(parts[1])))
		return null;
	const size = 2 ** (32 - bits);
	const base = ip - (ip % size);
	return { base, bits, size, first: base, last: base + size - 1,
		text: `${int2ip(base)}/${bits}` };
}

function contains(net, ip) {
	const v = typeof ip === 'number' ? ip : ip2int(ip);
	return v !== null && v >= net.first && v <= net.last;
}

function overlaps(a, b) {
	return a.first <= b.last && b.first <= a.last;
}

function netmask(bits) {
	return int2ip(bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);
}

module.exports = { ip2int, int2ip, parse, contains, overlaps, netmask };
