/* entry.c -- the entries of the cache as they are read: lookup, blob paths,
 * blobs open in use, last use, negative entries (failures) and pins. */
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

#include "partsfs/cache/entry.h"
#include "partsfs/util/format.h"
#include "partsfs/util/log.h"
#include "partsfs/util/util.h"
#include "sqlite-lazy.h"
#include "internal.h"

/* `used` is only rewritten when it is older than this, so reading a part
 * does not write to the index every time. */
#define USED_SLACK 60.0

/* The table of the blob files verified in this process grows from
 * VERIFIED_MIN to VERIFIED_MAX slots (112 bytes each); a file is looked
 * for in VERIFIED_PROBE slots from the hash of its inode, and once the
 * table is full the least recently found of them gives way.  A blob that
 * fell out is only hashed again. */
#define VERIFIED_MIN 64
#define VERIFIED_MAX 8192
#define VERIFIED_PROBE 8

/* A file changed less than this before it was hashed may change again
 * without its identity showing it: file systems take timestamps from a
 * clock that ticks every few milliseconds, so a write in the tick of the
 * last change leaves mtime and ctime as they were.  Such a blob is not
 * remembered, and is hashed again at its next open.  Timestamps in whole
 * seconds (FAT, ext3) take RACY_COARSE. */
#define RACY 0.05
#define RACY_COARSE 2.0

/* Damaged blobs are set aside in damaged/ for a look at what went wrong,
 * this many at most; past that they are removed. */
#define DAMAGED_KEEP 16

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
	char sha[CACHE_KEY_LEN + 1];
};

/* The row of a key: SQLITE_ROW with `f` filled, SQLITE_DONE when there is
 * none, or an error. */
static int
lookup_row(struct cache *c, const char *hex, struct found *f)
{
	sqlite3_stmt *s;
	const char *sha;
	int rc;

	if ((s = stmt(c, S_LOOKUP)) == NULL)
		return sqlite3_extended_errcode(c->db);
	sqlite3_bind_text(s, 1, hex, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		f->fmt = fmt_parse((const char *)sqlite3_column_text(s, 0));
		f->size = (uint64_t)sqlite3_column_int64(s, 1);
		f->used = sqlite3_column_double(s, 2);
		f->created = sqlite3_column_double(s, 3);
		sha = (const char *)sqlite3_column_text(s, 4);
		snprintf(f->sha, sizeof f->sha, "%s", sha != NULL ? sha : "");
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

/* The row of `key`: 1 with `f` filled, 0 when there is none, or -errno. */
static int
row_read(struct cache *c, const struct cache_key *key, struct found *f)
{
	int rc, r, tries = 0;

	pthread_mutex_lock(&c->lock);
	if (!db_ready(c, false)) {
		pthread_mutex_unlock(&c->lock);
		return -EIO;
	}
	do
		rc = lookup_row(c, key->hex, f);
	while (rc != SQLITE_ROW && rc != SQLITE_DONE &&
	    index_retry(c, rc, &tries));
	if (rc == SQLITE_ROW)
		r = 1;
	else
		r = rc == SQLITE_DONE ? 0 : -db_errno(c->db, rc);
	pthread_mutex_unlock(&c->lock);
	return r;
}

/* Drop the row `f` of `key`, the one that was looked at: another process
 * may have published the key again meanwhile.  0 or -errno. */
static int
row_drop(struct cache *c, const struct cache_key *key, const struct found *f)
{
	int rc = SQLITE_OK, tries = 0;

	pthread_mutex_lock(&c->lock);
	if (!db_ready(c, true)) {
		pthread_mutex_unlock(&c->lock);
		return -EIO;
	}
	do
		rc = db_run_key(c, S_DROP, key->hex, f->created);
	while (rc != SQLITE_OK && index_retry(c, rc, &tries));
	pthread_mutex_unlock(&c->lock);
	return rc == SQLITE_OK ? 0 : -db_errno(c->db, rc);
}

static int blob_verify(struct cache *c, const struct cache_key *key,
    int fmt, int fd, const struct stat *st, const struct found *row,
    char *digest);

int
cache_lookup(struct cache *c, const struct cache_key *key,
    struct cache_entry *out)
{
	return cache_lookup_open(c, key, out, NULL, NULL);
}

int
cache_lookup_open(struct cache *c, const struct cache_key *key,
    struct cache_entry *out, int *fdp, struct stat *stp)
{
	struct found f = { .fmt = -1 };
	struct stat st;
	char *path = NULL;
	int fd = -1, r, rc, tries = 0;

	out->path = NULL;
	if (fdp != NULL)
		*fdp = -1;
	if (!cache_key_valid(key))
		return -EINVAL;
	if ((r = row_read(c, key, &f)) != 1)
		return r;

	if (f.fmt >= 0) {
		path = blob_path(c, key->hex, f.fmt);
		if ((fd = cache_blob_open(path, &st)) == -1 &&
		    errno != ENOENT && errno != ENOTDIR) {
			r = -errno;
			goto out;
		}
	}
	if (fd == -1) {
		/* The blob is gone: so is the entry. */
		r = row_drop(c, key, &f);
		goto out;
	}
	/* A damaged one is set aside and its row dropped: a miss. */
	if ((r = blob_verify(c, key, f.fmt, fd, &st, &f, NULL)) != 0) {
		if (r == -ENOENT)
			r = 0;
		goto out;
	}

	if (wall_now() - f.used > USED_SLACK) {
		pthread_mutex_lock(&c->lock);
		if (db_ready(c, false)) {
			do
				rc = touch_row(c, key->hex, wall_now());
			while (rc != SQLITE_OK && index_retry(c, rc, &tries));
		}
		pthread_mutex_unlock(&c->lock);
	}
	out->path = path;
	out->size = f.size;
	out->fmt = f.fmt;
	memcpy(out->sha256, f.sha, sizeof out->sha256);
	path = NULL;
	if (fdp != NULL) {
		*fdp = fd;
		fd = -1;
	}
	if (stp != NULL)
		*stp = st;
	r = 1;
out:
	if (fd != -1)
		close(fd);
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
/* `path` opened to read and marked in use (a shared flock): -1 with
 * errno set. */
static int
open_in_use(const char *path)
{
	int fd, err;

	/* not waiting for a writer, should a FIFO be found there */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return -1;
	while (flock(fd, LOCK_SH) == -1) {
		if (errno != EINTR) {
			err = errno;
			close(fd);
			errno = err;
			return -1;
		}
	}
	return fd;
}

int
cache_blob_open(const char *path, struct stat *stp)
{
	struct stat st;
	int fd;

	if ((fd = open_in_use(path)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || st.st_nlink == 0) {
		close(fd);
		errno = ENOENT;
		return -1;
	}
	if (stp != NULL)
		*stp = st;
	return fd;
}

int
cache_blob_reopen(int held)
{
	char path[64];

	/* the file the descriptor is, wherever its name went: through its
	 * /proc link, which opens it even once it is unlinked */
	snprintf(path, sizeof path, "/proc/self/fd/%d", held);
	return open_in_use(path);
}

/*
 * Verified blobs.  A blob is hashed once per file identity in the life of
 * a struct cache (a daemon's, a partsctl's): the identities found intact
 * are kept in a table under vlock, so that a warm open costs the fstat of
 * cache_blob_open and a lookup there, and never waits for the index.
 * Anything that changes a file's bytes changes its size, mtime or ctime
 * (ctime cannot be set back), and a file put in its place is another
 * inode.
 */

static void
key_bin(const struct cache_key *key, unsigned char out[CACHE_KEY_LEN / 2])
{
	for (size_t i = 0; i < CACHE_KEY_LEN / 2; i++) {
		const char *h = key->hex + 2 * i;
		int hi = h[0] <= '9' ? h[0] - '0' : h[0] - 'a' + 10;
		int lo = h[1] <= '9' ? h[1] - '0' : h[1] - 'a' + 10;

		out[i] = (unsigned char)(hi << 4 | lo);
	}
}

static int64_t
ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* The first slot to look for a file in. */
static size_t
verified_home(dev_t dev, ino_t ino, size_t cap)
{
	uint64_t h = ((uint64_t)ino ^ ((uint64_t)dev << 32 |
	    (uint64_t)dev >> 32)) * UINT64_C(0x9e3779b97f4a7c15);

	return (size_t)(h >> 32) & (cap - 1);
}

/* The slot of the file `st` verified as the blob of `kb`, or NULL; vlock
 * held. */
static struct verified *
verified_slot(struct cache *c, const unsigned char *kb, const struct stat *st)
{
	struct verified *v;
	size_t home;

	if (c->verifiedcap == 0)
		return NULL;
	home = verified_home(st->st_dev, st->st_ino, c->verifiedcap);
	for (size_t i = 0; i < VERIFIED_PROBE; i++) {
		v = &c->verified[(home + i) & (c->verifiedcap - 1)];
		if (v->used != 0 && v->ino == st->st_ino &&
		    v->dev == st->st_dev && v->size == st->st_size &&
		    v->mtime == ts_ns(&st->st_mtim) &&
		    v->ctime == ts_ns(&st->st_ctim) &&
		    memcmp(v->key, kb, sizeof v->key) == 0)
			return v;
	}
	return NULL;
}

/* Was the file `st` verified as the blob of `kb`?  Its SHA-256 (hex)
 * into `sha` when it was and `sha` is not NULL. */
static bool
verified_find(struct cache *c, const unsigned char *kb, const struct stat *st,
    char *sha)
{
	static const char hex[] = "0123456789abcdef";
	struct verified *v;

	pthread_mutex_lock(&c->vlock);
	if ((v = verified_slot(c, kb, st)) != NULL) {
		v->used = ++c->vclock;
		for (size_t i = 0; sha != NULL && i < sizeof v->sha; i++) {
			sha[2 * i] = hex[v->sha[i] >> 4];
			sha[2 * i + 1] = hex[v->sha[i] & 0xf];
		}
		if (sha != NULL)
			sha[CACHE_KEY_LEN] = '\0';
	}
	pthread_mutex_unlock(&c->vlock);
	return v != NULL;
}

/* Put `nv` in the table: in the slot of its inode, else a free one, else
 * that of the least recently found file of its probe; vlock held. */
static void
verified_put(struct cache *c, const struct verified *nv)
{
	struct verified *v, *to = NULL;
	size_t home = verified_home(nv->dev, nv->ino, c->verifiedcap);

	for (size_t i = 0; i < VERIFIED_PROBE; i++) {
		v = &c->verified[(home + i) & (c->verifiedcap - 1)];
		if (v->used != 0 && v->ino == nv->ino && v->dev == nv->dev) {
			to = v;
			break;
		}
		if (to == NULL || (to->used != 0 && v->used < to->used))
			to = v;
	}
	if (to->used == 0)
		c->nverified++;
	*to = *nv;
}

static void
verified_grow(struct cache *c)
{
	struct verified *old = c->verified;
	size_t oldcap = c->verifiedcap;

	c->verifiedcap = oldcap != 0 ? oldcap * 2 : VERIFIED_MIN;
	c->verified = xcalloc(c->verifiedcap, sizeof *c->verified);
	c->nverified = 0;
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].used != 0)
			verified_put(c, &old[i]);
	}
	free(old);
}

/* Could the file `st` have changed since `checked`, when it was hashed,
 * without its identity showing it? */
static bool
verified_racy(const struct stat *st, double checked)
{
	double m = (double)st->st_mtim.tv_sec + st->st_mtim.tv_nsec / 1e9;
	double ct = (double)st->st_ctim.tv_sec + st->st_ctim.tv_nsec / 1e9;
	bool coarse = st->st_mtim.tv_nsec == 0 && st->st_ctim.tv_nsec == 0;

	return checked - (m > ct ? m : ct) < (coarse ? RACY_COARSE : RACY);
}

/* Remember that the file `st`, hashed from `checked` on to `sha` (hex),
 * is the intact blob of `kb`. */
static void
verified_add(struct cache *c, const unsigned char *kb, const struct stat *st,
    double checked, const char *sha)
{
	struct verified nv;
	struct cache_key k;

	if (verified_racy(st, checked))
		return;
	memset(&nv, 0, sizeof nv);
	memcpy(nv.key, kb, sizeof nv.key);
	memcpy(k.hex, sha, sizeof k.hex);
	key_bin(&k, nv.sha);
	nv.dev = st->st_dev;
	nv.ino = st->st_ino;
	nv.size = st->st_size;
	nv.mtime = ts_ns(&st->st_mtim);
	nv.ctime = ts_ns(&st->st_ctim);
	pthread_mutex_lock(&c->vlock);
	nv.used = ++c->vclock;
	if (c->verifiedcap == 0 || (c->verifiedcap < VERIFIED_MAX &&
	    c->nverified >= c->verifiedcap / 4 * 3))
		verified_grow(c);
	verified_put(c, &nv);
	pthread_mutex_unlock(&c->vlock);
}

/* Is `b` the file `a` was, unchanged? */
static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
	    ts_ns(&a->st_mtim) == ts_ns(&b->st_mtim) &&
	    ts_ns(&a->st_ctim) == ts_ns(&b->st_ctim);
}

char *
damaged_dir(const struct cache *c)
{
	return xasprintf("%s/damaged", c->dir);
}

/* Is there room in damaged/ for one more blob (making it if need be)? */
static bool
damaged_room(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		return false;
	if ((d = opendir(dir)) == NULL)
		return false;
	while ((de = readdir(d)) != NULL && n < DAMAGED_KEEP) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n < DAMAGED_KEEP;
}

/*
 * Set aside the blob of `key` checked as the file `st` against its row
 * `row`, which it does not match (`why`): the row goes, if it is still
 * the one checked (the part published again meanwhile is another's), and
 * the file is moved into damaged/ (or removed), if it is still the one in
 * place.  The next lookup misses, and the part is made again.
 */
static void
blob_set_aside(struct cache *c, const struct cache_key *key, int fmt,
    const struct stat *st, const struct found *row, const char *why)
{
	char *path = blob_path(c, key->hex, fmt), *dir = damaged_dir(c);
	char *to = NULL;
	struct stat now;
	bool moved = false, removed = false;

	row_drop(c, key, row);
	pthread_mutex_lock(&c->lock);
	if (lstat(path, &now) == 0 && now.st_dev == st->st_dev &&
	    now.st_ino == st->st_ino) {
		if (damaged_room(dir)) {
			to = xasprintf("%s/%s.%s", dir, key->hex,
			    format_ext(fmt));
			moved = rename(path, to) == 0;
		}
		if (!moved)
			removed = unlink(path) == 0;
	}
	c->set_aside++;
	pthread_mutex_unlock(&c->lock);
	log_warning("the cache file %s %s: %s; the part will be made again",
	    path, why, moved ? "set aside in damaged/" : removed ?
	    "removed" : "its row dropped");
	free(to);
	free(dir);
	free(path);
}

/*
 * cache_blob_check, with the row of `key` in `row` when the caller has
 * read it (NULL: read here), and what the blob hashes to into `digest`
 * (hex, may be NULL) when it is intact.  The blob is hashed without
 * holding either mutex.
 */
static int
blob_verify(struct cache *c, const struct cache_key *key, int fmt, int fd,
    const struct stat *st, const struct found *row, char *digest)
{
	unsigned char kb[CACHE_KEY_LEN / 2];
	char sha[CACHE_KEY_LEN + 1], *why;
	struct found f;
	struct stat after;
	uint64_t n;
	double t;
	int r;

	key_bin(key, kb);
	if (verified_find(c, kb, st, digest))
		return 0;
	if (row == NULL) {
		if ((r = row_read(c, key, &f)) != 1)
			return r == 0 ? -ENOENT : r;
		row = &f;
	}
	/* no row of this format: nothing to check against, nor to serve */
	if (row->fmt != fmt)
		return -ENOENT;
	if (!S_ISREG(st->st_mode))
		why = xstrdup("is not a regular file");
	else if ((uint64_t)st->st_size != row->size)
		why = xasprintf("has %jd bytes, not the %ju of its row",
		    (intmax_t)st->st_size, (uintmax_t)row->size);
	else {
		t = wall_now();
		if ((r = sha256_pread(fd, sha, &n)) != 0)
			return r;
		pthread_mutex_lock(&c->vlock);
		c->hashed++;
		pthread_mutex_unlock(&c->vlock);
		if (fstat(fd, &after) == -1)
			return -errno;
		if (!same_file(st, &after) || n != row->size)
			why = xstrdup("changed while it was checked");
		else if (strcmp(sha, row->sha) != 0)
			why = xasprintf("does not hash to its row's SHA-256 "
			    "(%.16s..., not %.16s...)", sha, row->sha);
		else {
			verified_add(c, kb, st, t, sha);
			if (digest != NULL)
				memcpy(digest, sha, CACHE_KEY_LEN + 1);
			return 0;
		}
	}
	blob_set_aside(c, key, fmt, st, row, why);
	free(why);
	return -ENOENT;
}

int
cache_blob_check(struct cache *c, const struct cache_key *key,
    enum format fmt, int fd, const struct stat *stp)
{
	struct stat st;

	if (!cache_key_valid(key))
		return -EINVAL;
	if (stp == NULL) {
		if (fstat(fd, &st) == -1)
			return -errno;
		stp = &st;
	}
	return blob_verify(c, key, (int)fmt, fd, stp, NULL, NULL);
}

int
cache_blob_digest(struct cache *c, const struct cache_key *key,
    enum format fmt, int fd, const struct stat *stp,
    char digest[CACHE_KEY_LEN + 1])
{
	struct stat st;

	if (!cache_key_valid(key))
		return -EINVAL;
	if (stp == NULL) {
		if (fstat(fd, &st) == -1)
			return -errno;
		stp = &st;
	}
	return blob_verify(c, key, (int)fmt, fd, stp, NULL, digest);
}

int
cache_blob_serve(struct cache *c, const struct cache_key *key,
    enum format fmt, struct stat *stp)
{
	struct stat st;
	char *path;
	int fd, r;

	if (!cache_key_valid(key)) {
		errno = EINVAL;
		return -1;
	}
	path = blob_path(c, key->hex, fmt);
	fd = cache_blob_open(path, &st);
	free(path);
	if (fd == -1)
		return -1;
	if ((r = blob_verify(c, key, (int)fmt, fd, &st, NULL, NULL)) != 0) {
		close(fd);
		errno = -r;
		return -1;
	}
	if (stp != NULL)
		*stp = st;
	return fd;
}

bool
cache_blob_size(struct cache *c, const struct cache_key *key,
    enum format fmt, uint64_t *size)
{
	unsigned char kb[CACHE_KEY_LEN / 2];
	struct found f;
	struct stat st;
	char *path;
	bool ok;

	if (!cache_key_valid(key))
		return false;
	path = blob_path(c, key->hex, fmt);
	ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);
	free(path);
	if (!ok)
		return false;
	key_bin(key, kb);
	if (!verified_find(c, kb, &st, NULL))
		ok = row_read(c, key, &f) == 1 && f.fmt == (int)fmt &&
		    f.size == (uint64_t)st.st_size;
	if (ok)
		*size = (uint64_t)st.st_size;
	return ok;
}

bool
cache_blob_intact(int fd, uint64_t size, const char *sha)
{
	char got[CACHE_KEY_LEN + 1];
	uint64_t n;

	return sha != NULL && sha256_pread(fd, got, &n) == 0 && n == size &&
	    strcmp(got, sha) == 0;
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

/* Is ch a byte inside a UTF-8 sequence, not its first? */
static bool
utf8_cont(char ch)
{
	return ((unsigned char)ch & 0xc0) == 0x80;
}

/* A failure's message as it is remembered (caller frees): whole when it
 * fits in CACHE_FAIL_MESSAGE_MAX bytes, else its first line (a quarter of
 * that at most) and its end, which has the last lines an engine wrote,
 * never cut inside a UTF-8 sequence. */
static char *
fail_message(const char *msg)
{
	static const char mark[] = "\n[...]\n";
	size_t len = strlen(msg), head, from;

	if (len <= CACHE_FAIL_MESSAGE_MAX)
		return xstrdup(msg);
	head = strcspn(msg, "\n");
	if (head > CACHE_FAIL_MESSAGE_MAX / 4)
		head = CACHE_FAIL_MESSAGE_MAX / 4;
	while (head > 0 && utf8_cont(msg[head]))
		head--;
	from = len - (CACHE_FAIL_MESSAGE_MAX - head - (sizeof mark - 1));
	while (from < len && utf8_cont(msg[from]))
		from++;
	return xasprintf("%.*s%s%s", (int)head, msg, mark, msg + from);
}

/* How many rows of failures there are: SQLITE_ROW with *n, or an
 * error. */
static int
fail_count(struct cache *c, int64_t *n)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(c, S_NFAILURES)) == NULL)
		return sqlite3_extended_errcode(c->db);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*n = sqlite3_column_int64(s, 0);
	stmt_done(s);
	return rc;
}

/* Forget the `n` failures recorded first.  An sqlite code. */
static int
fail_trim(struct cache *c, int64_t n)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = stmt(c, S_FAIL_TRIM)) == NULL)
		return sqlite3_extended_errcode(c->db);
	sqlite3_bind_int64(s, 1, n);
	rc = sqlite3_step(s);
	stmt_done(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/*
 * Remember a failure (a timeout with its limit, else NULL), and keep the
 * failures within bounds in the same transaction, so that no process
 * sharing the index sees more than c->failures_max rows: past it, those
 * recorded first go, an eighth of the bound at once (forgetting them
 * sorts the table).  Expired ones go at most once per negative lifetime.
 * An sqlite code.
 */
static int
fail_row(struct cache *c, const char *hex, const char *message,
    double timeout)
{
	sqlite3_stmt *s;
	double now = wall_now();
	bool expire = now - c->expired >= c->negative_ttl;
	char *msg = fail_message(message != NULL ? message : "");
	int64_t n = 0;
	int rc;

	if ((rc = db_run(c, S_BEGIN)) != SQLITE_OK)
		goto out;
	if ((s = stmt(c, S_FAIL)) == NULL) {
		rc = sqlite3_extended_errcode(c->db);
		goto out;
	}
	sqlite3_bind_text(s, 1, hex, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, msg, -1, SQLITE_STATIC);
	sqlite3_bind_double(s, 3, now + c->negative_ttl);
	if (timeout > 0)
		sqlite3_bind_double(s, 4, timeout);
	else
		sqlite3_bind_null(s, 4);
	rc = sqlite3_step(s);
	stmt_done(s);
	if (rc != SQLITE_DONE)
		goto out;
	rc = SQLITE_OK;
	if (expire)
		rc = db_run_time(c, S_EXPIRE, now);
	if (rc == SQLITE_OK && (rc = fail_count(c, &n)) == SQLITE_ROW) {
		rc = SQLITE_OK;
		if ((uint64_t)n > c->failures_max)
			rc = fail_trim(c, n - (int64_t)(c->failures_max -
			    c->failures_max / 8));
	}
	if (rc == SQLITE_OK)
		rc = db_run(c, S_COMMIT);
out:
	if (rc != SQLITE_OK)
		db_rollback(c);
	else if (expire)
		c->expired = now;
	free(msg);
	return rc;
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
