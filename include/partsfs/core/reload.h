/* reload.h -- live reloading: inotify on the library's directories; after
 * a change (and a short quiet spell) the library is loaded again in the
 * background, broken collections keep their last good version, and the
 * new snapshot replaces the old, for every front end alike. */
#ifndef PARTSFS_RELOAD_H
#define PARTSFS_RELOAD_H

#include <stdbool.h>
#include <time.h>

#include "partsfs/core/core.h"

/* What a front end does about a reload, on the reloading thread:
 * `reloaded` once the new snapshot `after` is the core's, `before` the
 * one it replaced (make a kernel forget what it cached of the
 * collections that are not the same objects in both, say); then `tick`
 * every tenth of a second for as long as it returns true (work the front
 * end could not do at once).  Either may be NULL. */
struct reload_hooks {
	void (*reloaded)(void *arg, const struct library *before,
	    const struct library *after);
	bool (*tick)(void *arg);
	void *arg;
};

struct reload;

/*
 * Watch the core's library and reload it on changes, on a thread of its
 * own.  A reload reads again the collections whose files the events
 * named, and keeps the others unlooked at; when events may have been
 * lost (inotify's queue overflowed, a directory moved, the library came
 * back) or a directory cannot be watched, it looks at every collection's
 * files (stat) and reads those that changed.  `loaded`: when the library served began loading (the coarse
 * clock of file times): a file changed since is loaded again at once.
 * The library's errors from the start, and every reload's, are recorded
 * with core_library_error (and logged).  NULL with `e` set when inotify
 * or the thread cannot be had.
 */
struct reload *reload_start(struct core *c, const struct timespec *loaded,
    const struct reload_hooks *hooks, struct perr *e);
/* Stop watching (the thread is joined).  NULL is fine. */
void reload_stop(struct reload *r);

#endif
