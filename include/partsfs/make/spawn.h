/* spawn.h -- running an engine as a confined subprocess: in the sandbox
 * (or at least a process group of its own), resource limits, a clean
 * environment, bounded stderr capture, and a timeout that kills it with
 * every process it started. */
#ifndef PARTSFS_SPAWN_H
#define PARTSFS_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "partsfs/make/sandbox.h"
#include "partsfs/util/util.h"

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
	/* The sandbox and what the process sees in it; NULL, or one of
	 * SANDBOX_OFF: none (the process runs as partsfs does, in its own
	 * process group) */
	struct sandbox *sandbox;
	const struct sandbox_view *view;
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
 * Run argv[0] (an absolute path) with stdin from /dev/null, stdout
 * discarded, stderr captured (bounded), environment `envp`, the resource
 * limits, and a timeout after which it is killed.  In the sandbox, every
 * process it started is gone when this returns (its PID namespace ended,
 * whatever they did: setsid, double forks); without one, those of its
 * process group are killed.  It dies with its parent (PR_SET_PDEATHSIG).
 * Returns 0 when it ran (whatever its status), -errno when it could not
 * be started (EPERM: the sandbox cannot be set up, `e` says why; found
 * before the start, or when bwrap could not make the namespaces), with
 * nothing in `res` then.
 */
int run_process(const struct run_spec *spec, struct run_result *res,
    struct perr *e);
void run_result_clear(struct run_result *r);

/* Signal every process group run_process started and has not seen end
 * (at shutdown), and one being started meanwhile as soon as it is. */
void run_kill_all(int sig);

#endif
