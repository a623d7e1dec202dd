/* blobs.h -- GET /blobs/<key>.<ext>: every made part at a
 * content-addressed URL that caches may keep for good. */
#ifndef PARTSFS_BLOBS_H
#define PARTSFS_BLOBS_H

#include "partsfs/serve/http.h"
#include "partsfs/serve/site.h"

/* Answer `r` with the made part of `key` in `fmt`, Cache-Control
 * "public, max-age=31536000, immutable"; 404 when it is not in the
 * cache (nothing is made here). */
void blobs_answer(struct serve *s, struct http_req *r,
    const struct cache_key *key, enum format fmt);

#endif
