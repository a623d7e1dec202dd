/* web.c -- the web page's static files and three.js, each a regular file
 * opened beneath its directory (openat2 RESOLVE_BENEATH, or realpath). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "partsfs/serve/problem.h"
#include "partsfs/serve/web.h"
#include "partsfs/util/confine.h"

char *
web_dir(const char *conf_web, const char *pkgdatadir)
{
	const char *env = getenv("PARTSFS_WEBDIR");

	if (conf_web != NULL)
		return xstrdup(conf_web);
	if (env != NULL && env[0] != '\0')
		return xstrdup(env);
	return xasprintf("%s/web", pkgdatadir);
}

static const char *
mime_of(const char *name)
{
	static const char *const types[][2] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".mjs", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".json", "application/json" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/vnd.microsoft.icon" },
		{ ".txt", "text/plain; charset=utf-8" },
		{ ".map", "application/json" },
		{ ".wasm", "application/wasm" },
	};
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot != NULL && i < PF_ARRAY_LEN(types); i++)
		if (strcmp(dot, types[i][0]) == 0)
			return types[i][1];
	return "application/octet-stream";
}

void
web_answer(struct http_req *r, const char *dir, const char *rel)
{
	struct stat st;
	int fd = open_beneath(dir, rel, O_RDONLY | O_NONBLOCK, NULL, NULL);
	char date[32];

	if (fd != -1 && (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	if (fd == -1) {
		http_reply_problem(r, problem_new(404, NULL, "Not Found",
		    "no such file of the web page"), NULL);
		return;
	}
	serve_http_date(st.st_mtime, date);
	http_reply_fd(r, 200, mime_of(rel), fd, 0, (uint64_t)st.st_size,
	    (const char *[]){ "Cache-Control", "no-cache", "Last-Modified",
	    date, NULL });
}
