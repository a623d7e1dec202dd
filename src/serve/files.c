/* files.c -- GET /files/<path>: the mount's tree over HTTP (directories
 * as JSON, parts from the cache or waited for, descriptions, drawings). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "partsfs/serve/files.h"
#include "partsfs/serve/problem.h"
#include "partsfs/serve/route.h"
#include "partsfs/tree/describe.h"
#include "partsfs/util/confine.h"

/* A part's responses may be kept a minute: the library can change. */
#define PART_CACHE_CONTROL "max-age=60"

/* The length of a listing's or a stat's ETag: hex digits of the SHA-256
 * of its body. */
#define JSON_ETAG_HEX 32
#define JSON_ETAG_SIZE (JSON_ETAG_HEX + 3)

/*
 * The entry of node `n`, named `name`, as its directory's listing shows
 * it: name, type, format (parts, drawings), size and etag (parts made:
 * the ETag a GET of the part sends), target (links).  Nothing is made:
 * whether a part is made is asked of the cache by the key planning saw.
 */
static json_t *
entry_of(struct serve *s, const char *name, const struct pnode *n)
{
	json_t *e = json_object();
	struct cache_key key;
	uint64_t size;

	json_object_set_new(e, "name", json_string(name));
	switch (n->kind) {
	case PN_LINK: {
		struct buf t = BUF_INIT;
		const char *p;
		pnode_link_target(n, &t);
		p = buf_str(&t);
		while (strncmp(p, "../", 3) == 0)
			p += 3;
		json_object_set_new(e, "type", json_string("link"));
		json_object_set_new(e, "target", json_string(p));
		buf_free(&t);
		break;
	}
	case PN_COLLECTION_JSON:
	case PN_CLASS_JSON:
		json_object_set_new(e, "type", json_string("json"));
		break;
	case PN_DRAWING: {
		const char *dot = strrchr(name, '.');
		json_object_set_new(e, "type", json_string("drawing"));
		json_object_set_new(e, "format", json_string(dot != NULL ?
		    dot + 1 : ""));
		break;
	}
	case PN_PART:
		if (n->fmt == FMT_JSON) {
			json_object_set_new(e, "type", json_string("json"));
			break;
		}
		json_object_set_new(e, "type", json_string("part"));
		json_object_set_new(e, "format",
		    json_string(format_ext(n->fmt)));
		if (core_part_key(s->core, n, &key) == 0 &&
		    core_made_size(s->core, &key, n->fmt, &size)) {
			char etag[CACHE_KEY_LEN + 3];
			/* serve_reply_made's ETag: the key, quoted */
			snprintf(etag, sizeof etag, "\"%s\"", key.hex);
			json_object_set_new(e, "size",
			    json_integer((json_int_t)size));
			json_object_set_new(e, "etag", json_string(etag));
		}
		break;
	default:
		json_object_set_new(e, "type", json_string("directory"));
		break;
	}
	return e;
}

struct listing {
	struct serve *s;
	json_t *entries;
};

static int
list_entry(void *arg, const char *name, const struct pnode *child)
{
	struct listing *l = arg;

	json_array_append_new(l->entries, entry_of(l->s, name, child));
	return 0;
}

json_t *
files_listing(struct serve *s, const struct library *lib,
    const struct pnode *dir, struct perr *e)
{
	struct listing l = { s, json_array() };
	struct buf path = BUF_INIT;
	json_t *j;

	if (pnode_list(lib, dir, list_entry, &l, e) != 0) {
		json_decref(l.entries);
		return NULL;
	}
	pnode_path(dir, &path);
	j = json_object();
	json_object_set_new(j, "path", json_string(buf_str(&path)));
	json_object_set_new(j, "entries", l.entries);
	buf_free(&path);
	return j;
}

/* The entry of node `n` as its directory lists it: named by its
 * canonical name ("" for the root). */
static json_t *
stat_entry(struct serve *s, const struct pnode *n)
{
	struct buf name = BUF_INIT;
	json_t *e;

	pnode_name(n, &name);
	e = entry_of(s, buf_str(&name), n);
	buf_free(&name);
	return e;
}

/* The strong ETag of a JSON body of `n` bytes: its SHA-256's first
 * JSON_ETAG_HEX hex digits, quoted. */
static void
json_etag(const char *body, size_t n, char out[JSON_ETAG_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	struct sha256_ctx ctx;
	uint8_t d[SHA256_DIGEST_SIZE];
	char *o = out;

	sha256_init(&ctx);
	sha256_update(&ctx, n, (const uint8_t *)body);
	sha256_digest(&ctx, sizeof d, d);
	*o++ = '"';
	for (size_t i = 0; i < JSON_ETAG_HEX / 2; i++) {
		*o++ = hex[d[i] >> 4];
		*o++ = hex[d[i] & 15];
	}
	*o++ = '"';
	*o = '\0';
}

/* Reply with JSON `j` (taken over) and a strong ETag of its bytes: 304
 * with no body when If-None-Match matches it. */
static void
reply_tagged(struct http_req *r, json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
	char etag[JSON_ETAG_SIZE];
	size_t n;
	const char *h[] = { "ETag", etag, "Cache-Control", PART_CACHE_CONTROL,
	    NULL };

	json_decref(j);
	if (text == NULL)
		text = xstrdup("null");
	/* as http_reply_json sends it: a newline at the end */
	n = strlen(text);
	text = xrealloc(text, n + 2);
	text[n++] = '\n';
	text[n] = '\0';
	json_etag(text, n, etag);
	if (route_etag_match(http_header(r, "If-None-Match"), etag))
		http_reply_buf(r, 304, NULL, "", 0, h);
	else
		http_reply_buf(r, 200, "application/json", text, n, h);
	free(text);
}

/*
 * The memo of made parts by tree path: a request for a path found made
 * in the last second, in the same library snapshot, opens its cache file
 * without resolving the path or planning the key again (what planning
 * itself trusts for a second).  A slot per path hash; a path too long is
 * not kept.
 */
static size_t
memo_slot(const char *path)
{
	return (size_t)(str_hash(path, strlen(path)) % SERVE_MEMO_SLOTS);
}

static bool
memo_get(struct serve *s, const char *path, uint64_t generation,
    struct cache_key *key, enum format *fmt)
{
	struct serve_memo *m = &s->memo[memo_slot(path)];
	bool found;

	pthread_mutex_lock(&s->memo_lock);
	found = m->generation == generation && m->at != 0 &&
	    now_ns() - m->at < SERVE_MEMO_NS && strcmp(m->path, path) == 0;
	if (found) {
		*key = m->key;
		*fmt = m->fmt;
	}
	pthread_mutex_unlock(&s->memo_lock);
	return found;
}

static void
memo_put(struct serve *s, const char *path, uint64_t generation,
    const struct cache_key *key, enum format fmt)
{
	struct serve_memo *m = &s->memo[memo_slot(path)];

	if (strlen(path) >= SERVE_MEMO_PATH)
		return;
	pthread_mutex_lock(&s->memo_lock);
	m->generation = generation;
	m->at = now_ns();
	m->key = *key;
	m->fmt = fmt;
	strcpy(m->path, path);
	pthread_mutex_unlock(&s->memo_lock);
}

/* The memo's part of `path`, sent: false when it has none (or it went
 * from the cache). */
static bool
answer_memo(struct serve *s, struct http_req *r, const char *path)
{
	struct library *lib = core_library(s->core);
	uint64_t generation = lib->generation;
	struct serve_made m;

	library_unref(lib);
	if (!memo_get(s, path, generation, &m.key, &m.fmt))
		return false;
	if ((m.fd = core_open_made(s->core, &m.key, m.fmt,
	    serve_touch_due(s, &m.key), &m.st)) == -1)
		return false;
	serve_reply_made(s, r, &m, PART_CACHE_CONTROL);
	return true;
}

/* What a request for a part keeps between the calls of its handler. */
struct files_state {
	struct serve *s;
	struct serve_part *part;
	bool async;
	char *path;                 /* as asked for, for the memo */
	uint64_t generation;
};

static void
state_free(void *arg)
{
	struct files_state *st = arg;

	serve_part_free(st->part);
	free(st->path);
	free(st);
}

/* The part of a request, again after a wait. */
static void
answer_part(struct files_state *st, struct http_req *r)
{
	struct serve_made m;
	char loc[8 + ROUTE_JOB_LEN];

	switch (serve_part_get(st->part, r, st->async ? 0 : -1, &m)) {
	case SERVE_READY:
		memo_put(st->s, st->path, st->generation, &m.key, m.fmt);
		serve_reply_made(st->s, r, &m, PART_CACHE_CONTROL);
		break;
	case SERVE_WAITING:
		break;
	case SERVE_PENDING: {
		const char *h[] = { "Location", loc, "Retry-After", "1",
		    "Preference-Applied", "respond-async", NULL };
		struct fetch *f = serve_job(st->s, serve_part_job(st->part));
		snprintf(loc, sizeof loc, "/jobs/%s", serve_part_job(st->part));
		http_reply_json(r, 202, f != NULL ? jobs_progress(f) :
		    json_object(), h);
		fetch_unref(f);
		break;
	}
	case SERVE_FAILED:
		http_reply_problem(r, serve_part_problem(st->part), NULL);
		break;
	}
}

static void
reply_text(struct http_req *r, char *text, const char *type)
{
	http_reply_buf(r, 200, type, text, strlen(text), (const char *[]){
	    "Cache-Control", PART_CACHE_CONTROL, NULL });
	free(text);
}

/* A drawing of the library, opened as the mount opens it: never outside
 * the library. */
static void
answer_drawing(struct http_req *r, const struct library *lib,
    const struct pnode *n)
{
	const char *dot = strrchr(n->file, '.');
	struct stat st;
	char date[32];
	int fd = open_inside(lib->root, n->file, O_RDONLY | O_NONBLOCK);

	if (fd != -1 && (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	if (fd == -1) {
		http_reply_problem(r, problem_new(404, "invalid-path", "The "
		    "drawing cannot be read", strerror(errno)), NULL);
		return;
	}
	serve_http_date(st.st_mtime, date);
	http_reply_fd(r, 200, dot != NULL && strcmp(dot, ".svg") == 0 ?
	    "image/svg+xml" : "image/png", fd, 0, (uint64_t)st.st_size,
	    (const char *[]){ "Cache-Control", PART_CACHE_CONTROL,
	    "Last-Modified", date, NULL });
}

/* The directory a link at the end of a path leads to. */
static int
follow(const struct library *lib, struct pnode *n, struct perr *e)
{
	struct buf t = BUF_INIT;
	const char *s;
	int rc;

	pnode_link_target(n, &t);
	s = buf_str(&t);
	while (strncmp(s, "../", 3) == 0)
		s += 3;
	pnode_clear(n);
	rc = pnode_lookup(lib, s, n, e);
	buf_free(&t);
	return rc;
}

/* GET PATH?stat: the entry of whatever the path names, as its
 * directory's listing shows it (a link at the end is not followed), and
 * nothing made. */
static void
answer_stat(struct serve *s, struct http_req *r, const char *path)
{
	struct library *lib;
	struct pnode n;
	json_t *j;

	if (serve_resolve(s, path, &lib, &n, &j) != 0) {
		http_reply_problem(r, j, NULL);
		return;
	}
	reply_tagged(r, stat_entry(s, &n));
	pnode_clear(&n);
	library_unref(lib);
}

void
files_answer(struct serve *s, struct http_req *r, const char *path)
{
	struct files_state *st = http_state(r);
	struct perr e = { 0 };
	struct library *lib;
	struct pnode n;
	json_t *j;
	char *text;

	if (st != NULL) {
		answer_part(st, r);
		return;
	}
	if (http_has_arg(r, "stat")) {
		answer_stat(s, r, path);
		return;
	}
	if (answer_memo(s, r, path))
		return;
	if (serve_resolve(s, path, &lib, &n, &j) != 0) {
		http_reply_problem(r, j, NULL);
		return;
	}
	if (n.kind == PN_LINK && follow(lib, &n, &e) != 0) {
		http_reply_problem(r, problem_new(404, "invalid-path", "The "
		    "link leads nowhere", e.msg), NULL);
		library_unref(lib);
		return;
	}
	if (pnode_is_dir(&n)) {
		if ((j = files_listing(s, lib, &n, &e)) != NULL)
			reply_tagged(r, j);
		else
			http_reply_problem(r, problem_new(404, "invalid-path",
			    "The directory cannot be listed", e.msg), NULL);
	} else if (n.kind == PN_DRAWING)
		answer_drawing(r, lib, &n);
	else if (n.kind == PN_PART && n.fmt != FMT_JSON) {
		st = xcalloc(1, sizeof *st);
		st->s = s;
		st->path = xstrdup(path);
		st->generation = lib->generation;
		st->part = serve_part_new(s, lib, &n);
		st->async = route_prefer_async(http_header(r, "Prefer"));
		http_set_state(r, st, state_free);
		answer_part(st, r);
	} else {
		j = n.kind == PN_COLLECTION_JSON ? describe_collection(n.coll) :
		    n.kind == PN_CLASS_JSON ? describe_class(n.cls) :
		    describe_part(&n, &e);
		if (j == NULL)
			http_reply_problem(r, problem_new(404, "invalid-path",
			    "The part cannot be described", e.msg), NULL);
		else {
			text = describe_dump(j);
			json_decref(j);
			reply_text(r, text, "application/json");
		}
	}
	pnode_clear(&n);
	library_unref(lib);
}
