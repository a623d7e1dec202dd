/* http.h -- HTTP for the remote client over libcurl: one connection pool
 * per server (a curl share handle: connections kept alive and reused, DNS
 * and TLS sessions), a bounded connect time, HTTP/2 where the server
 * offers it, the system's CA certificates, and credentials from a netrc
 * file or a token file, never from the command line.
 *
 * Requests are synchronous (curl_easy_perform on the calling thread);
 * any number of threads may make them at once on one struct rhttp.  The
 * remote mount will drive the same share from a multi handle. */
#ifndef PARTSFS_REMOTE_HTTP_H
#define PARTSFS_REMOTE_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "partsfs/util/util.h"

/* How long making a connection may take (TCP and TLS), by default. */
#define RHTTP_CONNECT_TIMEOUT 10.0

struct rhttp_opts {
	const char *netrc;        /* CURLOPT_NETRC_FILE: user and password
				   * for the server's host; NULL none */
	const char *token_file;   /* its first line is sent as
				   * "Authorization: Bearer TOKEN"; NULL
				   * none */
	double connect_timeout;   /* seconds; 0: RHTTP_CONNECT_TIMEOUT */
};

struct rhttp;

/*
 * A pool for the server at `url` (http:// or https://, with a host;
 * a path under it is where its API lives).  Reads the token file now.
 * NULL with `e` set (EINVAL: not such a URL; the token file's errno).
 */
struct rhttp *rhttp_open(const char *url, const struct rhttp_opts *o,
    struct perr *e);
/* Close the pool and its connections; NULL is ignored.  No request may
 * be under way. */
void rhttp_close(struct rhttp *h);
/* The server's base URL, ending in '/' ("http://host:8080/"); lives as
 * long as h. */
const char *rhttp_base(const struct rhttp *h);

/* What a response said.  The strings are NULL when the header was not
 * sent; all are freed by rhttp_reply_clear. */
struct rhttp_reply {
	long status;
	char *etag;               /* as sent, quotes included */
	char *repr_digest;        /* the Repr-Digest field */
	char *content_type;
	char *cache_control;
	char *location;
	char *retry_after;
	int64_t length;           /* Content-Length, -1 when not sent */
	uint64_t received;        /* bytes of the body received */
	uint8_t sha256[32];       /* of the body written to the fd */
	struct buf body;          /* the body, when no fd was given */
	bool truncated;           /* the body went beyond the limit */
};

/*
 * GET (or HEAD when `head`) `path` (relative to the base URL, already
 * percent-encoded) with the extra header lines `headers` (NULL-ended,
 * may be NULL).  The body of a 2xx answer goes to `fd` when it is not
 * -1 (its SHA-256 computed on the way), else into r->body, kept to
 * `max` bytes (r->truncated beyond); the body of any other answer always
 * goes to r->body.  0 when an HTTP answer came, whatever its status,
 * with `r` filled (the caller clears it); -errno with `e` set when none
 * came whole: ECONNREFUSED (cannot connect), ETIMEDOUT (not connected
 * within the connect time), EPROTO (TLS), ECONNRESET (the transfer
 * broke off), or the fd's write errno.
 */
int rhttp_get(struct rhttp *h, const char *path, bool head,
    const char *const *headers, int fd, size_t max, struct rhttp_reply *r,
    struct perr *e);
/* Give up every request under way and to come (they fail with
 * ECONNRESET): the pool is being closed.  Safe from any thread. */
void rhttp_abort(struct rhttp *h);
/* How many requests were made through `h` (*requests), and how many of
 * them got no whole answer (*failures: rhttp_get's errors). */
void rhttp_counts(struct rhttp *h, uint64_t *requests, uint64_t *failures);
/* Free what a reply holds and zero it; a cleared reply may be cleared
 * again. */
void rhttp_reply_clear(struct rhttp_reply *r);

/* Append `s` to `b` percent-encoded for a URL path: everything but
 * unreserved characters (RFC 3986) and '/'. */
void rhttp_escape_path(struct buf *b, const char *s);

#endif
