/* lib/nft, nft_dump, nft_masq against the kernel, in a private netns.
 * Verified both by netlink dumps and by the nft binary's listing. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <linux/netlink.h>

#include "nft.h"
#include "nft_dump.h"
#include "nft_masq.h"
#include "test.h"

#define T "nftt"
#define INET NFPROTO_INET

static struct nft_sock sock;
static char big[4 << 20];
static char out[1 << 16];

/* Run a shell command, its stdout into out. */
static const char *sh(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	size_t n = 0;

	out[0] = 0;
	if (!f)
		return out;
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = 0;
	pclose(f);
	return out;
}

#define CHECK_HAS(hay, needle) do {					\
	if (!strstr((hay), (needle))) {					\
		fprintf(stderr, "%s:%d: missing \"%s\" in:\n%s\n",	\
			__FILE__, __LINE__, (needle), (hay));		\
		test_failed_checks++;					\
	}								\
} while (0)

static int send_batch(struct nft_batch *b, struct nft_err *e)
{
	char msg[512];
	int err = nft_batch_send(&sock, b, e);

	if (err && e && getenv("NFT_TEST_VERBOSE"))
		fprintf(stderr, "# %s\n", nft_err_fmt(e, msg, sizeof(msg)));
	return err;
}

static int count_chain(const struct nft_chain_info *c, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int count_rule(const struct nft_rule_info *r, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int nrules(const char *table, const char *chain)
{
	int n = 0, err;

	err = nft_dump_rules(&sock, INET, table, chain, count_rule, &n);
	return err ? err : n;
}

static int nchains(const char *table)
{
	int n = 0, err;

	err = nft_dump_chains(&sock, INET, table, count_chain, &n);
	return err ? err : n;
}

static void base_chains(struct nft_batch *b)
{
	struct nft_hook fw = { "filter", NF_INET_FORWARD, 0, 1 };

	nft_table_add(b, INET, T);
	nft_chain_add(b, INET, T, "fw", &fw);
	nft_chain_add(b, INET, T, "c", NULL);
}

static int base_cb(const struct nft_chain_info *c, void *arg)
{
	if (!strcmp(c->name, "fw")) {
		CHECK_INT(c->base, 1);
		CHECK_INT(c->hooknum, NF_INET_FORWARD);
		CHECK_INT(c->prio, 0);
		CHECK_INT(c->policy, NF_DROP);
		CHECK_STR(c->type, "filter");
		CHECK_STR(c->table, T);
		(*(int *)arg)++;
	} else if (!strcmp(c->name, "c")) {
		CHECK_INT(c->base, 0);
		(*(int *)arg)++;
	}
	return 0;
}

static void test_tables_chains_idempotent(void)
{
	struct nft_batch b;
	struct nft_err e;
	int n = 0;

	nft_batch_init(&b, big, sizeof(big));
	base_chains(&b);
	CHECK_INT(send_batch(&b, &e), 0);
	nft_batch_init(&b, big, sizeof(big));
	base_chains(&b);
	CHECK_INT(send_batch(&b, &e), 0);
	CHECK_INT(nft_dump_table_exists(&sock, INET, T), 1);
	CHECK_INT(nft_dump_table_exists(&sock, INET, "nftt-none"), 0);
	CHECK_INT(nft_dump_table_exists(&sock, NFPROTO_IPV4, T), 0);
	CHECK_INT(nft_dump_chains(&sock, INET, T, base_cb, &n), 0);
	CHECK_INT(n, 2);
	CHECK_HAS(sh("nft list table inet " T),
		  "type filter hook forward priority filter; policy drop;");
}

static void rules(struct nft_batch *b)
{
	struct ipnet n4, n6;

	ipnet_parse("10.0.0.0/8", &n4);
	ipnet_parse("fd00::/8", &n6);
	nft_rule_begin(b, INET, T, "fw");
	nft_match_ct_state(b, NFT_CTSTATE_ESTABLISHED | NFT_CTSTATE_RELATED);
	nft_verdict(b, NF_ACCEPT, NULL);
	nft_rule_end(b);
	nft_rule_begin(b, INET, T, "fw");
	nft_match_addr(b, 0, NFT_CMP_EQ, &n4);
	nft_match_port(b, IPPROTO_TCP, 1, NFT_CMP_EQ, 80);
	nft_expr_counter(b);
	nft_verdict(b, NF_ACCEPT, NULL);
	nft_rule_end(b);
	nft_rule_begin(b, INET, T, "fw");
	nft_match_addr(b, 1, NFT_CMP_NEQ, &n6);
	nft_match_port_range(b, IPPROTO_UDP, 1, 1000, 2000);
	nft_verdict(b, NF_DROP, NULL);
	nft_rule_end(b);
	nft_rule_begin(b, INET, T, "fw");
	nft_match_ifname(b, 0, NFT_CMP_EQ, "eth0");
	nft_verdict(b, NFT_JUMP, "c");
	nft_rule_end(b);
	nft_rule_begin(b, INET, T, "c");
	nft_match_mark(b, NFT_CMP_EQ, 0x10, 0xff);
	nft_verdict(b, NFT_RETURN, NULL);
	nft_rule_end(b);
	nft_rule_begin(b, INET, T, "c");
	nft_match_ifname(b, 1, NFT_CMP_NEQ, "lo");
	nft_verdict(b, NFT_GOTO, "c2");
	nft_rule_end(b);
}

static int exprs_cb(const struct nft_rule_info *r, void *arg)
{
	if (!*(int *)arg)
		CHECK_STR(r->exprs, "ct bitwise cmp immediate");
	CHECK(r->handle > 0);
	CHECK(r->expressions != NULL);
	(*(int *)arg)++;
	return 0;
}

static void test_rules(void)
{
	struct nft_batch b;
	struct nft_err e;
	const char *o;
	int n = 0;

	nft_batch_init(&b, big, sizeof(big));
	nft_chain_add(&b, INET, T, "c2", NULL);
	rules(&b);
	CHECK_INT(send_batch(&b, &e), 0);
	CHECK_INT(nft_dump_rules(&sock, INET, T, "fw", exprs_cb, &n), 0);
	CHECK_INT(n, 4);
	CHECK_INT(nrules(T, "c"), 2);
	CHECK_INT(nrules(T, NULL), 6);
	o = sh("nft list table inet " T);
	CHECK_HAS(o, "ct state established,related accept");
	CHECK_HAS(o, "ip saddr 10.0.0.0/8 tcp dport 80 counter packets 0 "
		  "bytes 0 accept");
	CHECK_HAS(o, "ip6 daddr != fd00::/8 udp dport 1000-2000 drop");
	CHECK_HAS(o, "iifname \"eth0\" jump c");
	CHECK_HAS(o, "meta mark & 0x000000ff == 0x00000010 return");
	CHECK_HAS(o, "oifname != \"lo\" goto c2");
	o = sh("nft -j list chain inet " T " fw");
	CHECK_HAS(o, "\"jump\": {\"target\": \"c\"}");
	CHECK_HAS(o, "\"prefix\": {\"addr\": \"10.0.0.0\", \"len\": 8}");
}

static void sets(struct nft_batch *b)
{
	static const uint8_t fields[] = { 4, 4 };
	struct nft_set_spec cidr = { "cidr", 1, NFT_SET_INTERVAL,
				     NFT_TYPE_IPADDR, 4, 0, 0, NULL, 0 };
	struct nft_set_spec vm = { "vm", 2, NFT_SET_MAP, NFT_TYPE_IPADDR, 4,
				   NFT_DATA_VERDICT, 0, NULL, 0 };
	struct nft_set_spec cc = { "cc", 3, NFT_SET_INTERVAL | NFT_SET_CONCAT,
				   nft_type_concat(NFT_TYPE_IPADDR,
						   NFT_TYPE_INET_SERVICE),
				   8, 0, 0, fields, 2 };
	struct ipnet n;
	uint8_t k[4] = { 10, 244, 1, 5 };
	uint8_t lo[8] = { 10, 244, 1, 0, 0, 80 }, hi[8] = { 10, 244, 1, 255,
							    0, 81 };

	nft_set_add(b, INET, T, &cidr);
	nft_set_add(b, INET, T, &vm);
	nft_set_add(b, INET, T, &cc);
	nft_elems_begin(b, 0, INET, T, "cidr");
	ipnet_parse("10.0.0.0/8", &n);
	nft_elem_ipnet(b, &n);
	ipnet_parse("192.168.1.0/24", &n);
	nft_elem_ipnet(b, &n);
	ipnet_parse("255.255.255.0/24", &n);	/* open-ended: no end */
	nft_elem_ipnet(b, &n);
	nft_elems_end(b);
	nft_elems_begin(b, 0, INET, T, "vm");
	nft_elem_verdict(b, k, 4, NFT_JUMP, "c3");
	k[3] = 6;
	nft_elem_verdict(b, k, 4, NF_DROP, NULL);
	nft_elems_end(b);
	nft_elems_begin(b, 0, INET, T, "cc");
	nft_elem_concat_range(b, lo, hi, 8);
	nft_elems_end(b);
}

static void set_rules(struct nft_batch *b)
{
	nft_rule_begin(b, INET, T, "c2");
	nft_load_addr(b, AF_INET, 1, NFT_REG_1);
	nft_expr_lookup(b, "vm", 0, NFT_REG_1, NFT_REG_VERDICT, 0);
	nft_rule_end(b);
	nft_rule_begin(b, INET, T, "c2");
	nft_match_addr_set(b, AF_INET, 0, "cidr", 1);
	nft_verdict(b, NF_DROP, NULL);
	nft_rule_end(b);
	nft_rule_begin(b, INET, T, "c2");
	nft_load_addr(b, AF_INET, 0, NFT_REG32_00);
	nft_load_port(b, IPPROTO_TCP, 1, NFT_REG32_01);
	nft_expr_lookup(b, "cc", 0, NFT_REG32_00, NFT_NO_DREG, 0);
	nft_verdict(b, NF_ACCEPT, NULL);
	nft_rule_end(b);
}

static int set_cb(const struct nft_set_info *s, void *arg)
{
	if (!strcmp(s->name, "vm")) {
		CHECK_INT(s->flags & NFT_SET_MAP, NFT_SET_MAP);
		CHECK_INT(s->data_type, NFT_DATA_VERDICT);
		CHECK_INT(s->key_len, 4);
	}
	(*(int *)arg)++;
	return 0;
}

static void test_sets_maps(void)
{
	struct nft_batch b;
	struct nft_err e;
	struct ipnet n;
	const char *o;
	int count = 0;

	nft_batch_init(&b, big, sizeof(big));
	nft_chain_add(&b, INET, T, "c3", NULL);
	sets(&b);
	set_rules(&b);
	CHECK_INT(send_batch(&b, &e), 0);
	CHECK_INT(nft_dump_sets(&sock, INET, T, set_cb, &count), 0);
	CHECK_INT(count, 3);
	o = sh("nft list table inet " T);
	CHECK_HAS(o, "elements = { 10.0.0.0/8, 192.168.1.0/24,");
	CHECK_HAS(o, "255.255.255.0/24 }");
	CHECK_HAS(o, "elements = { 10.244.1.5 : jump c3, 10.244.1.6 : drop }");
	CHECK_HAS(o, "elements = { 10.244.1.0/24 . 80-81 }");
	CHECK_HAS(o, "ip daddr vmap @vm");
	CHECK_HAS(o, "ip saddr != @cidr drop");
	CHECK_HAS(o, "ip saddr . tcp dport @cc accept");
	/* adding what is there already is fine */
	nft_batch_init(&b, big, sizeof(big));
	nft_elems_begin(&b, 0, INET, T, "cidr");
	ipnet_parse("10.0.0.0/8", &n);
	nft_elem_ipnet(&b, &n);
	nft_elems_end(&b);
	nft_elems_begin(&b, 0, INET, T, "vm");
	nft_elem_verdict(&b, "\x0a\xf4\x01\x06", 4, NF_DROP, NULL);
	nft_elems_end(&b);
	CHECK_INT(send_batch(&b, &e), 0);
	/* delete one interval, then flush */
	nft_batch_init(&b, big, sizeof(big));
	nft_elems_begin(&b, 1, INET, T, "cidr");
	ipnet_parse("192.168.1.0/24", &n);
	nft_elem_ipnet(&b, &n);
	nft_elems_end(&b);
	CHECK_INT(send_batch(&b, &e), 0);
	o = sh("nft list set inet " T " cidr");
	CHECK_HAS(o, "elements = { 10.0.0.0/8, 255.255.255.0/24 }");
	CHECK(!strstr(o, "192.168"));
	nft_batch_init(&b, big, sizeof(big));
	nft_set_flush(&b, INET, T, "cidr");
	CHECK_INT(send_batch(&b, &e), 0);
	CHECK(!strstr(sh("nft list set inet " T " cidr"), "elements"));
}

/* A rule naming a missing chain fails the batch; nothing is applied and
 * the error names the message. */
static void test_atomic_error(void)
{
	struct nft_batch b;
	struct nft_err e;
	char msg[512];

	nft_batch_init(&b, big, sizeof(big));
	nft_table_add(&b, INET, "nftt2");
	nft_chain_add(&b, INET, "nftt2", "ok", NULL);
	nft_rule_begin(&b, INET, "nftt2", "ok");
	nft_verdict(&b, NF_ACCEPT, NULL);
	nft_rule_end(&b);
	nft_rule_begin(&b, INET, "nftt2", "missing");
	nft_verdict(&b, NF_ACCEPT, NULL);
	nft_rule_end(&b);
	CHECK_INT(send_batch(&b, &e), -ENOENT);
	CHECK_INT(e.err, -ENOENT);
	CHECK_INT(e.index, 3);
	CHECK_INT(e.type, NFT_MSG_NEWRULE);
	CHECK_STR(e.what, "NEWRULE inet nftt2/missing");
	CHECK_HAS(nft_err_fmt(&e, msg, sizeof(msg)),
		  "NEWRULE inet nftt2/missing: No such file or directory");
	CHECK_INT(nft_dump_table_exists(&sock, INET, "nftt2"), 0);
	/* a jump to a missing chain */
	nft_batch_init(&b, big, sizeof(big));
	nft_table_add(&b, INET, "nftt2");
	nft_chain_add(&b, INET, "nftt2", "ok", NULL);
	nft_rule_begin(&b, INET, "nftt2", "ok");
	nft_verdict(&b, NFT_JUMP, "nowhere");
	nft_rule_end(&b);
	CHECK(send_batch(&b, &e) < 0);
	CHECK_INT(e.index, 2);
	CHECK_INT(nft_dump_table_exists(&sock, INET, "nftt2"), 0);
	/* deleting a missing table */
	nft_batch_init(&b, big, sizeof(big));
	nft_table_del(&b, INET, "nftt2");
	CHECK_INT(send_batch(&b, &e), -ENOENT);
	CHECK_INT(e.index, 0);
	CHECK_STR(e.what, "DELTABLE inet nftt2");
}

static void test_builder_errors(void)
{
	char small[300], name[300];
	struct nft_batch b;
	struct nft_err e;
	int i;

	nft_batch_init(&b, small, sizeof(small));
	for (i = 0; i < 10; i++)
		nft_table_add(&b, INET, "nftt-overflow");
	CHECK_INT(b.err, -EMSGSIZE);
	CHECK_INT(send_batch(&b, &e), -EMSGSIZE);
	CHECK_INT(e.err, -EMSGSIZE);
	CHECK_INT(nft_dump_table_exists(&sock, INET, "nftt-overflow"), 0);
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	nft_batch_init(&b, big, sizeof(big));
	nft_table_add(&b, INET, name);
	CHECK_INT(send_batch(&b, &e), -ENAMETOOLONG);
	nft_batch_init(&b, big, sizeof(big));
	nft_verdict(&b, NF_ACCEPT, NULL);	/* outside a rule */
	CHECK_INT(b.err, -EINVAL);
	nft_batch_init(&b, big, sizeof(big));
	nft_rule_begin(&b, INET, T, "c");
	CHECK_INT(send_batch(&b, &e), -EINVAL);	/* left open */
	nft_batch_init(&b, big, sizeof(big));
	nft_rule_begin(&b, INET, T, "c");
	nft_verdict(&b, NFT_JUMP, NULL);	/* jump needs a chain */
	CHECK_INT(b.err, -EINVAL);
	nft_batch_init(&b, big, sizeof(big));
	CHECK_INT(send_batch(&b, &e), 0);	/* empty: nothing to do */
	nft_batch_init(&b, small, 10);
	CHECK_INT(b.err, -EINVAL);
}

/* A stale generation id refuses the whole batch. */
static void test_genid(void)
{
	struct nft_batch b;
	struct nft_err e;
	uint32_t gen, gen2;

	CHECK_INT(nft_dump_genid(&sock, &gen), 0);
	nft_batch_init(&b, big, sizeof(big));
	nft_table_add(&b, INET, "nftt-gen");
	CHECK_INT(send_batch(&b, &e), 0);
	CHECK_INT(nft_dump_genid(&sock, &gen2), 0);
	CHECK(gen2 != gen);
	nft_batch_init(&b, big, sizeof(big));
	nft_batch_genid(&b, gen);
	nft_table_del(&b, INET, "nftt-gen");
	CHECK_INT(send_batch(&b, &e), -ERESTART);
	CHECK_INT(nft_dump_table_exists(&sock, INET, "nftt-gen"), 1);
	nft_batch_init(&b, big, sizeof(big));
	nft_batch_genid(&b, gen2);
	nft_table_del_if_empty(&b, INET, "nftt-gen");
	CHECK_INT(send_batch(&b, &e), 0);
	CHECK_INT(nft_dump_table_exists(&sock, INET, "nftt-gen"), 0);
}

/* Thousands of messages and >64 KiB of elements in one set: one batch. */
static void test_big_batch(void)
{
	struct nft_set_spec s = { "many", 0, 0, NFT_TYPE_IPADDR, 4,
				  0, 0, NULL, 0 };
	struct nft_batch b;
	struct nft_err e;
	uint8_t k[4] = { 10, 0, 0, 0 };
	int i;

	nft_batch_init(&b, big, sizeof(big));
	nft_table_add(&b, INET, "nftt-big");
	nft_chain_add(&b, INET, "nftt-big", "c", NULL);
	nft_set_add(&b, INET, "nftt-big", &s);
	for (i = 0; i < 3000; i++) {
		nft_rule_begin(&b, INET, "nftt-big", "c");
		nft_match_mark(&b, NFT_CMP_EQ, (uint32_t)i, UINT32_MAX);
		nft_verdict(&b, NF_ACCEPT, NULL);
		nft_rule_end(&b);
	}
	nft_elems_begin(&b, 0, INET, "nftt-big", "many");
	for (i = 0; i < 20000; i++) {
		k[2] = (uint8_t)(i >> 8);
		k[3] = (uint8_t)i;
		nft_elem_key(&b, k, 4);
	}
	nft_elems_end(&b);
	CHECK_INT(b.err, 0);
	CHECK(b.nmsg > 3003);
	CHECK_INT(send_batch(&b, &e), 0);
	CHECK_INT(nrules("nftt-big", "c"), 3000);
	CHECK_INT(atoi(sh("nft list set inet nftt-big many | tr , '\\n' "
			  "| grep -c '10\\.0\\.'")), 20000);
	nft_batch_init(&b, big, sizeof(big));
	nft_table_flush(&b, INET, "nftt-big");
	CHECK_INT(send_batch(&b, &e), 0);
	CHECK_INT(nrules("nftt-big", NULL), 0);
	CHECK_INT(nchains("nftt-big"), 1);
	CHECK_INT(nft_table_destroy(&sock, INET, "nftt-big", &e), 0);
	CHECK_INT(nft_dump_table_exists(&sock, INET, "nftt-big"), 0);
	CHECK_INT(nft_table_destroy(&sock, INET, "nftt-big", &e), 0);
}

static void test_masq_chain_name(void)
{
	char buf[NFT_MASQ_CHAIN_MAX], longname[600];

	CHECK_INT(nft_masq_chain_name("cbr0", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "cbr0");
	CHECK_INT(nft_masq_chain_name("my.net-1_x", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "my.net-1_x");
	CHECK_INT(nft_masq_chain_name("a b/c", buf, sizeof(buf)), 0);
	CHECK(!strncmp(buf, "a_b_c-", 6) && strlen(buf) == 14);
	CHECK_INT(nft_masq_chain_name("", buf, sizeof(buf)), -EINVAL);
	CHECK_INT(nft_masq_chain_name(NULL, buf, sizeof(buf)), -EINVAL);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	CHECK_INT(nft_masq_chain_name(longname, buf, sizeof(buf)), 0);
	CHECK(strlen(buf) < NFT_MASQ_CHAIN_MAX);
	longname[0] = 'm';	/* differs only far beyond the cut */
	CHECK_INT(nft_masq_chain_name(longname, buf, sizeof(buf)), 0);
	CHECK(strlen(buf) == NFT_MASQ_CHAIN_MAX - 1);
}

static void masq_nets(struct ipnet sub[2], struct ipnet cl[3])
{
	ipnet_parse("10.244.1.0/24", &sub[0]);
	ipnet_parse("fd00:10:244:1::/64", &sub[1]);
	ipnet_parse("10.244.0.0/16", &cl[0]);
	ipnet_parse("fd00:10:244::/56", &cl[1]);
	ipnet_parse("172.16.0.0/12", &cl[2]);
}

static void test_masq_setup_teardown(void)
{
	struct ipnet sub[2], cl[3];
	struct nft_masq m = { "cbr0", sub, 2, cl, 3 };
	struct nft_masq m2 = { "other", sub, 1, cl, 1 };
	struct nft_err e;
	const char *o;

	masq_nets(sub, cl);
	CHECK_INT(nft_masq_setup(&sock, &m, &e), 0);
	CHECK_INT(nft_masq_setup(&sock, &m, &e), 0);
	CHECK_INT(nrules(NFT_MASQ_TABLE, "cbr0"), 7);
	o = sh("nft list table inet " NFT_MASQ_TABLE);
	CHECK_HAS(o, "chain cbr0 {");
	CHECK_HAS(o, "type nat hook postrouting priority srcnat; "
		  "policy accept;");
	CHECK_HAS(o, "ip saddr 10.244.1.0/24 ip daddr 10.244.0.0/16 return");
	CHECK_HAS(o, "ip saddr 10.244.1.0/24 ip daddr 172.16.0.0/12 return");
	CHECK_HAS(o, "ip daddr 224.0.0.0/4 return");
	CHECK_HAS(o, "ip saddr 10.244.1.0/24 counter packets 0 bytes 0 "
		  "masquerade fully-random");
	CHECK_HAS(o, "ip6 saddr fd00:10:244:1::/64 ip6 daddr "
		  "fd00:10:244::/56 return");
	CHECK_HAS(o, "ip6 daddr ff00::/8 return");
	CHECK_HAS(o, "ip6 saddr fd00:10:244:1::/64 counter packets 0 bytes 0 "
		  "masquerade fully-random");
	CHECK_INT(nft_masq_setup(&sock, &m2, &e), 0);
	CHECK_INT(nrules(NFT_MASQ_TABLE, "other"), 3);
	CHECK_INT(nft_masq_teardown(&sock, "cbr0", &e), 0);
	CHECK_INT(nchains(NFT_MASQ_TABLE), 1);	/* other's stays */
	CHECK_INT(nrules(NFT_MASQ_TABLE, "other"), 3);
	CHECK_INT(nft_masq_teardown(&sock, "cbr0", &e), 0);
	CHECK_INT(nft_masq_teardown(&sock, "other", &e), 0);
	CHECK_INT(nft_dump_table_exists(&sock, INET, NFT_MASQ_TABLE), 0);
	CHECK_INT(nft_masq_teardown(&sock, "other", &e), 0);
	/* bad input changes nothing */
	m.nsubnets = 0;
	CHECK_INT(nft_masq_setup(&sock, &m, &e), -EINVAL);
	m.nsubnets = 1;
	m.network = "";
	CHECK_INT(nft_masq_setup(&sock, &m, &e), -EINVAL);
	CHECK_INT(nft_dump_table_exists(&sock, INET, NFT_MASQ_TABLE), 0);
}

/* 50 processes set up the same network at once (while another network
 * is torn down and set up again): one copy of each rule. */
static void test_masq_parallel(void)
{
	struct ipnet sub[2], cl[3];
	struct nft_masq m = { "cbr0", sub, 2, cl, 3 };
	struct nft_masq churn = { "churn", sub, 1, cl, 1 };
	int i, status, bad = 0;
	pid_t pid;

	masq_nets(sub, cl);
	for (i = 0; i < 50; i++) {
		pid = fork();
		if (pid == 0) {
			struct nft_sock s;
			int err = nft_open(&s);

			if (!err)
				err = i % 5 ? nft_masq_setup(&s, &m, NULL) :
				      nft_masq_teardown(&s, "churn", NULL);
			if (!err && i % 5 == 0)
				err = nft_masq_setup(&s, &churn, NULL);
			nft_close(&s);
			_exit(err ? 1 : 0);
		}
		CHECK(pid > 0);
	}
	while (wait(&status) > 0)
		bad += !WIFEXITED(status) || WEXITSTATUS(status);
	CHECK_INT(bad, 0);
	CHECK_INT(nrules(NFT_MASQ_TABLE, "cbr0"), 7);
	CHECK_INT(nrules(NFT_MASQ_TABLE, "churn"), 3);
	CHECK_INT(nft_masq_teardown(&sock, "cbr0", NULL), 0);
	CHECK_INT(nft_masq_teardown(&sock, "churn", NULL), 0);
	CHECK_INT(nft_dump_table_exists(&sock, INET, NFT_MASQ_TABLE), 0);
}

/* Recorded kernel replies (test/fuzz/corpus/nft_dump/, from nft -f
 * nft-example-r.nft plus an ip6 nat chain), parsed without a kernel. */
static size_t slurp(const char *name, char *buf, size_t size)
{
	char path[256];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "test/fuzz/corpus/nft_dump/%s", name);
	f = fopen(path, "rb");
	if (!f)
		return 0;
	n = fread(buf, 1, size, f);
	fclose(f);
	return n;
}

struct seen {
	int tables, chains, rules, sets;
	char names[512];
};

static int seen_table(const struct nft_table_info *t, void *arg)
{
	struct seen *s = arg;

	s->tables++;
	strcat(s->names, t->name);
	strcat(s->names, " ");
	return 0;
}

static int seen_chain(const struct nft_chain_info *c, void *arg)
{
	struct seen *s = arg;

	s->chains++;
	if (!strcmp(c->name, "forward")) {
		CHECK_INT(c->base, 1);
		CHECK_INT(c->hooknum, NF_INET_FORWARD);
		CHECK_STR(c->type, "filter");
	}
	if (!strcmp(c->name, "p"))
		CHECK_INT(c->prio, 100);
	return 0;
}

static int seen_rule(const struct nft_rule_info *r, void *arg)
{
	struct seen *s = arg;

	if (!strcmp(r->table, "z"))
		CHECK_STR(r->exprs, "payload cmp counter masq");
	s->rules++;
	return 0;
}

static int seen_set(const struct nft_set_info *t, void *arg)
{
	struct seen *s = arg;

	if (!strcmp(t->name, "pod_in_vmap"))
		CHECK_INT(t->data_type, NFT_DATA_VERDICT);
	s->sets++;
	return 0;
}

static void test_parse_canned(void)
{
	struct seen s = { 0 };
	struct nft_dump_cbs cbs = { seen_table, seen_chain, seen_rule,
				    seen_set, &s };
	static char buf[65536];
	size_t n;

	n = slurp("tables", buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_INT(nft_dump_parse(buf, n, &cbs), 0);
	CHECK_STR(s.names, "netpolicy z ");
	n = slurp("chains", buf, sizeof(buf));
	CHECK_INT(nft_dump_parse(buf, n, &cbs), 0);
	n = slurp("rules", buf, sizeof(buf));
	CHECK_INT(nft_dump_parse(buf, n, &cbs), 0);
	CHECK_INT(nft_dump_parse(buf, n - 1, &cbs), -EBADMSG);
	((struct nlmsghdr *)buf)->nlmsg_len = 0xf8000040;
	CHECK_INT(nft_dump_parse(buf, n, &cbs), -EBADMSG);
	n = slurp("sets", buf, sizeof(buf));
	CHECK_INT(nft_dump_parse(buf, n, &cbs), 0);
	CHECK_INT(s.tables, 2);
	CHECK_INT(s.chains, 3);
	CHECK_INT(s.rules, 6);
	CHECK_INT(s.sets, 4);
}

static void test_cleanup(void)
{
	struct nft_batch b;
	struct nft_err e;

	nft_batch_init(&b, big, sizeof(big));
	nft_table_del(&b, INET, T);
	CHECK_INT(send_batch(&b, &e), 0);
	CHECK_INT(nft_dump_table_exists(&sock, INET, T), 0);
	CHECK_STR(sh("nft list ruleset"), "");
}

int main(void)
{
	RUN(test_parse_canned);
	if (geteuid() != 0) {
		SKIP(test_nft, "not root");
		return 0;
	}
	if (unshare(CLONE_NEWNET) < 0 || nft_open(&sock) < 0) {
		SKIP(test_nft, "no private netns or nfnetlink");
		return 0;
	}
	RUN(test_tables_chains_idempotent);
	RUN(test_rules);
	RUN(test_sets_maps);
	RUN(test_atomic_error);
	RUN(test_builder_errors);
	RUN(test_genid);
	RUN(test_big_batch);
	RUN(test_masq_chain_name);
	RUN(test_masq_setup_teardown);
	RUN(test_masq_parallel);
	RUN(test_cleanup);
	nft_close(&sock);
	return test_done();
}
