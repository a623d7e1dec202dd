/* cache.h -- the persistent cache of made parts: blob files named by the
 * cache key, an sqlite index (WAL) of sizes, content hashes and last use,
 * atomic publishing, LRU eviction under a size limit, and short-lived
 * negative entries for failures.  Several processes may share one cache
 * directory. */
#ifndef PARTSFS_CACHE_H
#define PARTSFS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "partsfs/cache/entry.h"
#include "partsfs/cache/key.h"
#include "partsfs/cache/memo.h"
#include "partsfs/cache/publish.h"
#include "partsfs/util/format.h"
#include "partsfs/util/util.h"

struct cache;

struct cache_stats {
	uint64_t entries;
	/* The disk space of the parts: each blob counted in whole blocks of
	 * the file system (a 100-byte part takes 4 KB). */
	uint64_t bytes;
	/* The disk space of the index files as they are now (the database,
	 * its WAL and its shared memory). */
	uint64_t index_bytes;
	/* What eviction keeps bytes + index_bytes within.  Scratch space of
	 * jobs under way is not counted. */
	uint64_t max_bytes;
	uint64_t failures;       /* unexpired negative entries */
	uint64_t pinned;
};

/*
 * Open (creating if needed) the cache in `dir`, with a limit on its disk
 * space (see cache_stats) and a negative-entry lifetime.  Reconciles index
 * and files: rows whose blob is missing or has the wrong size are dropped,
 * blobs without a row (older than a minute), scratch space of dead
 * processes and lock files of keys that nobody holds are removed, and a
 * damaged index is set aside and rebuilt from the blobs on disk (then
 * e->msg says so, with e->code 0, and the same is logged as a warning).
 * Thread-safe after open.
 *
 * Damage found later, when a statement on the index reports it (sqlite's
 * CORRUPT or NOTADB) in any of the functions below, is repaired the same
 * way at once (logged), and the operation is tried again, so the caller
 * only sees it when the repair failed.  Other users of the cache wait for
 * the repair, or go on (and miss) while the blobs are re-indexed.
 */
struct cache *cache_open(const char *dir, uint64_t max_bytes,
    double negative_ttl, struct perr *e);
void cache_close(struct cache *c);
const char *cache_dir(const struct cache *c);

/* Check the index (PRAGMA quick_check) and every blob against it now
 * (cache_open does it when a crash left scratch space behind, and
 * otherwise at most hourly): rows whose blob is gone or has the wrong size
 * are dropped, stray and orphaned files are removed, and a damaged index
 * is set aside and rebuilt from the blobs (then e->msg says so, with
 * e->code 0).  0 or -errno. */
int cache_check(struct cache *c, struct perr *e);

/* Remove the parts' files (and memo files) of the cache in `dir` without
 * opening it: what frees a disk too full to open the index on.  The next
 * open drops the rows whose files are gone.  0 or the first -errno. */
int cache_remove_parts(const char *dir);

int cache_stats(struct cache *c, struct cache_stats *st);
/* Evict down to the size limit, drop expired failures.  Returns the number
 * of entries removed, and the disk space freed in *freed. */
int cache_prune(struct cache *c, uint64_t *freed);
/* Remove every entry and failure. */
int cache_clear(struct cache *c);
/* Check the index (a damaged one is replaced as at open, and logged),
 * then re-hash every blob; remove the damaged ones.  Counts checked and
 * removed. */
int cache_verify(struct cache *c, uint64_t *checked, uint64_t *removed);

#endif
