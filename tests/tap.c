/* tap.c -- the TAP harness: runs the cases, prints the plan and results,
 * skips the cases whose prerequisites are missing, and offers temporary
 * directories for tests that need files. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

static bool failed;
/* Why the running case is skipped, or NULL. */
static const char *skipped;
static char *tmpdirs[256];
static size_t ntmpdirs;

bool
tap_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	failed = true;
	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return false;
}

void
tap_note(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static int rm_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw);

void
tap_in_child(void (*body)(void))
{
	size_t had = ntmpdirs;
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		tap_fail(__FILE__, __LINE__, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		failed = false;
		body();
		/* the child's own directories; the parent's stay its own */
		for (size_t i = had; i < ntmpdirs; i++)
			nftw(tmpdirs[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		fflush(stdout);
		fflush(stderr);
		_exit(failed ? 1 : 0);
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		tap_fail(__FILE__, __LINE__, "the case's process %s %d",
		    WIFEXITED(status) ? "exited with" : "died of signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) :
		    WTERMSIG(status));
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void
cleanup(void)
{
	for (size_t i = 0; i < ntmpdirs; i++) {
		nftw(tmpdirs[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		free(tmpdirs[i]);
	}
}

const char *
tap_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *dir;

	if (ntmpdirs == sizeof tmpdirs / sizeof tmpdirs[0])
		abort();
	if (asprintf(&dir, "%s/partsfs-test-XXXXXX", base ? base : "/tmp") < 0)
		abort();
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	if (ntmpdirs == 0)
		atexit(cleanup);
	tmpdirs[ntmpdirs++] = dir;
	return dir;
}

void
tap_write(const char *dir, const char *rel, const char *text)
{
	char *path, *p;
	FILE *fp;

	if (asprintf(&path, "%s/%s", dir, rel) < 0)
		abort();
	for (p = path + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(path, 0755) == -1 && errno != EEXIST)
			abort();
		*p = '/';
	}
	if ((fp = fopen(path, "w")) == NULL) {
		perror(path);
		abort();
	}
	fputs(text, fp);
	fclose(fp);
	free(path);
}

static char *format(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* A string made like printf's, never NULL. */
static char *
format(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	return s;
}

const char *
tap_corpus(void)
{
	const char *c = getenv("PARTSFS_CORPUS");
	struct stat st;
	char *data;
	bool found;

	if (c == NULL || *c == '\0')
		return NULL;
	data = format("%s/data", c);
	found = stat(data, &st) == 0 && S_ISDIR(st.st_mode);
	free(data);
	return found ? c : NULL;
}

/* Is `prog` an executable file in a directory of $PATH? */
static bool
on_path(const char *prog)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *file, *last;
	struct stat st;
	bool found = false;

	copy = format("%s", path != NULL ? path : "/usr/bin:/bin");
	for (dir = strtok_r(copy, ":", &last); dir != NULL && !found;
	    dir = strtok_r(NULL, ":", &last)) {
		file = format("%s/%s", dir, prog);
		found = stat(file, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(file, X_OK) == 0;
		free(file);
	}
	free(copy);
	return found;
}

/* Each prerequisite's check gives the reason it is missing, or NULL. */

static char *
missing_corpus(void)
{
	const char *c = getenv("PARTSFS_CORPUS");

	if (tap_corpus() != NULL)
		return NULL;
	if (c == NULL || *c == '\0')
		return format("the BOLTS corpus was not found: PARTSFS_CORPUS "
		    "is not set (configure --with-corpus=DIR sets it)");
	return format("the BOLTS corpus was not found: PARTSFS_CORPUS=%s "
	    "has no data/ directory", c);
}

/*
 * A child process tries what the cases do: a mount namespace of its own,
 * whose mounts stay in it.  It exits with 0, or with the errno of the
 * step that failed.
 */
static char *
missing_mountns(void)
{
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		return format("cannot make a mount namespace of its own: "
		    "fork: %s", strerror(errno));
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) == -1 ||
		    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == -1)
			_exit(errno > 0 && errno < 256 ? errno : 255);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return NULL;
	if (!WIFEXITED(status))
		return format("cannot make a mount namespace of its own: the "
		    "trying process died of signal %d", WTERMSIG(status));
	return format("cannot make a mount namespace of its own: %s",
	    strerror(WEXITSTATUS(status)));
}

static char *
missing_fuse(void)
{
	struct stat st;
	int fd;

	if ((fd = open("/dev/fuse", O_RDWR | O_CLOEXEC)) == -1)
		return format("/dev/fuse cannot be opened: %s",
		    strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISCHR(st.st_mode)) {
		close(fd);
		return format("/dev/fuse is not a character device");
	}
	close(fd);
	if (geteuid() != 0 && !on_path("fusermount3"))
		return format("FUSE mounts need root or fusermount3 on PATH "
		    "(Debian package fuse3)");
	return NULL;
}

static char *
missing_openscad(void)
{
	if (on_path("openscad"))
		return NULL;
	return format("openscad is not on PATH (Debian package openscad)");
}

static char *
missing_freecad(void)
{
	if (on_path("freecadcmd"))
		return NULL;
	return format("freecadcmd is not on PATH (Debian package "
	    "freecad-python3)");
}

static char *
missing_nginx(void)
{
	if (on_path("nginx") || access("/usr/sbin/nginx", X_OK) == 0)
		return NULL;
	return format("nginx is not installed (Debian package nginx)");
}

/*
 * bubblewrap makes a sandbox as partsfs asks for one: run once with the
 * namespaces engines get, as the user they run as (nobody when we are
 * root: the user namespace is then an unprivileged one).  Independent of
 * src/make/sandbox.c, whose tests must fail, not skip, when it is wrong.
 */
static char *
missing_bwrap(void)
{
	const char *bwrap = access("/usr/bin/bwrap", X_OK) == 0 ?
	    "/usr/bin/bwrap" : on_path("bwrap") ? "bwrap" : NULL;
	char said[512];
	int p[2], status;
	ssize_t n, len = 0;
	pid_t pid;

	if (bwrap == NULL)
		return format("bwrap is not installed (Debian package "
		    "bubblewrap)");
	fflush(stdout);
	fflush(stderr);
	if (pipe(p) == -1 || (pid = fork()) == -1)
		return format("bwrap cannot be tried: %s", strerror(errno));
	if (pid == 0) {
		const char *const argv[] = { bwrap, "--unshare-all",
		    "--unshare-user", "--disable-userns", "--die-with-parent",
		    "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib",
		    "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin",
		    "/bin", "--proc", "/proc", "--dev", "/dev", "--size",
		    "1048576", "--tmpfs", "/tmp", "/usr/bin/true", NULL };
		int null = open("/dev/null", O_RDWR);

		if (null == -1 || dup2(null, 0) == -1 || dup2(p[1], 1) == -1 ||
		    dup2(p[1], 2) == -1)
			_exit(126);
		if (geteuid() == 0 && (setgroups(0, NULL) == -1 ||
		    setresgid(65534, 65534, 65534) == -1 ||
		    setresuid(65534, 65534, 65534) == -1))
			_exit(126);
		/* execvp does not modify its array; its prototype predates
		 * const */
		execvp(bwrap, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	while (len < (ssize_t)sizeof said - 1 &&
	    (n = read(p[0], said + len, sizeof said - 1 - (size_t)len)) > 0)
		len += n;
	said[len] = '\0';
	said[strcspn(said, "\n")] = '\0';
	close(p[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return NULL;
	if (said[0] == '\0')
		return format("bwrap cannot make a sandbox here (wait status "
		    "%d)", status);
	return format("bwrap cannot make a sandbox here: %s", said);
}

static char *
missing_netns(void)
{
	pid_t pid;
	int status;

	if (!on_path("ip") || !on_path("nsenter"))
		return format("ip or nsenter is not on PATH (Debian packages "
		    "iproute2, util-linux)");
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		return format("cannot make a network namespace: fork: %s",
		    strerror(errno));
	if (pid == 0)
		_exit(unshare(CLONE_NEWNET) == -1 ? (errno > 0 && errno < 256 ?
		    errno : 255) : 0);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return NULL;
	if (!WIFEXITED(status))
		return format("cannot make a network namespace: the trying "
		    "process died of signal %d", WTERMSIG(status));
	return format("cannot make a network namespace: %s",
	    strerror(WEXITSTATUS(status)));
}

static const struct prereq {
	const char *name;
	char *(*missing)(void);
} prereqs[] = {
	{ "corpus", missing_corpus },
	{ "mountns", missing_mountns },
	{ "fuse", missing_fuse },
	{ "openscad", missing_openscad },
	{ "freecad", missing_freecad },
	{ "bwrap", missing_bwrap },
	{ "nginx", missing_nginx },
	{ "netns", missing_netns },
};
#define NPREREQS (sizeof prereqs / sizeof prereqs[0])

/* Each prerequisite's reason, once checked. */
static bool checked[NPREREQS];
static char *reasons[NPREREQS];

/* The index of the prerequisite `name`, or NPREREQS. */
static size_t
prereq_index(const char *name)
{
	size_t i;

	for (i = 0; i < NPREREQS; i++) {
		if (strcmp(prereqs[i].name, name) == 0)
			break;
	}
	return i;
}

/* The words of $PARTSFS_REQUIRE, separated by commas or blanks. */
#define REQUIRE_SEP ", \t\n"

/* Does $PARTSFS_REQUIRE name `name`, or "all"? */
static bool
required(const char *name)
{
	const char *list = getenv("PARTSFS_REQUIRE");
	char *copy, *word, *last;
	bool found = false;

	if (list == NULL)
		return false;
	copy = format("%s", list);
	for (word = strtok_r(copy, REQUIRE_SEP, &last);
	    word != NULL && !found; word = strtok_r(NULL, REQUIRE_SEP, &last))
		found = strcmp(word, name) == 0 || strcmp(word, "all") == 0;
	free(copy);
	return found;
}

/* The first word of $PARTSFS_REQUIRE that names no prerequisite (to be
 * freed), or NULL. */
static char *
required_unknown(void)
{
	const char *list = getenv("PARTSFS_REQUIRE");
	char *copy, *word, *last, *bad = NULL;

	if (list == NULL)
		return NULL;
	copy = format("%s", list);
	for (word = strtok_r(copy, REQUIRE_SEP, &last);
	    word != NULL && bad == NULL;
	    word = strtok_r(NULL, REQUIRE_SEP, &last)) {
		if (strcmp(word, "all") != 0 && prereq_index(word) == NPREREQS)
			bad = format("%s", word);
	}
	free(copy);
	return bad;
}

bool
tap_need(const char *name)
{
	size_t i = prereq_index(name);

	if (i == NPREREQS) {
		tap_fail(__FILE__, __LINE__, "no prerequisite is named '%s'",
		    name);
		return false;
	}
	if (!checked[i]) {
		reasons[i] = prereqs[i].missing();
		checked[i] = true;
	}
	if (reasons[i] == NULL)
		return true;
	if (required(name)) {
		failed = true;
		tap_note("PARTSFS_REQUIRE requires %s: %s", name, reasons[i]);
	} else if (skipped == NULL)
		skipped = reasons[i];
	return false;
}

const char *
tap_srcdir(void)
{
	const char *s = getenv("top_srcdir");

	return s != NULL ? s : ".";
}

int
tap_run(const struct tap_case *cases, size_t n)
{
	char *bad;
	size_t nfailed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((bad = required_unknown()) != NULL) {
		printf("Bail out! PARTSFS_REQUIRE: '%s' is not a prerequisite "
		    "(corpus, mountns, fuse, openscad, freecad, bwrap, "
		    "nginx, netns or all)\n", bad);
		free(bad);
		return 1;
	}
	printf("1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		failed = false;
		skipped = NULL;
		cases[i].fn();
		if (failed) {
			printf("not ok %zu - %s\n", i + 1, cases[i].name);
			nfailed++;
		} else if (skipped != NULL)
			printf("ok %zu - %s # SKIP %s\n", i + 1, cases[i].name,
			    skipped);
		else
			printf("ok %zu - %s\n", i + 1, cases[i].name);
	}
	return nfailed ? 1 : 0;
}
