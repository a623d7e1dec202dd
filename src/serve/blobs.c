/* blobs.c -- GET /blobs/<key>.<ext>: made parts by their cache key, for
 * nginx, Varnish or a CDN to keep for ever. */
#include "config.h"

#include "partsfs/serve/blobs.h"
#include "partsfs/serve/problem.h"

void
blobs_answer(struct serve *s, struct http_req *r, const struct cache_key *key,
    enum format fmt)
{
	struct serve_made m;

	m.key = *key;
	m.fmt = fmt;
	if ((m.fd = core_open_made(s->core, key, fmt,
	    serve_touch_due(s, key), &m.st)) == -1) {
		http_reply_problem(r, problem_new(404, "no-blob", "No such "
		    "blob", "no part with this key and format is in the cache; "
		    "/files/ makes parts"), NULL);
		return;
	}
	serve_reply_made(s, r, &m, "public, max-age=31536000, immutable");
}
