/* ydoc.h -- YAML documents read with libyaml into a small tree that keeps
 * every node's file position, with the extensions real BOLTS data needs:
 * the !include tag, duplicate keys (the later wins, with a warning) and
 * limits against hostile input (size, depth, alias expansion). */
#ifndef PARTSFS_YDOC_H
#define PARTSFS_YDOC_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>

#include "partsfs/util/diag.h"
#include "partsfs/util/util.h"

enum ykind {
	Y_NULL,      /* an empty value, ~ or null */
	Y_SCALAR,
	Y_SEQ,
	Y_MAP,
};

struct ynode {
	enum ykind kind;
	const char *file;      /* display name of the file the node is in */
	int line;              /* 1-based */
	int col;               /* 1-based */
	/* Y_SCALAR */
	const char *str;       /* NUL-terminated; may contain NUL bytes only
	                        * when len says so (they are refused later) */
	size_t len;
	bool plain;            /* unquoted: subject to None/number resolution */
	/* Y_SEQ: items[0..n); Y_MAP: items[2i] key, items[2i+1] value, with
	 * duplicate keys already removed (the later one kept). */
	size_t n;
	struct ynode **items;
};

struct ydoc_limits {
	size_t max_file_bytes;    /* a bigger file is refused */
	int max_depth;            /* nesting of sequences and mappings */
	size_t max_nodes;         /* nodes including alias expansion */
	int max_include_depth;    /* !include inside !include */
};
/* Defaults: 16 MiB, depth 64, 4 million nodes, includes 4 deep. */
extern const struct ydoc_limits ydoc_default_limits;

/*
 * Read the single document of the YAML file at `path`, allocating nodes in
 * `arena`.  `display` names the file in diagnostics (normally its path
 * relative to the library root).  `include_root` is the directory that
 * !include paths are relative to; NULL refuses every !include.  An include
 * path must be relative, must stay inside `include_root` after resolving
 * symlinks, and must name a regular file.
 *
 * Returns the root node, or NULL after adding an error to `diags`.  A file
 * with no document (only comments) yields a Y_NULL root.  Not thread-safe
 * with respect to `arena` and `diags`; separate calls on separate arenas
 * may run in parallel.
 */
struct ynode *ydoc_load(struct arena *arena, const char *path,
    const char *display, const char *include_root,
    const struct ydoc_limits *limits, struct diags *diags);

/* The same, from a file open for reading (`fd` stays open). */
struct ynode *ydoc_load_fd(struct arena *arena, int fd, const char *display,
    const char *include_root, const struct ydoc_limits *limits,
    struct diags *diags);

/* The same, from a memory buffer (used by tests and fuzzers). */
struct ynode *ydoc_load_buffer(struct arena *arena, const char *data,
    size_t len, const char *display, const char *include_root,
    const struct ydoc_limits *limits, struct diags *diags);

/* The value for `key` in a mapping, or NULL (also when `map` is not a
 * mapping). */
struct ynode *ymap_get(const struct ynode *map, const char *key);
/* The key node for `key` (for positions), or NULL. */
struct ynode *ymap_key(const struct ynode *map, const char *key);

/* True for a plain scalar spelling null in YAML 1.1 (~, null, Null, NULL)
 * or an empty plain value. */
bool yscalar_is_null(const struct ynode *n);
/* True for the unquoted word None, which BOLTS tables use for "no value". */
bool yscalar_is_none(const struct ynode *n);

const char *ykind_name(enum ykind k);

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
