/* lookup.c -- the operations on names: lookups (with exact_size, a lookup
 * of a part waits for it, parked), forgetting, attributes, links, and
 * listings made once per open directory. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

static struct fs *
fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Answer a lookup with node n at `path`, kept by the kernel for
 * `timeout` seconds. */
static void
reply_entry(fuse_req_t req, struct fs *fs, const struct library *lib,
    const struct fnode *n, const char *path, double timeout)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof e);
	e.ino = inodes_lookup(fs->inodes, path, n, lib->generation);
	fs_node_attr(fs, lib, n, e.ino, &e.attr, &e.attr_timeout);
	e.entry_timeout = timeout;
	if (fuse_reply_entry(req, &e) != 0)
		inodes_forget(fs->inodes, e.ino, 1);
}

/* Answer parked lookup p with its node as it is now (made or failed:
 * either way the file exists; a failure shows when it is opened). */
static void
answer_lookup(struct fs *fs, struct pending *p)
{
	struct library *lib = core_library(fs->core);
	struct fnode n;

	if (fs_resolve(lib, p->path, &n, NULL) != 0)
		fuse_reply_err(p->req, ENOENT);
	else {
		reply_entry(p->req, fs, lib, &n, p->path, fs->timeout);
		fnode_clear(&n);
	}
	library_unref(lib);
	fs_pending_free(p);
}

/* Whom a fetch's end wakes: the parked request `id` of `fs`. */
struct wake {
	struct fs *fs;
	uint64_t id;
};

static void
lookup_done(void *arg, struct fetch *f)
{
	struct wake *w = arg;
	struct pending *p;

	(void)f;
	if ((p = fs_unpark(w->fs, w->id)) != NULL)
		answer_lookup(w->fs, p);
	free(w);
}

/* Park a lookup of part pn until it is made, so that its size is exact:
 * false when it is made already or cannot be made (a failure shows when
 * it is opened): the caller answers it. */
static bool
park_lookup(fuse_req_t req, struct fs *fs, const struct pnode *pn,
    fuse_ino_t parent, const char *path)
{
	struct wake *w = xmalloc(sizeof *w);
	struct pending *p;
	struct fetch *f;
	uint64_t id;

	w->fs = fs;
	w->id = id = fs_park(fs, req, P_LOOKUP, 0, parent, path, NULL);
	/* the fetch's end may come (and free w) before core_fetch returns */
	if (core_fetch(fs->core, pn, 0, lookup_done, w, &f) == 0) {
		fs_park_fetch(fs, id, f);
		return true;
	}
	/* finished at once: answered by the caller, unless an interrupt
	 * did meanwhile */
	fetch_unref(f);
	free(w);
	p = fs_unpark(fs, id);
	if (p == NULL)
		return true;
	fs_pending_free(p);
	return false;
}

void
fs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct perr e = { 0 };
	struct library *lib = core_library(fs->core);
	struct fnode dir, child;
	char *path, *childpath;
	double timeout = fs->timeout;
	int err;

	if (!fs_node(fs, lib, parent, &dir, &path, &err)) {
		fuse_reply_err(req, err);
		library_unref(lib);
		return;
	}
	if (fs_child(lib, &dir, path, name, &child, &childpath, &e) != 0) {
		fuse_reply_err(req, e.code == ENOTDIR ? ENOTDIR : ENOENT);
		goto out;
	}
	if (fs->exact_size && fnode_is_made(&child)) {
		/* wait for the part, so that its size is exact */
		struct lookup_mark m;
		bool parked = false;
		if (fs_lookup_begin(fs, &m, parent)) {
			parked = park_lookup(req, fs, &child.pn, parent,
			    childpath);
			fs_lookup_end(fs, &m);
		} else {
			/* an invalidation there may be waiting for this very
			 * lookup (see inval.c): the placeholder now, and the
			 * next stat looks the part up again */
			timeout = 0;
		}
		if (parked)
			goto done;
	}
	reply_entry(req, fs, lib, &child, childpath, timeout);
done:
	free(childpath);
	fnode_clear(&child);
out:
	fnode_clear(&dir);
	library_unref(lib);
	free(path);
}

void
fs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	inodes_forget(fs_of(req)->inodes, ino, nlookup);
	fuse_reply_none(req);
}

void
fs_op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	for (size_t i = 0; i < count; i++)
		inodes_forget(fs_of(req)->inodes, f[i].ino, f[i].nlookup);
	fuse_reply_none(req);
}

/*
 * The attributes of an open file (an fstat, or the kernel checking the
 * size as it reads): those of its path, with the size of what it reads.
 * After an edit of the module the path is another part, not made yet
 * (size 0: a read would end at once), or gone with its collection; the
 * open file still reads its own part to the end.
 */
static void
open_file_attr(struct fs *fs, fuse_ino_t ino, off_t size, struct stat *st,
    double *timeout)
{
	struct library *lib = core_library(fs->core);
	struct perr e = { 0 };
	struct fnode n;
	char *path;

	memset(st, 0, sizeof *st);
	*timeout = 0;
	if ((path = inodes_path(fs->inodes, ino)) != NULL &&
	    fs_resolve(lib, path, &n, &e) == 0) {
		fs_node_attr(fs, lib, &n, ino, st, timeout);
		fnode_clear(&n);
	} else {
		st->st_ino = ino;
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_uid = fs->uid;
		st->st_gid = fs->gid;
		st->st_blksize = 4096;
		fs_set_time(st, &lib->mtime);
	}
	if (!S_ISREG(st->st_mode))
		st->st_mode = S_IFREG | 0444;
	st->st_size = size;
	st->st_blocks = (size + 511) / 512;
	free(path);
	library_unref(lib);
}

void
fs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct library *lib;
	struct fnode n;
	struct stat st;
	double timeout;
	char *path;
	off_t size;

	/* an open file's own size; without the file (fstat), that of the
	 * part open on an inode its path has left in a live reload */
	if (fs_handle_size(fi, &size) || (inodes_retired(fs->inodes, ino) &&
	    fs_open_part_size(fs, ino, &size))) {
		open_file_attr(fs, ino, size, &st, &timeout);
		fuse_reply_attr(req, &st, timeout);
		return;
	}
	if (!fs_node_of(req, ino, &lib, &n, &path))
		return;
	fs_node_attr(fs, lib, &n, ino, &st, &timeout);
	fuse_reply_attr(req, &st, timeout);
	fnode_clear(&n);
	library_unref(lib);
	free(path);
}

void
fs_op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct library *lib;
	struct fnode n;
	struct buf t = BUF_INIT;
	char *path;

	if (!fs_node_of(req, ino, &lib, &n, &path))
		return;
	if (n.status != ST_NONE || n.pn.kind != PN_LINK)
		fuse_reply_err(req, EINVAL);
	else {
		pnode_link_target(&n.pn, &t);
		fuse_reply_readlink(req, buf_str(&t));
	}
	buf_free(&t);
	fnode_clear(&n);
	library_unref(lib);
	free(path);
}

/* Directories: the listing is made once, at opendir. */

static int
collect_name(void *ctx, const char *name, const struct pnode *child)
{
	struct dirhandle *d = ctx;

	(void)child;
	/* doubling: a leaf may list a great many parts */
	if ((d->n & (d->n - 1)) == 0)
		d->names = xreallocarray(d->names, d->n ? 2 * d->n : 1,
		    sizeof *d->names);
	d->names[d->n++] = xstrdup(name);
	return 0;
}

void
fs_dirhandle_fill(struct dirhandle *d, const struct library *lib,
    const struct fnode *n)
{
	struct perr e = { 0 };

	if (n->status == ST_DIR) {
		for (int f = ST_JOBS; f <= ST_VERSION; f++)
			collect_name(d, fs_status_name((enum status_file)f),
			    NULL);
	} else {
		if (n->pn.kind == PN_ROOT)
			collect_name(d, STATUS_DIR, NULL);
		pnode_list(lib, &n->pn, collect_name, d, &e);
	}
}

/* A listing started again on an open directory (rewinddir, or a second
 * pass): the names as they are now, after live edits since the open. */
static void
dirhandle_refresh(struct dirhandle *d, const struct library *lib)
{
	struct perr e = { 0 };
	struct fnode n;

	if (fs_resolve(lib, d->path, &n, &e) != 0)
		return;             /* gone: what it was */
	if (fnode_is_dir(&n)) {
		for (size_t i = 0; i < d->n; i++)
			free(d->names[i]);
		free(d->names);
		d->names = NULL;
		d->n = 0;
		fs_dirhandle_fill(d, lib, &n);
	}
	fnode_clear(&n);
}

void
fs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct dirhandle *d;
	struct library *lib;
	struct fnode n;
	char *path;

	if (!fs_node_of(req, ino, &lib, &n, &path))
		return;
	if (!fnode_is_dir(&n)) {
		fuse_reply_err(req, ENOTDIR);
		goto out;
	}
	d = fs_dirhandle_new(fs, path);
	fs_dirhandle_fill(d, lib, &n);
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi) != 0)
		fs_dirhandle_free(fs, d);
out:
	fnode_clear(&n);
	library_unref(lib);
	free(path);
}

size_t
fs_add_dot(fuse_req_t req, char *buf, size_t size, off_t i, fuse_ino_t ino,
    bool plus)
{
	struct fuse_entry_param e;
	const char *name = i == 0 ? "." : "..";

	/* . and .. carry no lookup */
	memset(&e, 0, sizeof e);
	e.attr.st_ino = i == 0 ? ino : FUSE_ROOT_ID;
	e.attr.st_mode = S_IFDIR;
	return plus ? fuse_add_direntry_plus(req, buf, size, name, &e, i + 1) :
	    fuse_add_direntry(req, buf, size, name, &e.attr, i + 1);
}

static void
readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi, bool plus)
{
	struct fs *fs = fs_of(req);
	struct dirhandle *d = (struct dirhandle *)(uintptr_t)fi->fh;
	struct library *lib = core_library(fs->core);
	/* not zeroed: libfuse's entries set every byte they take, padding
	 * too, and only those are sent (clearing the kernel's 32 KiB or more
	 * was 4% of a cold find's daemon time) */
	char *buf = xmalloc(size), *childpath, *path = NULL;
	fuse_ino_t *counted = NULL;       /* lookups the entries count */
	size_t pos = 0, ncounted = 0;
	struct fnode dir;
	bool resolved;
	off_t i;
	int err;

	/* the kernel asks for one handle's entries one call at a time */
	if (off == 0 && d->read)
		dirhandle_refresh(d, lib);
	d->read = true;
	/* the directory as it is now, resolved once for all its entries */
	if (!(resolved = fs_node(fs, lib, ino, &dir, &path, &err)))
		resolved = fs_resolve(lib, d->path, &dir, NULL) == 0;
	for (i = off; (size_t)i < d->n + 2; i++) {
		struct fuse_entry_param e;
		struct fnode child;
		const char *name;
		size_t need;

		memset(&e, 0, sizeof e);
		if (i < 2) {
			if ((need = fs_add_dot(req, buf + pos, size - pos, i,
			    ino, plus)) > size - pos)
				break;
			pos += need;
			continue;
		}
		name = d->names[i - 2];
		if (!resolved || fs_child(lib, &dir, d->path, name, &child,
		    &childpath, NULL) != 0)
			continue;          /* gone in a live edit */
		if (plus && fnode_is_made(&child) &&
		    (fs->exact_size || inodes_given(fs->inodes, childpath))) {
			/*
			 * A part without attributes (node id 0: the kernel
			 * takes the name and type only, and keeps what it
			 * has of the part).  With exact_size, so that its
			 * stat starts with the lookup that makes it.  And a
			 * part whose content the kernel was given: told it
			 * has the placeholder size, the kernel would cut it
			 * to 0 bytes, dropping its pages, and a program that
			 * maps it would get SIGBUS at its next access.
			 */
			e.attr.st_ino = inodes_peek(fs->inodes, childpath);
			e.attr.st_mode = S_IFREG;
			need = fuse_add_direntry_plus(req, buf + pos,
			    size - pos, name, &e, i + 1);
		} else if (plus) {
			e.ino = inodes_lookup(fs->inodes, childpath, &child,
			    lib->generation);
			/* the attributes a stat would get, kept as long:
			 * a stat of it (ls -l) asks nothing more */
			fs_node_attr(fs, lib, &child, e.ino, &e.attr,
			    &e.attr_timeout);
			e.entry_timeout = fs->timeout;
			need = fuse_add_direntry_plus(req, buf + pos,
			    size - pos, name, &e, i + 1);
			if (need > size - pos)
				inodes_forget(fs->inodes, e.ino, 1);
			else {
				counted = xreallocarray(counted, ncounted + 1,
				    sizeof *counted);
				counted[ncounted++] = e.ino;
			}
		} else {
			e.attr.st_ino = inodes_peek(fs->inodes, childpath);
			e.attr.st_mode = fnode_is_dir(&child) ? S_IFDIR :
			    child.status == ST_NONE && child.pn.kind == PN_LINK ?
			    S_IFLNK : S_IFREG;
			need = fuse_add_direntry(req, buf + pos, size - pos,
			    name, &e.attr, i + 1);
		}
		fnode_clear(&child);
		free(childpath);
		if (need > size - pos)
			break;
		pos += need;
	}
	/* the last entries of a class's directory given: the reader may
	 * go on to open its parts (prefetch.c) */
	if ((size_t)i >= d->n + 2 && resolved && dir.status == ST_NONE &&
	    dir.pn.kind == PN_CLASS)
		fs_listed(fs, d->path, fuse_req_ctx(req)->pid);
	/* a reply the kernel did not take (the reader was interrupted)
	 * gave it none of the lookups counted for its entries */
	if (fuse_reply_buf(req, buf, pos) != 0)
		for (size_t k = 0; k < ncounted; k++)
			inodes_forget(fs->inodes, counted[k], 1);
	free(counted);
	free(buf);
	if (resolved)
		fnode_clear(&dir);
	free(path);
	library_unref(lib);
}

void
fs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, fi, false);
}

void
fs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, fi, true);
}

void
fs_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fs_dirhandle_free(fs_of(req), (struct dirhandle *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}
