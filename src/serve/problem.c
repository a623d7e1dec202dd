/* problem.c -- RFC 9457 problem details for partsctl serve's errors:
 * their shape, and what a failed fetch of a part answers. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "partsfs/serve/problem.h"
#include "partsfs/util/util.h"

json_t *
problem_new(int status, const char *type, const char *title,
    const char *detail)
{
	json_t *p = json_object();
	char *t = NULL;

	if (type != NULL)
		t = xasprintf("urn:partsfs:problem:%s", type);
	json_object_set_new(p, "type", json_string(t != NULL ? t :
	    "about:blank"));
	json_object_set_new(p, "title", json_string(title));
	json_object_set_new(p, "status", json_integer(status));
	if (detail != NULL && utf8_valid(detail, strlen(detail)))
		json_object_set_new(p, "detail", json_string(detail));
	free(t);
	return p;
}

int
problem_status(const json_t *p)
{
	json_t *s = json_object_get(p, "status");

	return json_is_integer(s) ? (int)json_integer_value(s) : 500;
}

json_t *
problem_of_fetch(struct fetch *f)
{
	const char *engine = fetch_executor(f);
	const char *why = fetch_error(f);
	json_t *p;

	if (fetch_system(f)) {
		p = problem_new(503, "unavailable", "The part could not be "
		    "made or stored now", why);
		json_object_set_new(p, "retry-after", json_integer(10));
	} else if (fetch_errno(f) == ENOENT)
		p = problem_new(404, "not-made", "Nothing makes this part",
		    why);
	else if (fetch_errno(f) == ENOEXEC)
		p = problem_new(500, "engine-missing", "The engine of this "
		    "part is not installed", why);
	else
		p = problem_new(500, "job-failed", "The job making this part "
		    "failed", why);
	json_object_set_new(p, "path", json_string(fetch_path(f)));
	if (engine != NULL)
		json_object_set_new(p, "engine", json_string(engine));
	return p;
}
