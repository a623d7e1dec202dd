/* engine.h -- running one engine command for a job: the environment it
 * sees, its limits from the configuration, the check of what it wrote, and
 * the report of a failure for the user. */
#ifndef PARTSFS_ENGINE_H
#define PARTSFS_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "partsfs/make/sandbox.h"
#include "partsfs/util/conf.h"
#include "partsfs/util/format.h"
#include "partsfs/util/util.h"

/* Why a job failed, for the user: a one-line reason and the details. */
struct engine_failure {
	char *summary;           /* "freecad: exit status 1 after 0.8 s" */
	char *command;           /* the argv as a shell-quoted line */
	char *stderr_tail;       /* last lines of stderr */
	bool timed_out;          /* killed at the time limit */
	bool system;             /* not the engine's doing: no sandbox, no
				  * room to keep the part */
};
void engine_failure_clear(struct engine_failure *f);
/* The whole message: summary, command and stderr, one per paragraph
 * (caller frees). */
char *engine_failure_text(const struct engine_failure *f);
/* Set the failure's summary (and its command from argv, when given and
 * not set yet): returns -EIO, for `return engine_fail(...)`. */
int engine_fail(struct engine_failure *f, const char *const *argv,
    const char *fmt, ...) PF_PRINTF(3, 4);

/* The environment an engine sees: nothing of ours leaks into it. */
struct engine_env {
	char *v[16];
	const char *cv[16];   /* the same, as run_spec wants them */
	size_t n;
};
/* PATH, HOME, TMPDIR and XDG_RUNTIME_DIR in the scratch directory, a
 * UTF-8 locale, no Python bytecode written. */
void engine_env_init(struct engine_env *ev, const char *scratch);
/* Add VAR=value (taken over; dropped when the environment is full). */
void engine_env_add(struct engine_env *ev, char *s);
void engine_env_free(struct engine_env *ev);

/* What an engine sees in the sandbox: the library, its scratch directory,
 * and the paths it needs that are not under /usr. */
struct engine_view {
	struct sandbox_view view;
	char *ro[12];
	size_t n;
};
void engine_view_init(struct engine_view *ev, const char *library,
    const char *scratch);
/* Show the file `path` too, read-only (a program, a driver, a prelude;
 * the file alone, not its directory, which may hold what is not the
 * engine's to see); nothing when it is under /usr. */
void engine_view_add(struct engine_view *ev, const char *path);
void engine_view_free(struct engine_view *ev);

/* Write a file of the engine's input (mode 0644: the job user reads it,
 * in a scratch directory no one else may enter): 0 or -errno. */
int engine_write_file(const char *path, const char *data, size_t n);

/*
 * Run one engine command (argv[0] absolute) in `scratch` under the limits
 * of `conf`, in sandbox `sb` (NULL: none) with view `view`, and check that
 * it wrote a usable `fmt` file at `output`.  `what` names the engine in
 * reports.  0, or -EIO with `fail` filled (its stderr's last lines kept in
 * either case).  Every process the engine started has ended when it
 * returns (in the sandbox).
 */
int engine_run(const struct conf *conf, struct sandbox *sb,
    const struct sandbox_view *view, const char *what,
    const char *const *argv, const struct engine_env *ev,
    const char *scratch, enum format fmt, const char *output,
    struct engine_failure *fail);

/*
 * What an executor makes of its engine's stderr, for engine_run_judged.
 * keep: is this line (`len` bytes, without its newline) worth a report?
 * The report keeps the last 20 lines kept; NULL keeps every line.
 * verdict: called once the engine has exited by itself (not timed out,
 * killed or not executed), with `text` the stderr captured (its last
 * jobs.stderr bytes; `whole` false when its start was lost), the run's
 * `elapsed` seconds and `r`, 0 when it exited 0, else -EIO with `fail`'s
 * summary set.  Returns 0, or -EIO with the summary set (engine_fail
 * with no argv) when what the engine said means the output is not the
 * part asked for; it may also rewrite the summary of a failed run.  No
 * locks are held; both run on the job's thread.
 */
struct engine_judge {
	bool (*keep)(const char *line, size_t len);
	int (*verdict)(void *arg, const char *text, bool whole,
	    double elapsed, int r, struct engine_failure *fail);
	void *arg;
};
/* engine_run with `judge` (NULL: none, as engine_run) reading the
 * engine's stderr: a run it finds wrong fails before its output is
 * looked at. */
int engine_run_judged(const struct conf *conf, struct sandbox *sb,
    const struct sandbox_view *view, const char *what,
    const char *const *argv, const struct engine_env *ev,
    const char *scratch, enum format fmt, const char *output,
    const struct engine_judge *judge, struct engine_failure *fail);

/*
 * What the engine wrote at `output`, once nothing of it runs, opened
 * without following a link or waiting on a FIFO, checked (a regular file
 * of one link, not empty, at most `max` bytes, a plausible `fmt` file):
 * the descriptor, or -1 with `e` set.
 */
int engine_output(const char *output, enum format fmt, uint64_t max,
    struct perr *e);

/*
 * The part as partsfs keeps it: the engine's checked output `output`
 * copied into `dst`, a new file of partsfs's own (never the engine's:
 * whatever it still held open writes elsewhere).  0, or -EIO with `fail`
 * filled.
 */
int engine_keep(const char *what, const char *output, enum format fmt,
    uint64_t max, const char *dst, struct engine_failure *fail);

#endif
