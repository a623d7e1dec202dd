/* evict.c -- eviction: the disk space of the cache, and removing the least
 * recently used entries, sparing pins and blobs in use, to stay in limit. */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partsfs/cache/memo.h"
#include "partsfs/util/util.h"
#include "sqlite-lazy.h"
#include "internal.h"

/* What `size` bytes take on disk: whole blocks. */
static uint64_t
disk_size(const struct cache *c, uint64_t size)
{
	return (size + c->block - 1) / c->block * c->block;
}

/* The disk space of the index files (the database, its WAL and its
 * shared memory), and of the WAL alone in *wal. */
uint64_t
index_disk(const struct cache *c, uint64_t *wal)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	struct stat st;
	uint64_t total = 0, n;
	char *path;

	*wal = 0;
	for (size_t i = 0; i < PF_ARRAY_LEN(suffix); i++) {
		path = xasprintf("%s%s", c->index, suffix[i]);
		if (stat(path, &st) == 0) {
			n = (uint64_t)st.st_blocks * 512;
			total += n;
			if (i == 1)
				*wal = n;
		}
		free(path);
	}
	return total;
}

/* The number of entries and the disk space of their blobs.  An sqlite
 * code. */
int
blobs_total(struct cache *c, uint64_t *entries, uint64_t *bytes)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(c, S_TOTAL)) == NULL)
		return sqlite3_extended_errcode(c->db);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)c->block);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		*entries = (uint64_t)sqlite3_column_int64(s, 0);
		*bytes = (uint64_t)sqlite3_column_int64(s, 1);
		rc = SQLITE_OK;
	}
	stmt_done(s);
	return rc;
}

/* Copy the WAL into the index and truncate it, as far as the readers of
 * other processes allow without waiting for them. */
void
db_checkpoint(struct cache *c)
{
	sqlite3_busy_timeout(c->db, 0);
	sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
	    NULL, NULL);
	sqlite3_busy_timeout(c->db, BUSY_MS);
}

/* The blob of an eviction candidate, locked for removal in *fdp (-1 when
 * it is gone already): 0, or -1 when someone reads it ("Blobs in use",
 * cache_blob_open). */
static int
blob_claim(struct cache *c, const char *hex, int fmt, int *fdp)
{
	char *path = blob_path(c, hex, fmt);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	free(path);
	*fdp = -1;
	if (fd == -1)
		return 0;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		return errno == EWOULDBLOCK ? -1 : 0;
	}
	*fdp = fd;
	return 0;
}

/* An entry chosen for eviction. */
struct victim {
	char hex[CACHE_KEY_LEN + 1];
	int fmt;
	uint64_t size;
	int fd;                     /* its blob, locked for removal, or -1 */
};

static void
victims_release(struct victim *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i].fd != -1)
			close(v[i].fd);
		v[i].fd = -1;
	}
}

/*
 * Evict least recently used entries until the disk space of the cache (its
 * blobs in whole blocks and the index files) is within the limit, sparing
 * pinned entries and `keep`.  The WAL is truncated before it is counted
 * (no part is evicted for what it held) and after entries were removed.
 * Called with the mutex held.  An sqlite code; the number removed is
 * added to *n and their disk space to *freed.
 */
int
evict(struct cache *c, const struct cache_key *keep, int *n, uint64_t *freed)
{
	struct victim *v = NULL;
	size_t nv = 0, cap = 0;
	sqlite3_stmt *s;
	uint64_t entries, blobs, wal, total = 0;
	int rc, removed = 0;

	for (int pass = 0; pass < 2; pass++) {
		/* The first look is outside a transaction: most of the
		 * time there is nothing to do and nothing is locked. */
		if (pass == 1 && (rc = db_run(c, S_BEGIN)) != SQLITE_OK)
			return rc;
		if ((rc = blobs_total(c, &entries, &blobs)) != SQLITE_OK)
			goto fail;
		total = blobs + index_disk(c, &wal);
		if (pass == 0 && total > c->max_bytes && wal != 0) {
			db_checkpoint(c);
			total = blobs + index_disk(c, &wal);
		}
		if (total <= c->max_bytes) {
			if (pass == 1 && db_run(c, S_COMMIT) != SQLITE_OK)
				db_rollback(c);
			return SQLITE_OK;
		}
	}

	/* what only saves work goes first (the index does not shrink, but
	 * its pages are used again) */
	if ((rc = memo_prefix(c, CACHE_MEMO_SPARE, false, NULL)) != SQLITE_OK)
		goto fail;
	memo_files_remove(c);
	if ((s = stmt(c, S_LRU)) == NULL) {
		rc = sqlite3_extended_errcode(c->db);
		goto fail;
	}
	while (total > c->max_bytes && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *hex = (const char *)sqlite3_column_text(s, 0);
		uint64_t size;

		int fmt = fmt_parse((const char *)sqlite3_column_text(s, 1));
		int fd = -1;

		size = disk_size(c, (uint64_t)sqlite3_column_int64(s, 2));
		if (hex == NULL || (keep != NULL &&
		    strcmp(hex, keep->hex) == 0) ||
		    (strlen(hex) == CACHE_KEY_LEN && pin_find(c, hex) != NULL))
			continue;
		/* read by someone, in this process or another: spared */
		if (strlen(hex) == CACHE_KEY_LEN && fmt >= 0 &&
		    blob_claim(c, hex, fmt, &fd) != 0)
			continue;
		if (nv == cap) {
			cap = cap ? cap * 2 : 16;
			v = xreallocarray(v, cap, sizeof *v);
		}
		snprintf(v[nv].hex, sizeof v[nv].hex, "%s", hex);
		v[nv].fmt = fmt;
		v[nv].size = size;
		v[nv].fd = fd;
		nv++;
		total -= size < total ? size : total;
	}
	stmt_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto fail;
	rc = SQLITE_OK;
	for (size_t i = 0; i < nv && rc == SQLITE_OK; i++) {
		struct cache_key k;

		if (key_parse(v[i].hex, strlen(v[i].hex), &k) && v[i].fmt >= 0) {
			char *path = blob_path(c, k.hex, v[i].fmt);
			int err = unlink(path) == -1 ? errno : 0;

			free(path);
			if (v[i].fd != -1)
				close(v[i].fd);
			v[i].fd = -1;
			if (err != 0 && err != ENOENT)
				continue;     /* still there: the row stays */
		}
		rc = db_run_key(c, S_DROP_KEY, v[i].hex, 0);
		if (rc == SQLITE_OK) {
			removed++;
			if (freed != NULL)
				*freed += v[i].size;
		}
	}
	victims_release(v, nv);
	if (rc == SQLITE_OK)
		rc = db_run(c, S_COMMIT);
	if (rc != SQLITE_OK)
		goto fail;
	free(v);
	*n += removed;
	/* what the removal wrote to the WAL goes again */
	if (removed != 0)
		db_checkpoint(c);
	return SQLITE_OK;

fail:
	victims_release(v, nv);
	free(v);
	*n += removed;
	db_rollback(c);
	return rc;
}
