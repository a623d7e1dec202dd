/* internal.h -- what the files of the cache share among themselves; not
 * part of the core's public interface.  Declarations go by defining file.
 *
 * Each file calls only the files before it: key, files, index, repair,
 * entry, memo, evict, publish, maint, cache.  Functions taking a struct
 * cache are called with c->lock held (or before cache_open returns it);
 * those that let go of it meanwhile say so. */
#ifndef PARTSFS_CACHE_INTERNAL_H
#define PARTSFS_CACHE_INTERNAL_H

#include <sys/stat.h>
#include <sys/types.h>

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "partsfs/cache/key.h"
#include "partsfs/util/util.h"
#include "sqlite-lazy.h"

/* Waiting this long for another process's write transaction before giving
 * up with EBUSY. */
#define BUSY_MS 5000

/* The statements on the index, by name (their SQL: stmt_sql, in index.c). */
enum stmt {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_TABLES,
	S_META,
	S_REINDEXED,
	S_WALKED,
	S_ROWS,
	S_LOOKUP,
	S_TOUCH,
	S_DROP,
	S_DROP_KEY,
	S_INSERT,
	S_REINDEX,
	S_TOTAL,
	S_LRU,
	S_UNFAIL,
	S_FAIL,
	S_FAILED,
	S_NFAILED,
	S_NFAILURES,
	S_FAIL_TRIM,
	S_ANY_EXPIRED,
	S_EXPIRE,
	S_CLEAR_PARTS,
	S_CLEAR_FAILURES,
	S_MEMO_GET,
	S_MEMO_SET,
	S_MEMO_DEL,
	S_MEMO_COUNT,
	S_MEMO_DROP,
	S__COUNT
};

/* A pinned key, and how many pins it has (cache_pin). */
struct pin {
	struct cache_key key;
	unsigned n;
};

/* A blob file this process hashed and found as its row says
 * (cache_blob_check): which key's, and the file's identity then.  A slot
 * whose `used` is 0 is free. */
struct verified {
	unsigned char key[CACHE_KEY_LEN / 2];
	uint64_t used;               /* the table's clock when last found */
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime;               /* nanoseconds since the epoch */
	int64_t ctime;
	unsigned char sha[CACHE_KEY_LEN / 2];  /* what it hashed to */
};

/* An open cache: what cache_open returns. */
struct cache {
	double walked;              /* last full check of the blobs */
	pthread_mutex_t lock;        /* every use of db, stmts and pins */
	pthread_cond_t repaired;     /* signalled when repairing ends */
	bool repairing;              /* a thread is replacing the index */
	char *dir;
	char *index;                 /* dir/index.sqlite */
	dev_t index_dev;             /* the file db was opened on */
	ino_t index_ino;
	double reopen_failed;        /* when opening it again last failed */
	uint64_t block;              /* the file system's allocation unit */
	char *proc;                  /* dir/tmp/proc-XXXXXX: ours */
	int procfd;                  /* its lock file, flocked while open */
	sqlite3 *db;
	sqlite3_stmt *stmts[S__COUNT];
	uint64_t max_bytes;
	double negative_ttl;
	struct pin *pins;
	size_t npins;
	size_t pinscap;
	uint64_t failures_max;       /* rows of failures kept at most */
	double expired;              /* when expired failures were dropped */

	/* The blobs verified in this process's life, by file identity; under
	 * vlock alone, never c->lock, so that a warm open does not wait for
	 * the index. */
	pthread_mutex_t vlock;
	struct verified *verified;   /* open addressing, a power of 2 */
	size_t nverified;
	size_t verifiedcap;
	uint64_t vclock;
	uint64_t hashed;             /* blobs hashed to check them */
	uint64_t set_aside;          /* and found damaged */
};

/* A row of parts as read for repairs and verification. */
struct row {
	struct cache_key key;
	int fmt;                     /* -1: not a format we know */
	uint64_t size;
	double created;
	char sha[CACHE_KEY_LEN + 1];
	bool seen;                   /* its blob is there, with its size */
};

/* Outcomes of opening the index besides -errno. */
#define INDEX_OK 0
#define INDEX_DAMAGED 1

/* key.c: keys as text, and hashing an open file. */

/* A lower-case hex digit? */
bool is_hex(int ch);
/* Is the key 64 lower-case hex digits? */
bool cache_key_valid(const struct cache_key *k);
/* A key from the n bytes at s; false when they are not one. */
bool key_parse(const char *s, size_t n, struct cache_key *k);
/* SHA-256 of what is left of fd, with the byte count.  0 or -errno. */
int sha256_fd(int fd, char out[CACHE_KEY_LEN + 1], uint64_t *n);
/* SHA-256 of the whole of fd, read with pread: the file offset, which
 * other descriptors may share, stays where it was.  0 or -errno. */
int sha256_pread(int fd, char out[CACHE_KEY_LEN + 1], uint64_t *n);

/* files.c: the layout of the cache directory, and the clock. */

/* The time now, and a file's mtime, in seconds since the epoch. */
double wall_now(void);
double mtime_of(const struct stat *st);
/* A blob's format from its file name's extension; -1 when none. */
int fmt_parse(const char *ext);
/* Of a blob's file name, "<key>.<ext>": the format, with the key in k;
 * -1 when no blob has that name. */
int blob_name(const char *name, struct cache_key *k);
/* The length of `dir` without trailing slashes. */
size_t dir_len(const char *dir);
/* The path of a key's blob under `dir`, or under c->dir (caller frees). */
char *blob_path_in(const char *dir, const char *hex, int fmt);
char *blob_path(const struct cache *c, const char *hex, int fmt);
/* Empty directory `name`, or remove `name` whatever it is, under a
 * directory descriptor, never following a symbolic link.  0 or the first
 * -errno. */
int empty_dir_at(int parent, const char *name);
int remove_tree_at(int dirfd, const char *name);

/* index.c: the index.  Functions giving "an sqlite code" return SQLITE_OK
 * or sqlite's (extended) error; db_errno turns it into an errno value. */

/* The statement `id`, prepared on first use; NULL on error. */
sqlite3_stmt *stmt(struct cache *c, enum stmt id);
/* Reset a statement and clear its bindings, to be run again. */
void stmt_done(sqlite3_stmt *s);
int db_errno(sqlite3 *db, int rc);
/* Run statement `id`: without parameters, with a key (and a number
 * `arg` when it takes one), or with a time.  An sqlite code. */
int db_run(struct cache *c, enum stmt id);
int db_run_key(struct cache *c, enum stmt id, const char *hex, double arg);
int db_run_time(struct cache *c, enum stmt id, double t);
/* Roll back a transaction under way, if any. */
void db_rollback(struct cache *c);
/* Roll back after `rc`: -errno, and sqlite's message added to `msg`. */
int db_abort(struct cache *c, int rc, struct buf *msg);
/* Close the index, if open, and its statements; c->db is then NULL. */
void db_close(struct cache *c);
/* Does `rc` say that the index file itself is damaged? */
bool rc_damage(int rc);
/* What `rc`, met while opening or checking, means: INDEX_DAMAGED with the
 * reason added to `why`, or -errno with `e` set.  index_quick_check,
 * index_open and index_meta give the same, or INDEX_OK. */
int index_error(struct cache *c, int rc, struct buf *why, struct perr *e);
/* PRAGMA quick_check. */
int index_quick_check(struct cache *c, struct buf *why, struct perr *e);
/* Open c->index as c->db, creating or upgrading the schema; *reindex
 * says whether the blobs on disk are still to be indexed. */
int index_open(struct cache *c, bool *reindex, struct buf *why,
    struct perr *e);
/* Read the meta table (upgrading schema 1); *reindex as index_open. */
int index_meta(struct cache *c, bool *reindex, struct buf *why,
    struct perr *e);
/* Has the index file been replaced or removed since c->db was opened? */
bool index_moved(struct cache *c);
/* Rename the index files aside (c->db closed, the cache directory locked
 * if it could be): 0, with the new name added to `note`, or -errno. */
int index_set_aside(struct cache *c, struct buf *note, struct perr *e);

/* repair.c: bringing the index and the files into agreement. */

/* Read every row of parts (with its sha256 when `want_sha`) into a new
 * array (caller frees).  An sqlite code. */
int rows_load(struct cache *c, struct row **out, size_t *nout, bool want_sha);
/* Quick-check the index, then drop rows without their blob and remove (or
 * with `reindex` index) blobs without a row; the number indexed in
 * *nreindexed.  With `unlock`, c->lock is let go while the blobs are
 * read.  INDEX_OK, INDEX_DAMAGED with the reason in `why`, or -errno. */
int index_reconcile(struct cache *c, bool reindex, bool unlock,
    size_t *nreindexed, struct buf *why, struct perr *e);
/* Remove dead processes' scratch space and key locks nobody holds; true
 * when scratch space was removed (a crash). */
bool proc_reap(struct cache *c);
/* Open the index at cache_open, reconciled with the files when `walk` (or
 * when due), a damaged one set aside and rebuilt.  0 or -errno. */
int cache_open_index(struct cache *c, bool walk, struct perr *e);
/* Open the index again in use, after `damage` (or NULL: none open, or
 * replaced by another process).  0 or -errno; c->db NULL on failure. */
int index_renew(struct cache *c, const char *damage, struct perr *e);
/* Whether to run a statement that failed with `rc` again, once the index
 * was renewed; `tries` counts, from 0, per operation. */
bool index_retry(struct cache *c, int rc, int *tries);
/* Is an index open, and (`follow`) still the one in place?  Called at the
 * start of every operation; renews the index when it is not. */
bool db_ready(struct cache *c, bool follow);

/* entry.c: verified blobs, set-aside blobs, pins. */

/* The directory damaged blobs are set aside in (caller frees). */
char *damaged_dir(const struct cache *c);
/* The pin of a key (64 hex digits at `hex`), or NULL when not pinned. */
struct pin *pin_find(struct cache *c, const char *hex);

/* memo.c: dropping memos. */

/* The memos whose names start with `prefix`: how many in *n (`count`), or
 * drop them all.  An sqlite code. */
int memo_prefix(struct cache *c, const char *prefix, bool count,
    uint64_t *n);
/* Remove the memo files. */
void memo_files_remove(const struct cache *c);

/* evict.c: the disk space, and eviction. */

/* The disk space of the index files, and of the WAL alone in *wal. */
uint64_t index_disk(const struct cache *c, uint64_t *wal);
/* The number of entries and the disk space of their blobs.  An sqlite
 * code. */
int blobs_total(struct cache *c, uint64_t *entries, uint64_t *bytes);
/* Checkpoint and truncate the WAL, without waiting for other readers. */
void db_checkpoint(struct cache *c);
/* Evict least recently used entries, sparing pins, blobs in use and
 * `keep` (may be NULL), until the cache is within its limit: the number
 * removed is added to *n, their disk space to *freed (may be NULL).  An
 * sqlite code. */
int evict(struct cache *c, const struct cache_key *keep, int *n,
    uint64_t *freed);

#endif
