/* spawn.c -- running an engine as a confined subprocess: in the sandbox
 * (or a session of its own), resource limits, a clean environment,
 * bounded stderr capture, and a timeout that kills it with what it
 * started; waits on a pidfd, never polls (unless there is no pidfd). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "partsfs/make/spawn.h"

/* Process groups under way, so that shutdown can kill them all; and the
 * kills so far, for a group started as one was under way. */
static pthread_mutex_t groups_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t groups[1024];
static size_t ngroups;
static uint64_t kills;
static int kill_signal;

/* The number of kills so far, read before a child starts. */
static uint64_t
kills_now(void)
{
	uint64_t n;

	pthread_mutex_lock(&groups_lock);
	n = kills;
	pthread_mutex_unlock(&groups_lock);
	return n;
}

/* Add the group of a child started when `seen` kills had been made: one
 * made since missed it (the child ran before it was added), and it is
 * sent now. */
static void
group_add(pid_t pgid, uint64_t seen)
{
	pthread_mutex_lock(&groups_lock);
	if (ngroups < PF_ARRAY_LEN(groups))
		groups[ngroups++] = pgid;
	if (kills != seen)
		kill(-pgid, kill_signal);
	pthread_mutex_unlock(&groups_lock);
}

static void
group_remove(pid_t pgid)
{
	pthread_mutex_lock(&groups_lock);
	for (size_t i = 0; i < ngroups; i++) {
		if (groups[i] == pgid) {
			groups[i] = groups[--ngroups];
			break;
		}
	}
	pthread_mutex_unlock(&groups_lock);
}

void
run_kill_all(int sig)
{
	pthread_mutex_lock(&groups_lock);
	kills++;
	kill_signal = sig;
	for (size_t i = 0; i < ngroups; i++)
		kill(-groups[i], sig);
	pthread_mutex_unlock(&groups_lock);
}

void
run_result_clear(struct run_result *r)
{
	free(r->stderr_tail);
	r->stderr_tail = NULL;
}

/* The last `max` bytes of stderr, in a ring. */
struct ring {
	char *buf;
	size_t max;
	size_t start;
	size_t len;
	uint64_t total;
};

static void
ring_add(struct ring *r, const char *data, size_t n)
{
	r->total += n;
	if (r->max == 0)
		return;
	if (n >= r->max) {
		memcpy(r->buf, data + n - r->max, r->max);
		r->start = 0;
		r->len = r->max;
		return;
	}
	/* the oldest bytes make room, then the new ones go in at the end,
	 * in two pieces where they wrap (byte by byte, a flood of 100 MB
	 * of stderr took its engine's time limit on a loaded machine) */
	if (r->len + n > r->max) {
		size_t drop = r->len + n - r->max;
		r->start = (r->start + drop) % r->max;
		r->len -= drop;
	}
	size_t pos = (r->start + r->len) % r->max;
	size_t first = n < r->max - pos ? n : r->max - pos;
	memcpy(r->buf + pos, data, first);
	memcpy(r->buf, data + first, n - first);
	r->len += n;
}

static char *
ring_text(const struct ring *r)
{
	char *s = xmalloc(r->len + 1);

	/* a NUL in what the engine wrote would end the text there, and the
	 * last lines (the reason, usually) would be lost: shown as '?' */
	for (size_t i = 0; i < r->len; i++) {
		s[i] = r->buf[(r->start + i) % r->max];
		if (s[i] == '\0')
			s[i] = '?';
	}
	s[r->len] = '\0';
	return s;
}

/* Helpers an engine leaves behind have GRACE_STEPS x GRACE_STEP_NS (half
 * a second) to end after SIGTERM before they are killed. */
#define GRACE_STEPS 50
#define GRACE_STEP_NS 10000000L

/* The child runs on a stack of its own until it execs. */
#define CHILD_STACK (256 * 1024)

struct child_args {
	const struct run_spec *spec;
	const char *const *argv;
	const struct sandbox_cmd *sandbox;
	int devnull;
	int errfd;
	pid_t parent;
};

/*
 * In the child, between clone and exec, sharing the parent's memory (which
 * waits, as after vfork): async-signal-safe calls only, nothing written
 * but its own stack.  The signal handlers are its own copy: resetting
 * them leaves the parent's alone.
 */
static void
child(const struct child_args *a)
{
	const struct run_spec *spec = a->spec;
	int devnull = a->devnull, errfd = a->errfd;
	struct sigaction sa;
	struct rlimit rl;
	sigset_t none;

	/*
	 * A session of its own (and so a process group), as bwrap's
	 * --new-session gives a sandboxed job: with the kernel's autogroups,
	 * engines sharing the daemon's session would share one slice of a
	 * busy machine, where engines run by hand each have their own.  A
	 * group leader cannot start a session: when the parent's setpgid
	 * came first (the clone ran as a plain fork, under valgrind), the
	 * group it made is kept.
	 */
	if (a->sandbox != NULL || setsid() == -1)
		setpgid(0, 0);
	/* die with the parent; it may already be gone */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != a->parent)
		_exit(126);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(devnull, 0) == -1 ||
	    dup2(spec->capture_stdout ? errfd : devnull, 1) == -1 ||
	    dup2(errfd, 2) == -1)
		_exit(126);
	if (a->sandbox != NULL) {
		/* bwrap's descriptors, the job user, the rest closed; its
		 * working directory is bwrap's to set (--chdir) */
		if (sandbox_child(a->sandbox, a->parent) != 0)
			_exit(126);
	} else {
		syscall(SYS_close_range, 3, ~0U, 0);
		if (spec->cwd != NULL && chdir(spec->cwd) == -1)
			_exit(126);
	}
	rl.rlim_cur = rl.rlim_max = 0;
	setrlimit(RLIMIT_CORE, &rl);
	if (spec->memory) {
		rl.rlim_cur = rl.rlim_max = spec->memory;
		setrlimit(RLIMIT_AS, &rl);
	}
	if (spec->cpu > 0) {
		/* whole seconds, rounded up: 0.5 s must not become 0,
		 * which ends the engine at its first tick */
		rl.rlim_cur = (rlim_t)spec->cpu;
		if ((double)rl.rlim_cur < spec->cpu)
			rl.rlim_cur++;
		rl.rlim_max = rl.rlim_cur + 5;
		setrlimit(RLIMIT_CPU, &rl);
	}
	if (spec->fsize) {
		rl.rlim_cur = rl.rlim_max = spec->fsize;
		setrlimit(RLIMIT_FSIZE, &rl);
	}
	/* execve does not modify its arrays; its prototype predates const */
	execve(a->argv[0], (char *const *)a->argv,
	    (char *const *)spec->envp);
	_exit(127);
}

static int
child_main(void *arg)
{
	child(arg);
	return 127;
}

/*
 * Start the child as vfork does, not copying the parent's page tables:
 * the cost of a fork grows with the daemon's memory, and under the address
 * sanitizer every fork stops the allocator for all threads.  Every signal
 * stays blocked until the child has reset its handlers (a handler of the
 * parent must never run in the child).  The pid, or -1 with errno set.
 */
static pid_t
start_child(const struct child_args *a)
{
	sigset_t all, old;
	char *stack = xmalloc(CHILD_STACK);
	pid_t pid;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = clone(child_main, stack + CHILD_STACK,
	    CLONE_VM | CLONE_VFORK | SIGCHLD, (void *)a);
	err = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	free(stack);
	errno = err;
	return pid;
}

int
run_process(const struct run_spec *spec, struct run_result *res,
    struct perr *e)
{
	struct ring ring = { .max = spec->stderr_max };
	struct sandbox_cmd *sandbox = NULL;
	struct child_args args;
	int pipefd[2], devnull, pidfd, status = 0, err;
	uint64_t start = now_ns(), deadline, seen = kills_now();
	bool exited = false, eof = false;
	int failed = 0;
	pid_t pid, parent = getpid();
	char chunk[65536];

	memset(res, 0, sizeof *res);
	res->status = -1;
	/* unconfined only when the configuration says so */
	if (spec->sandbox != NULL && sandbox_mode_untried(spec->sandbox) !=
	    SANDBOX_OFF && (sandbox = sandbox_cmd_new(spec->sandbox,
	    spec->view, spec->argv, e)) == NULL)
		return e != NULL ? -e->code : -EPERM;
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		sandbox_cmd_free(sandbox);
		return perr_set(e, errno, "/dev/null: %s", strerror(errno));
	}
	if (pipe2(pipefd, O_CLOEXEC) == -1) {
		err = errno;
		close(devnull);
		sandbox_cmd_free(sandbox);
		return perr_set(e, err, "pipe: %s", strerror(err));
	}
	ring.buf = xmalloc(ring.max ? ring.max : 1);
	args.spec = spec;
	args.argv = sandbox != NULL ? sandbox_cmd_argv(sandbox) : spec->argv;
	args.sandbox = sandbox;
	args.devnull = devnull;
	args.errfd = pipefd[1];
	args.parent = parent;
	if ((pid = start_child(&args)) == -1) {
		err = errno;
		close(devnull);
		close(pipefd[0]);
		close(pipefd[1]);
		free(ring.buf);
		sandbox_cmd_free(sandbox);
		return perr_set(e, err, "clone: %s", strerror(err));
	}
	/* the child set its group (or session) before it let us go on,
	 * unless the clone ran as a plain fork (valgrind runs it so): set
	 * it here too (which fails, harmlessly, once it leads a session) */
	setpgid(pid, pid);
	group_add(pid, seen);
	res->pid = pid;
	close(devnull);
	close(pipefd[1]);
	/* the job's pid 1, through which it ends whole (a kill of bwrap
	 * meanwhile ends it too) */
	if (sandbox != NULL)
		sandbox_cmd_started(sandbox);
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	deadline = spec->timeout > 0 ? start + (uint64_t)(spec->timeout * 1e9) :
	    UINT64_MAX;

	while (!exited) {
		struct pollfd pfd[2] = {
			{ .fd = eof ? -1 : pipefd[0], .events = POLLIN },
			{ .fd = pidfd, .events = POLLIN },
		};
		uint64_t now = now_ns();
		int ms;
		if (now >= deadline) {
			res->timed_out = true;
			kill(-pid, SIGKILL);
			break;
		}
		ms = deadline == UINT64_MAX ? -1 :
		    (int)((deadline - now) / 1000000 + 1);
		if (pidfd == -1) {
			/* no pidfd (a kernel before 5.3, or valgrind): look
			 * for the exit every 20 ms instead */
			if (waitpid(pid, &status, WNOHANG) == pid) {
				exited = true;
				break;
			}
			if (ms == -1 || ms > 20)
				ms = 20;
		}
		if (poll(pfd, 2, ms) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(pipefd[0], chunk, sizeof chunk);
			if (n > 0)
				ring_add(&ring, chunk, (size_t)n);
			else if (n == 0 || (errno != EAGAIN && errno != EINTR))
				eof = true;
		}
		if (pfd[1].revents & POLLIN) {
			if (waitpid(pid, &status, WNOHANG) == pid)
				exited = true;
		}
	}
	/* What is left of the group (helpers the engine started) ends with
	 * it.  When the engine ended of itself, they are asked first, and
	 * given a moment to clean up after themselves (xvfb-run leaves its
	 * Xvfb stopping, which then removes its lock file and socket from
	 * /tmp); then, or at once after a time limit, they are killed.
	 * The engine has been reaped by then, but the group's members keep
	 * its number from being reused, and without members the signals
	 * find nobody (ESRCH).  In the sandbox, its own /tmp goes with it:
	 * nothing to wait for. */
	if (exited && sandbox == NULL && kill(-pid, SIGTERM) == 0) {
		for (int i = 0; i < GRACE_STEPS && kill(-pid, 0) == 0; i++) {
			struct timespec ts = { 0, GRACE_STEP_NS };
			nanosleep(&ts, NULL);
		}
	}
	kill(-pid, SIGKILL);
	if (!exited)
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
	/* bwrap has ended: its pid 1, and every process of the job, too */
	if (sandbox != NULL)
		sandbox_cmd_finish(sandbox);
	group_remove(pid);
	/* What is still in the pipe; the writers are gone or dying. */
	for (int tries = 0; tries < 100; tries++) {
		ssize_t n = read(pipefd[0], chunk, sizeof chunk);
		if (n > 0) {
			ring_add(&ring, chunk, (size_t)n);
			continue;
		}
		if (n == 0 || errno != EAGAIN)
			break;
		struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
		if (poll(&p, 1, 10) <= 0)
			break;
	}
	close(pipefd[0]);
	if (pidfd != -1)
		close(pidfd);
	res->elapsed = (double)(now_ns() - start) / 1e9;
	if (WIFEXITED(status) && !res->timed_out)
		res->status = WEXITSTATUS(status);
	else if (WIFSIGNALED(status) && !res->timed_out)
		res->signal = WTERMSIG(status);
	/* bwrap passes the end of a command killed by signal N on as the
	 * exit status 128 + N, as a shell does */
	if (sandbox != NULL && res->status > 128 && res->status < 128 + NSIG) {
		res->signal = res->status - 128;
		res->status = -1;
	}
	res->stderr_tail = ring_text(&ring);
	res->stderr_total = ring.total;
	free(ring.buf);
	if (sandbox != NULL) {
		/* no job ran when bwrap could not make its sandbox */
		failed = sandbox_cmd_failed(spec->sandbox, sandbox,
		    res->stderr_tail, e);
		sandbox_cmd_free(sandbox);
		if (failed != 0)
			run_result_clear(res);
	}
	return failed;
}
