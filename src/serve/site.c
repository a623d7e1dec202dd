/* site.c -- what the sites of partsctl serve share: tree paths resolved
 * into problems a user can act on, parts asked of the core's one request
 * path (fetch.h) and waited for without a thread, made parts sent with
 * their HTTP validators and ranges. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partsfs/core/fetch.h"
#include "partsfs/serve/problem.h"
#include "partsfs/serve/route.h"
#include "partsfs/serve/site.h"
#include "partsfs/util/diag.h"

/* The load errors of a library worth showing with a 404: at most this
 * many. */
#define SHOWN_ERRORS 20

int
serve_resolve(struct serve *s, const char *path, struct library **lib,
    struct pnode *node, json_t **problem)
{
	struct perr e = { 0 };
	json_t *errs;

	*lib = core_library(s->core);
	if (pnode_lookup(*lib, path, node, &e) == 0)
		return 0;
	*problem = problem_new(404, "invalid-path", "No such file in the "
	    "library", e.msg);
	json_object_set_new(*problem, "path", json_string(utf8_valid(path,
	    strlen(path)) ? path : "(not UTF-8)"));
	if ((*lib)->diags.nerrors > 0) {
		errs = json_array();
		for (size_t i = 0; i < (*lib)->diags.n &&
		    json_array_size(errs) < SHOWN_ERRORS; i++) {
			const struct diag *dg = &(*lib)->diags.v[i];
			char *t;
			if (dg->severity != DIAG_ERROR)
				continue;
			t = diag_format(dg);
			if (utf8_valid(t, strlen(t)))
				json_array_append_new(errs, json_string(t));
			free(t);
		}
		json_object_set_new(*problem, "library-errors", errs);
	}
	library_unref(*lib);
	*lib = NULL;
	return -ENOENT;
}

bool
serve_touch_due(struct serve *s, const struct cache_key *key)
{
	char head[17];
	uint64_t k, now = now_ns();
	size_t i;
	bool due = false;

	memcpy(head, key->hex, 16);
	head[16] = '\0';
	k = strtoull(head, NULL, 16);
	i = (size_t)(k % SERVE_TOUCH_SLOTS);
	pthread_mutex_lock(&s->touch_lock);
	if (s->touch_key[i] != k || now - s->touch_at[i] > 60000000000ull) {
		s->touch_key[i] = k;
		s->touch_at[i] = now;
		due = true;
	}
	pthread_mutex_unlock(&s->touch_lock);
	return due;
}

struct serve_part {
	struct serve *s;
	struct library *lib;
	struct pnode part;
	bool started;
	double deadline;          /* < 0: none */
	struct fetch *f;
	char job[ROUTE_JOB_LEN + 1];
	json_t *problem;
};

struct serve_part *
serve_part_new(struct serve *s, const struct library *lib,
    const struct pnode *part)
{
	struct serve_part *p = xcalloc(1, sizeof *p);

	p->s = s;
	p->lib = library_ref((struct library *)lib);
	pnode_copy(&p->part, part);
	return p;
}

void
serve_part_free(struct serve_part *p)
{
	if (p == NULL)
		return;
	fetch_unref(p->f);
	json_decref(p->problem);
	pnode_clear(&p->part);
	library_unref(p->lib);
	free(p);
}

/* The end of a fetch wakes the request waiting for it. */
static void
fetch_done(void *arg, struct fetch *f)
{
	struct http_req *r = arg;

	(void)f;
	http_wake(r);
	http_req_unref(r);
}

static enum serve_got
failed(struct serve_part *p, json_t *problem)
{
	json_decref(p->problem);
	p->problem = problem;
	return SERVE_FAILED;
}

/* The end of p's fetch: the part, or its problem. */
static enum serve_got
finished(struct serve_part *p, struct serve_made *m)
{
	if (fetch_state(p->f) == FETCH_FAILED)
		return failed(p, problem_of_fetch(p->f));
	if ((m->fd = fetch_fd(p->f)) == -1 || !fetch_key(p->f, &m->key)) {
		json_t *pb = problem_new(503, "unavailable", "The part went "
		    "from the cache", strerror(errno));
		if (m->fd != -1)
			close(m->fd);
		json_object_set_new(pb, "retry-after", json_integer(1));
		return failed(p, pb);
	}
	m->st = *fetch_stat(p->f);
	m->fmt = p->part.fmt;
	return SERVE_READY;
}

enum serve_got
serve_part_get(struct serve_part *p, struct http_req *r, double wait,
    struct serve_made *m)
{
	struct core *c = p->s->core;
	enum fetch_state st;
	double now = now_s();

	if (!p->started) {
		p->started = true;
		p->deadline = wait < 0 ? -1 : now + wait;
		if (core_part_key(c, &p->part, &m->key) == 0 &&
		    (m->fd = core_open_made(c, &m->key, p->part.fmt,
		    serve_touch_due(p->s, &m->key), &m->st)) != -1) {
			m->fmt = p->part.fmt;
			return SERVE_READY;
		}
		if (core_pending(c) >= (size_t)c->conf->serve_queue) {
			json_t *pb = problem_new(503, "overloaded", "Too many "
			    "parts are being made", "the queue of parts to "
			    "make is full (serve.queue): ask again later");
			json_object_set_new(pb, "retry-after",
			    json_integer(5));
			return failed(p, pb);
		}
		/* the fetch's end may come (and wake r) before core_fetch
		 * returns: r then does not wait */
		if (core_fetch(c, &p->part, 0, fetch_done, http_req_ref(r),
		    &p->f) != 0)
			http_req_unref(r);
	}
	st = fetch_state(p->f);
	if (st == FETCH_DONE || st == FETCH_FAILED)
		return finished(p, m);
	if (p->deadline >= 0 && now >= p->deadline) {
		if (p->job[0] == '\0')
			jobtab_add(p->s->jobs, p->f, p->job);
		return SERVE_PENDING;
	}
	http_wait(r, p->deadline < 0 ? -1 : p->deadline - now);
	return SERVE_WAITING;
}

const char *
serve_part_job(struct serve_part *p)
{
	return p->job;
}

json_t *
serve_part_problem(struct serve_part *p)
{
	return json_incref(p->problem);
}

struct fetch *
serve_job(struct serve *s, const char *id)
{
	return jobtab_get(s->jobs, id);
}

void
serve_http_date(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* "sha-256=:<base64>:" (RFC 9530) of the hex digest `hex` into out. */
static void
digest_field(const char *hex, char out[64])
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/";
	unsigned char raw[32];
	char *o = out + sprintf(out, "sha-256=:");

	for (size_t i = 0; i < 32; i++) {
		unsigned hi = (unsigned)(hex[2 * i] <= '9' ? hex[2 * i] - '0' :
		    hex[2 * i] - 'a' + 10);
		unsigned lo = (unsigned)(hex[2 * i + 1] <= '9' ?
		    hex[2 * i + 1] - '0' : hex[2 * i + 1] - 'a' + 10);
		raw[i] = (unsigned char)(hi << 4 | lo);
	}
	for (size_t i = 0; i < 32; i += 3) {
		unsigned v = (unsigned)raw[i] << 16 |
		    (i + 1 < 32 ? (unsigned)raw[i + 1] << 8 : 0) |
		    (i + 2 < 32 ? raw[i + 2] : 0);
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < 32 ? b64[v >> 6 & 63] : '=';
		*o++ = i + 2 < 32 ? b64[v & 63] : '=';
	}
	strcpy(o, ":");
}

void
serve_reply_made(struct serve *s, struct http_req *r, struct serve_made *m,
    const char *cache_control)
{
	char etag[CACHE_KEY_LEN + 3], date[32], range[96], *loc;
	char sha[CACHE_KEY_LEN + 1], digest[64];
	uint64_t size = (uint64_t)m->st.st_size, start = 0, len = size;
	const char *h[20];
	size_t n = 0;
	int status = 200, rc = 0;

	snprintf(etag, sizeof etag, "\"%s\"", m->key.hex);
	serve_http_date(m->st.st_mtime, date);
	loc = xasprintf("/blobs/%s.%s", m->key.hex, format_ext(m->fmt));
	h[n++] = "ETag";
	h[n++] = etag;
	h[n++] = "Cache-Control";
	h[n++] = cache_control;
	h[n++] = "Content-Location";
	h[n++] = loc;
	h[n++] = "Last-Modified";
	h[n++] = date;
	h[n++] = "Accept-Ranges";
	h[n++] = "bytes";
	if (core_made_digest(s->core, &m->key, m->fmt, m->fd, &m->st,
	    sha) == 0) {
		digest_field(sha, digest);
		h[n++] = "Repr-Digest";
		h[n++] = digest;
	}
	if (route_etag_match(http_header(r, "If-None-Match"), etag)) {
		h[n] = NULL;
		close(m->fd);
		http_reply_buf(r, 304, NULL, "", 0, h);
		free(loc);
		return;
	}
	rc = route_range(http_header(r, "Range"), size, &start, &len);
	if (rc < 0) {
		json_t *p = problem_new(416, NULL, "Range Not Satisfiable",
		    "the part has fewer bytes than the range asks for");
		snprintf(range, sizeof range, "bytes */%ju", (uintmax_t)size);
		h[n++] = "Content-Range";
		h[n++] = range;
		h[n] = NULL;
		close(m->fd);
		http_reply_problem(r, p, h);
		free(loc);
		return;
	}
	if (rc > 0) {
		status = 206;
		snprintf(range, sizeof range, "bytes %ju-%ju/%ju",
		    (uintmax_t)start, (uintmax_t)(start + len - 1),
		    (uintmax_t)size);
		h[n++] = "Content-Range";
		h[n++] = range;
	}
	h[n] = NULL;
	http_reply_fd(r, status, format_mime(m->fmt), m->fd, start, len, h);
	m->fd = -1;
	free(loc);
}
