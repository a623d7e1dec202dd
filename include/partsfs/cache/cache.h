/* cache.h -- the persistent cache of made parts: blob files named by the
 * cache key, an sqlite index (WAL) of sizes, content hashes and last use,
 * atomic publishing, LRU eviction under a size limit, and short-lived
 * negative entries for failures.  Several processes may share one cache
 * directory.
 *
 * This header opens and closes a cache; it includes the others, which say
 * what can be done with one: key.h (keys), entry.h (looking parts up,
 * failures, pins), publish.h (scratch space, publishing), memo.h (memos)
 * and maint.h (statistics, pruning, clearing, checks). */
#ifndef PARTSFS_CACHE_H
#define PARTSFS_CACHE_H

#include <stdint.h>

#include "partsfs/cache/entry.h"
#include "partsfs/cache/key.h"
#include "partsfs/cache/maint.h"
#include "partsfs/cache/memo.h"
#include "partsfs/cache/publish.h"
#include "partsfs/util/util.h"

struct cache;

/*
 * Open (creating if needed) the cache in `dir`, with a limit on its disk
 * space (see cache_stats) and a negative-entry lifetime.  Reconciles index
 * and files: rows whose blob is missing or has the wrong size are dropped,
 * blobs without a row (older than a minute), scratch space of dead
 * processes and lock files of keys that nobody holds are removed, and a
 * damaged index is set aside and rebuilt from the blobs on disk (then
 * e->msg says so, with e->code 0, and the same is logged as a warning).
 * NULL with `e` set on failure.  Thread-safe after open.
 *
 * Damage found later, when a statement on the index reports it (sqlite's
 * CORRUPT or NOTADB) in any function of the cache's headers, is repaired
 * the same way at once (logged), and the operation is tried again, so the
 * caller only sees it when the repair failed.  Other users of the cache
 * wait for the repair, or go on (and miss) while the blobs are
 * re-indexed.
 */
struct cache *cache_open(const char *dir, uint64_t max_bytes,
    double negative_ttl, struct perr *e);
/* Close the index and remove this process's scratch space (the job
 * directories of cache_scratch with it).  NULL is ignored.  No other
 * thread may still be using the cache. */
void cache_close(struct cache *c);
/* The cache's directory as opened, without trailing slashes; it lives as
 * long as the cache. */
const char *cache_dir(const struct cache *c);

#endif
