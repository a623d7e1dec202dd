/* status.c -- the files of /.partsfs: jobs under way, counters, recent
 * failures, the library's load warnings and the version, made afresh
 * each time they are read. */
#include "config.h"

#include <stdlib.h>
#include <time.h>

#include "fs.h"

static const char *const status_names[] = {
	[ST_JOBS] = "jobs",
	[ST_STATS] = "stats",
	[ST_ERRORS] = "errors",
	[ST_WARNINGS] = "warnings",
	[ST_VERSION] = "version",
};

const char *
fs_status_name(enum status_file f)
{
	return f >= ST_JOBS && f <= ST_VERSION ? status_names[f] : NULL;
}

char *
fs_status_text(struct fs *fs, enum status_file f)
{
	struct buf b = BUF_INIT;

	switch (f) {
	case ST_JOBS:
		core_status(fs->core, CORE_JOBS, &b);
		break;
	case ST_STATS:
		core_status(fs->core, CORE_STATS, &b);
		buf_printf(&b, "opens %ju\n", (uintmax_t)atomic_load(&fs->opens));
		buf_printf(&b, "interrupted %ju\n",
		    (uintmax_t)atomic_load(&fs->interrupted));
		buf_printf(&b, "inodes %zu\n", inodes_count(fs->inodes));
		buf_printf(&b, "uptime %jd\n",
		    (intmax_t)(time(NULL) - fs->started));
		break;
	case ST_ERRORS:
		core_status(fs->core, CORE_ERRORS, &b);
		break;
	case ST_WARNINGS:
		core_status(fs->core, CORE_WARNINGS, &b);
		break;
	case ST_VERSION:
		core_status(fs->core, CORE_VERSION, &b);
		break;
	default:
		break;
	}
	return buf_steal(&b);
}
