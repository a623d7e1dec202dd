/* prefetch.c -- a program reading a directory's parts (cp -r, a file
 * manager making previews): when another part of one directory is opened
 * within a few seconds of the last, or the first one by the thread that
 * listed the directory a moment before, idle workers make its other parts
 * of the same format ahead of time, from the one opened onwards.  Readers
 * do not always follow the listing (cp sorts by inode number), so this
 * does not look for a strict sequence. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"

#define READING_WINDOW_NS (5ull * 1000000000ull)
/* A program that opens a part this soon after listing its directory is
 * walking it (cp -r, find -exec within one process, a preview maker);
 * a person picking from a file dialog takes longer. */
#define LISTED_WINDOW_NS (1000000000ull)

/* The slot of directory `dir`, taken over (the oldest) when it has none.
 * Called with fs->lock held. */
static struct reading *
reading_slot(struct fs *fs, const char *dir)
{
	struct reading *s;

	for (size_t i = 0; i < PF_ARRAY_LEN(fs->reading); i++) {
		if (fs->reading[i].dir != NULL &&
		    strcmp(fs->reading[i].dir, dir) == 0)
			return &fs->reading[i];
	}
	s = &fs->reading[fs->readpos];
	fs->readpos = (fs->readpos + 1) % PF_ARRAY_LEN(fs->reading);
	free(s->dir);
	free(s->name);
	memset(s, 0, sizeof *s);
	s->dir = xstrdup(dir);
	return s;
}

void
fs_listed(struct fs *fs, const char *dir, pid_t pid)
{
	struct reading *s;

	pthread_mutex_lock(&fs->lock);
	s = reading_slot(fs, dir);
	s->lister = pid;
	s->listed = now_ns();
	pthread_mutex_unlock(&fs->lock);
}

/* Is a program reading the parts of directory `dir` (`name` opened now by
 * thread `pid`)? */
static bool
reading_directory(struct fs *fs, const char *dir, const char *name, pid_t pid)
{
	uint64_t now = now_ns();
	struct reading *s;
	bool reading;

	pthread_mutex_lock(&fs->lock);
	s = reading_slot(fs, dir);
	if (s->last != 0)
		reading = now - s->last < READING_WINDOW_NS &&
		    strcmp(s->name, name) != 0;
	else
		reading = s->listed != 0 && s->lister == pid &&
		    now - s->listed < LISTED_WINDOW_NS;
	free(s->name);
	s->name = xstrdup(name);
	s->last = now;
	pthread_mutex_unlock(&fs->lock);
	return reading;
}

struct names {
	char **v;
	size_t n;
};

static int
collect(void *ctx, const char *name, const struct pnode *child)
{
	struct names *ns = ctx;

	(void)child;
	ns->v = xreallocarray(ns->v, ns->n + 1, sizeof *ns->v);
	ns->v[ns->n++] = xstrdup(name);
	return 0;
}

void
fs_prefetch(struct fs *fs, const struct library *lib, const char *path,
    enum format fmt, pid_t pid)
{
	const char *slash = strrchr(path, '/');
	struct names ns = { NULL, 0 };
	struct pnode dir;
	size_t idx = 0, ahead, queued = 0;
	int workers = fs->core->conf->workers;
	char *dpath;

	if (slash == NULL)
		return;
	dpath = xstrndup(path, (size_t)(slash - path));
	if (!reading_directory(fs, dpath, slash + 1, pid) ||
	    pnode_lookup(lib, dpath, &dir, NULL) != 0) {
		free(dpath);
		return;
	}
	pnode_list(lib, &dir, collect, &ns, NULL);
	for (size_t i = 0; i < ns.n; i++) {
		if (strcmp(ns.v[i], slash + 1) == 0)
			idx = i;
	}
	if (workers <= 0)
		workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
	ahead = workers > 1 ? (size_t)workers : 1;
	for (size_t k = 1; k < ns.n && queued < ahead; k++) {
		const char *name = ns.v[(idx + k) % ns.n];
		struct fetch *f;
		struct pnode sib;
		if (!str_has_suffix(name, format_ext(fmt)) ||
		    pnode_child(lib, &dir, name, &sib, NULL) != 0)
			continue;
		/* queued now or already: either way one more in flight; it
		 * goes on without us */
		if (core_fetch(fs->core, &sib, FETCH_AHEAD, NULL, NULL,
		    &f) == 0)
			queued++;
		fetch_unref(f);
		pnode_clear(&sib);
	}
	for (size_t i = 0; i < ns.n; i++)
		free(ns.v[i]);
	free(ns.v);
	free(dpath);
	pnode_clear(&dir);
}
