/* CNI_ARGS and the CNI_* environment checks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cni.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const known[] = { CNI_ARGS_K8S, "IP", "MAC", NULL };
	struct arena a;
	struct cni_args args;
	struct cni_error e;
	struct cni_env env;
	char *s, *envp[7];
	const char *why;
	int i;

	arena_init(&a);
	s = arena_strndup(&a, (const char *)data, size);
	if (!s)
		abort();
	if (cni_args_parse(&args, &a, s, known, &e) == 0) {
		for (i = 0; i < args.n; i++)
			if (!cni_args_get(&args, args.kv[i].key) ||
			    strchr(args.kv[i].key, '=') ||
			    strchr(args.kv[i].key, ';'))
				abort();
	} else if (e.code != CNI_ERR_ENV) {
		abort();
	}
	cni_args_parse(&args, &a, s, NULL, &e);
	if (cni_ifname_check(s, &why) == 0 &&
	    (strlen(s) > 15 || strchr(s, '/') || strchr(s, ':')))
		abort();
	cni_containerid_check(s);
	envp[0] = "CNI_COMMAND=ADD";
	envp[1] = arena_printf(&a, "CNI_CONTAINERID=%s", s);
	envp[2] = arena_printf(&a, "CNI_IFNAME=%s", s);
	envp[3] = arena_printf(&a, "CNI_ARGS=%s", s);
	envp[4] = "CNI_NETNS=/run/netns/x";
	envp[5] = "CNI_PATH=/opt/cni/bin";
	envp[6] = NULL;
	cni_env_read(&env, envp, &e);
	arena_free_all(&a);
	return 0;
}
