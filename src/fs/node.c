/* node.c -- the nodes of the mount (the core's tree and the status files
 * of /.partsfs) and their attributes: sizes of parts once made, the
 * placeholder of a part not made, the times of their collections. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "partsfs/tree/describe.h"
#include "partsfs/util/confine.h"
#include "partsfs/util/log.h"

void
fnode_clear(struct fnode *n)
{
	if (n->status == ST_NONE)
		pnode_clear(&n->pn);
}

int
fs_resolve(const struct library *lib, const char *path, struct fnode *out,
    struct perr *e)
{
	memset(out, 0, sizeof *out);
	if (strcmp(path, STATUS_DIR) == 0) {
		out->status = ST_DIR;
		return 0;
	}
	if (str_has_prefix(path, STATUS_DIR "/")) {
		for (int f = ST_JOBS; f <= ST_VERSION; f++) {
			if (strcmp(path + strlen(STATUS_DIR) + 1,
			    fs_status_name((enum status_file)f)) == 0) {
				out->status = (enum status_file)f;
				return 0;
			}
		}
		return perr_set(e, ENOENT, "no such status file");
	}
	out->status = ST_NONE;
	return pnode_lookup(lib, path, &out->pn, e);
}

int
fs_child(const struct library *lib, const struct fnode *parent,
    const char *path, const char *name, struct fnode *child,
    char **childpath, struct perr *e)
{
	struct buf b = BUF_INIT;
	int r;

	*childpath = NULL;
	memset(child, 0, sizeof *child);
	if (parent->status == ST_NONE && parent->pn.kind == PN_ROOT &&
	    strcmp(name, STATUS_DIR) == 0) {
		child->status = ST_DIR;
		*childpath = xstrdup(STATUS_DIR);
		return 0;
	}
	if (parent->status == ST_DIR) {
		for (int f = ST_JOBS; f <= ST_VERSION; f++) {
			if (strcmp(name, fs_status_name((enum status_file)f)) ==
			    0) {
				child->status = (enum status_file)f;
				*childpath = xasprintf("%s/%s", STATUS_DIR, name);
				return 0;
			}
		}
		return perr_set(e, ENOENT, "no such status file");
	}
	if (parent->status != ST_NONE)
		return perr_set(e, ENOTDIR, "not a directory");
	child->status = ST_NONE;
	if ((r = pnode_child(lib, &parent->pn, name, &child->pn, e)) != 0)
		return r;
	/* the canonical name of the child, under the parent's path */
	if (path[0] != '\0')
		buf_printf(&b, "%s/", path);
	pnode_name(&child->pn, &b);
	*childpath = buf_steal(&b);
	return 0;
}

bool
fnode_is_dir(const struct fnode *n)
{
	return n->status == ST_DIR || (n->status == ST_NONE &&
	    pnode_is_dir(&n->pn));
}

bool
fnode_is_made(const struct fnode *n)
{
	return n->status == ST_NONE && n->pn.kind == PN_PART &&
	    n->pn.fmt != FMT_JSON;
}

/* The description of node n, or NULL when it has none. */
static json_t *
fnode_describe(const struct fnode *n, struct perr *e)
{
	if (n->status != ST_NONE)
		return NULL;
	switch (n->pn.kind) {
	case PN_COLLECTION_JSON:
		return describe_collection(n->pn.coll);
	case PN_CLASS_JSON:
		return describe_class(n->pn.cls);
	case PN_PART:
		return n->pn.fmt == FMT_JSON ? describe_part(&n->pn, e) : NULL;
	default:
		return NULL;
	}
}

char *
fnode_json(const struct fnode *n, struct perr *e)
{
	json_t *j = fnode_describe(n, e);
	char *s;

	if (j == NULL)
		return NULL;
	s = describe_dump(j);
	json_decref(j);
	return s;
}

bool
fnode_json_len(const struct fnode *n, size_t *len)
{
	json_t *j = fnode_describe(n, NULL);

	if (j == NULL)
		return false;
	*len = describe_dump_len(j);
	json_decref(j);
	return true;
}

/* A part's cache key: remembered in its inode, else as planning saw its
 * sources in the last second (core_part_key).  0 or -errno when the part
 * cannot be planned, EWOULDBLOCK when not without asking its engine for
 * its version (then it is not in the cache either: nothing was made with
 * that version). */
static int
part_key(struct fs *fs, const struct library *lib, const struct pnode *pn,
    fuse_ino_t ino, struct cache_key *key)
{
	int r;

	if (inodes_get_key(fs->inodes, ino, lib->generation, key))
		return 0;
	if ((r = core_part_key(fs->core, pn, key)) != 0)
		return r;
	inodes_set_key(fs->inodes, ino, lib->generation, key);
	return 0;
}

int
fs_part_cached(struct fs *fs, const struct library *lib,
    const struct pnode *pn, fuse_ino_t ino, uint64_t *size)
{
	struct cache_key key;
	int r;

	if ((r = part_key(fs, lib, pn, ino, &key)) != 0)
		return r;
	return core_made_size(fs->core, &key, pn->fmt, size) ? 1 : 0;
}

void
fs_set_time(struct stat *st, const struct timespec *t)
{
	st->st_mtim = *t;
	st->st_ctim = *t;
	st->st_atim = *t;
}

/*
 * A drawing of the library, opened without leaving it.  Loading took its
 * real path beneath the root; the file may have been replaced by a link
 * out since (the live reload comes a moment later), and such a link is
 * refused here as loading refuses it: EACCES, with a warning.  *st is
 * the file's stat.
 */
int
fs_open_drawing(const struct library *lib, const char *file, int flags,
    struct stat *st)
{
	int fd;

	/* O_NONBLOCK: a FIFO swapped in must not hold the thread (openat2
	 * takes no other flag with O_PATH) */
	if (!(flags & O_PATH))
		flags |= O_NONBLOCK;
	fd = open_inside(lib->root, file, flags);
	if (fd == -1 && (errno == EXDEV || errno == ELOOP)) {
		log_warning("%s leads outside the library now: refused",
		    file);
		errno = EACCES;
	} else if (fd != -1 && (fstat(fd, st) == -1 ||
	    !S_ISREG(st->st_mode))) {
		close(fd);
		errno = EACCES;
		fd = -1;
	}
	return fd;
}

/*
 * A part not made has the placeholder size 0, kept by the kernel as long
 * as any attribute: the job that makes the part gives the kernel its
 * exact size then (fs_part_made), and an open gives it when another
 * process made it meanwhile (fs_reply_part_open), so no read ends at the
 * placeholder.  A part taken from the cache while open keeps the size of
 * what its open files read (timeout 0), or the kernel would cut them
 * short, and kill the programs that map it.  Listings give the same
 * attributes as a stat, so that ls -l needs no request per part.
 */
void
fs_node_attr(struct fs *fs, const struct library *lib, const struct fnode *n,
    fuse_ino_t ino, struct stat *st, double *timeout)
{
	char *text;
	uint64_t size, seq;
	off_t open_size;

	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = 4096;
	st->st_nlink = 1;
	*timeout = fs->timeout;
	fs_set_time(st, &lib->mtime);
	if (n->status != ST_NONE) {
		if (n->status == ST_DIR) {
			st->st_mode = S_IFDIR | 0555;
			st->st_nlink = 2;
		} else {
			st->st_mode = S_IFREG | 0444;
			text = fs_status_text(fs, n->status);
			st->st_size = (off_t)strlen(text);
			free(text);
			*timeout = 0;
		}
		return;
	}
	if (n->pn.coll != NULL)
		fs_set_time(st, &n->pn.coll->mtime);
	if (pnode_is_dir(&n->pn)) {
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		return;
	}
	st->st_mode = S_IFREG | 0444;
	switch (n->pn.kind) {
	case PN_LINK: {
		struct buf t = BUF_INIT;
		pnode_link_target(&n->pn, &t);
		st->st_mode = S_IFLNK | 0777;
		st->st_size = (off_t)t.len;
		buf_free(&t);
		break;
	}
	case PN_DRAWING: {
		struct stat fst;
		int fd = fs_open_drawing(lib, n->pn.file, O_PATH, &fst);
		if (fd != -1) {
			st->st_size = fst.st_size;
			close(fd);
		}
		break;
	}
	case PN_PART:
		if (n->pn.fmt == FMT_JSON)
			goto json;
		/* The exact size once made; until then the placeholder,
		 * replaced by the job that makes the part (see fs.h). */
		seq = inodes_report_begin(fs->inodes, ino);
		if (fs_part_cached(fs, lib, &n->pn, ino, &size) == 1)
			st->st_size = (off_t)size;
		else if (fs_open_part_size(fs, ino, &open_size)) {
			st->st_size = open_size;
			*timeout = 0;
		} else
			st->st_size = 0;
		inodes_report_end(fs->inodes, ino, seq, st->st_size == 0);
		break;
	default:
	json: {
		size_t len;
		if (inodes_get_text_len(fs->inodes, ino, lib->generation,
		    &len))
			st->st_size = (off_t)len;
		else if (fnode_json_len(n, &len)) {
			st->st_size = (off_t)len;
			inodes_set_text_len(fs->inodes, ino, lib->generation,
			    len);
		}
		break;
	}
	}
	st->st_blocks = (st->st_size + 511) / 512;
}

bool
fs_node(struct fs *fs, const struct library *lib, fuse_ino_t ino,
    struct fnode *n, char **path, int *err)
{
	struct perr e = { 0 };

	if (inodes_node(fs->inodes, ino, lib->generation, n, path))
		return true;
	if (*path == NULL) {
		*err = ESTALE;
		return false;
	}
	if (fs_resolve(lib, *path, n, &e) != 0) {
		/* gone in a live edit */
		*err = ENOENT;
		free(*path);
		*path = NULL;
		return false;
	}
	inodes_set_node(fs->inodes, ino, lib->generation, n);
	return true;
}

bool
fs_node_of(fuse_req_t req, fuse_ino_t ino, struct library **lib,
    struct fnode *n, char **path)
{
	struct fs *fs = fuse_req_userdata(req);
	int err;

	*lib = core_library(fs->core);
	if (fs_node(fs, *lib, ino, n, path, &err))
		return true;
	fuse_reply_err(req, err);
	library_unref(*lib);
	return false;
}
