/* TLS 1.2 client over BearSSL.
 *
 * A tls_config holds what is shared by connections: trust anchors from a
 * PEM bundle and an optional client certificate chain + private key (RSA or
 * EC).  Certificate verification cannot be switched off.  A tls_conn drives
 * one connection over a connected non-blocking fd, with caller-provided
 * buffers (TLS_IOBUF_SIZE bytes, as in BearSSL's samples/client_basic.c)
 * and poll()-based timeouts.  The server certificate must chain to an
 * anchor and match the name: DNS names (wildcards as BearSSL allows) or, for
 * an IP literal, an iPAddress subjectAltName; SNI is sent for DNS names.
 * Only TLS 1.2 with ECDHE + AES-GCM or ChaCha20-Poly1305 suites is offered.
 * Functions return 0 (or a count) or -errno and fill err with a message
 * such as "TLS handshake with api.example: server certificate is not
 * signed by a trusted CA (CA file /etc/ca.pem) [BR_ERR_X509_NOT_TRUSTED]". */
#ifndef VPCNET_TLS_H
#define VPCNET_TLS_H

#include <bearssl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TLS_DEFAULT_CA_FILE	"/etc/ssl/certs/ca-certificates.crt"
#define TLS_IOBUF_SIZE		BR_SSL_BUFSIZE_BIDI
#define TLS_EE_MAX		16384	/* kept for the IP SAN check */
#define TLS_MAX_FILE		(8 << 20)

struct tls_config {
	br_x509_trust_anchor *anchors;
	size_t nanchors;
	size_t skipped;		/* certificates BearSSL cannot use */
	char ca_file[256];	/* named in messages */
	br_x509_certificate *chain;	/* client chain, EE first */
	size_t nchain;
	int key_type;		/* 0 (none), BR_KEYTYPE_RSA or _EC */
	int issuer_key_type;	/* key type of the client cert's CA */
	br_skey_decoder_context key;	/* holds the decoded private key */
	int64_t now;		/* validation time (unix); 0: clock */
};

/* Load trust anchors from a PEM file (NULL: TLS_DEFAULT_CA_FILE).  Fails
 * when the file holds no usable certificate.  Free with tls_config_free()
 * even after a failure. */
int tls_config_init(struct tls_config *cfg, const char *ca_file, char *err,
		    size_t errlen);

/* Add the certificates of an in-memory PEM bundle as trust anchors. */
int tls_config_add_ca_pem(struct tls_config *cfg, const void *pem, size_t len,
			  char *err, size_t errlen);

/* Client authentication: PEM certificate chain + PEM private key
 * ("RSA PRIVATE KEY", "EC PRIVATE KEY" or unencrypted PKCS#8). */
int tls_config_client_cert(struct tls_config *cfg, const char *cert_file,
			   const char *key_file, char *err, size_t errlen);

void tls_config_free(struct tls_config *cfg);

/* X.509 engine: BearSSL's minimal validator plus an IP SAN check. */
struct tls_x509 {
	const br_x509_class *vtable;
	br_x509_minimal_context minimal;
	unsigned char ee[TLS_EE_MAX];
	size_t ee_len;
	int ncert;
	int ee_big;
	unsigned char ip[16];
	size_t iplen;		/* 0: the name is a DNS name */
};

struct tls_conn {
	br_ssl_client_context cc;
	struct tls_x509 x509;
	int fd;
	int idle_ms;		/* longest wait per read/write; -1 */
	int64_t deadline_ms;	/* sock_now_ms() deadline, 0 none */
	int sys_err;		/* errno of the last transport failure */
	int eof;		/* the peer closed the transport */
	int failed;		/* transport failed: conn is dead */
	const struct tls_config *cfg;
	char name[256];
};

/* Handshake with the server at fd (connected; tls_conn does not close it).
 * name: host name or IP literal the certificate must match. */
int tls_connect(struct tls_conn *t, const struct tls_config *cfg, int fd,
		const char *name, void *iobuf, size_t iolen, char *err,
		size_t errlen);

/* Application data: > 0 bytes, 0 at the end of the stream (close_notify,
 * or the transport closed after a complete record), or -errno. */
ssize_t tls_read(struct tls_conn *t, void *buf, size_t len, char *err,
		 size_t errlen);

/* Queue len bytes; tls_flush() sends them. */
int tls_write(struct tls_conn *t, const void *buf, size_t len, char *err,
	      size_t errlen);
int tls_flush(struct tls_conn *t, char *err, size_t errlen);

/* Send close_notify (best effort, does not wait for the peer). */
void tls_close(struct tls_conn *t);

/* "BR_ERR_X509_NOT_TRUSTED"-style name and a sentence for a BearSSL error
 * code (including received/sent alerts). */
const char *tls_error_name(int br_err);
const char *tls_error_text(int br_err);

#endif
