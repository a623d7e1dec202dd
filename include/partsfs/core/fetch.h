/* fetch.h -- the one request path of the core for "give me this part":
 * planning, the cache, the job that makes it, and the policy when things
 * move underneath (a module edited while its engine ran, a part evicted
 * before it could be opened), for every front end alike. */
#ifndef PARTSFS_FETCH_H
#define PARTSFS_FETCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "partsfs/cache/cache.h"
#include "partsfs/core/core.h"
#include "partsfs/make/plan.h"
#include "partsfs/tree/path.h"

/* A request for one made part.  Reference-counted; thread-safe. */
struct fetch;

enum fetch_state {
	FETCH_QUEUED,            /* its job waits for a worker */
	FETCH_RUNNING,           /* its job's engine runs */
	FETCH_DONE,              /* the part is open: fetch_fd */
	FETCH_FAILED,            /* fetch_errno, fetch_error */
};

/* Flags of core_fetch. */
#define FETCH_AHEAD 0x1          /* made ahead of a reader: queued behind
				  * every other request, and given up at once
				  * when planning would wait for an engine */
#define FETCH_PLAN 0x2           /* keep the plan (fetch_plan) */

/*
 * Ask for the part `part` (a PN_PART node, not json, of a snapshot the
 * caller holds).  Never waits for an engine on the caller's thread:
 *
 * - 1: finished at once (*fp is done, from the cache, or failed: a part
 *   no executor makes, an engine not installed); `done` is not called.
 * - 0: under way; done(arg, f) will be called exactly once when it
 *   finishes, from a thread of the core (a job worker, or the thread
 *   of a job's version query), possibly before core_fetch returns: the caller must be ready
 *   for it before the call.  `done` must not wait for long.  It may be
 *   NULL: then fetch_wait waits.
 *
 * Either way *fp is a reference for the caller (fetch_unref), which it
 * may drop at any time: the part is still made into the cache, and
 * `done` still called.  What it does on the way: a part whose engine's
 * version is not known yet is keyed once its job has learnt it (the query
 * runs beside the engine); a job whose module changed while
 * its engine ran (stale) is planned again from the library as it is then,
 * up to three times; a part that leaves the cache before it is opened is
 * asked for again, up to three times.  The key is pinned in the cache
 * from the moment it is known until the fetch is freed.  A failure that
 * is not the engine's (nothing makes the part, the engine is missing,
 * planned too often) is recorded for /.partsfs/errors.
 */
int core_fetch(struct core *c, const struct pnode *part, unsigned flags,
    void (*done)(void *arg, struct fetch *f), void *arg, struct fetch **fp);

/* Wait until the fetch has finished, at most `timeout` seconds (< 0: no
 * limit), without a done callback set.  Its state. */
enum fetch_state fetch_wait(struct fetch *f, double timeout);
enum fetch_state fetch_state(struct fetch *f);

/* A new descriptor of the made part (FETCH_DONE), open for reading and
 * marked in use: no eviction, by any process, takes the part while it is
 * open.  The caller closes it.  -1 with errno set otherwise. */
int fetch_fd(struct fetch *f);
/* The stat of the part's cache file as it was opened (FETCH_DONE), its
 * size the part's for good: cache files never change. */
const struct stat *fetch_stat(struct fetch *f);

/* FETCH_FAILED: an errno value for the front end to answer with (EIO:
 * the engine failed or the part could not be stored; ENOENT: nothing
 * makes it, or it went in a live edit; ENOEXEC: its engine is not
 * installed; EWOULDBLOCK: a FETCH_AHEAD that would have waited), and
 * the reason (the engine's report: command, status, last stderr lines).
 * fetch_system: the failure is not the part's or the engine's doing (no
 * room, partsfs stopping).  Valid while the fetch is referenced. */
int fetch_errno(struct fetch *f);
const char *fetch_error(struct fetch *f);
bool fetch_system(struct fetch *f);

/* The canonical path asked for, and its cache key once planned (false
 * before). */
const char *fetch_path(struct fetch *f);
bool fetch_key(struct fetch *f, struct cache_key *key);
/* Seconds since the request, and the engine making it ("openscad",
 * "freecad", a command's name; NULL before its job), for progress. */
double fetch_elapsed(struct fetch *f);
const char *fetch_executor(struct fetch *f);
/* How many times it was planned again (stale) and asked again (its part
 * went from the cache between its job and its open), for the front end's
 * notes. */
int fetch_replans(struct fetch *f);

/* With FETCH_PLAN, the plan the part was found or made by (NULL before
 * it was planned), for what remembers how a path resolved (resmemo.h).
 * Read it once the fetch has finished. */
const struct plan *fetch_plan(struct fetch *f);
/* While it runs: a copy of the plan of fetch_plan as it is now (a stale
 * job may have it planned again), in `out` (plan_clear it); false, with
 * nothing copied, when there is none yet. */
bool fetch_plan_copy(struct fetch *f, struct plan *out);

struct fetch *fetch_ref(struct fetch *f);
void fetch_unref(struct fetch *f);

#endif
