/* sources.h -- the generator sources of a part: its script and the
 * sibling files it may include or import, and their digests, which go
 * into its cache key; remembered by file identity so that a key does not
 * read the scripts again. */
#ifndef PARTSFS_SOURCES_H
#define PARTSFS_SOURCES_H

#include <stdbool.h>

#include "partsfs/cache/cache.h"

struct plan;

/* What a process remembers of the sources' digests and of the siblings
 * of scripts.  Thread-safe.  Every function below takes NULL for "none
 * remembered": it then reads the files every time. */
struct sources;
struct sources *sources_new(void);
void sources_free(struct sources *s);
/* Trust nothing seen before now (the library was reloaded: an edited
 * module counts at once). */
void sources_forget(struct sources *s);

/* The SHA-256 of the file at `path` as hex, remembered by the file's
 * identity (device, inode, size, mtime, ctime); `quick`: a file seen in the last
 * second is not looked at again.  0 or -errno. */
int sources_digest(struct sources *s, const char *path,
    char hex[CACHE_KEY_LEN + 1], bool quick);

/* Add a source (labelled "script", "sibling", "include", "driver") to a
 * plan, its digest not yet taken. */
void sources_add(struct plan *p, const char *label, const char *path);

/*
 * Add `script` (a real path inside the library at `root`) and its
 * siblings with the same extension, which a module may include or import.
 * A sibling that is a link is taken only when it stays inside the library
 * (one leading out is skipped unread, silently: loading warned of it).
 * `quick`: the siblings listed in the last second stand.
 */
void sources_add_script(struct sources *s, struct plan *p, const char *root,
    const char *script, bool quick);

#endif
