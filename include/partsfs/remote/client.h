/* client.h -- the client of a served library (partsctl serve's native
 * API): directories of /files/ as JSON, .json descriptions, and parts,
 * verified (Content-Length, Repr-Digest) before they become parts of the
 * LOCAL cache, keyed by the server's ETag, and served from it after. */
#ifndef PARTSFS_REMOTE_CLIENT_H
#define PARTSFS_REMOTE_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "partsfs/cache/key.h"
#include "partsfs/remote/http.h"
#include "partsfs/util/format.h"
#include "partsfs/util/util.h"

struct cache;
struct remote;

/* Is `s` a URL for the remote client (http:// or https://)? */
bool remote_is_url(const char *s);

/* A client of the server at `url` (see rhttp_open) keeping parts in
 * `cache` (the caller's, and open for as long as the client; NULL: parts
 * cannot be fetched).  NULL with `e` set.  Thread-safe. */
struct remote *remote_open(const char *url, const struct rhttp_opts *o,
    struct cache *cache, struct perr *e);
/* Close the client (not its cache); NULL is ignored. */
void remote_close(struct remote *r);
/* Its base URL (rhttp_base). */
const char *remote_base(const struct remote *r);

/*
 * The listing of directory `dir` (a tree path, "" for the root): the
 * server's JSON object, checked to be {"entries": [{"name": ..., "type":
 * ...}, ...]} with names that are single path components (caller
 * decrefs).  NULL with `e` set: ENOENT (the server's 404, its detail as
 * the message), ENOTDIR (not a directory), EPROTO (not such an object),
 * or what remote requests fail with (below).
 */
json_t *remote_list(struct remote *r, const char *dir, struct perr *e);
/* The bytes of a small file answered at once (a .json description, a
 * drawing): caller frees, *len its length (may be NULL); NUL-terminated.
 * NULL with `e` set as remote_list. */
char *remote_text(struct remote *r, const char *path, size_t *len,
    struct perr *e);

/* How remote_part_open served a part. */
enum remote_via {
	REMOTE_FRESH,         /* from the local cache, no request (the
			       * server's max-age had not run out) */
	REMOTE_REVALIDATED,   /* from the local cache after a 304 */
	REMOTE_FETCHED,       /* transferred, verified, cached */
	REMOTE_OFFLINE,       /* from the local cache, as the server could
			       * not be reached to revalidate it */
};

/*
 * The part at `path` (format `fmt`, from its extension), open to read
 * from the local cache; *st its stat, *via (may be NULL) how it came.
 * A part fetched before is revalidated with its ETag once the server's
 * Cache-Control max-age has run out, and served without a request until
 * then; when the server cannot be reached (ECONNREFUSED, ETIMEDOUT) the
 * part cached is served all the same (REMOTE_OFFLINE).  A transfer becomes a cached part only when it is a 200 with an
 * ETag, a Content-Length equal to the bytes received, and a Repr-Digest
 * whose sha-256 is theirs; anything else leaves nothing in the cache.
 * The descriptor, or -errno with `e` set: ENOENT (the server's 404),
 * EIO (the server's job failed: its problem detail is the message),
 * EBADMSG (what came failed verification), ECONNRESET (the transfer
 * broke off), EAGAIN (503), EACCES (401, 403), ECONNREFUSED / ETIMEDOUT
 * (no server within the connect time), EPROTO (TLS, or an answer not
 * as the API says: no ETag, no Repr-Digest).
 */
int remote_part_open(struct remote *r, const char *path, enum format fmt,
    struct stat *st, enum remote_via *via, struct perr *e);

/* The local cache key of a part the server at `base` tags `etag`: the
 * SHA-256 of both, so that no server can name a part of another's or a
 * local library's. */
void remote_local_key(const char *base, const char *etag,
    struct cache_key *out);

/* The sha-256 of an RFC 9530 Repr-Digest field (a structured-field
 * dictionary: "sha-256=:BASE64:, sha-512=:...:").  0 with `out` filled;
 * -ENOENT when the field has no sha-256 member; -EINVAL when it is
 * malformed (or the member is not 32 bytes of base64). */
int remote_repr_digest(const char *field, uint8_t out[32]);

#endif
