/* confine.h -- opening a library's files without leaving the library:
 * through no "..", absolute link or link that leads out of it. */
#ifndef PARTSFS_CONFINE_H
#define PARTSFS_CONFINE_H

#include <dirent.h>
#include <stdbool.h>

#include "partsfs/util/util.h"

/*
 * Open `rel`, a path relative to the directory `root`, with open(2) `flags`
 * (O_CLOEXEC added), never resolving anything outside `root`: not through
 * "..", an absolute link or a link that leads out.  Links that stay inside
 * are followed, absolute ones included.  With openat2(2) and
 * RESOLVE_BENEATH nothing outside is opened even for a moment, whatever
 * is swapped meanwhile; without it (kernels before 5.6) the check is
 * realpath(3) and a race on a directory component remains.
 *
 * Returns the descriptor, or -1 with errno set.  EXDEV means the path
 * leads outside; then, when the culprit is a link, *link (that component,
 * as a prefix of `rel`) and *target (where it leads, absolute) are set for
 * the caller's message and freed by the caller; else they are left alone.
 * `link` and `target` may be NULL.  Thread-safe.
 */
int open_beneath(const char *root, const char *rel, int flags, char **link,
    char **target);
/* Is `path` `dir` or under it?  Both absolute, without symlinks. */
bool path_beneath(const char *path, const char *dir);
/* The absolute `path`, a real path inside `root` when the library was
 * loaded, opened as open_beneath does (EXDEV: it leads out now, or never
 * was inside). */
int open_inside(const char *root, const char *path, int flags);
/* The directory `rel` beneath `root`, opened as open_beneath does, for
 * readdir; NULL with errno set. */
DIR *opendir_beneath(const char *root, const char *rel);

#endif
