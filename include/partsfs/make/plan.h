/* plan.h -- planning a part: the chain of engine and converter that makes
 * its format, the parameters handed to the engine, its generator sources
 * and the cache key over everything that shapes the result. */
#ifndef PARTSFS_PLAN_H
#define PARTSFS_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "partsfs/cache/cache.h"
#include "partsfs/make/sandbox.h"
#include "partsfs/make/sources.h"
#include "partsfs/make/version.h"
#include "partsfs/model/library.h"
#include "partsfs/model/makers.h"
#include "partsfs/tree/path.h"
#include "partsfs/util/conf.h"

/* A generator source: a file whose bytes go into the cache key. */
struct exec_source {
	char *label;             /* "script", "sibling", "include", "helper",
				  * "driver" */
	char *path;
	char digest[CACHE_KEY_LEN + 1];  /* SHA-256 the key was made from */
};

/* A field of the key: bytes and their length. */
struct plan_field {
	char *p;
	size_t n;
};

/* Everything making one part takes.  Self-contained: it owns copies of
 * what it needs, so it outlives the library snapshot it came from. */
struct plan {
	enum generator kind;
	const struct conf_command *cmd;   /* GEN_COMMAND (points into conf) */
	enum format fmt;                  /* what was asked for */
	enum format native;               /* what the engine writes */
	bool convert;                     /* native -> fmt by the converter */
	char *path;                       /* canonical tree path */
	char *coll;                       /* collection id */
	char *cls;                        /* class id */
	char *label;                      /* nice label (STEP product name) */
	char *script;                     /* module/function/script file */
	char *entry;                      /* module or function name */
	char **args;                      /* OpenSCAD positional arguments */
	size_t nargs;
	json_t *params;                   /* name -> value, lengths in mm */
	char *program;                    /* the engine, absolute path */
	char *version;                    /* the engine's version text */
	/* the version is not known yet (plan_make_deferred): `version` is
	 * NULL and `key` provisional, no part's key, until plan_set_version */
	bool version_pending;
	struct exec_source *sources;
	size_t nsources;
	struct plan_field *keyparams;     /* the parameters as keyed */
	size_t nkeyparams;
	struct cache_key key;
};

/* What planning and making parts take: the configuration, the cache,
 * the library's root, what the process remembers of engines and sources
 * (each may be NULL: nothing is remembered), and the sandbox engines run
 * in (NULL: none, for tests of what runs inside it). */
struct exec_env {
	const struct conf *conf;
	struct cache *cache;              /* for remembered engine versions */
	const char *root;                 /* library root */
	struct versions *versions;
	struct sources *sources;
	struct sandbox *sandbox;
};

/*
 * Plan a part (a PN_PART node, not json): pick the cheapest chain that
 * makes its format, collect its parameters, find the engine and its
 * version, list the generator sources and compute the cache key.  -ENOENT
 * when no chain makes the format; -ENOEXEC when the engine is not
 * installed (the message names the Debian package).  Thread-safe.
 */
int plan_make(const struct exec_env *env, const struct pnode *part,
    struct plan *out, struct perr *e);
/*
 * The same without waiting for an engine: -EWOULDBLOCK where plan_make
 * would run the engine to learn its version (the first part of an engine
 * this process and its cache have not met).  For threads that must answer
 * at once; plan_make, on a thread that may wait, then learns the version
 * for all.
 */
int plan_make_now(const struct exec_env *env, const struct pnode *part,
    struct plan *out, struct perr *e);
/*
 * The same as plan_make_now, but where that would give -EWOULDBLOCK (the
 * engine's version is not known), a plan whose version is pending: its
 * version NULL, version_pending set and its key provisional (one key per
 * part and engine program, never a made part's).  The job making it asks
 * the version beside the engine (plan_version) and keys the part once it
 * is known (plan_set_version), so that the query is not on the path of
 * the first part of a fresh cache.  Thread-safe.
 */
int plan_make_deferred(const struct exec_env *env, const struct pnode *part,
    struct plan *out, struct perr *e);
/*
 * The version of the plan's engine, as planning finds it (a program
 * gone: NULL): `flags` as version_lookup's; without VERSION_ASK, NULL
 * with *unknown set when no memo knows it.  Caller frees.
 */
char *plan_version(const struct exec_env *env, const struct plan *p,
    unsigned flags, bool *unknown);
/* Whether the run of the plan's engine reports the version it ran
 * (FreeCAD's driver does), so that a pending version needs no query
 * beside the job: plan_version_reported after the run. */
bool plan_reports_version(const struct plan *p);
/*
 * The version the plan's engine reported in its run in `scratch`,
 * remembered as plan_version's query would remember it (the same memo,
 * in this process and the cache); NULL when it reported none (it failed
 * first: ask plan_version then), or does not report.  Caller frees.
 */
char *plan_version_reported(const struct exec_env *env, const struct plan *p,
    const char *scratch);
/* Set the plan's version (NULL: a program gone, as planning keys it) and
 * its key from it: the key planning gives once the version is known.
 * The sources are keyed by the digests the plan was made with. */
void plan_set_version(const struct exec_env *env, struct plan *p,
    const char *version);
/*
 * The cache key of a part as plan_make_now gives it, from what planning
 * saw of its engine and sources in the last second where it looked then:
 * for asking whether a part is made (a stat, a thousand of them), never
 * for making one.  0, or -errno as plan_make_now.  Thread-safe.
 */
int plan_key_recent(const struct exec_env *env, const struct pnode *part,
    struct cache_key *key);
/* Forget what planning saw (the library was reloaded: an edited module
 * must count at once). */
void plan_forget_recent(const struct exec_env *env);
void plan_clear(struct plan *p);
/* A deep copy of `src` into `dst` (plan_clear it). */
void plan_copy(struct plan *dst, const struct plan *src);
/*
 * Are the plan's sources still what its key was computed from, and those
 * inside the library still inside it?  0, or -errno with `e` saying
 * which file changed.  A job checks before and after its engine runs: a
 * part made from a module edited meanwhile (or swapped for a link out of
 * the library) must not be stored under the key of the old one.
 */
int plan_sources_check(const struct exec_env *env, const struct plan *p,
    struct perr *e);

#endif
