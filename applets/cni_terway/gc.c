/* cni-terway: teardown of one attachment (DEL, a failed ADD, GC) and GC.
 *
 * GC walks the state files: an attachment not in cni.dev/valid-attachments
 * is torn down (its netns, if still there, from the state file) and
 * released to the agent; a release still owed from a DEL made while the
 * agent was down is retried.  The vpc lease store is then trimmed to the
 * valid attachments, as host-local's GC does.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cni_terway.h"
#include "log.h"
#include "statefile.h"

/* The vpc lease; 0 or -1 with t->e set. */
static int lease_release(struct tw *t)
{
	struct ipam h;
	int r;

	if (tw_ipam_open(t, &h) < 0)
		return -1;
	r = ipam_del(&h, t->s.cid, t->s.ifname, NULL, 0);
	if (r < 0)
		cni_errf(&t->e, CNI_ERR_IO, "release lease of %s/%s: %s",
			 t->s.cid, t->s.ifname, h.err);
	ipam_close(&h);
	return r < 0 ? -1 : 0;
}

/* The vpc lease store of the config exists (DEL and GC never make it). */
static int lease_store(struct tw *t, char *dir, size_t len)
{
	snprintf(dir, len, "%s/%s", t->c.ipam_dir ? t->c.ipam_dir :
		 IPAM_DEFAULT_DATA_DIR, t->c.cni.name);
	return access(dir, F_OK) == 0;
}

int tw_teardown(struct tw *t)
{
	char dir[PATH_MAX];

	if (t->s.pending)	/* done before; only the release is owed */
		return 0;
	if (t->s.mode == ENIPROTO_MODE_ENI)
		tw_eni_teardown(t);
	tw_veth_teardown(t);
	if (t->s.mode == ENIPROTO_MODE_VPC)
		return lease_release(t);
	/* no state file: an ADD killed before it wrote one may hold a lease
	 * already (vpc), or nothing */
	if (!t->s.mode && lease_store(t, dir, sizeof(dir)))
		return lease_release(t);
	return 0;
}

void tw_finish(struct tw *t)
{
	if (tw_release(t) == 0) {
		tw_state_remove(t);
		return;
	}
	t->s.pending = 1;
	if (tw_state_write(t) < 0)
		log_warn("%s", t->e.msg);
}

/* "<cid>@<ifname>" of a state file whose content is unreadable */
static void gc_corrupt(struct tw *t, const char *file, const char *path)
{
	char cid[ENIPROTO_CID_MAX], *at;

	if (strlen(file) >= sizeof(cid))
		return;
	strcpy(cid, file);
	at = strrchr(cid, '@');
	if (!at)
		return;
	*at = 0;
	if (!cni_attachment_valid(&t->c.cni, cid, at + 1) && unlink(path) == 0)
		log_info("gc: removed corrupt state %s", path);
}

static void gc_one(struct tw *t, const char *file)
{
	char path[PATH_MAX];
	struct cni_error keep = t->e;

	if (snprintf(path, sizeof(path), "%s/%s", t->c.data_dir, file) >=
	    (int)sizeof(path))
		return;
	if (tw_state_read_file(t, path) == -EINVAL) {
		gc_corrupt(t, file, path);
		return;
	}
	if (!t->s.cid[0] || (!t->s.pending &&
	    cni_attachment_valid(&t->c.cni, t->s.cid, t->s.ifname)))
		return;
	log_info("gc: %s/%s (%s/%s)%s", t->s.cid, t->s.ifname, t->s.k8s_ns,
		 t->s.k8s_name, t->s.pending ? ": release owed" : "");
	tw_open_pod(t, t->s.netns, 0);
	if (tw_teardown(t) < 0)
		log_warn("gc: %s", t->e.msg);
	else
		tw_finish(t);
	tw_close_pod(t);
	t->e = keep;
}

/* The temporary of a killed ADD's state file, its attachment not valid
 * (GC holds the exclusive lock: no ADD or DEL is running). */
static void gc_tmp(struct tw *t, DIR *dir, const char *file)
{
	char target[ENIPROTO_CID_MAX + NL_IFNAMSIZ + 1], *at;

	if (statefile_tmp_target(file, target, sizeof(target)) < 0)
		return;
	at = strrchr(target, '@');
	if (!at)
		return;
	*at = 0;
	if (!cni_attachment_valid(&t->c.cni, target, at + 1) &&
	    unlinkat(dirfd(dir), file, 0) == 0)
		log_info("gc: removed %s/%s", t->c.data_dir, file);
}

/* Only a store vpc mode made: GC does not create one. */
static void gc_leases(struct tw *t)
{
	struct ipam_attachment *valid;
	int i, n = t->c.cni.n_attachments, r;
	char dir[PATH_MAX];
	struct ipam h;

	memset(&t->s, 0, sizeof(t->s));
	if (!lease_store(t, dir, sizeof(dir)))
		return;
	valid = calloc((size_t)n + 1, sizeof(*valid));
	if (!valid || tw_ipam_open(t, &h) < 0) {
		free(valid);
		log_warn("gc: lease store: %s", t->e.msg);
		return;
	}
	for (i = 0; i < n; i++) {
		valid[i].cid = t->c.cni.attachments[i].containerid;
		valid[i].ifname = t->c.cni.attachments[i].ifname;
	}
	r = ipam_gc(&h, valid, n);
	if (r < 0)
		log_warn("gc: lease store: %s", h.err);
	else if (r > 0)
		log_info("gc: released %d leases", r);
	ipam_close(&h);
	free(valid);
}

void tw_gc(struct tw *t)
{
	struct arena keep = t->a;
	struct dirent *de;
	DIR *dir = opendir(t->c.data_dir);

	while (dir && (de = readdir(dir))) {
		if (de->d_name[0] == '.') {
			gc_tmp(t, dir, de->d_name);
			continue;
		}
		arena_init(&t->a);
		gc_one(t, de->d_name);
		arena_free_all(&t->a);
	}
	if (dir)
		closedir(dir);
	t->a = keep;
	gc_leases(t);
}
