'use strict';
// TEST-ONLY stand-in for eni-agent's CNI socket (not product code): speaks
// the eni-agent <-> cni-terway protocol v1 (lib/eniproto.h) and answers
// from a JSON file, so cni-terway can be tested without the real daemon.
//
//   node test/fake/fake_agent.js SOCKET ANSWERS.json REQUESTS.log
//
// ANSWERS.json is re-read for every request, so a test can change it:
//   {"pods": {"<namespace>/<name>": ANSWER, ...},
//    "default": ANSWER,                       (pods not listed)
//    "info": {"version": "fake", "mode": "eniip", "pool": {...}},
//    "release": ANSWER}                        (default {"ok": true})
// ANSWER is one of
//   {"mode": "eniip", "ip": ..., ...}   an alloc answer (v and ok added)
//   {"error": {"code": 11, "msg": "..."}}  an error answer
//   {"raw": "text"}                     sent as it is (bad messages)
//   {"hang": true}                      read the request, never answer
// Every request is appended to REQUESTS.log as one JSON line (the text
// received, or {"bad": "..."} when it was not JSON). The socket is made
// 0600; SIGTERM removes it.

const fs = require('fs');
const net = require('net');

const [sockPath, answersPath, logPath] = process.argv.slice(2);
if (!sockPath || !answersPath || !logPath) {
	console.error('usage: fake_agent.js SOCKET ANSWERS.json REQUESTS.log');
	process.exit(2);
}

function answers() {
	try {
		return JSON.parse(fs.readFileSync(answersPath, 'utf8'));
	} catch (e) {
		return {};
	}
}

function reply(sock, obj) {
	if (obj.hang)
		return;		// the client's deadline is what is tested
	if (obj.raw !== undefined) {
		sock.end(obj.raw);
		return;
	}
	if (obj.error) {
		sock.end(JSON.stringify({ v: 1, ok: false, code: obj.error.code,
			msg: obj.error.msg }) + '\n');
		return;
	}
	sock.end(JSON.stringify(Object.assign({ v: 1, ok: true }, obj)) + '\n');
}

function handle(sock, line) {
	let req;
	try {
		req = JSON.parse(line);
	} catch (e) {
		fs.appendFileSync(logPath, JSON.stringify({ bad: line }) + '\n');
		reply(sock, { error: { code: 100, msg: 'not JSON' } });
		return;
	}
	fs.appendFileSync(logPath, JSON.stringify(req) + '\n');
	const a = answers();
	if (req.v !== 1) {
		reply(sock, { error: { code: 100,
			msg: 'unsupported protocol version' } });
		return;
	}
	switch (req.op) {
	case 'alloc': {
		const key = `${req.namespace}/${req.name}`;
		const ans = (a.pods || {})[key] || a.default;
		reply(sock, ans || { error: { code: 3,
			msg: `unknown pod ${key}` } });
		break;
	}
	case 'release':
		reply(sock, a.release || {});
		break;
	case 'info':
		reply(sock, a.info || { version: 'fake', mode: 'eniip',
			pool: { idle: 0, inuse: 0, enis: 0, min: 0, max: 0 } });
		break;
	default:
		reply(sock, { error: { code: 100, msg: `unknown op ${req.op}` } });
	}
}

const server = net.createServer((sock) => {
	let buf = '';
	sock.setEncoding('utf8');
	sock.on('data', (d) => {
		buf += d;
		const i = buf.indexOf('\n');
		if (i >= 0) {
			sock.removeAllListeners('data');
			handle(sock, buf.slice(0, i));
		} else if (buf.length > 65536) {
			sock.destroy();
		}
	});
	sock.on('error', () => {});
});

try {
	fs.unlinkSync(sockPath);
} catch (e) { /* not there */ }
const old = process.umask(0o177);
server.listen(sockPath, () => {
	process.umask(old);
	fs.chmodSync(sockPath, 0o600);
});

function stop() {
	try {
		fs.unlinkSync(sockPath);
	} catch (e) { /* gone */ }
	process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
