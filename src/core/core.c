/* core.c -- the core as the front ends use it: owning the configuration,
 * the current library snapshot, the cache and the job engine, and asking
 * for parts. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "partsfs/model/load.h"
#include "partsfs/core/core.h"

struct core *
core_open_cache(const char *root, struct conf *conf, struct cache *cache,
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
	pthread_mutex_destroy(&c->lock);
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

int
core_key(struct core *c, const struct pnode *part, struct cache_key *key,
    struct perr *e)
{
	struct plan plan;
	int r;

	if ((r = plan_make(&c->env, part, &plan, e)) != 0)
		return r;
	*key = plan.key;
	plan_clear(&plan);
	return 0;
}

static int
request(struct core *c, const struct pnode *part, bool prefetch, bool now,
    struct cache_entry *hit, struct job **job, struct cache_key *key,
    struct perr *e)
{
	struct plan plan;
	int r;

	*job = NULL;
	r = now ? plan_make_now(&c->env, part, &plan, e) :
	    plan_make(&c->env, part, &plan, e);
	if (r != 0)
		return r;
	if (key != NULL)
		*key = plan.key;
	r = core_request_plan(c, &plan, prefetch, hit, job);
	plan_clear(&plan);
	return r;
}

int
core_request(struct core *c, const struct pnode *part, bool prefetch,
    struct cache_entry *hit, struct job **job, struct cache_key *key,
    struct perr *e)
{
	return request(c, part, prefetch, false, hit, job, key, e);
}

int
core_request_now(struct core *c, const struct pnode *part, bool prefetch,
    struct cache_entry *hit, struct job **job, struct cache_key *key,
    struct perr *e)
{
	return request(c, part, prefetch, true, hit, job, key, e);
}

int
core_request_plan(struct core *c, const struct plan *plan, bool prefetch,
    struct cache_entry *hit, struct job **job)
{
	*job = NULL;
	if (cache_lookup(c->cache, &plan->key, hit) == 1) {
		atomic_fetch_add(&c->hits, 1);
		return 1;
	}
	if (!prefetch)
		atomic_fetch_add(&c->misses, 1);
	*job = jobs_submit(c->jobs, plan, prefetch);
	return 0;
}
