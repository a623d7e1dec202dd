/* client.c -- the client of a served library: listings and .json of
 * /files/, and parts verified (Content-Length, Repr-Digest) before they
 * are published into the local cache under a key from the server's ETag. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/base64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "partsfs/cache/cache.h"
#include "partsfs/remote/client.h"
#include "partsfs/util/log.h"

/* The largest listing or .json taken. */
#define REMOTE_TEXT_MAX (16u << 20)

struct remote {
	struct rhttp *http;
	struct cache *cache;
};

bool
remote_is_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

struct remote *
remote_open(const char *url, const struct rhttp_opts *o, struct cache *cache,
    struct perr *e)
{
	struct rhttp *h = rhttp_open(url, o, e);
	struct remote *r;

	if (h == NULL)
		return NULL;
	r = xcalloc(1, sizeof *r);
	r->http = h;
	r->cache = cache;
	return r;
}

void
remote_close(struct remote *r)
{
	if (r == NULL)
		return;
	rhttp_close(r->http);
	free(r);
}

const char *
remote_base(const struct remote *r)
{
	return rhttp_base(r->http);
}

void
remote_local_key(const char *base, const char *etag, struct cache_key *out)
{
	struct keyhash *h = keyhash_new();

	keyhash_add_str(h, "remote-base", base);
	keyhash_add_str(h, "remote-etag", etag);
	keyhash_final(h, out);
}

/* Skip a structured-field string ("...", with \" and \\) at *p. */
static bool
skip_string(const char **p)
{
	const char *s = *p + 1;

	for (; *s != '\0' && *s != '"'; s++) {
		if (*s == '\\' && s[1] != '\0')
			s++;
	}
	if (*s != '"')
		return false;
	*p = s + 1;
	return true;
}

/* Skip a bare item or parameter value up to ';', ',' or the end. */
static bool
skip_item(const char **p)
{
	const char *s = *p;

	if (*s == '"')
		return skip_string(p);
	if (*s == ':') {
		const char *end = strchr(s + 1, ':');
		if (end == NULL)
			return false;
		*p = end + 1;
		return true;
	}
	while (*s != '\0' && *s != ';' && *s != ',' && *s != ' ' &&
	    *s != '\t')
		s++;
	*p = s;
	return true;
}

static size_t
key_len(const char *s)
{
	size_t n = 0;

	if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '*'))
		return 0;
	while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') ||
	    s[n] == '_' || s[n] == '-' || s[n] == '.' || s[n] == '*')
		n++;
	return n;
}

int
remote_repr_digest(const char *field, uint8_t out[32])
{
	const char *p = field;
	bool found = false;

	for (;;) {
		const char *k, *v = NULL, *vend = NULL;
		size_t kn;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		k = p;
		if ((kn = key_len(p)) == 0)
			return -EINVAL;
		p += kn;
		if (*p == '=') {
			p++;
			v = p;
			if (!skip_item(&p))
				return -EINVAL;
			vend = p;
		}
		/* parameters */
		while (*p == ';') {
			p++;
			while (*p == ' ')
				p++;
			if ((kn = key_len(p)) == 0)
				return -EINVAL;
			p += kn;
			if (*p == '=') {
				p++;
				if (!skip_item(&p))
					return -EINVAL;
			}
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != ',' && *p != '\0')
			return -EINVAL;
		if ((size_t)(p - k) >= 7 && strncmp(k, "sha-256", 7) == 0 &&
		    (k[7] == '=' || k[7] == ';' || k[7] == ',' ||
		    k[7] == ' ' || k[7] == '\0') && !found) {
			struct base64_decode_ctx ctx;
			uint8_t raw[48];
			size_t n = sizeof raw;
			/* a byte sequence: ":" base64 ":" */
			if (v == NULL || *v != ':' || vend - v < 2 ||
			    vend[-1] != ':' || vend - v - 2 > 64)
				return -EINVAL;
			base64_decode_init(&ctx);
			if (!base64_decode_update(&ctx, &n, raw,
			    (size_t)(vend - v - 2), v + 1) ||
			    !base64_decode_final(&ctx) || n != 32)
				return -EINVAL;
			memcpy(out, raw, 32);
			found = true;
		}
		if (*p == ',')
			p++;
	}
	return found ? 0 : -ENOENT;
}

/* The error of an answer that is not a success: the problem's detail (or
 * title) as the message, an errno from the status. */
static int
reply_error(const struct rhttp_reply *rep, const char *path, struct perr *e)
{
	json_t *j = NULL, *d;
	const char *why = NULL;
	char *text;
	int code;

	switch (rep->status) {
	case 404:
	case 410:
		code = ENOENT;
		break;
	case 401:
	case 403:
		code = EACCES;
		break;
	case 503:
		code = EAGAIN;
		break;
	case 500:
		code = EIO;
		break;
	default:
		code = EPROTO;
		break;
	}
	if (rep->content_type != NULL && strncasecmp(rep->content_type,
	    "application/problem+json", 24) == 0) {
		text = xstrndup(rep->body.p ? rep->body.p : "",
		    rep->body.len);
		j = json_loads(text, 0, NULL);
		free(text);
		if (j != NULL && ((d = json_object_get(j, "detail")) != NULL ||
		    (d = json_object_get(j, "title")) != NULL) &&
		    json_is_string(d))
			why = json_string_value(d);
	}
	if (why != NULL)
		perr_set(e, code, "%s: %s", path, why);
	else
		perr_set(e, code, "%s: the server answered %ld", path,
		    rep->status);
	json_decref(j);
	return -code;
}

/* "files/" + the percent-encoded tree path. */
static char *
files_path(const char *path)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, "files/");
	while (*path == '/')
		path++;
	rhttp_escape_path(&b, path);
	return buf_steal(&b);
}

/* A name that is one path component. */
static bool
name_ok(const char *s)
{
	return s[0] != '\0' && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
	    strchr(s, '/') == NULL && strlen(s) <= 255;
}

/* Check a listing's body: the JSON object, or NULL with `e` set. */
static json_t *
listing_parse(const struct rhttp_reply *rep, const char *dir, struct perr *e)
{
	json_t *j, *entries, *x;
	json_error_t je;
	size_t i;

	j = rep->truncated ? NULL : json_loadb(rep->body.p ? rep->body.p :
	    "", rep->body.len, 0, &je);
	entries = json_object_get(j, "entries");
	if (j == NULL || !json_is_object(j) || !json_is_array(entries)) {
		json_decref(j);
		perr_set(e, ENOTDIR, "%s: not a directory", dir);
		return NULL;
	}
	json_array_foreach(entries, i, x) {
		json_t *n = json_object_get(x, "name");
		json_t *t = json_object_get(x, "type");
		if (!json_is_string(n) || !json_is_string(t) ||
		    !name_ok(json_string_value(n))) {
			json_decref(j);
			perr_set(e, EPROTO, "%s: the server's listing has an "
			    "entry that is not a name and a type", dir);
			return NULL;
		}
	}
	return j;
}

int
remote_list_if(struct remote *r, const char *dir, const char *etag,
    json_t **out, char **new_etag, struct perr *e)
{
	struct rhttp_reply rep;
	char *p = files_path(dir), *inm = NULL;
	const char *hdr[3] = { "Accept: application/json", NULL, NULL };
	int rc;

	*out = NULL;
	if (new_etag != NULL)
		*new_etag = NULL;
	if (etag != NULL)
		hdr[1] = inm = xasprintf("If-None-Match: %s", etag);
	rc = rhttp_get(r->http, p, false, hdr, -1, REMOTE_TEXT_MAX, &rep, e);
	free(p);
	free(inm);
	if (rc != 0)
		return rc;
	if (rep.status == 304 && etag != NULL)
		rc = 0;
	else if (rep.status != 200)
		rc = reply_error(&rep, dir[0] ? dir : "/", e);
	else if ((*out = listing_parse(&rep, dir, e)) == NULL)
		rc = -e->code;
	else {
		rc = 1;
		if (new_etag != NULL && rep.etag != NULL &&
		    strlen(rep.etag) <= 256)
			*new_etag = xstrdup(rep.etag);
	}
	rhttp_reply_clear(&rep);
	return rc;
}

json_t *
remote_list(struct remote *r, const char *dir, struct perr *e)
{
	json_t *j;

	return remote_list_if(r, dir, NULL, &j, NULL, e) == 1 ? j : NULL;
}

json_t *
remote_stat(struct remote *r, const char *path, struct perr *e)
{
	static const char *const hdr[] = { "Accept: application/json", NULL };
	struct rhttp_reply rep;
	struct buf b = BUF_INIT;
	json_t *j = NULL, *n, *t;
	json_error_t je;
	char *p = files_path(path);

	buf_printf(&b, "%s?stat", p);
	free(p);
	if (rhttp_get(r->http, buf_str(&b), false, hdr, -1, REMOTE_TEXT_MAX,
	    &rep, e) != 0) {
		buf_free(&b);
		return NULL;
	}
	buf_free(&b);
	if (rep.status != 200)
		reply_error(&rep, path, e);
	else if (rep.truncated || (j = json_loadb(rep.body.p ? rep.body.p :
	    "", rep.body.len, 0, &je)) == NULL || !json_is_object(j) ||
	    !json_is_string(n = json_object_get(j, "name")) ||
	    !json_is_string(t = json_object_get(j, "type"))) {
		json_decref(j);
		j = NULL;
		perr_set(e, EPROTO, "%s: the server's answer is not an entry",
		    path);
	}
	rhttp_reply_clear(&rep);
	return j;
}

/* The body of GET `p` (relative to the base URL), whole and small. */
static char *
get_text(struct remote *r, char *p, const char *path, size_t *len,
    struct perr *e)
{
	struct rhttp_reply rep;
	char *out;

	if (rhttp_get(r->http, p, false, NULL, -1, REMOTE_TEXT_MAX, &rep,
	    e) != 0) {
		free(p);
		return NULL;
	}
	free(p);
	if (rep.status != 200) {
		reply_error(&rep, path, e);
		rhttp_reply_clear(&rep);
		return NULL;
	}
	if (rep.truncated || (rep.length >= 0 &&
	    (uint64_t)rep.length != rep.received)) {
		perr_set(e, EBADMSG, "%s: %s", path, rep.truncated ?
		    "larger than a description may be" :
		    "fewer bytes came than Content-Length said");
		rhttp_reply_clear(&rep);
		return NULL;
	}
	if (len != NULL)
		*len = rep.body.len;
	out = rep.body.p != NULL ? buf_steal(&rep.body) : xstrdup("");
	rhttp_reply_clear(&rep);
	return out;
}

char *
remote_text(struct remote *r, const char *path, size_t *len, struct perr *e)
{
	return get_text(r, files_path(path), path, len, e);
}

char *
remote_status(struct remote *r, const char *name, struct perr *e)
{
	return get_text(r, xasprintf("status/%s", name), name, NULL, e);
}

void
remote_abort(struct remote *r)
{
	if (r != NULL)
		rhttp_abort(r->http);
}

void
remote_counts(struct remote *r, uint64_t *requests, uint64_t *failures)
{
	rhttp_counts(r->http, requests, failures);
}

/* The memo of a part fetched before: "EXPIRES ETAG" under the server's
 * URL of the part.  A spare memo: losing it costs a transfer. */
static char *
memo_name(struct remote *r, const char *path)
{
	return xasprintf(CACHE_MEMO_SPARE "remote:%s%s", rhttp_base(r->http),
	    path);
}

/* Seconds the answer may be used without asking again (max-age), 0. */
static long
max_age(const char *cc)
{
	const char *p;
	long v;

	if (cc == NULL || strcasestr(cc, "no-cache") != NULL ||
	    strcasestr(cc, "no-store") != NULL ||
	    (p = strcasestr(cc, "max-age=")) == NULL)
		return 0;
	v = strtol(p + 8, NULL, 10);
	return v > 0 && v < 86400 * 365 ? v : 0;
}

static void
remember(struct remote *r, const char *path, const char *etag, long age)
{
	char *name = memo_name(r, path);
	char *v = xasprintf("%lld %s", (long long)time(NULL) + age, etag);

	cache_memo_set(r->cache, name, v);
	free(v);
	free(name);
}

/* Check a transfer into `tmp` and publish it: the descriptor or -errno. */
static int
publish(struct remote *r, const char *path, enum format fmt, const char *tag,
    struct rhttp_reply *rep, const char *tmp, struct stat *st, struct perr *e)
{
	struct cache_entry ent = { 0 };
	struct cache_key key;
	uint8_t want[32];
	int fd, rc;

	if (rep->etag == NULL || rep->etag[0] == '\0' ||
	    strlen(rep->etag) > 256)
		return perr_set(e, EPROTO, "%s: the server sent the part "
		    "without an ETag: not cached", path);
	if (tag != NULL && strcmp(rep->etag, tag) != 0)
		return perr_set(e, EPROTO, "%s: the server sent the blob %s "
		    "as %s: not cached", path, tag, rep->etag);
	if (rep->length < 0 || (uint64_t)rep->length != rep->received)
		return perr_set(e, EBADMSG, "%s: %ju bytes came where "
		    "Content-Length said %jd: not cached", path,
		    (uintmax_t)rep->received, (intmax_t)rep->length);
	if (rep->repr_digest == NULL)
		return perr_set(e, EPROTO, "%s: the server sent the part "
		    "without a Repr-Digest: not cached", path);
	rc = remote_repr_digest(rep->repr_digest, want);
	if (rc == -ENOENT)
		return perr_set(e, EPROTO, "%s: the server's Repr-Digest has "
		    "no sha-256: not cached", path);
	if (rc != 0)
		return perr_set(e, EPROTO, "%s: the server's Repr-Digest is "
		    "malformed: not cached", path);
	if (memcmp(want, rep->sha256, 32) != 0)
		return perr_set(e, EBADMSG, "%s: the bytes that came do not have "
		    "the SHA-256 of the server's Repr-Digest: not cached",
		    path);
	remote_local_key(rhttp_base(r->http), rep->etag, &key);
	if ((rc = cache_publish_open(r->cache, &key, fmt, tmp, path, &ent,
	    &fd, e)) != 0)
		return rc;
	cache_entry_clear(&ent);
	if (fstat(fd, st) == -1) {
		rc = -errno;
		close(fd);
		return perr_set(e, -rc, "%s: %s", path, strerror(-rc));
	}
	/* a blob is for ever, not what its path names for ever: the path
	 * is asked again at its next open without a tag */
	remember(r, path, rep->etag, tag != NULL ? 0 :
	    max_age(rep->cache_control));
	return fd;
}

/* Is `etag` the quoted key of a blob ("<64 hex>")? */
static bool
blob_etag(const char *etag)
{
	if (etag == NULL || strlen(etag) != CACHE_KEY_LEN + 2 ||
	    etag[0] != '"' || etag[CACHE_KEY_LEN + 1] != '"')
		return false;
	for (size_t i = 1; i <= CACHE_KEY_LEN; i++)
		if (!((etag[i] >= '0' && etag[i] <= '9') ||
		    (etag[i] >= 'a' && etag[i] <= 'f')))
			return false;
	return true;
}

/* remote_part_open, as its tag says (e not NULL). */
static int
part_open(struct remote *r, const char *path, enum format fmt,
    const char *tag, struct stat *st, enum remote_via *via, struct perr *e)
{
	struct cache_entry ent = { 0 };
	struct rhttp_reply rep;
	struct cache_key key;
	char *name, *memo, *etag = NULL, *scratch, *tmp, *p, *inm = NULL;
	const char *hdr[2] = { NULL, NULL };
	long long expires = 0;
	int fd = -1, out, rc;

	if (r->cache == NULL)
		return perr_set(e, EINVAL, "%s: no cache to keep parts in",
		    path);
	if (blob_etag(tag)) {
		remote_local_key(rhttp_base(r->http), tag, &key);
		if ((fd = cache_blob_serve(r->cache, &key, fmt, st)) != -1) {
			if (via != NULL)
				*via = REMOTE_FRESH;
			return fd;
		}
	}
	name = memo_name(r, path);
	memo = cache_memo_get(r->cache, name);
	free(name);
	if (memo != NULL) {
		char *sp = strchr(memo, ' ');
		if (sp != NULL) {
			expires = strtoll(memo, NULL, 10);
			etag = xstrdup(sp + 1);
		}
		free(memo);
	}
	if (etag != NULL) {
		remote_local_key(rhttp_base(r->http), etag, &key);
		if (cache_lookup_open(r->cache, &key, &ent, &fd, st) != 1)
			fd = -1;
		cache_entry_clear(&ent);
		if (fd != -1 && (long long)time(NULL) < expires) {
			free(etag);
			if (via != NULL)
				*via = REMOTE_FRESH;
			return fd;
		}
		if (fd != -1) {
			inm = xasprintf("If-None-Match: %s", etag);
			hdr[0] = inm;
		}
	}
	if ((scratch = cache_scratch(r->cache, e)) == NULL) {
		rc = -e->code;
		goto fail;
	}
	tmp = xasprintf("%s/part", scratch);
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (out == -1) {
		rc = perr_set(e, errno, "%s: %s", tmp, strerror(errno));
		goto clean;
	}
	if (blob_etag(tag)) {
		/* the bytes the listing named, immutable (and kept by a
		 * cache in front of the server, nginx's) */
		p = xasprintf("blobs/%.*s.%s", CACHE_KEY_LEN, tag + 1,
		    format_ext(fmt));
		hdr[0] = NULL;
	} else
		p = files_path(path);
	rc = rhttp_get(r->http, p, false, hdr, out, 0, &rep, e);
	free(p);
	if (close(out) == -1 && rc == 0) {
		rc = perr_set(e, errno, "%s: %s", tmp, strerror(errno));
		rhttp_reply_clear(&rep);
	}
	if ((rc == -ECONNREFUSED || rc == -ETIMEDOUT) && fd != -1) {
		/* offline: what was fetched before */
		log_warning("%s: serving the part cached before: %s", path,
		    e->msg);
		perr_clear(e);
		rc = 0;
		if (via != NULL)
			*via = REMOTE_OFFLINE;
		goto clean;
	}
	if (rc != 0)
		goto clean;
	if (rep.status == 304 && fd != -1) {
		remember(r, path, etag, max_age(rep.cache_control));
		rhttp_reply_clear(&rep);
		free(tmp);
		cache_scratch_remove(scratch);
		free(scratch);
		free(etag);
		free(inm);
		if (via != NULL)
			*via = REMOTE_REVALIDATED;
		return fd;
	}
	if (rep.status != 200)
		rc = reply_error(&rep, path, e);
	else if ((rc = publish(r, path, fmt, blob_etag(tag) ? tag : NULL, &rep,
	    tmp, st, e)) >= 0) {
		if (fd != -1)
			close(fd);
		fd = rc;
		rc = 0;
		log_debug("%s: fetched %ju bytes from %s", path,
		    (uintmax_t)rep.received, rhttp_base(r->http));
		if (via != NULL)
			*via = REMOTE_FETCHED;
	}
	rhttp_reply_clear(&rep);
clean:
	free(tmp);
	cache_scratch_remove(scratch);
	free(scratch);
fail:
	free(etag);
	free(inm);
	if (rc != 0) {
		if (fd != -1)
			close(fd);
		return rc;
	}
	return fd;
}

int
remote_part_open(struct remote *r, const char *path, enum format fmt,
    const char *tag, struct stat *st, enum remote_via *via, struct perr *e)
{
	struct perr mine = { 0 };
	int fd;

	if (e == NULL)
		e = &mine;
	fd = part_open(r, path, fmt, tag, st, via, e);
	if (fd == -ENOENT && blob_etag(tag)) {
		/* the blob the listing named is gone from the server
		 * (evicted since): the part by its path, made again */
		perr_clear(e);
		fd = part_open(r, path, fmt, NULL, st, via, e);
	}
	return fd;
}

char *
remote_part_etag(struct remote *r, const char *path)
{
	char *name, *memo, *sp, *etag = NULL;

	if (r->cache == NULL)
		return NULL;
	name = memo_name(r, path);
	memo = cache_memo_get(r->cache, name);
	free(name);
	if (memo != NULL && (sp = strchr(memo, ' ')) != NULL)
		etag = xstrdup(sp + 1);
	free(memo);
	return etag;
}

int
remote_part_cached(struct remote *r, const char *path, const char *etag,
    enum format fmt, bool touch, struct stat *st)
{
	struct cache_key key;
	char *memo = NULL;
	int fd;

	if (r->cache == NULL) {
		errno = ENOENT;
		return -1;
	}
	if (etag == NULL && (etag = memo = remote_part_etag(r,
	    path)) == NULL) {
		errno = ENOENT;
		return -1;
	}
	remote_local_key(rhttp_base(r->http), etag, &key);
	free(memo);
	/* checked against the index the first time only */
	if ((fd = cache_blob_serve(r->cache, &key, fmt, st)) != -1 && touch)
		cache_touch(r->cache, &key);
	return fd;
}
