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
