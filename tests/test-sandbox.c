/* test-sandbox.c -- processes run in the sandbox (src/make/sandbox.c)
 * through run_process: the job user, what they see of the file system
 * and what they may write, the process limit, no network, every process
 * of a job gone when it ends, is timed out or is killed; the sandbox
 * described, turned off, refused a user that does not exist. */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partsfs/make/sandbox.h"
#include "partsfs/make/spawn.h"
#include "partsfs/util/conf.h"
#include "partsfs/util/diag.h"
#include "fixture.h"
#include "tap.h"

static const char *const ENVP[] = { "PATH=/usr/bin:/bin", "LC_ALL=C",
	NULL };

/* A sandbox made from a configuration whose jobs section is `jobs`
 * (YAML lines, each indented by two spaces), or NULL with `e` set. */
static struct sandbox *
sandbox_of(const char *jobs, struct perr *e)
{
	struct diags d = DIAGS_INIT;
	struct conf *c;
	struct sandbox *sb;
	const char *dir = tap_tmpdir();
	char *text, *file;

	text = xasprintf("jobs:\n%scache:\n  dir: %s/cache\n", jobs, dir);
	tap_write(dir, "partsfs.conf", text);
	file = xasprintf("%s/partsfs.conf", dir);
	if ((c = conf_load(file, &d)) == NULL) {
		diags_print(&d, stdout);
		pf_fatal("the configuration of the test is wrong");
	}
	diags_free(&d);
	sb = sandbox_new(c, e);
	conf_free(c);
	free(text);
	free(file);
	return sb;
}

/* The scratch directories made, freed at exit. */
static char *scratches[32];
static size_t nscratches;

static void
scratches_free(void)
{
	for (size_t i = 0; i < nscratches; i++)
		free(scratches[i]);
}

/* A fresh scratch directory. */
static const char *
scratch_dir(void)
{
	char *s = xasprintf("%s/scratch", tap_tmpdir());

	if (mkdir(s, 0700) == -1)
		pf_fatal("mkdir %s: %s", s, strerror(errno));
	if (nscratches == PF_ARRAY_LEN(scratches))
		pf_fatal("more than %zu scratch directories", nscratches);
	if (nscratches == 0)
		atexit(scratches_free);
	return scratches[nscratches++] = s;
}

struct job {
	struct sandbox *sb;
	const char *library;      /* read-only, or NULL */
	const char *const *ro;    /* more paths to read, or NULL */
	const char *scratch;
	const char *script;       /* for /bin/sh -c */
	double timeout;
	struct run_result r;
	int rc;
};

/* Run job->script in the sandbox: run_process's result in job->rc (its
 * reason noted) and job->r. */
static void
job_run(struct job *j)
{
	const char *argv[] = { "/bin/sh", "-c", j->script, NULL };
	struct sandbox_view v = {
		.library = j->library,
		.scratch = j->scratch,
		.ro = j->ro,
	};
	struct run_spec spec = {
		.argv = argv,
		.envp = ENVP,
		.cwd = j->scratch,
		.timeout = j->timeout > 0 ? j->timeout : 30,
		.stderr_max = 65536,
		.sandbox = j->sb,
		.view = &v,
	};
	struct perr e = { 0 };

	if ((j->rc = run_process(&spec, &j->r, &e)) != 0)
		tap_note("run_process: %d: %s", j->rc, e.msg);
}

/* A sandbox of the default configuration (plus `jobs`). */
static struct sandbox *
sandbox_here(const char *jobs)
{
	struct perr e = { 0 };
	struct sandbox *sb = sandbox_of(jobs, &e);

	if (sb == NULL)
		pf_fatal("sandbox_new: %s", e.msg);
	return sb;
}

/* The uid jobs run as: the job user when we are root (jobs.user unset:
 * partsfs, else nobody), else ourselves. */
static uid_t
job_uid(void)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return getuid();
	if ((pw = getpwnam("partsfs")) == NULL)
		pw = getpwnam("nobody");
	return pw != NULL ? pw->pw_uid : (uid_t)-1;
}

/* A marker for the command lines of one case's processes. */
static char *
marker(void)
{
	static int n;

	return xasprintf("partsfs-sbtest-%ld-%d", (long)getpid(), ++n);
}

/* The processes alive (zombies aside) whose command line holds `mark`,
 * other than ourselves; with `sig`, each is sent it; with `pids`, the
 * first `max` are put there. */
static int
marked_pids(const char *mark, int sig, pid_t *pids, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while (d != NULL && (de = readdir(d)) != NULL) {
		char path[300], buf[8192], *rp;
		ssize_t len;
		int fd;
		bool zombie = false;

		if (de->d_name[0] < '0' || de->d_name[0] > '9' ||
		    atol(de->d_name) == (long)getpid())
			continue;
		snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		len = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (len <= 0)
			continue;
		for (ssize_t i = 0; i < len; i++)
			buf[i] = buf[i] == '\0' ? ' ' : buf[i];
		buf[len] = '\0';
		if (strstr(buf, mark) == NULL)
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		len = read(fd, buf, sizeof buf - 1);
		close(fd);
		buf[len > 0 ? len : 0] = '\0';
		if ((rp = strrchr(buf, ')')) != NULL && rp[1] == ' ')
			zombie = rp[2] == 'Z' || rp[2] == 'X';
		if (!zombie && sig != 0)
			kill((pid_t)atol(de->d_name), sig);
		if (!zombie && pids != NULL && n < max)
			pids[n] = (pid_t)atol(de->d_name);
		n += !zombie;
	}
	if (d != NULL)
		closedir(d);
	return n;
}

static int
marked(const char *mark)
{
	return marked_pids(mark, 0, NULL, 0);
}

/* The processes marked `mark` that are left, which are then killed (and
 * the files a case's job made where it must not have are removed, by
 * escaped()): a case that fails leaves nothing behind. */
static int
left(const char *mark)
{
	return marked_pids(mark, SIGKILL, NULL, 0);
}

/* The lines of a file, 0 when there is none. */
static int
count_lines(const char *path)
{
	FILE *fp = fopen(path, "r");
	int n = 0, c;

	while (fp != NULL && (c = getc(fp)) != EOF)
		n += c == '\n';
	if (fp != NULL)
		fclose(fp);
	return n;
}

/* Does `path` exist?  It is removed. */
static bool
escaped(const char *path)
{
	return unlink(path) == 0;
}

static void
the_sandbox_is_bwrap_here(void)
{
	struct sandbox *sb;
	char *how;

	NEED("bwrap");
	sb = sandbox_here("");
	CHECK_MSG(sandbox_mode(sb) == SANDBOX_BWRAP, "mode %d: %s",
	    (int)sandbox_mode(sb), sandbox_reason(sb));
	how = sandbox_describe(sb);
	CHECK_CONTAINS(how, "engines run sandboxed");
	free(how);
	sandbox_free(sb);
}

static void
a_job_runs_as_the_job_user_with_no_capabilities(void)
{
	struct job j = { .script = "id -u >&2; grep -E "
	    "'^(CapEff|CapBnd|NoNewPrivs):' /proc/self/status >&2; "
	    "touch made" };
	char *want, *made;
	struct stat st;

	NEED("bwrap");
	j.sb = sandbox_here("");
	j.scratch = scratch_dir();
	job_run(&j);
	CHECK_INT(j.rc, 0);
	CHECK_MSG(j.r.status == 0, "status %d: %s", j.r.status,
	    j.r.stderr_tail);
	want = xasprintf("%ld\nCapEff:\t0000000000000000\n"
	    "CapBnd:\t0000000000000000\nNoNewPrivs:\t1\n", (long)job_uid());
	CHECK_STR(j.r.stderr_tail, want);
	/* and what it makes is the job user's */
	made = xasprintf("%s/made", j.scratch);
	CHECK_INT(stat(made, &st), 0);
	CHECK_INT(st.st_uid, job_uid());
	free(made);
	free(want);
	run_result_clear(&j.r);
	sandbox_free(j.sb);
}

static void
etc_shadow_and_root_are_not_there(void)
{
	/* a file of root's for the job to look for */
	const char *secret = "/root/partsfs-test-sandbox-secret";
	struct job j = { .script = "for f in /etc/shadow /etc/gshadow "
	    "/etc/ssh /etc/sudoers /etc/partsfs /etc/machine-id /home "
	    "/root/partsfs-test-sandbox-secret; do test -e $f && "
	    "echo \"sees $f\" >&2; done; cat /etc/shadow >/dev/null 2>&1 && "
	    "echo reads /etc/shadow >&2; ls -A /root 2>/dev/null | grep -q . "
	    "&& echo /root is not empty >&2; cat /etc/passwd >&2" };
	struct passwd *pw = getpwuid(job_uid());
	bool root = geteuid() == 0;
	char *want;

	NEED("bwrap");
	CHECK(pw != NULL);
	if (root)
		tap_write("/root", "partsfs-test-sandbox-secret", "secret\n");
	j.sb = sandbox_here("");
	j.scratch = scratch_dir();
	job_run(&j);
	if (root)
		unlink(secret);
	CHECK_INT(j.rc, 0);
	CHECK_INT(j.r.status, 0);
	/* and of the users of the host, only the one it runs as */
	want = xasprintf("%s:x:%ld:%ld:partsfs job:%s:/usr/sbin/nologin\n",
	    pw->pw_name, (long)pw->pw_uid, (long)pw->pw_gid, j.scratch);
	CHECK_STR(j.r.stderr_tail, want);
	free(want);
	run_result_clear(&j.r);
	sandbox_free(j.sb);
}

static void
only_the_scratch_directory_is_writable(void)
{
	const char *dir = tap_tmpdir();
	char *lib = xasprintf("%s/lib", dir), *host = xasprintf("%s/host",
	    dir), *script, *mark = marker(), *path;
	const char *ro[] = { host, NULL };
	/* NULL: beside the scratch directory */
	const char *places[] = { "/var/tmp", "/etc", "/usr", "", "/tmp",
	    lib, host, NULL };
	struct job j = { 0 };
	char *escapes;

	NEED("bwrap");
	tap_write(dir, "lib/data/x.blt", "library\n");
	tap_write(dir, "host/file", "host\n");
	/* anyone may write there, outside the sandbox */
	CHECK_INT(chmod(host, 01777), 0);
	j.sb = sandbox_here("");
	j.scratch = scratch_dir();
	j.library = lib;
	j.ro = ro;
	/* (beside the scratch directory, here, is in the job's own /tmp:
	 * checked from the host) */
	script = xasprintf("for f in %s/%s %s/data/x.blt %s/%s %s/file "
	    "/var/tmp/%s /etc/%s /usr/%s /%s; do "
	    "(echo x >> $f) 2>/dev/null && echo \"wrote $f\" >&2; done; "
	    "echo x > ../%s; cat %s/data/x.blt %s/file >&2; "
	    "echo x > in-scratch && echo /tmp > /tmp/%s && echo scratch >&2",
	    lib, mark, lib, host, mark, host, mark, mark, mark, mark, mark,
	    lib, host, mark);
	j.script = script;
	job_run(&j);
	/* from the host: nothing where it wrote (and what it wrote there
	 * removed) */
	escapes = xstrdup("");
	for (size_t i = 0; i < PF_ARRAY_LEN(places); i++) {
		path = places[i] != NULL ? xasprintf("%s/%s", places[i],
		    mark) : xasprintf("%s/../%s", j.scratch, mark);
		if (escaped(path)) {
			char *more = xasprintf("%s %s", escapes, path);
			free(escapes);
			escapes = more;
		}
		free(path);
	}
	CHECK_MSG(escapes[0] == '\0', "it wrote:%s", escapes);
	CHECK_INT(j.rc, 0);
	CHECK_MSG(j.r.status == 0, "status %d: %s", j.r.status,
	    j.r.stderr_tail);
	/* it reads the library and the paths it is shown, and writes only
	 * its scratch directory and its own /tmp */
	CHECK_STR(j.r.stderr_tail, "library\nhost\nscratch\n");
	path = xasprintf("%s/in-scratch", j.scratch);
	CHECK_INT(access(path, F_OK), 0);
	free(path);
	run_result_clear(&j.r);
	sandbox_free(j.sb);
	free(escapes);
	free(script);
	free(mark);
	free(host);
	free(lib);
}

static void
the_private_tmp_is_bounded_by_tmp_size(void)
{
	struct job j = { .script = "head -c 2000000 /dev/zero > /tmp/big || "
	    "echo full >&2; head -c 2000000 /dev/zero > /dev/shm/big || "
	    "echo shm full >&2; rm /tmp/big; head -c 500000 /dev/zero > "
	    "/tmp/small && echo small >&2" };

	NEED("bwrap");
	j.sb = sandbox_here("  tmp-size: 1M\n");
	j.scratch = scratch_dir();
	job_run(&j);
	CHECK_INT(j.rc, 0);
	CHECK_CONTAINS(j.r.stderr_tail, "No space left on device");
	CHECK_CONTAINS(j.r.stderr_tail, "full\n");
	CHECK_CONTAINS(j.r.stderr_tail, "shm full\n");
	CHECK_CONTAINS(j.r.stderr_tail, "small\n");
	run_result_clear(&j.r);
	sandbox_free(j.sb);
}

/* A Python script forking `n` children that sleep a second; it says how
 * many it started, and why it stopped. */
static char *
forker(int n)
{
	return xasprintf("python3 -c '\n"
	    "import os, sys, time\n"
	    "started, why = 0, \"\"\n"
	    "for i in range(%d):\n"
	    "    try:\n"
	    "        if os.fork() == 0:\n"
	    "            time.sleep(1)\n"
	    "            os._exit(0)\n"
	    "        started += 1\n"
	    "    except OSError as e:\n"
	    "        why = e.strerror\n"
	    "        break\n"
	    "print(started, why, file=sys.stderr)\n'", n);
}

static void
the_process_limit_holds_in_a_job(void)
{
	struct job j = { .script = forker(40) };
	int started = -1;

	NEED("bwrap");
	j.sb = sandbox_here("  processes: 20\n");
	j.scratch = scratch_dir();
	job_run(&j);
	CHECK_INT(j.rc, 0);
	CHECK_MSG(sscanf(j.r.stderr_tail, "%d", &started) == 1, "said: %s",
	    j.r.stderr_tail);
	CHECK_MSG(started >= 10 && started < 20, "started %d of 40",
	    started);
	CHECK_CONTAINS(j.r.stderr_tail, "Resource temporarily unavailable");
	run_result_clear(&j.r);
	sandbox_free(j.sb);
	free((char *)j.script);
}

static void *
job_thread(void *arg)
{
	job_run(arg);
	return NULL;
}

/* Counted in the job's own user namespace, not for every process of the
 * job user: two jobs under a limit of 20 start 15 each. */
static void
the_process_limit_counts_each_job_apart(void)
{
	struct job j[2];
	pthread_t t[2];
	struct sandbox *sb;

	NEED("bwrap");
	sb = sandbox_here("  processes: 20\n");
	for (int i = 0; i < 2; i++) {
		memset(&j[i], 0, sizeof j[i]);
		j[i].sb = sb;
		j[i].scratch = scratch_dir();
		j[i].script = forker(15);
		CHECK_INT(pthread_create(&t[i], NULL, job_thread, &j[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 2; i++) {
		CHECK_INT(j[i].rc, 0);
		CHECK_STR(j[i].r.stderr_tail, "15 \n");
		run_result_clear(&j[i].r);
		free((char *)j[i].script);
	}
	sandbox_free(sb);
}

static void
a_job_has_no_network(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct job j = { 0 };
	char *script;

	NEED("bwrap");
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(l != -1);
	CHECK_INT(bind(l, (struct sockaddr *)&a, sizeof a), 0);
	CHECK_INT(listen(l, 4), 0);
	CHECK_INT(getsockname(l, (struct sockaddr *)&a, &len), 0);
	script = xasprintf("python3 -c '\n"
	    "import socket, sys\n"
	    "try:\n"
	    "    socket.create_connection((\"127.0.0.1\", %d), 3)\n"
	    "    print(\"connected\", file=sys.stderr)\n"
	    "except OSError as e:\n"
	    "    print(e.strerror, file=sys.stderr)\n'; "
	    "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d \" \" >&2",
	    ntohs(a.sin_port));
	j.script = script;
	j.sb = sandbox_here("");
	j.scratch = scratch_dir();
	job_run(&j);
	CHECK_INT(j.rc, 0);
	/* refused, and only the loopback device of its own */
	CHECK_STR(j.r.stderr_tail, "Connection refused\nlo\n");
	CHECK_MSG(accept(l, NULL, NULL) == -1 && errno == EAGAIN,
	    "the listener got a connection");
	close(l);
	run_result_clear(&j.r);
	sandbox_free(j.sb);
	free(script);
}

static void
a_job_sees_only_its_own_processes(void)
{
	struct job j = { 0 };
	char *script = xasprintf("test -e /proc/%ld && echo host >&2; "
	    "ls /proc | grep -c '^[0-9]' >&2", (long)getpid());

	NEED("bwrap");
	j.script = script;
	j.sb = sandbox_here("");
	j.scratch = scratch_dir();
	job_run(&j);
	CHECK_INT(j.rc, 0);
	/* bwrap's pid 1, sh, ls and grep */
	CHECK_MSG(strcmp(j.r.stderr_tail, "4\n") == 0 ||
	    strcmp(j.r.stderr_tail, "3\n") == 0, "it sees: %s",
	    j.r.stderr_tail);
	run_result_clear(&j.r);
	sandbox_free(j.sb);
	free(script);
}

static void
a_setsid_child_is_gone_when_the_job_returns(void)
{
	char *mark = marker(), *late, *script;
	struct job j = { 0 };
	int n;

	NEED("bwrap");
	j.sb = sandbox_here("");
	j.scratch = scratch_dir();
	late = xasprintf("%s/late", j.scratch);
	/* double-forked, in a session of its own, deaf to the polite
	 * signals: it writes a file a second later */
	script = xasprintf("setsid sh -c 'trap \"\" TERM HUP INT; "
	    "(sleep 1; echo late > %s) & wait' %s >/dev/null 2>&1 & "
	    "sleep 0.2; exit 0", late, mark);
	j.script = script;
	job_run(&j);
	n = left(mark);
	CHECK_INT(j.rc, 0);
	CHECK_INT(j.r.status, 0);
	CHECK_MSG(n == 0, "%d of its processes were left", n);
	usleep(1500000);
	CHECK_MSG(access(late, F_OK) == -1, "the child wrote after the job");
	run_result_clear(&j.r);
	sandbox_free(j.sb);
	free(script);
	free(late);
	free(mark);
}

/* Is process `pid` alive (not a zombie)?  One read of its stat. */
static bool
alive(pid_t pid)
{
	char path[64], buf[512], *rp;
	ssize_t len;
	int fd;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return false;
	len = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[len > 0 ? len : 0] = '\0';
	return (rp = strrchr(buf, ')')) == NULL || rp[1] != ' ' ||
	    (rp[2] != 'Z' && rp[2] != 'X');
}

/*
 * Not a moment later: when run_process returns, the job's pid 1 has ended,
 * and every process of its namespace before it (what the job wrote can
 * then be read and checked and copied without anything of it changing
 * it).  Its setsid'd child, seen on the host while the job runs, is
 * looked at the instant the job returns.
 */
static void
every_process_of_a_job_is_gone_the_moment_run_process_returns(void)
{
	char *mark = marker(), *inner, *script;
	struct job j = { 0 };
	pid_t pids[8];
	pthread_t t;
	int n = 0, still = 0, waited, rc, status;

	NEED("bwrap");
	j.sb = sandbox_here("");
	j.scratch = scratch_dir();
	inner = xasprintf("%s-inner", mark);
	/* (with memory to give back when it is killed: its end takes a
	 * moment, which run_process must wait for; the job ends once it
	 * has it) */
	script = xasprintf("setsid python3 -c 'import time\n"
	    "b = b\"x\" * (256 << 20)\nopen(\"ready\", \"w\")\n"
	    "while True: time.sleep(1)' %s-in''ner >/dev/null 2>&1 & "
	    "while ! test -e ready; do sleep 0.05; done", mark);
	j.script = script;
	CHECK_INT(pthread_create(&t, NULL, job_thread, &j), 0);
	for (waited = 0; waited < 20000 && n < 1; waited++) {
		n = marked_pids(inner, 0, pids, PF_ARRAY_LEN(pids));
		usleep(1000);
	}
	pthread_join(t, NULL);
	for (int i = 0; i < n && i < (int)PF_ARRAY_LEN(pids); i++)
		still += alive(pids[i]);
	left(mark);
	rc = j.rc;
	status = j.r.status;
	run_result_clear(&j.r);
	sandbox_free(j.sb);
	free(script);
	free(inner);
	free(mark);
	CHECK_MSG(n > 0, "its child was never seen");
	CHECK_INT(rc, 0);
	CHECK_INT(status, 0);
	CHECK_MSG(still == 0, "%d of its processes were alive when "
	    "run_process returned", still);
}

static void
the_time_limit_kills_the_whole_job(void)
{
	char *mark = marker(), *script;
	struct job j = { .timeout = 1 };
	double t0 = now_s();
	int n;

	NEED("bwrap");
	j.sb = sandbox_here("");
	j.scratch = scratch_dir();
	script = xasprintf("setsid sh -c 'trap \"\" TERM HUP; while :; do "
	    "sleep 0.5; done' %s >/dev/null 2>&1 & exec sleep 100", mark);
	j.script = script;
	job_run(&j);
	n = left(mark);
	CHECK_INT(j.rc, 0);
	CHECK(j.r.timed_out);
	CHECK_MSG(now_s() - t0 < 10, "it took %.1f s", now_s() - t0);
	CHECK_MSG(n == 0, "%d of its processes were left", n);
	run_result_clear(&j.r);
	sandbox_free(j.sb);
	free(script);
	free(mark);
}

static void
a_job_killed_by_run_kill_all_ends_with_its_children(void)
{
	char *mark = marker(), *script, *inner;
	struct job j = { .timeout = 60 };
	pthread_t t;
	int waited, n;

	NEED("bwrap");
	j.sb = sandbox_here("");
	j.scratch = scratch_dir();
	/* in the command line of the child alone, not in the script */
	inner = xasprintf("%s-inner", mark);
	script = xasprintf("setsid sh -c 'trap \"\" TERM HUP; while :; do "
	    "sleep 0.5; done' %s-in''ner >/dev/null 2>&1 & exec sleep 100",
	    mark);
	j.script = script;
	CHECK_INT(pthread_create(&t, NULL, job_thread, &j), 0);
	/* the setsid'd child runs (sh -c's $0 is in its command line) */
	for (waited = 0; waited < 1000 && marked(inner) < 1; waited++)
		usleep(10000);
	/* partsfs stopping */
	run_kill_all(SIGKILL);
	pthread_join(t, NULL);
	n = left(mark);
	CHECK_MSG(waited < 1000, "the child never ran");
	CHECK_INT(j.rc, 0);
	CHECK_INT(j.r.signal, SIGKILL);
	CHECK_MSG(n == 0, "%d of its processes were left", n);
	run_result_clear(&j.r);
	sandbox_free(j.sb);
	free(script);
	free(inner);
	free(mark);
}

static void
a_command_killed_by_a_signal_is_reported_as_that_signal(void)
{
	struct job j = { .script = "kill -SEGV $$" };

	NEED("bwrap");
	j.sb = sandbox_here("");
	j.scratch = scratch_dir();
	job_run(&j);
	CHECK_INT(j.rc, 0);
	CHECK_INT(j.r.signal, SIGSEGV);
	CHECK_INT(j.r.status, -1);
	CHECK(!j.r.timed_out);
	run_result_clear(&j.r);
	/* an exit status is passed on as it is */
	j.script = "echo said >&2; exit 3";
	job_run(&j);
	CHECK_INT(j.rc, 0);
	CHECK_INT(j.r.status, 3);
	CHECK_INT(j.r.signal, 0);
	CHECK_STR(j.r.stderr_tail, "said\n");
	run_result_clear(&j.r);
	sandbox_free(j.sb);
}

static void
sandbox_describe_says_the_mode_and_the_user(void)
{
	struct sandbox *sb;
	struct passwd *pw;
	char *how, *as;

	NEED("bwrap");
	sb = sandbox_here("");
	pw = getpwuid(job_uid());
	CHECK(pw != NULL);
	how = sandbox_describe(sb);
	as = xasprintf(", as %s", pw->pw_name);
	CHECK_CONTAINS(how, "engines run sandboxed (");
	CHECK_CONTAINS(how, "bwrap), as ");
	CHECK_CONTAINS(how, as);
	/* as root without a user partsfs: nobody, with a warning */
	if (geteuid() == 0 && getpwnam("partsfs") == NULL)
		CHECK_CONTAINS(how, "warning: there is no user partsfs");
	free(as);
	free(how);
	sandbox_free(sb);
}

static void
jobs_sandbox_off_runs_unconfined(void)
{
	struct job j = { 0 };
	char *how, *script, *want;

	j.sb = sandbox_here("  sandbox: off\n");
	CHECK_INT(sandbox_mode(j.sb), SANDBOX_OFF);
	how = sandbox_describe(j.sb);
	CHECK_CONTAINS(how, "jobs.sandbox is off: engines run unconfined");
	j.scratch = scratch_dir();
	script = xasprintf("id -u >&2; test -e /proc/%ld && echo host >&2",
	    (long)getpid());
	j.script = script;
	job_run(&j);
	CHECK_INT(j.rc, 0);
	/* as we are, seeing our processes */
	want = xasprintf("%ld\nhost\n", (long)getuid());
	CHECK_STR(j.r.stderr_tail, want);
	run_result_clear(&j.r);
	sandbox_free(j.sb);
	free(want);
	free(script);
	free(how);
}

/* A bwrap that cannot make namespaces (as where user namespaces are
 * disabled): a job is refused with the reason, found by a trial run then,
 * and no job runs afterwards; the trial is not made before the first
 * job. */
static void
a_sandbox_that_cannot_be_entered_refuses_jobs_with_the_reason(void)
{
	struct job j = { 0 };
	/* where the job user runs it (and counts its runs), outside /tmp,
	 * which the staging of a job hides */
	char *fake = xasprintf("/var/tmp/partsfs-sbtest-%ld-bwrap",
	    (long)getpid());
	char *jobs = xasprintf("  bwrap: %s\n", fake);
	char *counter = xasprintf("%s.runs", fake);
	char *text = xasprintf("#!/bin/sh\necho run \"$*\" >>%s\necho 'bwrap: No "
	    "permissions to create new namespace, likely because the kernel "
	    "does not allow non-privileged user namespaces.' >&2\nexit 1\n",
	    counter);
	char *how;
	int fd;

	fixture_write_exec(fake, text);
	chmod(fake, 0755);
	if ((fd = open(counter, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0666)) == -1)
		pf_fatal("%s: %s", counter, strerror(errno));
	fchmod(fd, 0666);
	close(fd);
	j.sb = sandbox_here(jobs);
	CHECK_INT(sandbox_mode_untried(j.sb), SANDBOX_BWRAP);
	j.scratch = scratch_dir();
	j.script = "echo ran >&2";
	job_run(&j);
	CHECK_INT(j.rc, -EPERM);
	CHECK(j.r.stderr_tail == NULL);
	/* the job's bwrap, then the trial run: nothing before */
	CHECK_INT(count_lines(counter), 2);
	CHECK_INT(sandbox_mode_untried(j.sb), SANDBOX_UNAVAILABLE);
	how = sandbox_describe(j.sb);
	CHECK_CONTAINS(how, "unprivileged user namespaces are disabled");
	/* the next job is refused at once */
	job_run(&j);
	CHECK_INT(j.rc, -EPERM);
	CHECK_INT(count_lines(counter), 2);
	sandbox_free(j.sb);
	unlink(fake);
	unlink(counter);
	free(how);
	free(text);
	free(counter);
	free(jobs);
	free(fake);
}

static void
a_jobs_user_naming_no_user_is_an_error_as_root(void)
{
	struct perr e = { 0 };
	struct sandbox *sb;

	sb = sandbox_of("  user: partsfs-no-such-user\n", &e);
	if (geteuid() != 0) {
		/* not root: jobs run as we do, whoever jobs.user names */
		CHECK(sb != NULL);
		sandbox_free(sb);
		return;
	}
	CHECK_MSG(sb == NULL, "made a sandbox for a user that does not exist");
	CHECK_CONTAINS(e.msg, "jobs.user: there is no user "
	    "partsfs-no-such-user");
}

TAP_MAIN(
	TAP_CASE(the_sandbox_is_bwrap_here),
	TAP_CASE(a_sandbox_that_cannot_be_entered_refuses_jobs_with_the_reason),
	TAP_CASE(a_job_runs_as_the_job_user_with_no_capabilities),
	TAP_CASE(etc_shadow_and_root_are_not_there),
	TAP_CASE(only_the_scratch_directory_is_writable),
	TAP_CASE(the_private_tmp_is_bounded_by_tmp_size),
	TAP_CASE(the_process_limit_holds_in_a_job),
	TAP_CASE(the_process_limit_counts_each_job_apart),
	TAP_CASE(a_job_has_no_network),
	TAP_CASE(a_job_sees_only_its_own_processes),
	TAP_CASE(a_setsid_child_is_gone_when_the_job_returns),
	TAP_CASE(every_process_of_a_job_is_gone_the_moment_run_process_returns),
	TAP_CASE(the_time_limit_kills_the_whole_job),
	TAP_CASE(a_job_killed_by_run_kill_all_ends_with_its_children),
	TAP_CASE(a_command_killed_by_a_signal_is_reported_as_that_signal),
	TAP_CASE(sandbox_describe_says_the_mode_and_the_user),
	TAP_CASE(jobs_sandbox_off_runs_unconfined),
	TAP_CASE(a_jobs_user_naming_no_user_is_an_error_as_root)
)
