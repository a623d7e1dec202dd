/* exec.h -- executors: the plan for making a part (which engine, which
 * format chain, the cache key), running an engine as a confined
 * subprocess, and the three executors (openscad, freecad, command) with the
 * STL-to-glTF converter. */
#ifndef PARTSFS_EXEC_H
#define PARTSFS_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "partsfs/cache/cache.h"
#include "partsfs/util/conf.h"
#include "partsfs/model/library.h"
#include "partsfs/model/makers.h"
#include "partsfs/tree/path.h"

/* A generator source: a file whose bytes go into the cache key. */
struct exec_source {
	char *label;             /* "module", "include", "driver", "sibling" */
	char *path;
	char digest[CACHE_KEY_LEN + 1];  /* SHA-256 the key was made from */
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
	struct exec_source *sources;
	size_t nsources;
	struct cache_key key;
};

/* The parts of the conf and cache a plan needs. */
struct exec_env {
	const struct conf *conf;
	struct cache *cache;              /* for remembered engine versions */
	const char *root;                 /* library root */
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
 * The cache key of a part as plan_make_now gives it, from what planning
 * saw of its engine and sources in the last second where it looked then:
 * for asking whether a part is made (a stat, a thousand of them), never
 * for making one.  0, or -errno as plan_make_now.  Thread-safe.
 */
int plan_key_recent(const struct exec_env *env, const struct pnode *part,
    struct cache_key *key);
/* Forget what planning saw (the library was reloaded: an edited module
 * must count at once). */
void plan_forget_recent(void);
/* A name for the engine (executor and program) that makes a part, or
 * NULL: what a plan that waits is waiting for (caller frees). */
char *plan_engine(const struct exec_env *env, const struct pnode *part);
void plan_clear(struct plan *p);
/*
 * Are the plan's sources still what its key was computed from, and those
 * inside the library still inside it?  0, or -errno with `e` saying
 * which file changed.  A job checks before and after its engine runs: a
 * part made from a module edited meanwhile (or swapped for a link out of
 * the library) must not be stored under the key of the old one.
 */
int plan_sources_check(const struct exec_env *env, const struct plan *p,
    struct perr *e);

/* Running a subprocess. */

struct run_spec {
	const char *const *argv;
	const char *const *envp;
	const char *cwd;
	double timeout;          /* seconds; 0 none */
	uint64_t memory;         /* RLIMIT_AS; 0 none */
	double cpu;              /* RLIMIT_CPU seconds; 0 none */
	uint64_t fsize;          /* RLIMIT_FSIZE; 0 none */
	size_t stderr_max;       /* bytes of stderr kept (the last ones) */
	bool capture_stdout;     /* stdout goes with stderr (versions) */
};

struct run_result {
	int status;              /* exit status, -1 when killed */
	int signal;              /* signal that ended it, 0 if none */
	bool timed_out;
	double elapsed;          /* seconds */
	char *stderr_tail;       /* the last stderr_max bytes; caller frees */
	uint64_t stderr_total;
	pid_t pid;
};

/*
 * Run argv[0] (an absolute path) in its own process group, with stdin from
 * /dev/null, stdout discarded, stderr captured (bounded), environment
 * `envp`, the resource limits, and a timeout after which the whole group
 * is killed.  Whatever the engine leaves running in its group is killed
 * when it exits.  The engine dies with its parent (PR_SET_PDEATHSIG).
 * Returns 0 when it ran (whatever its status), -errno when it could not
 * be started.
 */
int run_process(const struct run_spec *spec, struct run_result *res,
    struct perr *e);
void run_result_clear(struct run_result *r);

/* Signal every process group run_process started (at shutdown). */
void run_kill_all(int sig);

/* Making a part. */

/* Why a job failed, for the user: a one-line reason and the details. */
struct exec_failure {
	char *summary;           /* "freecad: exit status 1 after 0.8 s" */
	char *command;           /* the argv as a shell-quoted line */
	char *stderr_tail;       /* last lines of stderr */
	bool timed_out;          /* killed at the time limit */
};
void exec_failure_clear(struct exec_failure *f);
/* The whole message: summary, command and stderr, one per paragraph. */
char *exec_failure_text(const struct exec_failure *f);

/*
 * Run the plan's engine (and the converter) in `scratch`, check the result
 * and leave it in *out (a path inside scratch, caller frees).  0, or
 * -EIO with `fail` filled.
 */
int exec_run(const struct exec_env *env, const struct plan *plan,
    const char *scratch, char **out, struct exec_failure *fail);

/*
 * The engine's version text: the first line `argv` (default: program
 * --version) prints with `extra_env` (NULL or one VAR=value) added, or
 * "unknown (...)" when that fails.  Remembered in the cache by the
 * program's path, size and mtime, success or not, so that a part answered
 * from the cache never starts an engine.
 */
char *exec_version(const struct exec_env *env, const char *program,
    char *const *argv, const char *extra_env);

/* A program by name: itself when it contains '/', else looked up on
 * $PATH.  NULL when not found or not executable. */
char *exec_find_program(const char *name);

#endif
