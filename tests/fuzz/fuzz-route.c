/* fuzz-route.c -- libFuzzer harness for partsctl serve's request parsing
 * (route.c): the input's first line as a URL path, the next lines as the
 * Range, If-None-Match, Prefer and Accept headers.  Invariants: a route's
 * path never holds "." or ".." components, a NUL, an empty component or a
 * leading slash; a web file's names are plain; escaping a tree path and
 * decoding it gives it back; a range lies inside the representation. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "partsfs/serve/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
broken(const char *what, const char *url)
{
	fprintf(stderr, "invariant broken: %s (url '%s')\n", what, url);
	abort();
}

static void
check_path(const struct route *r, const char *url)
{
	const char *p = r->path;
	struct buf esc = BUF_INIT, back = BUF_INIT;

	if (p == NULL)
		broken("no path", url);
	if (p[0] == '/')
		broken("a leading slash", url);
	if (strstr(p, "//") != NULL)
		broken("an empty component", url);
	for (const char *c = p; *c != '\0';) {
		size_t n = strcspn(c, "/");
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' &&
		    c[1] == '.'))
			broken("a dot component", url);
		if ((r->kind == ROUTE_WEB || r->kind == ROUTE_THREE) &&
		    c[0] == '.')
			broken("a hidden web file", url);
		c += n;
		if (*c == '/')
			c++;
	}
	if (r->kind == ROUTE_FILES) {
		route_escape(p, &esc);
		if (!route_unescape(buf_str(&esc), esc.len,
		    false, &back) || strcmp(buf_str(&back), p) != 0)
			broken("escaping does not round-trip", url);
	}
	buf_free(&esc);
	buf_free(&back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *lines[5] = { NULL };
	struct route r;
	struct perr e = { 0 };
	uint64_t start, len, total;
	size_t n = 0;

	memcpy(text, data, size);
	text[size] = '\0';
	for (char *s = text; n < 5 && s != NULL; n++) {
		lines[n] = s;
		if ((s = strchr(s, '\n')) != NULL)
			*s++ = '\0';
	}
	if (route_parse(lines[0], &r, &e) == 0) {
		if (r.kind != ROUTE_INDEX && r.kind != ROUTE_BLOBS)
			check_path(&r, lines[0]);
		route_clear(&r);
	} else if (e.msg[0] == '\0')
		broken("refused without a reason", lines[0]);
	total = size * 37u;
	switch (route_range(lines[1], total, &start, &len)) {
	case 1:
		if (len == 0 || start >= total || len > total - start)
			broken("a range outside the representation", lines[1]);
		break;
	case 0:
	case -1:
		break;
	default:
		broken("route_range's result", lines[1]);
	}
	(void)route_etag_match(lines[2], "\"0123\"");
	(void)route_prefer_async(lines[3]);
	(void)route_wants_html(lines[4]);
	(void)route_method(lines[0]);
	free(text);
	return 0;
}
