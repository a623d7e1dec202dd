/* ops.c -- the FUSE low-level operations of partsfs: the table of them,
 * the session's start (INIT) and end, the file system's statistics, and
 * EROFS for every change. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "fs.h"

void
fs_init(struct fs *fs)
{
	pthread_mutex_init(&fs->lock, NULL);
	pthread_mutex_init(&fs->park.lock, NULL);
	fs->park.next_id = 1;
	pthread_mutex_init(&fs->intr.lock, NULL);
	pthread_cond_init(&fs->intr.cond, NULL);
	pthread_mutex_init(&fs->handles.lock, NULL);
	fs->inodes = inodes_new();
}

void
fs_free(struct fs *fs)
{
	inodes_free(fs->inodes);
	for (size_t i = 0; i < PF_ARRAY_LEN(fs->reading); i++) {
		free(fs->reading[i].dir);
		free(fs->reading[i].name);
	}
	pthread_mutex_destroy(&fs->lock);
	pthread_mutex_destroy(&fs->park.lock);
	pthread_mutex_destroy(&fs->intr.lock);
	pthread_cond_destroy(&fs->intr.cond);
	pthread_mutex_destroy(&fs->handles.lock);
}

void
fs_reply_statfs(fuse_req_t req, struct cache *cache, struct inodes *inodes)
{
	struct cache_stats cs = { 0 };
	struct statvfs sv;
	uint64_t used;

	cache_stats(cache, &cs);
	memset(&sv, 0, sizeof sv);
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_blocks = cs.max_bytes / 4096;
	used = cs.bytes + cs.index_bytes;
	sv.f_bfree = cs.max_bytes > used ? (cs.max_bytes - used) / 4096 : 0;
	sv.f_bavail = sv.f_bfree;
	sv.f_files = inodes_count(inodes);
	sv.f_namemax = 255;
	sv.f_flag = ST_RDONLY;
	fuse_reply_statfs(req, &sv);
}

static void
op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fuse_req_userdata(req);

	(void)ino;
	fs_reply_statfs(req, fs->core->cache, fs->inodes);
}

static void
op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	(void)ino;
	fuse_reply_err(req, (mask & W_OK) ? EROFS : 0);
}

/* Everything that would change the tree. */

static void
op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
    struct fuse_file_info *fi)
{
	(void)ino, (void)attr, (void)to_set, (void)fi;
	fuse_reply_err(req, EROFS);
}

static void
op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    dev_t rdev)
{
	(void)parent, (void)name, (void)mode, (void)rdev;
	fuse_reply_err(req, EROFS);
}

static void
op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	(void)parent, (void)name, (void)mode;
	fuse_reply_err(req, EROFS);
}

static void
op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent, (void)name;
	fuse_reply_err(req, EROFS);
}

static void
op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
    const char *name)
{
	(void)link, (void)parent, (void)name;
	fuse_reply_err(req, EROFS);
}

static void
op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
    fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	(void)parent, (void)name, (void)newparent, (void)newname, (void)flags;
	fuse_reply_err(req, EROFS);
}

static void
op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
    const char *newname)
{
	(void)ino, (void)newparent, (void)newname;
	fuse_reply_err(req, EROFS);
}

static void
op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    struct fuse_file_info *fi)
{
	(void)parent, (void)name, (void)mode, (void)fi;
	fuse_reply_err(req, EROFS);
}

static void
op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
    off_t off, struct fuse_file_info *fi)
{
	(void)ino, (void)buf, (void)size, (void)off, (void)fi;
	fuse_reply_err(req, EROFS);
}

static void
op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
    const char *value, size_t size, int flags)
{
	(void)ino, (void)name, (void)value, (void)size, (void)flags;
	fuse_reply_err(req, EROFS);
}

static void
op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino, (void)name;
	fuse_reply_err(req, EROFS);
}

static void
op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
    off_t length, struct fuse_file_info *fi)
{
	(void)ino, (void)mode, (void)offset, (void)length, (void)fi;
	fuse_reply_err(req, EROFS);
}

void
fs_init_conn(struct fs *fs, struct fuse_conn_info *conn)
{
	/* reads spliced from the cache files; the pages are copied, not
	 * moved: they belong to the cache file's page cache, and the
	 * kernel's attempt to steal one it cannot take ends in a page dump
	 * in its log ("fuse: trying to steal weird page") */
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	conn->want &= ~FUSE_CAP_SPLICE_MOVE;
	/* No POSIX ACLs (FUSE_CAP_POSIX_ACL): the kernel would then ask for
	 * them to check the access of every user but the owner, and the
	 * EOPNOTSUPP partsfs answers for system.* attributes would refuse
	 * them all under allow_other.  ls -l learns of that answer once. */
	conn->want &= ~FUSE_CAP_POSIX_ACL;
	/* Lookups and listings of one directory in parallel: without it
	 * the kernel sends them one at a time, and a lookup waiting for its
	 * part (exact_size) holds up the whole directory.  libfuse 3.14
	 * leaves the flag out of its answer; compat/fuse-init.c puts it in. */
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	fs->init_fix.parallel_dirops = (conn->want & FUSE_CAP_PARALLEL_DIROPS) != 0;
	/* With exact sizes, a listing must not ask for every part's
	 * attributes: that would make them all. */
	if (fs->exact_size)
		conn->want &= ~FUSE_CAP_READDIRPLUS;
}

static void
op_init(void *userdata, struct fuse_conn_info *conn)
{
	fs_init_conn(userdata, conn);
}

const struct fuse_lowlevel_ops fs_ops = {
	.init = op_init,
	.lookup = fs_op_lookup,
	.forget = fs_op_forget,
	.forget_multi = fs_op_forget_multi,
	.getattr = fs_op_getattr,
	.readlink = fs_op_readlink,
	.opendir = fs_op_opendir,
	.readdir = fs_op_readdir,
	.readdirplus = fs_op_readdirplus,
	.releasedir = fs_op_releasedir,
	.open = fs_op_open,
	.read = fs_op_read,
	.release = fs_op_release,
	.getxattr = fs_op_getxattr,
	.listxattr = fs_op_listxattr,
	.statfs = op_statfs,
	.access = op_access,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_unlink,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.create = op_create,
	.write = op_write,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
	.fallocate = op_fallocate,
};
