/* maint.h -- looking after the cache: its statistics, pruning, clearing,
 * verifying and checking it, and removing its parts without opening it.
 * The functions taking a struct cache may be called from any thread. */
#ifndef PARTSFS_CACHE_MAINT_H
#define PARTSFS_CACHE_MAINT_H

#include <stdint.h>

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
	uint64_t failures_max;   /* the rows of failures kept at most */
	uint64_t pinned;
	/* Blobs this struct cache hashed to check them before serving them
	 * (cache_blob_check), and those it found damaged and set aside. */
	uint64_t hashed;
	uint64_t set_aside;
};

/* Fill `st`.  0, or -errno: then only max_bytes, failures_max, pinned,
 * hashed and set_aside are sure. */
int cache_stats(struct cache *c, struct cache_stats *st);
/* Evict down to the size limit, drop expired failures.  Returns the number
 * of entries removed, and the disk space freed in *freed (may be NULL);
 * -errno on error. */
int cache_prune(struct cache *c, uint64_t *freed);
/* Remove every entry and failure, with their blobs, the memo files (the
 * memos of the index stay) and the damaged blobs set aside.  0 or
 * -errno. */
int cache_clear(struct cache *c);
/* Check the index (a damaged one is replaced as at open, and logged),
 * then re-hash every blob; remove the damaged ones.  Counts checked and
 * removed (either may be NULL).  0 or -errno.  Blobs are hashed without
 * holding the cache's mutex: other threads go on meanwhile. */
int cache_verify(struct cache *c, uint64_t *checked, uint64_t *removed);

/* Check the index (PRAGMA quick_check) and every blob against it now
 * (cache_open does it when a crash left scratch space behind, and
 * otherwise at most hourly): rows whose blob is gone or has the wrong size
 * are dropped, stray and orphaned files are removed, and a damaged index
 * is set aside and rebuilt from the blobs (then e->msg says so, with
 * e->code 0).  0 or -errno. */
int cache_check(struct cache *c, struct perr *e);

/* Remove the parts' files (memo files and damaged blobs set aside with
 * them) of the cache in `dir` without
 * opening it: what frees a disk too full to open the index on.  The next
 * open drops the rows whose files are gone.  0 or the first -errno. */
int cache_remove_parts(const char *dir);

#endif
