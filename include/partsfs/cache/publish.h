/* publish.h -- new entries of the cache: scratch space for the jobs that
 * make parts, and publishing a finished file as the blob of its key.  The
 * functions taking a struct cache may be called from any thread. */
#ifndef PARTSFS_CACHE_PUBLISH_H
#define PARTSFS_CACHE_PUBLISH_H

#include "partsfs/cache/entry.h"
#include "partsfs/cache/key.h"
#include "partsfs/util/format.h"
#include "partsfs/util/util.h"

struct cache;

/* A new private scratch directory for a job (caller frees the path, and
 * removes the directory with cache_scratch_remove); NULL with `e` set on
 * failure.  Scratch space of a process that died is removed by the next
 * cache_open. */
char *cache_scratch(struct cache *c, struct perr *e);
/* Remove a directory of cache_scratch and all it holds, never following a
 * symbolic link; NULL is ignored. */
void cache_scratch_remove(const char *dir);

/*
 * Publish a finished file.  `tmp` must be in the cache's scratch space
 * (cache_scratch); it is fsynced, renamed into place, then indexed.  On
 * success (0) `out` (may be NULL) describes the entry.  May evict older
 * entries to stay under the size limit.  -ENOSPC and other errors, with
 * `e` set, leave nothing new behind (tmp is removed); a blob that was
 * already in place for the key is replaced by the new one even when
 * indexing then fails (both are whole parts).
 */
int cache_publish(struct cache *c, const struct cache_key *key,
    enum format fmt, const char *tmp, const char *label,
    struct cache_entry *out, struct perr *e);
/* The same, also giving the new blob open in *fdp and marked in use (as
 * cache_blob_open) from the moment it appeared: no eviction, by any
 * process, can take it before the caller has read it. */
int cache_publish_open(struct cache *c, const struct cache_key *key,
    enum format fmt, const char *tmp, const char *label,
    struct cache_entry *out, int *fdp, struct perr *e);

#endif
