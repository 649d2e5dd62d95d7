/* A compiled NetworkPolicy ruleset in nft syntax: the same table
 * np_nft_build() programs, readable by `nft -f`. See np_nft.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "np_nft.h"

#define MAX_NAMES 6		/* policies named in a class comment */

struct tb {
	char *s;
	size_t n, cap;
	int err;
};

static void tb_printf(struct tb *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void tb_printf(struct tb *t, const char *fmt, ...)
{
	va_list ap;
	size_t cap;
	char *s;
	int n;

	if (t->err)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s ? t->s + t->n : NULL,
			      t->s ? t->cap - t->n : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->err = -EINVAL;
			return;
		}
		if (t->s && t->n + (size_t)n < t->cap) {
			t->n += (size_t)n;
			return;
		}
		for (cap = t->cap ? t->cap * 2 : 65536; cap <= t->n + n;)
			cap *= 2;
		s = realloc(t->s, cap);
		if (!s) {
			t->err = -ENOMEM;
			return;
		}
		t->s = s;
		t->cap = cap;
	}
}

static const char *range_txt(const struct np_range *r, char *buf,
			     size_t size)
{
	char a[IP_STRLEN], b[IP_STRLEN];
	int p;

	ip_fmt(&r->lo, a);
	if (ip_equal(&r->lo, &r->hi))
		snprintf(buf, size, "%s", a);
	else if ((p = np_range_prefix(r)) >= 0)
		snprintf(buf, size, "%s/%d", a, p);
	else
		snprintf(buf, size, "%s-%s", a, ip_fmt(&r->hi, b));
	return buf;
}

static const char *proto_txt(uint8_t p, char *buf, size_t size)
{
	const char *s = p == 6 ? "tcp" : p == 17 ? "udp" : p == 132 ?
			"sctp" : NULL;

	if (s)
		snprintf(buf, size, "%s", s);
	else
		snprintf(buf, size, "%u", p);
	return buf;
}

static void ports_txt(const struct np_box *x, char *buf, size_t size)
{
	if (x->plo == x->phi)
		snprintf(buf, size, "%u", x->plo);
	else
		snprintf(buf, size, "%u-%u", x->plo, x->phi);
}

static const char *const atype[2] = { "ipv4_addr", "ipv6_addr" };
static const char *const ipk[2] = { "ip", "ip6" };

static void set_any(struct tb *t, const char *chain, const struct np_allow *al,
		    int f)
{
	char r[2 * IP_STRLEN + 2];
	int i;

	tb_printf(t, "\tset %s_a%d {\n\t\ttype %s; flags interval;\n"
		  "\t\telements = {\n", chain, f ? 6 : 4, atype[f]);
	for (i = 0; i < al->nany[f]; i++)
		tb_printf(t, "\t\t\t%s,\n", range_txt(&al->any[f][i], r,
						      sizeof(r)));
	tb_printf(t, "\t\t}\n\t}\n");
}

static void set_box(struct tb *t, const char *chain, const struct np_allow *al,
		    int f)
{
	char r[2 * IP_STRLEN + 2], pr[8], po[16];
	const struct np_box *x;
	int i;

	tb_printf(t, "\tset %s_p%d {\n\t\ttype %s . inet_proto . "
		  "inet_service; flags interval;\n\t\telements = {\n", chain,
		  f ? 6 : 4, atype[f]);
	for (i = 0; i < al->nbox[f]; i++) {
		x = &al->box[f][i];
		ports_txt(x, po, sizeof(po));
		tb_printf(t, "\t\t\t%s . %s . %s,\n",
			  range_txt(&x->addr, r, sizeof(r)),
			  proto_txt(x->proto, pr, sizeof(pr)), po);
	}
	tb_printf(t, "\t\t}\n\t}\n");
}

static void class_comment(struct tb *t, const struct np_ruleset *rs,
			  const struct np_class *c, const char *chain)
{
	const struct kobj_np *np;
	int i;

	tb_printf(t, "\t# %s: %s of %d pod%s, policies", chain,
		  c->dir == KOBJ_EGRESS ? "egress" : "ingress", c->npods,
		  c->npods == 1 ? "" : "s");
	for (i = 0; i < c->nnps && i < MAX_NAMES; i++) {
		np = &rs->list->nps[c->nps[i]];
		tb_printf(t, " %s/%s", np->ns, np->name);
	}
	if (c->nnps > MAX_NAMES)
		tb_printf(t, " and %d more", c->nnps - MAX_NAMES);
	if (c->nalike)
		tb_printf(t, " (and %d classes alike)", c->nalike);
	tb_printf(t, "\n");
}

static void class_txt(struct tb *t, const struct np_ruleset *rs, int i)
{
	const struct np_class *c = &rs->cls[i];
	const struct np_allow *al = &c->allow;
	int eg = c->dir == KOBJ_EGRESS, f;
	const char *dir = eg ? "daddr" : "saddr", *ok = eg ? "return" :
			  "accept";
	char chain[32];

	snprintf(chain, sizeof(chain), "%s_%d", eg ? "eg" : "in", i);
	class_comment(t, rs, c, chain);
	for (f = 0; f < 2; f++) {
		if (al->nany[f])
			set_any(t, chain, al, f);
		if (al->nbox[f])
			set_box(t, chain, al, f);
	}
	tb_printf(t, "\tchain %s {\n", chain);
	for (f = 0; f < 2; f++)
		if (al->nany[f])
			tb_printf(t, "\t\t%s %s @%s_a%d %s\n", ipk[f], dir,
				  chain, f ? 6 : 4, ok);
	for (f = 0; f < 2; f++)
		if (al->nbox[f])
			tb_printf(t, "\t\t%s %s . meta l4proto . th dport "
				  "@%s_p%d %s\n", ipk[f], dir, chain, f ? 6 : 4,
				  ok);
	tb_printf(t, "\t\tdrop\n\t}\n");
}

static int has_targets(const struct np_ruleset *rs, int f, int dir)
{
	int i, af = f ? AF_INET6 : AF_INET;

	for (i = 0; i < rs->ntgt; i++)
		if (rs->tgt[i].ip.family == af &&
		    (dir < 0 || rs->tgt[i].cls[dir] >= 0))
			return 1;
	return 0;
}

static void map_txt(struct tb *t, const struct np_ruleset *rs, int f,
		    int dir)
{
	const struct np_target *x;
	const struct kobj_pod *p;
	char ip[IP_STRLEN];
	int i, af = f ? AF_INET6 : AF_INET;

	tb_printf(t, "\tmap %s%d {\n\t\ttype %s : verdict;\n\t\telements = {\n",
		  dir == KOBJ_EGRESS ? "eg" : "in", f ? 6 : 4, atype[f]);
	for (i = 0; i < rs->ntgt; i++) {
		x = &rs->tgt[i];
		if (x->ip.family != af || x->cls[dir] < 0)
			continue;
		p = &rs->list->pods[x->pod];
		tb_printf(t, "\t\t\t%s : jump %s_%d,\t# %s/%s\n",
			  ip_fmt(&x->ip, ip), dir == KOBJ_EGRESS ? "eg" : "in",
			  x->cls[dir], p->ns, p->name);
	}
	tb_printf(t, "\t\t}\n\t}\n");
}

static void self_txt(struct tb *t, const struct np_ruleset *rs, int f)
{
	char ip[IP_STRLEN];
	int i, af = f ? AF_INET6 : AF_INET;

	tb_printf(t, "\tset self%d {\n\t\ttype %s . %s;\n\t\telements = {\n",
		  f ? 6 : 4, atype[f], atype[f]);
	for (i = 0; i < rs->ntgt; i++)
		if (rs->tgt[i].ip.family == af)
			tb_printf(t, "\t\t\t%s . %s,\n",
				  ip_fmt(&rs->tgt[i].ip, ip), ip);
	tb_printf(t, "\t\t}\n\t}\n");
}

static void forward_txt(struct tb *t, const struct np_ruleset *rs)
{
	int f, dir;

	for (f = 0; f < 2; f++) {
		for (dir = 0; dir < 2; dir++)
			if (has_targets(rs, f, dir))
				map_txt(t, rs, f, dir);
		if (has_targets(rs, f, -1))
			self_txt(t, rs, f);
	}
	tb_printf(t, "\tchain forward {\n\t\ttype filter hook forward "
		  "priority filter; policy accept;\n"
		  "\t\tct state related accept\n"
		  "\t\tct direction reply ct state established accept\n"
		  "\t\ticmpv6 type 133-137 accept\n");
	for (f = 0; f < 2; f++)
		if (has_targets(rs, f, -1))
			tb_printf(t, "\t\t%s saddr . %s daddr @self%d accept\n",
				  ipk[f], ipk[f], f ? 6 : 4);
	for (dir = 1; dir >= 0; dir--)
		for (f = 0; f < 2; f++)
			if (has_targets(rs, f, dir))
				tb_printf(t, "\t\t%s %s vmap @%s%d\n", ipk[f],
					  dir ? "saddr" : "daddr",
					  dir ? "eg" : "in", f ? 6 : 4);
	tb_printf(t, "\t}\n");
}

int np_nft_render(const struct np_ruleset *rs, char **out, size_t *len)
{
	struct tb t = { 0 };
	int i;

	tb_printf(&t, "# vpcnet netpolicy: %d local pods, %d isolated "
		  "addresses, %d classes\n", rs->nlocal, rs->ntgt, rs->ncls);
	tb_printf(&t, "table inet %s {\n", NP_NFT_TABLE);
	for (i = 0; i < rs->ncls; i++)
		class_txt(&t, rs, i);
	forward_txt(&t, rs);
	tb_printf(&t, "}\n");
	if (t.err) {
		free(t.s);
		return t.err;
	}
	*out = t.s;
	if (len)
		*len = t.n;
	return 0;
}
