/* Terway's encrypted credential file (credential_path in eni.json, the
 * "addon.token.config" that ACK mounts at /var/addon/token-config): a JSON
 * object whose access.key.id, access.key.secret and security.token are
 * each base64(IV || AES-CBC(value, PKCS#7 padding)) under the AES key
 * "keyring", with an ISO 8601 "expiration". */
#include <bearssl.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eni_agent.h"
#include "json.h"

#define CRED_FILE_MAX	65536

static int b64_val(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/* Standard base64 with padding ('\r' and '\n' skipped, as Go does):
 * decoded length, or -1 on bad input or when it would exceed cap. */
static long b64_decode(const char *in, unsigned char *out, size_t cap)
{
	uint32_t acc = 0;
	size_t n = 0;
	int bits = 0, pad = 0, v;

	for (; *in; in++) {
		if (*in == '\r' || *in == '\n')
			continue;
		if (*in == '=') {
			pad++;
			continue;
		}
		v = b64_val((unsigned char)*in);
		if (v < 0 || pad)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= cap)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* the padding completes the last quantum exactly */
	if ((bits == 0 && pad) || (bits == 2 && pad != 1) ||
	    (bits == 4 && pad != 2) || bits == 6)
		return -1;
	return (long)n;
}

/* Decrypt one field into dst (NUL-terminated).  0, -ENOENT (absent or
 * ""), -EINVAL with err saying why. */
static int decrypt_field(const struct json_doc *d, const char *key,
			 const unsigned char *ring, size_t ringlen, char *dst,
			 size_t cap, char *err, size_t errlen)
{
	unsigned char buf[8192];
	br_aes_ct_cbcdec_keys kc;
	const char *b64;
	long n;
	int rc = -EINVAL, p, i;

	if (json_get_str(d, 0, key, &b64, NULL) < 0 || !*b64)
		return -ENOENT;
	n = b64_decode(b64, buf, sizeof(buf));
	if (n < 32 || n % 16) {
		snprintf(err, errlen, "%s: not base64 of IV + AES blocks", key);
		goto out;
	}
	br_aes_ct_cbcdec_init(&kc, ring, ringlen);
	br_aes_ct_cbcdec_run(&kc, buf, buf + 16, (size_t)n - 16);
	p = buf[n - 1];
	for (i = 1; p >= 1 && p <= 16 && i <= p; i++)
		if (buf[n - i] != p)
			break;
	if (p < 1 || p > 16 || i <= p) {
		snprintf(err, errlen, "%s: bad padding after decryption "
			 "(wrong keyring?)", key);
		goto out;
	}
	n -= 16 + p;
	if ((size_t)n >= cap || memchr(buf + 16, 0, (size_t)n)) {
		snprintf(err, errlen, "%s: decrypted value too long or "
			 "not text", key);
		goto out;
	}
	memcpy(dst, buf + 16, (size_t)n);
	dst[n] = '\0';
	rc = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(&kc, sizeof(kc));
	return rc;
}

static int parse_cred(const struct json_doc *d, struct aliyun_cred *cred,
		      char *expiration, size_t explen, char *err,
		      size_t errlen)
{
	const char *ring, *exp;
	size_t n;
	int rc;

	if (json_get_str(d, 0, "keyring", &ring, NULL) < 0) {
		snprintf(err, errlen, "keyring: missing or not a string");
		return -EINVAL;
	}
	n = strlen(ring);
	if (n != 16 && n != 24 && n != 32) {
		snprintf(err, errlen, "keyring: %zu bytes, want 16, 24 or 32",
			 n);
		return -EINVAL;
	}
	rc = decrypt_field(d, "access.key.id", (const unsigned char *)ring,
			   n, cred->access_key_id, sizeof(cred->access_key_id),
			   err, errlen);
	if (!rc)
		rc = decrypt_field(d, "access.key.secret",
				   (const unsigned char *)ring, n,
				   cred->access_key_secret,
				   sizeof(cred->access_key_secret), err,
				   errlen);
	if (rc == -ENOENT)
		snprintf(err, errlen, "access.key.id or access.key.secret: "
			 "missing");
	if (!rc)
		rc = decrypt_field(d, "security.token",
				   (const unsigned char *)ring, n,
				   cred->security_token,
				   sizeof(cred->security_token), err, errlen);
	if (rc == -ENOENT && cred->access_key_secret[0])
		rc = 0;		/* a plain AccessKey */
	if (!rc && expiration && explen &&
	    json_get_str(d, 0, "expiration", &exp, NULL) == 0)
		snprintf(expiration, explen, "%s", exp);
	explicit_bzero((char *)ring, n);
	return rc < 0 ? -EINVAL : 0;
}

int ea_cred_file(const char *path, struct aliyun_cred *cred,
		 char *expiration, size_t explen, char *err, size_t errlen)
{
	struct json_err je;
	struct json_doc d;
	struct arena a;
	char *text, why[EA_ERR_SIZE];
	size_t len;
	int rc;

	memset(cred, 0, sizeof(*cred));
	if (expiration && explen)
		expiration[0] = '\0';
	rc = ea_read_file(path, CRED_FILE_MAX, &text, &len);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	arena_init(&a);
	rc = json_parse(&d, &a, text, len, NULL, &je);
	if (rc < 0 || json_typeof(&d, 0) != JSON_OBJECT) {
		snprintf(err, errlen, "%s: %s", path, rc < 0 ? je.msg :
			 "expected a JSON object");
		rc = -EINVAL;
	} else {
		rc = parse_cred(&d, cred, expiration, explen, why,
				sizeof(why));
		if (rc < 0)
			snprintf(err, errlen, "%s: %s", path, why);
	}
	if (rc < 0)
		explicit_bzero(cred, sizeof(*cred));
	explicit_bzero(text, len);
	free(text);
	arena_free_all(&a);
	return rc;
}
