/* cni-terway: not implemented yet (see the issue tracker). */
#include <stdio.h>

#include "applets.h"

const char cni_terway_help[] =
"Terway CNI plugin (ENI, ENI IP, VPC modes)\n"
"Not implemented yet in this release.\n";

int cni_terway_main(int argc, char **argv)
{
	fprintf(stderr, "cni-terway: not implemented yet\n");
	return 1;
}
