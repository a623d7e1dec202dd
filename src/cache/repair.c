/* repair.c -- keeping the index and the files in agreement: reconciling at
 * open, reaping what dead processes left, renewing a damaged index. */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partsfs/util/format.h"
#include "partsfs/util/log.h"
#include "partsfs/util/util.h"
#include "sqlite-lazy.h"
#include "internal.h"

/* A blob without a row is left alone this long: another process may be
 * between its rename and its insert.  Publishing stamps the blob's mtime,
 * so the age counts from the rename. */
#define ORPHAN_AGE 60.0

/* A scratch directory of a process without a lock file is being set up
 * (or was half removed): left alone this long. */
#define PROC_AGE 60.0

/* The full check of the blobs against the index (a directory walk and a
 * stat per blob: milliseconds on a big cache) runs at most this often,
 * unless a re-index is pending or a dead process's scratch space shows a
 * crash.  Lookups check every blob they serve in between, and a crash can
 * only leave complete, unindexed blobs behind. */
#define WALK_INTERVAL 3600.0

/* After the index could not be opened again while in use, the next try
 * waits this long: every lookup would otherwise try, and log. */
#define REOPEN_INTERVAL 5.0

/* Repairs at open. */

static int
row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->key.hex,
	    ((const struct row *)b)->key.hex);
}

struct scan {
	struct cache *c;
	struct row *rows;            /* sorted by key */
	size_t nrows;
	struct row *found;           /* blobs to index */
	size_t nfound;
	size_t foundcap;
	bool reindex;
	double now;
	int err;                     /* of a failed commit, with its */
	struct buf msg;              /* message */
};

/* Read every row.  An sqlite code. */
int
rows_load(struct cache *c, struct row **out, size_t *nout, bool want_sha)
{
	struct row *rows = NULL, *r;
	size_t n = 0, cap = 0;
	sqlite3_stmt *s;
	int rc;

	*out = NULL;
	*nout = 0;
	if ((s = stmt(c, S_ROWS)) == NULL)
		return sqlite3_extended_errcode(c->db);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			rows = xreallocarray(rows, cap, sizeof *rows);
		}
		r = &rows[n];
		memset(r, 0, sizeof *r);
		/* A key that is not one cannot name a blob: left out, and
		 * so never seen and dropped. */
		if (!key_parse((const char *)sqlite3_column_text(s, 0),
		    (size_t)sqlite3_column_bytes(s, 0), &r->key))
			continue;
		r->fmt = fmt_parse((const char *)sqlite3_column_text(s, 1));
		r->size = (uint64_t)sqlite3_column_int64(s, 2);
		r->created = sqlite3_column_double(s, 3);
		if (want_sha) {
			const char *sha;

			sha = (const char *)sqlite3_column_text(s, 4);
			snprintf(r->sha, sizeof r->sha, "%s", sha ? sha : "");
		}
		n++;
	}
	stmt_done(s);
	if (rc != SQLITE_DONE) {
		free(rows);
		return rc;
	}
	*out = rows;
	*nout = n;
	return SQLITE_OK;
}

/* A blob without a row while re-indexing: kept and indexed when it is a
 * plausible file of its format, else removed. */
static void
scan_reindex(struct scan *s, int dfd, const char *sub, const char *name,
    const struct cache_key *key, int fmt, const struct stat *st)
{
	char *path = xasprintf("%s/blobs/%s/%s", s->c->dir, sub, name);
	struct row *r;
	uint64_t n;
	int fd, r2;

	/* Only a file that was read and is wrong goes. */
	if ((r2 = format_check_file(fmt, path, NULL)) != 0) {
		if (r2 == -EBADMSG)
			unlinkat(dfd, name, 0);
		free(path);
		return;
	}
	free(path);
	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return;
	if (s->nfound == s->foundcap) {
		s->foundcap = s->foundcap ? s->foundcap * 2 : 64;
		s->found = xreallocarray(s->found, s->foundcap,
		    sizeof *s->found);
	}
	r = &s->found[s->nfound];
	memset(r, 0, sizeof *r);
	if (sha256_fd(fd, r->sha, &n) == 0 && n == (uint64_t)st->st_size) {
		r->key = *key;
		r->fmt = fmt;
		r->size = n;
		r->created = mtime_of(st);
		s->nfound++;
	}
	close(fd);
}

/* One blobs/<xx> directory: mark the rows whose blob is there with its
 * size, remove what is not a blob's name, and remove (or re-index) blobs
 * without a row. */
static int
scan_sub(struct scan *s, int parent, const char *sub, struct perr *e)
{
	struct cache_key key;
	struct dirent *de;
	struct stat st;
	struct row *r, probe;
	DIR *d;
	int fd, fmt, err = 0;

	fd = openat(parent, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOTDIR || errno == ELOOP) {
			remove_tree_at(parent, sub);
			return 0;
		}
		if (errno == ENOENT)
			return 0;
		return perr_set(e, errno, "cannot read %s/blobs/%s: %s",
		    s->c->dir, sub, strerror(errno));
	}
	if ((d = fdopendir(fd)) == NULL) {
		err = errno;
		close(fd);
		return perr_set(e, err, "cannot read %s/blobs/%s: %s",
		    s->c->dir, sub, strerror(err));
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			err = errno;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		fmt = blob_name(de->d_name, &key);
		if (fmt < 0 || memcmp(key.hex, sub, 2) != 0) {
			remove_tree_at(fd, de->d_name);
			continue;
		}
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;  /* gone meanwhile, or not ours to judge */
		if (!S_ISREG(st.st_mode)) {
			remove_tree_at(fd, de->d_name);
			continue;
		}
		probe.key = key;
		r = s->nrows == 0 ? NULL : bsearch(&probe, s->rows, s->nrows,
		    sizeof *s->rows, row_cmp);
		if (r != NULL && r->fmt == fmt &&
		    r->size == (uint64_t)st.st_size) {
			r->seen = true;
			continue;
		}
		/* No row (or one for another size, which goes): re-indexed,
		 * or removed once it is old enough not to be another
		 * process's publishing under way. */
		if (s->reindex)
			scan_reindex(s, fd, sub, de->d_name, &key, fmt, &st);
		else if (s->now - mtime_of(&st) > ORPHAN_AGE)
			unlinkat(fd, de->d_name, 0);
	}
	closedir(d);
	if (err != 0)
		return perr_set(e, err, "cannot read %s/blobs/%s: %s",
		    s->c->dir, sub, strerror(err));
	return 0;
}

/* Walk blobs/: one readdir per directory and one fstatat per file. */
static int
scan_blobs(struct scan *s, struct perr *e)
{
	char *path = xasprintf("%s/blobs", s->c->dir);
	struct dirent *de;
	const char *n;
	DIR *d;
	int r = 0, err;

	if ((d = opendir(path)) == NULL) {
		err = errno;
		r = perr_set(e, err, "cannot read %s: %s", path, strerror(err));
		free(path);
		return r;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if ((err = errno) != 0)
				r = perr_set(e, err, "cannot read %s: %s",
				    path, strerror(err));
			break;
		}
		n = de->d_name;
		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		if (is_hex(n[0]) && is_hex(n[1]) && n[2] == '\0') {
			if ((r = scan_sub(s, dirfd(d), n, e)) != 0)
				break;
		} else
			remove_tree_at(dirfd(d), n);
	}
	closedir(d);
	free(path);
	return r;
}

/* Write what the scan found: drop the rows without their blob, index the
 * blobs found when re-indexing, drop expired failures.  One transaction,
 * and none when there is nothing to write.  An sqlite code. */
static int
scan_commit(struct scan *s)
{
	struct cache *c = s->c;
	sqlite3_stmt *st;
	bool any = s->reindex || s->nfound != 0, expired = false;
	int rc;

	for (size_t i = 0; i < s->nrows && !any; i++)
		any = !s->rows[i].seen;
	if ((st = stmt(c, S_ANY_EXPIRED)) == NULL)
		rc = sqlite3_extended_errcode(c->db);
	else {
		sqlite3_bind_double(st, 1, s->now);
		rc = sqlite3_step(st);
		stmt_done(st);
	}
	if (rc == SQLITE_ROW)
		expired = true;
	else if (rc != SQLITE_DONE) {
		s->err = db_abort(c, rc, &s->msg);
		return rc;
	}
	rc = db_run(c, S_BEGIN);
	for (size_t i = 0; i < s->nrows && rc == SQLITE_OK; i++) {
		if (!s->rows[i].seen)
			rc = db_run_key(c, S_DROP, s->rows[i].key.hex,
			    s->rows[i].created);
	}
	for (size_t i = 0; i < s->nfound && rc == SQLITE_OK; i++) {
		struct row *r = &s->found[i];

		if ((st = stmt(c, S_REINDEX)) == NULL) {
			rc = sqlite3_extended_errcode(c->db);
			break;
		}
		sqlite3_bind_text(st, 1, r->key.hex, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, format_ext(r->fmt), -1,
		    SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)r->size);
		sqlite3_bind_text(st, 4, r->sha, -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 5, r->created);
		rc = sqlite3_step(st);
		stmt_done(st);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	if (rc == SQLITE_OK && s->reindex)
		rc = db_run(c, S_REINDEXED);
	if (rc == SQLITE_OK && expired)
		rc = db_run_time(c, S_EXPIRE, s->now);
	if (rc == SQLITE_OK)
		rc = db_run_time(c, S_WALKED, s->now);
	if (rc == SQLITE_OK)
		rc = db_run(c, S_COMMIT);
	if (rc != SQLITE_OK)
		s->err = db_abort(c, rc, &s->msg);
	return rc;
}

/*
 * Bring the index and the blobs into agreement, after a quick check of the
 * index itself.  INDEX_OK, INDEX_DAMAGED or -errno.  With `unlock`, the
 * mutex (held by the caller) is let go while the blobs are read and
 * hashed, so that other threads go on using the cache: what they publish
 * meanwhile is neither dropped nor overwritten (rows are only dropped as
 * they were read, blobs only indexed where there is no row).
 */
int
index_reconcile(struct cache *c, bool reindex, bool unlock,
    size_t *nreindexed, struct buf *why, struct perr *e)
{
	struct scan s;
	int rc, r;

	if ((r = index_quick_check(c, why, e)) != INDEX_OK)
		return r;
	memset(&s, 0, sizeof s);
	s.c = c;
	s.reindex = reindex;
	s.now = wall_now();
	if ((rc = rows_load(c, &s.rows, &s.nrows, false)) != SQLITE_OK) {
		if ((rc & 0xff) == SQLITE_ERROR) {
			buf_adds(why, sqlite3_errmsg(c->db));
			return INDEX_DAMAGED;
		}
		return index_error(c, rc, why, e);
	}
	if (s.nrows != 0)
		qsort(s.rows, s.nrows, sizeof *s.rows, row_cmp);
	if (unlock)
		pthread_mutex_unlock(&c->lock);
	r = scan_blobs(&s, e);
	if (unlock)
		pthread_mutex_lock(&c->lock);
	if (r == 0) {
		if ((rc = scan_commit(&s)) == SQLITE_OK)
			*nreindexed = s.nfound;
		else if (rc_damage(rc)) {
			buf_adds(why, buf_str(&s.msg));
			r = INDEX_DAMAGED;
		} else
			r = perr_set(e, -s.err, "cannot update the cache index "
			    "%s: %s", c->index, buf_str(&s.msg));
	}
	free(s.rows);
	free(s.found);
	buf_free(&s.msg);
	return r;
}

/*
 * Remove a per-key lock file (tmp/key-<key>.lock, the lock on making a
 * part across processes of partsfs before job.c's tmp/keys.lock, which an
 * older partsfs sharing the cache may still make) that nobody holds: its
 * holder was killed before it could remove it.  As a holder does, it is
 * unlinked while locked; one that is held is left alone, and so is a
 * name that was meanwhile given to a new file.
 */
static void
key_lock_reap(int dfd, const char *name)
{
	struct stat a, b;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1)
		return;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &a) == 0 &&
	    S_ISREG(a.st_mode) && fstatat(dfd, name, &b,
	    AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		unlinkat(dfd, name, 0);
	close(fd);
}

/* Remove the scratch space of processes that are gone: their lock file
 * can be locked; and lock files of keys that nobody holds.  Best effort:
 * what cannot be removed now is tried again at the next open. */
bool
proc_reap(struct cache *c)
{
	const char *own = c->proc != NULL ? strrchr(c->proc, '/') + 1 : "";
	char *tmp = xasprintf("%s/tmp", c->dir), *lock;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	bool reaped = false;

	if ((d = opendir(tmp)) == NULL) {
		free(tmp);
		return false;
	}
	while ((de = readdir(d)) != NULL) {
		if (str_has_prefix(de->d_name, "key-") &&
		    str_has_suffix(de->d_name, ".lock")) {
			key_lock_reap(dirfd(d), de->d_name);
			continue;
		}
		if (!str_has_prefix(de->d_name, "proc-") ||
		    strcmp(de->d_name, own) == 0)
			continue;
		lock = xasprintf("%s/lock", de->d_name);
		fd = openat(dirfd(d), lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		free(lock);
		if (fd == -1) {
			if (errno == ENOENT && fstatat(dirfd(d), de->d_name,
			    &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISDIR(st.st_mode) &&
			    wall_now() - mtime_of(&st) > PROC_AGE) {
				remove_tree_at(dirfd(d), de->d_name);
				reaped = true;
			}
			continue;
		}
		/* Removed while locked, so that its owner, if it was just
		 * being set up, sees its lock file gone and starts again. */
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			remove_tree_at(dirfd(d), de->d_name);
			reaped = true;
		}
		close(fd);
	}
	closedir(d);
	free(tmp);
	return reaped;
}

/* Take the lock on the cache directory that the index is replaced under;
 * -1 when it cannot be had (then the repair goes on without it: two
 * processes may both set an index aside, and one of them then works on a
 * file the others no longer see, until it notices). */
static int
dir_lock(struct cache *c)
{
	int fd;

	if ((fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	while (flock(fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

/*
 * Open the index and reconcile it with the files.  A damaged index is
 * first checked again under a lock on the cache directory (another process
 * may have replaced it meanwhile), then set aside; the new one is filled
 * from the blobs on disk.
 */
int
cache_open_index(struct cache *c, bool walk, struct perr *e)
{
	struct buf why = BUF_INIT, note = BUF_INIT;
	size_t nreindexed = 0;
	bool reindex = false, rechecked = false, setaside = false;
	int lockfd = -1, r = -EIO;

	for (int attempt = 0; attempt < 4; attempt++) {
		buf_reset(&why);
		r = index_open(c, &reindex, &why, e);
		if (r == INDEX_OK && (walk || reindex ||
		    wall_now() - c->walked > WALK_INTERVAL))
			r = index_reconcile(c, reindex, false, &nreindexed,
			    &why, e);
		if (r != INDEX_DAMAGED)
			break;
		db_close(c);
		if (!rechecked) {
			lockfd = dir_lock(c);
			rechecked = true;
			continue;
		}
		if (setaside) {
			r = perr_set(e, EIO, "the new cache index %s is "
			    "damaged too: %s", c->index, buf_str(&why));
			break;
		}
		buf_printf(&note, "the cache index %s was damaged (%s)",
		    c->index, buf_str(&why));
		if ((r = index_set_aside(c, &note, e)) != 0)
			break;
		setaside = true;
	}
	if (lockfd != -1)
		close(lockfd);
	if (r == INDEX_DAMAGED)
		r = perr_set(e, EIO, "the cache index %s is damaged: %s",
		    c->index, buf_str(&why));
	/* A successful open can still have something to say: to the
	 * caller, and to the log, as nobody may be there to read it. */
	if (r == 0 && setaside) {
		log_warning("%s; %zu parts re-indexed from the blobs",
		    buf_str(&note), nreindexed);
		if (e != NULL)
			snprintf(e->msg, sizeof e->msg, "%s; %zu parts "
			    "re-indexed from the blobs", buf_str(&note),
			    nreindexed);
	}
	buf_free(&why);
	buf_free(&note);
	return r;
}

/* Repairs while the cache is in use. */

/*
 * Open the index again while the cache is in use, with the mutex held:
 * after a statement reported `damage`, or (`damage` NULL) after an earlier
 * attempt left no index open or another process replaced it.  Under the
 * lock on the cache directory, a damaged index that is still the one in
 * place is set aside (another process may have done that already), and
 * the index in place, or a new one, is opened; a new one is filled from
 * the blobs on disk, with the mutex let go while they are hashed, so that
 * the other threads go on (and miss).  Threads that meet the damage
 * meanwhile wait for the end (index_retry).  0 with a note in `e` (code
 * 0) when an index was set aside, or -errno; either is logged.  c->db is
 * NULL when it failed.
 */
int
index_renew(struct cache *c, const char *damage, struct perr *e)
{
	struct buf why = BUF_INIT, note = BUF_INIT, what = BUF_INIT;
	size_t nreindexed = 0;
	bool reindex = false, bad, aside = false;
	int lockfd, r;

	perr_clear(e);
	c->repairing = true;
	/* Not waiting for another process's repair with the mutex held. */
	pthread_mutex_unlock(&c->lock);
	lockfd = dir_lock(c);
	pthread_mutex_lock(&c->lock);
	bad = damage != NULL && c->db != NULL && !index_moved(c);
	buf_adds(&what, damage != NULL ? damage : "");
	for (;;) {
		db_close(c);
		if (bad) {
			buf_reset(&note);
			buf_printf(&note, "the cache index %s was damaged (%s)",
			    c->index, buf_str(&what));
			if ((r = index_set_aside(c, &note, e)) != 0)
				break;
			aside = true;
		}
		buf_reset(&why);
		r = index_open(c, &reindex, &why, e);
		if (r == INDEX_OK && reindex)
			r = index_reconcile(c, true, true, &nreindexed, &why,
			    e);
		if (r != INDEX_DAMAGED || aside)
			break;
		/* the one in place is damaged too: it goes as well */
		bad = true;
		buf_reset(&what);
		buf_adds(&what, buf_str(&why));
	}
	if (r == INDEX_DAMAGED)
		r = perr_set(e, EIO, "the new cache index %s is damaged too: "
		    "%s", c->index, buf_str(&why));
	if (r != 0) {
		db_close(c);
		c->reopen_failed = wall_now();
		log_error("%s%s%s", buf_str(&note),
		    buf_str(&note)[0] != '\0' ? "; " : "",
		    e != NULL ? e->msg : "cannot open the cache index");
	} else if (aside) {
		log_warning("%s; %zu parts re-indexed from the blobs",
		    buf_str(&note), nreindexed);
		if (e != NULL)
			snprintf(e->msg, sizeof e->msg, "%s; %zu parts "
			    "re-indexed from the blobs", buf_str(&note),
			    nreindexed);
	}
	if (lockfd != -1)
		close(lockfd);
	c->repairing = false;
	pthread_cond_broadcast(&c->repaired);
	buf_free(&why);
	buf_free(&note);
	buf_free(&what);
	return r;
}

/*
 * Whether a statement that failed with `rc` is to be run again: when the
 * index reported damage to itself, and it has been replaced since (by
 * this thread, or by another one this thread waited for).  Once per
 * operation: `tries` counts.  Called with the mutex held.
 */
bool
index_retry(struct cache *c, int rc, int *tries)
{
	struct perr e;

	if (!rc_damage(rc) || (*tries)++ != 0)
		return false;
	if (c->repairing) {
		while (c->repairing)
			pthread_cond_wait(&c->repaired, &c->lock);
	} else
		index_renew(c, sqlite3_errstr(rc), &e);
	return c->db != NULL;
}

/*
 * Is the index open, and the one in place?  Opened again when an earlier
 * repair failed, or when another process set the one we have aside (what
 * is written must go where the others look).  Called with the mutex held
 * at the start of an operation; `follow` asks for the second check (a
 * stat), which writers make.
 */
bool
db_ready(struct cache *c, bool follow)
{
	struct perr e;

	if (c->repairing)
		return c->db != NULL;
	if (c->db == NULL) {
		if (wall_now() - c->reopen_failed >= REOPEN_INTERVAL)
			index_renew(c, NULL, &e);
	} else if (follow && index_moved(c))
		index_renew(c, NULL, &e);
	return c->db != NULL;
}
