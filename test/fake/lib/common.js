'use strict';
// Small helpers shared by the fakes. Node built-ins only.

const fs = require('fs');
const crypto = require('crypto');

// parseArgs(["--config", "f", "--x"]) -> {config: "f", x: true}
function parseArgs(argv) {
	const out = {};
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		if (!a.startsWith('--'))
			throw new Error(`unexpected argument ${a}`);
		const eq = a.indexOf('=');
		if (eq > 0) {
			out[a.slice(2, eq)] = a.slice(eq + 1);
		} else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) {
			out[a.slice(2)] = argv[++i];
		} else {
			out[a.slice(2)] = true;
		}
	}
	return out;
}

function log(name, ...msg) {
	const ts = new Date().toISOString();
	process.stderr.write(`${ts} ${name} ${msg.join(' ')}\n`);
}

// Read a request body up to limit bytes; rejects with .status = 413.
function readBody(req, limit) {
	return new Promise((resolve, reject) => {
		const chunks = [];
		let size = 0;
		let done = false;
		req.on('data', (c) => {
			if (done)
				return;
			size += c.length;
			if (size > limit) {
				done = true;
				const e = new Error('request body too large');
				e.status = 413;
				reject(e);
				return;
			}
			chunks.push(c);
		});
		req.on('end', () => {
			if (!done) {
				done = true;
				resolve(Buffer.concat(chunks));
			}
		});
		req.on('error', (e) => {
			if (!done) {
				done = true;
				reject(e);
			}
		});
	});
}

function sendJSON(res, status, obj, headers) {
	if (res.headersSent || res.destroyed)
		return;
	const body = JSON.stringify(obj);
	res.writeHead(status, Object.assign({
		'Content-Type': 'application/json',
		'Content-Length': Buffer.byteLength(body),
	}, headers || {}));
	res.end(body);
}

function sendText(res, status, text, headers) {
	if (res.headersSent || res.destroyed)
		return;
	res.writeHead(status, Object.assign({
		'Content-Type': 'text/plain',
		'Content-Length': Buffer.byteLength(text),
	}, headers || {}));
	res.end(text);
}

// Deterministic PRNG (mulberry32) so fault injection can be reproduced.
function prng(seed) {
	let a = (seed >>> 0) || 0x9e3779b9;
	return function () {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

function randomId(prefix, n) {
	const abc = 'abcdefghijklmnopqrstuvwxyz0123456789';
	const b = crypto.randomBytes(n);
	let s = prefix;
	for (let i = 0; i < n; i++)
		s += abc[b[i] % abc.length];
	return s;
}

function isObject(v) {
	return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// Deep merge b into a (objects only; arrays and scalars replace).
function merge(a, b) {
	if (!isObject(b))
		return a;
	for (const k of Object.keys(b)) {
		if (isObject(b[k]) && isObject(a[k]))
			merge(a[k], b[k]);
		else
			a[k] = b[k];
	}
	return a;
}

// Write text atomically (tmp + rename) so readers never see half a file.
function writeAtomic(path, text) {
	const tmp = `${path}.tmp${process.pid}`;
	fs.writeFileSync(tmp, text);
	fs.renameSync(tmp, path);
}

// Tell start.sh we are ready: one line into the fifo/file given by --ready.
function signalReady(path, line) {
	if (!path)
		return;
	try {
		fs.writeFileSync(path, line + '\n');
	} catch (e) {
		log('ready', `cannot write ${path}: ${e.message}`);
	}
}

function listen(server, port, host) {
	return new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(port || 0, host, () => {
			server.removeListener('error', reject);
			resolve(server.address().port);
		});
	});
}

// Never die on a bad request: log what escaped and keep serving.
function keepAlive(name) {
	process.on('uncaughtException', (e) => {
		log(name, 'uncaught:', e && e.stack ? e.stack : String(e));
	});
	process.on('unhandledRejection', (e) => {
		log(name, 'unhandled:', e && e.stack ? e.stack : String(e));
	});
}

module.exports = {
	parseArgs, log, readBody, sendJSON, sendText, prng, randomId,
	isObject, merge, writeAtomic, signalReady, listen, keepAlive,
};
