/* test-confine.c -- nothing outside the library root is ever read: files
 * and directories that are links out of it are refused unread, naming the
 * link and where it leads; links that stay inside are followed. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "partsfs/model/load.h"
#include "fixture.h"
#include "partsfs/util/confine.h"
#include "partsfs/util/conf.h"
#include "partsfs/make/plan.h"
#include "tap.h"

#define BLT_HEAD \
	"id: %s\nauthor: T <t@example.org>\nlicense: MIT <x>\n" \
	"blt-version: 0.4\nclasses:\n" \
	"  - id: %s\n    source: s\n" \
	"    parameters: {free: [a], types: {a: Length (mm)}}\n"

#define SCAD_BASE \
	"- filename: m.scad\n  type: module\n  author: a <b>\n" \
	"  license: MIT <x>\n  modules:\n" \
	"    - {name: m, arguments: [a], classids: [k]}\n"

/* dir/rel, in one of a few static buffers. */
static const char *
at(const char *dir, const char *rel)
{
	static char bufs[4][4096];
	static int next;
	char *b = bufs[next++ % 4];

	snprintf(b, sizeof bufs[0], "%s/%s", dir, rel);
	return b;
}

/* A collection file text for collection `id` with class `cls`. */
static const char *
blt(const char *id, const char *cls)
{
	static char b[1024];

	snprintf(b, sizeof b, BLT_HEAD, id, cls);
	return b;
}

/* Watch `path` for being opened or read; see was_opened. */
static int
watch_opens(const char *path)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (fd == -1 || inotify_add_watch(fd, path, IN_OPEN | IN_ACCESS) == -1)
		abort();
	return fd;
}

/* Was the file watched by `fd` opened or read since?  Closes fd. */
static bool
was_opened(int fd)
{
	char buf[4096] __attribute__((aligned(8)));
	ssize_t n = read(fd, buf, sizeof buf);

	close(fd);
	return n > 0;
}

/* open_beneath itself. */

static void
open_beneath_follows_links_that_stay_inside(void)
{
	const char *lib = tap_tmpdir();
	char *link = NULL, *target = NULL;
	int fd;

	tap_write(lib, "a/f", "x\n");
	CHECK(symlink("a/f", at(lib, "rel")) == 0);
	CHECK(symlink(at(lib, "a/f"), at(lib, "abs")) == 0);
	CHECK(symlink("a", at(lib, "dir")) == 0);
	CHECK(symlink(at(lib, "a"), at(lib, "absdir")) == 0);
	CHECK(mkdir(at(lib, "b"), 0755) == 0);
	for (const char *const *p = (const char *const []){ "a/f", "rel",
	    "abs", "dir/f", "absdir/f", "b/../a/f", NULL }; *p; p++) {
		fd = open_beneath(lib, *p, O_RDONLY, &link, &target);
		CHECK_MSG(fd != -1, "%s: %s", *p, strerror(errno));
		close(fd);
	}
	CHECK(link == NULL && target == NULL);
	CHECK(open_beneath(lib, "nope", O_RDONLY, &link, &target) == -1);
	CHECK_INT(errno, ENOENT);
	CHECK(link == NULL && target == NULL);
}

/* A rename anywhere on the machine while a path with ".." is opened makes
 * openat2 say EAGAIN now and then (688 times in 200000 opens here, with
 * one process renaming a directory back and forth): open_beneath tries
 * again rather than failing. */
static void
open_beneath_survives_renames_elsewhere(void)
{
	const char *tmp = tap_tmpdir();
	char *lib = xasprintf("%s/lib", tmp), *x, *y;
	int failed = 0, err = 0, n;
	struct timespec t0, t;
	pid_t pid;

	CHECK(mkdir(lib, 0755) == 0);
	tap_write(lib, "f", "x\n");
	CHECK(mkdir(at(lib, "sub"), 0755) == 0);
	x = xasprintf("%s/x", tmp);
	y = xasprintf("%s/y", tmp);
	CHECK(mkdir(x, 0755) == 0);
	if ((pid = fork()) == 0) {
		for (;;) {
			rename(x, y);
			rename(y, x);
		}
	}
	CHECK(pid > 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (n = 0; n < 100000; n++) {
		int fd = open_beneath(lib, "sub/../f", O_RDONLY, NULL, NULL);
		if (fd == -1) {
			failed++;
			err = errno;
		} else
			close(fd);
		/* under 2 s here; valgrind (no openat2: the realpath way,
		 * which has no EAGAIN) stops after 10 s */
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= 10)
			break;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	CHECK_MSG(failed == 0, "%d of %d opens failed (the last: %s)",
	    failed, n, strerror(err));
	free(x);
	free(y);
	free(lib);
}

static void
open_beneath_refuses_links_out_naming_them(void)
{
	const char *lib = tap_tmpdir(), *out = tap_tmpdir();
	char *link = NULL, *target = NULL;
	int w;

	tap_write(out, "secret", "s\n");
	tap_write(out, "d/secret", "s\n");
	CHECK(mkdir(at(lib, "a"), 0755) == 0);
	CHECK(symlink(at(out, "secret"), at(lib, "a/abs")) == 0);
	CHECK(symlink("../../../../../../../../../../../..",
	    at(lib, "a/up")) == 0);
	CHECK(symlink(at(out, "d"), at(lib, "a/dir")) == 0);
	w = watch_opens(at(out, "secret"));

	CHECK(open_beneath(lib, "a/abs", O_RDONLY, &link, &target) == -1);
	CHECK_INT(errno, EXDEV);
	CHECK_STR(link, "a/abs");
	CHECK_STR(target, at(out, "secret"));
	free(link);
	free(target);
	link = target = NULL;

	CHECK(open_beneath(lib, "a/dir/secret", O_RDONLY, &link,
	    &target) == -1);
	CHECK_INT(errno, EXDEV);
	CHECK_STR(link, "a/dir");
	CHECK_STR(target, at(out, "d"));
	free(link);
	free(target);
	link = target = NULL;

	CHECK(open_beneath(lib, "a/up/etc/hostname", O_RDONLY, &link,
	    &target) == -1);
	CHECK_INT(errno, EXDEV);
	CHECK_STR(link, "a/up");
	CHECK_STR(target, "/");
	free(link);
	free(target);
	link = target = NULL;

	/* a ".." above the root is no link: nothing to name */
	CHECK(open_beneath(lib, "../x", O_RDONLY, &link, &target) == -1);
	CHECK_INT(errno, EXDEV);
	CHECK(link == NULL && target == NULL);
	CHECK(!was_opened(w));
}

/* The collection files. */

static void
a_collection_file_linked_outside_is_refused_unread(void)
{
	const char *lib = tap_tmpdir(), *out = tap_tmpdir();
	struct library *l;
	char *want;
	int w;

	tap_write(lib, "data/c.blt", blt("c", "k"));
	tap_write(out, "x.blt", blt("x", "xk"));
	CHECK(symlink(at(out, "x.blt"), at(lib, "data/x.blt")) == 0);
	w = watch_opens(at(out, "x.blt"));
	l = fixture_load_dir(lib);
	if (asprintf(&want, "data/x.blt: error: data/x.blt is a link to %s, "
	    "outside the library: refused", at(out, "x.blt")) < 0)
		abort();
	EXPECT_ERROR(l, want);
	free(want);
	CHECK(library_collection(l, "x") == NULL);
	CHECK(library_collection(l, "c") != NULL);
	CHECK(!was_opened(w));
	library_unref(l);
}

static void
a_data_directory_linked_outside_is_refused_unread(void)
{
	const char *lib = tap_tmpdir(), *out = tap_tmpdir();
	struct perr e = { 0 };
	char *want;
	int w;

	tap_write(out, "data/x.blt", blt("x", "xk"));
	CHECK(symlink(at(out, "data"), at(lib, "data")) == 0);
	w = watch_opens(at(out, "data/x.blt"));
	CHECK(library_load(lib, NULL, &e) == NULL);
	if (asprintf(&want, "%s/data is a link to %s, outside the library: "
	    "refused", lib, at(out, "data")) < 0)
		abort();
	CHECK_STR(e.msg, want);
	free(want);
	CHECK(!was_opened(w));
}

static void
a_collection_file_linked_inside_the_library_is_read(void)
{
	const char *lib = tap_tmpdir();
	struct library *l;

	/* a relative link and an absolute one to elsewhere in the library */
	tap_write(lib, "shared/y.blt", blt("y", "yk"));
	tap_write(lib, "shared/z.blt", blt("z", "zk"));
	CHECK(mkdir(at(lib, "data"), 0755) == 0);
	CHECK(symlink("../shared/y.blt", at(lib, "data/y.blt")) == 0);
	CHECK(symlink(at(lib, "shared/z.blt"), at(lib, "data/z.blt")) == 0);
	l = fixture_load_dir(lib);
	CHECK_MSG(l->diags.nerrors == 0, "%s", fixture_diags(l));
	CHECK(library_class(l, "yk") != NULL);
	CHECK(library_class(l, "zk") != NULL);
	library_unref(l);
}

static void
a_fifo_for_a_collection_file_is_refused_without_waiting(void)
{
	const char *lib = tap_tmpdir();
	struct library *l;

	tap_write(lib, "data/c.blt", blt("c", "k"));
	CHECK(mkfifo(at(lib, "data/f.blt"), 0644) == 0);
	alarm(20);
	l = fixture_load_dir(lib);
	alarm(0);
	EXPECT_ERROR(l, "data/f.blt: error: not a regular file");
	CHECK(library_collection(l, "c") != NULL);
	library_unref(l);
}

/* The base files and database directories. */

static void
a_base_file_linked_outside_is_refused_unread(void)
{
	const char *lib = tap_tmpdir(), *out = tap_tmpdir();
	struct library *l;
	char *want;
	int w;

	tap_write(lib, "data/c.blt", blt("c", "k"));
	tap_write(lib, "openscad/c/m.scad", "module m(a) { cube(a); }\n");
	tap_write(out, "c.base", SCAD_BASE);
	CHECK(symlink(at(out, "c.base"), at(lib, "openscad/c/c.base")) == 0);
	w = watch_opens(at(out, "c.base"));
	l = fixture_load_dir(lib);
	if (asprintf(&want, "openscad/c/c.base: error: openscad/c/c.base is a "
	    "link to %s, outside the library: refused", at(out, "c.base")) < 0)
		abort();
	EXPECT_ERROR(l, want);
	free(want);
	CHECK(library_class(l, "k")->scad == NULL);
	CHECK(!was_opened(w));
	library_unref(l);
}

static void
a_database_directory_linked_outside_is_refused_unread(void)
{
	const char *lib = tap_tmpdir(), *out = tap_tmpdir();
	struct library *l;
	char *want;
	int w;

	tap_write(lib, "data/c.blt", blt("c", "k"));
	tap_write(out, "c/c.base", SCAD_BASE);
	tap_write(out, "c/m.scad", "module m(a) { cube(a); }\n");
	CHECK(mkdir(at(lib, "openscad"), 0755) == 0);
	CHECK(symlink(at(out, "c"), at(lib, "openscad/c")) == 0);
	w = watch_opens(at(out, "c/c.base"));
	l = fixture_load_dir(lib);
	if (asprintf(&want, "openscad/c/c.base: error: openscad/c is a link to "
	    "%s, outside the library: refused", at(out, "c")) < 0)
		abort();
	EXPECT_ERROR(l, want);
	free(want);
	CHECK(library_class(l, "k")->scad == NULL);
	CHECK(!was_opened(w));
	library_unref(l);
}

/* Module siblings. */

/* A library whose module m.scad has siblings: a plain file, a link inside
 * the library and a link to `out`/secret.scad. */
static const char *
sibling_library(const char *out)
{
	const char *lib = tap_tmpdir();

	tap_write(lib, "data/c.blt", blt("c", "k"));
	tap_write(lib, "openscad/c/c.base", SCAD_BASE);
	tap_write(lib, "openscad/c/m.scad", "module m(a) { cube(a); }\n");
	tap_write(lib, "openscad/c/plain.scad", "// a sibling\n");
	tap_write(lib, "shared/inside.scad", "// linked in\n");
	tap_write(out, "secret.scad", "// a secret\n");
	if (symlink("../../shared/inside.scad",
	    at(lib, "openscad/c/inside.scad")) == -1 ||
	    symlink(at(out, "secret.scad"),
	    at(lib, "openscad/c/secret.scad")) == -1)
		abort();
	return lib;
}

static void
a_module_sibling_linked_outside_is_not_read(void)
{
	const char *out = tap_tmpdir(), *lib = sibling_library(out);
	struct conf *conf = conf_default();
	struct exec_env env = { .conf = conf };
	struct plan plan;
	struct pnode n;
	struct perr e = { 0 };
	struct library *l;
	bool inside = false, plain = false;
	int w;

	w = watch_opens(at(out, "secret.scad"));
	l = fixture_load_dir(lib);
	/* the engine: any program will do, planning does not run it */
	free(conf->openscad);
	conf->openscad = xstrdup("/bin/true");
	env.root = l->root;
	CHECK_MSG(pnode_lookup(l, "c/k/default.csg", &n, &e) == 0, "%s",
	    e.msg);
	CHECK_MSG(plan_make(&env, &n, &plan, &e) == 0, "%s", e.msg);
	for (size_t i = 0; i < plan.nsources; i++) {
		const char *p = plan.sources[i].path;
		CHECK_MSG(strstr(p, "secret") == NULL, "source %s", p);
		inside |= str_has_suffix(p, "/inside.scad");
		plain |= str_has_suffix(p, "/plain.scad");
	}
	CHECK(inside && plain);
	plan_clear(&plan);
	pnode_clear(&n);
	CHECK(!was_opened(w));
	library_unref(l);
	conf_free(conf);
}

static void
a_module_sibling_linked_outside_is_a_warning_when_loading(void)
{
	const char *out = tap_tmpdir(), *lib = sibling_library(out);
	struct library *l = fixture_load_dir(lib);
	char *want;

	if (asprintf(&want, "openscad/c/secret.scad: warning: "
	    "openscad/c/secret.scad is a link to %s, outside the library: not "
	    "read", at(out, "secret.scad")) < 0)
		abort();
	EXPECT_WARNING(l, want);
	free(want);
	CHECK_MSG(l->diags.nerrors == 0, "%s", fixture_diags(l));
	CHECK(fixture_diag(l, DIAG_WARNING, "inside.scad") == NULL);
	library_unref(l);
}

static void
a_prelude_linked_outside_is_refused_unread(void)
{
	const char *out = tap_tmpdir(), *lib = sibling_library(out);
	struct conf *conf = conf_default();
	struct exec_env env = { .conf = conf };
	struct plan plan;
	struct pnode n;
	struct perr e = { 0 };
	struct library *l;
	char *want;
	int w;

	tap_write(out, "common.scad", "// outside\n");
	CHECK(symlink(at(out, "common.scad"), at(lib, "common.scad")) == 0);
	w = watch_opens(at(out, "common.scad"));
	l = fixture_load_dir(lib);
	free(conf->openscad);
	conf->openscad = xstrdup("/bin/true");
	free(conf->openscad_include);
	conf->openscad_include = xcalloc(2, sizeof *conf->openscad_include);
	conf->openscad_include[0] = xstrdup("common.scad");
	conf->nopenscad_include = 1;
	conf->openscad_include_set = true;
	env.root = l->root;
	CHECK_MSG(pnode_lookup(l, "c/k/default.csg", &n, &e) == 0, "%s",
	    e.msg);
	CHECK(plan_make(&env, &n, &plan, &e) == -EXDEV);
	if (asprintf(&want, "openscad include common.scad: common.scad is a "
	    "link to %s, outside the library: refused",
	    at(out, "common.scad")) < 0)
		abort();
	CHECK_STR(e.msg, want);
	free(want);
	pnode_clear(&n);
	CHECK(!was_opened(w));
	library_unref(l);
	conf_free(conf);
}

/* The library root and data/. */

static void
a_library_whose_data_cannot_be_used_says_why(void)
{
	const char *lib = tap_tmpdir(), *out = tap_tmpdir();
	struct perr e = { 0 };

	(void)out;
	/* no data/ at all, and data/ a file: not a library */
	CHECK(library_load(lib, NULL, &e) == NULL);
	CHECK_CONTAINS(e.msg, "is not a BOLTS library: it has no data/ "
	    "directory");
	tap_write(lib, "data", "");
	CHECK(library_load(lib, NULL, &e) == NULL);
	CHECK_CONTAINS(e.msg, "it has no data/ directory");
	/* data/ there but not usable: the real reason */
	CHECK(unlink(at(lib, "data")) == 0);
	CHECK(symlink("data", at(lib, "data")) == 0);
	CHECK(library_load(lib, NULL, &e) == NULL);
	CHECK_CONTAINS(e.msg, at(lib, "data: Too many levels of symbolic "
	    "links"));
}

/*
 * Load `lib` without the permissions that let root ignore modes (a user
 * does not have them): a child drops to nobody when run as root.  The
 * message of the failure, or "" when it loaded.
 */
static const char *
load_unprivileged(const char *lib)
{
	static char msg[1024];
	int p[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe(p) == -1 || (pid = fork()) == -1)
		abort();
	if (pid == 0) {
		struct perr e = { 0 };
		struct library *l;
		close(p[0]);
		if (geteuid() == 0 && setresuid(65534, 65534, 65534) == -1)
			_exit(2);
		if ((l = library_load(lib, NULL, &e)) != NULL) {
			library_unref(l);
			_exit(0);
		}
		(void)!write(p[1], e.msg, strlen(e.msg));
		_exit(1);
	}
	close(p[1]);
	n = read(p[0], msg, sizeof msg - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	return msg;
}

static void
an_unreadable_library_or_data_directory_says_permission_denied(void)
{
	const char *lib = tap_tmpdir();
	char *want;

	tap_write(lib, "data/c.blt", blt("c", "k"));
	/* nobody must reach the library to be refused by its modes */
	CHECK(chmod(lib, 0755) == 0);
	if (load_unprivileged(lib)[0] != '\0') {
		tap_note("skipped: nobody cannot load %s (%s)", lib,
		    load_unprivileged(lib));
		return;
	}
	if (asprintf(&want, "%s/data: Permission denied", lib) < 0)
		abort();
	CHECK(chmod(at(lib, "data"), 0) == 0);
	CHECK_STR(load_unprivileged(lib), want);
	CHECK(chmod(at(lib, "data"), 0755) == 0);
	CHECK(chmod(lib, 0) == 0);
	CHECK_STR(load_unprivileged(lib), want);
	CHECK(chmod(lib, 0700) == 0);
	free(want);
}

TAP_MAIN(
	TAP_CASE(open_beneath_follows_links_that_stay_inside),
	TAP_CASE(open_beneath_survives_renames_elsewhere),
	TAP_CASE(open_beneath_refuses_links_out_naming_them),
	TAP_CASE(a_collection_file_linked_outside_is_refused_unread),
	TAP_CASE(a_data_directory_linked_outside_is_refused_unread),
	TAP_CASE(a_collection_file_linked_inside_the_library_is_read),
	TAP_CASE(a_fifo_for_a_collection_file_is_refused_without_waiting),
	TAP_CASE(a_base_file_linked_outside_is_refused_unread),
	TAP_CASE(a_database_directory_linked_outside_is_refused_unread),
	TAP_CASE(a_module_sibling_linked_outside_is_not_read),
	TAP_CASE(a_module_sibling_linked_outside_is_a_warning_when_loading),
	TAP_CASE(a_prelude_linked_outside_is_refused_unread),
	TAP_CASE(a_library_whose_data_cannot_be_used_says_why),
	TAP_CASE(an_unreadable_library_or_data_directory_says_permission_denied)
)
