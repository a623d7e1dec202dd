/* test-core.c -- the core's front door (core.h): opening a core, the
 * status texts a front end shows (stats that count what happened, the
 * jobs under way, the version, the errors), library problems, replacing
 * the library snapshot, and parts asked for by key.  The engine is the
 * test engine tests/fake-engine as a `command` executor (see
 * fixture_core_open). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "tap.h"

#define WAIT 20.0

#define PAIRS FIXTURE_PAIRS

/* The text of a core_status (static, one of a few buffers). */
static const char *
status(struct fixture_core *fc, enum core_status what)
{
	static struct buf bufs[4];
	static int next;
	struct buf *b = &bufs[next++ % 4];

	buf_reset(b);
	core_status(fc->core, what, b);
	return buf_str(b);
}

/* Where `needle` is in `hay`, or -1. */
static long
place(const char *hay, const char *needle)
{
	const char *s = strstr(hay, needle);

	return s != NULL ? s - hay : -1;
}

/* The number of lines of `text`. */
static int
nlines(const char *text)
{
	int n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* The key of the part at `path` as core_part_key gives it: 0 or -errno. */
static int
part_key(struct fixture_core *fc, const char *path, struct cache_key *key)
{
	struct library *lib = core_library(fc->core);
	struct perr e = { 0 };
	struct pnode n;
	int r;

	if (pnode_lookup(lib, path, &n, &e) != 0)
		pf_fatal("%s: %s", path, e.msg);
	r = core_part_key(fc->core, &n, key);
	pnode_clear(&n);
	library_unref(lib);
	return r;
}

/* Make the part at `path`: its key (aborts when it fails). */
static struct cache_key
make(struct fixture_core *fc, const char *path)
{
	struct cache_key key;
	struct fetch *f;

	if (fixture_fetch_wait(fc, path, WAIT, &f) != FETCH_DONE ||
	    !fetch_key(f, &key))
		pf_fatal("%s was not made", path);
	fetch_unref(f);
	return key;
}

/* Fetch the part at `path`, which fails. */
static void
fail_to_make(struct fixture_core *fc, const char *path)
{
	if (fixture_fetch_wait(fc, path, WAIT, NULL) != FETCH_FAILED)
		pf_fatal("%s did not fail", path);
}

/* Write `text` to `path` at once (aside, then renamed), as an editor
 * saves. */
static void
save(const char *path, const char *text)
{
	char *tmp = xasprintf("%s.new", path);
	FILE *fp = fopen(tmp, "w");

	if (fp == NULL || fputs(text, fp) < 0 || fclose(fp) != 0 ||
	    rename(tmp, path) != 0)
		pf_fatal("%s: %s", path, strerror(errno));
	free(tmp);
}

/* Opening. */

static void
core_open_loads_the_library_and_opens_the_configured_cache(void)
{
	struct fixture_core fc;
	struct perr e = { 0 };
	struct buf y = BUF_INIT, want = BUF_INIT, got = BUF_INIT;
	struct library *lib;
	struct conf *conf;
	struct core *c;
	char *cachedir;

	fixture_core_open(&fc, NULL);
	cachedir = xasprintf("%s/another-cache", fc.tmp);
	buf_printf(&y, "cache:\n  dir: %s\n", fixture_yaml_str(cachedir));
	conf = fixture_conf(buf_str(&y));
	c = core_open(fc.dir, conf, NULL, &e);
	CHECK_MSG(c != NULL, "core_open: %s", e.msg);
	lib = core_library(c);
	CHECK_STR(lib->root, fc.dir);
	CHECK_INT(lib->ncolls, 1);
	library_unref(lib);
	core_status(c, CORE_VERSION, &got);
	buf_printf(&want, "\ncache %s\n", cachedir);
	CHECK_CONTAINS(buf_str(&got), buf_str(&want));
	CHECK(access(cachedir, F_OK) == 0);
	core_close(c);
	buf_free(&got);
	buf_free(&want);
	buf_free(&y);
	free(cachedir);
	fixture_core_close(&fc);
}

static void
core_open_of_a_library_that_is_not_there_fails_with_its_error(void)
{
	struct perr e = { 0 };
	struct buf y = BUF_INIT;
	const char *tmp = tap_tmpdir();
	char *missing = xasprintf("%s/no-library", tmp);
	struct core *c;

	buf_printf(&y, "cache:\n  dir: %s/cache\n", tmp);
	c = core_open(missing, fixture_conf(buf_str(&y)), NULL, &e);
	CHECK(c == NULL);
	CHECK(e.code != 0);
	CHECK_CONTAINS(e.msg, "no-library");
	buf_free(&y);
	free(missing);
}

/* Status texts. */

static void
the_stats_count_hits_misses_and_jobs(void)
{
	struct fixture_core fc;
	char *path;

	fixture_core_open(&fc, NULL);
	CHECK_CONTAINS(status(&fc, CORE_STATS), "hits 0\nmisses 0\n"
	    "jobs_run 0\njobs_done 0\njobs_failed 0\n");
	path = fixture_box_path(PAIRS("size", "2"), "stl");
	/* made: a miss and a run */
	make(&fc, path);
	CHECK_CONTAINS(status(&fc, CORE_STATS), "hits 0\nmisses 1\n"
	    "jobs_run 1\njobs_done 1\njobs_failed 0\n");
	/* found: a hit */
	make(&fc, path);
	CHECK_CONTAINS(status(&fc, CORE_STATS), "hits 1\nmisses 1\n"
	    "jobs_run 1\njobs_done 1\njobs_failed 0\n");
	CHECK_CONTAINS(status(&fc, CORE_STATS), "\ncache_entries 1\n");
	free(path);
	fixture_core_close(&fc);
}

static void
the_stats_count_failed_jobs_and_remembered_failures(void)
{
	struct fixture_core fc;
	char *path;

	fixture_core_open(&fc, NULL);
	path = fixture_box_path(PAIRS("mode", "fail"), "stl");
	fail_to_make(&fc, path);
	CHECK_CONTAINS(status(&fc, CORE_STATS), "\njobs_run 1\njobs_done 0\n"
	    "jobs_failed 1\n");
	CHECK_CONTAINS(status(&fc, CORE_STATS), "\nfailures_remembered 1\n");
	CHECK_CONTAINS(status(&fc, CORE_STATS), "\ncache_entries 0\n");
	free(path);
	fixture_core_close(&fc);
}

static void
the_stats_count_the_library(void)
{
	struct fixture_core fc;

	fixture_core_open(&fc, NULL);
	CHECK_CONTAINS(status(&fc, CORE_STATS), "\ncollections 1\n"
	    "classes 1\n");
	fixture_core_close(&fc);
}

struct fetch_wait_state {
	struct fetch *f;
	enum fetch_state st;
};

static bool
fetch_in_state(void *arg)
{
	struct fetch_wait_state *w = arg;

	return fetch_state(w->f) == w->st;
}

static void
the_jobs_text_lists_a_running_job_until_it_is_done(void)
{
	struct fixture_core fc;
	struct fetch_wait_state w;
	struct fetch *f;
	const char *jobs;
	char *path;

	fixture_core_open(&fc, NULL);
	CHECK_STR(status(&fc, CORE_JOBS), "");
	CHECK_INT(core_pending(fc.core), 0);
	path = fixture_box_path(PAIRS("size", "4", "seconds", "1"), "stl");
	CHECK_INT(fixture_fetch(&fc, path, 0, NULL, NULL, &f), 0);
	w.f = f;
	w.st = FETCH_RUNNING;
	CHECK(fixture_wait_for(fetch_in_state, &w, WAIT));
	jobs = status(&fc, CORE_JOBS);
	CHECK_MSG(strncmp(jobs, "running ", 8) == 0, "%s", jobs);
	CHECK_CONTAINS(jobs, path);
	CHECK_INT(nlines(jobs), 1);
	CHECK_INT(core_pending(fc.core), 1);
	CHECK_INT(fetch_wait(f, WAIT), FETCH_DONE);
	CHECK_STR(status(&fc, CORE_JOBS), "");
	CHECK_INT(core_pending(fc.core), 0);
	fetch_unref(f);
	free(path);
	fixture_core_close(&fc);
}

static void
the_version_text_names_partsfs_the_library_and_the_cache(void)
{
	struct fixture_core fc;
	struct buf want = BUF_INIT;

	fixture_core_open(&fc, NULL);
	buf_printf(&want, "partsfs %s\nlibrary %s\nconfig %s\ncache %s\n",
	    PACKAGE_VERSION, fc.dir, fc.core->conf->file, fc.cachedir);
	CHECK_STR(status(&fc, CORE_VERSION), buf_str(&want));
	buf_free(&want);
	fixture_core_close(&fc);
}

/* Errors. */

static void
the_errors_list_a_library_problem_line_by_line(void)
{
	struct fixture_core fc;
	const char *errors;

	fixture_core_open(&fc, NULL);
	CHECK_STR(status(&fc, CORE_ERRORS), "");
	core_library_error(fc.core, "data/fake.blt:3:1: error: a broken edit\n"
	    "data/fake.blt: the last good version is served\n");
	errors = status(&fc, CORE_ERRORS);
	CHECK_CONTAINS(errors, "Z library\n"
	    "  data/fake.blt:3:1: error: a broken edit\n"
	    "  data/fake.blt: the last good version is served\n");
	/* a time first: 2024-01-02T03:04:05Z */
	CHECK_MSG(strlen(errors) > 20 && errors[4] == '-' && errors[10] ==
	    'T' && errors[19] == 'Z', "%s", errors);
	fixture_core_close(&fc);
}

static void
the_errors_list_failures_newest_first_then_library_problems(void)
{
	struct fixture_core fc;
	const char *errors;
	char *first, *second;

	fixture_core_open(&fc, NULL);
	first = fixture_box_path(PAIRS("size", "1", "mode", "fail"), "stl");
	second = fixture_box_path(PAIRS("size", "2", "mode", "fail"), "stl");
	core_library_error(fc.core, "a library problem");
	fail_to_make(&fc, first);
	fail_to_make(&fc, second);
	errors = status(&fc, CORE_ERRORS);
	CHECK_MSG(place(errors, second) >= 0 && place(errors, first) >= 0 &&
	    place(errors, "a library problem") >= 0, "%s", errors);
	CHECK_MSG(place(errors, second) < place(errors, first), "%s", errors);
	CHECK_MSG(place(errors, first) < place(errors, "a library problem"),
	    "%s", errors);
	CHECK_CONTAINS(errors, "giving up as asked");
	free(first);
	free(second);
	fixture_core_close(&fc);
}

/* Record library problems of about 200 bytes each ("problem <i> ...")
 * until the errors text would hold far more than it keeps, or shrinks:
 * the text after the last one, and its number in *last.  (Their log
 * lines go to /dev/null.) */
static const char *
many_library_problems(struct fixture_core *fc, int *last)
{
	const char *errors = "";
	char msg[256];
	size_t before = 0, len;
	int i, null, saved;

	fflush(stderr);
	saved = dup(2);
	if ((null = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1 ||
	    saved == -1 || dup2(null, 2) == -1)
		pf_fatal("/dev/null: %s", strerror(errno));
	close(null);
	for (i = 0; i < 1000; i++) {
		snprintf(msg, sizeof msg, "problem %04d %0180d", i, 0);
		core_library_error(fc->core, msg);
		errors = status(fc, CORE_ERRORS);
		if ((len = strlen(errors)) < before)
			break;
		before = len;
	}
	dup2(saved, 2);
	close(saved);
	*last = i < 1000 ? i : 999;
	return errors;
}

static void
the_errors_keep_the_newest_library_problems_when_large(void)
{
	struct fixture_core fc;
	const char *errors;
	char newest[32];
	int last;

	fixture_core_open(&fc, NULL);
	errors = many_library_problems(&fc, &last);
	snprintf(newest, sizeof newest, "problem %04d ", last);
	CHECK_CONTAINS(errors, newest);
	CHECK_MSG(strstr(errors, "problem 0000 ") == NULL, "the oldest is "
	    "kept");
	CHECK_MSG(strlen(errors) <= 64 * 1024 + 512, "%zu bytes",
	    strlen(errors));
	fixture_core_close(&fc);
}

static void
the_errors_drop_only_the_oldest_library_problems_when_large(void)
{
	struct fixture_core fc;
	char before[32];
	size_t kept;
	bool found;
	int last;

	fixture_core_open(&fc, NULL);
	kept = strlen(many_library_problems(&fc, &last));
	/* the one just before the newest is not among the oldest */
	snprintf(before, sizeof before, "problem %04d ", last - 1);
	found = strstr(status(&fc, CORE_ERRORS), before) != NULL;
	fixture_core_close(&fc);
	CHECK_MSG(found, "after problem %d, the errors keep %zu bytes of "
	    "problems, without %s", last, kept, before);
}

static void
core_error_for_gives_the_last_failure_of_a_path(void)
{
	struct fixture_core fc;
	char *path, *msg;

	fixture_core_open(&fc, NULL);
	path = fixture_box_path(PAIRS("mode", "fail"), "stl");
	fail_to_make(&fc, path);
	msg = core_error_for(fc.core, path);
	CHECK_CONTAINS(msg, "fake-engine: giving up as asked");
	free(msg);
	msg = core_error_for(fc.core, "fake/box/default.stl");
	CHECK_MSG(msg == NULL, "%s", msg);
	free(path);
	fixture_core_close(&fc);
}

/* The library snapshot. */

static void
core_set_library_replaces_the_snapshot(void)
{
	struct fixture_core fc;
	struct library *old, *lib, *now;

	fixture_core_open(&fc, NULL);
	old = core_library(fc.core);
	lib = fixture_load_conf(fc.dir, fc.core->conf);
	core_set_library(fc.core, library_ref(lib));
	now = core_library(fc.core);
	CHECK(now == lib);
	CHECK(now != old);
	/* the old one lives on for those who hold it */
	CHECK_STR(old->root, fc.dir);
	library_unref(now);
	library_unref(lib);
	library_unref(old);
	fixture_core_close(&fc);
}

static void
core_set_library_makes_an_edited_module_change_the_key_at_once(void)
{
	struct fixture_core fc;
	struct cache_key before, unseen, after, made;
	double t0;

	fixture_core_open(&fc, NULL);
	t0 = now_s();
	CHECK_INT(part_key(&fc, "fake/box/default.stl", &before), 0);
	save(fc.script, "box script, edited\n");
	/* within the second, a key is what planning saw */
	CHECK_INT(part_key(&fc, "fake/box/default.stl", &unseen), 0);
	if (strcmp(unseen.hex, before.hex) != 0)
		tap_note("the edit was seen without a new snapshot (%.2fs): "
		    "this run shows nothing", now_s() - t0);
	core_set_library(fc.core, fixture_load_conf(fc.dir, fc.core->conf));
	CHECK_INT(part_key(&fc, "fake/box/default.stl", &after), 0);
	CHECK(strcmp(after.hex, before.hex) != 0);
	/* and it is the key the part is made under */
	made = make(&fc, "fake/box/default.stl");
	CHECK_STR(after.hex, made.hex);
	fixture_core_close(&fc);
}

/* Parts by key. */

static void
core_part_key_of_an_engine_of_unknown_version_would_block(void)
{
	struct fixture_core fc;
	struct cache_key key;
	const char *tmp = tap_tmpdir();
	char *engine = xasprintf("%s/versioned-engine", tmp);
	char *asked = xasprintf("%s/asked", tmp);
	char *text = xasprintf("#!/bin/sh\nif [ \"$1\" = --version ]; then\n"
	    "\techo asked >>%s\n\techo 'fake 1.0'\n\texit 0\nfi\n"
	    "exec %s \"$@\"\n", asked, fixture_fake_engine());

	fixture_write_exec(engine, text);
	fixture_core_open(&fc, &(struct fixture_core_opts){
	    .program = engine, .version = true });
	CHECK_INT(part_key(&fc, "fake/box/default.stl", &key), -EWOULDBLOCK);
	CHECK_INT(fixture_lines(asked), 0);
	/* once a part of it was made, it is known */
	make(&fc, "fake/box/size=3.stl");
	CHECK_INT(part_key(&fc, "fake/box/default.stl", &key), 0);
	fixture_core_close(&fc);
	free(text);
	free(asked);
	free(engine);
}

static void
core_open_made_opens_a_made_part_and_counts_a_hit(void)
{
	struct fixture_core fc;
	struct cache_key key;
	struct stat st;
	char buf[100];
	int fd;

	fixture_core_open(&fc, NULL);
	key = make(&fc, "fake/box/size=3.stl");
	fd = core_open_made(fc.core, &key, FMT_STL, true, &st);
	CHECK(fd >= 0);
	CHECK_INT(st.st_size, 684);
	CHECK_INT(pread(fd, buf, sizeof buf, 0), sizeof buf);
	CHECK(strncmp(buf, "fake-engine ", 12) == 0);
	close(fd);
	CHECK_CONTAINS(status(&fc, CORE_STATS), "hits 1\nmisses 1\n");
	fixture_core_close(&fc);
}

/* The digest of a made part is the SHA-256 of its bytes, as the cache
 * index keeps it. */
static void
core_made_digest_is_the_hash_of_the_part_served(void)
{
	struct fixture_core fc;
	struct cache_key key;
	struct cache_entry ent;
	char sha[CACHE_KEY_LEN + 1], want[CACHE_KEY_LEN + 1];
	struct stat st;
	int fd;

	fixture_core_open(&fc, NULL);
	key = make(&fc, "fake/box/size=3.stl");
	CHECK_INT(cache_lookup(fc.core->cache, &key, &ent), 1);
	CHECK_INT(sha256_file(ent.path, want, NULL), 0);
	cache_entry_clear(&ent);
	fd = core_open_made(fc.core, &key, FMT_STL, false, &st);
	CHECK(fd >= 0);
	CHECK_INT(core_made_digest(fc.core, &key, FMT_STL, fd, &st, sha), 0);
	CHECK_STR(sha, want);
	close(fd);
	fixture_core_close(&fc);
}

static void
core_open_made_of_a_part_not_made_is_enoent(void)
{
	struct fixture_core fc;
	struct cache_key key;
	struct stat st;

	fixture_core_open(&fc, NULL);
	CHECK_INT(part_key(&fc, "fake/box/size=3.stl", &key), 0);
	errno = 0;
	CHECK_INT(core_open_made(fc.core, &key, FMT_STL, true, &st), -1);
	CHECK_INT(errno, ENOENT);
	/* nor in another format than it was made in */
	key = make(&fc, "fake/box/size=3.stl");
	errno = 0;
	CHECK_INT(core_open_made(fc.core, &key, FMT_STEP, false, &st), -1);
	CHECK_INT(errno, ENOENT);
	CHECK_CONTAINS(status(&fc, CORE_STATS), "hits 0\n");
	fixture_core_close(&fc);
}

static void
core_made_size_tells_a_made_part_and_its_size(void)
{
	struct fixture_core fc;
	struct cache_key key;
	uint64_t size = 0;

	fixture_core_open(&fc, NULL);
	CHECK_INT(part_key(&fc, "fake/box/size=3.stl", &key), 0);
	CHECK(!core_made_size(fc.core, &key, FMT_STL, &size));
	key = make(&fc, "fake/box/size=3.stl");
	CHECK(core_made_size(fc.core, &key, FMT_STL, &size));
	CHECK_INT(size, 684);
	CHECK(!core_made_size(fc.core, &key, FMT_STEP, &size));
	fixture_core_close(&fc);
}

TAP_MAIN(
	TAP_CASE(core_open_loads_the_library_and_opens_the_configured_cache),
	TAP_CASE(core_open_of_a_library_that_is_not_there_fails_with_its_error),
	TAP_CASE(the_stats_count_hits_misses_and_jobs),
	TAP_CASE(the_stats_count_failed_jobs_and_remembered_failures),
	TAP_CASE(the_stats_count_the_library),
	TAP_CASE(the_jobs_text_lists_a_running_job_until_it_is_done),
	TAP_CASE(the_version_text_names_partsfs_the_library_and_the_cache),
	TAP_CASE(the_errors_list_a_library_problem_line_by_line),
	TAP_CASE(the_errors_list_failures_newest_first_then_library_problems),
	TAP_CASE(the_errors_keep_the_newest_library_problems_when_large),
	TAP_CASE(the_errors_drop_only_the_oldest_library_problems_when_large),
	TAP_CASE(core_error_for_gives_the_last_failure_of_a_path),
	TAP_CASE(core_set_library_replaces_the_snapshot),
	TAP_CASE(core_set_library_makes_an_edited_module_change_the_key_at_once),
	TAP_CASE(core_part_key_of_an_engine_of_unknown_version_would_block),
	TAP_CASE(core_open_made_opens_a_made_part_and_counts_a_hit),
	TAP_CASE(core_made_digest_is_the_hash_of_the_part_served),
	TAP_CASE(core_open_made_of_a_part_not_made_is_enoent),
	TAP_CASE(core_made_size_tells_a_made_part_and_its_size),
)
