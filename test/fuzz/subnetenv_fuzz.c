/* libFuzzer: subnetenv_parse on arbitrary bytes; whatever parses must
 * format (flanneld's layout) and parse back to the same values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "subnetenv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_nets(const struct ipnet *a, const struct ipnet *b, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (a[i].prefix != b[i].prefix || !ip_equal(&a[i].ip, &b[i].ip))
			return 0;
	return 1;
}

/* format() writes a family's networks only with its subnet */
static int round_trips(const struct subnetenv *se)
{
	return !!se->subnet.ip.family == !!se->nnetworks &&
	       !!se->subnet6.ip.family == !!se->nnetworks6;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct subnetenv se, back;
	char err[SUBNETENV_ERRLEN], buf[4096];
	int n;

	if (subnetenv_parse((const char *)data, size, &se, err, sizeof(err)))
		return 0;
	n = subnetenv_format(&se, buf, sizeof(buf));
	if (n < 0)
		abort();
	if (!round_trips(&se))
		return 0;
	if (subnetenv_parse(buf, (size_t)n, &back, err, sizeof(err)))
		abort();
	if (back.nnetworks != se.nnetworks ||
	    back.nnetworks6 != se.nnetworks6 ||
	    !same_nets(back.networks, se.networks, se.nnetworks) ||
	    !same_nets(back.networks6, se.networks6, se.nnetworks6) ||
	    !same_nets(&back.subnet_addr, &se.subnet_addr, 1) ||
	    !same_nets(&back.subnet6_addr, &se.subnet6_addr, 1) ||
	    back.mtu != se.mtu || back.ipmasq != se.ipmasq)
		abort();
	return 0;
}
