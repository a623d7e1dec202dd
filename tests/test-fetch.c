/* test-fetch.c -- the core's one request path for a part (core_fetch):
 * a part in the cache at once, a part not made by one engine run however
 * many ask, done called once from a thread of the core, failures (the
 * engine's, remembered; planning's, recorded), a module edited while its
 * part is made, a part evicted before it is opened, requests ahead of a
 * reader, planning that waits for an engine's version, pins, stopping.
 * The engine is the test engine tests/fake-engine as a `command`
 * executor (see fixture_core_open). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "tap.h"

/* Wait no longer than this for any fetch (a hang is a failure, not a
 * hung test). */
#define WAIT 20.0

#define PAIRS FIXTURE_PAIRS

/* What a done callback heard. */
struct heard {
	atomic_int calls;
	enum fetch_state state;
	pthread_t thread;
};

static void
hear(void *arg, struct fetch *f)
{
	struct heard *h = arg;

	h->state = fetch_state(f);
	h->thread = pthread_self();
	atomic_fetch_add(&h->calls, 1);
}

static bool
heard_once(void *arg)
{
	struct heard *h = arg;

	return atomic_load(&h->calls) > 0;
}

/* Wait for the callback, then as long again as a second call would
 * take to come: the number of calls. */
static int
calls_of(struct heard *h)
{
	struct timespec ts = { 0, 200000000 };

	fixture_wait_for(heard_once, h, WAIT);
	nanosleep(&ts, NULL);
	return atomic_load(&h->calls);
}

static void
pause_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) *
	    1e9) };

	nanosleep(&ts, NULL);
}

/* The bytes of the file open as `fd` (closed here) from its start, read
 * with pread, or with read from where it is (caller frees), or NULL. */
static char *
read_all(int fd, bool from_start, size_t *len)
{
	struct buf b = BUF_INIT;
	char chunk[4096];
	ssize_t n;

	if (fd == -1)
		return NULL;
	while ((n = from_start ? pread(fd, chunk, sizeof chunk,
	    (off_t)b.len) : read(fd, chunk, sizeof chunk)) > 0)
		buf_add(&b, chunk, (size_t)n);
	close(fd);
	*len = b.len;
	buf_addc(&b, '\0');
	return buf_steal(&b);
}

/* The bytes of a finished fetch, from the start of a descriptor of
 * fetch_fd (caller frees), or NULL. */
static char *
fetched(struct fetch *f, size_t *len)
{
	return read_all(fetch_fd(f), true, len);
}

/* The side of the box a binary STL of the test engine holds (its largest
 * coordinate), or -1 when it is not one. */
static double
stl_side(const char *data, size_t len)
{
	uint32_t n;
	float v, side = -1;

	if (data == NULL || len < 84)
		return -1;
	memcpy(&n, data + 80, sizeof n);
	if (len != 84 + 50 * (size_t)n)
		return -1;
	for (size_t t = 0; t < n; t++) {
		for (size_t c = 0; c < 9; c++) {
			memcpy(&v, data + 84 + 50 * t + 12 + 4 * c, sizeof v);
			if (v > side)
				side = v;
		}
	}
	return side;
}

/* The name in the header of an STL of the test engine (static). */
static const char *
stl_name(const char *data, size_t len)
{
	static char name[81];

	if (data == NULL || len < 80)
		return "(no part)";
	memcpy(name, data, 80);
	name[80] = '\0';
	return name;
}

struct lines {
	const char *path;
	int n;
};

static bool
has_lines(void *arg)
{
	struct lines *l = arg;

	return fixture_lines(l->path) >= l->n;
}

/* Wait until the engine has started its `n`th run, and a little more:
 * its worker records its process group just after it starts. */
static bool
engine_started(struct fixture_core *fc, int n)
{
	struct lines l = { fc->counter, n };
	bool ok = fixture_wait_for(has_lines, &l, WAIT);

	pause_s(0.3);
	return ok;
}

/* The text of a core_status (static). */
static const char *
status(struct fixture_core *fc, enum core_status what)
{
	static struct buf b;

	buf_reset(&b);
	core_status(fc->core, what, &b);
	return buf_str(&b);
}

/* A part in the cache. */

static void
a_part_in_the_cache_is_answered_at_once_without_calling_done(void)
{
	struct fixture_core fc;
	struct heard h = { 0 };
	struct fetch *f;
	char *path;
	int r;

	fixture_core_open(&fc, NULL);
	path = fixture_box_path(PAIRS("size", "7", "counter", fc.counter),
	    "stl");
	CHECK_INT(fixture_fetch_wait(&fc, path, WAIT, NULL), FETCH_DONE);
	r = fixture_fetch(&fc, path, 0, hear, &h, &f);
	CHECK_INT(r, 1);
	CHECK_INT(fetch_state(f), FETCH_DONE);
	pause_s(0.2);
	CHECK_INT(atomic_load(&h.calls), 0);
	CHECK_INT(fixture_core_runs(&fc), 1);
	fetch_unref(f);
	free(path);
	fixture_core_close(&fc);
}

static void
a_part_in_the_cache_reads_as_its_bytes_with_its_size(void)
{
	struct fixture_core fc;
	struct cache_key key;
	struct fetch *f;
	char *path, *bytes, *blob, *stored;
	size_t len, stored_len;

	fixture_core_open(&fc, NULL);
	path = fixture_box_path(PAIRS("size", "7"), "stl");
	CHECK_INT(fixture_fetch_wait(&fc, path, WAIT, NULL), FETCH_DONE);
	CHECK_INT(fixture_fetch(&fc, path, 0, NULL, NULL, &f), 1);
	bytes = fetched(f, &len);
	CHECK(bytes != NULL);
	CHECK_INT(len, 684);
	CHECK_NUM(stl_side(bytes, len), 7);
	CHECK(fetch_stat(f) != NULL);
	CHECK_INT(fetch_stat(f)->st_size, 684);
	/* the very bytes of the cache's file */
	CHECK(fetch_key(f, &key));
	blob = cache_blob_path(fc.core->cache, &key, FMT_STL);
	stored = fixture_read(blob, &stored_len);
	CHECK(stored != NULL && stored_len == len &&
	    memcmp(stored, bytes, len) == 0);
	free(stored);
	free(blob);
	free(bytes);
	fetch_unref(f);
	free(path);
	fixture_core_close(&fc);
}

static void
every_descriptor_of_fetch_fd_reads_the_part_from_its_start(void)
{
	struct fixture_core fc;
	struct fetch *f, *g;
	char *path, *one, *two, *three;
	size_t len1 = 0, len2 = 0, len3 = 0;
	enum fetch_state st;
	int r;

	fixture_core_open(&fc, NULL);
	path = fixture_box_path(PAIRS("size", "7"), "stl");
	st = fixture_fetch_wait(&fc, path, WAIT, &f);
	r = fixture_fetch(&fc, path, 0, NULL, NULL, &g);
	/* "a new descriptor of the made part": each read with read(2), as
	 * a front end that copies it does, one after the other */
	one = read_all(fetch_fd(f), false, &len1);
	two = read_all(fetch_fd(f), false, &len2);
	three = read_all(fetch_fd(g), false, &len3);
	free(one);
	free(two);
	free(three);
	fetch_unref(g);
	fetch_unref(f);
	free(path);
	fixture_core_close(&fc);
	CHECK_INT(st, FETCH_DONE);
	CHECK_INT(r, 1);
	CHECK_INT(len1, 684);
	CHECK_MSG(len2 == 684, "a second descriptor of one fetch read %zu "
	    "bytes of 684", len2);
	CHECK_INT(len3, 684);
}

static void
fetches_that_joined_one_job_read_the_part_each_from_its_start(void)
{
	struct fixture_core fc;
	struct fetch *f[2];
	enum fetch_state st[2];
	char *path, *bytes[2];
	size_t len[2] = { 0, 0 };
	int r[2];

	fixture_core_open(&fc, NULL);
	path = fixture_box_path(PAIRS("size", "3", "seconds", "0.5"), "stl");
	for (int i = 0; i < 2; i++)
		r[i] = fixture_fetch(&fc, path, 0, NULL, NULL, &f[i]);
	for (int i = 0; i < 2; i++) {
		st[i] = fetch_wait(f[i], WAIT);
		bytes[i] = read_all(fetch_fd(f[i]), false, &len[i]);
	}
	for (int i = 0; i < 2; i++) {
		free(bytes[i]);
		fetch_unref(f[i]);
	}
	free(path);
	fixture_core_close(&fc);
	for (int i = 0; i < 2; i++) {
		CHECK_INT(r[i], 0);
		CHECK_INT(st[i], FETCH_DONE);
	}
	CHECK_INT(len[0], 684);
	CHECK_MSG(len[1] == 684, "the second fetch read %zu bytes of 684",
	    len[1]);
}

/* A part not made. */

static void
a_part_not_made_calls_done_once_from_another_thread(void)
{
	struct fixture_core fc;
	struct heard h = { 0 };
	struct fetch *f;
	char *path;

	fixture_core_open(&fc, NULL);
	path = fixture_box_path(PAIRS("seconds", "0.2", "counter",
	    fc.counter), "stl");
	CHECK_INT(fixture_fetch(&fc, path, 0, hear, &h, &f), 0);
	CHECK_INT(calls_of(&h), 1);
	CHECK_INT(h.state, FETCH_DONE);
	CHECK(!pthread_equal(h.thread, pthread_self()));
	CHECK_INT(fetch_wait(f, WAIT), FETCH_DONE);
	fetch_unref(f);
	free(path);
	fixture_core_close(&fc);
}

static void
a_part_not_made_is_made_by_one_run_and_waited_for_without_done(void)
{
	struct fixture_core fc;
	struct fetch *f;
	char *path, *bytes;
	size_t len;

	fixture_core_open(&fc, NULL);
	path = fixture_box_path(PAIRS("size", "5", "seconds", "0.2",
	    "counter", fc.counter), "stl");
	CHECK_INT(fixture_fetch(&fc, path, 0, NULL, NULL, &f), 0);
	CHECK_INT(fetch_wait(f, WAIT), FETCH_DONE);
	bytes = fetched(f, &len);
	CHECK_NUM(stl_side(bytes, len), 5);
	CHECK_INT(fetch_stat(f)->st_size, 684);
	CHECK_INT(fixture_core_runs(&fc), 1);
	free(bytes);
	fetch_unref(f);
	free(path);
	fixture_core_close(&fc);
}

#define NTHREADS 16

struct asker {
	struct fixture_core *fc;
	const char *path;
	pthread_barrier_t *barrier;
	enum fetch_state state;
	struct cache_key key;
	bool keyed;
	double side;
};

static void *
ask(void *arg)
{
	struct asker *a = arg;
	struct fetch *f;
	char *bytes;
	size_t len;

	pthread_barrier_wait(a->barrier);
	fixture_fetch(a->fc, a->path, 0, NULL, NULL, &f);
	a->state = fetch_wait(f, WAIT);
	a->keyed = fetch_key(f, &a->key);
	bytes = fetched(f, &len);
	a->side = stl_side(bytes, len);
	free(bytes);
	fetch_unref(f);
	return NULL;
}

static void
sixteen_fetches_of_a_part_not_made_share_one_engine_run(void)
{
	struct fixture_core fc;
	struct asker a[NTHREADS];
	pthread_t t[NTHREADS];
	pthread_barrier_t barrier;
	char *path;

	fixture_core_open(&fc, &(struct fixture_core_opts){ .workers = 4 });
	path = fixture_box_path(PAIRS("size", "3", "seconds", "0.5",
	    "counter", fc.counter), "stl");
	pthread_barrier_init(&barrier, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++) {
		memset(&a[i], 0, sizeof a[i]);
		a[i].fc = &fc;
		a[i].path = path;
		a[i].barrier = &barrier;
		if (pthread_create(&t[i], NULL, ask, &a[i]) != 0)
			abort();
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&barrier);
	for (int i = 0; i < NTHREADS; i++) {
		CHECK_INT(a[i].state, FETCH_DONE);
		CHECK(a[i].keyed);
		CHECK_STR(a[i].key.hex, a[0].key.hex);
		CHECK_NUM(a[i].side, 3);
	}
	CHECK_INT(fixture_core_runs(&fc), 1);
	CHECK_CONTAINS(status(&fc, CORE_STATS), "\njobs_run 1\n");
	free(path);
	fixture_core_close(&fc);
}

static void
a_fetch_dropped_before_its_end_still_makes_the_part_and_calls_done_once(void)
{
	struct fixture_core fc;
	struct heard h = { 0 };
	struct cache_key key;
	struct fetch *f;
	uint64_t size = 0;
	char *path;

	fixture_core_open(&fc, NULL);
	path = fixture_box_path(PAIRS("seconds", "0.5", "counter",
	    fc.counter), "stl");
	CHECK_INT(fixture_fetch(&fc, path, 0, hear, &h, &f), 0);
	CHECK(fetch_key(f, &key));
	fetch_unref(f);
	CHECK_INT(calls_of(&h), 1);
	CHECK_INT(h.state, FETCH_DONE);
	CHECK(core_made_size(fc.core, &key, FMT_STL, &size));
	CHECK_INT(size, 684);
	free(path);
	fixture_core_close(&fc);
}

static void
a_fetch_names_its_canonical_path_and_its_engine(void)
{
	struct fixture_core fc;
	struct fetch *f;

	fixture_core_open(&fc, NULL);
	CHECK_INT(fixture_fetch_wait(&fc, "fake/box/note=n,size=2.0.stl", WAIT,
	    &f), FETCH_DONE);
	CHECK_STR(fetch_path(f), "fake/box/size=2,note=n.stl");
	CHECK_STR(fetch_executor(f), "fake");
	CHECK(fetch_elapsed(f) > 0);
	fetch_unref(f);
	fixture_core_close(&fc);
}

/* Failures. */

static void
an_engine_that_fails_fails_the_fetch_with_its_report(void)
{
	struct fixture_core fc;
	struct fetch *f;
	char *path;

	fixture_core_open(&fc, NULL);
	path = fixture_box_path(PAIRS("mode", "fail", "counter", fc.counter),
	    "stl");
	CHECK_INT(fixture_fetch_wait(&fc, path, WAIT, &f), FETCH_FAILED);
	CHECK_INT(fetch_errno(f), EIO);
	CHECK_CONTAINS(fetch_error(f), "fake-engine: giving up as asked");
	CHECK(!fetch_system(f));
	CHECK_INT(fetch_fd(f), -1);
	CHECK(fetch_stat(f) == NULL);
	fetch_unref(f);
	free(path);
	fixture_core_close(&fc);
}

static void
a_part_that_failed_fails_again_at_once_without_a_run(void)
{
	struct fixture_core fc;
	struct heard h = { 0 };
	struct fetch *f;
	char *path;

	fixture_core_open(&fc, NULL);
	path = fixture_box_path(PAIRS("mode", "fail", "counter", fc.counter),
	    "stl");
	CHECK_INT(fixture_fetch_wait(&fc, path, WAIT, NULL), FETCH_FAILED);
	CHECK_INT(fixture_fetch(&fc, path, 0, hear, &h, &f), 1);
	CHECK_INT(fetch_state(f), FETCH_FAILED);
	CHECK_INT(fetch_errno(f), EIO);
	CHECK_CONTAINS(fetch_error(f), "giving up as asked");
	CHECK(!fetch_system(f));
	pause_s(0.2);
	CHECK_INT(atomic_load(&h.calls), 0);
	CHECK_INT(fixture_core_runs(&fc), 1);
	CHECK_CONTAINS(status(&fc, CORE_STATS), "\njobs_run 1\n");
	fetch_unref(f);
	free(path);
	fixture_core_close(&fc);
}

#define NO_ENGINE "/nonexistent/fake-cad"

static void
a_part_whose_engine_is_not_installed_fails_at_once_with_enoexec_naming_it(void)
{
	struct fixture_core fc;
	struct heard h = { 0 };
	struct fetch *f;

	fixture_core_open(&fc, &(struct fixture_core_opts){
	    .program = NO_ENGINE });
	CHECK_INT(fixture_fetch(&fc, "fake/box/default.stl", 0, hear, &h, &f),
	    1);
	CHECK_INT(fetch_state(f), FETCH_FAILED);
	CHECK_INT(fetch_errno(f), ENOEXEC);
	CHECK_CONTAINS(fetch_error(f), NO_ENGINE);
	CHECK(!fetch_system(f));
	pause_s(0.2);
	CHECK_INT(atomic_load(&h.calls), 0);
	fetch_unref(f);
	fixture_core_close(&fc);
}

static void
a_part_whose_engine_is_not_installed_is_recorded_with_the_errors(void)
{
	struct fixture_core fc;
	struct fetch *f;
	char *msg;

	fixture_core_open(&fc, &(struct fixture_core_opts){
	    .program = NO_ENGINE });
	CHECK_INT(fixture_fetch(&fc, "fake/box/default.stl", 0, NULL, NULL,
	    &f), 1);
	fetch_unref(f);
	CHECK_CONTAINS(status(&fc, CORE_ERRORS), " fake/box/default.stl\n");
	CHECK_CONTAINS(status(&fc, CORE_ERRORS), NO_ENGINE);
	msg = core_error_for(fc.core, "fake/box/default.stl");
	CHECK_CONTAINS(msg, NO_ENGINE);
	free(msg);
	fixture_core_close(&fc);
}

static void
a_part_nothing_makes_fails_at_once_with_enoent_and_is_recorded(void)
{
	struct fixture_core fc;
	struct library *lib;
	struct perr e = { 0 };
	struct pnode n;
	struct fetch *f;
	struct buf path = BUF_INIT;
	int r, fmt;

	fixture_core_open(&fc, NULL);
	lib = core_library(fc.core);
	CHECK_INT(pnode_lookup(lib, "fake/box/default.stl", &n, &e), 0);
	/* a format the class does not offer: nothing makes it */
	for (fmt = 0; fmt < FMT_JSON; fmt++) {
		if (!(n.cls->formats & FMT_BIT(fmt)))
			break;
	}
	CHECK(fmt < FMT_JSON);
	n.fmt = (enum format)fmt;
	pnode_path(&n, &path);
	r = core_fetch(fc.core, &n, 0, NULL, NULL, &f);
	pnode_clear(&n);
	library_unref(lib);
	CHECK_INT(r, 1);
	CHECK_INT(fetch_state(f), FETCH_FAILED);
	CHECK_INT(fetch_errno(f), ENOENT);
	CHECK_CONTAINS(fetch_error(f), "nothing makes");
	CHECK_CONTAINS(status(&fc, CORE_ERRORS), buf_str(&path));
	CHECK_CONTAINS(status(&fc, CORE_ERRORS), "nothing makes");
	fetch_unref(f);
	buf_free(&path);
	fixture_core_close(&fc);
}

/* A module edited while its part is made. */

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

static void
a_module_edited_while_its_engine_runs_is_made_again_from_the_edit(void)
{
	struct fixture_core fc;
	struct cache_key first, last;
	struct fetch *f;
	char *path, *bytes;
	size_t len;

	fixture_core_open(&fc, NULL);
	save(fc.script, "box script A\n");
	/* the test engine names the part after its script's first line,
	 * read at the end of its second of work */
	path = fixture_box_path(PAIRS("mode", "script", "seconds", "1",
	    "counter", fc.counter), "stl");
	CHECK_INT(fixture_fetch(&fc, path, 0, NULL, NULL, &f), 0);
	CHECK(fetch_key(f, &first));
	CHECK(engine_started(&fc, 1));
	save(fc.script, "box script B\n");
	CHECK_INT(fetch_wait(f, WAIT), FETCH_DONE);
	bytes = fetched(f, &len);
	CHECK_STR(stl_name(bytes, len), "fake-engine box script B");
	CHECK_INT(fetch_replans(f), 1);
	CHECK_INT(fixture_core_runs(&fc), 2);
	/* under the key of the edited module, nothing under the first */
	CHECK(fetch_key(f, &last));
	CHECK(strcmp(first.hex, last.hex) != 0);
	CHECK(!core_made_size(fc.core, &first, FMT_STL, &(uint64_t){ 0 }));
	free(bytes);
	fetch_unref(f);
	free(path);
	fixture_core_close(&fc);
}

struct editor {
	const char *script;
	atomic_bool stop;
};

static void *
edit_all_the_time(void *arg)
{
	struct editor *ed = arg;
	char text[64];

	for (int i = 0; !atomic_load(&ed->stop); i++) {
		snprintf(text, sizeof text, "box script, edit %d\n", i);
		save(ed->script, text);
		pause_s(0.05);
	}
	return NULL;
}

static void
a_module_edited_in_every_run_fails_after_three_replans_and_is_recorded(void)
{
	struct fixture_core fc;
	struct editor ed = { 0 };
	struct fetch *f;
	pthread_t t;
	enum fetch_state st;
	char *path;

	fixture_core_open(&fc, NULL);
	path = fixture_box_path(PAIRS("mode", "script", "seconds", "0.3",
	    "counter", fc.counter), "stl");
	ed.script = fc.script;
	if (pthread_create(&t, NULL, edit_all_the_time, &ed) != 0)
		abort();
	fixture_fetch(&fc, path, 0, NULL, NULL, &f);
	st = fetch_wait(f, WAIT);
	atomic_store(&ed.stop, true);
	pthread_join(t, NULL);
	CHECK_INT(st, FETCH_FAILED);
	CHECK_INT(fetch_errno(f), EIO);
	CHECK(!fetch_system(f));
	CHECK_INT(fetch_replans(f), 3);
	CHECK_CONTAINS(fetch_error(f), "changed while the part was being made");
	CHECK_CONTAINS(status(&fc, CORE_ERRORS), path);
	CHECK_CONTAINS(status(&fc, CORE_ERRORS), "changed while the part was "
	    "being made");
	fetch_unref(f);
	free(path);
	fixture_core_close(&fc);
}

static void
a_part_gone_in_a_live_edit_while_it_was_made_fails_with_enoent(void)
{
	struct fixture_core fc;
	struct fetch *f;
	char *path, *blt, *gone;

	fixture_core_open(&fc, NULL);
	path = fixture_box_path(PAIRS("mode", "script", "seconds", "1",
	    "counter", fc.counter), "stl");
	CHECK_INT(fixture_fetch(&fc, path, 0, NULL, NULL, &f), 0);
	CHECK(engine_started(&fc, 1));
	/* the class is renamed, and its script edited: the job is stale,
	 * and the library it is planned again from has no such part */
	blt = xasprintf("%s/data/fake.blt", fc.dir);
	gone = fixture_read(blt, NULL);
	CHECK(gone != NULL && strstr(gone, "id: box") != NULL);
	memcpy(strstr(gone, "id: box"), "id: bix", 7);
	save(blt, gone);
	free(gone);
	gone = xasprintf("%s/fake/fake/fake.base", fc.dir);
	save(gone, "- {filename: box.txt, type: script, author: t "
	    "<t@example.org>, license: MIT <x>, classids: [bix]}\n");
	free(gone);
	save(fc.script, "box script, edited\n");
	core_set_library(fc.core, fixture_load_conf(fc.dir, fc.core->conf));
	CHECK_INT(fetch_wait(f, WAIT), FETCH_FAILED);
	CHECK_INT(fetch_errno(f), ENOENT);
	CHECK_CONTAINS(fetch_error(f), "live edit");
	fetch_unref(f);
	free(blt);
	free(path);
	fixture_core_close(&fc);
}

/* A part evicted before it is opened. */

static void
a_part_whose_file_went_from_behind_the_index_is_made_again(void)
{
	struct fixture_core fc;
	struct cache_key key;
	struct fetch *f;
	char *path, *blob, *bytes;
	size_t len;

	fixture_core_open(&fc, NULL);
	path = fixture_box_path(PAIRS("size", "4", "counter", fc.counter),
	    "stl");
	CHECK_INT(fixture_fetch_wait(&fc, path, WAIT, &f), FETCH_DONE);
	CHECK(fetch_key(f, &key));
	fetch_unref(f);
	blob = cache_blob_path(fc.core->cache, &key, FMT_STL);
	CHECK(unlink(blob) == 0);
	CHECK_INT(fixture_fetch_wait(&fc, path, WAIT, &f), FETCH_DONE);
	bytes = fetched(f, &len);
	CHECK_NUM(stl_side(bytes, len), 4);
	CHECK_INT(fixture_core_runs(&fc), 2);
	CHECK(access(blob, F_OK) == 0);
	free(bytes);
	fetch_unref(f);
	free(blob);
	free(path);
	fixture_core_close(&fc);
}

/* Is a lock request on the file of inode `ino` waiting (a "->" line of
 * /proc/locks)? */
static bool
lock_waited_for(void *arg)
{
	unsigned long ino = *(unsigned long *)arg;
	char line[256], *s;
	bool found = false;
	FILE *fp;

	if ((fp = fopen("/proc/locks", "r")) == NULL)
		return false;
	while (!found && fgets(line, sizeof line, fp) != NULL) {
		if (strstr(line, "->") == NULL)
			continue;
		/* ... pid maj:min:inode start end */
		for (s = strtok(line, " \t\n"); s != NULL;
		    s = strtok(NULL, " \t\n")) {
			char *colon = strrchr(s, ':');
			if (colon != NULL && colon != strchr(s, ':') &&
			    strtoul(colon + 1, NULL, 10) == ino)
				found = true;
		}
	}
	fclose(fp);
	return found;
}

struct opener {
	struct fixture_core *fc;
	const char *path;
	struct fetch *f;
	int r;
};

static void *
open_part(void *arg)
{
	struct opener *o = arg;

	o->r = fixture_fetch(o->fc, o->path, 0, NULL, NULL, &o->f);
	return NULL;
}

/*
 * Make the part at `path`, then fetch it again while another process (as
 * far as locks go: this thread) evicts it: the fetch finds it in the
 * index, opens its file and waits for the evictor's lock, which is let go
 * once the file is removed.  The fetch, once core_fetch has returned
 * (*r what it returned), or NULL when the window was not met.
 */
static struct fetch *
fetch_evicted_as_it_is_opened(struct fixture_core *fc, const char *path,
    int *r)
{
	struct opener o = { fc, path, NULL, -1 };
	struct cache_key key;
	struct fetch *f;
	struct stat st;
	unsigned long ino;
	pthread_t t;
	bool met;
	char *blob;
	int fd;

	if (fixture_fetch_wait(fc, path, WAIT, &f) != FETCH_DONE ||
	    !fetch_key(f, &key))
		return NULL;
	fetch_unref(f);
	blob = cache_blob_path(fc->core->cache, &key, FMT_STL);
	if ((fd = open(blob, O_RDONLY | O_CLOEXEC)) == -1 ||
	    flock(fd, LOCK_EX) == -1 || fstat(fd, &st) == -1)
		pf_fatal("%s: %s", blob, strerror(errno));
	ino = (unsigned long)st.st_ino;
	if (pthread_create(&t, NULL, open_part, &o) != 0)
		abort();
	met = fixture_wait_for(lock_waited_for, &ino, 5);
	unlink(blob);
	close(fd);
	pthread_join(t, NULL);
	free(blob);
	*r = o.r;
	if (!met) {
		tap_note("the fetch did not wait for the evictor's lock");
		fetch_unref(o.f);
		return NULL;
	}
	return o.f;
}

static void
a_part_evicted_between_lookup_and_open_is_asked_for_again_and_made(void)
{
	struct fixture_core fc;
	struct fetch *f;
	char *path, *bytes;
	size_t len;
	int r;

	fixture_core_open(&fc, NULL);
	path = fixture_box_path(PAIRS("size", "6", "counter", fc.counter),
	    "stl");
	f = fetch_evicted_as_it_is_opened(&fc, path, &r);
	CHECK(f != NULL);
	/* not in the cache after all: made, by a job */
	CHECK_INT(r, 0);
	CHECK_INT(fetch_wait(f, WAIT), FETCH_DONE);
	bytes = fetched(f, &len);
	CHECK_NUM(stl_side(bytes, len), 6);
	CHECK_INT(fixture_core_runs(&fc), 2);
	free(bytes);
	fetch_unref(f);
	free(path);
	fixture_core_close(&fc);
}

static void
a_part_evicted_as_it_is_opened_is_a_miss_not_a_replan(void)
{
	struct fixture_core fc;
	enum fetch_state st = FETCH_FAILED;
	struct fetch *f;
	char *path;
	int r, replans = -1;

	fixture_core_open(&fc, NULL);
	path = fixture_box_path(PAIRS("size", "6"), "stl");
	if ((f = fetch_evicted_as_it_is_opened(&fc, path, &r)) != NULL) {
		st = fetch_wait(f, WAIT);
		replans = fetch_replans(f);
		fetch_unref(f);
	}
	free(path);
	fixture_core_close(&fc);
	CHECK_INT(st, FETCH_DONE);
	/* the lookup opens the part as it checks it: a part gone is a miss
	 * that its job makes, not a second request */
	CHECK_INT(replans, 0);
}

/* Ahead of a reader. */

struct order {
	pthread_mutex_t lock;
	char seq[64];
	int n;
};

struct order_note {
	struct order *order;
	char name;
};

static void
note_order(void *arg, struct fetch *f)
{
	struct order_note *on = arg;

	(void)f;
	pthread_mutex_lock(&on->order->lock);
	on->order->seq[on->order->n++] = on->name;
	pthread_mutex_unlock(&on->order->lock);
}

static bool
three_noted(void *arg)
{
	struct order *o = arg;
	bool r;

	pthread_mutex_lock(&o->lock);
	r = o->n == 3;
	pthread_mutex_unlock(&o->lock);
	return r;
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
a_fetch_ahead_waits_behind_normal_requests(void)
{
	static const char *const sizes = "123";
	static const unsigned flags[] = { 0, FETCH_AHEAD, 0 };
	struct fixture_core fc;
	struct order order = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct order_note notes[3];
	struct fetch *f[3];
	char *paths[3];

	/* the only worker is busy with the first meanwhile */
	fixture_core_open(&fc, &(struct fixture_core_opts){ .workers = 1 });
	for (int i = 0; i < 3; i++) {
		char size[2] = { sizes[i], '\0' };
		paths[i] = fixture_box_path(PAIRS("size", size, "seconds",
		    i == 0 ? "1" : "0.05"), "stl");
		notes[i].order = &order;
		notes[i].name = "ABC"[i];
	}
	for (int i = 0; i < 3; i++) {
		CHECK_INT(fixture_fetch(&fc, paths[i], flags[i], note_order,
		    &notes[i], &f[i]), 0);
		if (i == 0) {
			struct fetch_wait_state w = { f[0], FETCH_RUNNING };
			CHECK(fixture_wait_for(fetch_in_state, &w, WAIT));
		}
	}
	for (int i = 0; i < 3; i++)
		CHECK_INT(fetch_wait(f[i], WAIT), FETCH_DONE);
	CHECK(fixture_wait_for(three_noted, &order, WAIT));
	CHECK_STR(order.seq, "ACB");
	CHECK_CONTAINS(status(&fc, CORE_STATS), "\njobs_prefetched 1\n");
	for (int i = 0; i < 3; i++) {
		fetch_unref(f[i]);
		free(paths[i]);
	}
	fixture_core_close(&fc);
}

/* An engine whose version is asked with a query that takes a second and
 * counts itself in tmp/asked; it makes parts as the test engine. */
static char *
slow_version_engine(const char *tmp)
{
	char *path = xasprintf("%s/versioned-engine", tmp);
	/* the query's end and each job's start, in seconds, in files */
	char *text = xasprintf("#!/bin/sh\nif [ \"$1\" = --version ]; then\n"
	    "\techo asked >>%s/asked\n\tsleep 1\n\techo 'fake 1.0'\n"
	    "\tdate +%%s.%%N >%s/answered\n"
	    "\texit 0\nfi\ndate +%%s.%%N >>%s/started\n"
	    "exec %s \"$@\"\n", tmp, tmp, tmp, fixture_fake_engine());

	fixture_write_exec(path, text);
	free(text);
	return path;
}

static void
a_fetch_ahead_gives_up_at_once_when_its_engine_version_is_not_known(void)
{
	struct fixture_core fc;
	struct heard h = { 0 };
	struct fetch *f;
	char *engine, *asked, *msg;
	const char *tmp = tap_tmpdir();

	engine = slow_version_engine(tmp);
	asked = xasprintf("%s/asked", tmp);
	fixture_core_open(&fc, &(struct fixture_core_opts){
	    .program = engine, .version = true });
	CHECK_INT(fixture_fetch(&fc, "fake/box/default.stl", FETCH_AHEAD,
	    hear, &h, &f), 1);
	CHECK_INT(fetch_state(f), FETCH_FAILED);
	CHECK_INT(fetch_errno(f), EWOULDBLOCK);
	CHECK(!fetch_system(f));
	pause_s(0.2);
	CHECK_INT(atomic_load(&h.calls), 0);
	CHECK_INT(fixture_lines(asked), 0);
	/* not a failure of the part's: not shown */
	msg = core_error_for(fc.core, "fake/box/default.stl");
	CHECK_MSG(msg == NULL, "recorded: %s", msg);
	fetch_unref(f);
	free(asked);
	free(engine);
	fixture_core_close(&fc);
}

/* An engine whose version query (a second) and whose parts (`seconds`)
 * take time: the fetch asks the version beside the engine, so that the
 * part takes about the longer of the two, not their sum. */
static void
a_fetch_of_an_engine_of_unknown_version_asks_it_beside_its_job(void)
{
	struct fixture_core fc;
	struct heard h = { 0 };
	struct fetch *f;
	char *engine, *asked, *bytes;
	const char *tmp = tap_tmpdir();
	double t0, took;
	size_t len;
	int r;

	engine = slow_version_engine(tmp);
	asked = xasprintf("%s/asked", tmp);
	fixture_core_open(&fc, &(struct fixture_core_opts){
	    .program = engine, .version = true });
	t0 = now_s();
	r = fixture_fetch(&fc, "fake/box/seconds=1,size=8.stl", 0, hear, &h,
	    &f);
	took = now_s() - t0;
	CHECK_INT(r, 0);
	/* the query takes a second: not on this thread, nor before the
	 * job (below 0.9 s: valgrind and a loaded machine slow the rest) */
	CHECK_MSG(took < 0.9, "core_fetch took %.2fs", took);
	CHECK(fetch_state(f) == FETCH_QUEUED || fetch_state(f) ==
	    FETCH_RUNNING);
	CHECK_INT(fetch_wait(f, WAIT), FETCH_DONE);
	/* the job began before the query ended (its time, on a loaded
	 * machine or under valgrind, says less) */
	{
		char *p = xasprintf("%s/started", tmp);
		char *q = xasprintf("%s/answered", tmp);
		char *started = fixture_read(p, NULL);
		char *answered = fixture_read(q, NULL);
		CHECK_MSG(started != NULL && answered != NULL &&
		    strtod(started, NULL) < strtod(answered, NULL),
		    "the job began at %.40s, the query ended at %.40s",
		    started != NULL ? started : "(never)",
		    answered != NULL ? answered : "(never)");
		free(started);
		free(answered);
		free(p);
		free(q);
	}
	bytes = fetched(f, &len);
	CHECK_NUM(stl_side(bytes, len), 8);
	CHECK_INT(fixture_lines(asked), 1);
	CHECK_INT(calls_of(&h), 1);
	CHECK(!pthread_equal(h.thread, pthread_self()));
	free(bytes);
	fetch_unref(f);
	free(asked);
	free(engine);
	fixture_core_close(&fc);
}

/* The key plan_make gives `path` in fc's core: it asks the engine for
 * its version when no memo knows it. */
static int
asked_key(struct fixture_core *fc, const char *path, bool ask,
    struct cache_key *key)
{
	struct library *lib = core_library(fc->core);
	struct perr e = { 0 };
	struct plan plan;
	struct pnode n;
	int r;

	if (pnode_lookup(lib, path, &n, &e) != 0)
		pf_fatal("%s: %s", path, e.msg);
	r = ask ? plan_make(&fc->core->env, &n, &plan, &e) :
	    plan_make_now(&fc->core->env, &n, &plan, &e);
	if (r == 0) {
		*key = plan.key;
		plan_clear(&plan);
	}
	pnode_clear(&n);
	library_unref(lib);
	return r;
}

/* Key a part on a fresh cache with the version asked beside its job (a
 * core of its own is a process of its own: what it knows of versions is
 * its own); a second core sharing that cache knows the version from the
 * index, finds the part made and asks nothing; a third on a fresh cache
 * of its own asks the version first (plan_make, as before): the same
 * key.  `version_script`: the engine's answer to --version. */
static void
keys_agree(const char *version_script, const char *want_version)
{
	struct fixture_core fc;
	struct cache_key made, first, shared;
	struct fetch *f;
	const char *tmp = tap_tmpdir();
	const char *path = "fake/box/size=6.stl";
	char *engine = xasprintf("%s/versioned-engine", tmp);
	char *asked = xasprintf("%s/asked", tmp);
	char *cache = xasprintf("%s/shared-cache", tmp);
	char *text = xasprintf("#!/bin/sh\nif [ \"$1\" = --version ]; then\n"
	    "\techo asked >>%s\n%s\nfi\nexec %s \"$@\"\n", asked,
	    version_script, fixture_fake_engine());

	fixture_write_exec(engine, text);
	fixture_core_open(&fc, &(struct fixture_core_opts){
	    .program = engine, .version = true, .cache_dir = cache });
	fixture_fetch(&fc, path, FETCH_PLAN, NULL, NULL, &f);
	CHECK_INT(fetch_wait(f, WAIT), FETCH_DONE);
	CHECK(fetch_key(f, &made));
	/* the plan kept (for the resolution memo) is the part's */
	CHECK(fetch_plan(f) != NULL && !fetch_plan(f)->version_pending);
	if (fetch_plan(f) != NULL) {
		CHECK_STR(fetch_plan(f)->version, want_version);
		CHECK_STR(fetch_plan(f)->key.hex, made.hex);
	}
	fetch_unref(f);
	CHECK_INT(fixture_lines(asked), 1);
	fixture_core_close(&fc);

	/* another process on the same cache: no query, the part is there */
	fixture_core_open(&fc, &(struct fixture_core_opts){
	    .program = engine, .version = true, .cache_dir = cache });
	CHECK_INT(asked_key(&fc, path, false, &shared), 0);
	CHECK_STR(shared.hex, made.hex);
	CHECK_INT(fixture_fetch_wait(&fc, path, WAIT, &f), FETCH_DONE);
	fetch_unref(f);
	CHECK_INT(atomic_load(&fc.core->hits), 1);
	CHECK_INT(fixture_lines(asked), 1);
	fixture_core_close(&fc);

	/* a fresh cache, the version asked before anything is made */
	fixture_core_open(&fc, &(struct fixture_core_opts){
	    .program = engine, .version = true });
	CHECK_INT(asked_key(&fc, path, true, &first), 0);
	CHECK_STR(first.hex, made.hex);
	CHECK_INT(fixture_lines(asked), 2);
	fixture_core_close(&fc);
	free(cache);
	free(text);
	free(asked);
	free(engine);
}

/* Parts of one engine asked for at once on a fresh cache ask its version
 * once; an engine replaced by one of another version is asked again, and
 * its parts get keys of their own. */
static void
parts_at_once_on_a_fresh_cache_ask_the_version_once_per_engine(void)
{
	struct fixture_core fc;
	struct fetch *f[4], *again;
	struct cache_key before, after;
	const char *tmp = tap_tmpdir();
	char *engine, *asked, *text, *paths[4];

	engine = slow_version_engine(tmp);
	asked = xasprintf("%s/asked", tmp);
	fixture_core_open(&fc, &(struct fixture_core_opts){
	    .program = engine, .version = true, .workers = 4 });
	for (int i = 0; i < 4; i++) {
		paths[i] = xasprintf("fake/box/size=%d.stl", 11 + i);
		fixture_fetch(&fc, paths[i], 0, NULL, NULL, &f[i]);
	}
	for (int i = 0; i < 4; i++)
		CHECK_INT(fetch_wait(f[i], WAIT), FETCH_DONE);
	CHECK_INT(fixture_lines(asked), 1);
	CHECK(fetch_key(f[0], &before));
	/* a new engine (another size, another time): another version */
	text = xasprintf("#!/bin/sh\nif [ \"$1\" = --version ]; then\n"
	    "\techo asked >>%s\n\techo 'fake 2.0, rebuilt'\n\texit 0\n"
	    "fi\nexec %s \"$@\"\n", asked, fixture_fake_engine());
	fixture_write_exec(engine, text);
	CHECK_INT(fixture_fetch_wait(&fc, paths[0], WAIT, &again), FETCH_DONE);
	CHECK(fetch_key(again, &after));
	CHECK(strcmp(before.hex, after.hex) != 0);
	CHECK_INT(fixture_lines(asked), 2);
	fetch_unref(again);
	for (int i = 0; i < 4; i++) {
		fetch_unref(f[i]);
		free(paths[i]);
	}
	free(text);
	free(asked);
	free(engine);
	fixture_core_close(&fc);
}

static void
the_first_part_of_a_fresh_cache_has_the_key_of_a_process_that_asked_first(void)
{
	keys_agree("\techo 'fake 1.0'\n\texit 0", "fake 1.0");
}

/* A version query that fails is what version_query documents: the
 * version is "unknown (exit status N, ...)", remembered in the cache like
 * any other, and the part is made and keyed by it. */
static void
a_failing_version_query_keys_the_part_by_its_unknown_version(void)
{
	keys_agree("\techo broken >&2\n\texit 3",
	    "unknown (exit status 3, signal 0)");
}
/* Pins. */

static uint64_t
pinned(struct fixture_core *fc)
{
	struct cache_stats st = { 0 };

	cache_stats(fc->core->cache, &st);
	return st.pinned;
}

static bool
nothing_pinned(void *arg)
{
	return pinned(arg) == 0;
}

static void
the_key_is_pinned_from_planning_until_the_fetch_is_freed(void)
{
	struct fixture_core fc;
	struct cache_key key, recent;
	struct library *lib;
	struct pnode n;
	struct fetch *f;
	char *path;

	fixture_core_open(&fc, NULL);
	path = fixture_box_path(PAIRS("seconds", "0.5"), "stl");
	CHECK_INT(pinned(&fc), 0);
	CHECK_INT(fixture_fetch(&fc, path, 0, NULL, NULL, &f), 0);
	/* known, and pinned, while the engine runs */
	CHECK(fetch_key(f, &key));
	lib = core_library(fc.core);
	CHECK_INT(pnode_lookup(lib, path, &n, NULL), 0);
	CHECK_INT(core_part_key(fc.core, &n, &recent), 0);
	pnode_clear(&n);
	library_unref(lib);
	CHECK_STR(key.hex, recent.hex);
	CHECK_INT(pinned(&fc), 1);
	CHECK_INT(fetch_wait(f, WAIT), FETCH_DONE);
	CHECK_INT(pinned(&fc), 1);
	fetch_unref(f);
	/* (the fetch is freed once the core has let go of it too, just
	 * after it finished) */
	CHECK(fixture_wait_for(nothing_pinned, &fc, 5));
	free(path);
	fixture_core_close(&fc);
}

struct gone {
	struct fixture_core *fc;
	struct cache_key key;
};

static bool
pruned_away(void *arg)
{
	struct gone *g = arg;
	uint64_t size;

	cache_prune(g->fc->core->cache, NULL);
	return !core_made_size(g->fc->core, &g->key, FMT_STL, &size);
}

static void
a_pruned_cache_spares_the_part_of_a_referenced_fetch(void)
{
	struct fixture_core fc;
	struct gone g = { &fc, { { 0 } } };
	struct fetch *f;
	uint64_t size;
	char *path;

	/* a cache of a byte: whatever is not in use goes */
	fixture_core_open(&fc, &(struct fixture_core_opts){ .cache_max = 1 });
	path = fixture_box_path(PAIRS("size", "2"), "stl");
	CHECK_INT(fixture_fetch_wait(&fc, path, WAIT, &f), FETCH_DONE);
	CHECK(fetch_key(f, &g.key));
	CHECK(cache_prune(fc.core->cache, NULL) >= 0);
	CHECK(core_made_size(fc.core, &g.key, FMT_STL, &size));
	fetch_unref(f);
	/* (once the job is gone too: it holds the part while referenced) */
	CHECK(fixture_wait_for(pruned_away, &g, 5));
	free(path);
	fixture_core_close(&fc);
}

/* Stopping. */

static void
core_stop_fails_a_fetch_waiting_for_its_engine_as_a_system_failure(void)
{
	struct fixture_core fc;
	struct heard h = { 0 };
	struct cache_key key;
	struct fetch *f;
	char *path, *msg = NULL;

	fixture_core_open(&fc, NULL);
	path = fixture_box_path(PAIRS("mode", "hang", "counter", fc.counter),
	    "stl");
	CHECK_INT(fixture_fetch(&fc, path, 0, hear, &h, &f), 0);
	CHECK(engine_started(&fc, 1));
	CHECK_INT(fetch_state(f), FETCH_RUNNING);
	core_stop(fc.core);
	CHECK_INT(fetch_wait(f, WAIT), FETCH_FAILED);
	CHECK(fetch_system(f));
	CHECK_INT(calls_of(&h), 1);
	CHECK_INT(h.state, FETCH_FAILED);
	/* nothing remembered: asked again later, it is made */
	CHECK(fetch_key(f, &key));
	CHECK_INT(cache_failed(fc.core->cache, &key, fc.core->conf->timeout,
	    &msg), 0);
	fetch_unref(f);
	free(path);
	fixture_core_close(&fc);
}

/* Plans. */

static void
fetch_plan_keeps_the_plan_whose_key_is_the_fetch_key(void)
{
	struct fixture_core fc;
	const struct plan *p;
	struct cache_key key;
	struct fetch *f;
	char *path;

	fixture_core_open(&fc, NULL);
	path = fixture_box_path(PAIRS("size", "9"), "stl");
	CHECK_INT(fixture_fetch(&fc, path, FETCH_PLAN, NULL, NULL, &f), 0);
	CHECK_INT(fetch_wait(f, WAIT), FETCH_DONE);
	CHECK((p = fetch_plan(f)) != NULL);
	CHECK(fetch_key(f, &key));
	CHECK_STR(p->key.hex, key.hex);
	CHECK_STR(p->path, path);
	fetch_unref(f);
	/* found in the cache as well */
	CHECK_INT(fixture_fetch(&fc, path, FETCH_PLAN, NULL, NULL, &f), 1);
	CHECK((p = fetch_plan(f)) != NULL);
	CHECK_STR(p->key.hex, key.hex);
	fetch_unref(f);
	free(path);
	fixture_core_close(&fc);
}

static void
without_fetch_plan_no_plan_is_kept(void)
{
	struct fixture_core fc;
	struct fetch *f;

	fixture_core_open(&fc, NULL);
	CHECK_INT(fixture_fetch_wait(&fc, "fake/box/default.stl", WAIT, &f),
	    FETCH_DONE);
	CHECK(fetch_plan(f) == NULL);
	fetch_unref(f);
	fixture_core_close(&fc);
}

TAP_MAIN(
	TAP_CASE(a_part_in_the_cache_is_answered_at_once_without_calling_done),
	TAP_CASE(a_part_in_the_cache_reads_as_its_bytes_with_its_size),
	TAP_CASE(every_descriptor_of_fetch_fd_reads_the_part_from_its_start),
	TAP_CASE(fetches_that_joined_one_job_read_the_part_each_from_its_start),
	TAP_CASE(a_part_not_made_calls_done_once_from_another_thread),
	TAP_CASE(a_part_not_made_is_made_by_one_run_and_waited_for_without_done),
	TAP_CASE(sixteen_fetches_of_a_part_not_made_share_one_engine_run),
	TAP_CASE(a_fetch_dropped_before_its_end_still_makes_the_part_and_calls_done_once),
	TAP_CASE(a_fetch_names_its_canonical_path_and_its_engine),
	TAP_CASE(an_engine_that_fails_fails_the_fetch_with_its_report),
	TAP_CASE(a_part_that_failed_fails_again_at_once_without_a_run),
	TAP_CASE(a_part_whose_engine_is_not_installed_fails_at_once_with_enoexec_naming_it),
	TAP_CASE(a_part_whose_engine_is_not_installed_is_recorded_with_the_errors),
	TAP_CASE(a_part_nothing_makes_fails_at_once_with_enoent_and_is_recorded),
	TAP_CASE(a_module_edited_while_its_engine_runs_is_made_again_from_the_edit),
	TAP_CASE(a_module_edited_in_every_run_fails_after_three_replans_and_is_recorded),
	TAP_CASE(a_part_gone_in_a_live_edit_while_it_was_made_fails_with_enoent),
	TAP_CASE(a_part_whose_file_went_from_behind_the_index_is_made_again),
	TAP_CASE(a_part_evicted_between_lookup_and_open_is_asked_for_again_and_made),
	TAP_CASE(a_part_evicted_as_it_is_opened_is_a_miss_not_a_replan),
	TAP_CASE(a_fetch_ahead_waits_behind_normal_requests),
	TAP_CASE(a_fetch_ahead_gives_up_at_once_when_its_engine_version_is_not_known),
	TAP_CASE(a_fetch_of_an_engine_of_unknown_version_asks_it_beside_its_job),
	TAP_CASE(the_first_part_of_a_fresh_cache_has_the_key_of_a_process_that_asked_first),
	TAP_CASE(a_failing_version_query_keys_the_part_by_its_unknown_version),
	TAP_CASE(parts_at_once_on_a_fresh_cache_ask_the_version_once_per_engine),
	TAP_CASE(the_key_is_pinned_from_planning_until_the_fetch_is_freed),
	TAP_CASE(a_pruned_cache_spares_the_part_of_a_referenced_fetch),
	TAP_CASE(core_stop_fails_a_fetch_waiting_for_its_engine_as_a_system_failure),
	TAP_CASE(fetch_plan_keeps_the_plan_whose_key_is_the_fetch_key),
	TAP_CASE(without_fetch_plan_no_plan_is_kept),
)
