/* fuse-init.h -- a workaround for libfuse 3.14, which leaves
 * FUSE_PARALLEL_DIROPS out of its answer to the kernel's INIT (see
 * fuse-init.c). */
#ifndef PARTSFS_COMPAT_FUSE_INIT_H
#define PARTSFS_COMPAT_FUSE_INIT_H

#define FUSE_USE_VERSION 314

#include <fuse_lowlevel.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* What the hooks need: whether the file system asked for parallel
 * directory operations (set in its init operation, before the answer is
 * written), and the INIT request they found. */
struct fuse_init_fix {
	bool parallel_dirops;
	atomic_bool init_seen, init_answered;
	uint64_t init_unique;
};

/*
 * Read and write the session's /dev/fuse through hooks that amend the
 * answer to INIT when `fix->parallel_dirops` is set by then.  Call after
 * mounting, before the loop; `fix` lives as long as the session.  One
 * session per process.  0, or -1 as fuse_session_custom_io.
 */
int fuse_init_fix_install(struct fuse_session *se, struct fuse_init_fix *fix);

#endif
