/* eni-agent: the ENI and IP pool node daemon of Terway mode, and operator
 * commands that talk to the cloud the way the daemon does.
 *
 *	eni-agent run       the daemon (not implemented yet)
 *	eni-agent api       one OpenAPI call (api.c)
 *	eni-agent metadata  one metadata value (metadata.c)
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../applets.h"
#include "eni_agent.h"

const char eni_agent_help[] =
"ENI and IP pool node daemon\n"
"\n"
"usage: eni-agent run [--config FILE]\n"
"       eni-agent api [OPTIONS] PRODUCT ACTION [Key=Value...]\n"
"       eni-agent metadata [OPTIONS] PATH\n"
"       eni-agent COMMAND --help\n"
"\n"
"  run       the node daemon (warm pool of ENI secondary IPs for\n"
"            cni-terway): not implemented yet in this release; it exits\n"
"            non-zero\n"
"  api       call one Alibaba Cloud ECS or VPC OpenAPI action and print\n"
"            the JSON reply as the aliyun CLI does\n"
"  metadata  print one value of the ECS metadata service (IMDSv2)\n";

static int run_main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") ||
			 !strcmp(argv[1], "-h"))) {
		fputs("usage: eni-agent run [--config FILE]\n\n"
		      "The node daemon: not implemented yet in this "
		      "release.\n", stdout);
		return EA_EXIT_OK;
	}
	ea_errorf("run", "not implemented yet (the node daemon comes "
		  "with a later release)");
	return EA_EXIT_FAIL;
}

static const struct {
	const char *name;
	int (*main)(int argc, char **argv);
} commands[] = {
	{ "api", ea_api_main },
	{ "metadata", ea_metadata_main },
	{ "run", run_main },
};

void ea_errorf(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "eni-agent %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int ea_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "eni-agent %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(eni-agent %s --help for usage)\n", cmd);
	return EA_EXIT_USAGE;
}

int eni_agent_main(int argc, char **argv)
{
	unsigned int i;

	if (argc < 2) {
		fputs(eni_agent_help, stderr);
		return EA_EXIT_USAGE;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].main(argc - 1, argv + 1);
	fprintf(stderr, "eni-agent: %s: unknown command (run, api, "
		"metadata; eni-agent --help)\n", argv[1]);
	return EA_EXIT_USAGE;
}
