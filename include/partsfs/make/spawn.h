/* spawn.h -- running an engine as a confined subprocess: its own process
 * group, resource limits, a clean environment, bounded stderr capture, and
 * a timeout that kills the whole group. */
#ifndef PARTSFS_SPAWN_H
#define PARTSFS_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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

/* Signal every process group run_process started and has not seen end
 * (at shutdown), and one being started meanwhile as soon as it is. */
void run_kill_all(int sig);

#endif
