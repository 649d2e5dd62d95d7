/* TLS 1.2 client over BearSSL (see tls.h).  Certificate and key loading
 * is in tls_pem.c. */
#include "tls.h"
#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

struct tls_err {
	int code;
	const char *name;
	const char *text;
};

#define E(c, t) { c, #c, t }
static const struct tls_err tls_errs[] = {
	E(BR_ERR_OK, "no error"),
	E(BR_ERR_BAD_PARAM, "bad parameter"),
	E(BR_ERR_BAD_STATE, "bad engine state"),
	E(BR_ERR_UNSUPPORTED_VERSION, "server does not support TLS 1.2"),
	E(BR_ERR_BAD_VERSION, "server chose an unsupported TLS version"),
	E(BR_ERR_BAD_LENGTH, "record with a bad length"),
	E(BR_ERR_TOO_LARGE, "record too large"),
	E(BR_ERR_BAD_MAC, "record with a bad MAC (corrupted data)"),
	E(BR_ERR_NO_RANDOM, "no source of randomness"),
	E(BR_ERR_UNKNOWN_TYPE, "record of an unknown type"),
	E(BR_ERR_UNEXPECTED, "unexpected message (not TLS?)"),
	E(BR_ERR_BAD_CCS, "bad ChangeCipherSpec"),
	E(BR_ERR_BAD_ALERT, "bad alert message"),
	E(BR_ERR_BAD_HANDSHAKE, "bad handshake message"),
	E(BR_ERR_OVERSIZED_ID, "oversized session id"),
	E(BR_ERR_BAD_CIPHER_SUITE, "server chose an unsupported cipher suite"),
	E(BR_ERR_BAD_COMPRESSION, "server chose an unsupported compression"),
	E(BR_ERR_BAD_FRAGLEN, "bad max fragment length"),
	E(BR_ERR_BAD_SECRENEG, "secure renegotiation failed"),
	E(BR_ERR_EXTRA_EXTENSION, "server sent an unrequested extension"),
	E(BR_ERR_BAD_SNI, "bad server name indication"),
	E(BR_ERR_BAD_HELLO_DONE, "bad ServerHelloDone"),
	E(BR_ERR_LIMIT_EXCEEDED, "handshake limit exceeded"),
	E(BR_ERR_BAD_FINISHED, "bad Finished message"),
	E(BR_ERR_RESUME_MISMATCH, "session resumption mismatch"),
	E(BR_ERR_INVALID_ALGORITHM, "unsupported algorithm"),
	E(BR_ERR_BAD_SIGNATURE, "bad handshake signature"),
	E(BR_ERR_WRONG_KEY_USAGE, "server key not allowed for this use"),
	E(BR_ERR_NO_CLIENT_AUTH, "server asked for a client certificate "
				 "and none is configured"),
	E(BR_ERR_IO, "I/O error"),
	E(BR_ERR_X509_INVALID_VALUE, "malformed certificate (bad value)"),
	E(BR_ERR_X509_TRUNCATED, "malformed certificate (truncated)"),
	E(BR_ERR_X509_EMPTY_CHAIN, "server sent no certificate"),
	E(BR_ERR_X509_INNER_TRUNC, "malformed certificate (inner length)"),
	E(BR_ERR_X509_BAD_TAG_CLASS, "malformed certificate (tag class)"),
	E(BR_ERR_X509_BAD_TAG_VALUE, "malformed certificate (tag)"),
	E(BR_ERR_X509_INDEFINITE_LENGTH, "malformed certificate (length)"),
	E(BR_ERR_X509_EXTRA_ELEMENT, "malformed certificate (extra element)"),
	E(BR_ERR_X509_UNEXPECTED, "malformed certificate (unexpected)"),
	E(BR_ERR_X509_NOT_CONSTRUCTED, "malformed certificate (primitive)"),
	E(BR_ERR_X509_NOT_PRIMITIVE, "malformed certificate (constructed)"),
	E(BR_ERR_X509_PARTIAL_BYTE, "malformed certificate (bit string)"),
	E(BR_ERR_X509_BAD_BOOLEAN, "malformed certificate (boolean)"),
	E(BR_ERR_X509_OVERFLOW, "malformed certificate (overflow)"),
	E(BR_ERR_X509_BAD_DN, "malformed certificate (distinguished name)"),
	E(BR_ERR_X509_BAD_TIME, "malformed certificate (time)"),
	E(BR_ERR_X509_UNSUPPORTED, "certificate uses an unsupported feature"),
	E(BR_ERR_X509_LIMIT_EXCEEDED, "certificate chain too large"),
	E(BR_ERR_X509_WRONG_KEY_TYPE, "certificate key type mismatch"),
	E(BR_ERR_X509_BAD_SIGNATURE, "certificate signature does not verify"),
	E(BR_ERR_X509_TIME_UNKNOWN, "current time unknown"),
	E(BR_ERR_X509_EXPIRED, "server certificate has expired or is not yet "
			       "valid (check the clock)"),
	E(BR_ERR_X509_DN_MISMATCH, "certificate chain names do not link"),
	E(BR_ERR_X509_BAD_SERVER_NAME, "server certificate does not match "
				       "the host name"),
	E(BR_ERR_X509_CRITICAL_EXTENSION, "certificate has an unsupported "
					  "critical extension"),
	E(BR_ERR_X509_NOT_CA, "an intermediate certificate is not a CA"),
	E(BR_ERR_X509_FORBIDDEN_KEY_USAGE, "certificate key usage forbids "
					   "this use"),
	E(BR_ERR_X509_WEAK_PUBLIC_KEY, "certificate public key too weak"),
	E(BR_ERR_X509_NOT_TRUSTED, "server certificate is not signed by a "
				   "trusted CA"),
};
#undef E

static const struct {
	int alert;
	const char *name;
} tls_alerts[] = {
	{ 0, "close_notify" }, { 10, "unexpected_message" },
	{ 20, "bad_record_mac" }, { 40, "handshake_failure" },
	{ 42, "bad_certificate" }, { 43, "unsupported_certificate" },
	{ 44, "certificate_revoked" }, { 45, "certificate_expired" },
	{ 46, "certificate_unknown" }, { 47, "illegal_parameter" },
	{ 48, "unknown_ca" }, { 49, "access_denied" }, { 50, "decode_error" },
	{ 51, "decrypt_error" }, { 70, "protocol_version" },
	{ 71, "insufficient_security" }, { 80, "internal_error" },
	{ 90, "user_canceled" }, { 109, "missing_extension" },
	{ 110, "unsupported_extension" }, { 112, "unrecognized_name" },
	{ 116, "certificate_required" }, { 120, "no_application_protocol" },
};

static const char *alert_name(int a)
{
	size_t i;

	for (i = 0; i < sizeof(tls_alerts) / sizeof(tls_alerts[0]); i++)
		if (tls_alerts[i].alert == a)
			return tls_alerts[i].name;
	return "unknown alert";
}

const char *tls_error_name(int e)
{
	size_t i;

	if (e >= BR_ERR_SEND_FATAL_ALERT && e < BR_ERR_SEND_FATAL_ALERT + 256)
		return "BR_ERR_SEND_FATAL_ALERT";
	if (e >= BR_ERR_RECV_FATAL_ALERT && e < BR_ERR_SEND_FATAL_ALERT)
		return "BR_ERR_RECV_FATAL_ALERT";
	for (i = 0; i < sizeof(tls_errs) / sizeof(tls_errs[0]); i++)
		if (tls_errs[i].code == e)
			return tls_errs[i].name;
	return "BR_ERR_UNKNOWN";
}

const char *tls_error_text(int e)
{
	size_t i;

	if (e >= BR_ERR_SEND_FATAL_ALERT && e < BR_ERR_SEND_FATAL_ALERT + 256)
		return alert_name(e - BR_ERR_SEND_FATAL_ALERT);
	if (e >= BR_ERR_RECV_FATAL_ALERT && e < BR_ERR_SEND_FATAL_ALERT)
		return alert_name(e - BR_ERR_RECV_FATAL_ALERT);
	for (i = 0; i < sizeof(tls_errs) / sizeof(tls_errs[0]); i++)
		if (tls_errs[i].code == e)
			return tls_errs[i].text;
	return "unknown TLS error";
}

/* Minimal DER walking, enough to find iPAddress subjectAltNames. */
static int der_tlv(const unsigned char **p, const unsigned char *end,
		   unsigned *tag, const unsigned char **val, size_t *vlen)
{
	const unsigned char *q = *p;
	size_t n, k;

	if (end - q < 2)
		return -1;
	*tag = *q++;
	if ((*tag & 0x1f) == 0x1f)
		return -1;
	n = *q++;
	if (n & 0x80) {
		k = n & 0x7f;
		if (k == 0 || k > 3 || (size_t)(end - q) < k)
			return -1;
		for (n = 0; k; k--)
			n = n << 8 | *q++;
	}
	if ((size_t)(end - q) < n)
		return -1;
	*val = q;
	*vlen = n;
	*p = q + n;
	return 0;
}

static int names_have_ip(const unsigned char *p, size_t len,
			 const unsigned char *ip, size_t iplen)
{
	const unsigned char *end = p + len, *v;
	unsigned tag;
	size_t vl;

	if (der_tlv(&p, end, &tag, &v, &vl) || tag != 0x30)
		return 0;
	end = v + vl;
	for (p = v; p < end;) {
		if (der_tlv(&p, end, &tag, &v, &vl))
			return 0;
		if (tag == 0x87 && vl == iplen && !memcmp(v, ip, iplen))
			return 1;
	}
	return 0;
}

static int exts_have_ip(const unsigned char *p, size_t len,
			const unsigned char *ip, size_t iplen)
{
	static const unsigned char san[] = { 0x55, 0x1d, 0x11 };
	const unsigned char *end = p + len, *v, *q, *qend;
	unsigned tag;
	size_t vl;

	while (p < end) {
		if (der_tlv(&p, end, &tag, &v, &vl) || tag != 0x30)
			return 0;
		q = v;
		qend = v + vl;
		if (der_tlv(&q, qend, &tag, &v, &vl) || tag != 0x06)
			return 0;
		if (vl != sizeof(san) || memcmp(v, san, sizeof(san)))
			continue;
		if (der_tlv(&q, qend, &tag, &v, &vl))
			return 0;
		if (tag == 0x01 && der_tlv(&q, qend, &tag, &v, &vl))
			return 0;
		return tag == 0x04 && names_have_ip(v, vl, ip, iplen);
	}
	return 0;
}

/* Does the certificate carry ip as an iPAddress subjectAltName? */
static int cert_has_ip(const unsigned char *der, size_t len,
		       const unsigned char *ip, size_t iplen)
{
	const unsigned char *p = der, *end = der + len, *v;
	unsigned tag;
	size_t vl;

	if (der_tlv(&p, end, &tag, &v, &vl) || tag != 0x30)
		return 0;
	p = v;
	if (der_tlv(&p, v + vl, &tag, &v, &vl) || tag != 0x30)
		return 0;
	end = v + vl;
	for (p = v; p < end;) {
		if (der_tlv(&p, end, &tag, &v, &vl))
			return 0;
		if (tag != 0xa3)
			continue;
		p = v;
		if (der_tlv(&p, v + vl, &tag, &v, &vl) || tag != 0x30)
			return 0;
		return exts_have_ip(v, vl, ip, iplen);
	}
	return 0;
}

/* The X.509 engine: forwards to br_x509_minimal, keeps the end-entity
 * certificate and checks the IP SAN when the name is an IP literal. */
#define XW(ctx) ((struct tls_x509 *)(void *)(ctx))
#define XM(ctx) (&XW(ctx)->minimal.vtable)

static void xw_start_chain(const br_x509_class **ctx, const char *name)
{
	XW(ctx)->ncert = 0;
	XW(ctx)->ee_len = 0;
	XW(ctx)->ee_big = 0;
	(*XM(ctx))->start_chain(XM(ctx), name);
}

static void xw_start_cert(const br_x509_class **ctx, uint32_t length)
{
	(*XM(ctx))->start_cert(XM(ctx), length);
}

static void xw_append(const br_x509_class **ctx, const unsigned char *buf,
		      size_t len)
{
	struct tls_x509 *x = XW(ctx);

	if (x->ncert == 0) {
		if (len > sizeof(x->ee) - x->ee_len) {
			x->ee_big = 1;
		} else {
			memcpy(x->ee + x->ee_len, buf, len);
			x->ee_len += len;
		}
	}
	(*XM(ctx))->append(XM(ctx), buf, len);
}

static void xw_end_cert(const br_x509_class **ctx)
{
	XW(ctx)->ncert++;
	(*XM(ctx))->end_cert(XM(ctx));
}

static unsigned xw_end_chain(const br_x509_class **ctx)
{
	struct tls_x509 *x = XW(ctx);
	unsigned r = (*XM(ctx))->end_chain(XM(ctx));

	if (r || !x->iplen)
		return r;
	if (x->ee_big)
		return BR_ERR_X509_LIMIT_EXCEEDED;
	if (!cert_has_ip(x->ee, x->ee_len, x->ip, x->iplen))
		return BR_ERR_X509_BAD_SERVER_NAME;
	return 0;
}

static const br_x509_pkey *xw_get_pkey(const br_x509_class *const *ctx,
				       unsigned *usages)
{
	const br_x509_class *const *m = &XW(ctx)->minimal.vtable;

	return (*m)->get_pkey(m, usages);
}

static const br_x509_class xw_vtable = {
	sizeof(struct tls_x509), xw_start_chain, xw_start_cert, xw_append,
	xw_end_cert, xw_end_chain, xw_get_pkey,
};

/* Run the engine until a target state (BR_SSL_SENDAPP / BR_SSL_RECVAPP),
 * moving records over the socket; -1 when closed or failed. */
static int pump(struct tls_conn *t, unsigned target)
{
	br_ssl_engine_context *eng = &t->cc.eng;
	unsigned char *buf;
	unsigned st;
	size_t len;
	ssize_t n;

	for (;;) {
		st = br_ssl_engine_current_state(eng);
		if ((st & BR_SSL_CLOSED) || t->failed)
			return -1;
		if (st & BR_SSL_SENDREC) {
			buf = br_ssl_engine_sendrec_buf(eng, &len);
			n = sock_write(t->fd, buf, len,
				       sock_budget(t->idle_ms, t->deadline_ms));
			if (n < 0) {
				t->sys_err = (int)-n;
				t->failed = 1;
				return -1;
			}
			br_ssl_engine_sendrec_ack(eng, (size_t)n);
			continue;
		}
		if (st & target)
			return 0;
		if (st & BR_SSL_RECVAPP) {	/* data while sending */
			t->sys_err = EBADMSG;
			t->failed = 1;
			return -1;
		}
		if (st & BR_SSL_RECVREC) {
			buf = br_ssl_engine_recvrec_buf(eng, &len);
			n = sock_read(t->fd, buf, len,
				      sock_budget(t->idle_ms, t->deadline_ms));
			if (n <= 0) {
				t->eof = n == 0;
				t->sys_err = n ? (int)-n : ECONNRESET;
				t->failed = 1;
				return -1;
			}
			br_ssl_engine_recvrec_ack(eng, (size_t)n);
			continue;
		}
		br_ssl_engine_flush(eng, 0);
	}
}

/* Describe why the engine stopped; returns -errno. */
static int tls_fail(struct tls_conn *t, const char *action, char *err,
		    size_t errlen)
{
	int e = br_ssl_engine_last_error(&t->cc.eng);
	char extra[300] = "";

	if (t->failed || e == BR_ERR_IO || e == BR_ERR_OK) {
		if (t->eof) {
			snprintf(err, errlen, "%s %s: connection closed by "
				 "the peer", action, t->name);
			return -ECONNRESET;
		}
		snprintf(err, errlen, "%s %s: %s", action, t->name,
			 t->sys_err == ETIMEDOUT ? "timed out" :
			 strerror(t->sys_err ? t->sys_err : EIO));
		return t->sys_err ? -t->sys_err : -EIO;
	}
	if (e == BR_ERR_X509_NOT_TRUSTED)
		snprintf(extra, sizeof(extra), " (CA file %s)",
			 t->cfg->ca_file[0] ? t->cfg->ca_file : "in memory");
	else if (e == BR_ERR_X509_BAD_SERVER_NAME)
		snprintf(extra, sizeof(extra), " '%s'", t->name);
	if (e >= BR_ERR_RECV_FATAL_ALERT && e < BR_ERR_SEND_FATAL_ALERT + 256)
		snprintf(err, errlen, "%s %s: %s alert %d %s [%s]", action,
			 t->name, e >= BR_ERR_SEND_FATAL_ALERT ?
			 "sent the server" : "server sent", e & 255,
			 tls_error_text(e), tls_error_name(e));
	else
		snprintf(err, errlen, "%s %s: %s%s [%s]", action, t->name,
			 tls_error_text(e), extra, tls_error_name(e));
	return -EPROTO;
}

static void set_client_key(struct tls_conn *t, const struct tls_config *cfg)
{
	if (cfg->key_type == BR_KEYTYPE_RSA)
		br_ssl_client_set_single_rsa(&t->cc, cfg->chain, cfg->nchain,
			br_skey_decoder_get_rsa(&cfg->key),
			br_rsa_pkcs1_sign_get_default());
	else if (cfg->key_type == BR_KEYTYPE_EC)
		br_ssl_client_set_single_ec(&t->cc, cfg->chain, cfg->nchain,
			br_skey_decoder_get_ec(&cfg->key), BR_KEYTYPE_SIGN,
			(unsigned)cfg->issuer_key_type, br_ec_get_default(),
			br_ecdsa_sign_asn1_get_default());
}

/* Forward-secret AEAD suites only (what Go, Node and Alibaba Cloud offer). */
static const uint16_t suites[] = {
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
};

static void setup_engine(struct tls_conn *t, const struct tls_config *cfg,
			 void *iobuf, size_t iolen)
{
	br_ssl_engine_context *eng = &t->cc.eng;
	unsigned char seed[32];

	br_ssl_client_init_full(&t->cc, &t->x509.minimal, cfg->anchors,
				cfg->nanchors);
	br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
	br_ssl_engine_set_suites(eng, suites,
				 sizeof(suites) / sizeof(suites[0]));
	if (cfg->now > 0)
		br_x509_minimal_set_time(&t->x509.minimal,
			(uint32_t)(cfg->now / 86400 + 719528),
			(uint32_t)(cfg->now % 86400));
	t->x509.vtable = &xw_vtable;
	br_ssl_engine_set_x509(eng, &t->x509.vtable);
	set_client_key(t, cfg);
	br_ssl_engine_set_buffer(eng, iobuf, iolen,
				 iolen >= BR_SSL_BUFSIZE_BIDI);
	if (getrandom(seed, sizeof(seed), 0) == (ssize_t)sizeof(seed))
		br_ssl_engine_inject_entropy(eng, seed, sizeof(seed));
}

int tls_connect(struct tls_conn *t, const struct tls_config *cfg, int fd,
		const char *name, void *iobuf, size_t iolen, char *err,
		size_t errlen)
{
	int idle = t->idle_ms;
	int64_t deadline = t->deadline_ms;

	memset(t, 0, sizeof(*t));
	t->fd = fd;
	t->idle_ms = idle;
	t->deadline_ms = deadline;
	t->cfg = cfg;
	snprintf(t->name, sizeof(t->name), "%s", name);
	if (!cfg->nanchors) {
		snprintf(err, errlen, "TLS handshake with %s: no trust "
			 "anchors loaded", name);
		return -EINVAL;
	}
	if (iolen < BR_SSL_BUFSIZE_MONO || strlen(name) >= sizeof(t->name)) {
		snprintf(err, errlen, "TLS handshake with %s: bad arguments",
			 name);
		return -EINVAL;
	}
	setup_engine(t, cfg, iobuf, iolen);
	if (inet_pton(AF_INET, name, t->x509.ip) == 1)
		t->x509.iplen = 4;
	else if (inet_pton(AF_INET6, name, t->x509.ip) == 1)
		t->x509.iplen = 16;
	if (!br_ssl_client_reset(&t->cc, t->x509.iplen ? NULL : name, 0) ||
	    pump(t, BR_SSL_SENDAPP | BR_SSL_RECVAPP) < 0)
		return tls_fail(t, "TLS handshake with", err, errlen);
	return 0;
}

ssize_t tls_read(struct tls_conn *t, void *buf, size_t len, char *err,
		 size_t errlen)
{
	br_ssl_engine_context *eng = &t->cc.eng;
	unsigned char *p;
	size_t n;
	int e;

	if (!len)
		return 0;
	if (pump(t, BR_SSL_RECVAPP) < 0) {
		e = br_ssl_engine_last_error(eng);
		if (t->failed ? t->eof : e == BR_ERR_OK)
			return 0;
		return tls_fail(t, "TLS read from", err, errlen);
	}
	p = br_ssl_engine_recvapp_buf(eng, &n);
	if (n > len)
		n = len;
	memcpy(buf, p, n);
	br_ssl_engine_recvapp_ack(eng, n);
	return (ssize_t)n;
}

int tls_write(struct tls_conn *t, const void *buf, size_t len, char *err,
	      size_t errlen)
{
	br_ssl_engine_context *eng = &t->cc.eng;
	const unsigned char *src = buf;
	unsigned char *p;
	size_t n;

	while (len) {
		if (pump(t, BR_SSL_SENDAPP) < 0)
			return tls_fail(t, "TLS write to", err, errlen);
		p = br_ssl_engine_sendapp_buf(eng, &n);
		if (n > len)
			n = len;
		memcpy(p, src, n);
		br_ssl_engine_sendapp_ack(eng, n);
		src += n;
		len -= n;
	}
	return 0;
}

int tls_flush(struct tls_conn *t, char *err, size_t errlen)
{
	br_ssl_engine_flush(&t->cc.eng, 0);
	if (pump(t, BR_SSL_SENDAPP | BR_SSL_RECVAPP) < 0)
		return tls_fail(t, "TLS write to", err, errlen);
	return 0;
}

void tls_close(struct tls_conn *t)
{
	br_ssl_engine_context *eng = &t->cc.eng;
	unsigned char *buf;
	size_t len;
	ssize_t n;

	if (t->failed || (br_ssl_engine_current_state(eng) & BR_SSL_CLOSED))
		return;
	br_ssl_engine_close(eng);
	while (br_ssl_engine_current_state(eng) & BR_SSL_SENDREC) {
		buf = br_ssl_engine_sendrec_buf(eng, &len);
		n = sock_write(t->fd, buf, len, 100);
		if (n <= 0)
			break;
		br_ssl_engine_sendrec_ack(eng, (size_t)n);
	}
}
