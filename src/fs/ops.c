/* ops.c -- the FUSE low-level operations of partsfs: lookups and listings
 * from the core's path grammar, attributes, reads spliced from cache
 * files, opens of parts not made yet parked until their job ends (without
 * holding a FUSE thread), interrupts, extended attributes, and EROFS for
 * every change. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs.h"
#include "partsfs/util/confine.h"
#include "partsfs/tree/describe.h"
#include "partsfs/util/log.h"
#include "partsfs/util/ydoc.h"

static struct fs *the_fs;      /* for callbacks from job threads */

static const char *const status_names[] = {
	[ST_JOBS] = "jobs",
	[ST_STATS] = "stats",
	[ST_ERRORS] = "errors",
	[ST_VERSION] = "version",
};

/* Nodes. */

void
fnode_clear(struct fnode *n)
{
	if (n->status == ST_NONE)
		pnode_clear(&n->pn);
}

int
fs_resolve(struct fs *fs, const struct library *lib, const char *path,
    struct fnode *out, struct perr *e)
{
	(void)fs;
	memset(out, 0, sizeof *out);
	if (strcmp(path, STATUS_DIR) == 0) {
		out->status = ST_DIR;
		return 0;
	}
	if (str_has_prefix(path, STATUS_DIR "/")) {
		for (int f = ST_JOBS; f <= ST_VERSION; f++) {
			if (strcmp(path + strlen(STATUS_DIR) + 1,
			    status_names[f]) == 0) {
				out->status = (enum status_file)f;
				return 0;
			}
		}
		return perr_set(e, ENOENT, "no such status file");
	}
	out->status = ST_NONE;
	return pnode_lookup(lib, path, &out->pn, e);
}

/* The child `name` of the node at `path`: its node and canonical path. */
static int
child_of(struct fs *fs, const struct library *lib, const char *path,
    const char *name, struct fnode *child, char **childpath, struct perr *e)
{
	struct fnode parent;
	struct buf b = BUF_INIT;
	int r;

	*childpath = NULL;
	if (path[0] == '\0' && strcmp(name, STATUS_DIR) == 0) {
		*childpath = xstrdup(STATUS_DIR);
		return fs_resolve(fs, lib, STATUS_DIR, child, e);
	}
	if (strcmp(path, STATUS_DIR) == 0) {
		*childpath = xasprintf("%s/%s", STATUS_DIR, name);
		if ((r = fs_resolve(fs, lib, *childpath, child, e)) != 0) {
			free(*childpath);
			*childpath = NULL;
		}
		return r;
	}
	if ((r = fs_resolve(fs, lib, path, &parent, e)) != 0)
		return r;
	if (parent.status != ST_NONE) {
		fnode_clear(&parent);
		return perr_set(e, ENOTDIR, "not a directory");
	}
	memset(child, 0, sizeof *child);
	child->status = ST_NONE;
	r = pnode_child(lib, &parent.pn, name, &child->pn, e);
	fnode_clear(&parent);
	if (r != 0)
		return r;
	pnode_path(&child->pn, &b);
	*childpath = buf_steal(&b);
	return 0;
}

static bool
is_dir(const struct fnode *n)
{
	return n->status == ST_DIR || (n->status == ST_NONE &&
	    pnode_is_dir(&n->pn));
}

/* A part made by an engine (not a json description). */
static bool
is_made(const struct fnode *n)
{
	return n->status == ST_NONE && n->pn.kind == PN_PART &&
	    n->pn.fmt != FMT_JSON;
}

/* The JSON text of a description node, or NULL. */
static char *
json_text(const struct fnode *n, struct perr *e)
{
	json_t *j = NULL;
	char *s;

	if (n->status != ST_NONE)
		return NULL;
	switch (n->pn.kind) {
	case PN_COLLECTION_JSON:
		j = describe_collection(n->pn.coll);
		break;
	case PN_CLASS_JSON:
		j = describe_class(n->pn.cls);
		break;
	case PN_PART:
		if (n->pn.fmt == FMT_JSON)
			j = describe_part(&n->pn, e);
		break;
	default:
		break;
	}
	if (j == NULL)
		return NULL;
	s = describe_dump(j);
	json_decref(j);
	return s;
}

/* A part's cache key: remembered in its inode, else planned from what
 * was seen in the last second (plan_key_recent).  0 or -errno when the
 * part cannot be planned, EWOULDBLOCK when not without asking its engine
 * for its version (then it is not in the cache either: nothing was made
 * with that version). */
static int
part_key(struct fs *fs, const struct library *lib, const struct pnode *pn,
    fuse_ino_t ino, struct cache_key *key)
{
	int r;

	if (inodes_get_key(fs->inodes, ino, lib->generation, key))
		return 0;
	if ((r = plan_key_recent(&fs->core->env, pn, key)) != 0)
		return r;
	inodes_set_key(fs->inodes, ino, lib->generation, key);
	return 0;
}

/* Is a part in the cache?  1 with its size, 0 no, -errno when it cannot
 * be planned.  Its blob file answers: it only appears whole. */
static int
part_cached(struct fs *fs, const struct library *lib, const struct pnode *pn,
    fuse_ino_t ino, uint64_t *size)
{
	struct cache_key key;
	struct stat st;
	char *blob;
	int r;

	if ((r = part_key(fs, lib, pn, ino, &key)) != 0)
		return r;
	blob = cache_blob_path(fs->core->cache, &key, pn->fmt);
	r = stat(blob, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
	if (r)
		*size = (uint64_t)st.st_size;
	free(blob);
	return r;
}

static void
set_time(struct stat *st, const struct timespec *t)
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
static int
open_drawing(const struct library *lib, const char *file, int flags,
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

static bool open_part_size(fuse_ino_t ino, off_t *size);

/*
 * The attributes of node n (inode ino) and how long the kernel may keep
 * them.  A part not made has the placeholder size 0 and a zero timeout,
 * unless one is open on the inode: a part taken from the cache while
 * open (cache clear, say) keeps the size of what its open files read, or
 * the kernel would cut them short, and kill the programs that map it.
 * `listing`: for a listing of parts new to the kernel (no inode, nothing
 * open), which gives them that placeholder without working out their
 * cache keys (a stat asks again anyway, and find needs no size at all).
 */
static void
node_attr(struct fs *fs, const struct library *lib, const struct fnode *n,
    fuse_ino_t ino, struct stat *st, double *timeout, bool listing)
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
	set_time(st, &lib->mtime);
	if (n->status != ST_NONE) {
		if (n->status == ST_DIR) {
			st->st_mode = S_IFDIR | 0555;
			st->st_nlink = 2;
		} else {
			st->st_mode = S_IFREG | 0444;
			text = status_text(fs, n->status);
			st->st_size = (off_t)strlen(text);
			free(text);
			*timeout = 0;
		}
		return;
	}
	if (n->pn.coll != NULL)
		set_time(st, &n->pn.coll->mtime);
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
		int fd = open_drawing(lib, n->pn.file, O_PATH, &fst);
		if (fd != -1) {
			st->st_size = fst.st_size;
			close(fd);
		}
		break;
	}
	case PN_PART:
		if (n->pn.fmt == FMT_JSON)
			goto json;
		/* The exact size once made; until then a placeholder the
		 * kernel must ask about again. */
		seq = inodes_report_begin(fs->inodes, ino);
		if (!listing && part_cached(fs, lib, &n->pn, ino, &size) == 1)
			st->st_size = (off_t)size;
		else if (!listing && open_part_size(ino, &open_size)) {
			st->st_size = open_size;
			*timeout = 0;
		} else {
			st->st_size = 0;
			*timeout = 0;
		}
		inodes_report_end(fs->inodes, ino, seq, st->st_size == 0);
		break;
	default:
	json:
		if ((text = json_text(n, NULL)) != NULL) {
			st->st_size = (off_t)strlen(text);
			free(text);
		}
		break;
	}
	st->st_blocks = (st->st_size + 511) / 512;
}

static struct fs *
fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static int
errno_of(const struct perr *e)
{
	return e->code != 0 ? e->code : EIO;
}

/* Parked requests: an open (or, with exact_size, a lookup) waiting for a
 * job, or for the planning that gives it its job (plan_task).  They are
 * found by id: whichever of the job's completion, the planning's failure
 * and an interrupt takes the entry out of the table answers the request. */

enum pending_kind {
	P_OPEN,
	P_LOOKUP,
};

struct pending {
	uint64_t id;
	enum pending_kind kind;
	fuse_req_t req;
	struct fuse_file_info fi;
	fuse_ino_t ino;
	fuse_ino_t parent;
	char *path;
	struct cache_key key;
	bool pinned;               /* key is pinned in the cache */
	struct job *job;           /* NULL while being planned */
	int replans;               /* planned again after stale jobs */
	pid_t reader;              /* an interrupt was declined: its thread */
	struct pending *next;
};

static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pending *pending_list;
static uint64_t pending_next = 1;

/*
 * A live reload makes the kernel forget the entries it holds (watch.c),
 * and to forget one the kernel takes its directory's lock alone.  A
 * lookup holds that lock (shared) until it is answered: one parked for
 * its part (exact_size), for the whole job.  The invalidation would wait
 * for the job, and every lookup and listing of the directory would queue
 * behind it.  So, under pending_lock:
 *
 * - The watch thread invalidates an entry only when no lookup of a part
 *   is parked in its directory or on its way there (lookup_begin to
 *   lookup_end), and marks the directory meanwhile (inval_dir).
 *   Otherwise the entry is held back, with the directory's next ones,
 *   and the watch thread invalidates them a moment after no lookup is
 *   there (fs_release_entries, every HELD_MS): not as the last one is
 *   answered, when its reader's next lookup is often on its way already.
 *   A lookup answered after the reload resolves its path in the new
 *   library (lookup_done).
 * - A lookup that starts in the marked directory does not wait: it may
 *   have been on its way in the kernel since before the mark, and the
 *   invalidation then waits for it.  It is answered at once with the
 *   placeholder of a part not made and no entry timeout, so that the
 *   next stat looks the part up again, and waits; the directory's other
 *   entries are held back.
 * - The entry of a directory itself is one of its parent's: a lookup
 *   holds the lock of the directory it looks in, not of those above.
 *
 * So an invalidation never waits for a job, and in a directory only
 * the lookups of parts not made wait.  The attributes go at once
 * (watch.c); an entry held back is kept by the kernel for its timeout (a
 * second) at most, then asked for again.  A lookup answered from the
 * library of before a reload, racing it, keeps that answer as long, as
 * any lookup does.  The entries still held back when the session ends
 * are freed unnotified (fs_held_entries_free).
 */

/* The entries of a directory held back; none for the rest of a reload
 * after a lookup there did not wait. */
struct held_dir {
	fuse_ino_t dir;
	char **names;
	size_t n;
	struct held_dir *next;
};

/* A lookup of a part from its start to its parking or answer
 * (op_lookup), on the stack of the thread doing it. */
struct lookup_mark {
	fuse_ino_t dir;
	struct lookup_mark *next;
};

static struct held_dir *held_dirs;
static struct lookup_mark *lookup_marks;
static fuse_ino_t inval_dir;       /* whose entry is being invalidated */
static bool inval_refused;         /* a lookup there did not wait */

/* Is a lookup of a part parked in directory `dir`, or on its way there?
 * pending_lock held. */
static bool
lookup_in(fuse_ino_t dir)
{
	for (const struct pending *p = pending_list; p != NULL; p = p->next) {
		if (p->kind == P_LOOKUP && p->parent == dir)
			return true;
	}
	for (const struct lookup_mark *m = lookup_marks; m != NULL;
	    m = m->next) {
		if (m->dir == dir)
			return true;
	}
	return false;
}

/* A lookup of a part in directory `dir` starts, marked by m until
 * lookup_end: false, and nothing marked, when an entry there is being
 * invalidated. */
static bool
lookup_begin(struct lookup_mark *m, fuse_ino_t dir)
{
	bool begun;

	pthread_mutex_lock(&pending_lock);
	if ((begun = dir != inval_dir)) {
		m->dir = dir;
		m->next = lookup_marks;
		lookup_marks = m;
	} else
		inval_refused = true;
	pthread_mutex_unlock(&pending_lock);
	return begun;
}

static void
lookup_end(struct lookup_mark *m)
{
	struct lookup_mark **mp;

	pthread_mutex_lock(&pending_lock);
	for (mp = &lookup_marks; *mp != m; mp = &(*mp)->next)
		;
	*mp = m->next;
	pthread_mutex_unlock(&pending_lock);
}

/* The entries held back of directory `dir`, NULL when none and not
 * `add`; pending_lock held. */
static struct held_dir *
held_dir(fuse_ino_t dir, bool add)
{
	struct held_dir *h;

	for (h = held_dirs; h != NULL && h->dir != dir; h = h->next)
		;
	if (h == NULL && add) {
		h = xcalloc(1, sizeof *h);
		h->dir = dir;
		h->next = held_dirs;
		held_dirs = h;
	}
	return h;
}

/* Invalidate entry `name` of directory `dir`, marked as inval_dir by the
 * caller: false when a lookup there did not wait meanwhile (its other
 * entries are then held back). */
static bool
inval_marked(struct fs *fs, fuse_ino_t dir, const char *name)
{
	bool refused;

	/* once the session has ended the kernel has forgotten them all */
	if (fs->se != NULL && !fuse_session_exited(fs->se))
		fuse_lowlevel_notify_inval_entry(fs->se, dir, name,
		    strlen(name));
	pthread_mutex_lock(&pending_lock);
	if ((refused = inval_refused))
		held_dir(dir, true);
	inval_dir = 0;
	inval_refused = false;
	pthread_mutex_unlock(&pending_lock);
	return !refused;
}

void
fs_inval_entries(struct fs *fs, const struct inode_ref *v, size_t n)
{
	struct held_dir *h;

	/* v has every entry the kernel holds: those held back before are
	 * in it again, if the kernel still has them */
	pthread_mutex_lock(&pending_lock);
	for (h = held_dirs; h != NULL; h = h->next) {
		while (h->n > 0)
			free(h->names[--h->n]);
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].parent == 0)
			continue;
		if ((h = held_dir(v[i].parent, false)) == NULL &&
		    !lookup_in(v[i].parent)) {
			inval_dir = v[i].parent;
			pthread_mutex_unlock(&pending_lock);
			inval_marked(fs, v[i].parent, v[i].name);
			pthread_mutex_lock(&pending_lock);
			continue;
		}
		if (h == NULL)
			h = held_dir(v[i].parent, true);
		h->names = xreallocarray(h->names, h->n + 1,
		    sizeof *h->names);
		h->names[h->n++] = xstrdup(v[i].name);
	}
	pthread_mutex_unlock(&pending_lock);
}

bool
fs_release_entries(struct fs *fs)
{
	struct held_dir **hp, *h;
	bool left;

	pthread_mutex_lock(&pending_lock);
	for (hp = &held_dirs; (h = *hp) != NULL;) {
		bool quiet = !lookup_in(h->dir);
		/* only this thread adds and takes away held entries */
		while (quiet && h->n > 0) {
			char *name = h->names[--h->n];
			inval_dir = h->dir;
			pthread_mutex_unlock(&pending_lock);
			quiet = inval_marked(fs, h->dir, name);
			free(name);
			pthread_mutex_lock(&pending_lock);
			quiet = quiet && !lookup_in(h->dir);
		}
		if (!quiet) {
			hp = &h->next;
			continue;
		}
		*hp = h->next;
		free(h->names);
		free(h);
	}
	left = held_dirs != NULL;
	pthread_mutex_unlock(&pending_lock);
	return left;
}

void
fs_held_entries_free(void)
{
	struct held_dir *h;

	pthread_mutex_lock(&pending_lock);
	while ((h = held_dirs) != NULL) {
		held_dirs = h->next;
		for (size_t i = 0; i < h->n; i++)
			free(h->names[i]);
		free(h->names);
		free(h);
	}
	pthread_mutex_unlock(&pending_lock);
}

static void
pending_add(struct pending *p)
{
	pthread_mutex_lock(&pending_lock);
	p->id = pending_next++;
	p->next = pending_list;
	pending_list = p;
	pthread_mutex_unlock(&pending_lock);
}

/* Where the parked request `id` is linked, or where it would be;
 * pending_lock held. */
static struct pending **
pending_slot(uint64_t id)
{
	struct pending **pp = &pending_list;

	while (*pp != NULL && (*pp)->id != id)
		pp = &(*pp)->next;
	return pp;
}

static struct pending *
pending_take(uint64_t id)
{
	struct pending **pp, *p;

	pthread_mutex_lock(&pending_lock);
	if ((p = *(pp = pending_slot(id))) != NULL)
		*pp = p->next;
	pthread_mutex_unlock(&pending_lock);
	return p;
}

static void
pending_free(struct fs *fs, struct pending *p)
{
	if (p->pinned)
		cache_unpin(fs->core->cache, &p->key);
	if (p->job != NULL)
		job_unref(p->job);
	free(p->path);
	free(p);
}

/* Park a request until `job` (whose key `key` the caller pinned) ends,
 * when done(id, job) answers it.  An interrupt may answer it first, even
 * before this returns: the job goes on without it. */
static void
pending_wait(struct fs *fs, uint64_t id, struct job *job,
    const struct cache_key *key, void (*done)(void *arg, struct job *job))
{
	struct pending *p;

	pthread_mutex_lock(&pending_lock);
	if ((p = *pending_slot(id)) != NULL) {
		p->job = job_ref(job);
		p->key = *key;
		p->pinned = true;
	}
	pthread_mutex_unlock(&pending_lock);
	if (p != NULL)
		job_notify(job, done, (void *)(uintptr_t)id);
	else
		cache_unpin(fs->core->cache, key);
	job_unref(job);
}

/* Handles of open files. */

/* A link in a list of open handles (open_add, open_del). */
struct open_link {
	struct open_link *prev, *next;
};

struct handle {
	struct open_link link;     /* first: the open ones (handles_lock) */
	atomic_int refs;           /* the open file's, and a read's */
	int fd;                    /* a cache file or drawing, or -1 */
	bool splice;               /* fd never changes: read by splice */
	char *data;                /* generated text */
	size_t len;                /* of data, or of fd when splice is set */
	bool pinned;
	struct cache_key key;
	fuse_ino_t ino;            /* a made part's, once its open is answered */
	struct stat st;            /* a made part's cache file, at its open */
};

/*
 * Open files and directories the kernel has not released yet.  When the
 * mount goes away with releases still queued (the kernel sends them in
 * the background), they are freed at the end instead of leaking.
 */
static pthread_mutex_t handles_lock = PTHREAD_MUTEX_INITIALIZER;
static struct open_link *handles, *dirhandles;

static void
open_add(struct open_link **head, struct open_link *l)
{
	pthread_mutex_lock(&handles_lock);
	l->prev = NULL;
	l->next = *head;
	if (*head != NULL)
		(*head)->prev = l;
	*head = l;
	pthread_mutex_unlock(&handles_lock);
}

static void
open_del(struct open_link **head, struct open_link *l)
{
	pthread_mutex_lock(&handles_lock);
	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		*head = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	pthread_mutex_unlock(&handles_lock);
}

/* The first of a list (NULL when empty), to free what is left. */
static struct open_link *
open_first(struct open_link **head)
{
	struct open_link *l;

	pthread_mutex_lock(&handles_lock);
	l = *head;
	pthread_mutex_unlock(&handles_lock);
	return l;
}

static struct handle *
handle_link(struct handle *h)
{
	open_add(&handles, &h->link);
	return h;
}

/*
 * A cache file (`blob`: its stat, taken as it was opened) is immutable, so
 * its size at open is its size for good and reads are spliced from it.  A
 * drawing (`blob` NULL) is the library's file, which can be edited while
 * open: it is read with pread.
 */
static struct handle *
handle_fd(int fd, const struct stat *blob)
{
	struct handle *h = xcalloc(1, sizeof *h);

	atomic_init(&h->refs, 1);
	h->fd = fd;
	if (blob != NULL && S_ISREG(blob->st_mode)) {
		h->splice = true;
		h->len = (size_t)blob->st_size;
		h->st = *blob;
	}
	return handle_link(h);
}

static struct handle *
handle_text(char *text)
{
	struct handle *h = xcalloc(1, sizeof *h);

	atomic_init(&h->refs, 1);
	h->fd = -1;
	h->data = text;
	h->len = strlen(text);
	return handle_link(h);
}

/*
 * Let go of a handle: freed with its last reference.  A read holds one
 * until its reply is written, so a RELEASE that overtakes the end of that
 * call (the reader has its data once the kernel has copied it) frees
 * nothing a reply still points into.
 */
static void
handle_free(struct fs *fs, struct handle *h)
{
	if (atomic_fetch_sub(&h->refs, 1) != 1)
		return;
	open_del(&handles, &h->link);
	if (h->fd != -1)
		close(h->fd);
	if (h->pinned)
		cache_unpin(fs->core->cache, &h->key);
	free(h->data);
	free(h);
}

/* Lookup. */

/* Answer a lookup with node n at `path`, kept by the kernel for
 * `timeout` seconds. */
static void
reply_entry(fuse_req_t req, struct fs *fs, const struct library *lib,
    const struct fnode *n, const char *path, double timeout)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof e);
	e.ino = inodes_lookup(fs->inodes, path);
	node_attr(fs, lib, n, e.ino, &e.attr, &e.attr_timeout, false);
	e.entry_timeout = timeout;
	if (fuse_reply_entry(req, &e) != 0)
		inodes_forget(fs->inodes, e.ino, 1);
}

static void lookup_done(void *arg, struct job *job);
static bool replanned(struct fs *fs, void *arg, struct job *job);
static uint64_t park(fuse_req_t req, enum pending_kind kind, fuse_ino_t ino,
    fuse_ino_t parent, const char *path, const struct fuse_file_info *fi);
static void plan_later(struct fs *fs, fuse_req_t req, enum pending_kind kind,
    fuse_ino_t ino, fuse_ino_t parent, const char *path,
    const struct pnode *pn, const struct fuse_file_info *fi);

/* Park a lookup of part pn until it is made, so that its size is exact:
 * false when it is made already or cannot be planned (a failure shows
 * when it is opened): the caller answers it. */
static bool
park_lookup(fuse_req_t req, struct fs *fs, const struct pnode *pn,
    fuse_ino_t parent, const char *path)
{
	struct cache_entry hit;
	struct job *job;
	struct cache_key key;
	int r = core_request_now(fs->core, pn, false, &hit, &job, &key, NULL);

	if (r == 0) {
		uint64_t id = park(req, P_LOOKUP, 0, parent, path, NULL);
		cache_pin(fs->core->cache, &key);
		pending_wait(fs, id, job, &key, lookup_done);
	} else if (r == -EWOULDBLOCK)
		plan_later(fs, req, P_LOOKUP, 0, parent, path, pn, NULL);
	else if (r == 1)
		cache_entry_clear(&hit);
	return r == 0 || r == -EWOULDBLOCK;
}

static void
op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct perr e = { 0 };
	struct library *lib;
	struct fnode child;
	char *path, *childpath;
	double timeout = fs->timeout;

	if ((path = inodes_path(fs->inodes, parent)) == NULL) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	lib = core_library(fs->core);
	if (child_of(fs, lib, path, name, &child, &childpath, &e) != 0) {
		fuse_reply_err(req, e.code == ENOTDIR ? ENOTDIR : ENOENT);
		goto out;
	}
	if (fs->exact_size && is_made(&child)) {
		/* wait for the part, so that its size is exact */
		struct lookup_mark m;
		bool parked = false;
		if (lookup_begin(&m, parent)) {
			parked = park_lookup(req, fs, &child.pn, parent,
			    childpath);
			lookup_end(&m);
		} else {
			/* an invalidation there may be waiting for this very
			 * lookup (see struct held_dir): the placeholder now,
			 * and the next stat looks the part up again */
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
	library_unref(lib);
	free(path);
}

static void
lookup_done(void *arg, struct job *job)
{
	struct pending *p;
	struct fs *fs = the_fs;
	struct library *lib;
	struct fnode n;

	/* the size must be that of the part as it is now */
	if (job != NULL && replanned(fs, arg, job))
		return;
	if ((p = pending_take((uint64_t)(uintptr_t)arg)) == NULL)
		return;
	lib = core_library(fs->core);
	if (fs_resolve(fs, lib, p->path, &n, NULL) != 0)
		fuse_reply_err(p->req, ENOENT);
	else {
		/* made or failed: either way the file exists; a failure shows
		 * when it is opened */
		reply_entry(p->req, fs, lib, &n, p->path, fs->timeout);
		fnode_clear(&n);
	}
	library_unref(lib);
	pending_free(fs, p);
}

static void
op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	inodes_forget(fs_of(req)->inodes, ino, nlookup);
	fuse_reply_none(req);
}

static void
op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	for (size_t i = 0; i < count; i++)
		inodes_forget(fs_of(req)->inodes, f[i].ino, f[i].nlookup);
	fuse_reply_none(req);
}

/* Resolve an inode for an operation; replies the error itself. */
static bool
node_of(fuse_req_t req, fuse_ino_t ino, struct library **lib,
    struct fnode *n, char **path)
{
	struct fs *fs = fs_of(req);
	struct perr e = { 0 };

	if ((*path = inodes_path(fs->inodes, ino)) == NULL) {
		fuse_reply_err(req, ESTALE);
		return false;
	}
	*lib = core_library(fs->core);
	if (fs_resolve(fs, *lib, *path, n, &e) != 0) {
		/* gone in a live edit */
		fuse_reply_err(req, ENOENT);
		library_unref(*lib);
		free(*path);
		return false;
	}
	return true;
}

/* The size of an open file for its reader: what it reads (a part's cache
 * file, a generated text), whatever a live edit made of its path since.
 * False for a drawing (the library's own file, read as it is now). */
static bool
handle_size(const struct fuse_file_info *fi, off_t *size)
{
	const struct handle *h;

	if (fi == NULL || fi->fh == 0)
		return false;
	h = (const struct handle *)(uintptr_t)fi->fh;
	if (!h->splice && h->data == NULL)
		return false;
	*size = (off_t)h->len;
	return true;
}

/* The size of a part open on inode ino (any of its open files: they read
 * one cache file), false when none is. */
static bool
open_part_size(fuse_ino_t ino, off_t *size)
{
	bool found = false;

	pthread_mutex_lock(&handles_lock);
	for (struct open_link *l = handles; l != NULL && !found; l = l->next) {
		const struct handle *h = (const struct handle *)l;
		if (h->splice && h->ino == ino) {
			*size = (off_t)h->len;
			found = true;
		}
	}
	pthread_mutex_unlock(&handles_lock);
	return found;
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
	    fs_resolve(fs, lib, path, &n, &e) == 0) {
		node_attr(fs, lib, &n, ino, st, timeout, false);
		fnode_clear(&n);
	} else {
		st->st_ino = ino;
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_uid = fs->uid;
		st->st_gid = fs->gid;
		st->st_blksize = 4096;
		set_time(st, &lib->mtime);
	}
	if (!S_ISREG(st->st_mode))
		st->st_mode = S_IFREG | 0444;
	st->st_size = size;
	st->st_blocks = (size + 511) / 512;
	free(path);
	library_unref(lib);
}

static void
op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
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
	if (handle_size(fi, &size) || (inodes_retired(fs->inodes, ino) &&
	    open_part_size(ino, &size))) {
		open_file_attr(fs, ino, size, &st, &timeout);
		fuse_reply_attr(req, &st, timeout);
		return;
	}
	if (!node_of(req, ino, &lib, &n, &path))
		return;
	node_attr(fs, lib, &n, ino, &st, &timeout, false);
	fuse_reply_attr(req, &st, timeout);
	fnode_clear(&n);
	library_unref(lib);
	free(path);
}

static void
op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct library *lib;
	struct fnode n;
	struct buf t = BUF_INIT;
	char *path;

	if (!node_of(req, ino, &lib, &n, &path))
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

struct dirhandle {
	struct open_link link;     /* first: the open ones (handles_lock) */
	char *path;
	char **names;
	size_t n;
	bool read;                 /* listed once: a new start (rewinddir)
				    * lists the directory as it is then */
};

static void
dirhandle_free(struct dirhandle *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->names[i]);
	free(d->names);
	free(d->path);
	free(d);
}

static void
dirhandle_unlink(struct dirhandle *d)
{
	open_del(&dirhandles, &d->link);
}

void
fs_handles_free(struct fs *fs)
{
	struct handle *h;
	struct dirhandle *d;

	/* link is the first member of both */
	while ((h = (struct handle *)open_first(&handles)) != NULL) {
		atomic_store(&h->refs, 1);
		handle_free(fs, h);
	}
	while ((d = (struct dirhandle *)open_first(&dirhandles)) != NULL) {
		dirhandle_unlink(d);
		dirhandle_free(d);
	}
}

static int
collect_name(void *ctx, const char *name, const struct pnode *child)
{
	struct dirhandle *d = ctx;

	(void)child;
	d->names = xreallocarray(d->names, d->n + 1, sizeof *d->names);
	d->names[d->n++] = xstrdup(name);
	return 0;
}

/* The names of directory n, for handle d. */
static void
dirhandle_fill(struct dirhandle *d, const struct library *lib,
    const struct fnode *n)
{
	struct perr e = { 0 };

	if (n->status == ST_DIR) {
		for (int f = ST_JOBS; f <= ST_VERSION; f++)
			collect_name(d, status_names[f], NULL);
	} else {
		if (n->pn.kind == PN_ROOT)
			collect_name(d, STATUS_DIR, NULL);
		pnode_list(lib, &n->pn, collect_name, d, &e);
	}
}

/* A listing started again on an open directory (rewinddir, or a second
 * pass): the names as they are now, after live edits since the open. */
static void
dirhandle_refresh(struct fs *fs, struct dirhandle *d,
    const struct library *lib)
{
	struct perr e = { 0 };
	struct fnode n;

	if (fs_resolve(fs, lib, d->path, &n, &e) != 0)
		return;             /* gone: what it was */
	if (is_dir(&n)) {
		for (size_t i = 0; i < d->n; i++)
			free(d->names[i]);
		free(d->names);
		d->names = NULL;
		d->n = 0;
		dirhandle_fill(d, lib, &n);
	}
	fnode_clear(&n);
}

static void
op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dirhandle *d;
	struct library *lib;
	struct fnode n;
	char *path;

	if (!node_of(req, ino, &lib, &n, &path))
		return;
	if (!is_dir(&n)) {
		fuse_reply_err(req, ENOTDIR);
		goto out;
	}
	d = xcalloc(1, sizeof *d);
	d->path = xstrdup(path);
	dirhandle_fill(d, lib, &n);
	fi->fh = (uintptr_t)d;
	open_add(&dirhandles, &d->link);
	if (fuse_reply_open(req, fi) != 0) {
		dirhandle_unlink(d);
		dirhandle_free(d);
	}
out:
	fnode_clear(&n);
	library_unref(lib);
	free(path);
}

static void
readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi, bool plus)
{
	struct fs *fs = fs_of(req);
	struct dirhandle *d = (struct dirhandle *)(uintptr_t)fi->fh;
	struct library *lib = core_library(fs->core);
	char *buf = xcalloc(1, size), *childpath;
	fuse_ino_t *counted = NULL;       /* lookups the entries count */
	size_t pos = 0, ncounted = 0;

	/* the kernel asks for one handle's entries one call at a time */
	if (off == 0 && d->read)
		dirhandle_refresh(fs, d, lib);
	d->read = true;
	for (off_t i = off; (size_t)i < d->n + 2; i++) {
		struct fuse_entry_param e;
		struct fnode child;
		const char *name;
		size_t need;

		memset(&e, 0, sizeof e);
		if (i < 2) {
			/* . and .. carry no lookup */
			name = i == 0 ? "." : "..";
			e.attr.st_ino = i == 0 ? ino : FUSE_ROOT_ID;
			e.attr.st_mode = S_IFDIR;
			need = plus ? fuse_add_direntry_plus(req, buf + pos,
			    size - pos, name, &e, i + 1) :
			    fuse_add_direntry(req, buf + pos, size - pos, name,
			    &e.attr, i + 1);
			if (need > size - pos)
				break;
			pos += need;
			continue;
		}
		name = d->names[i - 2];
		if (child_of(fs, lib, d->path, name, &child, &childpath,
		    NULL) != 0)
			continue;          /* gone in a live edit */
		if (plus && child.status == ST_NONE &&
		    child.pn.kind == PN_PART && child.pn.fmt != FMT_JSON &&
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
			e.ino = inodes_lookup(fs->inodes, childpath);
			/* a part with the placeholder of one not made: the
			 * kernel keeps the name, so a stat of it (ls -l)
			 * asks for its attributes only, without a lookup */
			node_attr(fs, lib, &child, e.ino, &e.attr,
			    &e.attr_timeout, true);
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
			e.attr.st_mode = is_dir(&child) ? S_IFDIR :
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
	/* a reply the kernel did not take (the reader was interrupted)
	 * gave it none of the lookups counted for its entries */
	if (fuse_reply_buf(req, buf, pos) != 0)
		for (size_t i = 0; i < ncounted; i++)
			inodes_forget(fs->inodes, counted[i], 1);
	free(counted);
	free(buf);
	library_unref(lib);
}

static void
op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, fi, false);
}

static void
op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, fi, true);
}

static void
op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dirhandle *d = (struct dirhandle *)(uintptr_t)fi->fh;

	(void)ino;
	dirhandle_unlink(d);
	dirhandle_free(d);
	fuse_reply_err(req, 0);
}

/* Opening parts. */

/* Give the kernel the size of the made part at `blob` by storing its last
 * page in the inode's page cache (see fs.h).  The blob's content is what
 * any read would get, so nothing wrong can be cached. */
static void
store_size(struct fs *fs, fuse_ino_t ino, int fd, off_t size)
{
	long pagesize = sysconf(_SC_PAGESIZE);
	off_t off;
	size_t n;
	char *page;

	/* once the session has ended nobody would answer the reads a
	 * store may have to wait for */
	if (fs->se == NULL || fuse_session_exited(fs->se) || size <= 0)
		return;
	off = (size - 1) / pagesize * pagesize;
	n = (size_t)(size - off);
	page = xmalloc(n);
	if (pread(fd, page, n, off) == (ssize_t)n) {
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(n);
		bv.buf[0].mem = page;
		fuse_lowlevel_notify_store(fs->se, ino, off, &bv, 0);
	}
	free(page);
}

/*
 * After a live reload made the kernel forget every attribute: the parts
 * open are given their sizes again.  An open file's reads ask with its
 * handle (see open_file_attr), but an answer that crosses the reload's
 * invalidation of its inode is dropped by the kernel, which then reads
 * on with the size a stat of the path left (0 for a part not made, after
 * an edit): the read ended at once.  A store of the last page sets the
 * size whatever came in between.
 */
void
fs_open_sizes(struct fs *fs)
{
	struct handle *v[64];
	size_t n = 0;

	pthread_mutex_lock(&handles_lock);
	for (struct open_link *l = handles; l != NULL && n < 64; l = l->next) {
		struct handle *h = (struct handle *)l;
		if (h->splice && h->ino != 0) {
			atomic_fetch_add(&h->refs, 1);
			v[n++] = h;
		}
	}
	pthread_mutex_unlock(&handles_lock);
	for (size_t i = 0; i < n; i++) {
		store_size(fs, v[i]->ino, v[i]->fd, (off_t)v[i]->len);
		handle_free(fs, v[i]);
	}
}

void
fs_retire_open_parts(struct fs *fs)
{
	pthread_mutex_lock(&handles_lock);
	for (struct open_link *l = handles; l != NULL; l = l->next) {
		const struct handle *h = (const struct handle *)l;
		if (h->splice && h->ino != 0)
			inodes_retire(fs->inodes, h->ino);
	}
	pthread_mutex_unlock(&handles_lock);
}

/* Before the kernel is given anything of the made part whose cache file
 * has the stat `st`: when it is another cache file than the kernel's
 * pages may come from, they and the attributes go (see
 * inodes_content_changed). */
static void
drop_other_content(struct fs *fs, fuse_ino_t ino, const struct stat *st)
{
	if (inodes_content_changed(fs->inodes, ino, st) && fs->se != NULL &&
	    !fuse_session_exited(fs->se))
		fuse_lowlevel_notify_inval_inode(fs->se, ino, 0, 0);
}

/* A job made a part (or found it made by another process): the kernel
 * learns its size before any open of it is answered. */
void
fs_part_made(void *arg, const char *path, const struct cache_entry *entry)
{
	struct fs *fs = arg;
	struct stat st;
	fuse_ino_t ino;
	int fd;

	if ((ino = inodes_made(fs->inodes, path)) == 0)
		return;             /* the kernel has no inode for it */
	if ((fd = open(entry->path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	if (fstat(fd, &st) == 0) {
		drop_other_content(fs, ino, &st);
		store_size(fs, ino, fd, st.st_size);
	}
	close(fd);
}

/* Reply to the open of a made part, giving the kernel its size first when
 * it may hold a stale 0 (see fs.h). */
static void
reply_part_open(struct fs *fs, fuse_req_t req, fuse_ino_t ino,
    struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	h->ino = ino;
	drop_other_content(fs, ino, &h->st);
	if (inodes_stale_size(fs->inodes, ino))
		store_size(fs, ino, h->fd, h->st.st_size);
	if (fuse_reply_open(req, fi) != 0)
		handle_free(fs, h);
}

/* An open file of a made part from `fd`, its cache file open and marked
 * in use (cache_blob_open), which it takes; `st` its stat, or NULL. */
static int
open_blob_fd(int fd, const struct stat *st, const struct cache_key *key,
    struct fuse_file_info *fi)
{
	struct stat own;
	struct handle *h;

	if (st == NULL) {
		if (fstat(fd, &own) == -1) {
			int err = errno;
			close(fd);
			return -err;
		}
		st = &own;
	}
	h = handle_fd(fd, st);
	h->pinned = true;          /* the pin taken before is handed over */
	h->key = *key;
	fi->fh = (uintptr_t)h;
	/* content is immutable per key: keep the page cache */
	fi->keep_cache = 1;
	return 0;
}

/* An open file of a made part: its cache file, by path. */
static int
open_blob(const char *blob, const struct cache_key *key,
    struct fuse_file_info *fi)
{
	struct stat st;
	int fd = cache_blob_open(blob, &st);

	if (fd == -1)
		return -errno;
	return open_blob_fd(fd, &st, key, fi);
}

static void
open_done(void *arg, struct job *job)
{
	struct pending *p;
	struct fs *fs = the_fs;
	int fd;

	/* the reader gets the part of the module as it is now */
	if (replanned(fs, arg, job))
		return;
	if ((p = pending_take((uint64_t)(uintptr_t)arg)) == NULL)
		return;             /* interrupted: answered already */
	/* a done job's own descriptor, held in use since the part was
	 * published or found: by its path, the part may be gone already
	 * (cache clear, or the eviction of another process) */
	if ((fd = job_blob_fd(job)) != -1 &&
	    open_blob_fd(fd, NULL, &p->key, &p->fi) == 0) {
		p->pinned = false;      /* the handle has the pin now */
		reply_part_open(fs, p->req, p->ino, &p->fi);
		pending_free(fs, p);
		return;
	}
	if (job_state(job) == JOB_FAILED)
		log_warning("%s: %s", p->path, job_error(job));
	/* planned again as often as it may be, and stale once more */
	if (job_stale(job))
		jobs_record_error(fs->core->jobs, p->path, job_error(job));
	fuse_reply_err(p->req, EIO);
	pending_free(fs, p);
}

/*
 * The request being parked by this thread.  An interrupt that came before
 * it was parked makes fuse_req_interrupt_func call `interrupted` at once,
 * with the request's lock held, which libfuse releases after the call: a
 * reply there would free the request under it.  Such an interrupt is only
 * noted, and answered by park once that call returned.
 */
static __thread uint64_t parking_id;
static __thread bool parking_interrupted;

/*
 * Which interrupts end a wait.  The kernel sends one for any signal that
 * reaches a reader waiting in open or lookup, also one the reader handles
 * and then goes on (SIGCHLD in a CAD program, SIGWINCH in a terminal):
 * EINTR for those failed opens that programs do not retry.  So only a
 * reader being killed (Ctrl-C on cat) gets EINTR at once; the others wait
 * on for their part.  A fatal signal that comes later brings no second
 * interrupt: a thread looks at the readers of declined interrupts every
 * INTERRUPT_POLL_MS and answers those being killed.
 */
#define INTERRUPT_POLL_MS 50

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watch_cond = PTHREAD_COND_INITIALIZER;
static pthread_t watch_thread;
static bool watch_running, watch_stopping;
static bool watch_poked;           /* an interrupt was declined since */

/* Signals whose default action ends a process (all but SIGCHLD, SIGCONT,
 * SIGURG, SIGWINCH and the stop signals), as a mask of /proc's bits. */
static unsigned long long
ending_by_default(void)
{
	static const int spare[] = { SIGCHLD, SIGCONT, SIGURG, SIGWINCH,
	    SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU };
	unsigned long long m = ~0ull;

	for (size_t i = 0; i < PF_ARRAY_LEN(spare); i++)
		m &= ~(1ull << (spare[i] - 1));
	return m;
}

/*
 * Is thread `tid` being killed?  That is, has it (or its process) a
 * signal pending that it neither blocks, nor handles, nor ignores, and
 * whose default action ends it; or SIGKILL, which the kernel adds for
 * such a signal when nothing else is pending.  A thread that is gone is
 * dead already.
 */
static bool
reader_dying(pid_t tid)
{
	unsigned long long v, pending = 0, blocked = 0, ignored = 0, caught = 0;
	unsigned long long kill = 1ull << (SIGKILL - 1);
	char path[64], line[256];
	FILE *fp;

	snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
	if ((fp = fopen(path, "re")) == NULL)
		return true;
	while (fgets(line, sizeof line, fp) != NULL) {
		if (sscanf(line, "SigPnd: %llx", &v) == 1 ||
		    sscanf(line, "ShdPnd: %llx", &v) == 1)
			pending |= v;
		else if (sscanf(line, "SigBlk: %llx", &v) == 1)
			blocked = v;
		else if (sscanf(line, "SigIgn: %llx", &v) == 1)
			ignored = v;
		else if (sscanf(line, "SigCgt: %llx", &v) == 1)
			caught = v;
	}
	fclose(fp);
	return (pending & kill) != 0 || (pending & ~blocked & ~ignored &
	    ~caught & ending_by_default()) != 0;
}

/* Answer a parked request with EINTR: its reader gives up, the job goes
 * on into the cache. */
static void
answer_interrupted(struct fs *fs, struct pending *p)
{
	atomic_fetch_add(&fs->interrupted, 1);
	fuse_reply_err(p->req, EINTR);
	pending_free(fs, p);
}

/* Answer the declined interrupts whose readers are being killed now:
 * whether any is left to watch. */
static bool
answer_dying(struct fs *fs)
{
	size_t left = 0;
	uint64_t ids[64];
	pid_t tids[64];
	struct pending *p;
	size_t n = 0;

	pthread_mutex_lock(&pending_lock);
	for (p = pending_list; p != NULL && n < PF_ARRAY_LEN(ids); p = p->next)
		if (p->reader != 0) {
			ids[n] = p->id;
			tids[n++] = p->reader;
		}
	pthread_mutex_unlock(&pending_lock);
	for (size_t i = 0; i < n; i++) {
		if (!reader_dying(tids[i]))
			left++;
		else if ((p = pending_take(ids[i])) != NULL)
			answer_interrupted(fs, p);
	}
	return left > 0;
}

static void *
interrupt_watch(void *arg)
{
	struct fs *fs = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&watch_lock);
	while (!watch_stopping) {
		struct timespec ts;
		bool watching;

		/* nothing to watch: asleep until an interrupt is declined */
		while (!watch_stopping && !watch_poked)
			pthread_cond_wait(&watch_cond, &watch_lock);
		watch_poked = false;
		do {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += INTERRUPT_POLL_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&watch_cond, &watch_lock, &ts);
			if (watch_stopping)
				break;
			watch_poked = false;
			pthread_mutex_unlock(&watch_lock);
			watching = answer_dying(fs);
			pthread_mutex_lock(&watch_lock);
		} while (watching || watch_poked);
	}
	pthread_mutex_unlock(&watch_lock);
	return NULL;
}

/* Keep request `id` parked after an interrupt of reader `tid`, watched:
 * false when it was answered already. */
static bool
decline_interrupt(struct fs *fs, uint64_t id, pid_t tid)
{
	struct pending *p;

	pthread_mutex_lock(&pending_lock);
	if ((p = *pending_slot(id)) != NULL)
		p->reader = tid;
	pthread_mutex_unlock(&pending_lock);
	if (p == NULL)
		return false;
	pthread_mutex_lock(&watch_lock);
	if (!watch_running && !watch_stopping &&
	    pthread_create(&watch_thread, NULL, interrupt_watch, fs) == 0)
		watch_running = true;
	watch_poked = true;
	pthread_cond_broadcast(&watch_cond);
	pthread_mutex_unlock(&watch_lock);
	/* no thread to watch for a later kill: the reader gets EINTR now */
	return watch_running;
}

void
fs_interrupts_stop(void)
{
	bool running;

	pthread_mutex_lock(&watch_lock);
	watch_stopping = true;
	running = watch_running;
	pthread_cond_broadcast(&watch_cond);
	pthread_mutex_unlock(&watch_lock);
	if (running)
		pthread_join(watch_thread, NULL);
}

static void
interrupted(fuse_req_t req, void *arg)
{
	uint64_t id = (uint64_t)(uintptr_t)arg;
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct pending *p;

	if (id == parking_id) {
		parking_interrupted = true;
		return;
	}
	/* a reader that handles the signal and goes on waits on (a pid of
	 * 0: the reader is not in our pid namespace; EINTR as before) */
	if (ctx->pid > 0 && !reader_dying(ctx->pid) &&
	    decline_interrupt(the_fs, id, ctx->pid))
		return;
	if ((p = pending_take(id)) == NULL)
		return;             /* the job answered first */
	answer_interrupted(the_fs, p);
}

/* Park request `req` (see struct pending); its id. */
static uint64_t
park(fuse_req_t req, enum pending_kind kind, fuse_ino_t ino,
    fuse_ino_t parent, const char *path, const struct fuse_file_info *fi)
{
	struct pending *p = xcalloc(1, sizeof *p);
	uint64_t id;

	p->kind = kind;
	p->req = req;
	p->ino = ino;
	p->parent = parent;
	p->path = xstrdup(path);
	if (fi != NULL)
		p->fi = *fi;
	pending_add(p);
	/* nothing takes it out before the interrupt function is set */
	id = p->id;
	parking_id = id;
	parking_interrupted = false;
	fuse_req_interrupt_func(req, interrupted, (void *)(uintptr_t)id);
	parking_id = 0;
	if (parking_interrupted)
		interrupted(req, (void *)(uintptr_t)id);
	return id;
}

/* A program reading a directory's parts (cp -r, a file manager making
 * previews): when another part of one directory is opened within a few
 * seconds of the last, idle workers make its other parts of the same
 * format ahead of time, from the one opened onwards.  Readers do not
 * always follow the listing (cp sorts by inode number), so this does not
 * look for a strict sequence. */
#define READING_WINDOW_NS (5ull * 1000000000ull)

static bool
reading_directory(struct fs *fs, const char *dir, const char *name)
{
	uint64_t now = now_ns();
	struct seq *s = NULL;
	bool reading;

	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < PF_ARRAY_LEN(fs->seq) && s == NULL; i++) {
		if (fs->seq[i].dir != NULL && strcmp(fs->seq[i].dir, dir) == 0)
			s = &fs->seq[i];
	}
	if (s == NULL) {
		s = &fs->seq[fs->seqpos];
		fs->seqpos = (fs->seqpos + 1) % PF_ARRAY_LEN(fs->seq);
		free(s->dir);
		free(s->name);
		s->dir = xstrdup(dir);
		s->name = NULL;
		s->last = 0;
	}
	reading = s->last != 0 && now - s->last < READING_WINDOW_NS &&
	    strcmp(s->name, name) != 0;
	free(s->name);
	s->name = xstrdup(name);
	s->last = now;
	pthread_mutex_unlock(&fs->lock);
	return reading;
}

static void
prefetch_siblings(struct fs *fs, const struct library *lib,
    const char *path, enum format fmt)
{
	const char *slash = strrchr(path, '/');
	struct dirhandle d = { 0 };
	struct pnode dir;
	size_t idx = 0, ahead, queued = 0;
	int workers = fs->core->conf->workers;

	if (slash == NULL)
		return;
	d.path = xstrndup(path, (size_t)(slash - path));
	if (!reading_directory(fs, d.path, slash + 1) ||
	    pnode_lookup(lib, d.path, &dir, NULL) != 0) {
		free(d.path);
		return;
	}
	pnode_list(lib, &dir, collect_name, &d, NULL);
	for (size_t i = 0; i < d.n; i++) {
		if (strcmp(d.names[i], slash + 1) == 0)
			idx = i;
	}
	if (workers <= 0)
		workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
	ahead = workers > 1 ? (size_t)workers : 1;
	for (size_t k = 1; k < d.n && queued < ahead; k++) {
		const char *name = d.names[(idx + k) % d.n];
		struct pnode sib;
		struct cache_entry hit;
		struct job *job;
		int r;
		if (!str_has_suffix(name, format_ext(fmt)) ||
		    pnode_child(lib, &dir, name, &sib, NULL) != 0)
			continue;
		r = core_request_now(fs->core, &sib, true, &hit, &job, NULL,
		    NULL);
		if (r == 1)
			cache_entry_clear(&hit);
		else if (r == 0) {
			/* queued now or already: either way one more in flight */
			job_unref(job);     /* it goes on without us */
			queued++;
		}
		pnode_clear(&sib);
	}
	for (size_t i = 0; i < d.n; i++)
		free(d.names[i]);
	free(d.names);
	free(d.path);
	pnode_clear(&dir);
}

/*
 * Ask for the part an open is for.  1: it is in the cache and opened into
 * fi (the handle holds the pin of its key); 0: *job makes it, `key`
 * pinned; -errno to answer with: EIO when it cannot be planned (the reason
 * recorded and logged), EWOULDBLOCK (only when `now`) when planning must
 * wait for an engine's version query.
 */
static int
open_request(struct fs *fs, const struct pnode *pn, const char *path,
    bool now, struct fuse_file_info *fi, struct cache_key *key,
    struct job **job)
{
	struct cache_entry hit;
	struct perr e = { 0 };
	int r;

	for (int tries = 0;; tries++) {
		r = now ? core_request_now(fs->core, pn, false, &hit, job,
		    key, &e) : core_request(fs->core, pn, false, &hit, job,
		    key, &e);
		if (r == -EWOULDBLOCK && now)
			return r;
		if (r < 0) {
			/* no engine for it (or none installed): say why,
			 * once */
			jobs_record_error(fs->core->jobs, path, e.msg);
			log_warning("%s", e.msg);
			return -EIO;
		}
		cache_pin(fs->core->cache, key);
		if (r == 0)
			return 0;
		r = open_blob(hit.path, key, fi);
		cache_entry_clear(&hit);
		if (r == 0)
			return 1;
		cache_unpin(fs->core->cache, key);
		/* evicted between the lookup and the pin: ask again, and
		 * the part is made again */
		if (r != -ENOENT || tries == 2)
			return r;
	}
}

/* A parked request's planning, handed to a planning thread (jobs_run)
 * because it waits for an engine's version query (plan_later). */
struct plan_task {
	uint64_t id;
	enum pending_kind kind;
	char *path;
	struct fuse_file_info fi;
};

static void
plan_task(void *arg, bool stopping)
{
	struct plan_task *t = arg;
	struct fs *fs = the_fs;
	struct library *lib = NULL;
	struct cache_entry hit;
	struct cache_key key;
	struct pending *p;
	struct job *job = NULL;
	struct fnode n;
	enum format fmt = FMT_JSON;
	int r = -EIO;

	if (!stopping && fs_resolve(fs, lib = core_library(fs->core),
	    t->path, &n, NULL) == 0) {
		if (!is_made(&n))
			r = -ENOENT;    /* changed in a live edit meanwhile */
		else if (t->kind == P_OPEN) {
			fmt = n.pn.fmt;
			r = open_request(fs, &n.pn, t->path, false, &t->fi,
			    &key, &job);
		} else if ((r = core_request(fs->core, &n.pn, false, &hit,
		    &job, &key, NULL)) == 0)
			cache_pin(fs->core->cache, &key);
		else if (r == 1)
			cache_entry_clear(&hit);
		fnode_clear(&n);
	} else if (!stopping)
		r = -ENOENT;            /* gone in a live edit meanwhile */
	if (r == 0) {
		pending_wait(fs, t->id, job, &key, t->kind == P_OPEN ?
		    open_done : lookup_done);
		if (t->kind == P_OPEN)
			prefetch_siblings(fs, lib, t->path, fmt);
	} else if (t->kind == P_LOOKUP)
		/* made, failed or gone: the lookup says which */
		lookup_done((void *)(uintptr_t)t->id, NULL);
	else if ((p = pending_take(t->id)) == NULL) {
		if (r == 1)             /* interrupted meanwhile */
			handle_free(fs, (struct handle *)(uintptr_t)t->fi.fh);
	} else {
		if (r == 1)
			reply_part_open(fs, p->req, p->ino, &t->fi);
		else
			fuse_reply_err(p->req, -r);
		pending_free(fs, p);
	}
	library_unref(lib);
	free(t->path);
	free(t);
}

/* Plan a parked request again, on a planning thread, after its job failed
 * because the part's module changed while it was made (job_stale); a few
 * times at most, for a file that changes all the time.  False when it is
 * not done (the request is then answered with the failure). */
static bool
replan(struct fs *fs, uint64_t id)
{
	struct plan_task *t = NULL;
	struct cache_key key;
	struct pending *p;
	struct job *job = NULL;
	bool pinned = false;

	pthread_mutex_lock(&pending_lock);
	if ((p = *pending_slot(id)) != NULL && p->replans < 3) {
		p->replans++;
		t = xcalloc(1, sizeof *t);
		t->id = id;
		t->kind = p->kind;
		t->path = xstrdup(p->path);
		t->fi = p->fi;
		/* the stale job and its key go; the new plan gives others */
		job = p->job;
		key = p->key;
		pinned = p->pinned;
		p->job = NULL;
		p->pinned = false;
	}
	pthread_mutex_unlock(&pending_lock);
	if (t == NULL)
		return false;
	if (pinned)
		cache_unpin(fs->core->cache, &key);
	job_unref(job);
	jobs_run(fs->core->jobs, NULL, plan_task, t);
	return true;
}

/* For the callback of the job of parked request `arg`: when the job went
 * stale (its module changed while it was made), the request is planned
 * again and true returned; the callback then has nothing to answer. */
static bool
replanned(struct fs *fs, void *arg, struct job *job)
{
	if (!job_stale(job) || !replan(fs, (uint64_t)(uintptr_t)arg))
		return false;
	log_info("%s; planned again", job_error(job));
	return true;
}

/* Park a request whose planning must wait for an engine's version query
 * (the first part of an engine a new cache makes: a whole start of
 * FreeCAD, say), and have a planning thread plan it: no FUSE thread
 * waits, and an interrupt answers at once. */
static void
plan_later(struct fs *fs, fuse_req_t req, enum pending_kind kind,
    fuse_ino_t ino, fuse_ino_t parent, const char *path,
    const struct pnode *pn, const struct fuse_file_info *fi)
{
	struct plan_task *t = xcalloc(1, sizeof *t);
	/* parts waiting for one engine are planned one at a time: the
	 * first asks, and the others leave the planning threads to parts
	 * of other engines meanwhile */
	char *engine = plan_engine(&fs->core->env, pn);

	t->kind = kind;
	t->path = xstrdup(path);
	if (fi != NULL)
		t->fi = *fi;
	t->id = park(req, kind, ino, parent, path, fi);
	jobs_run(fs->core->jobs, engine, plan_task, t);
	free(engine);
}

static void
open_part(fuse_req_t req, struct fs *fs, const struct library *lib,
    const struct fnode *n, fuse_ino_t ino, const char *path,
    struct fuse_file_info *fi)
{
	struct cache_key key;
	struct job *job;
	uint64_t id;
	int r;

	/* made already (the common case): straight from its blob, with no
	 * planning and no index query */
	if (inodes_get_key(fs->inodes, ino, lib->generation, &key)) {
		char *blob = cache_blob_path(fs->core->cache, &key, n->pn.fmt);
		cache_pin(fs->core->cache, &key);
		r = open_blob(blob, &key, fi);
		free(blob);
		if (r == 0) {
			atomic_fetch_add(&fs->core->hits, 1);
			if (inodes_touch_due(fs->inodes, ino))
				cache_touch(fs->core->cache, &key);
			reply_part_open(fs, req, ino, fi);
			return;
		}
		cache_unpin(fs->core->cache, &key);
	}
	r = open_request(fs, &n->pn, path, true, fi, &key, &job);
	if (r == 1)
		reply_part_open(fs, req, ino, fi);
	else if (r == -EWOULDBLOCK)
		plan_later(fs, req, P_OPEN, ino, 0, path, &n->pn, fi);
	else if (r < 0)
		fuse_reply_err(req, -r);
	else {
		/* Park the request: the job's end or an interrupt answers
		 * it, and no FUSE thread waits meanwhile. */
		id = park(req, P_OPEN, ino, 0, path, fi);
		pending_wait(fs, id, job, &key, open_done);
		prefetch_siblings(fs, lib, path, n->pn.fmt);
	}
}

static void
op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct library *lib;
	struct fnode n;
	struct perr e = { 0 };
	struct stat st;
	char *path, *text;
	int fd;

	if ((fi->flags & O_ACCMODE) != O_RDONLY ||
	    (fi->flags & (O_TRUNC | O_CREAT))) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (!node_of(req, ino, &lib, &n, &path))
		return;
	atomic_fetch_add(&fs->opens, 1);
	if (is_dir(&n))
		fuse_reply_err(req, EISDIR);
	else if (n.status != ST_NONE) {
		fi->fh = (uintptr_t)handle_text(status_text(fs, n.status));
		fi->direct_io = 1;      /* it changes while read */
		if (fuse_reply_open(req, fi) != 0)
			handle_free(fs, (struct handle *)(uintptr_t)fi->fh);
	} else if (n.pn.kind == PN_DRAWING) {
		if ((fd = open_drawing(lib, n.pn.file, O_RDONLY, &st)) == -1)
			fuse_reply_err(req, errno);
		else {
			fi->fh = (uintptr_t)handle_fd(fd, NULL);
			if (fuse_reply_open(req, fi) != 0)
				handle_free(fs,
				    (struct handle *)(uintptr_t)fi->fh);
		}
	} else if (is_made(&n))
		open_part(req, fs, lib, &n, ino, path, fi);
	else if ((text = json_text(&n, &e)) != NULL) {
		fi->fh = (uintptr_t)handle_text(text);
		if (fuse_reply_open(req, fi) != 0)
			handle_free(fs, (struct handle *)(uintptr_t)fi->fh);
	} else
		fuse_reply_err(req, errno_of(&e));
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

static void
op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct fs *fs = fs_of(req);

	(void)ino;
	/* the reply, once written, can wake the reader, whose close can
	 * release the handle before read_reply returns */
	atomic_fetch_add(&h->refs, 1);
	read_reply(req, h, size, off);
	handle_free(fs, h);
}

static void
op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	handle_free(fs_of(req), (struct handle *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* Extended attributes of part files. */

static const char *const xattr_names[] = {
	"user.partsfs.label",
	"user.partsfs.params",
	"user.partsfs.standard",
	"user.partsfs.license",
	"user.partsfs.cached",
	"user.partsfs.error",
};

/* The value of an xattr (caller frees), or NULL for ENODATA. */
static char *
xattr_value(struct fs *fs, const struct library *lib, const struct fnode *n,
    fuse_ino_t ino, const char *path, const char *name)
{
	json_t *j, *v;
	char *s = NULL;
	uint64_t size;

	if (n->status != ST_NONE || n->pn.kind != PN_PART)
		return NULL;
	/* the last attempt's failure: none once the part is made (by a later
	 * attempt, or by another process) */
	if (strcmp(name, "user.partsfs.error") == 0)
		return is_made(n) && part_cached(fs, lib, &n->pn, ino,
		    &size) == 1 ? NULL : jobs_error_for(fs->core->jobs, path);
	if (strcmp(name, "user.partsfs.cached") == 0)
		return xstrdup(!is_made(n) ? "yes" :
		    part_cached(fs, lib, &n->pn, ino, &size) == 1 ? "yes" :
		    "no");
	if ((j = describe_part(&n->pn, NULL)) == NULL)
		return NULL;
	if (strcmp(name, "user.partsfs.label") == 0)
		s = xstrdup(json_string_value(json_object_get(json_object_get(j,
		    "label"), "nice")));
	else if (strcmp(name, "user.partsfs.params") == 0)
		s = json_dumps(json_object_get(j, "params"), JSON_COMPACT |
		    JSON_REAL_PRECISION(17));
	else if (strcmp(name, "user.partsfs.standard") == 0) {
		v = json_object_get(j, "standard");
		s = xstrdup(json_is_object(v) ? json_string_value(
		    json_object_get(v, "nice")) : "");
	} else if (strcmp(name, "user.partsfs.license") == 0)
		s = xstrdup(json_string_value(json_object_get(j, "license")));
	json_decref(j);
	return s;
}

static void
op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fs *fs = fs_of(req);
	struct library *lib;
	struct fnode n;
	char *path, *v;
	size_t len;

	/*
	 * Only user attributes exist here. Saying the other namespaces are
	 * not supported (rather than empty) lets ls -l stop asking every file
	 * for its security label and ACL after the first one.
	 */
	if (!str_has_prefix(name, "user.")) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (!str_has_prefix(name, "user.partsfs.")) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	if (!node_of(req, ino, &lib, &n, &path))
		return;
	v = xattr_value(fs, lib, &n, ino, path, name);
	if (v == NULL)
		fuse_reply_err(req, ENODATA);
	else if (size == 0)
		fuse_reply_xattr(req, strlen(v));
	else if ((len = strlen(v)) > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, v, len);
	free(v);
	fnode_clear(&n);
	library_unref(lib);
	free(path);
}

static void
op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct library *lib;
	struct fnode n;
	struct buf b = BUF_INIT;
	char *path;

	if (!node_of(req, ino, &lib, &n, &path))
		return;
	if (n.status == ST_NONE && n.pn.kind == PN_PART) {
		for (size_t i = 0; i < PF_ARRAY_LEN(xattr_names); i++)
			buf_add(&b, xattr_names[i], strlen(xattr_names[i]) + 1);
	}
	if (size == 0)
		fuse_reply_xattr(req, b.len);
	else if (b.len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, b.p, b.len);
	buf_free(&b);
	fnode_clear(&n);
	library_unref(lib);
	free(path);
}

static void
op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fs_of(req);
	struct cache_stats cs = { 0 };
	struct statvfs sv;
	uint64_t used;

	(void)ino;
	cache_stats(fs->core->cache, &cs);
	memset(&sv, 0, sizeof sv);
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_blocks = cs.max_bytes / 4096;
	used = cs.bytes + cs.index_bytes;
	sv.f_bfree = cs.max_bytes > used ? (cs.max_bytes - used) / 4096 : 0;
	sv.f_bavail = sv.f_bfree;
	sv.f_files = inodes_count(fs->inodes);
	sv.f_namemax = 255;
	sv.f_flag = ST_RDONLY;
	fuse_reply_statfs(req, &sv);
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

static void
op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;

	the_fs = fs;
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

const struct fuse_lowlevel_ops fs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.open = op_open,
	.read = op_read,
	.release = op_release,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
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
