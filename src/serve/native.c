/* native.c -- the native API's site: read-only methods, one route per
 * subsystem (files.c, blobs.c, jobs.c, status.c, web.c), and the index. */
#include "config.h"

#include <string.h>

#include "partsfs/serve/blobs.h"
#include "partsfs/serve/files.h"
#include "partsfs/serve/native.h"
#include "partsfs/serve/problem.h"
#include "partsfs/serve/route.h"
#include "partsfs/serve/status.h"
#include "partsfs/serve/web.h"

json_t *
native_index(struct serve *s)
{
	json_t *j = json_object(), *api = json_object();
	const char *root = s->core->root, *slash = strrchr(root, '/');

	json_object_set_new(j, "service", json_string("partsfs"));
	json_object_set_new(j, "version", json_string(PACKAGE_VERSION));
	json_object_set_new(j, "library", json_string(slash != NULL &&
	    slash[1] != '\0' ? slash + 1 : root));
	json_object_set_new(api, "files", json_string("/files/{path}"));
	json_object_set_new(api, "blobs", json_string("/blobs/{key}.{ext}"));
	json_object_set_new(api, "jobs", json_string("/jobs/{id}"));
	json_object_set_new(api, "status", json_pack("[sssss]",
	    "/status/jobs", "/status/stats", "/status/errors",
	    "/status/warnings", "/status/version"));
	json_object_set_new(api, "web", json_string("/web/"));
	json_object_set_new(j, "api", api);
	return j;
}

void
native_answer(void *arg, struct http_req *r)
{
	struct serve *s = arg;
	struct perr e = { 0 };
	struct route rt;

	if (http_state(r) == NULL)
		atomic_fetch_add(&s->requests, 1);
	if (route_method(http_method(r)) == ROUTE_OTHER) {
		http_reply_problem(r, problem_new(405, NULL, "Method Not "
		    "Allowed", "the library is read-only: GET and HEAD only"),
		    (const char *[]){ "Allow", "GET, HEAD", NULL });
		return;
	}
	if (route_parse(http_url(r), &rt, &e) != 0) {
		json_t *p = problem_new(404, NULL, "Not Found", e.msg);
		http_reply_problem(r, p, NULL);
		return;
	}
	switch (rt.kind) {
	case ROUTE_INDEX:
		if (route_wants_html(http_header(r, "Accept")))
			web_answer(r, s->webdir, "index.html");
		else
			http_reply_json(r, 200, native_index(s), NULL);
		break;
	case ROUTE_FILES:
		files_answer(s, r, rt.path);
		break;
	case ROUTE_BLOBS:
		blobs_answer(s, r, &rt.key, rt.fmt);
		break;
	case ROUTE_JOBS:
		jobs_answer(s->jobs, r, rt.path);
		break;
	case ROUTE_STATUS:
		status_answer(s, r, rt.path);
		break;
	case ROUTE_WEB:
		web_answer(r, s->webdir, rt.path);
		break;
	case ROUTE_THREE:
		web_answer(r, s->threedir, rt.path);
		break;
	}
	route_clear(&rt);
}
