/* reload.c -- live reloading: inotify on the library's directories; after
 * a change (and a short quiet spell) the library is loaded again in the
 * background, broken collections keep their last good version, and the
 * new snapshot replaces the old, for every front end alike. */
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
#define QUIET_MS 40
/* While the library directory is gone, look for it again this often. */
#define RETRY_MS 1000
/* While the front end has work left after a reload (its tick hook says
 * so), it is called again this often. */
#define TICK_MS 100

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
};

static const uint32_t MASK = IN_CLOSE_WRITE | IN_CREATE | IN_DELETE |
    IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF |
    IN_ONLYDIR;

/* Watch root/rel when it is a directory inside the library (a link out
 * of it is not followed: the library refuses it anyway). */
static void
watch_dir(struct reload *w, const char *root, const char *rel)
{
	char *path;
	int fd;

	if ((fd = open_beneath(root, rel, O_PATH | O_DIRECTORY, NULL,
	    NULL)) == -1)
		return;
	close(fd);
	path = xasprintf("%s/%s", root, rel);
	inotify_add_watch(w->ifd, path, MASK);
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
		watch_dir(w, root, real + n + 1);
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

	watch_dir(w, root, rel);
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
	if (w->first)
		check_changed(w, &st);
	for (size_t i = 0; i < PF_ARRAY_LEN(dbs); i++)
		watch_tree(w, root, dbs[i], 1);
	for (size_t i = 0; i < conf->ncommands; i++)
		watch_tree(w, root, conf->commands[i].name, 1);
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

static void
reload(struct reload *w)
{
	struct core *core = w->core;
	struct library_opts opts = { .conf = core->conf };
	struct library *old, *fresh, *lib;
	struct collection **colls;
	struct diags d = DIAGS_INIT;
	struct perr e = { 0 };
	size_t n = 0, nread = 0;
	uint64_t t0 = now_ns();

	/* collections whose files did not change are the old snapshot's,
	 * kept: a reload costs what changed */
	old = core_library(core);
	if ((fresh = library_reload(core->root, &opts, old, &nread,
	    &e)) == NULL) {
		char *msg = xasprintf("%s; the last good version stays served",
		    e.msg);
		core_library_error(core, msg);
		free(msg);
		library_unref(old);
		return;
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
		char *blt = xasprintf("%s/data/%s.blt", core->root, o->id);
		struct stat st;
		int err = stat(blt, &st) == 0 ? 0 : errno;
		free(blt);
		if (f == NULL && err != 0 && err != ENOENT) {
			char *msg = xasprintf("data/%s.blt: %s; the last good "
			    "version stays served", o->id, strerror(err));
			core_library_error(core, msg);
			free(msg);
			colls[n++] = o;
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
	lib = library_assemble(core->root, colls, n, &d);
	diags_append(&d, &fresh->diags);
	diags_sort(&d);
	lib->diags = d;
	core_set_library(core, lib);
	log_info("library reloaded in %.1f ms: %zu collections (%zu read "
	    "again), %zu classes", (double)(now_ns() - t0) / 1e6, lib->ncolls,
	    nread, lib->nclasses);
	library_unref(fresh);
	library_unref(old);
	free(colls);
	/* what the collections read again and their parse trees left free
	 * goes back to the system, so that reloads do not grow the daemon
	 * (the old snapshot's memory is freed here unless a reader still
	 * holds it, and then by a later reload) */
	malloc_trim(0);
	if (w->hooks.reloaded != NULL)
		w->hooks.reloaded(w->hooks.arg);
}

static void *
watch_thread(void *arg)
{
	struct reload *w = arg;
	char events[16384] __attribute__((aligned(8)));
	uint64_t due = 0;           /* when to reload, 0: nothing to do */
	bool ticking = false;       /* the front end wants its ticks */

	/* The library served was loaded before anything watched it: the
	 * first walk adds the watches (here, not before the mount serves)
	 * and a change since the load began is loaded again at once, as
	 * if its events had come. */
	w->first = true;
	add_watches(w);
	w->first = false;
	if (w->changed) {
		log_info("the library changed while it was loaded: loading "
		    "it again");
		due = now_ns();
	}

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
				if (ev->wd == w->root_wd &&
				    (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF |
				    IN_IGNORED)))
					w->root_lost = true;
				off += (ssize_t)(sizeof *ev + ev->len);
			}
			due = now_ns() + (uint64_t)QUIET_MS * 1000000;
			continue;
		}
		if (ticking)
			ticking = w->hooks.tick(w->hooks.arg);
		if (due == 0 && w->root_lost) {
			/* is it back? */
			add_watches(w);
			if (!w->root_lost)
				due = now_ns();
			continue;
		}
		if (due != 0 && now_ns() >= due) {
			due = 0;
			add_watches(w);
			reload(w);
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
	close(w->ifd);
	close(w->stop[0]);
	close(w->stop[1]);
	free(w);
}
