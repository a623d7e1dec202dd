/* ydoc.h -- YAML documents read with libyaml into a small tree that keeps
 * every node's file position, with the extensions real BOLTS data needs:
 * the !include tag, duplicate keys (the later wins, with a warning) and
 * limits against hostile input (size, depth, alias expansion). */
#ifndef PARTSFS_YDOC_H
#define PARTSFS_YDOC_H

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

/* The same, telling `seen` (unless NULL) of every file an !include
 * names, found or not: its path (include_root/PATH) and its status
 * (NULL when it could not be opened).  Live reloading keeps what was
 * read from files that have not changed since. */
struct stat;
struct ydoc_seen {
	void (*fn)(void *arg, const char *path, const struct stat *st);
	void *arg;
};
struct ynode *ydoc_load_fd_seen(struct arena *arena, int fd,
    const char *display, const char *include_root,
    const struct ydoc_limits *limits, struct diags *diags,
    const struct ydoc_seen *seen);

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

/* Readers of a library's elements, reporting into `diags`. */

/* The text of a scalar node, or NULL (with an error naming `what`) when it
 * is not a scalar or contains a NUL byte. */
const char *ytext(const struct ynode *n, const char *what,
    struct diags *diags);

/* A node that may be one element or a list of elements: the number of
 * elements, and the i-th. */
size_t ylist_len(const struct ynode *n);
const struct ynode *ylist_at(const struct ynode *n, size_t i);

/* Report an error at a node's position. */
void yerror(struct diags *d, const struct ynode *n, const char *fmt, ...)
    PF_PRINTF(3, 4);
void ywarn(struct diags *d, const struct ynode *n, const char *fmt, ...)
    PF_PRINTF(3, 4);

/* A string or a list of strings, copied into `a`. */
const char **read_strings(struct arena *a, const struct ynode *n,
    size_t *count, const char *what, struct diags *d);

/* Warn about keys of mapping `el` that are not in `allowed` (NULL-ended). */
void check_known_keys(struct diags *d, const struct ynode *el,
    const char *what, const char *const *allowed);

/* A mandatory text value (NULL with an error when missing) and an optional
 * one (NULL when absent), copied into `a`. */
const char *need_text(struct arena *a, const struct ynode *el,
    const char *key, const char *what, struct diags *d);
const char *opt_text(struct arena *a, const struct ynode *el,
    const char *key, struct diags *d);

#endif
