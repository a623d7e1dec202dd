/* sandbox.h -- every process partsfs starts for a library runs under
 * bubblewrap: user, PID, network, IPC, UTS, cgroup and mount namespaces of
 * its own, an unprivileged user, no capabilities and no new privileges,
 * the system and the library read-only, its scratch directory the only
 * place it may write, and a limit on its processes. */
#ifndef PARTSFS_SANDBOX_H
#define PARTSFS_SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>

#include "partsfs/util/conf.h"
#include "partsfs/util/util.h"

enum sandbox_mode {
	SANDBOX_BWRAP,            /* engines run in bwrap */
	SANDBOX_OFF,              /* jobs.sandbox: off: engines run as they
				   * are, in a session of their own */
	SANDBOX_UNAVAILABLE,      /* wanted, not possible: no engine runs */
};

/*
 * The sandbox of a process under `conf`: the bwrap program, the user
 * engines run as when partsfs is root (jobs.user; without it a user named
 * partsfs, else nobody, with a warning), the limits.  Cheap: the sandbox
 * is tried (bwrap run once as the job user) when first needed.  NULL with
 * `e` set when the configuration cannot be: jobs.user unknown.
 * Thread-safe after it is made.
 */
struct sandbox;
struct sandbox *sandbox_new(const struct conf *conf, struct perr *e);
void sandbox_free(struct sandbox *sb);

/* The mode, trying the sandbox the first time (a run of bwrap, on this
 * thread; others asking meanwhile wait for it).  With
 * SANDBOX_UNAVAILABLE, reason says why in words for the user, with what
 * to do about it. */
enum sandbox_mode sandbox_mode(struct sandbox *sb);
/* The mode without that trial run: SANDBOX_BWRAP when everything the
 * sandbox needs is installed (jobs find out whether it works, see
 * sandbox_cmd_failed).  What a job asks: a trial would cost each partsctl
 * get a second run of bwrap. */
enum sandbox_mode sandbox_mode_untried(struct sandbox *sb);
const char *sandbox_reason(struct sandbox *sb);
/* One line for the log and partsctl check: the mode, the user engines
 * run as, and what is wrong (caller frees). */
char *sandbox_describe(struct sandbox *sb);

/* What one process sees besides the system: all absolute. */
struct sandbox_view {
	const char *library;      /* read-only; NULL for a version query */
	const char *scratch;      /* read-write: its working directory and
				   * HOME, given to the job user */
	const char *const *ro;    /* more paths it may read (the FreeCAD
				   * driver's directory, a program outside
				   * /usr, absolute preludes); NULL-ended */
};

/*
 * One process in the sandbox (SANDBOX_BWRAP only), argv[0] absolute:
 * what the child runs instead, and what it needs.  NULL with `e` set when
 * a path of the view cannot be used.  Only the thread that made it uses
 * it.  The steps, in run_process: sandbox_cmd_argv gives the program;
 * the child calls sandbox_child between its clone and exec; the parent
 * calls sandbox_cmd_started after the clone, and sandbox_cmd_finish once
 * bwrap is reaped (or killed: killing bwrap ends the whole job, as its
 * pid 1 dies with it).
 */
struct sandbox_cmd;
struct sandbox_cmd *sandbox_cmd_new(struct sandbox *sb,
    const struct sandbox_view *v, const char *const *argv, struct perr *e);
const char *const *sandbox_cmd_argv(const struct sandbox_cmd *c);
/* In the child, its stdio in place: the descriptors bwrap reads, the
 * staging of the view (as root), the change to the job user, death with
 * the parent, no new privileges, every other descriptor closed.  Only
 * async-signal-safe calls.  0, or the errno of the step that failed. */
int sandbox_child(const struct sandbox_cmd *c, pid_t parent);
/* In the parent after the clone: the child's ends closed, and the job's
 * pid 1 learnt from bwrap (it says once the namespaces are made, or
 * nothing when it fails before). */
void sandbox_cmd_started(struct sandbox_cmd *c);
/* Once bwrap has ended: the job's pid 1 is killed (with it every process
 * of the job) and waited for.  After it, nothing the job started runs:
 * what it wrote can be read. */
void sandbox_cmd_finish(struct sandbox_cmd *c);
/* After sandbox_cmd_finish: 0 when bwrap made the job's namespaces (the
 * command ran, whatever its end), else -EPERM with `e` saying why, from a
 * trial run of the sandbox, after which the mode is known (or from what
 * bwrap `said` on its standard error when the trial works). */
int sandbox_cmd_failed(struct sandbox *sb, const struct sandbox_cmd *c,
    const char *said, struct perr *e);
void sandbox_cmd_free(struct sandbox_cmd *c);

#endif
