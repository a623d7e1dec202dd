/* sources.c -- the generator sources of a part: its script and the
 * sibling files it may include or import, and their digests, which go
 * into its cache key; remembered by file identity (device, inode, size,
 * modification and change times) so that a key does not read the scripts
 * again. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "partsfs/cache/cache.h"
#include "partsfs/make/plan.h"
#include "partsfs/make/sources.h"
#include "partsfs/util/confine.h"

/* A digest of a file, by the identity of the file it was read from. */
struct digest {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct timespec ctime;    /* an edit that keeps size and mtime (cp -p,
				   * rsync -t) still changes it */
	struct seen checked;      /* when the file was last seen so */
	char hex[CACHE_KEY_LEN + 1];
};

/* The siblings of a script as last listed, for a quick plan. */
struct siblings {
	char *script;
	char **paths;
	size_t n;
	struct seen seen;
};

struct sources {
	atomic_uint_fast64_t epoch;
	pthread_mutex_t digests_lock;
	struct digest digests[256];
	size_t ndigests, next_digest;
	pthread_mutex_t siblings_lock;
	struct siblings siblings[64];
	size_t nsiblings, next_siblings;
};

struct sources *
sources_new(void)
{
	struct sources *s = xcalloc(1, sizeof *s);

	atomic_init(&s->epoch, 0);
	pthread_mutex_init(&s->digests_lock, NULL);
	pthread_mutex_init(&s->siblings_lock, NULL);
	return s;
}

static void
siblings_clear(struct siblings *sb)
{
	for (size_t j = 0; j < sb->n; j++)
		free(sb->paths[j]);
	free(sb->paths);
	sb->paths = NULL;
	sb->n = 0;
}

void
sources_free(struct sources *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->ndigests; i++)
		free(s->digests[i].path);
	for (size_t i = 0; i < s->nsiblings; i++) {
		free(s->siblings[i].script);
		siblings_clear(&s->siblings[i]);
	}
	pthread_mutex_destroy(&s->digests_lock);
	pthread_mutex_destroy(&s->siblings_lock);
	free(s);
}

void
sources_forget(struct sources *s)
{
	if (s != NULL)
		atomic_fetch_add(&s->epoch, 1);
}

/* The digest last remembered for `path` if it was seen in the last
 * second: true with `hex` set. */
static bool
digest_seen(struct sources *s, const char *path, char hex[CACHE_KEY_LEN + 1])
{
	struct digest *last = NULL;

	pthread_mutex_lock(&s->digests_lock);
	for (size_t i = 0; i < s->ndigests; i++) {
		struct digest *d = &s->digests[i];
		if (strcmp(d->path, path) == 0 && (last == NULL ||
		    d->checked.when > last->checked.when))
			last = d;
	}
	if (last != NULL && seen_recently(&last->checked, &s->epoch))
		memcpy(hex, last->hex, sizeof last->hex);
	else
		last = NULL;
	pthread_mutex_unlock(&s->digests_lock);
	return last != NULL;
}

/* The digest remembered for the file `path` whose stat is `st`: true with
 * `hex` set. */
static bool
digest_known(struct sources *s, const char *path, const struct stat *st,
    struct seen seen, char hex[CACHE_KEY_LEN + 1])
{
	bool found = false;

	pthread_mutex_lock(&s->digests_lock);
	for (size_t i = 0; i < s->ndigests && !found; i++) {
		struct digest *d = &s->digests[i];
		if (strcmp(d->path, path) == 0 && d->dev == st->st_dev &&
		    d->ino == st->st_ino && d->size == st->st_size &&
		    d->mtime.tv_sec == st->st_mtim.tv_sec &&
		    d->mtime.tv_nsec == st->st_mtim.tv_nsec &&
		    d->ctime.tv_sec == st->st_ctim.tv_sec &&
		    d->ctime.tv_nsec == st->st_ctim.tv_nsec) {
			memcpy(hex, d->hex, sizeof d->hex);
			d->checked = seen;
			found = true;
		}
	}
	pthread_mutex_unlock(&s->digests_lock);
	return found;
}

static void
digest_remember(struct sources *s, const char *path, const struct stat *st,
    struct seen seen, const char hex[CACHE_KEY_LEN + 1])
{
	struct digest *d;

	pthread_mutex_lock(&s->digests_lock);
	if (s->ndigests < PF_ARRAY_LEN(s->digests))
		d = &s->digests[s->ndigests++];
	else {
		d = &s->digests[s->next_digest];
		s->next_digest = (s->next_digest + 1) %
		    PF_ARRAY_LEN(s->digests);
		free(d->path);
	}
	d->path = xstrdup(path);
	d->dev = st->st_dev;
	d->ino = st->st_ino;
	d->size = st->st_size;
	d->mtime = st->st_mtim;
	d->ctime = st->st_ctim;
	d->checked = seen;
	memcpy(d->hex, hex, CACHE_KEY_LEN + 1);
	pthread_mutex_unlock(&s->digests_lock);
}

int
sources_digest(struct sources *s, const char *path,
    char hex[CACHE_KEY_LEN + 1], bool quick)
{
	struct seen seen;
	struct stat st;
	int r;

	if (s == NULL)
		return sha256_file(path, hex, NULL);
	seen = seen_now(&s->epoch);
	if (quick && digest_seen(s, path, hex))
		return 0;
	if (stat(path, &st) == -1)
		return -errno;
	if (digest_known(s, path, &st, seen, hex))
		return 0;
	/* the identity remembered is that of the file read */
	if ((r = sha256_file(path, hex, &st)) != 0)
		return r;
	digest_remember(s, path, &st, seen, hex);
	return 0;
}

void
sources_add(struct plan *p, const char *label, const char *path)
{
	p->sources = xreallocarray(p->sources, p->nsources + 1,
	    sizeof *p->sources);
	memset(&p->sources[p->nsources], 0, sizeof *p->sources);
	p->sources[p->nsources].label = xstrdup(label);
	p->sources[p->nsources].path = xstrdup(path);
	p->nsources++;
}

/* Add the siblings of `script` listed in the last second: false if they
 * were not. */
static bool
siblings_seen(struct sources *s, struct plan *p, const char *script)
{
	bool found = false;

	if (s == NULL)
		return false;
	pthread_mutex_lock(&s->siblings_lock);
	for (size_t i = 0; i < s->nsiblings && !found; i++) {
		struct siblings *sb = &s->siblings[i];
		if (strcmp(sb->script, script) != 0 ||
		    !seen_recently(&sb->seen, &s->epoch))
			continue;
		for (size_t j = 0; j < sb->n; j++)
			sources_add(p, "sibling", sb->paths[j]);
		found = true;
	}
	pthread_mutex_unlock(&s->siblings_lock);
	return found;
}

/* Remember the siblings of `script`: the plan's sources from `first`,
 * listed when `seen` says. */
static void
siblings_listed(struct sources *s, const struct plan *p, size_t first,
    const char *script, struct seen seen)
{
	struct siblings *sb = NULL;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->siblings_lock);
	for (size_t i = 0; i < s->nsiblings && sb == NULL; i++) {
		if (strcmp(s->siblings[i].script, script) == 0)
			sb = &s->siblings[i];
	}
	if (sb == NULL) {
		if (s->nsiblings < PF_ARRAY_LEN(s->siblings))
			sb = &s->siblings[s->nsiblings++];
		else {
			sb = &s->siblings[s->next_siblings];
			s->next_siblings = (s->next_siblings + 1) %
			    PF_ARRAY_LEN(s->siblings);
			free(sb->script);
		}
		sb->script = xstrdup(script);
	}
	siblings_clear(sb);
	sb->n = p->nsources - first;
	sb->paths = xcalloc(sb->n + 1, sizeof *sb->paths);
	for (size_t j = 0; j < sb->n; j++)
		sb->paths[j] = xstrdup(p->sources[first + j].path);
	sb->seen = seen;
	pthread_mutex_unlock(&s->siblings_lock);
}

void
sources_add_script(struct sources *s, struct plan *p, const char *root,
    const char *script, bool quick)
{
	const char *slash = strrchr(script, '/');
	const char *ext = strrchr(script, '.');
	size_t rootlen = root != NULL ? strlen(root) : 0;
	struct seen seen = { 0, now_ns() };
	char **names = NULL, *rel;
	const char *reldir;
	size_t n = 0, first;
	struct dirent *de;
	DIR *dp;
	int fd;

	if (s != NULL)
		seen = seen_now(&s->epoch);
	sources_add(p, "script", script);
	first = p->nsources;
	if (quick && siblings_seen(s, p, script))
		return;
	if (ext == NULL || ext < slash || root == NULL ||
	    strncmp(script, root, rootlen) != 0 ||
	    script[rootlen] != '/' || slash <= script + rootlen)
		return;
	reldir = script + rootlen + 1;
	rel = xstrndup(reldir, (size_t)(slash - reldir));
	dp = opendir_beneath(root, rel);
	free(rel);
	if (dp == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		struct stat st;
		if (de->d_name[0] == '.' || !str_has_suffix(de->d_name, ext) ||
		    strcmp(de->d_name, slash + 1) == 0)
			continue;
		if (de->d_type != DT_REG) {
			/* a link (or unknown): a regular file inside */
			bool ok;
			rel = xasprintf("%.*s/%s", (int)(slash - reldir),
			    reldir, de->d_name);
			fd = open_beneath(root, rel, O_PATH, NULL, NULL);
			ok = fd != -1 && fstat(fd, &st) == 0 &&
			    S_ISREG(st.st_mode);
			if (fd != -1)
				close(fd);
			free(rel);
			if (!ok)
				continue;
		}
		names = xreallocarray(names, n + 1, sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(dp);
	if (n > 1)
		qsort(names, n, sizeof *names, str_ptr_cmp);
	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%.*s/%s", (int)(slash - script), script,
		    names[i]);
		sources_add(p, "sibling", path);
		free(path);
		free(names[i]);
	}
	free(names);
	siblings_listed(s, p, first, script, seen);
}
