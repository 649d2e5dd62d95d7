/* host-local compatible IP address management.
 *
 * The store is byte-compatible with containernetworking-plugins' host-local,
 * so a node can switch between it and vpcnet in either direction:
 *   <dataDir>/<network>/       mode 0755 (dataDir default below)
 *     <ip>                     one file per lease, O_EXCL, mode 0600, holding
 *                              "<containerid>\r\n<ifname>"; files holding
 *                              only "<containerid>" are read as legacy
 *     last_reserved_ip.<set>   last IP handed out from range set <set>
 *     lock                     flock(LOCK_EX) held for a whole call
 * Lease names are Go's net.IP.String() text (RFC 5952 for IPv6); files with
 * other names are ignored, as upstream ignores them.
 *
 * Like upstream, nothing is fsynced: a lease only matters while its pod
 * runs, and a power loss ends every pod on the node (what it leaves, an
 * empty lease or a lease of a dead pod, the rules below and GC clear).
 * Unlike upstream: an empty or corrupt lease file is treated as free (and reported through h->notice); a
 * failed ADD rolls back only what it created (upstream releases every lease
 * of the container); the duplicate (containerid, ifname) check is also done
 * when a specific IP is requested. ADD for a (containerid, ifname) that
 * already holds a lease in a range set fails with -EEXIST, as upstream.
 *
 * Every call returns 0 (or a count) or -errno, with a message in h->err.
 * Cost per call: one readdir and one read of each lease file (upstream reads
 * every file once per range set and again per DEL match pass).
 */
#ifndef VPCNET_IPAM_H
#define VPCNET_IPAM_H

#include <limits.h>
#include <stddef.h>

#include "ip.h"

#define IPAM_DEFAULT_DATA_DIR "/var/lib/cni/networks"
#define IPAM_MAX_RANGES 16 /* ranges in one range set */
#define IPAM_MAX_SETS 8	   /* range sets (= addresses) per ADD */
#define IPAM_CID_MAX 1024  /* container id, with NUL */
#define IPAM_IFNAME_MAX 64 /* interface name, with NUL */
#define IPAM_ERRLEN 512
#define IPAM_LEASE_FILE_MAX 2048 /* larger lease files are corrupt */

/* One range. Fill subnet (host bits are an error); leave start, end and
 * gateway with family 0 for upstream's defaults: gateway = network+1,
 * start = network+1 (the gateway is skipped), end = last address (IPv4:
 * broadcast-1). ipam_canon() fills them in. */
struct ipam_range {
	struct ipnet subnet;
	struct ipaddr start;
	struct ipaddr end;
	struct ipaddr gateway;
};

/* A range set: one address per ADD comes from the set; its ranges share a
 * family and do not overlap. */
struct ipam_rangeset {
	struct ipam_range r[IPAM_MAX_RANGES];
	int n;
};

/* Parse one range from strings (NULL or "" = absent) into r (not yet
 * canonical). -EINVAL with a message naming the bad value. */
int ipam_range_parse(struct ipam_range *r, const char *subnet,
		     const char *start, const char *end, const char *gateway,
		     char *err, size_t errlen);

/* Validate and fill defaults of every range of every set, as upstream's
 * LoadIPAMConfig: "invalid range set 0: Network 10.0.0.0/31 too small to
 * allocate from", "... mixed address families", "... subnets X and Y
 * overlap", "range set 0 overlaps with 1", host bits, start/end/gateway
 * outside the subnet, IPv4-mapped IPv6. Returns 0 or -EINVAL. */
int ipam_canon(struct ipam_rangeset *sets, int nsets, char *err, size_t errlen);

/* Go-compatible text of an address (the lease file name). */
const char *ipam_ip_fmt(const struct ipaddr *a, char buf[IP_STRLEN]);

/* "start-end,start-end" as upstream prints a range set in errors. */
const char *ipam_rangeset_fmt(const struct ipam_rangeset *s, char *buf,
			      size_t len);

/* Index of the range of s whose start..end holds a, or -1. */
int ipam_rangeset_find(const struct ipam_rangeset *s, const struct ipaddr *a);

struct ipam {
	int dirfd;
	int lockfd;
	char dir[PATH_MAX];
	char err[IPAM_ERRLEN];
	/* Optional: called (with the lock held) for each empty, corrupt
	 * or unreadable lease file met, and for each lease GC removes. */
	void (*notice)(void *arg, const char *msg);
	void *notice_arg;
	int ncorrupt; /* empty/corrupt lease files seen, last call */
};

/* Open (creating with mode 0755) <data_dir>/<network>/ and its lock file.
 * data_dir NULL or "" = IPAM_DEFAULT_DATA_DIR. network must be a plain
 * file name (no '/', not "." or ".."). Does not take the lock. */
int ipam_open(struct ipam *h, const char *data_dir, const char *network);
void ipam_close(struct ipam *h);

struct ipam_lease {
	struct ipaddr ip;
	int prefix;	       /* of its range's subnet (ADD only) */
	struct ipaddr gateway; /* of its range (ADD only) */
	int set;	       /* range set index (ADD only), else -1 */
	char cid[IPAM_CID_MAX];
	char ifname[IPAM_IFNAME_MAX]; /* "" in legacy id-only files */
	int status;		      /* IPAM_LEASE_* (ipam_list) */
};

enum {
	IPAM_LEASE_OK = 0,     /* "<cid>\r\n<ifname>" */
	IPAM_LEASE_LEGACY,     /* "<cid>" only */
	IPAM_LEASE_EMPTY,      /* empty or only white space: free */
	IPAM_LEASE_CORRUPT,    /* unparsable: free */
	IPAM_LEASE_UNREADABLE, /* open/read failed: kept as taken */
};

struct ipam_request {
	const char *cid;		  /* CNI_CONTAINERID (trimmed) */
	const char *ifname;		  /* CNI_IFNAME */
	const struct ipam_rangeset *sets; /* canonical (ipam_canon) */
	int nsets;
	/* CNI_ARGS IP=, args.cni.ips, runtimeConfig.ips (max 64) */
	const struct ipaddr *requested;
	int nrequested;
};

/* ADD: one address from each range set, out[i] for sets[i]. For each set,
 * the first requested IP it contains is taken if free (else -EADDRINUSE,
 * or -EINVAL for the gateway); otherwise round-robin from
 * last_reserved_ip.<i> + 1, wrapping, skipping the gateway, the network
 * address and the IPv4 broadcast. Errors (message as upstream's, prefixed
 * "failed to allocate for range <i>: "):
 *	-EEXIST		(cid, ifname) already holds an address of the set
 *	-EADDRNOTAVAIL	"no IP addresses available in range set: ..."
 *			(the caller picks the CNI code; upstream uses 999)
 *	-ENOSPC, -EROFS, -EIO ...	the lease store cannot be written
 *	-EADDRINUSE	requested IP taken
 *	-EINVAL		bad request, or a requested IP in no range set
 *			("failed to allocate all requested IPs: ...")
 * On error nothing this call created is left behind. */
int ipam_add(struct ipam *h, const struct ipam_request *req,
	     struct ipam_lease out[]);

/* DEL: remove the leases of (cid, ifname); if there are none, those of
 * legacy id-only files of cid (upstream's fallback). Returns how many were
 * removed (0 is success: DEL is idempotent); their addresses go to
 * released[0..max-1] when released is not NULL. */
int ipam_del(struct ipam *h, const char *cid, const char *ifname,
	     struct ipaddr *released, int max);

/* Leases held by (cid, ifname) (legacy files of cid included), for CHECK.
 * Returns the count (0 = none), filling out[0..max-1]. */
int ipam_find(struct ipam *h, const char *cid, const char *ifname,
	      struct ipam_lease *out, int max);

/* Every IP-named file in the store, with its status; fn returning non-zero
 * stops the walk and that value is returned. */
int ipam_list(struct ipam *h, int (*fn)(void *arg, const struct ipam_lease *l),
	      void *arg);

struct ipam_attachment {
	const char *cid;
	const char *ifname;
};

/* GC: remove every lease whose (cid, ifname) is not in valid[] (a legacy
 * lease survives if its cid is), and every empty or corrupt lease file.
 * lock and last_reserved_ip.* stay. Returns how many were removed. */
int ipam_gc(struct ipam *h, const struct ipam_attachment *valid, int nvalid);

/* Parse lease file contents: IPAM_LEASE_OK, _LEGACY, _EMPTY or _CORRUPT.
 * cid/ifname get the owner ("" unless OK/LEGACY). */
int ipam_lease_parse(const char *buf, size_t len, char *cid, size_t cidlen,
		     char *ifname, size_t iflen);

#endif
