/* Small per-attachment state files of the CNI plugins (and anything else
 * that keeps a few KiB on disk): replaced atomically, read with a bound,
 * guarded by a lock file in their directory.
 *
 *	fd = statefile_lock(dir, ".vpcnet.lock", 1, err, sizeof(err));
 *	statefile_write(dir, "ctr1", text, len, err, sizeof(err));
 *	statefile_unlock(fd);
 *
 * Functions return 0 (or an fd) or -errno, with "what path: why" in err.
 */
#ifndef VPCNET_STATEFILE_H
#define VPCNET_STATEFILE_H

#include <stddef.h>

#include "arena.h"

#define STATEFILE_ERRLEN 320

/* Write dir/name atomically, mode 0600: a temporary file in dir renamed
 * over name (fs_replace: not fsynced).  dir must exist.  On failure
 * nothing is left behind and the old file (if any) is intact. */
int statefile_write(const char *dir, const char *name, const char *data,
		    size_t len, char *err, size_t errlen);

/* The temporary a killed statefile_write leaves, ".<name>.tmpXXXXXX":
 * 0 with <name> in out, or -EINVAL when file is not one. */
int statefile_tmp_target(const char *file, char *out, size_t len);

/* Remove dir's temporaries of name (the caller holds what keeps writers of
 * name away): how many, or -errno of the first failure (message in err). */
int statefile_remove_tmps(const char *dir, const char *name, char *err,
			  size_t errlen);

/* Read path into a NUL-terminated arena buffer: -ENOENT when missing,
 * -EFBIG when larger than max bytes, -ENOMEM, -errno. */
int statefile_read(const char *path, size_t max, struct arena *a, char **out,
		   size_t *len);

/* Create dir (and its parents, 0755; dir itself 0700) when missing, open
 * (creating, 0600) dir/name and flock it exclusive or shared, waiting as
 * long as it takes.  On a read-only filesystem an existing lock file is
 * opened read-only (flock needs no write).  Returns the fd, to give to
 * statefile_unlock. */
int statefile_lock(const char *dir, const char *name, int exclusive,
		   char *err, size_t errlen);
void statefile_unlock(int fd);

#endif
