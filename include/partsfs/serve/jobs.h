/* jobs.h -- the jobs of partsctl serve that clients poll: a part asked
 * for with "Prefer: respond-async" (or by the OCCI API) gets an id, and
 * GET /jobs/<id> says how it is going. */
#ifndef PARTSFS_SERVE_JOBS_H
#define PARTSFS_SERVE_JOBS_H

#include "partsfs/core/fetch.h"
#include "partsfs/serve/http.h"
#include "partsfs/serve/route.h"

/* The table of jobs: ids to fetches.  Thread-safe. */
struct jobtab;

struct jobtab *jobtab_new(void);
void jobtab_free(struct jobtab *t);
/*
 * The id of a job for the fetch `f` (a reference is taken) into `id`:
 * the id of the job for the same path when one is under way, else a new
 * random one.  Jobs are kept JOBTAB_KEEP seconds after they finished, at
 * most JOBTAB_MAX of them (the oldest finished go first).
 */
#define JOBTAB_KEEP 600
#define JOBTAB_MAX 10000
void jobtab_add(struct jobtab *t, struct fetch *f,
    char id[ROUTE_JOB_LEN + 1]);
/* The fetch of job `id` (a new reference), or NULL when unknown. */
struct fetch *jobtab_get(struct jobtab *t, const char *id);
/* The JSON of a job under way: {"state": "queued"|"running",
 * "seconds": ..., "path": ..., "engine": ...}. */
json_t *jobs_progress(struct fetch *f);
/*
 * Answer GET /jobs/<id>: 202 with jobs_progress and Retry-After while
 * it is under way; 303 to /files/<path> once made; its problem once
 * failed; 404 when unknown.
 */
void jobs_answer(struct jobtab *t, struct http_req *r, const char *id);

#endif
