/* status.c -- the files of /.partsfs: jobs under way, counters, recent
 * failures and the version, made afresh each time they are read. */
#include "config.h"

#include <stdlib.h>
#include <time.h>

#include "fs.h"

static void
stats(struct fs *fs, struct buf *b)
{
	struct jobs_stats js;
	struct cache_stats cs = { 0 };
	struct library *lib = core_library(fs->core);

	jobs_get_stats(fs->core->jobs, &js);
	cache_stats(fs->core->cache, &cs);
	buf_printf(b, "hits %ju\n", (uintmax_t)atomic_load(&fs->core->hits));
	buf_printf(b, "misses %ju\n",
	    (uintmax_t)atomic_load(&fs->core->misses));
	buf_printf(b, "jobs_run %ju\n", (uintmax_t)js.runs);
	buf_printf(b, "jobs_done %ju\n", (uintmax_t)js.done);
	buf_printf(b, "jobs_failed %ju\n", (uintmax_t)js.failed);
	buf_printf(b, "jobs_stale %ju\n", (uintmax_t)js.stale);
	buf_printf(b, "jobs_joined %ju\n", (uintmax_t)js.joined);
	buf_printf(b, "jobs_prefetched %ju\n", (uintmax_t)js.prefetched);
	buf_printf(b, "jobs_pending %zu\n", jobs_pending(fs->core->jobs));
	buf_printf(b, "opens %ju\n", (uintmax_t)atomic_load(&fs->opens));
	buf_printf(b, "interrupted %ju\n",
	    (uintmax_t)atomic_load(&fs->interrupted));
	buf_printf(b, "cache_entries %ju\n", (uintmax_t)cs.entries);
	buf_printf(b, "cache_bytes %ju\n", (uintmax_t)cs.bytes);
	buf_printf(b, "cache_index_bytes %ju\n", (uintmax_t)cs.index_bytes);
	buf_printf(b, "cache_max_bytes %ju\n", (uintmax_t)cs.max_bytes);
	buf_printf(b, "failures_remembered %ju\n", (uintmax_t)cs.failures);
	buf_printf(b, "inodes %zu\n", inodes_count(fs->inodes));
	buf_printf(b, "collections %zu\n", lib->ncolls);
	buf_printf(b, "classes %zu\n", lib->nclasses);
	buf_printf(b, "uptime %jd\n", (intmax_t)(time(NULL) - fs->started));
	library_unref(lib);
}

char *
status_text(struct fs *fs, enum status_file f)
{
	struct buf b = BUF_INIT;

	switch (f) {
	case ST_JOBS:
		jobs_describe(fs->core->jobs, &b);
		break;
	case ST_STATS:
		stats(fs, &b);
		break;
	case ST_ERRORS:
		jobs_errors(fs->core->jobs, &b);
		pthread_mutex_lock(&fs->lock);
		buf_adds(&b, buf_str(&fs->library_errors));
		pthread_mutex_unlock(&fs->lock);
		break;
	case ST_VERSION:
		buf_printf(&b, "partsfs %s\nlibrary %s\nconfig %s\ncache %s\n",
		    PACKAGE_VERSION, fs->core->root,
		    fs->config_file != NULL ? fs->config_file : "(defaults)",
		    cache_dir(fs->core->cache));
		break;
	default:
		break;
	}
	return buf_steal(&b);
}
