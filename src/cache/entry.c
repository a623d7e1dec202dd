/* entry.c -- the entries of the cache as they are read: lookup, blob paths,
 * blobs open in use, last use, negative entries (failures) and pins. */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partsfs/cache/entry.h"
#include "partsfs/util/format.h"
#include "partsfs/util/util.h"
#include "sqlite-lazy.h"
#include "internal.h"

/* `used` is only rewritten when it is older than this, so reading a part
 * does not write to the index every time. */
#define USED_SLACK 60.0

/* Entries. */

char *
cache_blob_path_in(const char *dir, const struct cache_key *key,
    enum format fmt)
{
	return blob_path_in(dir, key->hex, fmt);
}

char *
cache_blob_path(const struct cache *c, const struct cache_key *key,
    enum format fmt)
{
	return blob_path(c, key->hex, fmt);
}

/* What the index says about a key. */
struct found {
	int fmt;
	uint64_t size;
	double used;
	double created;
};

/* The row of a key: SQLITE_ROW with `f` filled, SQLITE_DONE when there is
 * none, or an error. */
static int
lookup_row(struct cache *c, const char *hex, struct found *f)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(c, S_LOOKUP)) == NULL)
		return sqlite3_extended_errcode(c->db);
	sqlite3_bind_text(s, 1, hex, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		f->fmt = fmt_parse((const char *)sqlite3_column_text(s, 0));
		f->size = (uint64_t)sqlite3_column_int64(s, 1);
		f->used = sqlite3_column_double(s, 2);
		f->created = sqlite3_column_double(s, 3);
	}
	stmt_done(s);
	return rc;
}

/* Mark a key used at `now`, not waiting for another process's write:
 * failing to note the use only ages the entry.  An sqlite code. */
static int
touch_row(struct cache *c, const char *hex, double now)
{
	int rc;

	sqlite3_busy_timeout(c->db, 0);
	rc = db_run_key(c, S_TOUCH, hex, now);
	sqlite3_busy_timeout(c->db, BUSY_MS);
	return rc;
}

int
cache_lookup(struct cache *c, const struct cache_key *key,
    struct cache_entry *out)
{
	struct found f = { .fmt = -1 };
	struct stat st;
	double now;
	char *path = NULL;
	int rc, r = 0, tries = 0;

	out->path = NULL;
	if (!cache_key_valid(key))
		return -EINVAL;
	pthread_mutex_lock(&c->lock);
	if (!db_ready(c, false)) {
		r = -EIO;
		goto out;
	}
	do
		rc = lookup_row(c, key->hex, &f);
	while (rc != SQLITE_ROW && rc != SQLITE_DONE &&
	    index_retry(c, rc, &tries));
	if (rc != SQLITE_ROW) {
		if (rc != SQLITE_DONE)
			r = -db_errno(c->db, rc);
		goto out;
	}

	if (f.fmt >= 0) {
		path = blob_path(c, key->hex, f.fmt);
		if (stat(path, &st) == -1) {
			if (errno != ENOENT && errno != ENOTDIR) {
				r = -errno;
				goto out;
			}
		} else if (S_ISREG(st.st_mode) &&
		    (uint64_t)st.st_size == f.size) {
			now = wall_now();
			if (now - f.used > USED_SLACK) {
				do
					rc = touch_row(c, key->hex, now);
				while (rc != SQLITE_OK &&
				    index_retry(c, rc, &tries));
			}
			out->path = path;
			out->size = f.size;
			out->fmt = f.fmt;
			path = NULL;
			r = 1;
			goto out;
		}
	}
	/* The blob is gone or damaged: so is the entry. */
	do
		rc = db_run_key(c, S_DROP, key->hex, f.created);
	while (rc != SQLITE_OK && index_retry(c, rc, &tries));
	if (rc != SQLITE_OK)
		r = -db_errno(c->db, rc);
out:
	pthread_mutex_unlock(&c->lock);
	free(path);
	return r;
}

void
cache_entry_clear(struct cache_entry *e)
{
	free(e->path);
	e->path = NULL;
}

/*
 * Blobs in use.  A reader holds a shared flock on its blob's descriptor
 * (cache_blob_open) for as long as it reads; eviction removes a blob only
 * after taking an exclusive one without waiting, so a part being read by
 * any process sharing the cache is not evicted (the pins of cache_pin say
 * the same within a process, before the blob is even opened).  A reader
 * that opened the file just as it was removed finds it unlinked once it
 * has its lock, and takes it as gone.
 */
int
cache_blob_open(const char *path, struct stat *stp)
{
	struct stat st;
	int fd, err;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (flock(fd, LOCK_SH) == -1) {
		if (errno != EINTR) {
			err = errno;
			close(fd);
			errno = err;
			return -1;
		}
	}
	if (fstat(fd, &st) == -1 || st.st_nlink == 0) {
		close(fd);
		errno = ENOENT;
		return -1;
	}
	if (stp != NULL)
		*stp = st;
	return fd;
}

void
cache_touch(struct cache *c, const struct cache_key *key)
{
	int rc, tries = 0;

	if (!cache_key_valid(key))
		return;
	pthread_mutex_lock(&c->lock);
	if (db_ready(c, false)) {
		do
			rc = touch_row(c, key->hex, wall_now());
		while (rc != SQLITE_OK && index_retry(c, rc, &tries));
	}
	pthread_mutex_unlock(&c->lock);
}

/* Failures. */

/* Remember a failure (a timeout with its limit, else NULL).  An sqlite
 * code. */
static int
fail_row(struct cache *c, const char *hex, const char *message,
    double timeout)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(c, S_FAIL)) == NULL)
		return sqlite3_extended_errcode(c->db);
	sqlite3_bind_text(s, 1, hex, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, message != NULL ? message : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_double(s, 3, wall_now() + c->negative_ttl);
	if (timeout > 0)
		sqlite3_bind_double(s, 4, timeout);
	else
		sqlite3_bind_null(s, 4);
	rc = sqlite3_step(s);
	stmt_done(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

void
cache_fail(struct cache *c, const struct cache_key *key, const char *message,
    double timeout)
{
	int rc, tries = 0;

	if (!cache_key_valid(key) || !(c->negative_ttl > 0))
		return;
	pthread_mutex_lock(&c->lock);
	/* Not remembering a failure only means trying again. */
	if (db_ready(c, true)) {
		do
			rc = fail_row(c, key->hex, message, timeout);
		while (rc != SQLITE_OK && index_retry(c, rc, &tries));
	}
	pthread_mutex_unlock(&c->lock);
}

/* An unexpired failure of a key that holds under the time limit
 * `timeout`: SQLITE_ROW with the message in *message (when not NULL),
 * SQLITE_DONE, or an error. */
static int
failed_row(struct cache *c, const char *hex, double timeout, char **message)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(c, S_FAILED)) == NULL)
		return sqlite3_extended_errcode(c->db);
	sqlite3_bind_text(s, 1, hex, -1, SQLITE_STATIC);
	sqlite3_bind_double(s, 2, wall_now());
	sqlite3_bind_double(s, 3, timeout);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW && message != NULL) {
		const char *m = (const char *)sqlite3_column_text(s, 0);
		*message = xstrdup(m != NULL ? m : "");
	}
	stmt_done(s);
	return rc;
}

int
cache_failed(struct cache *c, const struct cache_key *key, double timeout,
    char **message)
{
	int rc = SQLITE_DONE, tries = 0;

	if (message != NULL)
		*message = NULL;
	if (!cache_key_valid(key))
		return 0;
	pthread_mutex_lock(&c->lock);
	if (db_ready(c, false)) {
		do
			rc = failed_row(c, key->hex, timeout, message);
		while (rc != SQLITE_ROW && rc != SQLITE_DONE &&
		    index_retry(c, rc, &tries));
	}
	pthread_mutex_unlock(&c->lock);
	return rc == SQLITE_ROW;
}

/* Pins. */

struct pin *
pin_find(struct cache *c, const char *hex)
{
	for (size_t i = 0; i < c->npins; i++) {
		if (memcmp(c->pins[i].key.hex, hex, CACHE_KEY_LEN) == 0)
			return &c->pins[i];
	}
	return NULL;
}

void
cache_pin(struct cache *c, const struct cache_key *key)
{
	struct pin *p;

	pthread_mutex_lock(&c->lock);
	if ((p = pin_find(c, key->hex)) == NULL) {
		if (c->npins == c->pinscap) {
			c->pinscap = c->pinscap ? c->pinscap * 2 : 16;
			c->pins = xreallocarray(c->pins, c->pinscap,
			    sizeof *c->pins);
		}
		p = &c->pins[c->npins++];
		p->key = *key;
		p->n = 0;
	}
	p->n++;
	pthread_mutex_unlock(&c->lock);
}

void
cache_unpin(struct cache *c, const struct cache_key *key)
{
	struct pin *p;

	pthread_mutex_lock(&c->lock);
	if ((p = pin_find(c, key->hex)) != NULL && --p->n == 0)
		*p = c->pins[--c->npins];
	pthread_mutex_unlock(&c->lock);
}
