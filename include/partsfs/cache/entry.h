/* entry.h -- the entries of the cache as they are read: looking a key up,
 * the blob files, their use, negative entries for failures, and pins.
 * The functions taking a struct cache may be called from any thread. */
#ifndef PARTSFS_CACHE_ENTRY_H
#define PARTSFS_CACHE_ENTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "partsfs/cache/key.h"
#include "partsfs/util/format.h"

struct cache;

struct cache_entry {
	char *path;              /* absolute path of the blob */
	uint64_t size;
	enum format fmt;
	char sha256[CACHE_KEY_LEN + 1];  /* of its content, as indexed */
};

/*
 * Look `key` up.  1 with `out` filled (caller frees out->path with
 * cache_entry_clear) when present and its blob is intact, as
 * cache_blob_check finds it; 0 when absent (a row whose blob is gone is
 * dropped, a damaged blob is set aside); -errno on error.  Marks the entry
 * used for LRU.  The blob is opened to be checked, and closed again: a
 * caller that reads it uses cache_lookup_open instead, which has no
 * moment between the check and the open.
 */
int cache_lookup(struct cache *c, const struct cache_key *key,
    struct cache_entry *out);
/* The same, also giving the blob open in *fdp and marked in use (as
 * cache_blob_open), with its stat in *st (may be NULL), when 1. */
int cache_lookup_open(struct cache *c, const struct cache_key *key,
    struct cache_entry *out, int *fdp, struct stat *st);
/* Free e->path and set it to NULL; a cleared entry may be cleared again. */
void cache_entry_clear(struct cache_entry *e);

/*
 * The blob file of `key` in format `fmt`, whether or not it exists (caller
 * frees).  A blob only ever appears there whole (it is renamed into place
 * after it was written and synced), so a process may answer "is this part
 * made?" by opening or stat-ing it, without the index; cache_touch then
 * keeps the entry's place in the LRU order.
 */
char *cache_blob_path(const struct cache *c, const struct cache_key *key,
    enum format fmt);
/* The same for the cache directory `dir`, without opening the cache. */
char *cache_blob_path_in(const char *dir, const struct cache_key *key,
    enum format fmt);
/*
 * Open a blob file to read it, marked in use for as long as the descriptor
 * is open: eviction, by this process or any other sharing the cache,
 * leaves it alone.  *st (may be NULL) gets its stat.  -1 with errno set;
 * ENOENT also when it was being evicted as it was opened.
 */
int cache_blob_open(const char *path, struct stat *st);
/* The blob open as `held` (checked when it was opened), open again with
 * a file position of its own and marked in use: the same file even when
 * it has left the cache since (a clear, another process's eviction), so
 * that what was served to one reader can be to the next.  -1 with errno
 * set. */
int cache_blob_reopen(int held);

/*
 * Is the blob of `key` in format `fmt`, open as `fd` with the stat `st`
 * (NULL: fstat), the one its row describes, whole and unchanged?  What
 * every part served to a reader goes through.  Its size must be the
 * row's, and its SHA-256 the row's, hashed (with pread: the offset stays)
 * the first time this struct cache meets that file identity (device,
 * inode, size, mtime and ctime); the identities found intact are
 * remembered (at most some thousands), so that opening a blob again costs
 * a table lookup.  0 when it is intact; -ENOENT when it has no row (it may
 * be being published) or is damaged: then the damage is logged, the blob
 * set aside (moved into the cache's damaged/, which keeps 16, or removed)
 * and its row dropped, so that the part is made again; another -errno
 * when the index cannot be read.  fd stays the caller's.
 */
int cache_blob_check(struct cache *c, const struct cache_key *key,
    enum format fmt, int fd, const struct stat *st);
/* The SHA-256 (hex) of the blob of `key` in format `fmt` open as `fd`
 * with the stat `st` (NULL: fstat), checked as cache_blob_check checks it:
 * what the file was found to hash to, from the table of files checked
 * when this identity is in it, else hashed now and compared with its row.
 * For a digest of what is served (an HTTP Repr-Digest).  0, or what
 * cache_blob_check returns (-ENOENT: not as indexed, and set aside). */
int cache_blob_digest(struct cache *c, const struct cache_key *key,
    enum format fmt, int fd, const struct stat *st,
    char digest[CACHE_KEY_LEN + 1]);
/* Open the blob of `key` in format `fmt` to serve it: cache_blob_open,
 * then cache_blob_check, without the index when this identity was checked
 * before.  The descriptor, or -1 with errno set (ENOENT: not there, or
 * not as indexed). */
int cache_blob_serve(struct cache *c, const struct cache_key *key,
    enum format fmt, struct stat *st);
/* The size of the blob of `key` in format `fmt` for a file's attributes,
 * without reading it: true with *size when it is there and has the size
 * its row gives (the row is only read for an identity not checked
 * before); false otherwise (the open that would serve a blob of another
 * size sets it aside). */
bool cache_blob_size(struct cache *c, const struct cache_key *key,
    enum format fmt, uint64_t *size);
/* Does the blob open as `fd` hold `size` bytes whose SHA-256 is `sha`
 * (hex)?  For a reader without the cache opened: it hashes the whole file
 * every time (with pread). */
bool cache_blob_intact(int fd, uint64_t size, const char *sha);
/* Mark an entry used now (for LRU eviction).  Best effort: it does not
 * wait for another process's write, and failing only ages the entry. */
void cache_touch(struct cache *c, const struct cache_key *key);

/* Negative entries: remember a failure for the negative lifetime.  A job
 * that ran out of time gives the limit it ran under as `timeout`
 * (seconds); any other failure gives 0.  Best effort, and nothing when the
 * negative lifetime is not above 0: not remembering only means trying
 * again.  However many distinct keys fail, the index keeps a bounded
 * number of failures (below): past it, those recorded first are forgotten
 * first.  Expired ones are dropped as new ones come, at most once per
 * negative lifetime, and a message is kept to its first line and its end,
 * CACHE_FAIL_MESSAGE_MAX bytes in all. */
void cache_fail(struct cache *c, const struct cache_key *key,
    const char *message, double timeout);
/* 1 with the message (caller frees) when an unexpired failure is recorded
 * that a job under a time limit of `timeout` seconds would meet too: any
 * failure but a timeout, and a timeout under a limit no shorter.  Else 0:
 * a longer limit tries again.  `message` may be NULL. */
int cache_failed(struct cache *c, const struct cache_key *key,
    double timeout, char **message);
/* The failures the index keeps at most (cache_stats: failures_max): one
 * for every CACHE_FAILURE_SHARE bytes of the cache's size limit, at least
 * CACHE_FAILURES_MIN and at most CACHE_FAILURES_MAX, so that with their
 * messages cut to CACHE_FAIL_MESSAGE_MAX they take about 1.5% of the
 * limit at most (from a 10 MiB limit up). */
#define CACHE_FAIL_MESSAGE_MAX 2048
#define CACHE_FAILURE_SHARE (160 * 1024)
#define CACHE_FAILURES_MIN 64
#define CACHE_FAILURES_MAX 4096

/* Keep an entry from eviction while it is in use (counted).  Pins live in
 * this struct cache only: other processes spare what is read through
 * cache_blob_open. */
void cache_pin(struct cache *c, const struct cache_key *key);
/* Take one pin of cache_pin away; a key not pinned is left alone. */
void cache_unpin(struct cache *c, const struct cache_key *key);

#endif
