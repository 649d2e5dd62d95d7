/* Pool decisions as pure functions (unit-tested): how many IPs to ask
 * for, on which ENI, when to create an ENI, when the quota is reached,
 * what to give back, and which vSwitch a new ENI goes to.
 *
 * The idle IPs are kept between min and max: below min (counting the
 * allocations waiting for an IP) the pool grows, above max it shrinks.
 * A secondary ENI's primary IP serves a pod too (as Terway does), so the
 * instance holds (EniQuantity - 1 - exclusive ENIs) * IPs-per-ENI pod IPs.
 * Growth fills the fullest ENI that has room (so ENIs fill one after the
 * other), then creates an ENI; shrink takes idle IPs from the ENI with the
 * fewest pods, and deletes an ENI once nothing but its idle primary IP is
 * left. */
#include "agent.h"

static int imin(int a, int b)
{
	return a < b ? a : b;
}

int ea_plan_want(int idle, int pending, int min)
{
	int want = pending + min - idle;

	return want > 0 ? want : 0;
}

int ea_plan_excess(int idle, int pending, int max)
{
	int ex = idle - pending - max;

	return ex > 0 ? ex : 0;
}

int ea_plan_capacity(int eni_quota, int exclusive, int ips_per_eni)
{
	int n = eni_quota - 1 - exclusive;

	return n > 0 && ips_per_eni > 0 ? n * ips_per_eni : 0;
}

void ea_plan_clamp(int capacity, int *min, int *max)
{
	if (*max > capacity)
		*max = capacity;
	if (*min > *max)
		*min = *max;
}

const char *ea_plan_op_name(enum ea_plan_op op)
{
	static const char *const names[] = { "none", "assign", "create",
		"unassign", "delete-eni", "full" };

	return (unsigned)op < sizeof(names) / sizeof(names[0]) ?
		names[op] : "?";
}

/* The fullest usable ENI with room; -1 if none. */
static int fullest_with_room(const struct ea_plan_in *in)
{
	int i, best = -1;

	for (i = 0; i < in->neni; i++) {
		const struct ea_plan_eni *e = &in->eni[i];

		if (!e->usable || e->nips >= e->cap)
			continue;
		if (best < 0 || e->nips > in->eni[best].nips)
			best = i;
	}
	return best;
}

/* IPs to ask for: to min when only the pool is short; when pods wait,
 * up to max idle so that a burst costs few calls. */
int ea_plan_grow_count(int idle, int pending, int min, int max)
{
	int want = ea_plan_want(idle, pending, min);
	int upto = pending > 0 ? pending + max - idle : 0;

	return upto > want ? upto : want;
}

static void grow(const struct ea_plan_in *in, int want, struct ea_plan *out)
{
	int i = fullest_with_room(in), batch = in->batch > 0 ? in->batch : 1;

	want = ea_plan_grow_count(in->idle, in->pending, in->min, in->max);
	if (i >= 0) {
		out->op = EA_PLAN_ASSIGN;
		out->eni = i;
		out->count = imin(imin(want, in->eni[i].cap - in->eni[i].nips),
				  batch);
	} else if (in->attached < in->eni_quota && in->can_create &&
		   in->ips_per_eni > 0) {
		out->op = EA_PLAN_CREATE;
		out->count = imin(imin(want, in->ips_per_eni), batch);
	} else if (in->pending > 0) {
		out->op = EA_PLAN_FULL;
	}
}

static void shrink(const struct ea_plan_in *in, int excess,
		   struct ea_plan *out)
{
	int i, best = -1, batch = in->batch > 0 ? in->batch : 1;

	for (i = 0; i < in->neni; i++) {
		const struct ea_plan_eni *e = &in->eni[i];

		if (!e->inuse && !e->idle_secondary && e->primary_idle &&
		    e->nips == 1) {
			out->op = EA_PLAN_DELETE_ENI;
			out->eni = i;
			out->count = 1;
			return;
		}
	}
	for (i = 0; i < in->neni; i++) {
		const struct ea_plan_eni *e = &in->eni[i];

		if (!e->idle_secondary)
			continue;
		if (best < 0 || e->inuse < in->eni[best].inuse ||
		    (e->inuse == in->eni[best].inuse &&
		     e->nips < in->eni[best].nips))
			best = i;
	}
	if (best < 0)
		return;
	out->op = EA_PLAN_UNASSIGN;
	out->eni = best;
	out->count = imin(imin(excess, in->eni[best].idle_secondary), batch);
}

void ea_plan_step(const struct ea_plan_in *in, struct ea_plan *out)
{
	int want = ea_plan_want(in->idle, in->pending, in->min);
	int excess = ea_plan_excess(in->idle, in->pending, in->max);

	out->op = EA_PLAN_NONE;
	out->eni = -1;
	out->count = 0;
	if (want > 0)
		grow(in, want, out);
	else if (excess > 0)
		shrink(in, excess, out);
}

int ea_pick_vswitch(const struct ea_vsw_info *v, int n,
		    enum ea_vsw_policy policy, int need)
{
	int i, best = -1, some = -1;

	for (i = 0; i < n; i++) {
		if (v[i].blocked || v[i].free == 0)
			continue;
		if (policy == EA_VSW_ORDERED) {
			if (v[i].free < 0 || v[i].free >= need)
				return i;
			if (some < 0)
				some = i;
			continue;
		}
		if (best < 0 || (v[best].free >= 0 && v[i].free >= 0 &&
				 v[i].free > v[best].free) ||
		    (v[best].free < 0 && v[i].free > 0))
			best = i;
	}
	return policy == EA_VSW_ORDERED ? some : best;
}
