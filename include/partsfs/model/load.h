/* load.h -- loading a library directory: finding its collections, loading
 * each (its blt file and database files) on a few threads, and assembling
 * the snapshot. */
#ifndef PARTSFS_LOAD_H
#define PARTSFS_LOAD_H

#include "partsfs/model/library.h"
#include "partsfs/util/conf.h"
#include "partsfs/util/diag.h"
#include "partsfs/util/util.h"
#include "partsfs/util/ydoc.h"

struct library_opts {
	const struct conf *conf;            /* executors; NULL: defaults */
	const struct ydoc_limits *limits;   /* NULL: ydoc_default_limits */
	int threads;                        /* 0: one per CPU, at most 8 */
	/* library_reload: whether a collection of the old snapshot may
	 * have changed (its files are then looked at, collection_unchanged);
	 * one it says false for is kept unlooked at.  NULL: every one may
	 * have.  Called on the loading threads at once. */
	bool (*suspect)(const struct collection *old, void *arg);
	void *suspect_arg;
};

/*
 * Load and validate the library in directory `root`.  Every problem is
 * added to the returned library's `diags` (errors and warnings, in file
 * order); a collection with errors keeps its valid classes, and never
 * stops the others from loading.  Returns NULL with `e` set only when
 * `root` itself cannot be used (missing, not a directory, no data/, data/
 * a link out of it, not readable: the message names the real cause).
 * Nothing outside `root` is read: files and directories that are links
 * leading out of it are refused with an error naming the link and its
 * target, and never opened; links that stay inside are followed.
 * The result has one reference.
 */
struct library *library_load(const char *root,
    const struct library_opts *opts, struct perr *e);

/*
 * The same, keeping the collections of `old` (a snapshot of the same
 * library, or NULL) whose files have not changed since they were read
 * (collection_unchanged, for those opts->suspect does not clear): the
 * new snapshot shares them, the same objects, with their diagnostics;
 * the others are read again.
 * *nread (unless NULL): the collections read.
 */
struct library *library_reload(const char *root,
    const struct library_opts *opts, const struct library *old,
    size_t *nread, struct perr *e);

/*
 * Load one collection `id` of the library at `root` (data/<id>.blt and its
 * database files, including those of the command executors `conf` names),
 * reporting into `diags`.  `root` is absolute, without symlinks.  Returns
 * NULL when the .blt cannot be read at all or leads outside `root`.  Used
 * by library_load and by live reloading.
 */
struct collection *collection_load(const char *root, const char *id,
    const struct conf *conf, const struct ydoc_limits *limits,
    struct diags *diags);

#endif
