/* The state file, DIR/state.json: which IP (or exclusive ENI) belongs to
 * which pod and container.  Written atomically (temporary file in DIR,
 * fsync, rename, fsync DIR) before an allocation is answered, so a crash
 * at any point loses nothing that was handed out.  ENIs and idle IPs are
 * not stored: they are read back from the cloud.
 *
 *	{"v":1,"instance":"i-...","allocs":[{"containerID":"...",
 *	 "ifname":"eth0","namespace":"default","name":"web-0",
 *	 "podUID":"...","mode":"eniip","ip":"10.0.1.7","eni":"eni-...",
 *	 "created":1700000000}]}
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "agent.h"
#include "json.h"

#define STATE_FILE	"state.json"
#define STATE_MAX	(16 << 20)

const char *ea_mode_name(enum ea_mode m)
{
	return m == EA_MODE_VPC ? "vpc" : m == EA_MODE_ENI ? "eni" : "eniip";
}

static void put_alloc(struct json_w *w, const struct ea_alloc *a)
{
	char ip[INET_ADDRSTRLEN];

	json_w_obj_begin(w);
	json_w_kstr(w, "containerID", a->cid);
	json_w_kstr(w, "ifname", a->ifname);
	json_w_kstr(w, "namespace", a->ns);
	json_w_kstr(w, "name", a->name);
	json_w_kstr(w, "podUID", a->uid);
	json_w_kstr(w, "mode", ea_mode_name(a->mode));
	json_w_kstr(w, "ip", inet_ntop(AF_INET, &a->ip, ip, sizeof(ip)));
	json_w_kstr(w, "eni", a->eni);
	json_w_ki64(w, "created", a->created);
	json_w_obj_end(w);
}

/* The state directory: parents 0755, itself 0700 (it names pods). */
static int mkdirs(const char *dir)
{
	int rc = fs_mkdir_parents(dir, 0755);

	if (rc == 0 && mkdir(dir, 0700) < 0 && errno != EEXIST)
		rc = -errno;
	return rc;
}

static int replace_file(const char *dir, const char *text, size_t len)
{
	char path[300];

	if (snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	return fs_write_atomic(path, text, len, 0600);
}

int ea_state_save(const struct ea_pool *p, const char *dir,
		  const char *instance, char *err, size_t errlen)
{
	struct json_w w;
	const char *text;
	size_t len;
	int i, rc;

	json_w_init(&w, NULL, 0);
	json_w_obj_begin(&w);
	json_w_ki64(&w, "v", 1);
	json_w_kstr(&w, "instance", instance);
	json_w_key(&w, "allocs");
	json_w_arr_begin(&w);
	for (i = 0; i < p->nalloc; i++)
		if (p->alloc[i].mode != EA_MODE_VPC)
			put_alloc(&w, &p->alloc[i]);
	json_w_arr_end(&w);
	json_w_obj_end(&w);
	rc = json_w_finish(&w, &text, &len);
	if (!rc)
		rc = mkdirs(dir);
	if (!rc)
		rc = replace_file(dir, text, len);
	if (rc)
		snprintf(err, errlen, "write %s/%s: %s", dir, STATE_FILE,
			 strerror(-rc));
	json_w_free(&w);
	return rc;
}

static int get_field(const struct json_doc *d, int obj, const char *key,
		     char *dst, size_t cap, int required)
{
	const char *s;

	if (json_get_str(d, obj, key, &s, NULL) < 0 || strlen(s) >= cap) {
		dst[0] = '\0';
		return required ? -EINVAL : 0;
	}
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int load_alloc(struct ea_pool *p, const struct json_doc *d, int o)
{
	struct ea_alloc a;
	char mode[16], ip[INET_ADDRSTRLEN];
	int64_t created = 0;

	memset(&a, 0, sizeof(a));
	if (get_field(d, o, "containerID", a.cid, sizeof(a.cid), 0) ||
	    get_field(d, o, "ifname", a.ifname, sizeof(a.ifname), 0) ||
	    get_field(d, o, "namespace", a.ns, sizeof(a.ns), 1) ||
	    get_field(d, o, "name", a.name, sizeof(a.name), 1) ||
	    get_field(d, o, "podUID", a.uid, sizeof(a.uid), 0) ||
	    get_field(d, o, "mode", mode, sizeof(mode), 1) ||
	    get_field(d, o, "ip", ip, sizeof(ip), 1) ||
	    get_field(d, o, "eni", a.eni, sizeof(a.eni), 1) ||
	    inet_pton(AF_INET, ip, &a.ip) != 1)
		return -EINVAL;
	if (!strcmp(mode, "eni"))
		a.mode = EA_MODE_ENI;
	else if (!strcmp(mode, "eniip"))
		a.mode = EA_MODE_ENIIP;
	else
		return -EINVAL;
	json_get_i64(d, o, "created", &created, NULL);
	a.created = created;
	if (ea_alloc_by_ip(p, a.ip))
		return -EEXIST;
	if (!ea_alloc_add(p))
		return -ENOMEM;
	p->alloc[p->nalloc - 1] = a;
	return 0;
}

static int load_doc(struct ea_pool *p, const struct json_doc *d,
		    char *instance, size_t instlen, char *err, size_t errlen)
{
	int64_t v = 0;
	int arr, i, bad = 0;

	if (json_get_i64(d, 0, "v", &v, NULL) < 0 || v != 1) {
		snprintf(err, errlen, "unsupported state version");
		return -EINVAL;
	}
	get_field(d, 0, "instance", instance, instlen, 0);
	if (json_get_arr(d, 0, "allocs", &arr, NULL) < 0)
		return 0;
	json_for_each(d, arr, i)
		if (load_alloc(p, d, i) < 0)
			bad++;
	if (bad)
		snprintf(err, errlen, "%d bad or duplicate entries skipped",
			 bad);
	return 0;
}

int ea_state_parse(struct ea_pool *p, const char *text, size_t len,
		   char *instance, size_t instlen, char *err, size_t errlen)
{
	struct json_limits lim = { .max_len = STATE_MAX };
	struct json_err je;
	struct json_doc d;
	struct arena a;
	int rc;

	instance[0] = '\0';
	err[0] = '\0';
	arena_init(&a);
	rc = json_parse(&d, &a, text, len, &lim, &je);
	if (rc < 0 || json_typeof(&d, 0) != JSON_OBJECT) {
		snprintf(err, errlen, "%s", rc < 0 ? je.msg :
			 "not a JSON object");
		rc = -EINVAL;
	} else {
		rc = load_doc(p, &d, instance, instlen, err, errlen);
	}
	arena_free_all(&a);
	return rc;
}

int ea_state_load(struct ea_pool *p, const char *dir, char *instance,
		  size_t instlen, char *err, size_t errlen)
{
	char path[300], why[EA_MSG_MAX], *text;
	size_t len;
	int rc;

	instance[0] = '\0';
	err[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE);
	rc = ea_read_file(path, STATE_MAX, &text, &len);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = ea_state_parse(p, text, len, instance, instlen, why,
			    sizeof(why));
	if (why[0])
		snprintf(err, errlen, "%s: %.400s", path, why);
	free(text);
	return rc;
}
