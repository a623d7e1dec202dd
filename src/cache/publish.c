/* publish.c -- new entries: scratch space for the jobs that make parts,
 * and publishing what they made as a blob, indexed. */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partsfs/cache/publish.h"
#include "partsfs/util/format.h"
#include "partsfs/util/util.h"
#include "sqlite-lazy.h"
#include "internal.h"

/* Scratch space. */

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

/* Publishing. */

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
	/* Readable by whoever may read the cache, and written by no one:
	 * what is served is checked against its hash (cache_blob_check), and
	 * a blob that changed is made again.  The mtime says when it was
	 * placed (blobs without a row are spared by age); on disk before the
	 * rename makes it visible. */
	if (fchmod(fd, 0444) == -1 || futimens(fd, NULL) == -1 ||
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
		memcpy(out->sha256, sha, sizeof out->sha256);
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
