/* nftables queries: generation id, table lookup, dumps. See nft_dump.h. */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft_dump.h"
#include "nft_int.h"

#define DUMP_BUFSZ 32768
#define TB_MAX 32

struct parse {
	const struct nlattr *a[TB_MAX];
	int family;
	int err;
};

struct dump {
	int (*parse)(const struct nlmsghdr *nlh, struct dump *d);
	struct nft_dump_cbs cb;
	const char *table;	/* filters, NULL = any */
	const char *chain;
	int family;
	int err;
	uint32_t genid;
};

static int tb_cb(const struct nlattr *attr, void *data)
{
	struct parse *p = data;
	uint16_t t = mnl_attr_get_type(attr);

	if (t < TB_MAX)
		p->a[t] = attr;
	return MNL_CB_OK;
}

static int parse_msg(const struct nlmsghdr *nlh, struct parse *p)
{
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);

	memset(p, 0, sizeof(*p));
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*nfg))
		return -EBADMSG;
	p->family = nfg->nfgen_family;
	if (mnl_attr_parse(nlh, sizeof(*nfg), tb_cb, p) < 0)
		return -EBADMSG;
	return 0;
}

static int parse_nested(const struct nlattr *nest, struct parse *p)
{
	memset(p, 0, sizeof(*p));
	if (mnl_attr_parse_nested(nest, tb_cb, p) < 0)
		return -EBADMSG;
	return 0;
}

/* Getters: a missing attribute reads as 0 / ""; a malformed one sets
 * p->err. */
static void str_at(struct parse *p, int t, char *dst, size_t size)
{
	const struct nlattr *a = p->a[t];

	dst[0] = 0;
	if (!a)
		return;
	if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0 ||
	    mnl_attr_get_payload_len(a) > size) {
		p->err = -EBADMSG;
		return;
	}
	memcpy(dst, mnl_attr_get_str(a), mnl_attr_get_payload_len(a));
}

static uint32_t u32_at(struct parse *p, int t)
{
	if (!p->a[t])
		return 0;
	if (mnl_attr_validate(p->a[t], MNL_TYPE_U32) < 0) {
		p->err = -EBADMSG;
		return 0;
	}
	return ntohl(mnl_attr_get_u32(p->a[t]));
}

static uint64_t u64_at(struct parse *p, int t)
{
	if (!p->a[t])
		return 0;
	if (mnl_attr_validate(p->a[t], MNL_TYPE_U64) < 0) {
		p->err = -EBADMSG;
		return 0;
	}
	return be64toh(mnl_attr_get_u64(p->a[t]));
}

static int skip(const struct dump *d, int family, const char *table,
		const char *chain)
{
	return (d->family && d->family != family) ||
	       (d->table && strcmp(d->table, table)) ||
	       (d->chain && chain && strcmp(d->chain, chain));
}

static int table_parse(const struct nlmsghdr *nlh, struct dump *d);
static int chain_parse(const struct nlmsghdr *nlh, struct dump *d);
static int rule_parse(const struct nlmsghdr *nlh, struct dump *d);
static int set_parse(const struct nlmsghdr *nlh, struct dump *d);

/* d->parse, or by message type when it is NULL */
static int data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump *d = data;
	int (*parse)(const struct nlmsghdr *, struct dump *) = d->parse;

	if (!parse && nlh->nlmsg_type >> 8 == NFNL_SUBSYS_NFTABLES) {
		switch (nlh->nlmsg_type & 0xff) {
		case NFT_MSG_NEWTABLE:
			parse = d->cb.table ? table_parse : NULL;
			break;
		case NFT_MSG_NEWCHAIN:
			parse = d->cb.chain ? chain_parse : NULL;
			break;
		case NFT_MSG_NEWRULE:
			parse = d->cb.rule ? rule_parse : NULL;
			break;
		case NFT_MSG_NEWSET:
			parse = d->cb.set ? set_parse : NULL;
			break;
		}
	}
	if (!d->err && parse)
		d->err = parse(nlh, d);
	return MNL_CB_OK;
}

int nft_dump_parse(const void *buf, size_t len,
		   const struct nft_dump_cbs *cbs)
{
	struct dump d;
	int ret;

	if (!nft_msgs_ok(buf, len))
		return -EBADMSG;
	memset(&d, 0, sizeof(d));
	d.cb = *cbs;
	errno = 0;
	ret = mnl_cb_run(buf, len, 0, 0, data_cb, &d);
	if (ret < 0)
		return errno == EINTR ? -EINTR : errno ? -errno : -EBADMSG;
	return d.err;
}

static int put_name(struct nlmsghdr *nlh, size_t size, uint16_t type,
		    const char *s)
{
	if (!s)
		return 0;
	if (strnlen(s, NFT_NAME_MAXLEN) >= NFT_NAME_MAXLEN)
		return -ENAMETOOLONG;
	return mnl_attr_put_strz_check(nlh, size, type, s) ? 0 : -EMSGSIZE;
}

/* One request; reads replies until the ACK or NLMSG_DONE. */
static int talk(struct nft_sock *s, int msg, uint16_t flags,
		uint16_t tattr, uint16_t nattr, struct dump *d)
{
	char buf[DUMP_BUFSZ];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;
	uint32_t seq = s->seq++;
	ssize_t n;
	int ret;

	nlh->nlmsg_type = NFNL_SUBSYS_NFTABLES << 8 | msg;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = d->family;
	nfg->version = NFNETLINK_V0;
	ret = put_name(nlh, sizeof(buf), tattr, d->table);
	if (!ret)
		ret = put_name(nlh, sizeof(buf), nattr, d->chain);
	if (ret)
		return ret;
	if (mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(s->nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		if (!nft_msgs_ok(buf, n))
			return -EBADMSG;
		ret = mnl_cb_run(buf, n, seq, s->portid, data_cb, d);
	} while (ret > 0);
	if (ret < 0)
		return -errno;
	return d->err;
}

static int gen_parse(const struct nlmsghdr *nlh, struct dump *d)
{
	struct parse p;
	int err = parse_msg(nlh, &p);

	if (err)
		return err;
	if (!p.a[NFTA_GEN_ID])
		return -EBADMSG;
	d->genid = u32_at(&p, NFTA_GEN_ID);
	return p.err;
}

int nft_dump_genid(struct nft_sock *s, uint32_t *genid)
{
	struct dump d = { .parse = gen_parse };
	int err = talk(s, NFT_MSG_GETGEN, NLM_F_ACK, 0, 0, &d);

	if (!err)
		*genid = d.genid;
	return err;
}

int nft_dump_table_exists(struct nft_sock *s, int family, const char *table)
{
	struct dump d = { .table = table, .family = family };
	int err;

	if (!table || !family)
		return -EINVAL;
	err = talk(s, NFT_MSG_GETTABLE, NLM_F_ACK, NFTA_TABLE_NAME, 0, &d);
	if (err == -ENOENT)
		return 0;
	return err ? err : 1;
}

static int table_parse(const struct nlmsghdr *nlh, struct dump *d)
{
	struct nft_table_info t;
	struct parse p;
	int err = parse_msg(nlh, &p);

	if (err)
		return err;
	memset(&t, 0, sizeof(t));
	t.family = p.family;
	str_at(&p, NFTA_TABLE_NAME, t.name, sizeof(t.name));
	t.flags = u32_at(&p, NFTA_TABLE_FLAGS);
	t.use = u32_at(&p, NFTA_TABLE_USE);
	t.handle = u64_at(&p, NFTA_TABLE_HANDLE);
	if (p.err)
		return p.err;
	if (skip(d, t.family, t.name, NULL))
		return 0;
	return d->cb.table(&t, d->cb.arg);
}

int nft_dump_tables(struct nft_sock *s, int family,
		    int (*cb)(const struct nft_table_info *, void *),
		    void *arg)
{
	struct dump d = { .parse = table_parse, .cb.table = cb,
			  .cb.arg = arg, .family = family };

	return talk(s, NFT_MSG_GETTABLE, NLM_F_DUMP, 0, 0, &d);
}

static int hook_parse(struct nft_chain_info *c, const struct nlattr *nest)
{
	struct parse p;

	if (parse_nested(nest, &p))
		return -EBADMSG;
	c->base = 1;
	c->hooknum = u32_at(&p, NFTA_HOOK_HOOKNUM);
	c->prio = (int32_t)u32_at(&p, NFTA_HOOK_PRIORITY);
	return p.err;
}

static int chain_parse(const struct nlmsghdr *nlh, struct dump *d)
{
	struct nft_chain_info c;
	struct parse p;
	int err = parse_msg(nlh, &p);

	if (err)
		return err;
	memset(&c, 0, sizeof(c));
	c.family = p.family;
	str_at(&p, NFTA_CHAIN_TABLE, c.table, sizeof(c.table));
	str_at(&p, NFTA_CHAIN_NAME, c.name, sizeof(c.name));
	str_at(&p, NFTA_CHAIN_TYPE, c.type, sizeof(c.type));
	c.handle = u64_at(&p, NFTA_CHAIN_HANDLE);
	c.use = u32_at(&p, NFTA_CHAIN_USE);
	c.policy = u32_at(&p, NFTA_CHAIN_POLICY);
	if (p.a[NFTA_CHAIN_HOOK] && hook_parse(&c, p.a[NFTA_CHAIN_HOOK]))
		return -EBADMSG;
	if (p.err)
		return p.err;
	if (skip(d, c.family, c.table, NULL))
		return 0;
	return d->cb.chain(&c, d->cb.arg);
}

int nft_dump_chains(struct nft_sock *s, int family, const char *table,
		    int (*cb)(const struct nft_chain_info *, void *),
		    void *arg)
{
	struct dump d = { .parse = chain_parse, .cb.chain = cb,
			  .cb.arg = arg, .family = family, .table = table };

	return talk(s, NFT_MSG_GETCHAIN, NLM_F_DUMP, NFTA_CHAIN_TABLE, 0,
		    &d);
}

static int expr_cb(const struct nlattr *attr, void *data)
{
	struct nft_rule_info *r = data;
	struct parse p;
	const char *name;
	size_t len = strlen(r->exprs);

	if (mnl_attr_get_type(attr) != NFTA_LIST_ELEM ||
	    parse_nested(attr, &p) || !p.a[NFTA_EXPR_NAME] ||
	    mnl_attr_validate(p.a[NFTA_EXPR_NAME], MNL_TYPE_NUL_STRING) < 0)
		return MNL_CB_ERROR;
	name = mnl_attr_get_str(p.a[NFTA_EXPR_NAME]);
	if (len + strlen(name) + 2 < sizeof(r->exprs)) {
		if (len)
			r->exprs[len++] = ' ';
		strcpy(r->exprs + len, name);
	}
	r->nexprs++;
	return MNL_CB_OK;
}

static int rule_parse(const struct nlmsghdr *nlh, struct dump *d)
{
	struct nft_rule_info r;
	struct parse p;
	int err = parse_msg(nlh, &p);

	if (err)
		return err;
	memset(&r, 0, sizeof(r));
	r.family = p.family;
	str_at(&p, NFTA_RULE_TABLE, r.table, sizeof(r.table));
	str_at(&p, NFTA_RULE_CHAIN, r.chain, sizeof(r.chain));
	r.handle = u64_at(&p, NFTA_RULE_HANDLE);
	r.expressions = p.a[NFTA_RULE_EXPRESSIONS];
	if (r.expressions &&
	    mnl_attr_parse_nested(r.expressions, expr_cb, &r) < 0)
		return -EBADMSG;
	if (p.err)
		return p.err;
	if (skip(d, r.family, r.table, r.chain))
		return 0;
	return d->cb.rule(&r, d->cb.arg);
}

int nft_dump_rules(struct nft_sock *s, int family, const char *table,
		   const char *chain,
		   int (*cb)(const struct nft_rule_info *, void *),
		   void *arg)
{
	struct dump d = { .parse = rule_parse, .cb.rule = cb,
			  .cb.arg = arg, .family = family, .table = table,
			  .chain = chain };

	if (chain && !table)
		return -EINVAL;
	return talk(s, NFT_MSG_GETRULE, NLM_F_DUMP, NFTA_RULE_TABLE,
		    NFTA_RULE_CHAIN, &d);
}

static int set_parse(const struct nlmsghdr *nlh, struct dump *d)
{
	struct nft_set_info t;
	struct parse p;
	int err = parse_msg(nlh, &p);

	if (err)
		return err;
	memset(&t, 0, sizeof(t));
	t.family = p.family;
	str_at(&p, NFTA_SET_TABLE, t.table, sizeof(t.table));
	str_at(&p, NFTA_SET_NAME, t.name, sizeof(t.name));
	t.handle = u64_at(&p, NFTA_SET_HANDLE);
	t.flags = u32_at(&p, NFTA_SET_FLAGS);
	t.key_type = u32_at(&p, NFTA_SET_KEY_TYPE);
	t.key_len = u32_at(&p, NFTA_SET_KEY_LEN);
	t.data_type = u32_at(&p, NFTA_SET_DATA_TYPE);
	t.data_len = u32_at(&p, NFTA_SET_DATA_LEN);
	if (p.err)
		return p.err;
	if (skip(d, t.family, t.table, NULL))
		return 0;
	return d->cb.set(&t, d->cb.arg);
}

int nft_dump_sets(struct nft_sock *s, int family, const char *table,
		  int (*cb)(const struct nft_set_info *, void *), void *arg)
{
	struct dump d = { .parse = set_parse, .cb.set = cb, .cb.arg = arg,
			  .family = family, .table = table };

	return talk(s, NFT_MSG_GETSET, NLM_F_DUMP, NFTA_SET_TABLE, 0, &d);
}
