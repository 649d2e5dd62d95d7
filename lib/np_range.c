/* Address ranges and address x port boxes for the NetworkPolicy compiler:
 * merged and made disjoint before they reach an nftables interval set,
 * which rejects overlaps. See np.h. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "np.h"

/* ip_cmp(), in two 64-bit steps: the sorts here compare millions */
static int addr_cmp(const struct ipaddr *a, const struct ipaddr *b)
{
	uint64_t x, y;
	int i;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	for (i = 0; i < (a->family == AF_INET ? 1 : 2); i++) {
		memcpy(&x, a->b + 8 * i, 8);
		memcpy(&y, b->b + 8 * i, 8);
		if (a->family == AF_INET) {
			x = be64toh(x) >> 32;
			y = be64toh(y) >> 32;
		} else {
			x = be64toh(x);
			y = be64toh(y);
		}
		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

int np_range_cmp(const struct np_range *x, const struct np_range *y)
{
	int c = addr_cmp(&x->lo, &y->lo);

	return c ? c : addr_cmp(&x->hi, &y->hi);
}

static int range_qcmp(const void *a, const void *b)
{
	return np_range_cmp(a, b);
}

void np_range_full(int fam, struct np_range *out)
{
	memset(out, 0, sizeof(*out));
	out->lo.family = out->hi.family = fam == NP_V4 ? AF_INET : AF_INET6;
	memset(out->hi.b, 0xff, fam == NP_V4 ? 4 : 16);
}

void np_range_of_net(const struct ipnet *n, struct np_range *out)
{
	ipnet_network(n, &out->lo);
	ipnet_last(n, &out->hi);
}

int np_range_prefix(const struct np_range *r)
{
	int len = ip_len(&r->lo), bits = 8 * len, k = 0, i;
	const uint8_t *lo = r->lo.b, *hi = r->hi.b;

	if (!len || r->lo.family != r->hi.family)
		return -1;
	/* host part: trailing bits 0 in lo and 1 in hi */
	while (k < bits) {
		i = bits - 1 - k;
		if ((lo[i / 8] >> (7 - i % 8) & 1) ||
		    !(hi[i / 8] >> (7 - i % 8) & 1))
			break;
		k++;
	}
	/* network part: equal */
	for (i = 0; i < bits - k; i++)
		if ((lo[i / 8] ^ hi[i / 8]) >> (7 - i % 8) & 1)
			return -1;
	return bits - k;
}

/* a + 1 == b, a < all ones */
static int next_to(const struct ipaddr *a, const struct ipaddr *b)
{
	struct ipaddr x = *a;
	int i = ip_len(&x) - 1;

	for (; i >= 0; i--)
		if (++x.b[i])
			break;
	return i >= 0 && ip_equal(&x, b);
}

static int sorted(const struct np_range *r, int n)
{
	int i;

	for (i = 1; i < n; i++)
		if (np_range_cmp(&r[i - 1], &r[i]) > 0)
			return 0;
	return 1;
}

int np_ranges_merge(struct np_range *r, int n)
{
	int i, out = 0;

	if (n <= 1)
		return n;
	if (!sorted(r, n))
		qsort(r, n, sizeof(*r), range_qcmp);
	for (i = 1; i < n; i++) {
		struct np_range *cur = &r[out];

		if (r[i].lo.family == cur->hi.family &&
		    (addr_cmp(&r[i].lo, &cur->hi) <= 0 ||
		     next_to(&cur->hi, &r[i].lo))) {
			if (addr_cmp(&r[i].hi, &cur->hi) > 0)
				cur->hi = r[i].hi;
		} else {
			r[++out] = r[i];
		}
	}
	return out + 1;
}

int np_range_subtract(const struct np_range *base, const struct np_range *x,
		      int nx, struct np_range *out)
{
	struct np_range cur = *base;
	int i, n = 0;

	for (i = 0; i < nx; i++) {
		if (x[i].lo.family != cur.lo.family ||
		    addr_cmp(&x[i].hi, &cur.lo) < 0)
			continue;
		if (addr_cmp(&x[i].lo, &cur.hi) > 0)
			break;
		if (addr_cmp(&x[i].lo, &cur.lo) > 0) {
			out[n].lo = cur.lo;
			out[n].hi = x[i].lo;
			ip_add(&out[n].hi, -1);
			n++;
		}
		if (addr_cmp(&x[i].hi, &cur.hi) >= 0)
			return n;
		cur.lo = x[i].hi;
		ip_add(&cur.lo, 1);
	}
	out[n++] = cur;
	return n;
}

/* --- boxes --------------------------------------------------------------- */

struct seg_range {		/* one address range in a port segment */
	int seg;
	struct np_range r;
};

static int box_proto_cmp(const void *a, const void *b)
{
	const struct np_box *x = a, *y = b;

	return (int)x->proto - (int)y->proto;
}

static int int_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static int seg_cmp(const void *a, const void *b)
{
	const struct seg_range *x = a, *y = b;

	if (x->seg != y->seg)
		return x->seg - y->seg;
	return np_range_cmp(&x->r, &y->r);
}

static int find_int(const int *v, int n, int x)
{
	int lo = 0, hi = n - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;

		if (v[mid] == x)
			return mid;
		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* port segment boundaries of boxes b[0..n): sorted unique starts and
 * ends + 1; returns the count */
static int boundaries(const struct np_box *b, int n, int *bd)
{
	int i, k = 0, out = 0;

	for (i = 0; i < n; i++) {
		bd[k++] = b[i].plo;
		bd[k++] = b[i].phi + 1;
	}
	qsort(bd, k, sizeof(int), int_cmp);
	for (i = 0; i < k; i++)
		if (!out || bd[out - 1] != bd[i])
			bd[out++] = bd[i];
	return out;
}

/* ranges of segment s in sr[from..to) (merged already) equal those of
 * the other segment run? */
static int same_ranges(const struct seg_range *a, int na,
		       const struct seg_range *b, int nb)
{
	int i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (np_range_cmp(&a[i].r, &b[i].r))
			return 0;
	return 1;
}

/* Emit merged segment runs as boxes. sr is sorted by segment and merged
 * within each. */
static int emit_segments(const struct seg_range *sr, int nsr, const int *bd,
			 uint8_t proto, struct np_box *out)
{
	int i = 0, n = 0, j, first, prev = -1, nprev = 0, k;

	while (i < nsr) {
		for (j = i; j < nsr && sr[j].seg == sr[i].seg; j++)
			;
		first = sr[i].seg;
		/* extend the previous run if contiguous with equal ranges */
		if (prev >= 0 && sr[prev].seg + 1 == first &&
		    same_ranges(&sr[prev], nprev, &sr[i], j - i)) {
			for (k = 0; k < j - i; k++)
				out[n - (j - i) + k].phi =
					(uint16_t)(bd[first + 1] - 1);
		} else {
			for (k = i; k < j; k++) {
				out[n].addr = sr[k].r;
				out[n].proto = proto;
				out[n].plo = (uint16_t)bd[first];
				out[n].phi = (uint16_t)(bd[first + 1] - 1);
				n++;
			}
		}
		prev = i;
		nprev = j - i;
		i = j;
	}
	return n;
}

/* Merge the ranges of each segment in place; returns the new count. */
static int merge_segments(struct seg_range *sr, int nsr)
{
	int i = 0, n = 0, j;

	qsort(sr, nsr, sizeof(*sr), seg_cmp);
	while (i < nsr) {
		struct np_range tmp;

		for (j = i; j < nsr && sr[j].seg == sr[i].seg; j++)
			;
		/* sorted: merge like np_ranges_merge, without the sort */
		sr[n] = sr[i];
		for (i = i + 1; i < j; i++) {
			tmp = sr[n].r;
			if (addr_cmp(&sr[i].r.lo, &tmp.hi) <= 0 ||
			    next_to(&tmp.hi, &sr[i].r.lo)) {
				if (addr_cmp(&sr[i].r.hi, &tmp.hi) > 0)
					sr[n].r.hi = sr[i].r.hi;
			} else {
				sr[++n] = sr[i];
			}
		}
		n++;
	}
	return n;
}

/* One protocol's boxes b[0..n) into out; count or -ENOMEM. */
static int normalize_proto(const struct np_box *b, int n, struct np_box **out,
			   int *nout, int *cap)
{
	struct seg_range *sr = NULL;
	struct np_box *o;
	int *bd, nbd, nsr = 0, i, s, e, rc = -ENOMEM;
	size_t total = 0;

	bd = malloc(2 * n * sizeof(int));
	if (!bd)
		return -ENOMEM;
	nbd = boundaries(b, n, bd);
	for (i = 0; i < n; i++)
		total += find_int(bd, nbd, b[i].phi + 1) -
			 find_int(bd, nbd, b[i].plo);
	sr = malloc((total + 1) * sizeof(*sr));
	if (!sr)
		goto out;
	for (i = 0; i < n; i++) {
		e = find_int(bd, nbd, b[i].phi + 1);
		for (s = find_int(bd, nbd, b[i].plo); s < e; s++) {
			sr[nsr].seg = s;
			sr[nsr++].r = b[i].addr;
		}
	}
	nsr = merge_segments(sr, nsr);
	if (*nout + nsr > *cap) {
		*cap = *nout + nsr;
		o = realloc(*out, (*cap + 1) * sizeof(*o));
		if (!o)
			goto out;
		*out = o;
	}
	*nout += emit_segments(sr, nsr, bd, b[0].proto, *out + *nout);
	rc = 0;
out:
	free(sr);
	free(bd);
	return rc;
}

int np_boxes_normalize(const struct np_box *in, int n, struct np_box **out)
{
	struct np_box *b;
	int i, j, nout = 0, cap = 0, rc = 0;

	*out = NULL;
	if (n <= 0)
		return 0;
	b = malloc(n * sizeof(*b));
	if (!b)
		return -ENOMEM;
	memcpy(b, in, n * sizeof(*b));
	qsort(b, n, sizeof(*b), box_proto_cmp);
	for (i = 0; i < n && !rc; i = j) {
		for (j = i; j < n && b[j].proto == b[i].proto; j++)
			;
		rc = normalize_proto(b + i, j - i, out, &nout, &cap);
	}
	free(b);
	if (rc < 0) {
		free(*out);
		*out = NULL;
		return rc;
	}
	return nout;
}
