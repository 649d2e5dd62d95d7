#!/bin/bash
# eni-agent api / metadata: our C OpenAPI and metadata clients against the
# fake Alibaba Cloud (test/fake/aliyun.js) over TLS with the test CA:
# ECS and VPC actions, parameter values sent byte for byte, signature and
# STS failures, retries proven with the fake's call counters, wrong CA,
# IMDSv2; the printer compared with Go's encoder (what the aliyun CLI uses).
. "$(dirname "$0")/lib.sh"
FAKE=$TOP/test/fake

# js EXPR: evaluate EXPR on the JSON read from stdin (o = the object)
js() {
	node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>{
		const o=JSON.parse(s);const v=eval(process.argv[1]);
		console.log(typeof v==="object"?JSON.stringify(v):v)})' "$1"
}

cat >"$T/cloud.json" <<EOF
{
 "vswitches": [{"id": "vsw-a", "cidr": "192.168.10.0/24",
  "zone": "cn-hangzhou-h"}],
 "instances": [{"id": "i-node1", "type": "ecs.g6.large", "vswitch": "vsw-a",
  "ramRole": "KubernetesWorkerRole"}],
 "timing": {"attachMs": 100, "detachMs": 100, "routeMs": 50}
}
EOF

# Started here, not inside `testing`, so the cleanup reaches the exit trap.
if command -v node >/dev/null &&
	"$FAKE/start.sh" aliyun "$T/cloud" "$T/cloud.json" >"$T/cloud.out" 2>&1
then
	on_exit "'$FAKE/start.sh' stop '$T/cloud'"
	. "$T/cloud/aliyun.env"
	KEY_ID=$ALIBABA_CLOUD_ACCESS_KEY_ID
	KEY_SECRET=$ALIBABA_CLOUD_ACCESS_KEY_SECRET
	unset ALIBABA_CLOUD_ACCESS_KEY_ID ALIBABA_CLOUD_ACCESS_KEY_SECRET
fi
unset ALIBABA_CLOUD_SECURITY_TOKEN ALIBABA_CLOUD_REGION_ID

need_cloud() {
	command -v node >/dev/null || { skip "node is not installed"; return; }
	[ -n "${FAKE_ALIYUN_URL:-}" ] || { cat "$T/cloud.out"; return 1; }
}

# api ARGS...: eni-agent api against the fake with its AccessKey;
# stdout to $T/out, stderr to $T/err, returns the exit status.
api() {
	ALIBABA_CLOUD_ACCESS_KEY_ID=${ID:-$KEY_ID} \
	ALIBABA_CLOUD_ACCESS_KEY_SECRET=${SECRET:-$KEY_SECRET} \
	"$VPCNET" eni-agent api --ca-file "$FAKE_CA" \
		--endpoint "$FAKE_ALIYUN_URL" --region "$FAKE_ALIYUN_REGION" \
		"$@" >"$T/out" 2>"$T/err"
}

ok() {	# ok ARGS...: api must succeed
	api "$@" || fail "api $*: exit $?: $(cat "$T/err")"
}

ctl() {	# ctl METHOD PATH [JSON]: the fake's control endpoint
	curl -sf -X "$1" ${3:+-d "$3"} "$FAKE_ALIYUN_CONTROL$2"
}

calls() {	# calls ACTION: how many calls of ACTION reached the fake
	ctl GET /counters | js "(o.actions['$1'] || {calls: 0}).calls"
}

expect_code() {	# expect_code STATUS CODE: last api call failed like that
	local rc=$1
	[ "$rc" = 1 ] || fail "exit $rc, want 1: $(cat "$T/err")" || return 1
	grep -qx "Code: $2" "$T/err" || fail "want Code $2: $(cat "$T/err")" ||
		return 1
	grep -q '^RequestId: [0-9A-F-]\{36\}$' "$T/err" ||
		fail "no RequestId: $(cat "$T/err")" || return 1
	grep -q '^Message: .' "$T/err" || fail "no Message: $(cat "$T/err")" ||
		return 1
	[ ! -s "$T/out" ] || fail "stdout not empty: $(cat "$T/out")"
}

no_secret() {	# no_secret S...: none of S in the last output
	local s
	for s in "$@"; do
		! grep -qF -- "$s" "$T/out" "$T/err" ||
			fail "a secret was printed: $(cat "$T/err")" || return 1
	done
}

describe_types() {
	need_cloud || return
	ok ecs DescribeInstanceTypes InstanceTypes.1=ecs.g6.large || return 1
	expect_eq EniQuantity "$(js 'o.InstanceTypes.InstanceType[0].EniQuantity' \
		<"$T/out")" 3 &&
	expect_eq "IPs per ENI" "$(js \
		'o.InstanceTypes.InstanceType[0].EniPrivateIpAddressQuantity' \
		<"$T/out")" 6 &&
	expect_eq "first line" "$(head -n 1 "$T/out")" "{" &&
	grep -q $'^\t"InstanceTypes": {$' "$T/out" ||
		fail "not printed as the aliyun CLI does: $(cat "$T/out")"
}

TAG1='vpcnet test *~/+ a=b&c%d'
TAG2='网卡 ü/~*+'
DESC='two  spaces, star*, tilde~, slash/, plus+, "quote" \back'

create_tagged() {
	need_cloud || return
	ok ecs CreateNetworkInterface VSwitchId=vsw-a \
		SecurityGroupId=sg-fake0000000000000001 \
		SecondaryPrivateIpAddressCount=2 \
		"Tag.1.Key=creator" "Tag.1.Value=$TAG1" \
		"Tag.2.Key=k 2" "Tag.2.Value=$TAG2" "Description=$DESC" \
		"ClientToken=ct-$P-*~/+" || return 1
	ENI=$(js o.NetworkInterfaceId <"$T/out")
	expect_eq Description "$(js o.Description <"$T/out")" "$DESC" &&
	expect_eq "IPs" "$(js 'o.PrivateIpSets.PrivateIpSet.length' \
		<"$T/out")" 3 &&
	expect_eq "fake's copy of Tag.1.Value" "$(ctl GET /state | js \
		"o.enis.find((e) => e.NetworkInterfaceId === '$ENI').Tags.Tag
		.map((t) => t.TagValue ?? t.Value).join('|')")" "$TAG1|$TAG2"
}

describe_filters() {
	need_cloud || return
	[ -n "${ENI:-}" ] || { skip "no ENI was created"; return; }
	ok ecs DescribeNetworkInterfaces "Tag.1.Key=creator" \
		"Tag.1.Value=$TAG1" Status=Available || return 1
	expect_eq "by tag" "$(js 'o.NetworkInterfaceSets.NetworkInterfaceSet.map(
		(e) => e.NetworkInterfaceId).join()' <"$T/out")" "$ENI" || return 1
	expect_eq "tag values" "$(js 'o.NetworkInterfaceSets.NetworkInterfaceSet[0]
		.Tags.Tag.map((t) => t.TagKey + "=" + t.TagValue).join("|")' \
		<"$T/out")" "creator=$TAG1|k 2=$TAG2" || return 1
	ok ecs DescribeNetworkInterfaces "Tag.1.Key=k 2" "Tag.1.Value=$TAG2" ||
		return 1
	expect_eq "by UTF-8 tag" "$(js 'o.TotalCount' <"$T/out")" 1 || return 1
	ok ecs DescribeNetworkInterfaces InstanceId=i-node1 Type=Primary ||
		return 1
	expect_eq "primary" "$(js 'o.NetworkInterfaceSets.NetworkInterfaceSet[0]
		.Type' <"$T/out")" Primary || return 1
	ok ecs DescribeNetworkInterfaces MaxResults=1 || return 1
	local next
	next=$(js o.NextToken <"$T/out")
	[ -n "$next" ] || fail "no NextToken with MaxResults=1" || return 1
	ok ecs DescribeNetworkInterfaces MaxResults=1 "NextToken=$next" ||
		return 1
	expect_eq "page 2" "$(js 'o.NetworkInterfaceSets.NetworkInterfaceSet
		.length' <"$T/out")" 1
}

post_method() {	# a form body: '+' must arrive as '+', not as a space
	need_cloud || return
	ok --method POST ecs CreateNetworkInterface VSwitchId=vsw-a \
		SecurityGroupId=sg-fake0000000000000001 "Description=$DESC" ||
		return 1
	expect_eq "POSTed Description" "$(js o.Description <"$T/out")" "$DESC"
	ok ecs DeleteNetworkInterface \
		"NetworkInterfaceId=$(js o.NetworkInterfaceId <"$T/out")"
}

vswitches() {
	local free
	need_cloud || return
	ok vpc DescribeVSwitches VSwitchId=vsw-a || return 1
	free=$(js 'o.VSwitches.VSwitch[0].AvailableIpAddressCount' <"$T/out")
	ok ecs CreateNetworkInterface VSwitchId=vsw-a \
		SecurityGroupId=sg-fake0000000000000001 \
		SecondaryPrivateIpAddressCount=1 || return 1
	local id
	id=$(js o.NetworkInterfaceId <"$T/out")
	ok vpc DescribeVSwitches VSwitchId=vsw-a || return 1
	expect_eq "free IPs" "$(js 'o.VSwitches.VSwitch[0].AvailableIpAddressCount' \
		<"$T/out")" $((free - 2)) || return 1
	ok ecs DeleteNetworkInterface "NetworkInterfaceId=$id"
}

route_entries() {
	local rt rte
	need_cloud || return
	ok vpc DescribeRouteTables || return 1
	rt=$(js 'o.RouteTables.RouteTable[0].RouteTableId' <"$T/out")
	ok vpc CreateRouteEntry "RouteTableId=$rt" \
		DestinationCidrBlock=172.20.7.0/24 NextHopType=Instance \
		NextHopId=i-node1 "ClientToken=rt-$P" || return 1
	rte=$(js o.RouteEntryId <"$T/out")
	case "$rte" in rte-*) ;; *) fail "RouteEntryId '$rte'"; return 1 ;; esac
	ctl POST /settle >/dev/null || return 1
	ok vpc DescribeRouteTables "RouteTableId=$rt" || return 1
	expect_eq "entry" "$(js 'o.RouteTables.RouteTable[0].RouteEntrys
		.RouteEntry.filter((e) => e.DestinationCidrBlock ===
		"172.20.7.0/24").map((e) => e.Status + " " + e.InstanceId)
		.join()' <"$T/out")" "Available i-node1" || return 1
	ok ecs DescribeRouteTables "RouteTableId=$rt" || return 1
	grep -q '"DestinationCidrBlock": "172.20.7.0/24"' "$T/out" ||
		fail "ECS DescribeRouteTables lacks the entry" || return 1
	ok vpc DeleteRouteEntry "RouteEntryId=$rte"
}

wrong_secret() {
	need_cloud || return
	SECRET=WrongSecretValue0123456789 api ecs DescribeInstanceTypes
	expect_code $? SignatureDoesNotMatch || return 1
	no_secret WrongSecretValue0123456789 "$KEY_SECRET" || return 1
	ID=LTAInosuchkey api ecs DescribeInstanceTypes
	expect_code $? InvalidAccessKeyId.NotFound
}

# STS credentials of the instance's RAM role, read with our metadata
# client (IMDSv2), then used for the API.
sts() {
	local role c sid ssec stok
	need_cloud || return
	role=$("$VPCNET" eni-agent metadata --endpoint "$FAKE_METADATA_URL" \
		ram/security-credentials/) || return 1
	c=$("$VPCNET" eni-agent metadata --endpoint "$FAKE_METADATA_URL" \
		"ram/security-credentials/$role") || return 1
	sid=$(echo "$c" | js o.AccessKeyId)
	ssec=$(echo "$c" | js o.AccessKeySecret)
	stok=$(echo "$c" | js o.SecurityToken)
	ALIBABA_CLOUD_SECURITY_TOKEN=$stok ID=$sid SECRET=$ssec \
		api ecs DescribeInstanceTypes ||
		fail "STS call: $(cat "$T/err")" || return 1
	ALIBABA_CLOUD_SECURITY_TOKEN=$stok ID=$sid SECRET=$ssec \
		api --method POST vpc DescribeVSwitches ||
		fail "STS POST: $(cat "$T/err")" || return 1
	ID=$sid SECRET=$ssec api ecs DescribeInstanceTypes
	expect_code $? MissingSecurityToken || return 1
	ALIBABA_CLOUD_SECURITY_TOKEN=${stok}x ID=$sid SECRET=$ssec \
		api ecs DescribeInstanceTypes
	expect_code $? InvalidSecurityToken.MismatchWithAccessKey || return 1
	no_secret "$ssec" "$stok" || return 1
	# the echoed string to sign carries the token: shown redacted
	ALIBABA_CLOUD_SECURITY_TOKEN=$stok ID=$sid SECRET=wrong \
		api ecs DescribeInstanceTypes
	expect_code $? SignatureDoesNotMatch || return 1
	grep -q 'SecurityToken%3D<redacted>%26' "$T/err" ||
		fail "token not redacted: $(cat "$T/err")" || return 1
	no_secret "$stok" "$(printf %s "$stok" | sed 's/+/%252B/g; s|/|%252F|g;
		s/=/%253D/g')" || return 1
	echo "$c" >"$T/sts.json"
}

config_file() {	# Terway eni.json keys; --config wins over the environment
	need_cloud || return
	printf '{"version": "1", "access_key": "%s", "access_secret": "%s",
	 "region_id": "%s", "max_pool_size": 5}\n' "$KEY_ID" "$KEY_SECRET" \
		"$FAKE_ALIYUN_REGION" >"$T/eni.json"
	ALIBABA_CLOUD_ACCESS_KEY_SECRET=wrong "$VPCNET" eni-agent api \
		--config "$T/eni.json" --ca-file "$FAKE_CA" \
		--endpoint "$FAKE_ALIYUN_URL" vpc DescribeVSwitches >"$T/out" \
		2>"$T/err" || fail "config: $(cat "$T/err")" || return 1
	ALIBABA_CLOUD_REGION_ID=$FAKE_ALIYUN_REGION \
		ALIBABA_CLOUD_ACCESS_KEY_ID=$KEY_ID \
		ALIBABA_CLOUD_ACCESS_KEY_SECRET=$KEY_SECRET "$VPCNET" eni-agent api \
		--ca-file "$FAKE_CA" --endpoint "$FAKE_ALIYUN_URL" \
		vpc DescribeVSwitches >"$T/out" 2>"$T/err" ||
		fail "region from ALIBABA_CLOUD_REGION_ID: $(cat "$T/err")" ||
		return 1
	echo '{"access_key": "x", "region_id": 7}' >"$T/bad.json"
	"$VPCNET" eni-agent api --config "$T/bad.json" \
		--endpoint http://127.0.0.1:1 ecs X 2>"$T/err"
	expect_eq "exit" $? 2 &&
	grep -q 'region_id: expected string' "$T/err" ||
		fail "bad type not named: $(cat "$T/err")"
}

# Terway's credential_path file: each value base64(IV + AES-CBC) under
# "keyring" (as ACK's addon token config).
encrypt_cred() {	# encrypt_cred STS.json KEYRING > token-config
	node -e '
	const c = require("crypto"), fs = require("fs");
	const s = JSON.parse(fs.readFileSync(process.argv[1]));
	const ring = process.argv[2];
	const enc = (v, i) => { const iv = Buffer.alloc(16, i);
		const x = c.createCipheriv("aes-" + ring.length * 8 + "-cbc",
			Buffer.from(ring), iv);
		return Buffer.concat([iv, x.update(v), x.final()])
			.toString("base64"); };
	console.log(JSON.stringify({ "access.key.id": enc(s.AccessKeyId, 1),
		"access.key.secret": enc(s.AccessKeySecret, 2),
		"security.token": enc(s.SecurityToken, 3),
		expiration: s.Expiration, keyring: ring }));' "$@"
}

credential_path() {
	need_cloud || return
	[ -s "$T/sts.json" ] || { skip "no STS credentials"; return; }
	encrypt_cred "$T/sts.json" 0123456789abcdef0123456789abcdef \
		>"$T/token-config" || return 1
	printf '{"credential_path": "%s", "region_id": "%s"}\n' \
		"$T/token-config" "$FAKE_ALIYUN_REGION" >"$T/eni-cp.json"
	"$VPCNET" eni-agent api --config "$T/eni-cp.json" --ca-file "$FAKE_CA" \
		--endpoint "$FAKE_ALIYUN_URL" ecs DescribeInstanceTypes \
		>"$T/out" 2>"$T/err" || fail "credential_path: $(cat "$T/err")" ||
		return 1
	# another keyring (fixed IVs: always the same bad padding)
	sed 's/"keyring":"0123456789abcdef/"keyring":"fedcba9876543210/' \
		"$T/token-config" >"$T/token-bad"
	printf '{"credential_path": "%s"}\n' "$T/token-bad" >"$T/eni-cp.json"
	"$VPCNET" eni-agent api --config "$T/eni-cp.json" \
		--endpoint http://127.0.0.1:1 ecs X >"$T/out" 2>"$T/err"
	expect_eq exit $? 2 &&
	grep -q 'credential_path: .*access.key.id: bad padding' "$T/err" ||
		fail "wrong keyring: $(cat "$T/err")"
}

throttled_then_ok() {	# injected throttling ridden out with retries
	need_cloud || return
	ctl POST /counters/reset >/dev/null &&
	ctl POST /fail-next '{"action": "DescribeInstanceTypes",
		"code": "Throttling.User", "count": 3}' >/dev/null || return 1
	ok ecs DescribeInstanceTypes || return 1
	expect_eq "calls" "$(calls DescribeInstanceTypes)" 4 &&
	expect_eq "throttled" "$(ctl GET /counters | js \
		'o.actions.DescribeInstanceTypes.errors["Throttling.User"]')" 3
}

throttled_gives_up() {	# the faults config throttles every call
	local rc
	need_cloud || return
	ctl POST /counters/reset >/dev/null &&
	ctl POST /faults '{"actions": {"DescribeVSwitches":
		{"throttleRate": 1, "throttleCode": "Throttling.Api"}}}' \
		>/dev/null || return 1
	api vpc DescribeVSwitches
	rc=$?
	ctl POST /faults/reset >/dev/null
	expect_code $rc Throttling.Api || return 1
	grep -q 'after 5 attempts' "$T/err" || fail "$(cat "$T/err")" ||
		return 1
	expect_eq "calls" "$(calls DescribeVSwitches)" 5
}

no_retry_4xx() {
	need_cloud || return
	ctl POST /counters/reset >/dev/null &&
	ctl POST /fail-next '{"action": "DescribeVSwitches",
		"code": "InvalidParameter", "status": 400, "count": 3}' \
		>/dev/null || return 1
	api vpc DescribeVSwitches
	expect_code $? InvalidParameter || return 1
	ctl POST /faults/reset >/dev/null
	expect_eq "calls" "$(calls DescribeVSwitches)" 1
}

retry_5xx() {
	need_cloud || return
	ctl POST /counters/reset >/dev/null &&
	ctl POST /fail-next '{"action": "DescribeVSwitches",
		"code": "ServiceUnavailable", "count": 2}' >/dev/null &&
	ctl POST /fail-next '{"action": "DescribeRouteTables",
		"code": "InternalError"}' >/dev/null || return 1
	ok vpc DescribeVSwitches || return 1
	ok vpc DescribeRouteTables || return 1
	expect_eq "503 calls" "$(calls DescribeVSwitches)" 3 &&
	expect_eq "500 calls" "$(calls DescribeRouteTables)" 2
}

wrong_ca() {
	need_cloud || return
	ALIBABA_CLOUD_ACCESS_KEY_ID=$KEY_ID \
		ALIBABA_CLOUD_ACCESS_KEY_SECRET=$KEY_SECRET "$VPCNET" eni-agent \
		api --ca-file "$T/cloud/certs/other-ca.pem" \
		--endpoint "$FAKE_ALIYUN_URL" --region "$FAKE_ALIYUN_REGION" \
		ecs DescribeInstanceTypes >"$T/out" 2>"$T/err"
	expect_eq exit $? 1 &&
	grep -q 'not signed by a trusted CA (CA file .*/other-ca.pem)' \
		"$T/err" || fail "$(cat "$T/err")" || return 1
	"$VPCNET" eni-agent api --ca-file "$T/nonexistent.pem" --region r \
		ecs X 2>"$T/err"
	expect_eq exit $? 2 &&
	grep -q -- '--ca-file: .*nonexistent.pem' "$T/err" ||
		fail "$(cat "$T/err")"
}

usage_errors() {	# each names what is wrong, exit 2
	local a
	while IFS='|' read -r a want; do
		# shellcheck disable=SC2086
		"$VPCNET" eni-agent api $a >"$T/out" 2>"$T/err"
		expect_eq "api $a: exit" $? 2 || return 1
		grep -qF -- "$want" "$T/err" ||
			fail "api $a: want '$want': $(cat "$T/err")" || return 1
	done <<'EOF'
|PRODUCT and ACTION expected
--region|option --region needs a value
ecs X --endpoint|option --endpoint needs a value
--method PUT ecs X|--method: want GET or POST
--bogus ecs X|unknown option --bogus
ec2 X|PRODUCT: want ecs or vpc
ecs Describe-X|ACTION: want a name
ecs X Foo|'Foo': expected Key=Value
ecs X =v|'=v': expected Key=Value
ecs X Signature=1|Signature: set by the signer
ecs X AccessKeyId=1|AccessKeyId: set by the signer
ecs X A=1 A=2|A: given twice
--endpoint ftp://x ecs X|--endpoint:
--endpoint http://127.0.0.1:1 --config /nonexistent.json ecs X|--config: /nonexistent.json
EOF
	"$VPCNET" eni-agent metadata >/dev/null 2>"$T/err"
	expect_eq "metadata: exit" $? 2 || return 1
	"$VPCNET" eni-agent metadata --endpoint 2>"$T/err"
	grep -q 'option --endpoint needs a value' "$T/err" ||
		fail "$(cat "$T/err")" || return 1
	"$VPCNET" eni-agent nosuch 2>"$T/err"
	expect_eq "unknown command: exit" $? 2
}

run_help() {	# the daemon (test/e2e/eni_agent_run.sh) is documented
	"$VPCNET" eni-agent --help | grep -q '^  run ' ||
		fail "--help does not list run" || return 1
	"$VPCNET" eni-agent run --help | grep -q '^usage: eni-agent run' ||
		fail "run --help" || return 1
	"$VPCNET" eni-agent run --config "$T/nonexistent.json" >"$T/out" \
		2>"$T/err" && fail "run exited 0" || true
	grep -q 'nonexistent.json' "$T/err" || fail "$(cat "$T/err")" ||
		return 1
	"$VPCNET" eni-agent api --help | grep -q '^usage: eni-agent api' &&
	"$VPCNET" eni-agent metadata --help | grep -q '^usage: eni-agent metadata'
}

metadata_v2() {
	local before after
	need_cloud || return
	before=$(ctl GET /counters | js 'o.metadata.tokens')
	expect_eq instance-id "$("$VPCNET" eni-agent metadata --endpoint \
		"$FAKE_METADATA_URL" instance-id)" i-node1 || return 1
	expect_eq region "$("$VPCNET" eni-agent metadata --endpoint \
		"$FAKE_METADATA_URL" /latest/meta-data/region-id)" \
		"$FAKE_ALIYUN_REGION" || return 1
	after=$(ctl GET /counters | js 'o.metadata.tokens')
	[ "$after" -gt "$before" ] || fail "no IMDSv2 token was fetched" ||
		return 1
	expect_eq "forbidden (tokenless) reads" "$(ctl GET /counters |
		js 'o.metadata.forbidden')" 0 || return 1
	"$VPCNET" eni-agent metadata --endpoint "$FAKE_METADATA_URL" nope \
		>"$T/out" 2>"$T/err"
	expect_eq "404 exit" $? 1 &&
	grep -q 'HTTP 404' "$T/err" || fail "$(cat "$T/err")"
}

# A plain HTTP server for what the fake does not do: a metadata service
# without IMDSv2 (v1 only), and a fixed API reply for the printer check.
SRV_PORT=
start_srv() {
	local n=0
	cat >"$T/srv.js" <<'EOF'
const http = require('http'), fs = require('fs');
const [body, portFile] = process.argv.slice(2);
const srv = http.createServer((req, res) => {
	if (req.url === '/latest/api/token')
		return res.writeHead(404).end('Not Found\n');
	if (req.url.startsWith('/latest/meta-data/'))
		return res.writeHead(200).end('i-v1only\n');
	res.writeHead(200, { 'Content-Type': 'application/json' })
		.end(fs.readFileSync(body));
});
srv.listen(0, '127.0.0.1', () => {
	fs.writeFileSync(portFile + '.tmp', String(srv.address().port));
	fs.renameSync(portFile + '.tmp', portFile);
});
EOF
	cat >"$T/body.json" <<'EOF'
{"z":1,"RequestId":"R-1","a":{"y":[],"x":{},"w":[{"k":"v","b":[true,false,null]}]},
 "num":[0,-0,1.50,1e10,-2E-3,12345678901234567890123,0.1],
 "str":"quote\" back\\ slash\/ <b>&amp; tab\t nl\n cr\r ctl\u0001\u001f del\u007f \u00e9 é 中 😀 \ud83d\ude00 \u2028\u2029 \u0000 end",
 "dup":1,"dup":2,"Upper":true,"lower":false,"nil":null,"é":"utf8 key","":"empty key","a b":"space"}
EOF
	node "$T/srv.js" "$T/body.json" "$T/srv.port" &
	on_exit "kill $!"
	while [ ! -s "$T/srv.port" ] && [ $n -lt 200 ]; do
		sleep 0.05
		n=$((n + 1))
	done
	SRV_PORT=$(cat "$T/srv.port" 2>/dev/null)
	[ -n "$SRV_PORT" ] || fail "helper server did not start"
}

metadata_v1() {
	command -v node >/dev/null || { skip "node is not installed"; return; }
	[ -n "$SRV_PORT" ] || start_srv || return 1
	"$VPCNET" eni-agent metadata --endpoint "http://127.0.0.1:$SRV_PORT" \
		instance-id >"$T/out" 2>"$T/err"
	expect_eq "v1 refused: exit" $? 1 || return 1
	grep -q 'metadata token: HTTP 404.*--allow-v1' "$T/err" ||
		fail "$(cat "$T/err")" || return 1
	expect_eq "with --allow-v1" "$("$VPCNET" eni-agent metadata --allow-v1 \
		--endpoint "http://127.0.0.1:$SRV_PORT" instance-id)" i-v1only
}

# The aliyun CLI decodes the reply with UseNumber and prints it with Go's
# encoder (SetEscapeHTML(false), SetIndent("", "\t")): same bytes?
printer_like_aliyun_cli() {
	command -v node >/dev/null || { skip "node is not installed"; return; }
	command -v go >/dev/null || { skip "go is not installed"; return; }
	[ -n "$SRV_PORT" ] || start_srv || return 1
	mkdir -p "$T/go"
	cat >"$T/go/fmt.go" <<'EOF'
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// sortJSON of aliyun-cli openapi/commando.go, then cli.Println.
func main() {
	b, _ := io.ReadAll(os.Stdin)
	var v interface{}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		fmt.Println(string(b))
		return
	}
	buf := new(bytes.Buffer)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "\t")
	if err := enc.Encode(v); err != nil {
		os.Exit(1)
	}
	fmt.Println(strings.TrimSuffix(buf.String(), "\n"))
}
EOF
	(cd "$T/go" && GOCACHE=${GOCACHE:-$T/go/cache} HOME=${HOME:-$T/go} \
		go build -o fmt fmt.go) || return 1
	ALIBABA_CLOUD_ACCESS_KEY_ID=x ALIBABA_CLOUD_ACCESS_KEY_SECRET=y \
		"$VPCNET" eni-agent api --endpoint "http://127.0.0.1:$SRV_PORT" \
		--region r ecs DescribeAnything >"$T/ours" || return 1
	"$T/go/fmt" <"$T/body.json" >"$T/go.out" || return 1
	cmp "$T/ours" "$T/go.out" || { diff "$T/go.out" "$T/ours"; return 1; }
	# and a real reply of the fake is already in that form
	need_cloud || return
	ok ecs DescribeNetworkInterfaces || return 1
	"$T/go/fmt" <"$T/out" | cmp - "$T/out"
}

testing "fake cloud starts (test CA, free ports)" need_cloud
testing "ecs DescribeInstanceTypes: quotas, printed like the aliyun CLI" \
	describe_types
testing "ecs CreateNetworkInterface: tags with spaces, *~/+, UTF-8 kept" \
	create_tagged
testing "ecs DescribeNetworkInterfaces: tag, type filters, NextToken" \
	describe_filters
testing "--method POST: form body keeps + and spaces" post_method
testing "vpc DescribeVSwitches: free IP count drops" vswitches
testing "vpc CreateRouteEntry, DescribeRouteTables (vpc and ecs)" \
	route_entries
testing "wrong secret: SignatureDoesNotMatch, exit 1, no secret shown" \
	wrong_secret
testing "STS token from the metadata RAM role; missing/wrong token" sts
testing "--config: Terway eni.json keys; region from environment" \
	config_file
testing "--config credential_path: Terway's encrypted token file" \
	credential_path
testing "throttling (fail-next x3) ridden out: 4 calls, success" \
	throttled_then_ok
testing "throttling on every call (faults): 5 attempts, then Code" \
	throttled_gives_up
testing "4xx InvalidParameter not retried: 1 call" no_retry_4xx
testing "5xx retried: 503 x2 -> 3 calls, 500 -> 2 calls" retry_5xx
testing "wrong CA: fails naming the CA file" wrong_ca
testing "usage errors name the flag or operand, exit 2" usage_errors
testing "run: documented; a missing --config file is fatal" run_help
testing "metadata: IMDSv2 token, values, 404" metadata_v2
testing "metadata: v1 refused unless --allow-v1" metadata_v1
testing "printer: byte for byte what the aliyun CLI (Go) prints" \
	printer_like_aliyun_cli
finish
