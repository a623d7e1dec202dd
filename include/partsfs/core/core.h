/* core.h -- the core's front door: a library snapshot that live edits can
 * replace, the cache and the job engine behind it, what a front end shows
 * of them (status texts, errors), and parts asked for by key.  Parts
 * asked for by path go through fetch.h. */
#ifndef PARTSFS_CORE_H
#define PARTSFS_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "partsfs/cache/cache.h"
#include "partsfs/make/job.h"
#include "partsfs/make/plan.h"
#include "partsfs/model/library.h"
#include "partsfs/tree/path.h"
#include "partsfs/util/conf.h"
#include "partsfs/util/util.h"

/* The core's state; front ends read `conf` and `root`, and go through the
 * functions below for everything else. */
struct core {
	struct conf *conf;
	char *root;                   /* the library, absolute */
	struct cache *cache;
	struct jobs *jobs;
	struct exec_env env;
	pthread_mutex_t lock;
	struct library *lib;          /* the current snapshot */
	struct buf library_errors;    /* under lock */
	atomic_uint_fast64_t hits;
	atomic_uint_fast64_t misses;
};

/*
 * Load the library at `root` under `conf`, open the cache unless `cache`
 * is open already, and start the job engine (its `conf->workers` threads
 * start as jobs come).  conf and cache are taken over (and freed on
 * failure too).  Library problems are in core's library's diags; NULL
 * with `e` set only when the library directory or the cache cannot be
 * used, or jobs.user names no user.
 */
struct core *core_open(const char *root, struct conf *conf,
    struct cache *cache, struct perr *e);
/* The same with the library loaded already, under the same `conf`: lib
 * is taken over too. */
struct core *core_new(struct library *lib, struct conf *conf,
    struct cache *cache, struct perr *e);
/* How engines run (sandboxed, as which user; not at all, and why): one
 * line for the log and partsctl check (caller frees).  The sandbox is
 * tried then, if it was not yet.  core_engines_under says it for a
 * configuration without a core (NULL with `e` set when jobs.user is
 * wrong). */
char *core_engines(struct core *c);
char *core_engines_under(const struct conf *conf, struct perr *e);
/* Stop the jobs: queued ones fail, running engines are killed (nothing
 * is remembered as a failure), new ones fail at once.  Safe from any
 * thread, any number of times (a signal-handling thread, say). */
void core_stop(struct core *c);
/* core_stop, then free everything (the cache is closed). */
void core_close(struct core *c);

/* A reference to the current library snapshot (library_unref it).
 * Thread-safe. */
struct library *core_library(struct core *c);
/* Make `lib` (whose reference is taken over) the current snapshot: what
 * planning remembered of files and engines is forgotten first, so that a
 * key planned for it comes from its files as they are now. */
void core_set_library(struct core *c, struct library *lib);
/* Record a problem of the library (a live edit that broke a collection),
 * shown with the errors (CORE_ERRORS). */
void core_library_error(struct core *c, const char *msg);

/* Have fn(arg, path, fd, entry) called, on the job's thread, each time a
 * job finds its part in the cache, made by it or by another process,
 * before anyone waiting for it hears of it; `fd` is the part, open and
 * checked (read it with pread, leave it open).  Set once, before the
 * first part is asked for. */
void core_on_made(struct core *c, void (*fn)(void *arg, const char *path,
    int fd, const struct cache_entry *entry), void *arg);

/* What a front end shows of the core, as text (appended to `out`). */
enum core_status {
	CORE_JOBS,        /* one line per job under way */
	CORE_STATS,       /* "name value" lines: hits, jobs, cache, library
			   * (its warnings too) */
	CORE_ERRORS,      /* recent failures, newest first, then library
			   * problems */
	CORE_WARNINGS,    /* the warnings of the current library's load,
			   * one "file:line:col: warning: msg" a line */
	CORE_VERSION,     /* partsfs, library, cache */
};
void core_status(struct core *c, enum core_status what, struct buf *out);
/* The last failure recorded for a tree path, or NULL (caller frees). */
char *core_error_for(struct core *c, const char *path);
/* The number of jobs queued or running. */
size_t core_pending(struct core *c);

/*
 * The cache key of a part (PN_PART, not json) as planning saw its
 * engine and sources in the last second: for asking whether a part is
 * made (a stat, thousands of them), never for making one.  0; -errno when
 * it cannot be planned; -EWOULDBLOCK when not without asking its engine
 * for its version (then nothing was made with that version either).
 */
int core_part_key(struct core *c, const struct pnode *part,
    struct cache_key *key);
/*
 * The made part of `key` in format `fmt`, opened for reading and marked in
 * use (see cache_blob_open), with its stat in *st; `touch` also marks it
 * used for the cache's LRU order.  -1 with errno set (ENOENT: not made, or
 * its cache file is not as indexed, and was set aside: see
 * cache_blob_check).  Counted as a hit.
 */
int core_open_made(struct core *c, const struct cache_key *key,
    enum format fmt, bool touch, struct stat *st);
/* The size of the made part of `key` in format `fmt`: true when it is
 * made.  A stat of its cache file, which only ever appears whole, and
 * whose size must be its row's (cache_blob_size). */
bool core_made_size(struct core *c, const struct cache_key *key,
    enum format fmt, uint64_t *size);
/* The SHA-256 (hex) of the made part of `key` in format `fmt` open as
 * `fd` (core_open_made, fetch_fd) with the stat `st` (NULL: fstat): what
 * the checks of its cache file found it to hash to (see
 * cache_blob_digest), without reading it again once this process has
 * hashed that file.  0, or -errno (-ENOENT: not as indexed). */
int core_made_digest(struct core *c, const struct cache_key *key,
    enum format fmt, int fd, const struct stat *st,
    char sha256[CACHE_KEY_LEN + 1]);

#endif
