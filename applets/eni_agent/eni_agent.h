/* eni-agent internals, shared by the files of applets/eni_agent/. */
#ifndef VPCNET_ENI_AGENT_H
#define VPCNET_ENI_AGENT_H

#include <stddef.h>
#include <stdio.h>

#include "aliyun.h"

#define EA_DEFAULT_CONFIG	"/etc/vpcnet/eni-agent.json"
#define EA_MAX_CONFIG		(1 << 20)	/* bytes of a config file */
#define EA_ERR_SIZE		512

/* Exit codes of the operator commands. */
enum { EA_EXIT_OK = 0, EA_EXIT_FAIL = 1, EA_EXIT_USAGE = 2 };

/* The settings of the agent config file (Terway eni.json keys) that the
 * operator commands use.  Secrets live here only until the command ends
 * (ea_config_clear wipes them). */
struct ea_config {
	char path[256];			/* "" when no file was read */
	char region[64];		/* region_id, "" when absent */
	struct aliyun_cred cred;	/* access_key or credential_path */
	int have_cred;
	char cred_from[300];		/* "access_key in FILE", ... */
};

/* config.c */

/* Read path (a JSON object).  A missing file is -ENOENT (err says so);
 * a wrong type or an incomplete credential pair is -EINVAL with the key
 * named in err.  Unknown keys are ignored here. */
int ea_config_load(struct ea_config *c, const char *path, char *err,
		   size_t errlen);
void ea_config_clear(struct ea_config *c);

/* Terway's encrypted credential file (credential_path, e.g.
 * /var/addon/token-config): JSON {access.key.id, access.key.secret,
 * security.token, expiration, keyring}, each secret base64(IV || AES-CBC
 * with PKCS#7 padding) under the key "keyring" (16, 24 or 32 bytes). */
int ea_cred_file(const char *path, struct aliyun_cred *cred,
		 char *expiration, size_t explen, char *err, size_t errlen);

/* Read a whole (small) file into a malloc'd NUL-terminated buffer. */
int ea_read_file(const char *path, size_t max, char **out, size_t *len);

/* jsonfmt.c: print a JSON reply as the aliyun CLI does (Go's encoder:
 * object keys sorted, tab indentation, numbers as received); text that
 * does not parse is printed as it is.  0 or -errno (write error). */
int ea_json_print(FILE *f, const char *text, size_t len);

/* api.c, metadata.c: the operator commands (argv[0] is the command) */
extern const char ea_api_help[];
int ea_api_main(int argc, char **argv);
extern const char ea_metadata_help[];
int ea_metadata_main(int argc, char **argv);
/* run.c, call.c: the daemon and its socket client */
extern const char ea_run_help[];
int ea_run_main(int argc, char **argv);
extern const char ea_call_help[];
int ea_call_main(int argc, char **argv);

/* main.c: "eni-agent CMD: " + message on stderr */
void ea_errorf(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Usage error: the message, then "try eni-agent CMD --help"; returns
 * EA_EXIT_USAGE. */
int ea_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
