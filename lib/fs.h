/* Small files written whole and durably: the state every applet keeps
 * (leases, per-container state, the flannel subnet file, the agent's
 * allocations) must survive a crash either old or new, never torn.
 * All return 0 or -errno. */
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

#endif
