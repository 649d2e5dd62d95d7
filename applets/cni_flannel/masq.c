/* cni-flannel: the per-network masquerade rule set (lib/nft_masq), set up
 * by the first ADD of a network and removed with its last lease. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cni_flannel.h"
#include "log.h"
#include "nft_dump.h"

static int count_lease(void *arg, const struct ipam_lease *l)
{
	if (l->status == IPAM_LEASE_OK || l->status == IPAM_LEASE_LEGACY ||
	    l->status == IPAM_LEASE_UNREADABLE)
		++*(int *)arg;
	return 0;
}

static int count_rule(const struct nft_rule_info *r, void *arg)
{
	++*(int *)arg;
	return 0;
}

/* The masquerade rule set is the same for every pod of a network: a
 * marker file (under the network lock) records what was programmed, so
 * only the first ADD, or one after a change or an external flush, pays
 * for the nftables transaction (~15 ms of kernel commit). */
static int masq_current(struct fl *f, struct nft_sock *s, const char *chain,
			const char *marker, const char *want, int nrules)
{
	char have[1024];
	ssize_t n;
	int fd, rules = 0;

	fd = open(marker, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, have, sizeof(have) - 1);
	close(fd);
	if (n < 0 || (size_t)n != strlen(want) || memcmp(have, want, n))
		return 0;
	if (nft_dump_rules(s, NFT_MASQ_FAMILY, NFT_MASQ_TABLE, chain,
			   count_rule, &rules) < 0)
		return 0;
	return rules == nrules;
}

static void masq_marker(const struct fl *f, const char *chain, char *buf,
			size_t len)
{
	snprintf(buf, len, "%s/.masq.%s", f->c.data_dir, chain);
}

static void masq_describe(const struct nft_masq *m, char *buf, size_t len,
			  int *nrules)
{
	char a[IPNET_STRLEN];
	size_t n = 0;
	int i, j;

	*nrules = 0;
	for (i = 0; i < m->nsubnets; i++) {
		n += snprintf(buf + n, len - n, "%s ",
			      ipnet_fmt(&m->subnets[i], a));
		*nrules += 2;
		for (j = 0; j < m->nclusters && n < len; j++)
			if (m->clusters[j].ip.family ==
			    m->subnets[i].ip.family)
				++*nrules;
	}
	for (j = 0; j < m->nclusters && n < len; j++)
		n += snprintf(buf + n, len - n, "-%s ",
			      ipnet_fmt(&m->clusters[j], a));
	if (n < len)
		snprintf(buf + n, len - n, "\n");
}

static int masq_program(struct fl *f, const struct nft_masq *m)
{
	char want[1024], chain[NFT_MASQ_CHAIN_MAX], marker[FL_PATH_MAX],
	     tmp[FL_PATH_MAX + 8], buf[256];
	struct nft_sock s;
	struct nft_err e;
	int r, nrules, fd;

	masq_describe(m, want, sizeof(want), &nrules);
	if (nft_masq_chain_name(m->network, chain, sizeof(chain)) < 0)
		return cni_errf(&f->e, CNI_ERR_CONFIG, "ipMasq: network name "
				"\"%s\" cannot name a chain", m->network);
	masq_marker(f, chain, marker, sizeof(marker));
	r = nft_open(&s);
	if (r < 0)
		return cni_errf(&f->e, CNI_ERR_PLUGIN, "nfnetlink socket: %s",
				strerror(-r));
	if (masq_current(f, &s, chain, marker, want, nrules)) {
		nft_close(&s);
		return 0;
	}
	r = nft_masq_setup(&s, m, &e);
	nft_close(&s);
	if (r < 0)
		return cni_errf(&f->e, CNI_ERR_PLUGIN, "ipMasq: %s",
				nft_err_fmt(&e, buf, sizeof(buf)));
	snprintf(tmp, sizeof(tmp), "%s.tmp", marker);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (write(fd, want, strlen(want)) == (ssize_t)strlen(want))
			rename(tmp, marker);
		close(fd);
		unlink(tmp);
	}
	return 0;
}

int fl_masq_setup(struct fl *f)
{
	struct nft_masq m = { 0 };
	struct ipnet subnets[2], clusters[2 * SUBNETENV_MAX_NETS];
	const struct subnetenv *se = &f->c.se;
	int i;

	m.network = f->c.cni.name;
	m.subnets = subnets;
	m.clusters = clusters;
	if (se->subnet.ip.family)
		subnets[m.nsubnets++] = se->subnet;
	if (se->subnet6.ip.family)
		subnets[m.nsubnets++] = se->subnet6;
	for (i = 0; i < se->nnetworks && m.nclusters < NFT_MASQ_MAX_CLUSTERS;
	     i++)
		clusters[m.nclusters++] = se->networks[i];
	for (i = 0; i < se->nnetworks6 && m.nclusters < NFT_MASQ_MAX_CLUSTERS;
	     i++)
		clusters[m.nclusters++] = se->networks6[i];
	return masq_program(f, &m);
}

/* Masquerade rules live as long as the network has leases on this node.
 * Called with the network lock held. */
void fl_masq_release(struct fl *f, struct ipam *h)
{
	char chain[NFT_MASQ_CHAIN_MAX], marker[FL_PATH_MAX],
	     tmp[FL_PATH_MAX + 8], buf[256];
	struct nft_sock s;
	struct nft_err e;
	int n = 0;

	if (ipam_list(h, count_lease, &n) < 0 || n > 0)
		return;
	if (nft_masq_chain_name(f->c.cni.name, chain, sizeof(chain)) == 0) {
		masq_marker(f, chain, marker, sizeof(marker));
		unlink(marker);
		snprintf(tmp, sizeof(tmp), "%s.tmp", marker);	/* killed ADD */
		unlink(tmp);
	}
	if (nft_open(&s) < 0)
		return;
	if (nft_masq_teardown(&s, f->c.cni.name, &e) < 0)
		log_warn("masquerade teardown for %s: %s", f->c.cni.name,
			 nft_err_fmt(&e, buf, sizeof(buf)));
	nft_close(&s);
}

