/* cache.c -- the cache as a whole: struct cache opened on a directory
 * (making it, its index and the repairs due), closed, and its directory. */
#include "config.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partsfs/cache/cache.h"
#include "partsfs/util/util.h"
#include "sqlite-lazy.h"
#include "internal.h"

/* The allocation unit assumed when the file system does not say. */
#define BLOCK_SIZE 4096

static int
mkdir_p(const char *path, mode_t mode)
{
	char *p = xstrdup(path), *s, ch;
	struct stat st;
	int r = 0;

	for (s = p + 1; r == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		ch = *s;
		*s = '\0';
		if (mkdir(p, mode) == -1 && errno != EEXIST)
			r = -errno;
		*s = ch;
		if (ch == '\0')
			break;
	}
	if (r == 0 && stat(path, &st) == -1)
		r = -errno;
	else if (r == 0 && !S_ISDIR(st.st_mode))
		r = -ENOTDIR;
	free(p);
	return r;
}

struct cache *
cache_open(const char *dir, uint64_t max_bytes, double negative_ttl,
    struct perr *e)
{
	struct statvfs sv;
	struct cache *c;
	char *sub;
	size_t len;
	int r;

	perr_clear(e);
	if (dir == NULL || dir[0] != '/') {
		perr_set(e, EINVAL, "the cache directory must be an absolute "
		    "path: %s", dir != NULL ? dir : "(none)");
		return NULL;
	}
	if (sqlite_lazy_load(e) != 0)
		return NULL;
	c = xcalloc(1, sizeof *c);
	if ((r = pthread_mutex_init(&c->lock, NULL)) != 0) {
		perr_set(e, r, "cannot open the cache: %s", strerror(r));
		free(c);
		return NULL;
	}
	if ((r = pthread_cond_init(&c->repaired, NULL)) != 0) {
		perr_set(e, r, "cannot open the cache: %s", strerror(r));
		pthread_mutex_destroy(&c->lock);
		free(c);
		return NULL;
	}
	if ((r = pthread_mutex_init(&c->vlock, NULL)) != 0) {
		perr_set(e, r, "cannot open the cache: %s", strerror(r));
		pthread_cond_destroy(&c->repaired);
		pthread_mutex_destroy(&c->lock);
		free(c);
		return NULL;
	}
	c->dir = xstrdup(dir);
	len = strlen(c->dir);
	while (len > 1 && c->dir[len - 1] == '/')
		c->dir[--len] = '\0';
	c->index = xasprintf("%s/index.sqlite", c->dir);
	c->procfd = -1;
	c->max_bytes = max_bytes;
	c->negative_ttl = negative_ttl;
	c->failures_max = max_bytes / CACHE_FAILURE_SHARE;
	if (c->failures_max < CACHE_FAILURES_MIN)
		c->failures_max = CACHE_FAILURES_MIN;
	if (c->failures_max > CACHE_FAILURES_MAX)
		c->failures_max = CACHE_FAILURES_MAX;

	if ((r = mkdir_p(c->dir, 0755)) != 0) {
		perr_set(e, -r, "cannot create the cache directory %s: %s",
		    c->dir, strerror(-r));
		goto fail;
	}
	for (int i = 0; i < 2; i++) {
		sub = xasprintf("%s/%s", c->dir, i == 0 ? "blobs" : "tmp");
		if (mkdir(sub, 0755) == -1 && errno != EEXIST) {
			perr_set(e, errno, "cannot create %s: %s", sub,
			    strerror(errno));
			free(sub);
			goto fail;
		}
		free(sub);
	}
	/* What a blob takes on disk is counted in whole blocks. */
	if (statvfs(c->dir, &sv) == 0 && sv.f_frsize > 0 &&
	    sv.f_frsize <= 1 << 20)
		c->block = sv.f_frsize;
	else
		c->block = BLOCK_SIZE;
	/* a dead process's scratch space means a crash: check everything */
	if (cache_open_index(c, proc_reap(c), e) != 0)
		goto fail;
	return c;

fail:
	cache_close(c);
	return NULL;
}

void
cache_close(struct cache *c)
{
	if (c == NULL)
		return;
	db_close(c);
	/* Our scratch space, lock file included, is removed while the lock
	 * is still held. */
	if (c->proc != NULL)
		remove_tree_at(AT_FDCWD, c->proc);
	if (c->procfd != -1)
		close(c->procfd);
	pthread_cond_destroy(&c->repaired);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->vlock);
	free(c->verified);
	free(c->pins);
	free(c->proc);
	free(c->index);
	free(c->dir);
	free(c);
}

const char *
cache_dir(const struct cache *c)
{
	return c->dir;
}
