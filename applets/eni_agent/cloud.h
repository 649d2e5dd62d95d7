/* eni-agent: the worker's cloud client (cloud.c) and the ENI operations
 * built on it (eni.c).  Worker thread only. */
#ifndef VPCNET_EA_CLOUD_H
#define VPCNET_EA_CLOUD_H

#include "agent.h"
#include "json.h"

struct ea_bucket {
	char action[48];
	double tokens, burst, per_ms;
	int64_t last_ms;
};

struct ea_cloud {
	struct agent *ag;
	struct aliyun_client cl;
	struct http_conn *conn, *meta_conn;
	struct tls_config tls;
	int have_tls;
	struct aliyun_meta meta;
	enum ea_cred_kind kind;
	int64_t refresh_ms;	/* credentials: read again at; 0 never */
	char err[EA_ERR_SIZE];	/* credentials */
	struct ea_bucket b[EA_MAX_ACTIONS];
	int nb;
	/* the last reply */
	char *body;
	size_t len;
	struct arena a;
	struct json_doc doc;
	int have_doc;
	struct aliyun_error e;
};

int ea_cloud_init(struct ea_cloud *c, struct agent *ag, char *err,
		  size_t errlen);
void ea_cloud_free(struct ea_cloud *c);
/* Load (force) or refresh when due: 0 or -errno (c->err). */
int ea_cloud_creds(struct ea_cloud *c, int force);
const char *ea_cred_kind_name(enum ea_cred_kind k);
/* One call: 0 with c->doc the reply; -EREMOTEIO with c->e.code, message,
 * request_id; other -errno with c->e.message. */
int ea_api(struct ea_cloud *c, enum aliyun_product p, const char *action,
	   const struct aliyun_param *params, size_t n);
const char *ea_api_err(const struct ea_cloud *c);
/* metadata value: 0, -ENOENT, -errno */
int ea_meta(struct ea_cloud *c, const char *path, char *out, size_t cap);
void ea_client_token(char out[33]);
int64_t ea_parse_iso8601(const char *s);

/* --- eni.c ---------------------------------------------------------------- */

/* An ENI as DescribeNetworkInterfaces (or CreateNetworkInterface) tells. */
struct ea_ceni {
	char id[EA_ID_MAX], mac[EA_MAC_MAX], vsw[EA_ID_MAX];
	char status[24], type[16], instance[EA_ID_MAX], zone[64];
	struct in_addr primary;
	struct in_addr ip[EA_MAX_ENI_IPS];	/* secondary IPs */
	int nips;
	int ours;		/* tagged by an eni-agent */
	char tag_instance[EA_ID_MAX];
	int exclusive;		/* tagged mode=eni */
	char sg[EA_MAX_SG][EA_ID_MAX];
	int nsg;
};

typedef int (*ea_ceni_fn)(void *arg, const struct ea_ceni *e);

int ea_ceni_parse(const struct json_doc *d, int obj, struct ea_ceni *out);
/* DescribeNetworkInterfaces with these filters, every page. */
int ea_describe_enis(struct ea_cloud *c, const struct aliyun_param *f,
		     size_t nf, ea_ceni_fn fn, void *arg);
/* One ENI by ID: 0, -ENOENT, -errno. */
int ea_describe_eni(struct ea_cloud *c, const char *id, struct ea_ceni *out);
/* CreateNetworkInterface in vsw with 1 + secondary IPs, tagged as ours
 * (exclusive: mode=eni), with a ClientToken. */
int ea_create_eni(struct ea_cloud *c, const char *vsw, int secondary,
		  int exclusive, struct ea_ceni *out);
/* AttachNetworkInterface, then DescribeNetworkInterfaces until InUse,
 * at most timeout_ms: 0, -ETIMEDOUT, -errno. */
int ea_attach_eni(struct ea_cloud *c, const char *id, int timeout_ms,
		  struct ea_ceni *out);
/* DescribeNetworkInterfaces until the ENI has status want, at most
 * timeout_ms: 0, -ETIMEDOUT, -ENOENT, -errno. */
int ea_wait_eni(struct ea_cloud *c, const char *id, const char *want,
		int timeout_ms, struct ea_ceni *out);
/* Detach (when attached) until Available, then delete.  An ENI that is
 * already gone counts as deleted. */
int ea_detach_delete_eni(struct ea_cloud *c, const char *id,
			 int timeout_ms);
int ea_assign_ips(struct ea_cloud *c, const char *eni, int n,
		  struct in_addr *out, int *got);
int ea_unassign_ips(struct ea_cloud *c, const char *eni,
		    const struct in_addr *ips, int n);
/* AvailableIpAddressCount of each vSwitch (free = -1 when unknown). */
int ea_describe_vswitches(struct ea_cloud *c, struct ea_vsw_info *v, int n);
int ea_instance_type(struct ea_cloud *c, const char *type, int *enis,
		     int *ips);
/* API error codes that mean "no more": vSwitch, quota. */
int ea_err_vsw_full(const char *code);

#endif
