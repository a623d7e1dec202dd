/* cache.c -- the persistent cache of made parts: keys (SHA-256), blobs named
 * by key, the shared sqlite index, publishing, eviction and repairs. */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "partsfs/cache/cache.h"
#include "partsfs/util/format.h"
#include "partsfs/util/log.h"
#include "partsfs/util/util.h"
#include "sqlite-lazy.h"
#include "internal.h"

/* The allocation unit assumed when the file system does not say. */
#define BLOCK_SIZE 4096

/* Files and directories. */

static int
mkdir_p(const char *path, mode_t mode)
{
	char *p = xstrdup(path), *s, ch;
	struct stat st;
	int r = 0;

	for (s = p + 1; r == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		ch = *s;
		*s = '\0';
		if (mkdir(p, mode) == -1 && errno != EEXIST)
			r = -errno;
		*s = ch;
		if (ch == '\0')
			break;
	}
	if (r == 0 && stat(path, &st) == -1)
		r = -errno;
	else if (r == 0 && !S_ISDIR(st.st_mode))
		r = -ENOTDIR;
	free(p);
	return r;
}

int
cache_remove_parts(const char *dir)
{
	int fd, r, r2;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	r = empty_dir_at(fd, "blobs");
	if ((r2 = empty_dir_at(fd, "memo")) != 0 && r == 0)
		r = r2;
	close(fd);
	return r;
}

/* Make our scratch directory and hold its lock file. */
static int
proc_make(struct cache *c, struct perr *e)
{
	struct stat a, b;
	char *dir, *lock;
	int fd, err;

	for (int tries = 0; tries < 8; tries++) {
		dir = xasprintf("%s/tmp/proc-XXXXXX", c->dir);
		if (mkdtemp(dir) == NULL) {
			err = errno;
			free(dir);
			return perr_set(e, err, "cannot create scratch space "
			    "in %s/tmp: %s", c->dir, strerror(err));
		}
		lock = xasprintf("%s/lock", dir);
		fd = open(lock, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd != -1 && flock(fd, LOCK_EX) == -1) {
			err = errno;
			perr_set(e, err, "cannot lock %s: %s", lock,
			    strerror(err));
			close(fd);
			remove_tree_at(AT_FDCWD, dir);
			free(lock);
			free(dir);
			return -err;
		}
		/* A process reaping dead scratch space may have locked the
		 * file before us and removed the directory: start again. */
		if (fd != -1 && stat(lock, &a) == 0 && fstat(fd, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			free(lock);
			c->proc = dir;
			c->procfd = fd;
			return 0;
		}
		err = errno;
		if (fd != -1)
			close(fd);
		remove_tree_at(AT_FDCWD, dir);
		free(lock);
		free(dir);
		if (fd == -1 && err != ENOENT)
			return perr_set(e, err, "cannot create scratch space "
			    "in %s/tmp: %s", c->dir, strerror(err));
	}
	return perr_set(e, EAGAIN, "cannot create scratch space in %s/tmp: "
	    "it keeps being removed", c->dir);
}

int
cache_check(struct cache *c, struct perr *e)
{
	struct buf why = BUF_INIT;
	size_t n = 0;
	bool reindex = false;
	int r;

	perr_clear(e);
	pthread_mutex_lock(&c->lock);
	if (!db_ready(c, true)) {
		r = perr_set(e, EIO, "cannot open the cache index %s",
		    c->index);
		goto out;
	}
	/* A re-index left unfinished is finished: blobs without a row are
	 * then indexed, not removed. */
	r = index_meta(c, &reindex, &why, e);
	if (r == INDEX_OK)
		r = index_reconcile(c, reindex, false, &n, &why, e);
	if (r == INDEX_DAMAGED) {
		/* The note about it goes to the caller with e->code 0. */
		r = index_renew(c, buf_str(&why), e);
	}
out:
	pthread_mutex_unlock(&c->lock);
	buf_free(&why);
	return r;
}

struct cache *
cache_open(const char *dir, uint64_t max_bytes, double negative_ttl,
    struct perr *e)
{
	struct statvfs sv;
	struct cache *c;
	char *sub;
	size_t len;
	int r;

	perr_clear(e);
	if (dir == NULL || dir[0] != '/') {
		perr_set(e, EINVAL, "the cache directory must be an absolute "
		    "path: %s", dir != NULL ? dir : "(none)");
		return NULL;
	}
	if (sqlite_lazy_load(e) != 0)
		return NULL;
	c = xcalloc(1, sizeof *c);
	if ((r = pthread_mutex_init(&c->lock, NULL)) != 0) {
		perr_set(e, r, "cannot open the cache: %s", strerror(r));
		free(c);
		return NULL;
	}
	if ((r = pthread_cond_init(&c->repaired, NULL)) != 0) {
		perr_set(e, r, "cannot open the cache: %s", strerror(r));
		pthread_mutex_destroy(&c->lock);
		free(c);
		return NULL;
	}
	c->dir = xstrdup(dir);
	len = strlen(c->dir);
	while (len > 1 && c->dir[len - 1] == '/')
		c->dir[--len] = '\0';
	c->index = xasprintf("%s/index.sqlite", c->dir);
	c->procfd = -1;
	c->max_bytes = max_bytes;
	c->negative_ttl = negative_ttl;

	if ((r = mkdir_p(c->dir, 0755)) != 0) {
		perr_set(e, -r, "cannot create the cache directory %s: %s",
		    c->dir, strerror(-r));
		goto fail;
	}
	for (int i = 0; i < 2; i++) {
		sub = xasprintf("%s/%s", c->dir, i == 0 ? "blobs" : "tmp");
		if (mkdir(sub, 0755) == -1 && errno != EEXIST) {
			perr_set(e, errno, "cannot create %s: %s", sub,
			    strerror(errno));
			free(sub);
			goto fail;
		}
		free(sub);
	}
	/* What a blob takes on disk is counted in whole blocks. */
	if (statvfs(c->dir, &sv) == 0 && sv.f_frsize > 0 &&
	    sv.f_frsize <= 1 << 20)
		c->block = sv.f_frsize;
	else
		c->block = BLOCK_SIZE;
	/* a dead process's scratch space means a crash: check everything */
	if (cache_open_index(c, proc_reap(c), e) != 0)
		goto fail;
	return c;

fail:
	cache_close(c);
	return NULL;
}

void
cache_close(struct cache *c)
{
	if (c == NULL)
		return;
	db_close(c);
	/* Our scratch space, lock file included, is removed while the lock
	 * is still held. */
	if (c->proc != NULL)
		remove_tree_at(AT_FDCWD, c->proc);
	if (c->procfd != -1)
		close(c->procfd);
	pthread_cond_destroy(&c->repaired);
	pthread_mutex_destroy(&c->lock);
	free(c->pins);
	free(c->proc);
	free(c->index);
	free(c->dir);
	free(c);
}

const char *
cache_dir(const struct cache *c)
{
	return c->dir;
}

/* Index a placed blob: the row, no failure for the key.  An sqlite code,
 * with sqlite's message in `msg` on failure. */
static int
publish_index(struct cache *c, const struct cache_key *key, enum format fmt,
    uint64_t size, const char *sha, double now, const char *label,
    struct buf *msg)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = db_run(c, S_BEGIN)) != SQLITE_OK)
		goto fail;
	if ((s = stmt(c, S_INSERT)) == NULL) {
		rc = sqlite3_extended_errcode(c->db);
		goto fail;
	}
	sqlite3_bind_text(s, 1, key->hex, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, format_ext(fmt), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)size);
	sqlite3_bind_text(s, 4, sha, -1, SQLITE_STATIC);
	sqlite3_bind_double(s, 5, now);
	if (label != NULL)
		sqlite3_bind_text(s, 6, label, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	stmt_done(s);
	if (rc != SQLITE_DONE)
		goto fail;
	if ((rc = db_run_key(c, S_UNFAIL, key->hex, 0)) != SQLITE_OK ||
	    (rc = db_run(c, S_COMMIT)) != SQLITE_OK)
		goto fail;
	return SQLITE_OK;

fail:
	/* rolling back replaces the message */
	buf_reset(msg);
	buf_adds(msg, sqlite3_errmsg(c->db));
	db_rollback(c);
	return rc;
}

static int
publish_fail(struct perr *e, const struct cache_key *key, const char *step,
    int err)
{
	return perr_set(e, err, "publishing %s failed: %s: %s", key->hex, step,
	    strerror(err));
}

/* Rename `tmp` to the blob's `path`.  *fresh says whether no blob was
 * there before, so that removing the file again takes nothing away: a
 * blob already in place is whole and may be indexed.  0 or -errno. */
static int
blob_place(const char *tmp, const char *path, bool *fresh)
{
	struct stat st;

	*fresh = false;
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0) {
		*fresh = true;
		return 0;
	}
	if (errno == EINVAL || errno == ENOSYS) {
		/* a file system that cannot say: asked first */
		*fresh = lstat(path, &st) == -1 && errno == ENOENT;
	} else if (errno != EEXIST)
		return -errno;
	if (rename(tmp, path) == -1) {
		*fresh = false;
		return -errno;
	}
	return 0;
}

int
cache_publish(struct cache *c, const struct cache_key *key, enum format fmt,
    const char *tmp, const char *label, struct cache_entry *out,
    struct perr *e)
{
	return cache_publish_open(c, key, fmt, tmp, label, out, NULL, e);
}

int
cache_publish_open(struct cache *c, const struct cache_key *key,
    enum format fmt, const char *tmp, const char *label,
    struct cache_entry *out, int *fdp, struct perr *e)
{
	static const char *const reading = "reading the result";
	static const char *const writing = "writing to the cache";
	char sha[CACHE_KEY_LEN + 1], *sub = NULL, *path = NULL;
	struct buf msg = BUF_INIT;
	struct stat st;
	uint64_t n;
	bool placed = false, fresh = false;
	int fd = -1, r, rc, tries = 0, evicted = 0;

	if (out != NULL)
		out->path = NULL;
	if (tmp == NULL)
		return perr_set(e, EINVAL, "publishing failed: no file");
	if (!cache_key_valid(key) || (unsigned)fmt >= FMT__COUNT) {
		unlink(tmp);
		return perr_set(e, EINVAL, "publishing failed: not a cache key "
		    "or format");
	}
	if ((fd = open(tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		r = publish_fail(e, key, reading, errno);
		goto fail;
	}
	if (fstat(fd, &st) == -1) {
		r = publish_fail(e, key, reading, errno);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		r = perr_set(e, EINVAL, "publishing %s failed: %s is not a "
		    "regular file", key->hex, tmp);
		goto fail;
	}
	if ((r = sha256_fd(fd, sha, &n)) != 0) {
		r = publish_fail(e, key, reading, -r);
		goto fail;
	}
	/* Readable by whoever may read the cache; the mtime says when it was
	 * placed (blobs without a row are spared by age); on disk before the
	 * rename makes it visible. */
	if (fchmod(fd, 0644) == -1 || futimens(fd, NULL) == -1 ||
	    fsync(fd) == -1 || fstat(fd, &st) == -1) {
		r = publish_fail(e, key, writing, errno);
		goto fail;
	}
	if ((uint64_t)st.st_size != n) {
		r = perr_set(e, EAGAIN, "publishing %s failed: %s changed "
		    "while it was published", key->hex, tmp);
		goto fail;
	}
	sub = xasprintf("%s/blobs/%.2s", c->dir, key->hex);
	if (mkdir(sub, 0755) == -1 && errno != EEXIST) {
		r = publish_fail(e, key, writing, errno);
		goto fail;
	}
	path = blob_path(c, key->hex, fmt);
	/* in use from the moment it is visible (cache_blob_open) */
	if (fdp != NULL && (flock(fd, LOCK_SH) == -1 ||
	    lseek(fd, 0, SEEK_SET) == -1)) {
		r = publish_fail(e, key, reading, errno);
		goto fail;
	}
	if ((r = blob_place(tmp, path, &fresh)) != 0) {
		r = publish_fail(e, key, writing, -r);
		goto fail;
	}
	placed = true;
	/* The directories are not synced: should a crash lose the rename,
	 * the temporary file is an orphan the next start removes, and a row
	 * that made it to disk without its blob is dropped by the lookup
	 * that misses the blob.  The part is made again; nothing wrong is
	 * ever served. */

	pthread_mutex_lock(&c->lock);
	if (!db_ready(c, true)) {
		pthread_mutex_unlock(&c->lock);
		r = perr_set(e, EIO, "publishing %s failed: %s: the cache "
		    "index %s cannot be opened", key->hex, writing, c->index);
		goto fail;
	}
	do
		rc = publish_index(c, key, fmt, n, sha, wall_now(), label,
		    &msg);
	while (rc != SQLITE_OK && index_retry(c, rc, &tries));
	if (rc != SQLITE_OK) {
		r = -db_errno(c->db, rc);
		pthread_mutex_unlock(&c->lock);
		r = perr_set(e, -r, "publishing %s failed: %s: %s (index: %s)",
		    key->hex, writing, strerror(-r), buf_str(&msg));
		buf_free(&msg);
		goto fail;
	}
	buf_free(&msg);
	/* The part is published whatever eviction does; it is tried again
	 * with the next publish or prune. */
	do
		rc = evict(c, key, &evicted, NULL);
	while (rc != SQLITE_OK && index_retry(c, rc, &tries));
	pthread_mutex_unlock(&c->lock);

	if (fdp != NULL)
		*fdp = fd;
	else
		close(fd);
	free(sub);
	if (out != NULL) {
		out->path = path;
		out->size = n;
		out->fmt = fmt;
	} else
		free(path);
	perr_clear(e);
	return 0;

fail:
	if (fd != -1)
		close(fd);
	/* A blob that replaced another of its key stays: removing it would
	 * take away a good part, which a row may still describe. */
	if (!placed)
		unlink(tmp);
	else if (fresh)
		unlink(path);
	free(sub);
	free(path);
	return r;
}

char *
cache_scratch(struct cache *c, struct perr *e)
{
	char *dir;
	int r;

	/* Our scratch space is made when the first job needs it: a process
	 * that only reads the cache never makes one. */
	pthread_mutex_lock(&c->lock);
	r = c->proc == NULL ? proc_make(c, e) : 0;
	pthread_mutex_unlock(&c->lock);
	if (r != 0)
		return NULL;
	dir = xasprintf("%s/job-XXXXXX", c->proc);
	if (mkdtemp(dir) == NULL) {
		perr_set(e, errno, "cannot create a scratch directory in %s: "
		    "%s", c->proc, strerror(errno));
		free(dir);
		return NULL;
	}
	return dir;
}

void
cache_scratch_remove(const char *dir)
{
	if (dir != NULL)
		remove_tree_at(AT_FDCWD, dir);
}

/* Looking after the cache. */

/* The counts of cache_stats.  An sqlite code. */
static int
stats_rows(struct cache *c, struct cache_stats *st)
{
	sqlite3_stmt *s;
	uint64_t wal;
	int rc;

	if ((rc = blobs_total(c, &st->entries, &st->bytes)) != SQLITE_OK)
		return rc;
	st->index_bytes = index_disk(c, &wal);
	if ((s = stmt(c, S_NFAILED)) == NULL)
		return sqlite3_extended_errcode(c->db);
	sqlite3_bind_double(s, 1, wall_now());
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		st->failures = (uint64_t)sqlite3_column_int64(s, 0);
		rc = SQLITE_OK;
	}
	stmt_done(s);
	return rc;
}

int
cache_stats(struct cache *c, struct cache_stats *st)
{
	int rc, r = 0, tries = 0;

	memset(st, 0, sizeof *st);
	st->max_bytes = c->max_bytes;
	pthread_mutex_lock(&c->lock);
	st->pinned = c->npins;
	if (!db_ready(c, false))
		r = -EIO;
	else {
		do
			rc = stats_rows(c, st);
		while (rc != SQLITE_OK && index_retry(c, rc, &tries));
		if (rc != SQLITE_OK)
			r = -db_errno(c->db, rc);
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

int
cache_prune(struct cache *c, uint64_t *freed)
{
	uint64_t bytes = 0;
	int n = 0, rc, tries = 0;

	pthread_mutex_lock(&c->lock);
	if (!db_ready(c, true)) {
		pthread_mutex_unlock(&c->lock);
		return -EIO;
	}
	do {
		rc = evict(c, NULL, &n, &bytes);
		if (rc == SQLITE_OK)
			rc = db_run_time(c, S_EXPIRE, wall_now());
	} while (rc != SQLITE_OK && index_retry(c, rc, &tries));
	if (rc != SQLITE_OK)
		n = -db_errno(c->db, rc);
	pthread_mutex_unlock(&c->lock);
	if (freed != NULL)
		*freed = bytes;
	return n;
}

/* Remove every file under blobs/<xx>/, keeping the directories (another
 * process may be about to rename into one). */
static void
clear_blobs(struct cache *c)
{
	char *path = xasprintf("%s/blobs", c->dir);
	struct dirent *de, *de2;
	DIR *d, *sd;
	int fd;

	if ((d = opendir(path)) == NULL) {
		free(path);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;

		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		fd = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd == -1) {
			remove_tree_at(dirfd(d), n);
			continue;
		}
		if ((sd = fdopendir(fd)) == NULL) {
			close(fd);
			continue;
		}
		while ((de2 = readdir(sd)) != NULL) {
			if (strcmp(de2->d_name, ".") != 0 &&
			    strcmp(de2->d_name, "..") != 0)
				remove_tree_at(fd, de2->d_name);
		}
		closedir(sd);
	}
	closedir(d);
	free(path);
}

/* Empty the index and the blobs.  An sqlite code. */
static int
clear_all(struct cache *c)
{
	int rc;

	/* The files go while the write lock is held, so no other process
	 * indexes anything in between. */
	if ((rc = db_run(c, S_BEGIN)) == SQLITE_OK &&
	    (rc = db_run(c, S_CLEAR_PARTS)) == SQLITE_OK &&
	    (rc = db_run(c, S_CLEAR_FAILURES)) == SQLITE_OK) {
		clear_blobs(c);
		memo_files_remove(c);
		rc = db_run(c, S_COMMIT);
	}
	if (rc != SQLITE_OK)
		db_rollback(c);
	return rc;
}

int
cache_clear(struct cache *c)
{
	int rc, r = -EIO, tries = 0;

	pthread_mutex_lock(&c->lock);
	if (db_ready(c, true)) {
		do
			rc = clear_all(c);
		while (rc != SQLITE_OK && index_retry(c, rc, &tries));
		r = rc == SQLITE_OK ? 0 : -db_errno(c->db, rc);
		if (rc == SQLITE_OK)
			db_checkpoint(c);
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

/* Is the blob at path intact: its size and its hash? */
static bool
blob_intact(const char *path, const struct row *r)
{
	char sha[CACHE_KEY_LEN + 1];
	struct stat st;
	uint64_t n;
	bool ok;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return false;
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size == r->size && sha256_fd(fd, sha, &n) == 0 &&
	    n == r->size && strcmp(sha, r->sha) == 0;
	close(fd);
	return ok;
}

/* Drop the row of a damaged blob, unless the entry was published again
 * since it was read (and then its blob is not ours to remove).  An sqlite
 * code; *dropped says whether it was. */
static int
verify_drop(struct cache *c, const struct row *r, bool *dropped)
{
	int rc;

	*dropped = false;
	if ((rc = db_run(c, S_BEGIN)) != SQLITE_OK)
		return rc;
	if ((rc = db_run_key(c, S_DROP, r->key.hex, r->created)) ==
	    SQLITE_OK) {
		*dropped = sqlite3_changes(c->db) == 1;
		rc = db_run(c, S_COMMIT);
	}
	if (rc != SQLITE_OK) {
		*dropped = false;
		db_rollback(c);
	}
	return rc;
}

int
cache_verify(struct cache *c, uint64_t *checked, uint64_t *removed)
{
	uint64_t nchecked = 0, nremoved = 0;
	struct buf why = BUF_INIT;
	struct row *rows = NULL;
	struct perr e;
	size_t n = 0;
	bool dropped;
	int rc, r, tries = 0;

	/* The index itself first: a damaged one is replaced, and its
	 * entries are then the blobs found on disk. */
	pthread_mutex_lock(&c->lock);
	if (!db_ready(c, true)) {
		pthread_mutex_unlock(&c->lock);
		return -EIO;
	}
	if ((r = index_quick_check(c, &why, &e)) == INDEX_DAMAGED) {
		tries++;
		r = index_renew(c, buf_str(&why), &e);
	}
	buf_free(&why);
	if (r != 0) {
		pthread_mutex_unlock(&c->lock);
		return r;
	}
	do
		rc = rows_load(c, &rows, &n, true);
	while (rc != SQLITE_OK && index_retry(c, rc, &tries));
	if (rc != SQLITE_OK)
		r = -db_errno(c->db, rc);
	pthread_mutex_unlock(&c->lock);
	if (r != 0)
		return r;

	/* Hashing is done without the mutex: lookups go on meanwhile. */
	for (size_t i = 0; i < n; i++) {
		struct row *row = &rows[i];
		char *path = row->fmt >= 0 ? blob_path(c, row->key.hex,
		    row->fmt) : NULL;

		nchecked++;
		if (path != NULL && blob_intact(path, row)) {
			free(path);
			continue;
		}
		pthread_mutex_lock(&c->lock);
		if (db_ready(c, false)) {
			do
				rc = verify_drop(c, row, &dropped);
			while (rc != SQLITE_OK && index_retry(c, rc, &tries));
			if (dropped) {
				if (path != NULL)
					unlink(path);
				nremoved++;
			}
		}
		pthread_mutex_unlock(&c->lock);
		free(path);
	}
	free(rows);
	if (checked != NULL)
		*checked = nchecked;
	if (removed != NULL)
		*removed = nremoved;
	return 0;
}
