/* Small files written whole: readers see the old or the new content, never
 * a torn one, even when the writer is killed. fs_write_atomic also makes
 * the change last through a power loss (the flannel subnet file, the
 * agent's allocations); fs_replace does not (per-attachment CNI state: a
 * power loss kills every pod with the node, and upstream plugins never
 * sync). All return 0 or -errno. */
#ifndef VPCNET_FS_H
#define VPCNET_FS_H

#include <stddef.h>
#include <sys/types.h>

/* write(2) until done, retrying EINTR. */
int fs_write_all(int fd, const void *buf, size_t len);

/* path's parent directories, each made with mode when missing. */
int fs_mkdir_parents(const char *path, mode_t mode);

/* fsync the directory holding path (so a rename or create in it lasts). */
int fs_sync_parent(const char *path);

/* Replace path with buf: a temporary file in the same directory (hidden:
 * ".NAME.tmpXXXXXX"), mode,
 * fsync, rename over path, fsync of the directory, which must exist
 * (-ENOENT). On failure path is untouched and no temporary file is
 * left. */
int fs_write_atomic(const char *path, const void *buf, size_t len,
		    mode_t mode);

/* The same without the two fsyncs: atomic, not durable. */
int fs_replace(const char *path, const void *buf, size_t len, mode_t mode);

#endif
