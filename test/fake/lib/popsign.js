'use strict';
// Alibaba Cloud RPC signature version 1.0 (HMAC-SHA1), as the gateway checks it.
//
//  1. Take every request parameter except Signature (query for GET, query and
//     form body for POST), decoded.
//  2. Sort by parameter name (code-unit order; all real names are ASCII).
//  3. percentEncode name and value: UTF-8 bytes, A-Z a-z 0-9 - _ . ~ kept,
//     everything else %XX with upper-case hex (so space -> %20, * -> %2A,
//     ~ stays ~, / -> %2F, + -> %2B).
//  4. canonicalized = name=value pairs joined by '&'.
//  5. StringToSign = METHOD + '&' + percentEncode('/') + '&' +
//     percentEncode(canonicalized).
//  6. Signature = base64(HMAC-SHA1(key = AccessKeySecret + '&', StringToSign)).

const crypto = require('crypto');

function isUnreserved(b) {
	return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ||
		(b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x5f ||
		b === 0x2e || b === 0x7e;
}

function percentEncode(s) {
	const buf = Buffer.from(String(s), 'utf8');
	let out = '';
	for (const b of buf) {
		if (isUnreserved(b))
			out += String.fromCharCode(b);
		else
			out += '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
	}
	return out;
}

// params: plain object name -> string (Signature excluded by the caller or here)
function canonicalize(params) {
	return Object.keys(params).filter((k) => k !== 'Signature').sort()
		.map((k) => percentEncode(k) + '=' + percentEncode(params[k]))
		.join('&');
}

function stringToSign(method, params) {
	return method.toUpperCase() + '&' + percentEncode('/') + '&' +
		percentEncode(canonicalize(params));
}

function sign(secret, sts) {
	return crypto.createHmac('sha1', secret + '&').update(sts, 'utf8')
		.digest('base64');
}

module.exports = { percentEncode, canonicalize, stringToSign, sign };
