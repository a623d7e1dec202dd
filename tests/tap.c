/* tap.c -- the TAP harness: runs the cases, prints the plan and results,
 * and offers temporary directories for tests that need files. */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

static bool failed;
static char *tmpdirs[64];
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

const char *
tap_corpus(void)
{
	const char *c = getenv("PARTSFS_CORPUS");
	struct stat st;

	if (c == NULL || stat(c, &st) == -1)
		return NULL;
	return c;
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
	size_t nfailed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		failed = false;
		cases[i].fn();
		printf("%sok %zu - %s\n", failed ? "not " : "", i + 1,
		    cases[i].name);
		if (failed)
			nfailed++;
	}
	return nfailed ? 1 : 0;
}
