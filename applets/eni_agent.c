/* eni-agent: not implemented yet (see the issue tracker). */
#include <stdio.h>

#include "applets.h"

const char eni_agent_help[] =
"ENI and IP pool node daemon\n"
"Not implemented yet in this release.\n";

int eni_agent_main(int argc, char **argv)
{
	fprintf(stderr, "eni-agent: not implemented yet\n");
	return 1;
}
