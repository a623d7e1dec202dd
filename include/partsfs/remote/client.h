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
/*
 * The listing of `dir` as remote_list, unless the server says it is
 * still the one tagged `etag` (If-None-Match; NULL: ask for it whole).
 * 1 with the listing in *out (caller decrefs) and its ETag in *new_etag
 * (caller frees; NULL when none came; new_etag may be NULL); 0 when it
 * is unchanged (a 304, *out NULL); -errno with `e` set as remote_list.
 */
int remote_list_if(struct remote *r, const char *dir, const char *etag,
    json_t **out, char **new_etag, struct perr *e);
/* The entry of `path` alone, as in its directory's listing, whether its
 * directory lists it or not (GET files/PATH?stat: nothing is made): the
 * object, checked to have a name and a type (caller decrefs).  NULL with
 * `e` set as remote_list (ENOENT: the tree has no such path). */
json_t *remote_stat(struct remote *r, const char *path, struct perr *e);
/* The text of the server's status file `name` (jobs, stats, errors,
 * warnings, version): caller frees.  NULL with `e` set as remote_text. */
char *remote_status(struct remote *r, const char *name, struct perr *e);
/* Give up the requests under way and to come (rhttp_abort); NULL is
 * ignored. */
void remote_abort(struct remote *r);
/* The requests made by this client, and those that got no whole answer
 * (see rhttp_counts). */
void remote_counts(struct remote *r, uint64_t *requests,
    uint64_t *failures);
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
 * as the API says: no ETag, no Repr-Digest).  With `tag` (may be NULL),
 * the ETag a listing gave the part, the bytes are asked for as that blob
 * (/blobs/KEY.EXT: immutable, and kept by a cache in front of the
 * server) and must come with that ETag; none are asked for when the
 * local cache has them; a blob the server no longer has (404) is asked
 * for by its path instead.
 */
int remote_part_open(struct remote *r, const char *path, enum format fmt,
    const char *tag, struct stat *st, enum remote_via *via, struct perr *e);

/* The ETag of the part fetched for `path` last (caller frees), or NULL
 * when none was. */
char *remote_part_etag(struct remote *r, const char *path);
/* The part at `path` (format `fmt`) from the local cache alone, without
 * a request: the one the server tags `etag`, or (etag NULL) the one
 * fetched for `path` last.  The descriptor, open to read and checked
 * (cache_blob_serve), with *st its stat; `touch` also marks it used for
 * the cache's LRU order.  -1 with errno (ENOENT: not in the local cache,
 * or not as indexed). */
int remote_part_cached(struct remote *r, const char *path, const char *etag,
    enum format fmt, bool touch, struct stat *st);

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
