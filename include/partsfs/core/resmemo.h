/* resmemo.h -- the resolution memo: what a part path of a library came to
 * (its cache key), kept in the cache index with the state of every file
 * it was worked out from, so that `partsctl get` of a part already made
 * need not load the library while none of those files has changed. */
#ifndef PARTSFS_RESMEMO_H
#define PARTSFS_RESMEMO_H

#include <stdbool.h>

#include "partsfs/cache/cache.h"
#include "partsfs/util/conf.h"
#include "partsfs/core/fetch.h"

/*
 * The state of the library's files is that of every directory and file
 * under its root's data/, openscad/, freecad/, drawings/ and
 * backends/openscad/ (BOLTS's OpenSCAD helpers) and the
 * directories of the configured command executors (what the loader may
 * read), taken with stat(2): device, inode, size, mode, modification and
 * change times to the nanosecond.  A part's own memo adds its engine
 * program, the directories of PATH and the files its key digests (some,
 * like the FreeCAD driver, outside the library).  Its name covers the
 * library's real path, the path as asked, PATH and every setting of the
 * configuration that can change a key.
 *
 * A memo is only written when the files were the same before the library
 * was loaded and after the part was planned, and none had changed in the
 * 2 seconds before the first look: a file changed within one tick of a
 * coarse file-system clock is never taken for unchanged.
 */

/* A snapshot of the library's files, taken before loading it. */
struct resmemo_snap;

/* Take the snapshot of `root` (absolute, symlinks resolved); NULL when the
 * tree is too big or cannot be read, and no memo will be written. */
struct resmemo_snap *resmemo_snap(const char *root, const struct conf *conf);
void resmemo_snap_free(struct resmemo_snap *s);

/*
 * The key that `path` of the library at `root` resolved to, when a memo
 * says so and every file it names is as it was: true with *key set.
 * Any other case, including an unreadable index, is false: the caller
 * loads the library.
 */
bool resmemo_lookup(struct cache *c, const char *root, const char *path,
    const struct conf *conf, struct cache_key *key);

/*
 * Remembering what `path` of the core's library (loaded after `before`
 * was taken) resolves to: resmemo_begin, then resmemo_plan while its
 * fetch (FETCH_PLAN) runs, so that the index's memos are written while
 * the engine makes the part and not after, then resmemo_end.  Nothing is
 * written when the library changed since `before`, or changed too
 * recently to tell, or while the plan's version is pending (its key is
 * not the part's yet).  Failures only leave the memos unwritten.
 * resmemo_begin gives NULL when nothing will be written; the others take
 * NULL and do nothing.
 */
struct resmemo_rec;
struct resmemo_rec *resmemo_begin(struct core *core,
    const struct resmemo_snap *before, const char *path);
/* The memos of the plan fetch `f` has now (when it has one). */
void resmemo_plan(struct resmemo_rec *rec, struct fetch *f);
/* Fetch `f` has finished (NULL: it failed): the memos of its plan, if
 * they are not written yet, and when it made or found the part, the
 * memo files of resmemo_fast_open; `rec` is freed. */
void resmemo_end(struct resmemo_rec *rec, struct fetch *f);

/*
 * Without the index: the descriptor of the blob of `path` (open for
 * reading, its size and hash checked against those the memo file
 * recorded from the index), with *key set, when the memo files of the
 * cache directory say what the memos would, the part file was written in
 * the last minute and every file named is as it was; else -1, and the
 * caller asks the index.  The memo files are written by resmemo_end
 * when the part was made, and by resmemo_fast_record after the index
 * served it (entry `hit`).
 */
int resmemo_fast_open(const char *root, const char *path,
    const struct conf *conf, struct cache_key *key);
void resmemo_fast_record(struct cache *c, const char *root,
    const char *path, const struct conf *conf, const struct cache_key *key,
    const struct cache_entry *hit);

/* At most this many part memos are kept; past it they are all dropped and
 * made again as gets come. */
#define RESMEMO_MAX_PARTS 10000

#endif
