/* core.c -- the core's front door: owning the configuration, the current
 * library snapshot, the cache and the job engine, and what a front end
 * shows of them (jobs, counters, errors, the library's warnings). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "partsfs/core/core.h"
#include "partsfs/model/load.h"
#include "partsfs/util/log.h"

/* The library problems kept for the errors text: the newest, within this
 * many bytes. */
#define LIBRARY_ERRORS_MAX (64 * 1024)

struct core *
core_open(const char *root, struct conf *conf, struct cache *cache,
    struct perr *e)
{
	struct library_opts opts = { .conf = conf };
	struct library *lib;

	if ((lib = library_load(root, &opts, e)) == NULL) {
		cache_close(cache);
		conf_free(conf);
		return NULL;
	}
	return core_new(lib, conf, cache, e);
}

struct core *
core_new(struct library *lib, struct conf *conf, struct cache *cache,
    struct perr *e)
{
	struct core *c;

	if (cache == NULL)
		cache = cache_open(conf->cache_dir, conf->cache_max,
		    conf->negative_ttl, e);
	if (cache == NULL) {
		library_unref(lib);
		conf_free(conf);
		return NULL;
	}
	c = xcalloc(1, sizeof *c);
	if ((c->env.sandbox = sandbox_new(conf, e)) == NULL) {
		free(c);
		cache_close(cache);
		library_unref(lib);
		conf_free(conf);
		return NULL;
	}
	c->conf = conf;
	c->root = xstrdup(lib->root);
	c->lib = lib;
	c->cache = cache;
	c->env.conf = conf;
	c->env.cache = cache;
	c->env.root = c->root;
	c->env.versions = versions_new();
	c->env.sources = sources_new();
	pthread_mutex_init(&c->lock, NULL);
	c->jobs = jobs_new(&c->env, conf->workers);
	return c;
}

char *
core_engines(struct core *c)
{
	return sandbox_describe(c->env.sandbox);
}

char *
core_engines_under(const struct conf *conf, struct perr *e)
{
	struct sandbox *sb = sandbox_new(conf, e);
	char *text;

	if (sb == NULL)
		return NULL;
	text = sandbox_describe(sb);
	sandbox_free(sb);
	return text;
}

void
core_stop(struct core *c)
{
	jobs_stop(c->jobs);
}

void
core_close(struct core *c)
{
	if (c == NULL)
		return;
	jobs_free(c->jobs);
	cache_close(c->cache);
	library_unref(c->lib);
	versions_free(c->env.versions);
	sources_free(c->env.sources);
	sandbox_free(c->env.sandbox);
	pthread_mutex_destroy(&c->lock);
	buf_free(&c->library_errors);
	conf_free(c->conf);
	free(c->root);
	free(c);
}

struct library *
core_library(struct core *c)
{
	struct library *lib;

	pthread_mutex_lock(&c->lock);
	lib = library_ref(c->lib);
	pthread_mutex_unlock(&c->lock);
	return lib;
}

void
core_set_library(struct core *c, struct library *lib)
{
	struct library *old;

	/* before the new library is seen: a key planned for it must come
	 * from its files as they are now */
	plan_forget_recent(&c->env);
	pthread_mutex_lock(&c->lock);
	old = c->lib;
	c->lib = lib;
	pthread_mutex_unlock(&c->lock);
	library_unref(old);
}

/* Drop the oldest problems of `b` (each a line of its time, then lines
 * indented by two spaces) until it is within LIBRARY_ERRORS_MAX, the
 * newest kept whole. */
static void
trim_oldest(struct buf *b)
{
	size_t cut = 0;

	while (b->len - cut > LIBRARY_ERRORS_MAX) {
		const char *next = b->p + cut;
		/* the start of the next problem: a line not indented */
		do {
			next = memchr(next, '\n', b->len - (size_t)(next - b->p));
			if (next == NULL || ++next >= b->p + b->len)
				return;   /* the newest alone is kept */
		} while (next[0] == ' ');
		cut = (size_t)(next - b->p);
	}
	if (cut > 0) {
		memmove(b->p, b->p + cut, b->len - cut + 1);
		b->len -= cut;
	}
}

void
core_library_error(struct core *c, const char *msg)
{
	time_t now = time(NULL);
	size_t len = strlen(msg);
	char when[32];
	struct tm tm;

	/* one log line per line of the message, none for its last newline */
	while (len > 0 && msg[len - 1] == '\n')
		len--;
	log_warning("%.*s", (int)len, msg);
	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	pthread_mutex_lock(&c->lock);
	buf_printf(&c->library_errors, "%s library\n", when);
	for (const char *s = msg; *s;) {
		size_t n = strcspn(s, "\n");
		buf_printf(&c->library_errors, "  %.*s\n", (int)n, s);
		s += n + (s[n] == '\n');
	}
	trim_oldest(&c->library_errors);
	pthread_mutex_unlock(&c->lock);
}

void
core_on_made(struct core *c, void (*fn)(void *arg, const char *path,
    int fd, const struct cache_entry *entry), void *arg)
{
	jobs_on_made(c->jobs, fn, arg);
}

static void
stats(struct core *c, struct buf *b)
{
	struct jobs_stats js;
	struct cache_stats cs = { 0 };
	struct library *lib = core_library(c);

	jobs_get_stats(c->jobs, &js);
	cache_stats(c->cache, &cs);
	buf_printf(b, "hits %ju\n", (uintmax_t)atomic_load(&c->hits));
	buf_printf(b, "misses %ju\n", (uintmax_t)atomic_load(&c->misses));
	buf_printf(b, "jobs_run %ju\n", (uintmax_t)js.runs);
	buf_printf(b, "jobs_done %ju\n", (uintmax_t)js.done);
	buf_printf(b, "jobs_failed %ju\n", (uintmax_t)js.failed);
	buf_printf(b, "jobs_stale %ju\n", (uintmax_t)js.stale);
	buf_printf(b, "jobs_joined %ju\n", (uintmax_t)js.joined);
	buf_printf(b, "jobs_prefetched %ju\n", (uintmax_t)js.prefetched);
	buf_printf(b, "jobs_pending %zu\n", jobs_pending(c->jobs));
	buf_printf(b, "cache_entries %ju\n", (uintmax_t)cs.entries);
	buf_printf(b, "cache_bytes %ju\n", (uintmax_t)cs.bytes);
	buf_printf(b, "cache_index_bytes %ju\n", (uintmax_t)cs.index_bytes);
	buf_printf(b, "cache_max_bytes %ju\n", (uintmax_t)cs.max_bytes);
	buf_printf(b, "failures_remembered %ju\n", (uintmax_t)cs.failures);
	buf_printf(b, "collections %zu\n", lib->ncolls);
	buf_printf(b, "classes %zu\n", lib->nclasses);
	buf_printf(b, "library_warnings %zu\n", lib->diags.nwarnings);
	library_unref(lib);
}

/* The warnings of the library served, as partsctl check prints them: a
 * live reload's snapshot brings those of its load. */
static void
warnings(struct core *c, struct buf *b)
{
	struct library *lib = core_library(c);

	for (size_t i = 0; i < lib->diags.n; i++) {
		char *s;
		if (lib->diags.v[i].severity != DIAG_WARNING)
			continue;
		s = diag_format(&lib->diags.v[i]);
		buf_printf(b, "%s\n", s);
		free(s);
	}
	library_unref(lib);
}

void
core_status(struct core *c, enum core_status what, struct buf *out)
{
	switch (what) {
	case CORE_JOBS:
		jobs_describe(c->jobs, out);
		break;
	case CORE_STATS:
		stats(c, out);
		break;
	case CORE_ERRORS:
		jobs_errors(c->jobs, out);
		pthread_mutex_lock(&c->lock);
		buf_adds(out, buf_str(&c->library_errors));
		pthread_mutex_unlock(&c->lock);
		break;
	case CORE_WARNINGS:
		warnings(c, out);
		break;
	case CORE_VERSION:
		buf_printf(out, "partsfs %s\nlibrary %s\nconfig %s\ncache %s\n",
		    PACKAGE_VERSION, c->root, c->conf->file != NULL ?
		    c->conf->file : "(defaults)", cache_dir(c->cache));
		break;
	}
}

char *
core_error_for(struct core *c, const char *path)
{
	return jobs_error_for(c->jobs, path);
}

size_t
core_pending(struct core *c)
{
	return jobs_pending(c->jobs);
}

int
core_part_key(struct core *c, const struct pnode *part,
    struct cache_key *key)
{
	return plan_key_recent(&c->env, part, key);
}

int
core_open_made(struct core *c, const struct cache_key *key, enum format fmt,
    bool touch, struct stat *st)
{
	/* checked as any part served: without the index once this process
	 * has hashed the file */
	int fd = cache_blob_serve(c->cache, key, fmt, st);

	if (fd == -1)
		return -1;
	atomic_fetch_add(&c->hits, 1);
	if (touch)
		cache_touch(c->cache, key);
	return fd;
}

bool
core_made_size(struct core *c, const struct cache_key *key, enum format fmt,
    uint64_t *size)
{
	uint64_t n;

	if (!cache_blob_size(c->cache, key, fmt, &n) || n == 0)
		return false;
	*size = n;
	return true;
}

int
core_made_digest(struct core *c, const struct cache_key *key,
    enum format fmt, int fd, const struct stat *st,
    char sha256[CACHE_KEY_LEN + 1])
{
	return cache_blob_digest(c->cache, key, fmt, fd, st, sha256);
}
