/* fixture.h -- small libraries written to a temporary directory for
 * tests: a blt text wrapped in a valid collection header. */
#ifndef PARTSFS_FIXTURE_H
#define PARTSFS_FIXTURE_H

#include "partsfs/model/library.h"
#include "partsfs/model/params.h"
#include "partsfs/tree/path.h"

/* A library directory holding data/<coll>.blt = header + `classes`
 * (YAML text of the class list, indented by two spaces under
 * "classes:").  Returns the directory. */
const char *fixture_dir(const char *coll, const char *classes);
/* The same, loaded.  The diagnostics are in lib->diags. */
struct library *fixture_load(const char *coll, const char *classes);
/* Load an existing directory. */
struct library *fixture_load_dir(const char *dir);
/* The first diagnostic with `severity` whose text contains `needle`, as
 * "file:line:col: severity: msg" (static), or NULL. */
const char *fixture_diag(const struct library *lib, enum diag_severity sev,
    const char *needle);
/* All diagnostics, one per line (static), for test notes. */
const char *fixture_diags(const struct library *lib);
/* Test that loading `lib` reported an error or a warning containing
 * `text` (CHECK_MSG of tap.h). */
#define EXPECT_ERROR(lib, text) \
	CHECK_MSG(fixture_diag(lib, DIAG_ERROR, text) != NULL, \
	    "no error containing \"%s\"; got:\n%s", text, fixture_diags(lib))
#define EXPECT_WARNING(lib, text) \
	CHECK_MSG(fixture_diag(lib, DIAG_WARNING, text) != NULL, \
	    "no warning containing \"%s\"; got:\n%s", text, fixture_diags(lib))
/* Collect a class's parameters with name=value text for free parameters
 * (NULL-terminated pairs); returns 0 or the error, vals has nparams. */
int fixture_collect(const struct pclass *cls, const char *const *pairs,
    struct value *vals, struct perr *e);
/* The collected value of `name` as canonical text (static). */
const char *fixture_value(const struct pclass *cls, const struct value *vals,
    const char *name);

/* Engines, plans and jobs. */

#include "partsfs/util/conf.h"
#include "partsfs/make/exec.h"
#include "partsfs/make/version.h"

/* The build tree and the source tree, absolute ($top_builddir and
 * $top_srcdir as `make check` sets them, else found from the working
 * directory). */
const char *fixture_builddir(void);
const char *fixture_srcdir(void);
/* The test engine tests/fake-engine, absolute. */
const char *fixture_fake_engine(void);
/* A configuration from YAML text (written to a file of its own); aborts
 * when it has errors. */
struct conf *fixture_conf(const char *yaml);
/* `s` as a YAML double-quoted scalar (static, one of a few buffers). */
const char *fixture_yaml_str(const char *s);
/* Load the library in `dir` under `conf` (its command executors). */
struct library *fixture_load_conf(const char *dir, const struct conf *conf);
/* Plan the part at tree path `path`: pnode_lookup and plan_make. */
int fixture_plan(const struct exec_env *env, const struct library *lib,
    const char *path, struct plan *out, struct perr *e);
/* `value` percent-encoded for a stem (caller frees). */
char *fixture_stem_value(const char *value);
/* A whole file, NUL-terminated (length in *len when not NULL), or NULL. */
char *fixture_read(const char *path, size_t *len);
/* Write an executable file (a script). */
void fixture_write_exec(const char *path, const char *text);
/* The number of lines of a file (0 when it does not exist). */
int fixture_lines(const char *path);
/* Is process `pid` alive (and not a zombie)? */
bool fixture_alive(long pid);
/* Wait until cond() is true, at most `seconds`: the last value. */
bool fixture_wait_for(bool (*cond)(void *), void *arg, double seconds);

/* A core over the test engine's box. */

#include "partsfs/core/core.h"
#include "partsfs/core/fetch.h"

/* A library whose class fake/box the test engine makes (a `command`
 * executor "fake", formats stl and step; free parameters size, mode,
 * seconds, counter and note, see tests/fake-engine.c; its script
 * fake/fake/box.txt), its configuration, a cache and a core over them,
 * all in one temporary directory. */
struct fixture_core {
	const char *tmp;                /* the directory of it all */
	char *dir;                      /* the library, absolute */
	char *script;                   /* the module: the box's script */
	char *cachedir;
	char *counter;                  /* the engine's runs, a pid a line */
	struct core *core;
};

/* What fixture_core_open may change; zero for the defaults. */
struct fixture_core_opts {
	int workers;                    /* job workers (0: 2) */
	uint64_t cache_max;             /* the cache's limit (0: a GiB) */
	const char *program;            /* the engine (NULL: the test
					 * engine) */
	bool version;                   /* it has a version command:
					 * program --version */
	const char *cache_dir;          /* the cache (NULL: a new one) */
};
/* Open the rig (opts may be NULL); aborts when anything fails. */
void fixture_core_open(struct fixture_core *fc,
    const struct fixture_core_opts *opts);
void fixture_core_close(struct fixture_core *fc);
/* The tree path fake/box/<stem>.<ext> of a box made with the free values
 * `pairs` (name, value, ..., NULL; values percent-encoded here), or
 * default.<ext>; caller frees. */
char *fixture_box_path(const char *const *pairs, const char *ext);
#define FIXTURE_PAIRS(...) ((const char *const []){ __VA_ARGS__, NULL })
/* Look `path` up in the core's current library and core_fetch it; aborts
 * when there is no such part. */
int fixture_fetch(struct fixture_core *fc, const char *path, unsigned flags,
    void (*done)(void *arg, struct fetch *f), void *arg, struct fetch **fp);
/* Fetch `path` and wait for the fetch (at most `timeout` seconds): its
 * state, the fetch in *fp (NULL: dropped). */
enum fetch_state fixture_fetch_wait(struct fixture_core *fc,
    const char *path, double timeout, struct fetch **fp);
/* The engine runs counted so far. */
int fixture_core_runs(struct fixture_core *fc);

#endif
