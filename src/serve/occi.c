/* occi.c -- the OCCI site of partsctl serve: the reference occi-server's
 * routes, answered as the OCCI FreeCAD plugin needs them (model requests
 * wait a few seconds for their part, then send the plugin to poll its
 * job; a finished job answers the full result). */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "partsfs/core/fetch.h"
#include "partsfs/model/makers.h"
#include "partsfs/serve/occi.h"
#include "partsfs/serve/problem.h"
#include "partsfs/serve/route.h"
#include "partsfs/util/escape.h"

/* The largest model put into a result JSON (STEP text, base64 of the
 * others). */
#define OCCI_RESULT_MAX (256u << 20)

struct occi {
	struct http_site site;
	struct serve *s;
	char *url;                    /* configured; NULL: from Host */
	char *library;
	char *maintainer;
	char *email;
	_Atomic(char *) address;      /* the first bound, "127.0.0.1:8090";
				       * set once, while requests come */
};

/* What a model request keeps between the calls of the handler. */
struct occi_state {
	struct library *lib;
	struct occi_request req;
	struct serve_part *part;
};

static void
state_free(void *arg)
{
	struct occi_state *st = arg;

	serve_part_free(st->part);
	occi_request_clear(&st->req);
	library_unref(st->lib);
	free(st);
}

/* Replies. */

static void
reply_json(struct http_req *r, int status, json_t *j,
    const char *const *headers)
{
	char *text = occi_dump(j);

	http_reply_buf(r, status, "application/json", text, strlen(text),
	    headers);
	free(text);
	json_decref(j);
}

static void
reply_detail(struct http_req *r, int status, const char *msg)
{
	reply_json(r, status, occi_detail(utf8_valid(msg, strlen(msg)) ? msg :
	    "(not UTF-8)"), NULL);
}

/* A problem of the server (problem.h) as the reference's {"detail"}:
 * the plugin knows 404 and 500; 503 keeps its Retry-After. */
static void
reply_problem(struct http_req *r, json_t *pb)
{
	int status = problem_status(pb);
	const char *detail = json_string_value(json_object_get(pb, "detail"));
	const char *title = json_string_value(json_object_get(pb, "title"));
	json_t *retry = json_object_get(pb, "retry-after");
	char after[32];
	const char *h[3] = { NULL };
	json_t *j;

	if (status != 404 && status != 503)
		status = 500;
	j = occi_detail(detail != NULL ? detail : title != NULL ? title :
	    "the part cannot be made");
	if (json_is_integer(retry)) {
		snprintf(after, sizeof after, "%lld",
		    (long long)json_integer_value(retry));
		h[0] = "Retry-After";
		h[1] = after;
	}
	reply_json(r, status, j, h);
	json_decref(pb);
}

/* The whole of `fd` into memory: NULL with errno set (EFBIG beyond
 * OCCI_RESULT_MAX). */
static char *
read_model(int fd, size_t *len)
{
	struct stat st;
	char *data;
	size_t off = 0;

	if (fstat(fd, &st) != 0)
		return NULL;
	if ((uint64_t)st.st_size > OCCI_RESULT_MAX) {
		errno = EFBIG;
		return NULL;
	}
	data = xmalloc((size_t)st.st_size + 1);
	while (off < (size_t)st.st_size) {
		ssize_t n = pread(fd, data + off, (size_t)st.st_size - off,
		    (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(data);
			if (n == 0)
				errno = EIO;
			return NULL;
		}
		off += (size_t)n;
	}
	*len = off;
	return data;
}

/* The full result of `req` from the made part `fd` (closed here). */
static json_t *
result_of_fd(const struct occi_site *site, const struct occi_request *req,
    const char *job, int fd, double seconds)
{
	size_t len = 0;
	char *data = read_model(fd, &len);
	json_t *j;

	close(fd);
	if (data == NULL) {
		char *msg = xasprintf("the part cannot be read: %s",
		    strerror(errno));
		j = occi_result(site, req, job, NULL, 0, seconds, msg);
		free(msg);
		return j;
	}
	j = occi_result(site, req, job, data, len, seconds, NULL);
	free(data);
	return j;
}

/* The model itself: the plugin keeps the body as a .step file. */
static void
reply_model(struct http_req *r, const struct occi_request *req,
    struct serve_made *m)
{
	char etag[CACHE_KEY_LEN + 3], *disp;
	const char *h[7];

	snprintf(etag, sizeof etag, "\"%s\"", m->key.hex);
	disp = xasprintf("attachment; filename=\"%s-%s.%s\"", req->cls->id,
	    req->hash, format_ext(m->fmt));
	h[0] = "ETag";
	h[1] = etag;
	h[2] = "Content-Disposition";
	h[3] = disp;
	h[4] = "Cache-Control";
	h[5] = "no-cache";
	h[6] = NULL;
	http_reply_fd(r, 200, format_mime(m->fmt), m->fd, 0,
	    (uint64_t)m->st.st_size, h);
	m->fd = -1;
	free(disp);
}

/* The site as one request sees it. */

/* Is `host` a plain host[:port] (a name, IPv4 or [IPv6])? */
static bool
plain_host(const char *host)
{
	size_t n = host != NULL ? strlen(host) : 0;

	if (n == 0 || n > 255)
		return false;
	for (const char *p = host; *p != '\0'; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		    c == ':' || c == '[' || c == ']' || c == '_'))
			return false;
	}
	return true;
}

/* The base URL for the answers to `r` (caller frees). */
static char *
base_url(struct occi *o, struct http_req *r)
{
	const char *host = http_header(r, "Host");
	const char *addr = atomic_load(&o->address);

	if (o->url != NULL)
		return xstrdup(o->url);
	if (plain_host(host))
		return xasprintf("http://%s", host);
	return xasprintf("http://%s", addr != NULL ? addr : "127.0.0.1");
}

/* A query argument, %-decoded ('+' is a space already), or NULL when
 * absent; *bad when it has a bad escape. */
static char *
query_arg(struct http_req *r, const char *name, bool *bad)
{
	const char *raw = http_arg(r, name);
	struct buf b = BUF_INIT;

	*bad = false;
	if (raw == NULL)
		return NULL;
	if (path_decode(raw, strlen(raw), &b) != 0) {
		buf_free(&b);
		*bad = true;
		return NULL;
	}
	buf_adds(&b, "");
	return buf_steal(&b);
}

static void
free_args(struct occi_arg *args, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)args[i].value);
	free(args);
}

/* The arguments a model request can have: format, output and the free
 * parameters of the class, as the request sent them (the first of a
 * name), for free_args.  0, or -1 with the 422 answered. */
static int
model_args(struct http_req *r, const struct pclass *cls,
    struct occi_arg **argsp, size_t *nargs)
{
	const struct pset *ps = class_pset(cls);
	size_t n = ps->nfree + 2, k = 0;
	struct occi_arg *args = xcalloc(n, sizeof *args);
	json_t *detail = json_array();

	for (size_t i = 0; i < n; i++) {
		const char *name = i == 0 ? "format" : i == 1 ? "output" :
		    ps->params[ps->free[i - 2]].name;
		bool bad;
		char *v = query_arg(r, name, &bad);
		if (bad)
			json_array_append_new(detail, json_pack("{s:[s,s], "
			    "s:s, s:s}", "loc", "query", name, "msg",
			    "bad %-escape in the value", "type",
			    "value_error.escape"));
		if (v == NULL)
			continue;
		args[k].key = name;
		args[k].value = v;
		k++;
	}
	if (json_array_size(detail) == 0) {
		json_decref(detail);
		*argsp = args;
		*nargs = k;
		return 0;
	}
	free_args(args, k);
	reply_json(r, 422, json_pack("{s:o}", "detail", detail), NULL);
	return -1;
}

/* GET /<org>/<name>/<version>?... : the model, the result JSON, or the
 * job to poll. */
static void
answer_model(struct occi *o, struct http_req *r, const struct occi_route *rt)
{
	struct occi_state *st = http_state(r);
	struct occi_site site = { NULL, NULL, NULL, NULL };
	struct serve_made m = { .fd = -1 };
	char *url, *loc;
	const char *h[3];

	if (st == NULL) {
		const struct pclass *cls;
		struct occi_arg *args = NULL;
		size_t nargs = 0;
		json_t *err = NULL;
		int status;

		st = xcalloc(1, sizeof *st);
		pnode_root(&st->req.part);
		st->lib = core_library(o->s->core);
		http_set_state(r, st, state_free);
		cls = occi_class(st->lib, rt->org, rt->name);
		if (cls != NULL && model_args(r, cls, &args, &nargs) != 0)
			return;
		status = occi_request_parse(st->lib, rt->org, rt->name,
		    rt->version, args, nargs, &st->req, &err);
		free_args(args, nargs);
		if (status != 0) {
			reply_json(r, status, err, NULL);
			return;
		}
		st->part = serve_part_new(o->s, st->lib, &st->req.part);
	}
	switch (serve_part_get(st->part, r, OCCI_WAIT, &m)) {
	case SERVE_WAITING:
		return;
	case SERVE_FAILED:
		reply_problem(r, serve_part_problem(st->part));
		return;
	case SERVE_PENDING:
		/* path only: the plugin puts its server's root before it */
		loc = occi_job_location(&st->req, serve_part_job(st->part));
		h[0] = "Location";
		h[1] = loc;
		h[2] = NULL;
		http_reply_buf(r, 307, NULL, "", 0, h);
		free(loc);
		return;
	case SERVE_READY:
		break;
	}
	if (!st->req.full) {
		reply_model(r, &st->req, &m);
		return;
	}
	url = base_url(o, r);
	site.url = url;
	reply_json(r, 200, result_of_fd(&site, &st->req, NULL, m.fd, 0),
	    NULL);
	free(url);
}

/* GET /<org>/<name>/<hash>/job/<id> */
static void
answer_job(struct occi *o, struct http_req *r, const struct occi_route *rt)
{
	struct fetch *f = serve_job(o->s, rt->job);
	struct occi_request req;
	struct occi_site site = { NULL, NULL, NULL, NULL };
	struct library *lib;
	enum fetch_state fs;
	char *url;
	json_t *j;
	int fd;

	if (f == NULL) {
		reply_detail(r, 404, "Compute task not found: it finished "
		    "long ago or never was. Please go back to the original "
		    "request URL!");
		return;
	}
	lib = core_library(o->s->core);
	if (occi_request_of_path(lib, fetch_path(f), true, &req) != 0 ||
	    strcmp(req.cls->coll->id, rt->org) != 0 ||
	    strcmp(req.cls->id, rt->name) != 0 ||
	    strcmp(req.hash, rt->hash) != 0) {
		occi_request_clear(&req);
		library_unref(lib);
		fetch_unref(f);
		reply_detail(r, 404, "Compute task not found for this "
		    "script and request.");
		return;
	}
	url = base_url(o, r);
	site.url = url;
	fs = fetch_state(f);
	if (fs == FETCH_DONE && (fd = fetch_fd(f)) != -1)
		reply_json(r, 200, result_of_fd(&site, &req, rt->job, fd,
		    fetch_elapsed(f)), NULL);
	else if (fs == FETCH_DONE || fs == FETCH_FAILED) {
		const char *why = fs == FETCH_FAILED ? fetch_error(f) : NULL;
		j = occi_result(&site, &req, rt->job, NULL, 0,
		    fetch_elapsed(f), why != NULL && utf8_valid(why,
		    strlen(why)) ? why : "the part could not be made");
		reply_json(r, 200, j, NULL);
	} else {
		const char *h[] = { "Retry-After", "5", NULL };
		j = occi_job_json(&site, &req, rt->job, fs == FETCH_RUNNING ?
		    "running" : "queued", fetch_elapsed(f));
		reply_json(r, 202, j, h);
	}
	free(url);
	occi_request_clear(&req);
	library_unref(lib);
	fetch_unref(f);
}

/* GET /<org>/<name>: to the latest version, with the query the request
 * had (the arguments a model request knows). */
static void
answer_script(struct http_req *r, const struct pclass *cls)
{
	const struct pset *ps = class_pset(cls);
	struct buf loc = BUF_INIT;
	const char *h[3];
	bool first = true;

	buf_printf(&loc, "/%s/%s/%s", cls->coll->id, cls->id, OCCI_VERSION);
	for (size_t i = 0; i < ps->nfree + 2; i++) {
		const char *name = i == 0 ? "format" : i == 1 ? "output" :
		    ps->params[ps->free[i - 2]].name;
		const char *v = http_arg(r, name);
		if (v == NULL)
			continue;
		buf_printf(&loc, "%c%s=", first ? '?' : '&', name);
		/* still %-escaped; only '+' became a space */
		for (; *v != '\0'; v++) {
			if (*v == ' ')
				buf_adds(&loc, "%20");
			else if ((unsigned char)*v < 0x21 ||
			    (unsigned char)*v >= 0x7f || *v == '#')
				buf_printf(&loc, "%%%02X", (unsigned char)*v);
			else
				buf_addc(&loc, *v);
		}
		first = false;
	}
	h[0] = "Location";
	h[1] = buf_str(&loc);
	h[2] = NULL;
	http_reply_buf(r, 307, NULL, "", 0, h);
	buf_free(&loc);
}

static void
answer(void *arg, struct http_req *r)
{
	struct occi *o = arg;
	struct occi_route rt;
	struct occi_site site = { NULL, o->library, o->maintainer, o->email };
	const struct pclass *cls = NULL;
	struct library *lib;
	char *url, *q;
	bool bad;

	if (http_state(r) != NULL) {
		/* a model request woken from its wait */
		occi_route(http_url(r), &rt);
		answer_model(o, r, &rt);
		return;
	}
	if (route_method(http_method(r)) == ROUTE_OTHER) {
		const char *h[] = { "Allow", "GET, HEAD", NULL };
		reply_json(r, 405, occi_detail("Method Not Allowed"), h);
		return;
	}
	switch (occi_route(http_url(r), &rt)) {
	case OCCI_NOT_FOUND:
		reply_detail(r, 404, "Not Found");
		return;
	case OCCI_MODEL:
		answer_model(o, r, &rt);
		return;
	case OCCI_JOB:
		answer_job(o, r, &rt);
		return;
	default:
		break;
	}
	lib = core_library(o->s->core);
	url = base_url(o, r);
	site.url = url;
	if (rt.kind != OCCI_ROOT && rt.kind != OCCI_SEARCH &&
	    ((cls = occi_class(lib, rt.org, rt.name)) == NULL ||
	    !occi_listed(cls)))
		reply_detail(r, 404, "no such script");
	else if ((rt.kind == OCCI_PARAMS || rt.kind == OCCI_PRESETS) &&
	    strcmp(rt.version, OCCI_VERSION) != 0)
		reply_detail(r, 404, "no such version of the script; its "
		    "version is " OCCI_VERSION);
	else switch (rt.kind) {
	case OCCI_ROOT:
		reply_json(r, 200, occi_info(&site, lib), NULL);
		break;
	case OCCI_SEARCH:
		q = query_arg(r, "q", &bad);
		/* a bad escape is searched for as it came */
		reply_json(r, 200, occi_search(&site, lib, q != NULL ? q :
		    bad ? http_arg(r, "q") : NULL), NULL);
		free(q);
		break;
	case OCCI_SCRIPT:
		answer_script(r, cls);
		break;
	case OCCI_VERSIONS:
		reply_json(r, 200, json_pack("[s]", OCCI_VERSION), NULL);
		break;
	case OCCI_PARAMS:
		reply_json(r, 200, occi_params(cls), NULL);
		break;
	case OCCI_PRESETS:
		reply_json(r, 200, occi_presets(cls), NULL);
		break;
	default:
		reply_detail(r, 404, "Not Found");
		break;
	}
	free(url);
	library_unref(lib);
}

/* The site. */

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

struct http_site *
occi_site_new(struct serve *s, const struct occi_site *conf)
{
	struct occi *o = xcalloc(1, sizeof *o);

	o->s = s;
	if (conf != NULL) {
		o->url = dup_or_null(conf->url);
		o->library = dup_or_null(conf->library);
		o->maintainer = dup_or_null(conf->maintainer);
		o->email = dup_or_null(conf->maintainer_email);
	}
	/* the plugin appends "/" + namespace: no trailing slash */
	while (o->url != NULL && o->url[0] != '\0' &&
	    o->url[strlen(o->url) - 1] == '/')
		o->url[strlen(o->url) - 1] = '\0';
	o->site.name = "occi";
	o->site.answer = answer;
	o->site.arg = o;
	return &o->site;
}

void
occi_site_set_address(struct http_site *site, const char *addr)
{
	struct occi *o = site->arg;
	char *copy = xstrdup(addr), *none = NULL;

	/* the first listener's: a request may be reading it already */
	if (!atomic_compare_exchange_strong(&o->address, &none, copy))
		free(copy);
}

void
occi_site_free(struct http_site *site)
{
	struct occi *o;

	if (site == NULL)
		return;
	o = site->arg;
	free(o->url);
	free(o->library);
	free(o->maintainer);
	free(o->email);
	free(atomic_load(&o->address));
	free(o);
}
