/* tls_config: trust anchors and client credentials from PEM files (see
 * tls.h).  The only allocations of the TLS code live here, made once when
 * a daemon loads its configuration. */
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct blob {
	unsigned char *p;
	size_t len, cap;
	int oom;
};

static void blob_add(void *ctx, const void *data, size_t len)
{
	struct blob *b = ctx;
	unsigned char *np;
	size_t ncap;

	if (b->oom)
		return;
	if (len > b->cap - b->len) {
		ncap = b->cap ? b->cap : 1024;
		while (ncap - b->len < len && ncap < TLS_MAX_FILE)
			ncap *= 2;
		np = ncap - b->len >= len ? realloc(b->p, ncap) : NULL;
		if (!np) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static int read_file(const char *path, struct blob *b, char *err,
		     size_t errlen)
{
	unsigned char tmp[4096];
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "open %s: %s", path, strerror(errno));
		return rc;
	}
	while ((n = read(fd, tmp, sizeof(tmp))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || b->len + (size_t)n > TLS_MAX_FILE) {
			rc = n < 0 ? -errno : -EFBIG;
			snprintf(err, errlen, "read %s: %s", path,
				 strerror(-rc));
			break;
		}
		blob_add(b, tmp, (size_t)n);
	}
	close(fd);
	if (!rc && b->oom) {
		snprintf(err, errlen, "read %s: out of memory", path);
		rc = -ENOMEM;
	}
	return rc;
}

/* Call fn for each PEM object of buf; fn returns < 0 (stop, error),
 * 0 (continue) or > 0 (stop, done). */
static int pem_each(const unsigned char *buf, size_t len,
		    int (*fn)(void *arg, const char *name, struct blob *der),
		    void *arg, char *err, size_t errlen)
{
	br_pem_decoder_context pc;
	struct blob der = { 0 };
	char name[128];
	int inobj = 0, extra_nl = 1, rc = 0;
	size_t n;

	br_pem_decoder_init(&pc);
	while (len > 0 && rc == 0) {
		n = br_pem_decoder_push(&pc, buf, len);
		buf += n;
		len -= n;
		switch (br_pem_decoder_event(&pc)) {
		case BR_PEM_BEGIN_OBJ:
			snprintf(name, sizeof(name), "%s",
				 br_pem_decoder_name(&pc));
			der.len = 0;
			br_pem_decoder_setdest(&pc, blob_add, &der);
			inobj = 1;
			break;
		case BR_PEM_END_OBJ:
			if (!inobj)
				break;
			inobj = 0;
			if (der.oom) {
				snprintf(err, errlen, "out of memory");
				rc = -ENOMEM;
				break;
			}
			rc = fn(arg, name, &der);
			break;
		case BR_PEM_ERROR:
			snprintf(err, errlen, "invalid PEM encoding");
			rc = -EINVAL;
			break;
		}
		if (len == 0 && extra_nl) {	/* no newline at the end */
			extra_nl = 0;
			buf = (const unsigned char *)"\n";
			len = 1;
		}
	}
	free(der.p);
	if (rc == 0 && inobj) {
		snprintf(err, errlen, "unterminated PEM object");
		rc = -EINVAL;
	}
	return rc < 0 ? rc : 0;
}

static int is_cert(const char *name)
{
	return !strcmp(name, "CERTIFICATE") ||
	       !strcmp(name, "X509 CERTIFICATE");
}

/* One trust anchor: its DN and key bytes in a single allocation. */
static int anchor_fill(br_x509_trust_anchor *ta, const br_x509_pkey *pk,
		       const struct blob *dn)
{
	size_t klen = pk->key_type == BR_KEYTYPE_RSA ?
		      pk->key.rsa.nlen + pk->key.rsa.elen : pk->key.ec.qlen;
	unsigned char *m = malloc(dn->len + klen + 1);

	if (!m)
		return -ENOMEM;
	memcpy(m, dn->p, dn->len);
	ta->dn.data = m;
	ta->dn.len = dn->len;
	ta->pkey.key_type = pk->key_type;
	m += dn->len;
	if (pk->key_type == BR_KEYTYPE_RSA) {
		memcpy(m, pk->key.rsa.n, pk->key.rsa.nlen);
		memcpy(m + pk->key.rsa.nlen, pk->key.rsa.e, pk->key.rsa.elen);
		ta->pkey.key.rsa.n = m;
		ta->pkey.key.rsa.nlen = pk->key.rsa.nlen;
		ta->pkey.key.rsa.e = m + pk->key.rsa.nlen;
		ta->pkey.key.rsa.elen = pk->key.rsa.elen;
	} else {
		memcpy(m, pk->key.ec.q, pk->key.ec.qlen);
		ta->pkey.key.ec.curve = pk->key.ec.curve;
		ta->pkey.key.ec.q = m;
		ta->pkey.key.ec.qlen = pk->key.ec.qlen;
	}
	return 0;
}

static int add_anchor(void *arg, const char *name, struct blob *der)
{
	struct tls_config *cfg = arg;
	br_x509_decoder_context dc;
	const br_x509_pkey *pk;
	br_x509_trust_anchor *ta;
	struct blob dn = { 0 };
	int rc = 0;

	if (!is_cert(name))
		return 0;
	br_x509_decoder_init(&dc, blob_add, &dn);
	br_x509_decoder_push(&dc, der->p, der->len);
	pk = br_x509_decoder_get_pkey(&dc);
	if (dn.oom) {
		rc = -ENOMEM;
		goto out;
	}
	if (!pk || (pk->key_type != BR_KEYTYPE_RSA &&
		    pk->key_type != BR_KEYTYPE_EC)) {
		cfg->skipped++;
		goto out;
	}
	ta = realloc(cfg->anchors, (cfg->nanchors + 1) * sizeof(*ta));
	if (!ta) {
		rc = -ENOMEM;
		goto out;
	}
	cfg->anchors = ta;
	ta += cfg->nanchors;
	memset(ta, 0, sizeof(*ta));
	ta->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
	rc = anchor_fill(ta, pk, &dn);
	if (!rc)
		cfg->nanchors++;
out:
	free(dn.p);
	return rc;
}

int tls_config_add_ca_pem(struct tls_config *cfg, const void *pem, size_t len,
			  char *err, size_t errlen)
{
	size_t before = cfg->nanchors;
	char why[128] = "";
	int rc;

	rc = pem_each(pem, len, add_anchor, cfg, why, sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "CA file %s: %s", cfg->ca_file[0] ?
			 cfg->ca_file : "(memory)", why);
		return rc;
	}
	if (cfg->nanchors == before) {
		snprintf(err, errlen, "CA file %s: no usable certificate",
			 cfg->ca_file[0] ? cfg->ca_file : "(memory)");
		return -ENOENT;
	}
	return 0;
}

int tls_config_init(struct tls_config *cfg, const char *ca_file, char *err,
		    size_t errlen)
{
	struct blob b = { 0 };
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	if (!ca_file)
		ca_file = TLS_DEFAULT_CA_FILE;
	if (strlen(ca_file) >= sizeof(cfg->ca_file)) {
		snprintf(err, errlen, "CA file %s: name too long", ca_file);
		return -ENAMETOOLONG;
	}
	strcpy(cfg->ca_file, ca_file);
	rc = read_file(ca_file, &b, err, errlen);
	if (rc == 0)
		rc = tls_config_add_ca_pem(cfg, b.p, b.len, err, errlen);
	free(b.p);
	return rc;
}

static int add_chain_cert(void *arg, const char *name, struct blob *der)
{
	struct tls_config *cfg = arg;
	br_x509_certificate *c;

	if (!is_cert(name))
		return 0;
	c = realloc(cfg->chain, (cfg->nchain + 1) * sizeof(*c));
	if (!c)
		return -ENOMEM;
	cfg->chain = c;
	c[cfg->nchain].data = der->p;	/* take the buffer */
	c[cfg->nchain].data_len = der->len;
	cfg->nchain++;
	der->p = NULL;
	der->len = der->cap = 0;
	return 0;
}

static int add_key(void *arg, const char *name, struct blob *der)
{
	struct tls_config *cfg = arg;

	if (!strcmp(name, "ENCRYPTED PRIVATE KEY"))
		return -ENOTSUP;
	if (strcmp(name, "RSA PRIVATE KEY") && strcmp(name, "EC PRIVATE KEY") &&
	    strcmp(name, "PRIVATE KEY"))
		return 0;
	br_skey_decoder_init(&cfg->key);
	br_skey_decoder_push(&cfg->key, der->p, der->len);
	if (br_skey_decoder_last_error(&cfg->key))
		return -EINVAL;
	cfg->key_type = br_skey_decoder_key_type(&cfg->key);
	return 1;
}

static int issuer_type(const br_x509_certificate *c)
{
	br_x509_decoder_context dc;

	br_x509_decoder_init(&dc, NULL, NULL);
	br_x509_decoder_push(&dc, c->data, c->data_len);
	return br_x509_decoder_get_signer_key_type(&dc);
}

static int load_pem(const char *path, struct tls_config *cfg,
		    int (*fn)(void *, const char *, struct blob *),
		    char *err, size_t errlen)
{
	struct blob b = { 0 };
	char why[128] = "";
	int rc;

	rc = read_file(path, &b, err, errlen);
	if (rc == 0) {
		rc = pem_each(b.p, b.len, fn, cfg, why, sizeof(why));
		if (rc == -ENOTSUP || rc == -EINVAL)
			snprintf(err, errlen, "%s: %s", path, why[0] ? why :
				 rc == -ENOTSUP ? "encrypted keys are not "
				 "supported" : "cannot decode the private key");
		else if (rc < 0)
			snprintf(err, errlen, "%s: %s", path, why);
	}
	free(b.p);
	return rc;
}

int tls_config_client_cert(struct tls_config *cfg, const char *cert_file,
			   const char *key_file, char *err, size_t errlen)
{
	int rc;

	rc = load_pem(cert_file, cfg, add_chain_cert, err, errlen);
	if (rc < 0)
		return rc;
	if (!cfg->nchain) {
		snprintf(err, errlen, "%s: no certificate", cert_file);
		return -ENOENT;
	}
	cfg->issuer_key_type = issuer_type(&cfg->chain[0]);
	rc = load_pem(key_file, cfg, add_key, err, errlen);
	if (rc < 0)
		return rc;
	if (cfg->key_type != BR_KEYTYPE_RSA && cfg->key_type != BR_KEYTYPE_EC) {
		cfg->key_type = 0;
		snprintf(err, errlen, "%s: no RSA or EC private key",
			 key_file);
		return -ENOENT;
	}
	return 0;
}

void tls_config_free(struct tls_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nanchors; i++)
		free(cfg->anchors[i].dn.data);
	free(cfg->anchors);
	for (i = 0; i < cfg->nchain; i++)
		free(cfg->chain[i].data);
	free(cfg->chain);
	memset(cfg, 0, sizeof(*cfg));
}
