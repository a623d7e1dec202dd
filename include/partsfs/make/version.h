/* version.h -- the engines' programs and versions: finding a program on
 * PATH, and learning the version an engine reports (which goes into every
 * key it makes), remembered in the cache's index and in this process. */
#ifndef PARTSFS_VERSION_H
#define PARTSFS_VERSION_H

#include <stdbool.h>

#include "partsfs/cache/cache.h"
#include "partsfs/make/sandbox.h"
#include "partsfs/util/util.h"

/*
 * What a process remembers of programs and versions, so that planning a
 * part (for every stat of a mount) costs no search of PATH and no query
 * of the index.  Thread-safe.  Every function below takes NULL for "none
 * remembered": it then looks every time.
 */
struct versions;
struct versions *versions_new(void);
void versions_free(struct versions *v);
/* Trust nothing seen before now (a reinstalled engine counts at once). */
void versions_forget(struct versions *v);

/* A program by name: itself (resolved) when it contains '/', else looked
 * up on $PATH; NULL when not found or not executable.  `quick`: a program
 * seen in the last second is not looked at again.  Caller frees. */
char *version_program(struct versions *v, const char *name, bool quick);

/*
 * The engine's version text: the first line `argv` (default: program
 * --version) prints with `extra_env` (NULL or one VAR=value) added, run in
 * sandbox `sb` (NULL: none), or "unknown (...)" when that fails.  Remembered in `cache` (may be NULL) by
 * the program's path, size and mtime and the query, success or not, so
 * that a part answered from the cache never starts an engine.  The query
 * runs in a private directory of the cache's scratch space.  Caller frees;
 * NULL when the program is gone.
 */
char *version_query(struct versions *v, struct cache *cache,
    struct sandbox *sb, const char *program, char *const *argv,
    const char *extra_env);

/*
 * The same, and what may be done to learn it: VERSION_ASK runs the query
 * when no memo knows the version (without it, NULL with *unknown set
 * instead); VERSION_QUICK trusts what was seen of the program and the
 * index in the last second; VERSION_MARKED takes the answer from the line
 * that begins with VERSION_MARK (the rest of it), where a program prints
 * other lines first (freecadcmd's banner before its script's output), and
 * the first line only when none does.
 */
#define VERSION_ASK 0x1
#define VERSION_QUICK 0x2
#define VERSION_MARKED 0x4
#define VERSION_MARK "partsfs-version: "
char *version_lookup(struct versions *v, struct cache *cache,
    struct sandbox *sb, const char *program, char *const *argv,
    const char *extra_env, unsigned flags, bool *unknown);

/* The rest of the first line of `text` that begins with VERSION_MARK (at
 * most 200 bytes of it), or NULL when no line does.  Caller frees. */
char *version_marked(const char *text);

/*
 * The version an engine's own run reported (`report`: what the run wrote,
 * the same text its version query prints first), remembered as the
 * query's answer for the same program, argv and extra_env would be, in
 * this process and in `cache` (may be NULL), so that the first part of a
 * fresh cache needs no query beside its job.  Returns the version (caller
 * frees), or NULL when `report` is NULL or holds no line, or the program
 * is gone.
 */
char *version_reported(struct versions *v, struct cache *cache,
    const char *program, char *const *argv, const char *extra_env,
    const char *report);

/* What stands for the version of a program that is not asked for it: its
 * path, size and modification time.  Caller frees. */
char *version_identity(struct versions *v, const char *program, bool quick);

#endif
