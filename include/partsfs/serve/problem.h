/* problem.h -- the errors of partsctl serve as RFC 9457 problem details
 * (application/problem+json): what went wrong, in words a user can act
 * on, and the HTTP status that goes with it. */
#ifndef PARTSFS_PROBLEM_H
#define PARTSFS_PROBLEM_H

#include <jansson.h>

#include "partsfs/core/fetch.h"

/* The media type of a problem. */
#define PROBLEM_MIME "application/problem+json"

/*
 * A problem object: {"type", "title", "status", "detail"}.  `type` names
 * the kind ("invalid-path", "job-failed", ...; "urn:partsfs:problem:"
 * is put before it), or is NULL for "about:blank" (the status says it
 * all).  `detail` may be NULL.  A new reference; add members with
 * json_object_set_new.
 */
json_t *problem_new(int status, const char *type, const char *title,
    const char *detail);

/* The status of a problem object (500 when it has none). */
int problem_status(const json_t *p);

/*
 * The problem of a finished fetch that failed: the engine failed or
 * timed out (500, "job-failed", with "engine" and the engine's report in
 * "detail": command, exit status or time limit, last lines of stderr);
 * nothing makes the part (404); its engine is not installed (500,
 * "engine-missing"); the server could not store it or is stopping (503,
 * with "retry-after").  "path" is the part's.
 */
json_t *problem_of_fetch(struct fetch *f);

#endif
