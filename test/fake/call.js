#!/usr/bin/env node
'use strict';
// Minimal signed OpenAPI call for shell tests, no npm packages needed.
// usage: node call.js ecs|vpc ACTION [Key=Value...]
// Uses FAKE_ALIYUN_URL, FAKE_CA, FAKE_ALIYUN_REGION and the
// ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET (/ _SECURITY_TOKEN) variables.
// Prints the JSON reply; exit 0 on HTTP 200, 1 otherwise.

const https = require('https');
const fs = require('fs');
const crypto = require('crypto');
const popsign = require('./lib/popsign');

const env = process.env;
const VERSION = { ecs: '2014-05-26', vpc: '2016-04-28' };
const [product, action, ...kv] = process.argv.slice(2);
if (!VERSION[product] || !action) {
	process.stderr.write('usage: call.js ecs|vpc ACTION [Key=Value...]\n');
	process.exit(2);
}
const p = { Action: action, Format: 'JSON', Version: VERSION[product],
	AccessKeyId: env.ALIBABA_CLOUD_ACCESS_KEY_ID, SignatureMethod: 'HMAC-SHA1',
	SignatureVersion: '1.0', SignatureNonce: crypto.randomUUID(),
	Timestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
	RegionId: env.FAKE_ALIYUN_REGION };
if (env.ALIBABA_CLOUD_SECURITY_TOKEN)
	p.SecurityToken = env.ALIBABA_CLOUD_SECURITY_TOKEN;
for (const a of kv) {
	const i = a.indexOf('=');
	p[a.slice(0, i)] = a.slice(i + 1);
}
p.Signature = popsign.sign(env.ALIBABA_CLOUD_ACCESS_KEY_SECRET,
	popsign.stringToSign('GET', p));
const qs = Object.keys(p).map((k) => popsign.percentEncode(k) + '=' +
	popsign.percentEncode(p[k])).join('&');
https.get(`${env.FAKE_ALIYUN_URL}/?${qs}`, { ca: fs.readFileSync(env.FAKE_CA) },
	(res) => {
		let b = '';
		res.on('data', (d) => (b += d));
		res.on('end', () => {
			process.stdout.write(b + '\n');
			process.exit(res.statusCode === 200 ? 0 : 1);
		});
	}).on('error', (e) => {
	process.stderr.write(`call.js: ${e.message}\n`);
	process.exit(1);
});
