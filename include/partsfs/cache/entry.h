/* entry.h -- the entries of the cache as they are read: looking a key up,
 * the blob files, their use, negative entries for failures, and pins.
 * The functions taking a struct cache may be called from any thread. */
#ifndef PARTSFS_CACHE_ENTRY_H
#define PARTSFS_CACHE_ENTRY_H

#include <stdint.h>
#include <sys/stat.h>

#include "partsfs/cache/key.h"
#include "partsfs/util/format.h"

struct cache;

struct cache_entry {
	char *path;              /* absolute path of the blob */
	uint64_t size;
	enum format fmt;
};

/*
 * Look `key` up.  1 with `out` filled (caller frees out->path with
 * cache_entry_clear) when present and its blob is intact; 0 when absent
 * (a row whose blob is gone is dropped); -errno on error.  Marks the entry
 * used for LRU.
 */
int cache_lookup(struct cache *c, const struct cache_key *key,
    struct cache_entry *out);
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
/* Mark an entry used now (for LRU eviction).  Best effort: it does not
 * wait for another process's write, and failing only ages the entry. */
void cache_touch(struct cache *c, const struct cache_key *key);

/* Negative entries: remember a failure for the negative lifetime.  A job
 * that ran out of time gives the limit it ran under as `timeout`
 * (seconds); any other failure gives 0.  Best effort, and nothing when the
 * negative lifetime is not above 0: not remembering only means trying
 * again. */
void cache_fail(struct cache *c, const struct cache_key *key,
    const char *message, double timeout);
/* 1 with the message (caller frees) when an unexpired failure is recorded
 * that a job under a time limit of `timeout` seconds would meet too: any
 * failure but a timeout, and a timeout under a limit no shorter.  Else 0:
 * a longer limit tries again.  `message` may be NULL. */
int cache_failed(struct cache *c, const struct cache_key *key,
    double timeout, char **message);

/* Keep an entry from eviction while it is in use (counted).  Pins live in
 * this struct cache only: other processes spare what is read through
 * cache_blob_open. */
void cache_pin(struct cache *c, const struct cache_key *key);
/* Take one pin of cache_pin away; a key not pinned is left alone. */
void cache_unpin(struct cache *c, const struct cache_key *key);

#endif
