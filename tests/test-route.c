/* test-route.c -- partsctl serve's request parsing (route.c): methods,
 * URL paths into routes with every spelling of traversal refused, byte
 * ranges, entity tags, Prefer and Accept. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "partsfs/serve/route.h"
#include "tap.h"

/* The route of `url` (ROUTE_INDEX when it does not parse: a failed
 * check), with its path. */
static enum route_kind
kind_of(const char *url, char **path)
{
	struct route r;
	struct perr e = { 0 };
	bool ok = route_parse(url, &r, &e) == 0;

	*path = NULL;
	if (!ok) {
		tap_fail(__FILE__, __LINE__, "%s: %s", url, e.msg);
		return ROUTE_INDEX;
	}
	*path = r.path != NULL ? strdup(r.path) : NULL;
	route_clear(&r);
	return r.kind;
}

static void
refused(const char *url)
{
	struct route r;
	struct perr e = { 0 };

	CHECK_MSG(route_parse(url, &r, &e) == -ENOENT, "%s was accepted", url);
	CHECK_MSG(e.msg[0] != '\0', "%s: no reason", url);
}

static void
only_get_and_head_are_read_methods(void)
{
	CHECK(route_method("GET") == ROUTE_GET);
	CHECK(route_method("HEAD") == ROUTE_HEAD);
	CHECK(route_method("get") == ROUTE_OTHER);
	CHECK(route_method("POST") == ROUTE_OTHER);
	CHECK(route_method("OPTIONS") == ROUTE_OTHER);
	CHECK(route_method(NULL) == ROUTE_OTHER);
}

static void
urls_parse_into_routes_with_decoded_paths(void)
{
	char *p;

	CHECK(kind_of("/", &p) == ROUTE_INDEX);
	free(p);
	CHECK(kind_of("/files", &p) == ROUTE_FILES);
	CHECK_STR(p, "");
	free(p);
	CHECK(kind_of("/files/", &p) == ROUTE_FILES);
	CHECK_STR(p, "");
	free(p);
	CHECK(kind_of("/files/bolts//hex_screw/M8/", &p) == ROUTE_FILES);
	CHECK_STR(p, "bolts/hex_screw/M8");
	free(p);
	CHECK(kind_of("/files/by-name/Hex%20screw/length%3D20.step", &p) ==
	    ROUTE_FILES);
	CHECK_STR(p, "by-name/Hex screw/length=20.step");
	free(p);
	CHECK(kind_of("/files/a+b", &p) == ROUTE_FILES);
	CHECK_STR(p, "a+b");
	free(p);
	CHECK(kind_of("/web/app.js", &p) == ROUTE_WEB);
	CHECK_STR(p, "app.js");
	free(p);
	CHECK(kind_of("/web/three/build/three.module.js", &p) == ROUTE_THREE);
	CHECK_STR(p, "build/three.module.js");
	free(p);
	CHECK(kind_of("/jobs/0123456789abcdef", &p) == ROUTE_JOBS);
	free(p);
	CHECK(kind_of("/status/stats", &p) == ROUTE_STATUS);
	CHECK_STR(p, "stats");
	free(p);
}

static void
blobs_are_a_key_and_an_extension(void)
{
	struct route r;
	struct perr e = { 0 };
	char url[128];

	snprintf(url, sizeof url, "/blobs/%064d.stl", 7);
	CHECK(route_parse(url, &r, &e) == 0);
	CHECK(r.kind == ROUTE_BLOBS);
	CHECK(r.fmt == FMT_STL);
	CHECK(strlen(r.key.hex) == 64 && r.key.hex[63] == '7');
	route_clear(&r);
	snprintf(url, sizeof url, "/blobs/%064d.json", 7);
	refused(url);
	snprintf(url, sizeof url, "/blobs/%064d", 7);
	refused(url);
	refused("/blobs/ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
	    "0123456789.stl");
	refused("/blobs/../x.stl");
	refused("/jobs/0123");
	refused("/jobs/0123456789ABCDEF");
	refused("/status/passwd");
	refused("/status/../files");
}

static void
traversal_in_every_spelling_is_refused(void)
{
	static const char *const urls[] = {
		"/files/..", "/files/../etc/passwd", "/files/bolts/../..",
		"/files/%2e%2e/x", "/files/%2E%2E/x", "/files/.%2e/x",
		"/files/..%2fx", "/files/%2fetc%2fpasswd", "/files/a%2Fb",
		"/files/%00", "/files/a%00b", "/files/./bolts", "/files/%2e",
		"/files/%", "/files/%4", "/files/%zz", "/web/../x",
		"/web/%2e%2e/x", "/web/.htaccess", "/web/a%2fb", "/web/",
		"/web/a b", "/web/three/../x", "/web/three/", "/nothing",
		"files/x", "", "/filesx", "/web/three%2f..%2fx",
	};

	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++)
		refused(urls[i]);
	refused(NULL);
}

static void
paths_are_escaped_for_urls(void)
{
	struct buf b = BUF_INIT;

	route_escape("by-name/Hex screw/length=20,x.step", &b);
	CHECK_STR(buf_str(&b), "by-name/Hex%20screw/length=20,x.step");
	buf_reset(&b);
	route_escape("a%b?c#d", &b);
	CHECK_STR(buf_str(&b), "a%25b%3Fc%23d");
	buf_free(&b);
}

static void
ranges_follow_rfc_9110(void)
{
	uint64_t s = 0, n = 0;

	CHECK_INT(route_range(NULL, 100, &s, &n), 0);
	CHECK_INT(route_range("bytes=0-9", 100, &s, &n), 1);
	CHECK_INT(s, 0);
	CHECK_INT(n, 10);
	CHECK_INT(route_range("bytes=90-", 100, &s, &n), 1);
	CHECK_INT(s, 90);
	CHECK_INT(n, 10);
	CHECK_INT(route_range("bytes=-10", 100, &s, &n), 1);
	CHECK_INT(s, 90);
	CHECK_INT(n, 10);
	CHECK_INT(route_range("bytes=-1000", 100, &s, &n), 1);
	CHECK_INT(s, 0);
	CHECK_INT(n, 100);
	CHECK_INT(route_range("bytes=50-1000", 100, &s, &n), 1);
	CHECK_INT(n, 50);
	CHECK_INT(route_range("bytes=100-", 100, &s, &n), -1);
	CHECK_INT(route_range("bytes=-0", 100, &s, &n), -1);
	CHECK_INT(route_range("bytes=0-0", 0, &s, &n), -1);
	CHECK_INT(route_range("bytes=9-1", 100, &s, &n), 0);
	CHECK_INT(route_range("bytes=0-1,5-6", 100, &s, &n), 0);
	CHECK_INT(route_range("items=0-1", 100, &s, &n), 0);
	CHECK_INT(route_range("bytes=x-1", 100, &s, &n), 0);
	CHECK_INT(route_range("bytes=99999999999999999999-", 100, &s, &n), 0);
}

static void
entity_tags_match_weakly_and_star_matches_all(void)
{
	CHECK(route_etag_match("\"abc\"", "\"abc\""));
	CHECK(route_etag_match("W/\"abc\"", "\"abc\""));
	CHECK(route_etag_match("\"x\", \"abc\"", "\"abc\""));
	CHECK(route_etag_match("*", "\"abc\""));
	CHECK(!route_etag_match("\"abcd\"", "\"abc\""));
	CHECK(!route_etag_match("abc", "\"abc\""));
	CHECK(!route_etag_match("", "\"abc\""));
	CHECK(!route_etag_match(NULL, "\"abc\""));
}

static void
prefer_and_accept_are_read_as_lists(void)
{
	CHECK(route_prefer_async("respond-async"));
	CHECK(route_prefer_async("wait=10, Respond-Async"));
	CHECK(route_prefer_async("respond-async; x=1"));
	CHECK(!route_prefer_async("respond-asynchronously"));
	CHECK(!route_prefer_async(NULL));
	CHECK(route_wants_html("text/html,application/xhtml+xml,"
	    "application/xml;q=0.9,*/*;q=0.8"));
	CHECK(!route_wants_html("*/*"));
	CHECK(!route_wants_html("application/json"));
	CHECK(!route_wants_html("text/html;q=0.5, application/json"));
	CHECK(!route_wants_html("text/html;q=0"));
	CHECK(route_wants_html("text/html"));
	CHECK(!route_wants_html(NULL));
	/* a parameter list ending the header (found by fuzz-route) */
	CHECK(route_wants_html("text/html;"));
	CHECK(route_wants_html("*/*;q=0.1, text/html; "));
}

TAP_MAIN(
	TAP_CASE(only_get_and_head_are_read_methods),
	TAP_CASE(urls_parse_into_routes_with_decoded_paths),
	TAP_CASE(blobs_are_a_key_and_an_extension),
	TAP_CASE(traversal_in_every_spelling_is_refused),
	TAP_CASE(paths_are_escaped_for_urls),
	TAP_CASE(ranges_follow_rfc_9110),
	TAP_CASE(entity_tags_match_weakly_and_star_matches_all),
	TAP_CASE(prefer_and_accept_are_read_as_lists),
)
