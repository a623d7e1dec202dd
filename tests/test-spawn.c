/* test-spawn.c -- running engines: exit status, signals, the timeout that
 * kills the whole process group, bounded stderr, the clean environment,
 * stdin from /dev/null, resource limits. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partsfs/cache/cache.h"
#include "partsfs/make/spawn.h"
#include "partsfs/make/version.h"
#include "tap.h"

static const char *const ENVP[] = { "PATH=/usr/bin:/bin", "ONLY=this", NULL };

/* Alive: exists and is not a zombie waiting for init to reap it. */
static bool
alive(long pid)
{
	char path[64], buf[256];
	FILE *fp;
	char *rp;
	bool zombie = false;

	if (kill((pid_t)pid, 0) == -1)
		return false;
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return false;
	if (fgets(buf, sizeof buf, fp) != NULL && (rp = strrchr(buf, ')')) &&
	    rp[1] == ' ')
		zombie = rp[2] == 'Z' || rp[2] == 'X';
	fclose(fp);
	return !zombie;
}

static int
sh(const char *script, double timeout, struct run_result *res)
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct run_spec spec = {
		.argv = argv,
		.envp = ENVP,
		.cwd = "/tmp",
		.timeout = timeout,
		.stderr_max = 4096,
	};

	return run_process(&spec, res, NULL);
}

static void
the_exit_status_is_reported(void)
{
	struct run_result r;

	CHECK_INT(sh("exit 3", 10, &r), 0);
	CHECK_INT(r.status, 3);
	CHECK(!r.timed_out && r.signal == 0);
	run_result_clear(&r);
}

static void
a_killing_signal_is_reported(void)
{
	struct run_result r;

	CHECK_INT(sh("kill -SEGV $$", 10, &r), 0);
	CHECK_INT(r.signal, SIGSEGV);
	CHECK_INT(r.status, -1);
	run_result_clear(&r);
}

static void
stderr_is_captured(void)
{
	struct run_result r;

	CHECK_INT(sh("echo to-stdout; echo 'something went wrong' >&2", 10,
	    &r), 0);
	CHECK_STR(r.stderr_tail, "something went wrong\n");
	run_result_clear(&r);
}

static void
only_the_last_bytes_of_a_flood_are_kept(void)
{
	struct run_result r;

	/* about 20 MB of stderr, then a last line */
	CHECK_INT(sh("head -c 20000000 /dev/zero | tr '\\0' x >&2; "
	    "echo; echo the-end >&2", 60, &r), 0);
	CHECK(strlen(r.stderr_tail) <= 4096);
	CHECK(r.stderr_total > 20000000);
	CHECK(strstr(r.stderr_tail, "the-end\n") != NULL);
	run_result_clear(&r);
}

/* Run a script that starts `background &` (writing its pid to a file),
 * then runs `then`, and tell whether that grandchild outlived the run. */
static bool
grandchild_survives(const char *background, const char *then,
    double timeout, struct run_result *r)
{
	char *pidfile = xasprintf("%s/child.pid", tap_tmpdir());
	char *script = xasprintf("%s & echo $! > %s; %s", background, pidfile,
	    then);
	long child = 0;
	FILE *fp;

	if (sh(script, timeout, r) != 0 || (fp = fopen(pidfile, "r")) == NULL)
		pf_fatal("the script did not run");
	if (fscanf(fp, "%ld", &child) != 1)
		pf_fatal("no pid in %s", pidfile);
	fclose(fp);
	/* a killed process may be a zombie of init for a moment */
	for (int i = 0; i < 100 && alive(child); i++)
		usleep(10000);
	free(pidfile);
	free(script);
	return alive(child);
}

static void
the_timeout_kills_the_whole_group(void)
{
	struct run_result r;
	double t0 = now_s();

	CHECK(!grandchild_survives("sleep 1000", "wait", 0.5, &r));
	CHECK(r.timed_out);
	CHECK(now_s() - t0 < 5);
	run_result_clear(&r);
}

static void
helpers_left_running_after_exit_are_killed(void)
{
	struct run_result r;

	CHECK(!grandchild_survives("sleep 1000 >/dev/null 2>&1", "exit 0", 10,
	    &r));
	CHECK_INT(r.status, 0);
	run_result_clear(&r);
}

/* A helper is asked to end before it is killed, and has a moment to clean
 * up (as Xvfb removes its lock file); one that ignores the request is
 * killed all the same, half a second later. */
static void
helpers_left_running_get_a_moment_to_clean_up(void)
{
	const char *dir = tap_tmpdir();
	char *script, *done = xasprintf("%s/cleaned", dir);
	struct run_result r;
	double t;

	script = xasprintf("(trap 'echo cleaned > %s; exit 0' TERM; "
	    "while :; do sleep 0.01; done) >/dev/null 2>&1 & "
	    "sleep 0.2; exit 0", done);
	CHECK_INT(sh(script, 10, &r), 0);
	CHECK_INT(r.status, 0);
	CHECK_MSG(access(done, F_OK) == 0, "the helper did not clean up");
	run_result_clear(&r);
	free(script);

	CHECK(!grandchild_survives("trap '' TERM; sleep 1000 >/dev/null 2>&1",
	    "sleep 0.1; exit 0", 10, &r));
	t = r.elapsed;
	CHECK_MSG(t < 3, "took %.2f s", t);
	run_result_clear(&r);
	free(done);
}

/* A NUL byte in what the engine writes does not cut off the lines after
 * it, which usually hold the reason. */
static void
a_nul_in_stderr_keeps_the_lines_after_it(void)
{
	struct run_result r;

	CHECK_INT(sh("printf 'progress\\0\\n' >&2; "
	    "echo 'ERROR: the real reason' >&2; exit 1", 10, &r), 0);
	CHECK_INT(r.status, 1);
	CHECK_MSG(strstr(r.stderr_tail, "ERROR: the real reason") != NULL,
	    "stderr tail: [%s]", r.stderr_tail);
	CHECK(strstr(r.stderr_tail, "progress?") != NULL);
	run_result_clear(&r);
}

static void
the_environment_is_exactly_the_given_one(void)
{
	struct run_result r;

	setenv("SECRET_OF_THE_PARENT", "leak", 1);
	CHECK_INT(sh("env >&2", 10, &r), 0);
	CHECK(strstr(r.stderr_tail, "ONLY=this") != NULL);
	CHECK(strstr(r.stderr_tail, "SECRET_OF_THE_PARENT") == NULL);
	run_result_clear(&r);
}

static void
stdin_is_empty_and_the_directory_is_set(void)
{
	struct run_result r;

	CHECK_INT(sh("cat >&2; pwd >&2", 10, &r), 0);
	CHECK_STR(r.stderr_tail, "/tmp\n");
	run_result_clear(&r);
}

static void
no_descriptor_of_the_parent_leaks_into_the_engine(void)
{
	struct run_result r;

	/* fds 0-2 and the one ls itself opens for /proc/self/fd */
	CHECK_INT(sh("ls /proc/self/fd | wc -l >&2", 10, &r), 0);
	CHECK_STR(r.stderr_tail, "4\n");
	run_result_clear(&r);
}

static void
the_address_space_limit_applies(void)
{
	const char *argv[] = { "/bin/sh", "-c",
	    "python3 -c 'x = bytearray(3 << 30)' 2>&1 | tail -1 >&2", NULL };
	struct run_spec spec = {
		.argv = argv,
		.envp = ENVP,
		.timeout = 30,
		.memory = (uint64_t)1 << 30,
		.stderr_max = 4096,
	};
	struct run_result r;

	CHECK_INT(run_process(&spec, &r, NULL), 0);
	CHECK_CONTAINS(r.stderr_tail, "MemoryError");
	run_result_clear(&r);
}

/* A CPU limit under a second is a second, not none at all: RLIMIT_CPU 0
 * would send SIGXCPU at the engine's first tick. */
static void
a_cpu_limit_under_a_second_is_rounded_up(void)
{
	const char *argv[] = { "/bin/sh", "-c", "i=0; while [ $i -lt 2000 ]; "
	    "do i=$((i + 1)); done; exit 0", NULL };
	struct run_spec spec = {
		.argv = argv,
		.envp = ENVP,
		.timeout = 30,
		.cpu = 0.5,
		.stderr_max = 4096,
	};
	struct run_result r;

	CHECK_INT(run_process(&spec, &r, NULL), 0);
	CHECK_INT(r.signal, 0);
	CHECK_INT(r.status, 0);
	run_result_clear(&r);
}

/* The tail kept of stderr is its last stderr_max bytes, whatever the
 * sizes of the writes and reads that brought them (a ring that wraps). */
static void
the_stderr_tail_is_the_last_bytes_written(void)
{
	const char *argv[] = { "/bin/sh", "-c", "i=0; while [ $i -lt 3000 ]; "
	    "do printf '%d,' $i >&2; i=$((i + 1)); done", NULL };
	struct run_spec spec = {
		.argv = argv,
		.envp = ENVP,
		.timeout = 60,
		.stderr_max = 4096,
	};
	struct run_result r;
	struct buf all = BUF_INIT;

	for (int i = 0; i < 3000; i++)
		buf_printf(&all, "%d,", i);
	CHECK_INT(run_process(&spec, &r, NULL), 0);
	CHECK_INT(r.status, 0);
	CHECK_STR(r.stderr_tail, all.p + all.len - 4096);
	run_result_clear(&r);
	buf_free(&all);
}

static void
a_program_that_cannot_be_run_exits_127(void)
{
	const char *argv[] = { "/nonexistent/engine", NULL };
	struct run_spec spec = { .argv = argv, .envp = ENVP, .timeout = 5 };
	struct run_result r;

	CHECK_INT(run_process(&spec, &r, NULL), 0);
	CHECK_INT(r.status, 127);
	run_result_clear(&r);
}

struct asker {
	struct versions *versions;
	const char *program;
	char *version;
};

static void *
ask_version(void *arg)
{
	struct asker *a = arg;
	char *argv[] = { (char *)a->program, NULL };

	a->version = version_query(a->versions, NULL, NULL, a->program, argv,
	    NULL);
	return NULL;
}

static void
threads_asking_one_engine_version_at_once_run_one_query(void)
{
	const char *dir = tap_tmpdir();
	char *script = xasprintf("%s/engine-version", dir);
	char *runs = xasprintf("%s/runs", dir), *text;
	struct versions *versions = versions_new();
	struct asker a[6];
	pthread_t t[6];
	FILE *fp;
	int n = 0, c;

	text = xasprintf("#!/bin/sh\necho run >>'%s'\nsleep 0.3\n"
	    "echo 'engine 4.2'\n", runs);
	tap_write(dir, "engine-version", text);
	CHECK_INT(chmod(script, 0755), 0);
	for (int i = 0; i < 6; i++) {
		a[i].versions = versions;
		a[i].program = script;
		CHECK_INT(pthread_create(&t[i], NULL, ask_version, &a[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		CHECK_STR(a[i].version != NULL ? a[i].version : "(null)",
		    "engine 4.2");
		free(a[i].version);
	}
	CHECK((fp = fopen(runs, "r")) != NULL);
	while (fp != NULL && (c = fgetc(fp)) != EOF)
		n += c == '\n';
	if (fp != NULL)
		fclose(fp);
	CHECK_INT(n, 1);
	versions_free(versions);
	free(text);
	free(runs);
	free(script);
}

/* The name of the cache memo of the version of `program` asked with
 * argv { program, ... } (`more`: the rest, each as " [arg]"). */
static char *
version_memo(const char *program, const char *more)
{
	struct stat st;

	if (stat(program, &st) == -1)
		return xstrdup("");
	return xasprintf("version %s %jd %jd.%09ld [%s]%s", program,
	    (intmax_t)st.st_size, (intmax_t)st.st_mtim.tv_sec,
	    st.st_mtim.tv_nsec, program, more);
}

struct slow_asker {
	struct cache *cache;
	const char *program;
	char *version;
};

static void *
ask_slow_version(void *arg)
{
	struct slow_asker *a = arg;
	char *argv[] = { (char *)a->program, NULL };

	a->version = version_query(NULL, a->cache, NULL, a->program, argv, NULL);
	return NULL;
}

static void
a_version_query_killed_from_outside_is_not_remembered(void)
{
	const char *dir = tap_tmpdir();
	char *script = xasprintf("%s/slow-version", dir);
	char *runs = xasprintf("%s/runs", dir), *text, *memo, *kept;
	struct slow_asker a = { .program = script };
	struct perr e = { 0 };
	struct stat st;
	pthread_t t;
	int waited;

	text = xasprintf("#!/bin/sh\necho run >>'%s'\nexec sleep 30\n", runs);
	tap_write(dir, "slow-version", text);
	CHECK_INT(chmod(script, 0755), 0);
	a.cache = cache_open(dir, (uint64_t)1 << 30, 60, &e);
	CHECK_MSG(a.cache != NULL, "%s", e.msg);
	CHECK_INT(pthread_create(&t, NULL, ask_slow_version, &a), 0);
	for (waited = 0; waited < 500 && stat(runs, &st) == -1; waited++)
		usleep(10000);
	/* partsfs stopping: every engine run_process started is killed */
	run_kill_all(SIGKILL);
	pthread_join(t, NULL);
	CHECK(waited < 500);
	CHECK_CONTAINS(a.version, "unknown");
	/* the memo version_query keeps a version under (the test below shows
	 * that one is kept under this name): none was kept */
	memo = version_memo(script, "");
	CHECK(memo[0] != '\0');
	kept = cache_memo_get(a.cache, memo);
	CHECK_MSG(kept == NULL, "remembered: %s", kept);
	cache_close(a.cache);
	free(memo);
	free(a.version);
	free(text);
	free(runs);
	free(script);
}

/* Two executors may run one program (an interpreter, say) with version
 * commands of their own: each is asked and remembered apart. */
static void
one_program_with_two_version_commands_has_two_versions(void)
{
	const char *dir = tap_tmpdir();
	char *script = xasprintf("%s/says", dir), *v[4], *memo;
	char a[] = "a", b[] = "b";
	char *argv_a[] = { script, a, NULL }, *argv_b[] = { script, b, NULL };
	struct cache *cache;
	struct perr e = { 0 };

	tap_write(dir, "says", "#!/bin/sh\necho \"says $1\"\n");
	CHECK_INT(chmod(script, 0755), 0);
	cache = cache_open(dir, (uint64_t)1 << 30, 60, &e);
	CHECK_MSG(cache != NULL, "%s", e.msg);
	v[0] = version_query(NULL, cache, NULL, script, argv_a, NULL);
	v[1] = version_query(NULL, cache, NULL, script, argv_b, NULL);
	v[2] = version_query(NULL, cache, NULL, script, argv_b, "X=1");
	CHECK_STR(v[0], "says a");
	CHECK_STR(v[1], "says b");
	CHECK_STR(v[2], "says b");
	/* the cache remembers the one asked with its own command */
	memo = version_memo(script, " [b]");
	CHECK(memo[0] != '\0');
	v[3] = cache_memo_get(cache, memo);
	CHECK_STR(v[3], "says b");
	cache_close(cache);
	for (int i = 0; i < 4; i++)
		free(v[i]);
	free(memo);
	free(script);
}

/* A version query runs in a private directory (HOME, TMPDIR and its
 * working directory), removed after: not in /tmp, which all users share
 * (FreeCAD writes its settings under HOME). */
static void
a_version_query_runs_in_a_private_directory_removed_after(void)
{
	const char *dir = tap_tmpdir();
	char *script = xasprintf("%s/where", dir), *v, *home, *cache;
	char *argv[] = { script, NULL };
	struct cache *c;
	struct perr e = { 0 };
	struct stat st;

	tap_write(dir, "where", "#!/bin/sh\n"
	    "[ \"$HOME\" = \"$TMPDIR\" ] && [ \"$HOME\" = \"$(pwd)\" ] && "
	    "[ -w \"$HOME\" ] && echo \"in $HOME\"\n");
	CHECK_INT(chmod(script, 0755), 0);
	cache = xasprintf("%s/cache", dir);
	c = cache_open(cache, (uint64_t)1 << 30, 60, &e);
	CHECK_MSG(c != NULL, "%s", e.msg);
	v = version_query(NULL, c, NULL, script, argv, NULL);
	CHECK_MSG(strncmp(v, "in ", 3) == 0, "version [%s]", v);
	home = v + 3;
	CHECK_MSG(strncmp(home, cache, strlen(cache)) == 0, "HOME %s", home);
	CHECK_MSG(stat(home, &st) == -1 && errno == ENOENT, "%s left", home);
	cache_close(c);
	free(v);
	free(cache);
	free(script);
}

/* A program that prints other lines first (freecadcmd's banner before
 * the driver's answer) is asked with VERSION_MARKED: its answer is the
 * rest of the marked line, the same text a run of it reports
 * (version_reported); unmarked output falls back to its first line. */
static void
a_marked_version_answer_is_taken_after_the_lines_before_it(void)
{
	const char *dir = tap_tmpdir();
	char *script = xasprintf("%s/banner", dir), *v[4];
	char marked[] = "marked", plain[] = "plain", report[] = "report";
	char *argv_m[] = { script, marked, NULL };
	char *argv_p[] = { script, plain, NULL };
	char *argv_r[] = { script, report, NULL };
	struct cache *cache;
	struct perr e = { 0 };
	bool unknown = false;

	tap_write(dir, "banner", "#!/bin/sh\n"
	    "echo 'Tool 2.3, Libs: 2.3R'\necho '(c) its authors'\n"
	    "[ \"$1\" = plain ] || echo '" VERSION_MARK "Tool 2.3 '\n"
	    "echo 'bye'\n");
	CHECK_INT(chmod(script, 0755), 0);
	cache = cache_open(dir, (uint64_t)1 << 30, 60, &e);
	CHECK_MSG(cache != NULL, "%s", e.msg);
	v[0] = version_lookup(NULL, cache, NULL, script, argv_m, NULL,
	    VERSION_ASK | VERSION_MARKED, &unknown);
	CHECK_STR(v[0], "Tool 2.3 ");
	CHECK(!unknown);
	v[1] = version_lookup(NULL, cache, NULL, script, argv_p, NULL,
	    VERSION_ASK | VERSION_MARKED, &unknown);
	CHECK_STR(v[1], "Tool 2.3, Libs: 2.3R");
	v[2] = version_lookup(NULL, cache, NULL, script, argv_r, NULL,
	    VERSION_ASK, &unknown);
	CHECK_STR(v[2], "Tool 2.3, Libs: 2.3R");
	/* what a run writes beside its part: the marked answer's text */
	v[3] = version_reported(NULL, cache, script, argv_m, NULL,
	    "Tool 2.3 \n");
	CHECK_STR(v[3], v[0]);
	cache_close(cache);
	for (int i = 0; i < 4; i++)
		free(v[i]);
	free(script);
}

TAP_MAIN(
	TAP_CASE(the_exit_status_is_reported),
	TAP_CASE(a_killing_signal_is_reported),
	TAP_CASE(stderr_is_captured),
	TAP_CASE(only_the_last_bytes_of_a_flood_are_kept),
	TAP_CASE(the_timeout_kills_the_whole_group),
	TAP_CASE(helpers_left_running_after_exit_are_killed),
	TAP_CASE(helpers_left_running_get_a_moment_to_clean_up),
	TAP_CASE(a_nul_in_stderr_keeps_the_lines_after_it),
	TAP_CASE(the_environment_is_exactly_the_given_one),
	TAP_CASE(stdin_is_empty_and_the_directory_is_set),
	TAP_CASE(no_descriptor_of_the_parent_leaks_into_the_engine),
	TAP_CASE(the_address_space_limit_applies),
	TAP_CASE(a_cpu_limit_under_a_second_is_rounded_up),
	TAP_CASE(the_stderr_tail_is_the_last_bytes_written),
	TAP_CASE(a_program_that_cannot_be_run_exits_127),
	TAP_CASE(threads_asking_one_engine_version_at_once_run_one_query),
	TAP_CASE(a_version_query_killed_from_outside_is_not_remembered),
	TAP_CASE(one_program_with_two_version_commands_has_two_versions),
	TAP_CASE(a_version_query_runs_in_a_private_directory_removed_after),
	TAP_CASE(a_marked_version_answer_is_taken_after_the_lines_before_it)
)
