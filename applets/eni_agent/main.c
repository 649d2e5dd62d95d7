/* eni-agent: the ENI and IP pool node daemon of Terway mode, and operator
 * commands that talk to the cloud the way the daemon does.
 *
 *	eni-agent run       the daemon (run.c and the files it names)
 *	eni-agent call      one request on the daemon's socket (call.c)
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
"usage: eni-agent run [--config FILE] [OPTIONS]\n"
"       eni-agent call [OPTIONS] OP [KEY=VALUE...]\n"
"       eni-agent api [OPTIONS] PRODUCT ACTION [Key=Value...]\n"
"       eni-agent metadata [OPTIONS] PATH\n"
"       eni-agent COMMAND --help\n"
"\n"
"  run       the node daemon: warm pool of ENI secondary IPs and\n"
"            exclusive ENIs for cni-terway, vpc route entry and flannel\n"
"            subnet file, metrics\n"
"  call      one request (alloc, release, info) on the daemon's socket\n"
"  api       call one Alibaba Cloud ECS or VPC OpenAPI action and print\n"
"            the JSON reply as the aliyun CLI does\n"
"  metadata  print one value of the ECS metadata service (IMDSv2)\n";

static const struct {
	const char *name;
	int (*main)(int argc, char **argv);
} commands[] = {
	{ "api", ea_api_main },
	{ "call", ea_call_main },
	{ "metadata", ea_metadata_main },
	{ "run", ea_run_main },
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
		"call, metadata; eni-agent --help)\n", argv[1]);
	return EA_EXIT_USAGE;
}
