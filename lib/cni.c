/* CNI contract: errors, versions, verbs, CNI_* environment, CNI_ARGS,
 * stdin. Config parsing is in cni_conf.c, results in cni_result.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cni.h"

extern char **environ;

const char *const cni_versions[] = {
	"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0", NULL,
};

int cni_errf(struct cni_error *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -EINVAL;
	e->code = code;
	e->details[0] = 0;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int cni_err_details(struct cni_error *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(e->details, sizeof(e->details), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int cni_ipam_code(int err)
{
	switch (err) {
	case -EADDRNOTAVAIL:
		return CNI_ERR_TRY_AGAIN;
	case -EINVAL:
		return CNI_ERR_CONFIG;
	case -ENOSPC:
	case -EROFS:
	case -EIO:
	case -EDQUOT:
	case -EACCES:
	case -EPERM:
		return CNI_ERR_IO;
	default:
		return CNI_ERR_PLUGIN;
	}
}

/* ---- versions ---------------------------------------------------------- */

int cni_version_supported(const char *v)
{
	int i;

	for (i = 0; v && cni_versions[i]; i++)
		if (!strcmp(v, cni_versions[i]))
			return 1;
	return 0;
}

static int semver(const char *s, long p[3])
{
	char *end;
	int i;

	for (i = 0; i < 3; i++) {
		if (*s < '0' || *s > '9')
			return -1;
		p[i] = strtol(s, &end, 10);
		if (end - s > 6)
			return -1;
		s = end;
		if (i < 2 && *s++ != '.')
			return -1;
	}
	return *s ? -1 : 0;
}

int cni_version_cmp(const char *a, const char *b)
{
	long pa[3], pb[3];
	int va = a ? semver(a, pa) : -1, vb = b ? semver(b, pb) : -1, i;

	if (va < 0 || vb < 0)
		return va - vb;
	for (i = 0; i < 3; i++)
		if (pa[i] != pb[i])
			return pa[i] < pb[i] ? -1 : 1;
	return 0;
}

int cni_version_check(const char *v, struct cni_error *e)
{
	char list[128];
	size_t n = 0;
	int i;

	if (cni_version_supported(v))
		return 0;
	list[0] = 0;
	for (i = 0; cni_versions[i]; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s\"%s\"",
				      i ? " " : "", cni_versions[i]);
	cni_errf(e, CNI_ERR_VERSION, "incompatible CNI versions");
	return cni_err_details(e, "config is \"%.64s\", plugin supports [%s]",
			       v ? v : "0.1.0", list);
}

const char *cni_version_sniff(struct arena *a, const char *text, size_t len)
{
	struct json_doc d;
	const char *v;

	if (json_parse(&d, a, text, len, NULL, NULL) < 0 ||
	    json_get_str(&d, 0, "cniVersion", &v, NULL) < 0)
		return NULL;
	return v;
}

/* ---- verbs ------------------------------------------------------------- */

static const char *const cmd_names[] = {
	[CNI_CMD_NONE] = "", [CNI_CMD_ADD] = "ADD", [CNI_CMD_DEL] = "DEL",
	[CNI_CMD_CHECK] = "CHECK", [CNI_CMD_GC] = "GC",
	[CNI_CMD_STATUS] = "STATUS", [CNI_CMD_VERSION] = "VERSION",
};

enum cni_cmd cni_cmd_parse(const char *s)
{
	int i;

	for (i = CNI_CMD_ADD; s && i <= CNI_CMD_VERSION; i++)
		if (!strcmp(s, cmd_names[i]))
			return (enum cni_cmd)i;
	return CNI_CMD_NONE;
}

const char *cni_cmd_name(enum cni_cmd c)
{
	return c <= CNI_CMD_VERSION ? cmd_names[c] : "";
}

/* ---- environment ------------------------------------------------------- */

static int id_check(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n > 255)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (i && (c == '_' || c == '.' || c == '-'))
			continue;
		return -EINVAL;
	}
	return 0;
}

int cni_containerid_check(const char *id)
{
	return id_check(id);
}

int cni_netname_check(const char *name)
{
	return id_check(name);
}

/* Go's unicode.IsSpace for the code point cp. */
static int uni_space(unsigned cp)
{
	return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 ||
	       cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
	       cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
	       cp == 0x3000;
}

int cni_ifname_check(const char *name, const char **why)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t n = strlen(name), i;
	unsigned cp;

	*why = NULL;
	if (!n)
		*why = "interface name is empty";
	else if (n > 15)
		*why = "interface name is too long";
	else if (!strcmp(name, ".") || !strcmp(name, ".."))
		*why = "interface name is . or ..";
	for (i = 0; !*why && i < n; i++) {
		cp = s[i];
		if (cp >= 0xc0 && i + 1 < n && (s[i + 1] & 0xc0) == 0x80) {
			if (cp < 0xe0) {
				cp = (cp & 0x1f) << 6 | (s[i + 1] & 0x3f);
			} else if (cp < 0xf0 && i + 2 < n) {
				cp = (cp & 0x0f) << 12 |
				     (unsigned)(s[i + 1] & 0x3f) << 6 |
				     (s[i + 2] & 0x3f);
			}
		}
		if (cp == '/' || cp == ':' || uni_space(cp))
			*why = "interface name contains / or : or whitespace "
			       "characters";
	}
	return *why ? -EINVAL : 0;
}

static const char *env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp && *envp; envp++)
		if (!strncmp(*envp, name, n) && (*envp)[n] == '=')
			return (*envp)[n + 1] ? *envp + n + 1 : NULL;
	return NULL;
}

/* Which variables each verb requires (libcni skel). */
static int env_required(enum cni_cmd c, const char *var)
{
	if (!strcmp(var, "CNI_PATH"))
		return c == CNI_CMD_ADD || c == CNI_CMD_DEL ||
		       c == CNI_CMD_CHECK || c == CNI_CMD_GC;
	if (!strcmp(var, "CNI_NETNS"))
		return c == CNI_CMD_ADD || c == CNI_CMD_CHECK;
	return c == CNI_CMD_ADD || c == CNI_CMD_DEL || c == CNI_CMD_CHECK;
}

static int env_missing(struct cni_env *env, struct cni_error *e)
{
	static const char *const vars[] = {
		"CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH",
	};
	const char *vals[] = {
		env->containerid, env->netns, env->ifname, env->path,
	};
	char list[128] = "";
	size_t n = 0;
	unsigned i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (!vals[i] && env_required(env->cmd, vars[i]))
			n += (size_t)snprintf(list + n, sizeof(list) - n,
					      "%s%s", n ? "," : "", vars[i]);
	if (!n)
		return 0;
	return cni_errf(e, CNI_ERR_ENV, "required env variables [%s] missing",
			list);
}

int cni_env_read(struct cni_env *env, char *const *envp,
		 struct cni_error *e)
{
	const char *why;

	if (!envp)
		envp = environ;
	memset(env, 0, sizeof(*env));
	env->command = env_get(envp, "CNI_COMMAND");
	env->containerid = env_get(envp, "CNI_CONTAINERID");
	env->netns = env_get(envp, "CNI_NETNS");
	env->ifname = env_get(envp, "CNI_IFNAME");
	env->args = env_get(envp, "CNI_ARGS");
	env->path = env_get(envp, "CNI_PATH");
	if (!env->command)
		return cni_errf(e, CNI_ERR_ENV,
				"required env variables [CNI_COMMAND] missing");
	env->cmd = cni_cmd_parse(env->command);
	if (env->cmd == CNI_CMD_NONE)
		return cni_errf(e, CNI_ERR_ENV, "unknown CNI_COMMAND: %.64s",
				env->command);
	if (env->cmd == CNI_CMD_VERSION)
		return 0;
	if (env_missing(env, e) < 0)
		return -EINVAL;
	if (env->containerid && cni_containerid_check(env->containerid) < 0) {
		cni_errf(e, CNI_ERR_ENV,
			 "CNI_CONTAINERID: invalid characters in containerID");
		return cni_err_details(e, "%.200s", env->containerid);
	}
	if (env->ifname && cni_ifname_check(env->ifname, &why) < 0) {
		cni_errf(e, CNI_ERR_ENV, "CNI_IFNAME: %s", why);
		return cni_err_details(e, "%.64s", env->ifname);
	}
	return 0;
}

/* ---- CNI_ARGS ----------------------------------------------------------- */

static int args_known(const char *const *known, const char *key)
{
	if (!known || !strcmp(key, "IgnoreUnknown"))
		return 1;
	for (; *known; known++)
		if (!strcmp(*known, key))
			return 1;
	return 0;
}

static int args_bool(const char *v, int *out)
{
	if (!strcmp(v, "1") || !strcasecmp(v, "true"))
		*out = 1;
	else if (!strcmp(v, "0") || !strcasecmp(v, "false"))
		*out = 0;
	else
		return -EINVAL;
	return 0;
}

/* Split s into pairs; every pair is kept. */
static int args_split(struct cni_args *out, struct arena *a, const char *s,
		      struct cni_error *e)
{
	const char *p, *semi, *eq;
	size_t n;
	int cnt = 1, i = 0;

	for (p = s; *p; p++)
		cnt += *p == ';';
	out->kv = arena_alloc(a, sizeof(*out->kv) * (size_t)cnt);
	if (!out->kv)
		return cni_errf(e, CNI_ERR_PLUGIN, "out of memory");
	for (p = s; i < cnt; i++, p = semi + 1) {
		semi = strchr(p, ';');
		n = semi ? (size_t)(semi - p) : strlen(p);
		eq = memchr(p, '=', n);
		if (!eq || memchr(eq + 1, '=', n - (size_t)(eq - p) - 1))
			return cni_errf(e, CNI_ERR_ENV,
					"CNI_ARGS: invalid pair \"%.*s\"",
					(int)(n > 64 ? 64 : n), p);
		out->kv[i].key = arena_strndup(a, p, (size_t)(eq - p));
		out->kv[i].val = arena_strndup(a, eq + 1,
					       n - (size_t)(eq - p) - 1);
		if (!out->kv[i].key || !out->kv[i].val)
			return cni_errf(e, CNI_ERR_PLUGIN, "out of memory");
		out->n++;
		if (!semi)
			break;
	}
	return 0;
}

int cni_args_parse(struct cni_args *out, struct arena *a, const char *s,
		   const char *const *known, struct cni_error *e)
{
	const char *unknown = NULL;
	int i;

	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return 0;
	if (args_split(out, a, s, e) < 0)
		return -EINVAL;
	for (i = 0; i < out->n; i++) {
		if (!strcmp(out->kv[i].key, "IgnoreUnknown") &&
		    args_bool(out->kv[i].val, &out->ignore_unknown) < 0)
			return cni_errf(e, CNI_ERR_ENV,
					"CNI_ARGS: IgnoreUnknown: invalid "
					"boolean \"%.32s\"", out->kv[i].val);
		if (!unknown && !args_known(known, out->kv[i].key))
			unknown = out->kv[i].key;
	}
	if (unknown && !out->ignore_unknown)
		return cni_errf(e, CNI_ERR_ENV, "CNI_ARGS: unknown arg \"%.64s\"",
				unknown);
	return 0;
}

const char *cni_args_get(const struct cni_args *args, const char *key)
{
	const char *v = NULL;
	int i;

	for (i = 0; i < args->n; i++)
		if (!strcmp(args->kv[i].key, key))
			v = args->kv[i].val;
	return v;
}

/* ---- stdin --------------------------------------------------------------- */

int cni_read_stdin(int fd, struct arena *a, size_t max, char **out,
		   size_t *len, struct cni_error *e)
{
	size_t cap = 4096, n = 0;
	char *buf = arena_alloc(a, cap + 1), *nb;
	ssize_t r;

	while (buf) {
		if (n == cap) {
			if (cap > max)
				return cni_errf(e, CNI_ERR_DECODE,
						"config larger than %zu bytes",
						max);
			cap *= 2;
			nb = arena_alloc(a, cap + 1);
			if (nb)
				memcpy(nb, buf, n);
			buf = nb;
			continue;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return cni_errf(e, CNI_ERR_IO, "read stdin: %s",
					strerror(errno));
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (!buf)
		return cni_errf(e, CNI_ERR_PLUGIN, "out of memory");
	if (n > max)
		return cni_errf(e, CNI_ERR_DECODE,
				"config larger than %zu bytes", max);
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}
