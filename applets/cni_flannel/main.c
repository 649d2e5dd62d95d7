/* cni-flannel: not implemented yet (see the issue tracker). */
#include <stdio.h>

#include "applets.h"

const char cni_flannel_help[] =
"Flannel-compatible bridge CNI plugin\n"
"Not implemented yet in this release.\n";

int cni_flannel_main(int argc, char **argv)
{
	fprintf(stderr, "cni-flannel: not implemented yet\n");
	return 1;
}
