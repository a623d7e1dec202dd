/* route.c -- parsing a request's method, URL path and the headers that
 * change its answer, from their raw text, for partsctl serve.  Pure
 * functions: no server, no library, no file. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "partsfs/serve/route.h"
#include "partsfs/util/escape.h"

enum route_method
route_method(const char *method)
{
	if (method != NULL && strcmp(method, "GET") == 0)
		return ROUTE_GET;
	if (method != NULL && strcmp(method, "HEAD") == 0)
		return ROUTE_HEAD;
	return ROUTE_OTHER;
}

bool
route_unescape(const char *in, size_t n, bool component, struct buf *out)
{
	size_t start = out->len;

	/* the path grammar's decoding (util/escape.c), then what a URL
	 * must not smuggle into a name: a NUL, or a slash in a component */
	if (path_decode(in, n, out) != 0)
		return false;
	if (out->len == start)
		return true;
	return memchr(out->p + start, '\0', out->len - start) == NULL &&
	    (!component || memchr(out->p + start, '/', out->len - start) ==
	    NULL);
}

void
route_escape(const char *path, struct buf *out)
{
	static const char keep[] = "-._~!$&'()*+,;=:@/";

	for (const char *p = path; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (isalnum(c) || strchr(keep, c) != NULL)
			buf_addc(out, (char)c);
		else
			buf_printf(out, "%%%02X", c);
	}
}

/*
 * The components of `raw` (n bytes), each %-decoded and checked, joined
 * by single slashes onto `out`; empty components are dropped.  With
 * `strict`, a component must be a plain file name: letters, digits, '.',
 * '_' and '-', not starting with a dot.
 */
static bool
decode_path(const char *raw, size_t n, bool strict, struct buf *out)
{
	struct buf comp = BUF_INIT;
	size_t i = 0;
	bool ok = true;

	while (ok && i < n) {
		size_t j = i;
		while (j < n && raw[j] != '/')
			j++;
		buf_reset(&comp);
		if (!route_unescape(raw + i, j - i, true, &comp))
			ok = false;
		else if (comp.len > 0) {
			const char *s = buf_str(&comp);
			if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
				ok = false;
			if (strict) {
				ok = ok && s[0] != '.';
				for (size_t k = 0; ok && k < comp.len; k++)
					ok = isalnum((unsigned char)s[k]) ||
					    s[k] == '.' || s[k] == '_' ||
					    s[k] == '-';
			}
			if (ok) {
				if (out->len > 0)
					buf_addc(out, '/');
				buf_add(out, s, comp.len);
			}
		}
		i = j + 1;
	}
	buf_free(&comp);
	return ok;
}

/* Does `url` start with `prefix`, followed by its end or by a slash?
 * Where what follows begins. */
static const char *
under(const char *url, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(url, prefix, n) != 0)
		return NULL;
	if (url[n] == '\0')
		return url + n;
	if (url[n] == '/')
		return url + n + 1;
	return NULL;
}

static int
parse_blob(const char *name, struct route *out, struct perr *e)
{
	const char *dot = strchr(name, '.');
	int fmt;

	if (dot == NULL || dot - name != CACHE_KEY_LEN)
		return perr_set(e, ENOENT, "a blob is named <key>.<ext>, the "
		    "key 64 lower-case hex digits");
	for (size_t i = 0; i < CACHE_KEY_LEN; i++)
		if (!isxdigit((unsigned char)name[i]) ||
		    isupper((unsigned char)name[i]))
			return perr_set(e, ENOENT, "a blob's key is 64 "
			    "lower-case hex digits");
	fmt = format_from_ext(dot + 1, strlen(dot + 1));
	if (fmt < 0 || fmt == FMT_JSON)
		return perr_set(e, ENOENT, "'%s' is not the extension of a "
		    "part's format", dot + 1);
	memcpy(out->key.hex, name, CACHE_KEY_LEN);
	out->key.hex[CACHE_KEY_LEN] = '\0';
	out->fmt = (enum format)fmt;
	return 0;
}

int
route_parse(const char *url, struct route *out, struct perr *e)
{
	struct buf b = BUF_INIT;
	const char *rest;
	bool strict = false;

	memset(out, 0, sizeof *out);
	if (url == NULL || url[0] != '/')
		return perr_set(e, ENOENT, "a path starts with '/'");
	if (strcmp(url, "/") == 0) {
		out->kind = ROUTE_INDEX;
		return 0;
	}
	if ((rest = under(url, "/files")) != NULL)
		out->kind = ROUTE_FILES;
	else if ((rest = under(url, "/web/three")) != NULL) {
		out->kind = ROUTE_THREE;
		strict = true;
	} else if ((rest = under(url, "/web")) != NULL) {
		out->kind = ROUTE_WEB;
		strict = true;
	} else if ((rest = under(url, "/blobs")) != NULL)
		out->kind = ROUTE_BLOBS;
	else if ((rest = under(url, "/jobs")) != NULL)
		out->kind = ROUTE_JOBS;
	else if ((rest = under(url, "/status")) != NULL)
		out->kind = ROUTE_STATUS;
	else
		return perr_set(e, ENOENT, "no such resource: the API has /, "
		    "/files/, /blobs/, /jobs/, /status/ and /web/");
	if (!decode_path(rest, strlen(rest), strict, &b)) {
		buf_free(&b);
		return perr_set(e, ENOENT, "the path has a component that is "
		    "'.', '..', a bad %%-escape, an escaped '/' or a NUL%s",
		    strict ? ", or not a plain file name" : "");
	}
	out->path = buf_steal(&b);
	switch (out->kind) {
	case ROUTE_WEB:
	case ROUTE_THREE:
		if (out->path[0] == '\0') {
			route_clear(out);
			return perr_set(e, ENOENT, "/web/ serves files only");
		}
		break;
	case ROUTE_BLOBS:
		if (parse_blob(out->path, out, e) != 0) {
			route_clear(out);
			return -ENOENT;
		}
		break;
	case ROUTE_JOBS: {
		size_t n = strlen(out->path);
		bool ok = n == ROUTE_JOB_LEN;
		for (size_t i = 0; ok && i < n; i++)
			ok = isxdigit((unsigned char)out->path[i]) &&
			    !isupper((unsigned char)out->path[i]);
		if (!ok) {
			route_clear(out);
			return perr_set(e, ENOENT, "a job id is %d lower-case "
			    "hex digits", ROUTE_JOB_LEN);
		}
		break;
	}
	case ROUTE_STATUS:
		if (strcmp(out->path, "jobs") != 0 &&
		    strcmp(out->path, "stats") != 0 &&
		    strcmp(out->path, "errors") != 0 &&
		    strcmp(out->path, "warnings") != 0 &&
		    strcmp(out->path, "version") != 0) {
			route_clear(out);
			return perr_set(e, ENOENT, "the status files are jobs, "
			    "stats, errors, warnings and version");
		}
		break;
	default:
		break;
	}
	return 0;
}

void
route_clear(struct route *r)
{
	free(r->path);
	r->path = NULL;
}

static const char *
skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* A decimal number of at most 19 digits at *s, advanced past it. */
static bool
read_u64(const char **s, uint64_t *v)
{
	const char *p = *s;
	uint64_t n = 0;
	int digits = 0;

	while (isdigit((unsigned char)*p)) {
		if (++digits > 19)
			return false;
		n = n * 10 + (uint64_t)(*p++ - '0');
	}
	if (digits == 0)
		return false;
	*s = p;
	*v = n;
	return true;
}

int
route_range(const char *header, uint64_t size, uint64_t *start,
    uint64_t *len)
{
	const char *s;
	uint64_t a, b;

	if (header == NULL || strncmp(header, "bytes=", 6) != 0)
		return 0;
	s = skip_ws(header + 6);
	if (strchr(s, ',') != NULL)
		return 0;
	if (*s == '-') {
		/* the last b bytes */
		s++;
		if (!read_u64(&s, &b) || *skip_ws(s) != '\0')
			return 0;
		if (b == 0 || size == 0)
			return -1;
		if (b > size)
			b = size;
		*start = size - b;
		*len = b;
		return 1;
	}
	if (!read_u64(&s, &a) || *s++ != '-')
		return 0;
	if (*skip_ws(s) == '\0')
		b = UINT64_MAX;
	else if (!read_u64(&s, &b) || *skip_ws(s) != '\0' || b < a)
		return 0;
	if (a >= size)
		return -1;
	if (b >= size)
		b = size - 1;
	*start = a;
	*len = b - a + 1;
	return 1;
}

bool
route_etag_match(const char *header, const char *etag)
{
	const char *s = header;
	size_t n = strlen(etag);

	if (header == NULL)
		return false;
	for (;;) {
		size_t m;
		s = skip_ws(s);
		while (*s == ',')
			s = skip_ws(s + 1);
		if (*s == '\0')
			return false;
		if (*s == '*')
			return true;
		if (strncmp(s, "W/", 2) == 0)
			s += 2;
		m = strcspn(s, ", \t");
		if (m == n && strncmp(s, etag, n) == 0)
			return true;
		s += m;
	}
}

bool
route_prefer_async(const char *header)
{
	const char *s = header;

	if (header == NULL)
		return false;
	while (*s != '\0') {
		size_t m;
		s = skip_ws(s);
		m = strcspn(s, ",; \t=");
		if (m == 13 && strncasecmp(s, "respond-async", 13) == 0)
			return true;
		s += strcspn(s, ",");
		if (*s == ',')
			s++;
	}
	return false;
}

/* The q-value of a media range's parameters at `s` (up to ',' or the
 * end): 1 when none is given, 0 when it is malformed. */
static double
qvalue(const char *s)
{
	while (*s != '\0' && *s != ',') {
		if (*s == ';') {
			s = skip_ws(s + 1);
			if ((s[0] == 'q' || s[0] == 'Q') && s[1] == '=') {
				char *end;
				double q = strtod(s + 2, &end);
				return q >= 0 && q <= 1 ? q : 0;
			}
			continue;
		}
		s++;
	}
	return 1;
}

bool
route_wants_html(const char *header)
{
	double html = -1, json = -1, json_sub = -1, any = -1;
	const char *s = header;

	if (header == NULL)
		return false;
	while (*s != '\0') {
		size_t m;
		double q;
		s = skip_ws(s);
		m = strcspn(s, ",; \t");
		q = qvalue(s + m);
		if (m == 9 && strncasecmp(s, "text/html", 9) == 0)
			html = q;
		else if (m == 16 && strncasecmp(s, "application/json", 16) == 0)
			json = q;
		else if (m == 13 && strncasecmp(s, "application/*", 13) == 0)
			json_sub = q;
		else if (m == 3 && strncmp(s, "*/*", 3) == 0)
			any = q;
		s += strcspn(s, ",");
		if (*s == ',')
			s++;
	}
	if (json < 0)
		json = json_sub >= 0 ? json_sub : any;
	return html > 0 && html >= json;
}
