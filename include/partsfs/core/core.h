/* core.h -- the core as the front ends use it: a library snapshot that
 * live edits can replace, the cache, the job engine, and one call that
 * turns a part node into a cached file or a job making it. */
#ifndef PARTSFS_CORE_H
#define PARTSFS_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "partsfs/cache/cache.h"
#include "partsfs/util/conf.h"
#include "partsfs/make/exec.h"
#include "partsfs/make/job.h"
#include "partsfs/model/library.h"
#include "partsfs/tree/path.h"

struct core {
	struct conf *conf;
	char *root;                   /* the library, absolute */
	struct cache *cache;
	struct jobs *jobs;
	struct exec_env env;
	pthread_mutex_t lock;
	struct library *lib;          /* the current snapshot */
	atomic_uint_fast64_t hits;
	atomic_uint_fast64_t misses;
};

/*
 * Load the library at `root` under `conf`, open the cache unless `cache`
 * is open already, and start `conf->workers` job threads.  conf and cache
 * are taken over (and freed on failure too).  Library problems are in
 * core->lib->diags; NULL with `e` set only when the library directory or
 * the cache cannot be used.
 */
struct core *core_open_cache(const char *root, struct conf *conf,
    struct cache *cache, struct perr *e);
/* The same with the library loaded already, under the same `conf`: lib
 * is taken over too. */
struct core *core_new(struct library *lib, struct conf *conf,
    struct cache *cache, struct perr *e);
/* Stop the jobs (killing running engines), close the cache. */
void core_close(struct core *c);

/* A reference to the current library snapshot (library_unref it). */
struct library *core_library(struct core *c);
/* Make `lib` (whose reference is taken over) the current snapshot. */
void core_set_library(struct core *c, struct library *lib);

/*
 * Ask for a part (a PN_PART node, not json).  1: it is in the cache, `hit`
 * filled (cache_entry_clear it); 0: a job makes it, `*job` referenced
 * (job_unref it); -errno: it cannot be planned (ENOENT: no chain makes it,
 * ENOEXEC: the engine is missing), `e` says why.  A prefetch request
 * queues behind every normal one.  `key` (may be NULL) receives the
 * part's cache key.
 */
int core_request(struct core *c, const struct pnode *part, bool prefetch,
    struct cache_entry *hit, struct job **job, struct cache_key *key,
    struct perr *e);
/* The same without waiting for an engine's version query: -EWOULDBLOCK
 * instead (see plan_make_now). */
int core_request_now(struct core *c, const struct pnode *part,
    bool prefetch, struct cache_entry *hit, struct job **job,
    struct cache_key *key, struct perr *e);
/* The same for a part already planned (plan_make with the core's env):
 * 1 with `hit`, or 0 with `*job`. */
int core_request_plan(struct core *c, const struct plan *plan,
    bool prefetch, struct cache_entry *hit, struct job **job);

/* The cache key of a part, or -errno. */
int core_key(struct core *c, const struct pnode *part, struct cache_key *key,
    struct perr *e);

#endif
