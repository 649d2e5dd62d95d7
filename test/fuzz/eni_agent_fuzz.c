/* libFuzzer: what eni-agent parses from outside on arbitrary bytes.  The
 * first byte picks the parser: its config file (Terway eni.json keys), its
 * state file, an ENI of a DescribeNetworkInterfaces reply, a pod from the
 * Kubernetes API.  The applet's files are compiled in; the locking and
 * metrics helpers they call are stubbed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../applets/eni_agent/cloud.c"
#include "../../applets/eni_agent/conf.c"
#include "../../applets/eni_agent/config.c"
#include "../../applets/eni_agent/creds.c"
#include "../../applets/eni_agent/eni.c"
#include "../../applets/eni_agent/kube.c"
#include "../../applets/eni_agent/persist.c"
#include "../../applets/eni_agent/plan.c"
#include "../../applets/eni_agent/state.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

void ea_lock(struct agent *ag) { (void)ag; }
void ea_unlock(struct agent *ag) { (void)ag; }
void ea_wake_main(struct agent *ag) { (void)ag; }
void ea_kick_worker(struct agent *ag) { (void)ag; }
int ea_stopping(struct agent *ag) { (void)ag; return 1; }
void ea_metric_api(struct ea_metrics *m, const char *action, double secs,
		   const char *err_code)
{
	(void)m; (void)action; (void)secs; (void)err_code;
}

static void conf_one(const char *in, size_t n)
{
	static struct ea_conf c;
	char err[512];

	ea_conf_defaults(&c);
	if (ea_conf_parse(&c, "fuzz.json", in, n, err, sizeof(err)) == 0)
		ea_conf_check(&c, err, sizeof(err));
	else if (!err[0])
		abort();	/* every refusal says why */
}

static void state_one(const char *in, size_t n)
{
	struct ea_pool p;
	char inst[EA_ID_MAX], err[EA_MSG_MAX];
	int i;

	memset(&p, 0, sizeof(p));
	ea_state_parse(&p, in, n, inst, sizeof(inst), err, sizeof(err));
	for (i = 0; i < p.nalloc; i++)	/* no IP twice */
		if (ea_alloc_by_ip(&p, p.alloc[i].ip) != &p.alloc[i])
			abort();
	ea_pool_free(&p);
}

static void json_one(const char *in, size_t n, int pod)
{
	static struct ea_ceni e;
	static struct ea_pod po;
	struct json_doc d;
	struct arena a;
	int arr, i;

	arena_init(&a);
	if (json_parse(&d, &a, in, n, NULL, NULL) == 0) {
		arr = json_path(&d, 0, "NetworkInterfaceSets."
				"NetworkInterfaceSet");
		if (pod)
			parse_pod(&d, 0, &po);
		else if (arr < 0)
			ea_ceni_parse(&d, 0, &e);
		else
			json_for_each(&d, arr, i)
				ea_ceni_parse(&d, i, &e);
	}
	arena_free_all(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 1;

	if (size < 1)
		return 0;
	log_set_level(LOG_LVL_ERROR);
	switch (data[0] % 4) {
	case 0: conf_one(in, size - 1); break;
	case 1: state_one(in, size - 1); break;
	case 2: json_one(in, size - 1, 0); break;
	default: json_one(in, size - 1, 1); break;
	}
	return 0;
}
