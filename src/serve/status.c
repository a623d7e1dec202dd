/* status.c -- GET /status/{jobs,stats,errors,warnings,version}: the core's
 * status texts (as in /.partsfs/), stats with the server's counters. */
#include "config.h"

#include <string.h>
#include <time.h>

#include "partsfs/serve/status.h"

void
status_answer(struct serve *s, struct http_req *r, const char *name)
{
	struct buf b = BUF_INIT;
	size_t conns = 0, waiting = 0;

	if (strcmp(name, "jobs") == 0)
		core_status(s->core, CORE_JOBS, &b);
	else if (strcmp(name, "errors") == 0)
		core_status(s->core, CORE_ERRORS, &b);
	else if (strcmp(name, "warnings") == 0)
		core_status(s->core, CORE_WARNINGS, &b);
	else if (strcmp(name, "version") == 0)
		core_status(s->core, CORE_VERSION, &b);
	else {
		core_status(s->core, CORE_STATS, &b);
		for (size_t i = 0; i < s->ndaemons; i++) {
			conns += http_connections(s->daemons[i]);
			waiting += http_waiting(s->daemons[i]);
		}
		buf_printf(&b, "requests %ju\n",
		    (uintmax_t)atomic_load(&s->requests));
		buf_printf(&b, "connections %zu\n", conns);
		buf_printf(&b, "waiting %zu\n", waiting);
		buf_printf(&b, "uptime %jd\n",
		    (intmax_t)(time(NULL) - s->started));
	}
	http_reply_buf(r, 200, "text/plain; charset=utf-8", buf_str(&b), b.len,
	    (const char *[]){ "Cache-Control", "no-store", NULL });
	buf_free(&b);
}
