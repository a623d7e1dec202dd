/* maint.c -- looking after the cache: statistics, pruning, clearing,
 * verifying and checking it, and removing its parts without opening it. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partsfs/cache/maint.h"
#include "partsfs/util/util.h"
#include "sqlite-lazy.h"
#include "internal.h"

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
	st->failures_max = c->failures_max;
	pthread_mutex_lock(&c->vlock);
	st->hashed = c->hashed;
	pthread_mutex_unlock(&c->vlock);
	pthread_mutex_lock(&c->lock);
	st->pinned = c->npins;
	st->set_aside = c->set_aside;
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
	char *damaged;
	int rc;

	/* The files go while the write lock is held, so no other process
	 * indexes anything in between. */
	if ((rc = db_run(c, S_BEGIN)) == SQLITE_OK &&
	    (rc = db_run(c, S_CLEAR_PARTS)) == SQLITE_OK &&
	    (rc = db_run(c, S_CLEAR_FAILURES)) == SQLITE_OK) {
		clear_blobs(c);
		memo_files_remove(c);
		damaged = damaged_dir(c);
		empty_dir_at(AT_FDCWD, damaged);
		free(damaged);
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
	if ((r2 = empty_dir_at(fd, "damaged")) != 0 && r == 0)
		r = r2;
	close(fd);
	return r;
}
