/* open.c -- the operations on files: opening a part (at once from its
 * cache file when made; else parked until the core's fetch of it ends,
 * without holding a FUSE thread), drawings, status files and JSON
 * descriptions, and reads spliced from cache files. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "partsfs/util/log.h"

static struct fs *
fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Whom a fetch's end wakes: the parked request `id` of `fs`. */
struct wake {
	struct fs *fs;
	uint64_t id;
};

/* Answer the parked open p with the end of fetch f. */
static void
answer_open(struct fs *fs, struct pending *p, struct fetch *f)
{
	int fd;

	if ((fd = fetch_fd(f)) != -1) {
		p->fi.fh = (uintptr_t)fs_handle_fd(fs, fd, fetch_stat(f));
		fs_reply_part_open(fs, p->req, p->ino, &p->fi);
	} else {
		if (fetch_state(f) == FETCH_FAILED)
			log_warning("%s: %s", p->path, fetch_error(f));
		else
			log_warning("%s: the part made cannot be opened "
			    "again: %s", p->path, strerror(errno));
		fuse_reply_err(p->req, EIO);
	}
	fs_pending_free(p);
}

static void
open_done(void *arg, struct fetch *f)
{
	struct wake *w = arg;
	struct pending *p;

	if ((p = fs_unpark(w->fs, w->id)) != NULL)
		answer_open(w->fs, p, f);   /* else interrupted: answered */
	free(w);
}

/* Open part n (inode ino): from the cache file its inode knows the key
 * of (the common case, with no planning and no index query), else
 * through a fetch, the request parked while it runs. */
static void
open_part(fuse_req_t req, struct fs *fs, const struct library *lib,
    const struct fnode *n, fuse_ino_t ino, const char *path,
    struct fuse_file_info *fi)
{
	struct cache_key key;
	struct pending *p;
	struct wake *w;
	struct fetch *f;
	struct stat st;
	uint64_t id;
	pid_t opener;
	int fd;

	if (inodes_get_key(fs->inodes, ino, lib->generation, &key) &&
	    (fd = core_open_made(fs->core, &key, n->pn.fmt,
	    inodes_touch_due(fs->inodes, ino), &st)) != -1) {
		fi->fh = (uintptr_t)fs_handle_fd(fs, fd, &st);
		fs_reply_part_open(fs, req, ino, fi);
		return;
	}
	/* req is not ours once parked: an interrupt may answer (and free)
	 * it at any time after fs_park */
	opener = fuse_req_ctx(req)->pid;
	w = xmalloc(sizeof *w);
	w->fs = fs;
	w->id = id = fs_park(fs, req, P_OPEN, ino, 0, path, fi);
	/* the fetch's end may come (and free w) before core_fetch returns */
	if (core_fetch(fs->core, &n->pn, 0, open_done, w, &f) == 0) {
		fs_park_fetch(fs, id, f);
		fs_prefetch(fs, lib, path, n->pn.fmt, opener);
		return;
	}
	free(w);
	if ((p = fs_unpark(fs, id)) != NULL)
		answer_open(fs, p, f);
	fetch_unref(f);
}

void
fs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct library *lib;
	struct fnode n;
	struct perr e = { 0 };
	struct handle *h;
	struct stat st;
	char *path, *text;
	int fd;

	if ((fi->flags & O_ACCMODE) != O_RDONLY ||
	    (fi->flags & (O_TRUNC | O_CREAT))) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (!fs_node_of(req, ino, &lib, &n, &path))
		return;
	atomic_fetch_add(&fs->opens, 1);
	if (fnode_is_dir(&n))
		fuse_reply_err(req, EISDIR);
	else if (n.status != ST_NONE) {
		h = fs_handle_text(fs, fs_status_text(fs, n.status));
		fi->fh = (uintptr_t)h;
		fi->direct_io = 1;      /* it changes while read */
		if (fuse_reply_open(req, fi) != 0)
			fs_handle_free(fs, h);
	} else if (n.pn.kind == PN_DRAWING) {
		if ((fd = fs_open_drawing(lib, n.pn.file, O_RDONLY, &st)) == -1)
			fuse_reply_err(req, errno);
		else {
			h = fs_handle_fd(fs, fd, NULL);
			fi->fh = (uintptr_t)h;
			if (fuse_reply_open(req, fi) != 0)
				fs_handle_free(fs, h);
		}
	} else if (fnode_is_made(&n))
		open_part(req, fs, lib, &n, ino, path, fi);
	else if ((text = fnode_json(&n, &e)) != NULL) {
		h = fs_handle_text(fs, text);
		fi->fh = (uintptr_t)h;
		if (fuse_reply_open(req, fi) != 0)
			fs_handle_free(fs, h);
	} else
		fuse_reply_err(req, e.code != 0 ? e.code : EIO);
	fnode_clear(&n);
	library_unref(lib);
	free(path);
}

static void
read_reply(fuse_req_t req, struct handle *h, size_t size, off_t off)
{
	if (h->splice) {
		/*
		 * Straight from the cache file, spliced when possible, and
		 * never asking for more than the file holds: on a short
		 * splice libfuse 3.14 patches the reply's length after
		 * vmsplicing it, which a fork() of an engine in between
		 * makes the kernel reject, and the request is then dropped
		 * without a reply (a reader hung for good).
		 */
		struct fuse_bufvec buf;
		if ((size_t)off >= h->len) {
			fuse_reply_buf(req, NULL, 0);
			return;
		}
		if (size > h->len - (size_t)off)
			size = h->len - (size_t)off;
		buf = (struct fuse_bufvec)FUSE_BUFVEC_INIT(size);
		buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		buf.buf[0].fd = h->fd;
		buf.buf[0].pos = off;
		fuse_reply_data(req, &buf, 0);
		return;
	}
	if (h->fd != -1) {
		char *data = xmalloc(size ? size : 1);
		ssize_t n = pread(h->fd, data, size, off);
		if (n < 0)
			fuse_reply_err(req, errno);
		else
			fuse_reply_buf(req, data, (size_t)n);
		free(data);
		return;
	}
	if ((size_t)off >= h->len)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, h->data + off,
		    size < h->len - (size_t)off ? size : h->len - (size_t)off);
}

void
fs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct fs *fs = fs_of(req);     /* the reply frees req */

	(void)ino;
	/* the reply, once written, can wake the reader, whose close can
	 * release the handle before read_reply returns */
	atomic_fetch_add(&h->refs, 1);
	read_reply(req, h, size, off);
	fs_handle_free(fs, h);
}

void
fs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fs_handle_free(fs_of(req), (struct handle *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}
