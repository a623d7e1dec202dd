/* site.h -- what a site of partsctl serve (the native API, the OCCI API)
 * asks of the server: the server's state, tree paths resolved, parts
 * waited for without holding a thread (ready, or a job to poll), and a
 * made part sent as HTTP wants it (ETag, 304, ranges, sendfile).
 *
 * A site is a struct http_site (http.h) whose handler gets the struct
 * serve as its `arg`; serve.c starts one libmicrohttpd daemon per address
 * of serve.listen with the native site (native.c), and one per address of
 * serve.occi-listen with the OCCI site (occi_missing in serve.c until the
 * OCCI API is built in: its handler takes that place).  A handler that
 * needs a part: serve_resolve (or pnode_child and pnode_set_param from
 * the snapshot core_library gives), serve_part_new, then serve_part_get
 * with the seconds it may wait, on each call of the handler until it is
 * no longer SERVE_WAITING; its state (the struct serve_part) is kept with
 * http_set_state.  A job to poll: serve_part_job's id, later serve_job
 * and jobs_progress or problem_of_fetch.  Replies: serve_reply_made for a
 * part, http_reply_json, http_reply_problem, http_reply_buf and
 * http_reply_fd for the rest. */
#ifndef PARTSFS_SITE_H
#define PARTSFS_SITE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "partsfs/core/core.h"
#include "partsfs/serve/http.h"
#include "partsfs/serve/jobs.h"
#include "partsfs/tree/path.h"

/* Parts whose use was recorded lately, for serve_touch_due: slots. */
#define SERVE_TOUCH_SLOTS 4096

/* Tree paths whose part was found made lately: slots, the longest path
 * kept, and for how long (as planning trusts what it saw). */
#define SERVE_MEMO_SLOTS 1024
#define SERVE_MEMO_PATH 200
#define SERVE_MEMO_NS 1000000000ull
struct serve_memo {
	uint64_t generation;          /* of the library snapshot */
	uint64_t at;                  /* now_ns() when it was found */
	struct cache_key key;
	enum format fmt;
	char path[SERVE_MEMO_PATH];
};

/* The server: set up by serve.c, read by the sites. */
struct serve {
	struct core *core;            /* its conf is the server's */
	struct jobtab *jobs;
	char *webdir;                 /* the web page's files */
	const char *threedir;         /* three.js (Debian libjs-three) */
	time_t started;
	atomic_uint_fast64_t requests;
	struct http_daemon **daemons;
	size_t ndaemons;
	/* serve_touch_due's table: a key's first 16 hex digits, and when
	 * its use was last recorded */
	pthread_mutex_t touch_lock;
	uint64_t touch_key[SERVE_TOUCH_SLOTS];
	uint64_t touch_at[SERVE_TOUCH_SLOTS];
	/* files.c's memo of made parts by tree path */
	pthread_mutex_t memo_lock;
	struct serve_memo memo[SERVE_MEMO_SLOTS];
};

/* Is it time to record a use of the part of `key` in the cache's LRU
 * order (cache_touch: a write to its index)?  Once a minute per part at
 * most, as the mount does; a part served thousands of times a second
 * costs no write each time. */
bool serve_touch_due(struct serve *s, const struct cache_key *key);

/*
 * Resolve the tree path `path` (%-decoded, as the mount takes it) in the
 * current library: 0 with *lib (a reference: library_unref) and *node
 * (pnode_clear); else -ENOENT with *problem: a 404 "invalid-path"
 * saying what is wrong with which name and what is accepted, with the
 * library's load errors when it has some.
 */
int serve_resolve(struct serve *s, const char *path, struct library **lib,
    struct pnode *node, json_t **problem);

/* A made part, open: the caller owns fd (http_reply_fd takes it). */
struct serve_made {
	int fd;
	struct stat st;
	struct cache_key key;
	enum format fmt;
};

/* One request's part, across the calls of its handler. */
struct serve_part;

/* For the part `part` (PN_PART, not json) of `lib`: both are copied or
 * referenced. */
struct serve_part *serve_part_new(struct serve *s, const struct library *lib,
    const struct pnode *part);
void serve_part_free(struct serve_part *p);

enum serve_got {
	SERVE_READY,       /* made: *m is set */
	SERVE_WAITING,     /* r waits (http_wait): return, and call again
			    * when the handler is called again */
	SERVE_PENDING,     /* not made within `wait`: serve_part_job */
	SERVE_FAILED,      /* serve_part_problem */
};

/*
 * The part for request `r`: READY at once when it is in the cache; else
 * its job is started (or joined: one job per part) and r waits for it,
 * at most `wait` seconds from the first call (< 0: until it ends; 0: not
 * at all), holding no thread.  A server whose queue of jobs is full
 * (serve.queue) fails with a 503 "overloaded" problem with retry-after.
 */
enum serve_got serve_part_get(struct serve_part *p, struct http_req *r,
    double wait, struct serve_made *m);
/* SERVE_PENDING: the id of its job (GET /jobs/<id>, serve_job), valid
 * while p is. */
const char *serve_part_job(struct serve_part *p);
/* SERVE_FAILED: the problem (a new reference). */
json_t *serve_part_problem(struct serve_part *p);

/* The fetch of job `id` (a new reference: fetch_unref) or NULL:
 * fetch_state, jobs_progress, problem_of_fetch tell how it goes. */
struct fetch *serve_job(struct serve *s, const char *id);

/*
 * Reply with the made part `m` (its fd taken over): 200 with ETag (the
 * key, quoted), Content-Type, Last-Modified, Accept-Ranges,
 * Cache-Control `cache_control`, Content-Location /blobs/<key>.<ext> and
 * Repr-Digest (RFC 9530: the SHA-256 its cache file was checked
 * against); 304 when If-None-Match matches; 206 for a satisfiable
 * Range, 416 for one that is not.
 */
void serve_reply_made(struct serve *s, struct http_req *r,
    struct serve_made *m, const char *cache_control);

/* An HTTP date (RFC 9110 5.6.7) of `t` into `out`. */
void serve_http_date(time_t t, char out[32]);

#endif
