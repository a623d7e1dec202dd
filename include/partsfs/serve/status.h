/* status.h -- GET /status/{jobs,stats,errors,warnings,version}: what the mount's
 * /.partsfs/ files show, as text, with the server's own counters. */
#ifndef PARTSFS_STATUS_H
#define PARTSFS_STATUS_H

#include "partsfs/serve/http.h"
#include "partsfs/serve/site.h"

/* Answer `r` with the status file `name` (route_parse checked it). */
void status_answer(struct serve *s, struct http_req *r, const char *name);

#endif
