/* rmount.c -- the remote mount: partsfs on the URL of a served library.
 * Names and attributes come from the server's listings (rdir.c), parts
 * from the local cache or, fetched by workers with libcurl while their
 * opens wait parked (no FUSE thread held), from the server; the handles,
 * inode table and parked requests are the local mount's. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "partsfs/cache/cache.h"
#include "partsfs/util/log.h"

/* The failures kept for user.partsfs.error and /.partsfs/errors. */
#define RFS_ERRORS 64

/* An open waiting for its part. */
struct rwaiter {
	uint64_t id;               /* parked (fs_park) */
	struct rwaiter *next;
};

/* A part being fetched, for all the opens of its path. */
struct rfetch {
	char *path;
	enum format fmt;
	char *tag;                 /* the ETag of its listing, or NULL */
	struct rwaiter *waiters;
	struct rfetch *next;       /* in the queue, then among those under
				    * way */
};

struct rfailure {
	char *path;
	char *msg;
	time_t when;
};

static struct rfs *
rfs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* The path of `name` in directory `dir` (caller frees). */
static char *
child_path(const char *dir, const char *name)
{
	return dir[0] == '\0' ? xstrdup(name) : xasprintf("%s/%s", dir, name);
}

/* The status file a path names (ST_NONE: none). */
static enum status_file
status_of(const char *path)
{
	if (strcmp(path, STATUS_DIR) == 0)
		return ST_DIR;
	if (str_has_prefix(path, STATUS_DIR "/")) {
		for (int f = ST_JOBS; f <= ST_VERSION; f++)
			if (strcmp(path + strlen(STATUS_DIR "/"),
			    fs_status_name((enum status_file)f)) == 0)
				return (enum status_file)f;
	}
	return ST_NONE;
}

/* The reason of a failure of `path` without the path it may start with
 * (the client's messages name what they were asked for). */
static const char *
reason(const char *path, const char *msg)
{
	size_t n = strlen(path);

	return strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ' ?
	    msg + n + 2 : msg;
}

static void
remember_failure(struct rfs *rfs, const char *path, const char *msg)
{
	struct rfailure *f;

	msg = reason(path, msg);
	pthread_mutex_lock(&rfs->lock);
	f = &rfs->failures[rfs->nfailures++ % RFS_ERRORS];
	free(f->path);
	free(f->msg);
	f->path = xstrdup(path);
	f->msg = xstrdup(msg);
	f->when = time(NULL);
	pthread_mutex_unlock(&rfs->lock);
}

/* The last failure of `path`, or NULL (caller frees). */
static char *
failure_of(struct rfs *rfs, const char *path)
{
	char *msg = NULL;

	pthread_mutex_lock(&rfs->lock);
	for (size_t i = 0; i < RFS_ERRORS && i < rfs->nfailures && msg == NULL;
	    i++) {
		const struct rfailure *f = &rfs->failures[(rfs->nfailures - 1 -
		    i) % RFS_ERRORS];
		if (f->path != NULL && strcmp(f->path, path) == 0)
			msg = xstrdup(f->msg);
	}
	pthread_mutex_unlock(&rfs->lock);
	return msg;
}

/* Forget the failure of `path`: it was fetched since. */
static void
forget_failure(struct rfs *rfs, const char *path)
{
	pthread_mutex_lock(&rfs->lock);
	for (size_t i = 0; i < RFS_ERRORS; i++) {
		struct rfailure *f = &rfs->failures[i];
		if (f->path != NULL && strcmp(f->path, path) == 0) {
			free(f->msg);
			f->msg = xstrdup("");
			free(f->path);
			f->path = NULL;
		}
	}
	pthread_mutex_unlock(&rfs->lock);
}

/* What the link at `path` to `target` (a path from the root) reads:
 * up to the root, then down to the target. */
static void
link_text(const char *path, const char *target, struct buf *out)
{
	for (const char *s = strchr(path, '/'); s != NULL;
	    s = strchr(s + 1, '/'))
		buf_adds(out, "../");
	buf_adds(out, target);
}

/* The attributes of entry x at `path` (inode ino); *timeout how long the
 * kernel may keep them. */
static void
entry_attr(struct rfs *rfs, const struct rentry *x, const char *path,
    fuse_ino_t ino, struct stat *st, double *timeout)
{
	struct stat blob;
	uint64_t seq = 0;
	int fd;

	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_uid = rfs->fs.uid;
	st->st_gid = rfs->fs.gid;
	st->st_blksize = 4096;
	st->st_nlink = 1;
	st->st_mtime = st->st_atime = st->st_ctime = rfs->fs.started;
	*timeout = rfs->ttl;
	switch (x->type) {
	case RT_DIR:
		/* a directory's attributes never change: the kernel keeps
		 * them (its names come with the listing, its entry in its
		 * parent expires with that one's) */
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		*timeout = 86400;
		return;
	case RT_LINK: {
		struct buf t = BUF_INIT;
		link_text(path, x->target, &t);
		st->st_mode = S_IFLNK | 0777;
		st->st_size = (off_t)t.len;
		buf_free(&t);
		return;
	}
	case RT_PART:
		st->st_mode = S_IFREG | 0444;
		seq = inodes_report_begin(rfs->fs.inodes, ino);
		if (x->size >= 0)
			st->st_size = (off_t)x->size;
		else if ((fd = remote_part_cached(rfs->r, path, NULL, x->fmt,
		    false, &blob)) != -1) {
			/* not made on the server (any more), fetched here */
			st->st_size = blob.st_size;
			close(fd);
		}
		/* not made: size 0 the kernel may keep as long as the listing
		 * holds (an open gives it the size: fs_reply_part_open) */
		inodes_report_end(rfs->fs.inodes, ino, seq, st->st_size == 0);
		break;
	default:
		/* descriptions and drawings: their size once read */
		st->st_mode = S_IFREG | 0444;
		break;
	}
	st->st_blocks = (st->st_size + 511) / 512;
}

static void
status_attr(struct rfs *rfs, enum status_file f, fuse_ino_t ino,
    struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_uid = rfs->fs.uid;
	st->st_gid = rfs->fs.gid;
	st->st_blksize = 4096;
	st->st_mtime = st->st_atime = st->st_ctime = time(NULL);
	st->st_mode = f == ST_DIR ? S_IFDIR | 0555 : S_IFREG | 0444;
	st->st_nlink = f == ST_DIR ? 2 : 1;
}

/* The errno a failed request gives a program: the tree's answer (ENOENT,
 * ENOTDIR, EACCES) as it is, anything of the server or the network EIO
 * (the reason is in the log, user.partsfs.error and /.partsfs/errors). */
static int
req_errno(int code)
{
	return code == ENOENT || code == ENOTDIR || code == EACCES ? code : EIO;
}

static struct rknown *
known_slot(struct rfs *rfs, const char *path)
{
	return &rfs->known[str_hash(path, strlen(path)) % RFS_KNOWN];
}

/* Remember that the part of `path` fetched here is the one tagged `etag`,
 * of `size` bytes: until its directory's listing names it (once the
 * listing is asked for again), this is what opens serve from the local
 * cache without a request. */
static void
learn(struct rfs *rfs, const char *path, const char *etag, int64_t size)
{
	struct rknown *k = known_slot(rfs, path);

	pthread_mutex_lock(&rfs->lock);
	free(k->path);
	free(k->etag);
	k->path = xstrdup(path);
	k->etag = xstrdup(etag);
	k->size = size;
	pthread_mutex_unlock(&rfs->lock);
}

/* A part the listing has no bytes for: those fetched here, if known. */
static void
recall(struct rfs *rfs, const char *path, struct rentry *x)
{
	struct rknown *k = known_slot(rfs, path);

	pthread_mutex_lock(&rfs->lock);
	if (k->path != NULL && strcmp(k->path, path) == 0) {
		x->etag = xstrdup(k->etag);
		x->size = k->size;
	}
	pthread_mutex_unlock(&rfs->lock);
}

/* The entry at `path`: 0, or an errno for the kernel. */
static int
entry_of(struct rfs *rfs, const char *path, struct rentry *x)
{
	struct perr e = { 0 };
	int rc = rdirs_entry(rfs->dirs, path, x, &e);

	if (rc == 0) {
		if (x->type == RT_PART && x->etag == NULL)
			recall(rfs, path, x);
		return 0;
	}
	if (-rc != ENOENT)
		log_warning("%s: %s", path[0] ? path : "/", reason(path,
		    e.msg));
	return req_errno(-rc);
}

static void
rop_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct rfs *rfs = rfs_of(req);
	struct fuse_entry_param ep;
	struct rentry x;
	enum status_file sf;
	char *dir = inodes_path(rfs->fs.inodes, parent), *path;
	int err;

	if (dir == NULL) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	path = child_path(dir, name);
	memset(&ep, 0, sizeof ep);
	if ((sf = status_of(path)) != ST_NONE) {
		ep.ino = inodes_lookup(rfs->fs.inodes, path, NULL, 0);
		status_attr(rfs, sf, ep.ino, &ep.attr);
		ep.entry_timeout = rfs->ttl;
		if (fuse_reply_entry(req, &ep) != 0)
			inodes_forget(rfs->fs.inodes, ep.ino, 1);
	} else if (status_of(dir) != ST_NONE)
		fuse_reply_err(req, ENOENT);
	else if ((err = entry_of(rfs, path, &x)) != 0) {
		if (err == ENOENT) {
			/* not there, for as long as the listing holds */
			ep.entry_timeout = rfs->ttl;
			fuse_reply_entry(req, &ep);
		} else
			fuse_reply_err(req, err);
	} else {
		ep.ino = inodes_lookup(rfs->fs.inodes, path, NULL, 0);
		entry_attr(rfs, &x, path, ep.ino, &ep.attr, &ep.attr_timeout);
		ep.entry_timeout = rfs->ttl;
		if (fuse_reply_entry(req, &ep) != 0)
			inodes_forget(rfs->fs.inodes, ep.ino, 1);
		rentry_clear(&x);
	}
	free(dir);
	free(path);
}

static void
rop_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	inodes_forget(rfs_of(req)->fs.inodes, ino, nlookup);
	fuse_reply_none(req);
}

static void
rop_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	for (size_t i = 0; i < count; i++)
		inodes_forget(rfs_of(req)->fs.inodes, f[i].ino, f[i].nlookup);
	fuse_reply_none(req);
}

static void
rop_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct rfs *rfs = rfs_of(req);
	char *path = inodes_path(rfs->fs.inodes, ino);
	enum status_file sf;
	struct rentry x;
	struct stat st;
	double timeout;
	off_t size;
	int err;

	if (path == NULL) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if ((sf = status_of(path)) != ST_NONE) {
		status_attr(rfs, sf, ino, &st);
		fuse_reply_attr(req, &st, 0);
	} else if ((err = entry_of(rfs, path, &x)) != 0)
		fuse_reply_err(req, err);
	else {
		entry_attr(rfs, &x, path, ino, &st, &timeout);
		/* an open file: the size of what it reads */
		if (fs_handle_size(fi, &size) && x.type != RT_DIR) {
			st.st_size = size;
			st.st_blocks = (size + 511) / 512;
			timeout = 0;
		}
		fuse_reply_attr(req, &st, timeout);
		rentry_clear(&x);
	}
	free(path);
}

static void
rop_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct rfs *rfs = rfs_of(req);
	char *path = inodes_path(rfs->fs.inodes, ino);
	struct buf t = BUF_INIT;
	struct rentry x;
	int err;

	if (path == NULL) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if ((err = entry_of(rfs, path, &x)) != 0)
		fuse_reply_err(req, err);
	else if (x.type != RT_LINK)
		fuse_reply_err(req, EINVAL);
	else {
		link_text(path, x.target, &t);
		fuse_reply_readlink(req, buf_str(&t));
	}
	if (err == 0)
		rentry_clear(&x);
	buf_free(&t);
	free(path);
}

/* An open directory: its listing as at opendir (NULL for /.partsfs),
 * among those open (rfs->dirhs, under rfs->lock), so that those the
 * kernel never released are freed at the end. */
struct rdirh {
	struct rdirh *prev, *next;
	char *path;
	struct rlisting *l;
};

static void
dirh_free(struct rfs *rfs, struct rdirh *d)
{
	pthread_mutex_lock(&rfs->lock);
	if (d->prev != NULL)
		d->prev->next = d->next;
	else
		rfs->dirhs = d->next;
	if (d->next != NULL)
		d->next->prev = d->prev;
	pthread_mutex_unlock(&rfs->lock);
	rlisting_unref(d->l);
	free(d->path);
	free(d);
}

static void
rop_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct rfs *rfs = rfs_of(req);
	char *path = inodes_path(rfs->fs.inodes, ino);
	struct perr e = { 0 };
	struct rdirh *d;
	struct rlisting *l = NULL;

	if (path == NULL) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (status_of(path) == ST_NONE &&
	    (l = rdirs_get(rfs->dirs, path, &e)) == NULL) {
		if (e.code != ENOENT && e.code != ENOTDIR)
			log_warning("%s: %s", path[0] ? path : "/", e.msg);
		fuse_reply_err(req, req_errno(e.code));
		free(path);
		return;
	}
	if (status_of(path) != ST_NONE && status_of(path) != ST_DIR) {
		fuse_reply_err(req, ENOTDIR);
		free(path);
		return;
	}
	d = xcalloc(1, sizeof *d);
	d->path = path;
	d->l = l;
	pthread_mutex_lock(&rfs->lock);
	if ((d->next = rfs->dirhs) != NULL)
		d->next->prev = d;
	rfs->dirhs = d;
	pthread_mutex_unlock(&rfs->lock);
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi) != 0)
		dirh_free(rfs, d);
}

/* The names of an open directory, in order: ".", "..", then /.partsfs
 * at the root, then the listing's (or the status files). */
static size_t
dir_count(const struct rdirh *d)
{
	if (d->l == NULL)
		return 2 + (size_t)(ST_VERSION - ST_JOBS + 1);
	return 2 + (d->path[0] == '\0') + d->l->n;
}

static void
readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi, bool plus)
{
	struct rfs *rfs = rfs_of(req);
	struct rdirh *d = (struct rdirh *)(uintptr_t)fi->fh;
	char *buf = xcalloc(1, size ? size : 1);
	fuse_ino_t *counted = NULL;
	size_t pos = 0, ncounted = 0, n = dir_count(d);
	bool root = d->path[0] == '\0' && d->l != NULL;

	for (off_t i = off; (size_t)i < n; i++) {
		struct fuse_entry_param ep;
		const struct rentry *x = NULL;
		struct rentry status = { 0 };
		const char *name;
		char *path;
		size_t need;

		memset(&ep, 0, sizeof ep);
		if (i < 2) {
			if ((need = fs_add_dot(req, buf + pos, size - pos, i,
			    ino, plus)) > size - pos)
				break;
			pos += need;
			continue;
		}
		if (d->l == NULL) {
			name = fs_status_name((enum status_file)(ST_JOBS + i -
			    2));
		} else if (root && i == 2) {
			name = STATUS_DIR;
		} else {
			x = &d->l->v[i - 2 - root];
			name = x->name;
		}
		path = child_path(d->path, name);
		if (x == NULL) {
			status.type = RT_OTHER;
			x = &status;
		}
		if (plus) {
			ep.ino = inodes_lookup(rfs->fs.inodes, path, NULL, 0);
			if (x == &status)
				status_attr(rfs, status_of(path), ep.ino,
				    &ep.attr);
			else
				entry_attr(rfs, x, path, ep.ino, &ep.attr,
				    &ep.attr_timeout);
			ep.entry_timeout = rfs->ttl;
			need = fuse_add_direntry_plus(req, buf + pos,
			    size - pos, name, &ep, i + 1);
			if (need > size - pos)
				inodes_forget(rfs->fs.inodes, ep.ino, 1);
			else {
				counted = xreallocarray(counted, ncounted + 1,
				    sizeof *counted);
				counted[ncounted++] = ep.ino;
			}
		} else {
			ep.attr.st_ino = inodes_peek(rfs->fs.inodes, path);
			ep.attr.st_mode = x == &status ? (status_of(path) ==
			    ST_DIR ? S_IFDIR : S_IFREG) : x->type == RT_DIR ?
			    S_IFDIR : x->type == RT_LINK ? S_IFLNK : S_IFREG;
			need = fuse_add_direntry(req, buf + pos, size - pos,
			    name, &ep.attr, i + 1);
		}
		free(path);
		if (need > size - pos)
			break;
		pos += need;
	}
	if (fuse_reply_buf(req, buf, pos) != 0)
		for (size_t i = 0; i < ncounted; i++)
			inodes_forget(rfs->fs.inodes, counted[i], 1);
	free(counted);
	free(buf);
}

static void
rop_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, fi, false);
}

static void
rop_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, fi, true);
}

static void
rop_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	dirh_free(rfs_of(req), (struct rdirh *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* The text of status file f of the remote mount (caller frees). */
static char *
status_text(struct rfs *rfs, enum status_file f)
{
	struct buf b = BUF_INIT;
	struct perr e = { 0 };
	const char *name = fs_status_name(f);
	uint64_t req, fail, listings, reval, offline, stats;
	char *server;

	if (f == ST_STATS) {
		remote_counts(rfs->r, &req, &fail);
		rdirs_counts(rfs->dirs, &listings, &reval, &offline, &stats);
		buf_printf(&b, "remote_url %s\nremote_requests %ju\n"
		    "remote_listings %ju\nremote_revalidated %ju\n"
		    "remote_stats %ju\nremote_transfers %ju\n"
		    "remote_cached %ju\nremote_offline %ju\n"
		    "remote_errors %ju\nremote_interrupted %ju\n",
		    remote_base(rfs->r),
		    (uintmax_t)req, (uintmax_t)listings, (uintmax_t)reval,
		    (uintmax_t)stats, (uintmax_t)atomic_load(&rfs->transfers),
		    (uintmax_t)atomic_load(&rfs->cached),
		    (uintmax_t)(offline + atomic_load(&rfs->offline)),
		    (uintmax_t)fail,
		    (uintmax_t)atomic_load(&rfs->fs.interrupted));
	} else if (f == ST_ERRORS) {
		pthread_mutex_lock(&rfs->lock);
		for (size_t i = 0; i < RFS_ERRORS && i < rfs->nfailures; i++) {
			const struct rfailure *x = &rfs->failures[
			    (rfs->nfailures - 1 - i) % RFS_ERRORS];
			if (x->path != NULL)
				buf_printf(&b, "%s: %s\n", x->path, x->msg);
		}
		pthread_mutex_unlock(&rfs->lock);
	} else if (f == ST_VERSION)
		buf_printf(&b, "partsfs %s (remote mount of %s)\n",
		    PACKAGE_VERSION, remote_base(rfs->r));
	if ((server = remote_status(rfs->r, name, &e)) != NULL) {
		buf_adds(&b, server);
		free(server);
	} else
		buf_printf(&b, "# the server's %s: %s\n", name, e.msg);
	return buf_steal(&b);
}

/* Reply to parked open `p` with the part open as `fd` (dup'ed), or with
 * errno `err`. */
static void
answer_open(struct rfs *rfs, struct pending *p, int fd,
    const struct stat *st, int err)
{
	struct handle *h;
	int mine;

	if (fd == -1)
		fuse_reply_err(p->req, err);
	else if ((mine = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1)
		fuse_reply_err(p->req, errno);
	else {
		h = fs_handle_fd(&rfs->fs, mine, st);
		p->fi.fh = (uintptr_t)h;
		fs_reply_part_open(&rfs->fs, p->req, p->ino, &p->fi);
	}
	fs_pending_free(p);
}

static void *
fetcher(void *arg)
{
	struct rfs *rfs = arg;

	for (;;) {
		struct rwaiter *w, *next;
		struct rfetch *f, **pp;
		struct perr e = { 0 };
		enum remote_via via = REMOTE_FETCHED;
		struct stat st;
		int fd, err = 0;

		pthread_mutex_lock(&rfs->lock);
		while (rfs->queue == NULL && !rfs->stopping)
			pthread_cond_wait(&rfs->cond, &rfs->lock);
		if ((f = rfs->queue) == NULL) {
			pthread_mutex_unlock(&rfs->lock);
			return NULL;
		}
		rfs->queue = f->next;
		f->next = rfs->underway;
		rfs->underway = f;
		pthread_mutex_unlock(&rfs->lock);

		fd = remote_part_open(rfs->r, f->path, f->fmt, f->tag, &st, &via,
		    &e);
		if (fd < 0) {
			err = req_errno(-fd);
			fd = -1;
			log_warning("%s: %s", f->path, reason(f->path,
			    e.msg));
			remember_failure(rfs, f->path, e.msg);
		} else {
			char *etag = remote_part_etag(rfs->r, f->path);
			atomic_fetch_add(via == REMOTE_FETCHED ?
			    &rfs->transfers : via == REMOTE_OFFLINE ?
			    &rfs->offline : &rfs->cached, 1);
			forget_failure(rfs, f->path);
			if (etag != NULL)
				learn(rfs, f->path, etag, (int64_t)st.st_size);
			free(etag);
		}

		pthread_mutex_lock(&rfs->lock);
		for (pp = &rfs->underway; *pp != f; pp = &(*pp)->next)
			;
		*pp = f->next;
		w = f->waiters;
		pthread_mutex_unlock(&rfs->lock);
		for (; w != NULL; w = next) {
			struct pending *p = fs_unpark(&rfs->fs, w->id);
			next = w->next;
			if (p != NULL)
				answer_open(rfs, p, fd, &st, err);
			free(w);
		}
		if (fd != -1)
			close(fd);
		free(f->tag);
		free(f->path);
		free(f);
	}
}

/* Park the open `req` of part `path` until a worker has it: one fetch
 * for all the opens of a path at a time. */
static void
park_open(struct rfs *rfs, fuse_req_t req, fuse_ino_t ino, const char *path,
    enum format fmt, const char *tag, struct fuse_file_info *fi)
{
	struct rwaiter *w = xcalloc(1, sizeof *w);
	struct rfetch *f;

	w->id = fs_park(&rfs->fs, req, P_OPEN, ino, 0, path, fi);
	pthread_mutex_lock(&rfs->lock);
	for (f = rfs->underway; f != NULL && strcmp(f->path, path) != 0;
	    f = f->next)
		;
	if (f == NULL)
		for (f = rfs->queue; f != NULL && strcmp(f->path, path) != 0;
		    f = f->next)
			;
	if (f == NULL) {
		struct rfetch **pp = &rfs->queue;
		f = xcalloc(1, sizeof *f);
		f->path = xstrdup(path);
		f->fmt = fmt;
		f->tag = tag != NULL ? xstrdup(tag) : NULL;
		while (*pp != NULL)
			pp = &(*pp)->next;
		*pp = f;
		pthread_cond_signal(&rfs->cond);
	}
	w->next = f->waiters;
	f->waiters = w;
	pthread_mutex_unlock(&rfs->lock);
}

static void
rop_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct rfs *rfs = rfs_of(req);
	char *path = inodes_path(rfs->fs.inodes, ino), *data;
	struct perr e = { 0 };
	enum status_file sf;
	struct handle *h;
	struct rentry x;
	struct stat st;
	size_t len;
	int fd, err;

	if (path == NULL) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
		free(path);
		return;
	}
	if ((sf = status_of(path)) != ST_NONE) {
		if (sf == ST_DIR)
			fuse_reply_err(req, EISDIR);
		else {
			h = fs_handle_text(&rfs->fs, status_text(rfs, sf));
			fi->fh = (uintptr_t)h;
			fi->direct_io = 1;
			if (fuse_reply_open(req, fi) != 0)
				fs_handle_free(&rfs->fs, h);
		}
		free(path);
		return;
	}
	if ((err = entry_of(rfs, path, &x)) != 0) {
		fuse_reply_err(req, err);
		free(path);
		return;
	}
	switch (x.type) {
	case RT_DIR:
		fuse_reply_err(req, EISDIR);
		break;
	case RT_LINK:
		fuse_reply_err(req, ELOOP);
		break;
	case RT_PART:
		/* the bytes the listing names, when they are here already */
		if (x.etag != NULL && (fd = remote_part_cached(rfs->r, path,
		    x.etag, x.fmt, inodes_touch_due(rfs->fs.inodes, ino), &st)) != -1) {
			atomic_fetch_add(&rfs->cached, 1);
			h = fs_handle_fd(&rfs->fs, fd, &st);
			fi->fh = (uintptr_t)h;
			fs_reply_part_open(&rfs->fs, req, ino, fi);
		} else
			park_open(rfs, req, ino, path, x.fmt, x.etag, fi);
		break;
	default:
		/* a description or a drawing: small, read whole now */
		if ((data = remote_text(rfs->r, path, &len, &e)) == NULL) {
			if (e.code != ENOENT)
				log_warning("%s: %s", path, e.msg);
			fuse_reply_err(req, req_errno(e.code));
			break;
		}
		h = fs_handle_data(&rfs->fs, data, len);
		fi->fh = (uintptr_t)h;
		fi->direct_io = 1;
		if (fuse_reply_open(req, fi) != 0)
			fs_handle_free(&rfs->fs, h);
		break;
	}
	rentry_clear(&x);
	free(path);
}

/* The value of attribute `name` of the part at `path` (caller frees), or
 * NULL for ENODATA. */
static char *
rxattr_value(struct rfs *rfs, const char *path, const struct rentry *x,
    const char *name)
{
	struct perr e = { 0 };
	struct stat st;
	const char *dot;
	char *twin, *text, *v;
	json_t *j;
	int fd;

	if (strcmp(name, "user.partsfs.cached") == 0 ||
	    strcmp(name, "user.partsfs.error") == 0) {
		fd = remote_part_cached(rfs->r, path, x->etag, x->fmt, false,
		    &st);
		if (fd == -1 && x->etag != NULL)
			fd = remote_part_cached(rfs->r, path, NULL, x->fmt,
			    false, &st);
		if (fd != -1)
			close(fd);
		if (name[13] == 'c')
			return xstrdup(fd != -1 ? "yes" : "no");
		return fd != -1 ? NULL : failure_of(rfs, path);
	}
	if ((dot = strrchr(path, '.')) == NULL)
		return NULL;
	twin = xasprintf("%.*s.json", (int)(dot - path), path);
	text = remote_text(rfs->r, twin, NULL, &e);
	free(twin);
	if (text == NULL)
		return NULL;
	j = json_loads(text, 0, NULL);
	free(text);
	v = j != NULL ? fs_xattr_described(j, name) : NULL;
	json_decref(j);
	return v;
}

static void
rop_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct rfs *rfs = rfs_of(req);
	char *path, *v = NULL;
	struct rentry x;
	int err = ENODATA;

	if (!fs_xattr_ours(req, name))
		return;
	if ((path = inodes_path(rfs->fs.inodes, ino)) == NULL) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (status_of(path) == ST_NONE && (err = entry_of(rfs, path,
	    &x)) == 0) {
		if (x.type == RT_PART)
			v = rxattr_value(rfs, path, &x, name);
		rentry_clear(&x);
	}
	if (err != 0 && err != ENODATA)
		fuse_reply_err(req, err);
	else
		fs_reply_xattr_value(req, v, size);
	free(path);
}

static void
rop_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct rfs *rfs = rfs_of(req);
	char *path = inodes_path(rfs->fs.inodes, ino);
	struct rentry x;
	bool part = false;

	if (path == NULL) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (status_of(path) == ST_NONE && entry_of(rfs, path, &x) == 0) {
		part = x.type == RT_PART;
		rentry_clear(&x);
	}
	fs_reply_xattr_list(req, part, size);
	free(path);
}

static void
rop_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct rfs *rfs = rfs_of(req);

	(void)ino;
	fs_reply_statfs(req, rfs->cache, rfs->fs.inodes);
}

static void
rop_init(void *userdata, struct fuse_conn_info *conn)
{
	struct rfs *rfs = userdata;

	fs_init_conn(&rfs->fs, conn);
}

/* Build the operations table: the local mount's for files open, for
 * access and for every change (all EROFS), ours for names. */
void
rfs_ops_fill(struct fuse_lowlevel_ops *ops)
{
	*ops = fs_ops;
	ops->init = rop_init;
	ops->lookup = rop_lookup;
	ops->forget = rop_forget;
	ops->forget_multi = rop_forget_multi;
	ops->getattr = rop_getattr;
	ops->readlink = rop_readlink;
	ops->opendir = rop_opendir;
	ops->readdir = rop_readdir;
	ops->readdirplus = rop_readdirplus;
	ops->releasedir = rop_releasedir;
	ops->open = rop_open;
	ops->getxattr = rop_getxattr;
	ops->listxattr = rop_listxattr;
	ops->statfs = rop_statfs;
}

int
rfs_start(struct rfs *rfs, const char *url, struct conf *conf,
    struct perr *e)
{
	struct rhttp_opts o = {
		.netrc = conf->remote_netrc,
		.token_file = conf->remote_token_file,
		.connect_timeout = conf->remote_connect_timeout,
	};

	rfs->ttl = conf->remote_dir_cache;
	pthread_mutex_init(&rfs->lock, NULL);
	pthread_cond_init(&rfs->cond, NULL);
	rfs->failures = xcalloc(RFS_ERRORS, sizeof *rfs->failures);
	if ((rfs->cache = cache_open(conf->cache_dir, conf->cache_max,
	    conf->negative_ttl, e)) == NULL)
		return -e->code;
	if ((rfs->r = remote_open(url, &o, rfs->cache, e)) == NULL)
		return -e->code;
	rfs->dirs = rdirs_new(rfs->r, rfs->ttl);
	for (size_t i = 0; i < RFS_WORKERS; i++) {
		if (pthread_create(&rfs->workers[i], NULL, fetcher, rfs) != 0)
			break;
		rfs->nworkers++;
	}
	if (rfs->nworkers == 0)
		return perr_set(e, EAGAIN, "cannot start a fetching thread");
	return 0;
}

void
rfs_stop(struct rfs *rfs)
{
	pthread_mutex_lock(&rfs->lock);
	rfs->stopping = true;
	pthread_cond_broadcast(&rfs->cond);
	pthread_mutex_unlock(&rfs->lock);
	/* a worker waiting on the server gives up its request (the
	 * session is over: nobody is answered) */
	remote_abort(rfs->r);
	for (size_t i = 0; i < rfs->nworkers; i++)
		pthread_join(rfs->workers[i], NULL);
	rfs->nworkers = 0;
	while (rfs->queue != NULL) {
		struct rfetch *f = rfs->queue;
		rfs->queue = f->next;
		while (f->waiters != NULL) {
			struct rwaiter *w = f->waiters;
			struct pending *p = fs_unpark(&rfs->fs, w->id);
			f->waiters = w->next;
			if (p != NULL)
				fs_pending_free(p);
			free(w);
		}
		free(f->tag);
		free(f->path);
		free(f);
	}
	while (rfs->dirhs != NULL)
		dirh_free(rfs, rfs->dirhs);
	rdirs_free(rfs->dirs);
	rfs->dirs = NULL;
	remote_close(rfs->r);
	rfs->r = NULL;
	cache_close(rfs->cache);
	rfs->cache = NULL;
	for (size_t i = 0; i < RFS_KNOWN; i++) {
		free(rfs->known[i].path);
		free(rfs->known[i].etag);
	}
	if (rfs->failures != NULL)
		for (size_t i = 0; i < RFS_ERRORS; i++) {
			free(rfs->failures[i].path);
			free(rfs->failures[i].msg);
		}
	free(rfs->failures);
	rfs->failures = NULL;
	pthread_mutex_destroy(&rfs->lock);
	pthread_cond_destroy(&rfs->cond);
}
