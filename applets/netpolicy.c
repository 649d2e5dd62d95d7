/* netpolicy: not implemented yet (see the issue tracker). */
#include <stdio.h>

#include "applets.h"

const char netpolicy_help[] =
"Kubernetes NetworkPolicy over nftables\n"
"Not implemented yet in this release.\n";

int netpolicy_main(int argc, char **argv)
{
	fprintf(stderr, "netpolicy: not implemented yet\n");
	return 1;
}
