/* route.h -- the requests partsctl serve understands, parsed from their
 * raw text alone (no server, no library): the method, the URL's path into
 * a route, and the headers that change an answer (Range, If-None-Match,
 * Prefer, Accept).  Everything here is untrusted input. */
#ifndef PARTSFS_ROUTE_H
#define PARTSFS_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

#include "partsfs/cache/key.h"
#include "partsfs/util/format.h"
#include "partsfs/util/util.h"

enum route_kind {
	ROUTE_INDEX,         /* / */
	ROUTE_FILES,         /* /files/<tree path> */
	ROUTE_BLOBS,         /* /blobs/<key>.<ext> */
	ROUTE_JOBS,          /* /jobs/<id> */
	ROUTE_STATUS,        /* /status/{jobs,stats,errors,warnings,version} */
	ROUTE_WEB,           /* /web/<file> */
	ROUTE_THREE,         /* /web/three/<file> */
};

/* Job ids are this many lower-case hex digits. */
#define ROUTE_JOB_LEN 16

struct route {
	enum route_kind kind;
	/* ROUTE_FILES: the tree path, %-decoded, without empty components
	 * or a leading slash ("" for the root); ROUTE_WEB, ROUTE_THREE: the
	 * file, relative; ROUTE_JOBS: the id; ROUTE_STATUS: the name.
	 * Owned: route_clear. */
	char *path;
	/* ROUTE_BLOBS */
	struct cache_key key;
	enum format fmt;
};

/* GET and HEAD are read; everything else is refused. */
enum route_method {
	ROUTE_GET,
	ROUTE_HEAD,
	ROUTE_OTHER,
};
enum route_method route_method(const char *method);

/*
 * Parse the path of a URL as it came on the request line (raw: not
 * %-decoded, without the query).  0, or -ENOENT with a message in `e`
 * for anything that is no route: an unknown prefix, a component that
 * decodes to "." or "..", to nothing valid ("%zz"), or holds a slash
 * (%2f) or a NUL (%00), a blob name that is no key and extension.  The
 * tree path itself is checked by the tree (pnode_lookup), not here.
 */
int route_parse(const char *url, struct route *out, struct perr *e);
void route_clear(struct route *r);

/*
 * %-decode `n` bytes of `in` onto `out` ('+' stays '+').  false for a bad
 * escape or a NUL; with `component`, for a '/' too.
 */
bool route_unescape(const char *in, size_t n, bool component,
    struct buf *out);

/* `path` %-escaped for a URL's path: every byte but unreserved ones,
 * sub-delimiters, ':', '@' and '/' as %XX, appended to `out`. */
void route_escape(const char *path, struct buf *out);

/*
 * The byte range a Range header asks of a representation of `size`
 * bytes (RFC 9110 14.2): 1 with *start and *len set for one satisfiable
 * range; 0 to send the whole (no header, not "bytes=", a syntax error,
 * or several ranges, which this server does not combine); -1 when none
 * of its ranges can be satisfied (416).
 */
int route_range(const char *header, uint64_t size, uint64_t *start,
    uint64_t *len);

/* Does an If-None-Match header match the entity tag `etag` (quoted)?
 * Weak comparison, "*" matches anything. */
bool route_etag_match(const char *header, const char *etag);

/* Does a Prefer header ask for respond-async (RFC 7240)? */
bool route_prefer_async(const char *header);

/* Does an Accept header prefer text/html to JSON (a browser)?  Its
 * q-value must be above 0 and at least that of application/json (or of
 * the widest range covering it). */
bool route_wants_html(const char *header);

#endif
