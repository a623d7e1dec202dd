/* reload.c -- live reloading: inotify on the library's directories; after
 * a change (and a short quiet spell) the collections whose files the
 * events name are loaded again in the background, broken collections keep
 * their last good version, and the new snapshot replaces the old, for
 * every front end alike. */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

#include "partsfs/core/reload.h"
#include "partsfs/model/load.h"
#include "partsfs/util/confine.h"
#include "partsfs/util/log.h"

/* Changes come in bursts (an editor saving, a git checkout): wait for this
 * long without events before reloading.  A reload reads again only the
 * collections whose files changed, so the spell can be short: an edit
 * shows within it and a reload of what changed. */
#define QUIET_MS 10
/* A collection file that is gone at the end of the spell may be an
 * editor's save under way (the file moved away, the new one not written
 * yet): wait this long once more before taking its collection away. */
#define GONE_MS 100
/* While the library directory is gone, look for it again this often. */
#define RETRY_MS 1000
/* While the front end has work left after a reload (its tick hook says
 * so), it is called again this often. */
#define TICK_MS 100

/*
 * What a reload looks at.  Every file a collection was read from (its
 * file_deps: the .blt, what it includes, the databases' directories,
 * .base files and the files those name, or where a missing one was
 * looked for) is in `deps` by its path, by its real path and by the
 * directories above those, each naming the collection; the directory
 * holding each is watched.  An event names a directory and an entry of
 * it: the collections of that path (and those of the directory itself,
 * when it is a file they were read from) are marked `dirty`, and a
 * reload looks at the files of those alone (library_opts.suspect): it
 * costs what changed, not what the library holds.  When events may have
 * been lost (the queue overflowed, a watched directory moved, the root
 * came back) the next reload starts inotify again and looks at every
 * collection's files, as it does for good once a watch cannot be added
 * (`blind`: the system's limit reached).
 */

/* A string-keyed table (chained): the paths of deps, the dirty ids. */
struct dref {
	struct dref *next;
	bool exact;                 /* the file itself, not a directory
				     * above it */
	char id[];
};
struct hent {
	char *key;
	uint64_t hash;
	struct dref *refs;
	struct hent *next;
};
struct htab {
	struct hent **b;
	size_t nb, n;
};

/* A directory watched (by its watch descriptor): its real path, and how
 * many levels of new subdirectories in it are watched as they come (the
 * library's structure: data/, the databases; -1: watched for the files
 * of collections in it, not its subdirectories). */
struct watched {
	char *path;
	int depth;
};

struct reload {
	struct core *core;
	struct reload_hooks hooks;
	struct timespec loaded;
	pthread_t thread;
	int ifd;
	int stop[2];
	int root_wd;
	bool root_lost;
	/* at the first walk: a file or directory changed since the library
	 * began loading (`loaded`), before anything watched it */
	bool first;
	bool changed;
	struct watched *wds;        /* by watch descriptor */
	size_t nwds;
	char *data;                 /* the real path of data/, or NULL */
	struct htab deps;           /* path -> collections read from it */
	size_t nrefs, built;        /* refs in deps, and after a rebuild */
	struct htab dirty;          /* ids of collections to look at */
	bool full;                  /* events may be lost: look at all */
	bool blind;                 /* a watch is missing: look at all,
				     * always */
	uint64_t seen;              /* the first event of the burst */
};

static const uint32_t MASK = IN_CLOSE_WRITE | IN_CREATE | IN_DELETE |
    IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF |
    IN_ONLYDIR;

/* The entry of `key` (its first `len` bytes), added when `add`; NULL
 * when there is none. */
static struct hent *
htab_find(struct htab *t, const char *key, size_t len, bool add)
{
	uint64_t h = str_hash(key, len);
	struct hent *e;

	if (t->nb > 0) {
		for (e = t->b[h % t->nb]; e != NULL; e = e->next) {
			if (e->hash == h && strncmp(e->key, key, len) == 0 &&
			    e->key[len] == '\0')
				return e;
		}
	}
	if (!add)
		return NULL;
	if (t->n >= t->nb) {
		size_t nb = t->nb ? t->nb * 4 : 256;
		struct hent **b = xcalloc(nb, sizeof *b);
		for (size_t i = 0; i < t->nb; i++) {
			struct hent *next;
			for (e = t->b[i]; e != NULL; e = next) {
				next = e->next;
				e->next = b[e->hash % nb];
				b[e->hash % nb] = e;
			}
		}
		free(t->b);
		t->b = b;
		t->nb = nb;
	}
	e = xcalloc(1, sizeof *e);
	e->key = xstrndup(key, len);
	e->hash = h;
	e->next = t->b[h % t->nb];
	t->b[h % t->nb] = e;
	t->n++;
	return e;
}

static void
htab_clear(struct htab *t)
{
	for (size_t i = 0; i < t->nb; i++) {
		struct hent *e, *next;
		for (e = t->b[i]; e != NULL; e = next) {
			struct dref *r, *rn;
			next = e->next;
			for (r = e->refs; r != NULL; r = rn) {
				rn = r->next;
				free(r);
			}
			free(e->key);
			free(e);
		}
	}
	free(t->b);
	memset(t, 0, sizeof *t);
}

/* Collection `id` is to be looked at by the next reload. */
static void
mark_dirty(struct reload *w, const char *id, size_t len)
{
	htab_find(&w->dirty, id, len, true);
}

/* Add the real directory `real` (inside the library) to the watches:
 * true when it was not watched before. */
static bool
watch_real(struct reload *w, const char *real, int depth)
{
	struct watched *d;
	int wd;

	if ((wd = inotify_add_watch(w->ifd, real, MASK)) == -1) {
		if ((errno == ENOSPC || errno == ENOMEM) && !w->blind) {
			log_warning("%s: cannot watch (%s): every reload of "
			    "the library looks at all its files from now on",
			    real, strerror(errno));
			w->blind = true;
		}
		return false;
	}
	if ((size_t)wd >= w->nwds) {
		size_t n = (size_t)wd * 2 + 16;
		w->wds = xreallocarray(w->wds, n, sizeof *w->wds);
		memset(w->wds + w->nwds, 0, (n - w->nwds) * sizeof *w->wds);
		w->nwds = n;
	}
	d = &w->wds[wd];
	if (d->path == NULL) {
		d->path = xstrdup(real);
		d->depth = depth;
		return true;
	}
	if (depth > d->depth)
		d->depth = depth;
	return false;
}

/* Watch root/rel when it is a directory inside the library (a link out
 * of it is not followed: the library refuses it anyway), new
 * subdirectories `depth` levels down as they come. */
static void
watch_dir(struct reload *w, const char *root, const char *rel, int depth)
{
	char *path, *real;
	int fd;

	if ((fd = open_beneath(root, rel, O_PATH | O_DIRECTORY, NULL,
	    NULL)) == -1)
		return;
	close(fd);
	path = xasprintf("%s/%s", root, rel);
	if ((real = realpath(path, NULL)) != NULL && path_beneath(real, root))
		watch_real(w, real, depth);
	free(real);
	free(path);
}

/* A file root/rel that is a link to a file elsewhere in the library: the
 * directory of its target, where edits to it show (the link's own
 * directory only sees the link change). */
static void
watch_link_target(struct reload *w, const char *root, const char *rel)
{
	char *path = xasprintf("%s/%s", root, rel), *real, *slash;
	size_t n = strlen(root);
	struct stat st;

	real = realpath(path, NULL);
	free(path);
	if (real == NULL)
		return;
	if (path_beneath(real, root) && stat(real, &st) == 0 &&
	    S_ISREG(st.st_mode) && (slash = strrchr(real, '/')) > real + n) {
		*slash = '\0';
		watch_real(w, real, -1);
	}
	free(real);
}

/* At the first walk (w->first): whether `st` changed since the library
 * began loading.  File times come from the coarse clock that stamped the
 * start, so a change after it has a time at least as late. */
static void
check_changed(struct reload *w, const struct stat *st)
{
	const struct timespec *t = &w->loaded;

	if (st->st_ctim.tv_sec > t->tv_sec ||
	    (st->st_ctim.tv_sec == t->tv_sec &&
	    st->st_ctim.tv_nsec >= t->tv_nsec))
		w->changed = true;
}

/* A directory, the targets of the links to files in it and, `depth`
 * levels down, the same for its subdirectories.  At the first walk, also
 * whether any of them changed while the library loaded. */
static void
watch_tree(struct reload *w, const char *root, const char *rel, int depth)
{
	struct dirent *de;
	struct stat dst;
	DIR *d;

	watch_dir(w, root, rel, depth);
	if ((d = opendir_beneath(root, rel)) == NULL)
		return;
	if (w->first && fstat(dirfd(d), &dst) == 0)
		check_changed(w, &dst);
	while ((de = readdir(d)) != NULL) {
		char *sub;
		struct stat st;
		bool linkish = de->d_type == DT_LNK || de->d_type == DT_UNKNOWN;
		if (de->d_name[0] == '.')
			continue;
		sub = xasprintf("%s/%s", rel, de->d_name);
		/* a link's target watched before it is looked at, as a
		 * directory is: an edit between the two is then an event */
		if (linkish && fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			watch_link_target(w, root, sub);
		if (w->first && fstatat(dirfd(d), de->d_name, &st, 0) == 0)
			check_changed(w, &st);
		if (depth > 0 && (de->d_type == DT_DIR || linkish))
			watch_tree(w, root, sub, depth - 1);
		free(sub);
	}
	closedir(d);
}

/* The real path of data/, where new collection files come. */
static void
find_data(struct reload *w)
{
	char *data = xasprintf("%s/data", w->core->root);

	free(w->data);
	if ((w->data = realpath(data, NULL)) != NULL &&
	    !path_beneath(w->data, w->core->root)) {
		free(w->data);
		w->data = NULL;
	}
	free(data);
}

/* (Re)add the watches: the root, data/ and the databases with their
 * collection directories, and the directories of files inside the library
 * that files there link to.  inotify ignores a directory already
 * watched. */
static void
add_watches(struct reload *w)
{
	const char *root = w->core->root;
	const struct conf *conf = w->core->conf;
	const char *dbs[] = { "data", "openscad", "freecad", "drawings" };
	struct stat st;

	if (stat(root, &st) == -1) {
		w->root_lost = true;
		return;
	}
	w->root_wd = inotify_add_watch(w->ifd, root, MASK);
	w->root_lost = w->root_wd == -1;
	if (w->root_lost)
		return;
	/* the root: its new directories of databases are followed (see
	 * follow_new) */
	watch_real(w, root, 0);
	if (w->first)
		check_changed(w, &st);
	find_data(w);
	for (size_t i = 0; i < PF_ARRAY_LEN(dbs); i++)
		watch_tree(w, root, dbs[i], 1);
	for (size_t i = 0; i < conf->ncommands; i++)
		watch_tree(w, root, conf->commands[i].name, 1);
}

/* `key` names collection `id`: itself (`exact`) or a directory above
 * one of its files. */
static void
add_ref(struct reload *w, const char *key, size_t len, const char *id,
    bool exact)
{
	struct hent *e = htab_find(&w->deps, key, len, true);
	struct dref *r;

	/* a collection's files are added one after another: its last ref
	 * is the first of the list */
	if (e->refs != NULL && strcmp(e->refs->id, id) == 0) {
		e->refs->exact = e->refs->exact || exact;
		return;
	}
	r = xmalloc(sizeof *r + strlen(id) + 1);
	strcpy(r->id, id);
	r->exact = exact;
	r->next = e->refs;
	e->refs = r;
	w->nrefs++;
}

/* File `path` of collection `id`, and the directories above it up to
 * the root. */
static void
add_key(struct reload *w, const char *path, const char *id)
{
	size_t root = strlen(w->core->root), len = strlen(path);

	if (len <= root || !path_beneath(path, w->core->root))
		return;
	add_ref(w, path, len, id, true);
	for (;;) {
		while (len > root && path[len - 1] != '/')
			len--;
		if (len - 1 <= root)
			break;
		add_ref(w, path, --len, id, false);
	}
}

/* The real path of directory `dir` (its deepest part that exists, and
 * the rest as written: *rest), inside the library, or NULL.  `cache`
 * keeps the last answer (the files of a collection come a directory at
 * a time). */
static char *
real_dir(const char *dir, char **cache_dir, char **cache_real)
{
	char *d, *real = NULL, *slash;

	if (*cache_dir != NULL && strcmp(*cache_dir, dir) == 0)
		return *cache_real != NULL ? xstrdup(*cache_real) : NULL;
	d = xstrdup(dir);
	while ((real = realpath(d, NULL)) == NULL && errno == ENOENT &&
	    (slash = strrchr(d, '/')) != NULL && slash > d) {
		/* missing: the rest is added back as written */
		*slash = '\0';
	}
	if (real != NULL && strlen(d) < strlen(dir)) {
		char *full = xasprintf("%s%s", real, dir + strlen(d));
		free(real);
		real = full;
	}
	free(d);
	free(*cache_dir);
	free(*cache_real);
	*cache_dir = xstrdup(dir);
	*cache_real = real != NULL ? xstrdup(real) : NULL;
	return real;
}

/* Watch the deepest existing directory of `path` (absolute, real). */
static bool
watch_above(struct reload *w, const char *path)
{
	char *d = xstrdup(path), *slash;
	bool added = false;
	struct stat st;

	while ((slash = strrchr(d, '/')) != NULL && slash > d) {
		*slash = '\0';
		if (!path_beneath(d, w->core->root))
			break;
		if (stat(d, &st) == 0 && S_ISDIR(st.st_mode)) {
			added = watch_real(w, d, -1);
			break;
		}
	}
	free(d);
	return added;
}

/*
 * Collection c's files in `deps`, by the path it read each by, by that
 * path with its directory's real path and by the real path of the file
 * (a link's target), with the directories above them; the directory
 * holding each watched.  true when a directory was not watched before:
 * a change in it may have come before the watch.
 */
static bool
index_collection(struct reload *w, const struct collection *c)
{
	char *cdir = NULL, *creal = NULL;
	bool added = false;

	for (size_t i = 0; i < c->ndeps; i++) {
		const char *path = c->deps[i].path;
		const char *slash = strrchr(path, '/');
		char *dir, *rdir, *key, *real;
		struct stat st;
		if (slash == NULL || slash == path)
			continue;
		add_key(w, path, c->id);
		dir = xstrndup(path, (size_t)(slash - path));
		rdir = real_dir(dir, &cdir, &creal);
		free(dir);
		if (rdir == NULL)
			continue;
		key = xasprintf("%s%s", rdir, slash);
		free(rdir);
		if (strcmp(key, path) != 0)
			add_key(w, key, c->id);
		added = watch_above(w, key) || added;
		if (lstat(key, &st) == 0 && S_ISLNK(st.st_mode) &&
		    (real = realpath(key, NULL)) != NULL) {
			add_key(w, real, c->id);
			added = watch_above(w, real) || added;
			free(real);
		}
		free(key);
	}
	free(cdir);
	free(creal);
	return added;
}

/*
 * Collections of `lib` (all, or those not in `old`, the same object) in
 * `deps`; those whose files were not all watched yet looked at now, and
 * marked dirty when they changed.  true when one did.
 */
static bool
index_library(struct reload *w, const struct library *lib,
    const struct library *old)
{
	bool changed = false;

	for (size_t i = 0; i < lib->ncolls; i++) {
		const struct collection *c = lib->colls[i];
		if (old != NULL && library_collection(old, c->id) == c)
			continue;
		if (index_collection(w, c) && !collection_unchanged(c)) {
			mark_dirty(w, c->id, strlen(c->id));
			changed = true;
		}
	}
	return changed;
}

/* Start `deps` again from the collections of `lib`: it only grows
 * between rebuilds (a collection read again adds its files again). */
static bool
rebuild_index(struct reload *w, const struct library *lib)
{
	bool changed;

	htab_clear(&w->deps);
	w->nrefs = 0;
	changed = index_library(w, lib, NULL);
	w->built = w->nrefs;
	return changed;
}

/* Path `path` (an entry of directory `dir`, or a directory itself when
 * `dir` is NULL) changed: the collections read from it, or from a
 * directory that is it (or below it), are marked dirty; a .blt in data/
 * is a collection, maybe new. */
static void
mark_path(struct reload *w, const char *path, const char *dir)
{
	const struct hent *e;
	size_t len;

	if ((e = htab_find(&w->deps, path, strlen(path), false)) != NULL) {
		for (const struct dref *r = e->refs; r != NULL; r = r->next)
			mark_dirty(w, r->id, strlen(r->id));
	}
	if (dir == NULL)
		return;
	if ((e = htab_find(&w->deps, dir, strlen(dir), false)) != NULL) {
		for (const struct dref *r = e->refs; r != NULL; r = r->next) {
			if (r->exact)
				mark_dirty(w, r->id, strlen(r->id));
		}
	}
	len = strlen(path);
	if (w->data != NULL && strcmp(dir, w->data) == 0 && len > 4 &&
	    strcmp(path + len - 4, ".blt") == 0) {
		const char *name = path + strlen(dir) + 1;
		mark_dirty(w, name, strlen(name) - 4);
	}
}

/* Entry `name` came into directory d (watch wd): a directory of the
 * library's structure, or a link, is watched as add_watches would. */
static void
follow_new(struct reload *w, int wd, const char *name, const char *path,
    uint32_t mask)
{
	const char *root = w->core->root;
	const struct conf *conf = w->core->conf;
	const char *dbs[] = { "data", "openscad", "freecad", "drawings" };
	int depth = w->wds[wd].depth;
	const char *rel;
	struct stat st;

	if (wd == w->root_wd) {
		/* at the root, the databases (watch_tree(name, 1)) */
		depth = -1;
		for (size_t i = 0; i < PF_ARRAY_LEN(dbs); i++) {
			if (strcmp(name, dbs[i]) == 0)
				depth = 2;
		}
		for (size_t i = 0; i < conf->ncommands; i++) {
			if (strcmp(name, conf->commands[i].name) == 0)
				depth = 2;
		}
	}
	if (wd == w->root_wd && strcmp(name, "data") == 0)
		find_data(w);
	if (depth < 0 || !path_beneath(path, root) ||
	    strlen(path) <= strlen(root))
		return;
	rel = path + strlen(root) + 1;
	if (mask & IN_ISDIR) {
		if (depth > 0)
			watch_tree(w, root, rel, depth - 1);
	} else if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (depth > 0)
				watch_tree(w, root, rel, depth - 1);
		} else
			watch_link_target(w, root, rel);
	}
}

/* One event: what it names is marked; the watches follow. */
static void
on_event(struct reload *w, const struct inotify_event *ev)
{
	struct watched *d;
	char *path;

	if (ev->mask & IN_Q_OVERFLOW) {
		w->full = true;
		return;
	}
	if (ev->wd == w->root_wd &&
	    (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)))
		w->root_lost = true;
	if (ev->wd < 0 || (size_t)ev->wd >= w->nwds ||
	    (d = &w->wds[ev->wd])->path == NULL) {
		/* a watch we do not know of */
		w->full = true;
		return;
	}
	if (ev->len == 0 || ev->name[0] == '\0') {
		/* the directory itself: gone, moved (its path is stale
		 * now), its mode changed, or no more watched; the root's
		 * mode may have made the whole library unreadable (or
		 * readable again) */
		mark_path(w, d->path, NULL);
		if ((ev->mask & IN_MOVE_SELF) || ev->wd == w->root_wd)
			w->full = true;
		if (ev->mask & IN_IGNORED) {
			free(d->path);
			d->path = NULL;
		}
		return;
	}
	path = xasprintf("%s/%s", d->path, ev->name);
	mark_path(w, path, d->path);
	if (ev->mask & (IN_CREATE | IN_MOVED_TO))
		follow_new(w, ev->wd, ev->name, path, ev->mask);
	free(path);
}

/* Start watching again from nothing: events may have been lost. */
static void
rewatch(struct reload *w)
{
	int fd;

	if ((fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) == -1) {
		log_warning("inotify: %s: every reload of the library looks "
		    "at all its files from now on", strerror(errno));
		w->blind = true;
	} else {
		close(w->ifd);
		w->ifd = fd;
		for (size_t i = 0; i < w->nwds; i++)
			free(w->wds[i].path);
		free(w->wds);
		w->wds = NULL;
		w->nwds = 0;
	}
	htab_clear(&w->deps);
	w->nrefs = w->built = 0;
	add_watches(w);
}

/* Is the .blt of a collection served and marked dirty missing now? */
static bool
collection_file_gone(struct reload *w)
{
	struct library *lib = core_library(w->core);
	bool gone = false;

	for (size_t i = 0; i < w->dirty.nb && !gone; i++) {
		for (const struct hent *e = w->dirty.b[i]; e != NULL && !gone;
		    e = e->next) {
			char *blt;
			struct stat st;
			if (library_collection(lib, e->key) == NULL)
				continue;
			blt = xasprintf("%s/data/%s.blt", w->core->root, e->key);
			gone = lstat(blt, &st) == -1 && errno == ENOENT;
			free(blt);
		}
	}
	library_unref(lib);
	return gone;
}

/* Whether collection c may have changed since it was read: its files
 * are looked at (library_opts.suspect). */
static bool
suspect(const struct collection *c, void *arg)
{
	struct reload *w = arg;

	return w->blind || c->racy ||
	    htab_find(&w->dirty, c->id, strlen(c->id), false) != NULL;
}

/* The error lines of a library's diagnostics. */
static char *
error_lines(const struct library *lib, const char *id)
{
	struct buf b = BUF_INIT;
	char *prefix = xasprintf("data/%s.", id);

	for (size_t i = 0; i < lib->diags.n; i++) {
		const struct diag *d = &lib->diags.v[i];
		char *s;
		if (d->severity != DIAG_ERROR)
			continue;
		if (id != NULL && !str_has_prefix(d->file, prefix) &&
		    strstr(d->file, id) == NULL)
			continue;
		s = diag_format(d);
		buf_printf(&b, "%s\n", s);
		free(s);
	}
	free(prefix);
	return buf_steal(&b);
}

/* Does `fresh` hold the collections of `old`, the same objects? */
static bool
same_collections(const struct library *old, const struct library *fresh)
{
	if (old->ncolls != fresh->ncolls)
		return false;
	for (size_t i = 0; i < old->ncolls; i++) {
		if (old->colls[i] != fresh->colls[i])
			return false;
	}
	return true;
}

/*
 * Load the library again, looking at the files of the collections marked
 * dirty (every collection's when `all`, after a rewatch), and make it the
 * core's.  When `all`, the index of the collections' files is made again
 * whatever comes of it (a rewatch emptied it).  true when a collection
 * read now changed before its files were watched: it is marked dirty, for
 * a reload soon.
 */
static bool
reload(struct reload *w, bool all)
{
	struct core *core = w->core;
	struct library_opts opts = { .conf = core->conf };
	struct library *old, *fresh, *lib;
	struct collection **colls;
	struct diags d = DIAGS_INIT;
	struct perr e = { 0 };
	size_t n = 0, nread = 0, nlooked;
	bool kept_old = false, again;
	char *looked;
	uint64_t t0 = now_ns(), t1, t2;

	/* collections whose files did not change are the old snapshot's,
	 * kept: a reload costs what changed */
	if (!all) {
		opts.suspect = suspect;
		opts.suspect_arg = w;
	}
	nlooked = all || w->blind ? 0 : w->dirty.n;
	old = core_library(core);
	fresh = library_reload(core->root, &opts, old, &nread, &e);
	htab_clear(&w->dirty);
	if (fresh == NULL) {
		char *msg = xasprintf("%s; the last good version stays served",
		    e.msg);
		core_library_error(core, msg);
		free(msg);
		/* after a rewatch, the index of the collections' files is
		 * empty: the snapshot still served fills it */
		again = all && rebuild_index(w, old);
		library_unref(old);
		return again;
	}
	if (nread == 0 && same_collections(old, fresh)) {
		/* what changed was no file of a collection */
		log_debug("library not reloaded: no collection changed "
		    "(%.1f ms)", (double)(now_ns() - t0) / 1e6);
		again = all && rebuild_index(w, old);
		library_unref(fresh);
		library_unref(old);
		return again;
	}
	colls = xcalloc(old->ncolls + fresh->ncolls + 1, sizeof *colls);
	/*
	 * Each collection: the fresh one, unless its edit broke it and a good
	 * version was being served, which then stays.  Only a .blt that is
	 * no more (ENOENT) takes its collection away; one that cannot be
	 * looked at (EACCES on data/, EIO, ...) keeps the last good version,
	 * with the reason, until it can be read again.
	 */
	for (size_t i = 0; i < old->ncolls; i++) {
		struct collection *o = old->colls[i];
		const struct collection *f = library_collection(fresh, o->id);
		int err = 0;
		if (f == o) {
			colls[n++] = o;
			continue;
		}
		if (f == NULL) {
			char *blt = xasprintf("%s/data/%s.blt", core->root,
			    o->id);
			struct stat st;
			err = stat(blt, &st) == 0 ? 0 : errno;
			free(blt);
		}
		if (f == NULL && err != 0 && err != ENOENT) {
			char *msg = xasprintf("data/%s.blt: %s; the last good "
			    "version stays served", o->id, strerror(err));
			core_library_error(core, msg);
			free(msg);
			colls[n++] = o;
			kept_old = true;
		} else if ((f == NULL && err == 0) ||
		    (f != NULL && f->nerrors > 0 && o->nerrors == 0)) {
			char *lines = error_lines(fresh, o->id);
			char *msg = xasprintf("data/%s.blt: the edit has "
			    "errors; the last good version stays served\n%s",
			    o->id, lines);
			core_library_error(core, msg);
			free(msg);
			free(lines);
			colls[n++] = o;
			kept_old = true;
		} else if (f != NULL)
			colls[n++] = (struct collection *)f;
	}
	for (size_t i = 0; i < fresh->ncolls; i++) {
		struct collection *f = fresh->colls[i];
		if (library_collection(old, f->id) == NULL) {
			if (f->nerrors > 0) {
				char *lines = error_lines(fresh, f->id);
				char *msg = xasprintf("data/%s.blt: new "
				    "collection with errors; its valid classes "
				    "are served\n%s", f->id, lines);
				core_library_error(core, msg);
				free(msg);
				free(lines);
			}
			colls[n++] = f;
		}
	}
	if (kept_old) {
		/* a last good version stands for a fresh one: the indexes
		 * are made again over what is served */
		lib = library_assemble_next(core->root, colls, n, fresh, &d);
		diags_append(&d, &fresh->diags);
		diags_sort(&d);
		lib->diags = d;
	} else
		lib = library_ref(fresh);
	free(colls);
	t1 = now_ns();
	core_set_library(core, library_ref(lib));
	if (w->hooks.reloaded != NULL)
		w->hooks.reloaded(w->hooks.arg, old, lib);
	t2 = now_ns();
	/* the files of the collections read now, watched (all of them
	 * after a rewatch) */
	again = all ? rebuild_index(w, lib) : index_library(w, lib, old);
	if (w->nrefs > 2 * w->built + 4096)
		again = rebuild_index(w, lib) || again;
	/* a broken edit's files too (an include it added, say): the next
	 * edit of them reads the collection again */
	if (kept_old)
		again = index_library(w, fresh, lib) || again;
	looked = nlooked == 0 ? xstrdup("every collection") :
	    xasprintf("%zu collection%s", nlooked, nlooked == 1 ? "" : "s");
	log_info("library reloaded in %.1f ms: %zu collections (%zu read "
	    "again), %zu classes; served %.1f ms after the change was seen, "
	    "the files of %s looked at, the front end %.1f ms",
	    (double)(t1 - t0) / 1e6, lib->ncolls, nread, lib->nclasses,
	    (double)(t1 - w->seen) / 1e6, looked, (double)(t2 - t1) / 1e6);
	free(looked);
	library_unref(lib);
	library_unref(fresh);
	library_unref(old);
	/* what the collections read again and their parse trees left free
	 * goes back to the system, so that reloads do not grow the daemon
	 * (the old snapshot's memory is freed here unless a reader still
	 * holds it, and then by a later reload) */
	malloc_trim(0);
	return again;
}

static void *
watch_thread(void *arg)
{
	struct reload *w = arg;
	char events[16384] __attribute__((aligned(8)));
	uint64_t due = 0;           /* when to reload, 0: nothing to do */
	bool ticking = false;       /* the front end wants its ticks */
	bool waited = false;        /* for a collection file gone */
	struct library *lib;

	/* The library served was loaded before anything watched it: the
	 * first walk adds the watches (here, not before the mount serves)
	 * and a change since the load began is loaded again at once, as
	 * if its events had come. */
	w->first = true;
	add_watches(w);
	w->first = false;
	lib = core_library(w->core);
	if (rebuild_index(w, lib) || w->changed) {
		log_info("the library changed while it was loaded: loading "
		    "it again");
		w->full = w->changed;
		w->seen = due = now_ns();
	}
	library_unref(lib);

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = w->ifd, .events = POLLIN },
			{ .fd = w->stop[0], .events = POLLIN },
		};
		int ms = -1;
		uint64_t now = now_ns();
		if (due != 0)
			ms = due > now ? (int)((due - now) / 1000000) + 1 : 0;
		else if (w->root_lost)
			ms = RETRY_MS;
		if (ticking && (ms == -1 || ms > TICK_MS))
			ms = TICK_MS;
		if (poll(p, 2, ms) == -1 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN)
			break;
		if (p[0].revents & POLLIN) {
			ssize_t len = read(w->ifd, events, sizeof events);
			for (ssize_t off = 0; off < len;) {
				const struct inotify_event *ev =
				    (const void *)(events + off);
				on_event(w, ev);
				off += (ssize_t)(sizeof *ev + ev->len);
			}
			now = now_ns();
			if (due == 0)
				w->seen = now;
			/* (never sooner than a wait for a file gone) */
			if (due < now + (uint64_t)QUIET_MS * 1000000)
				due = now + (uint64_t)QUIET_MS * 1000000;
			continue;
		}
		if (ticking)
			ticking = w->hooks.tick(w->hooks.arg);
		if (due == 0 && w->root_lost) {
			/* is it back (and readable)?  Then watched again
			 * from nothing */
			int wd = inotify_add_watch(w->ifd, w->core->root,
			    MASK);
			if (wd != -1) {
				inotify_rm_watch(w->ifd, wd);
				w->full = true;
				w->seen = due = now_ns();
			}
			continue;
		}
		if (due != 0 && now_ns() >= due) {
			bool again = false;
			due = 0;
			if (w->full) {
				w->full = false;
				rewatch(w);
				again = reload(w, true);
			} else if (!waited && w->dirty.n > 0 &&
			    collection_file_gone(w)) {
				waited = true;
				due = now_ns() + (uint64_t)GONE_MS * 1000000;
				continue;
			} else if (w->dirty.n > 0 || w->blind)
				again = reload(w, false);
			else
				log_debug("no file of a collection changed: "
				    "nothing to load");
			waited = false;
			if (again)
				w->seen = due = now_ns();
			ticking = w->hooks.tick != NULL;
		}
	}
	return NULL;
}

struct reload *
reload_start(struct core *c, const struct timespec *loaded,
    const struct reload_hooks *hooks, struct perr *e)
{
	struct reload *w = xcalloc(1, sizeof *w);
	struct library *lib = core_library(c);
	char *lines;

	/* what was wrong from the start goes to the errors too */
	if (lib->diags.nerrors > 0) {
		lines = error_lines(lib, NULL);
		core_library_error(c, lines);
		free(lines);
	}
	library_unref(lib);
	w->core = c;
	w->loaded = *loaded;
	if (hooks != NULL)
		w->hooks = *hooks;
	w->root_wd = -1;
	if ((w->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) == -1) {
		perr_set(e, errno, "inotify: %s", strerror(errno));
		free(w);
		return NULL;
	}
	if (pipe2(w->stop, O_CLOEXEC) == -1) {
		perr_set(e, errno, "pipe: %s", strerror(errno));
		close(w->ifd);
		free(w);
		return NULL;
	}
	if (pthread_create(&w->thread, NULL, watch_thread, w) != 0) {
		perr_set(e, EAGAIN, "cannot start the watching thread");
		close(w->ifd);
		close(w->stop[0]);
		close(w->stop[1]);
		free(w);
		return NULL;
	}
	return w;
}

void
reload_stop(struct reload *w)
{
	if (w == NULL)
		return;
	(void)!write(w->stop[1], "x", 1);
	pthread_join(w->thread, NULL);
	for (size_t i = 0; i < w->nwds; i++)
		free(w->wds[i].path);
	free(w->wds);
	free(w->data);
	htab_clear(&w->deps);
	htab_clear(&w->dirty);
	close(w->ifd);
	close(w->stop[0]);
	close(w->stop[1]);
	free(w);
}
