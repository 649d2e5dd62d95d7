/* flannel's subnet file (/run/flannel/subnet.env), read and written.
 *
 * flanneld writes (pkg/subnet WriteSubnetFile), in this order, only the
 * families it runs:
 *	FLANNEL_NETWORK=10.244.0.0/16
 *	FLANNEL_SUBNET=10.244.1.1/24		first host address / prefix
 *	FLANNEL_IPV6_NETWORK=fd00:10:244::/56
 *	FLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64
 *	FLANNEL_MTU=1450
 *	FLANNEL_IPMASQ=true
 * The reader follows the flannel CNI plugin: FLANNEL_NETWORK and
 * FLANNEL_IPV6_NETWORK are comma-separated lists (de-duplicated), a later
 * line overrides an earlier one, FLANNEL_IPMASQ is true only for "true",
 * unknown keys are ignored; required are a network and a subnet (of
 * either family), FLANNEL_MTU and FLANNEL_IPMASQ. It also accepts blank
 * lines, '#' comments, CRLF, an "export " prefix, white space around keys
 * and values, and values in single or double quotes. Stricter than
 * upstream: a subnet of the wrong family, or outside every network of its
 * family, is an error.
 */
#ifndef VPCNET_SUBNETENV_H
#define VPCNET_SUBNETENV_H

#include <stddef.h>

#include "ip.h"

#define SUBNETENV_DEFAULT_PATH "/run/flannel/subnet.env"
#define SUBNETENV_MAX_SIZE 65536 /* larger files are refused */
#define SUBNETENV_MAX_NETS 16	 /* per family */
#define SUBNETENV_ERRLEN 256

struct subnetenv {
	struct ipnet networks[SUBNETENV_MAX_NETS]; /* FLANNEL_NETWORK, masked */
	int nnetworks;
	struct ipnet networks6[SUBNETENV_MAX_NETS]; /* FLANNEL_IPV6_NETWORK */
	int nnetworks6;
	struct ipnet subnet;	   /* FLANNEL_SUBNET masked: 10.244.1.0/24;
				    * ip.family 0 = absent */
	struct ipnet subnet_addr;  /* as written: 10.244.1.1/24 */
	struct ipnet subnet6;	   /* FLANNEL_IPV6_SUBNET masked */
	struct ipnet subnet6_addr; /* as written */
	unsigned int mtu;	   /* FLANNEL_MTU (0..4294967295) */
	int ipmasq;		   /* FLANNEL_IPMASQ == "true" */
};

/* Parse len bytes of file contents. 0, or -EINVAL (-EFBIG when too large)
 * with a message naming the key: "FLANNEL_SUBNET is missing",
 * "bad CIDR in FLANNEL_NETWORK: 10.0.0.0/33", "bad FLANNEL_MTU: x". */
int subnetenv_parse(const char *buf, size_t len, struct subnetenv *out,
		    char *err, size_t errlen);

/* Read and parse path (NULL = SUBNETENV_DEFAULT_PATH). -errno of open/read
 * (-ENOENT when flanneld has not written it yet) with "open PATH: reason",
 * or parse errors prefixed "PATH: ". */
int subnetenv_load(const char *path, struct subnetenv *out, char *err,
		   size_t errlen);

/* Text exactly as flanneld writes it. The v4 lines are written when
 * subnet.ip.family is set, the v6 lines when subnet6.ip.family is;
 * FLANNEL_SUBNET is subnet_addr when set, else subnet's network + 1 (as
 * flanneld). Returns the length (without NUL) or -ENOSPC. */
int subnetenv_format(const struct subnetenv *se, char *buf, size_t len);

/* Write atomically: mkdir -p the directory (0755), tmp file in the same
 * directory, fsync, rename over path, fsync the directory; mode 0644. */
int subnetenv_write(const char *path, const struct subnetenv *se, char *err,
		    size_t errlen);

#endif
