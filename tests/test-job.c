/* test-job.c -- the job engine: one job per key however many threads ask,
 * distinct keys in parallel up to the worker count, stale jobs, stopping
 * (engines killed, nothing remembered), remembered failures, completion
 * callbacks, prefetch jobs behind normal ones.  The engine is the test
 * engine tests/fake-engine as a `command` executor. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "partsfs/make/job.h"
#include "tap.h"

/* Wait no longer than this for any job (a hang is a failure, not a hung
 * test). */
#define WAIT 20.0

static const char FAKE_BLT[] =
    "  - id: box\n"
    "    names: {name: Test box, labeling: 'Test box %(size)s %(note)s'}\n"
    "    parameters:\n"
    "      free: [size, mode, seconds, counter, note]\n"
    "      defaults: {size: 10, mode: box, seconds: 0, counter: '', "
    "note: ''}\n"
    "      types: {size: Length (mm), mode: String, seconds: Number, "
    "counter: String, note: String}\n"
    "    source: partsfs tests\n";

static const char FAKE_BASE[] =
    "- {filename: box.txt, type: script, author: t <t@example.org>, "
    "license: MIT <x>, classids: [box]}\n";

/* A library, its configuration, a cache and a pool of workers. */
struct rig {
	const char *dir;                /* the library */
	const char *tmp;                /* the test's own files */
	char *counter;                  /* where the engine runs are counted */
	struct conf *conf;
	struct library *lib;
	struct cache *cache;
	struct exec_env env;
	struct jobs *jobs;
};

static void
rig_open(struct rig *r, int workers)
{
	struct buf y = BUF_INIT;
	struct perr e = { 0 };
	char *cachedir;

	memset(r, 0, sizeof *r);
	r->dir = fixture_dir("fake", FAKE_BLT);
	tap_write(r->dir, "fake/fake/fake.base", FAKE_BASE);
	tap_write(r->dir, "fake/fake/box.txt", "box script, version 1\n");
	r->tmp = tap_tmpdir();
	r->counter = xasprintf("%s/counter", r->tmp);
	cachedir = xasprintf("%s/cache", r->tmp);
	buf_printf(&y, "executors:\n  commands:\n    - name: fake\n"
	    "      argv: [%s, \"{params}\", \"{output}\", \"{format}\", "
	    "\"{script}\"]\n      formats: [stl, step]\n"
	    "jobs:\n  timeout: 30\ncache:\n  dir: %s\n  negative-ttl: 60\n",
	    fixture_yaml_str(fixture_fake_engine()), cachedir);
	r->conf = fixture_conf(buf_str(&y));
	buf_free(&y);
	r->lib = fixture_load_conf(r->dir, r->conf);
	if (r->lib->diags.nerrors > 0) {
		tap_note("%s", fixture_diags(r->lib));
		abort();
	}
	if ((r->cache = cache_open(cachedir, (uint64_t)1 << 30,
	    r->conf->negative_ttl, &e)) == NULL)
		pf_fatal("cache_open: %s", e.msg);
	free(cachedir);
	r->env.conf = r->conf;
	r->env.cache = r->cache;
	r->env.root = r->lib->root;
	r->jobs = jobs_new(&r->env, workers);
}

static void
rig_close(struct rig *r)
{
	jobs_free(r->jobs);
	cache_close(r->cache);
	library_unref(r->lib);
	conf_free(r->conf);
	free(r->counter);
}

/* The tree path of a box made with the free values `pairs` (name, value,
 * ..., NULL), in format stl; caller frees. */
static char *
box_path(const char *const *pairs)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, "fake/box/");
	for (size_t i = 0; pairs[i] != NULL; i += 2) {
		char *v = fixture_stem_value(pairs[i + 1]);
		buf_printf(&b, "%s%s=%s", i ? "," : "", pairs[i], v);
		free(v);
	}
	if (pairs[0] == NULL)
		buf_adds(&b, "default");
	buf_adds(&b, ".stl");
	return buf_steal(&b);
}

#define PAIRS(...) ((const char *const []){ __VA_ARGS__, NULL })

/* Plan a box; aborts the test program when it cannot be planned. */
static void
plan_box(struct rig *r, const char *const *pairs, struct plan *p)
{
	char *path = box_path(pairs);
	struct perr e = { 0 };

	if (fixture_plan(&r->env, r->lib, path, p, &e) != 0)
		pf_fatal("plan %s: %s", path, e.msg);
	free(path);
}

static bool
file_has_lines(void *arg)
{
	return fixture_lines(arg) > 0;
}

/* The pid of the first engine run the counter file names, once there is
 * one (0 if none within a few seconds). */
static long
first_run_pid(struct rig *r)
{
	char *text;
	long pid = 0;

	if (!fixture_wait_for(file_has_lines, r->counter, WAIT))
		return 0;
	text = fixture_read(r->counter, NULL);
	pid = strtol(text, NULL, 10);
	free(text);
	return pid;
}

/* The same once the engine is well under way: its worker records its
 * process group just after it starts, and the engine may write the
 * counter first (on a busy machine, some milliseconds first).  A stop in
 * between is a race of its own: see
 * no_engine_starts_once_the_pool_has_stopped. */
static long
running_engine_pid(struct rig *r)
{
	struct timespec ts = { 0, 300000000 };
	long pid = first_run_pid(r);

	nanosleep(&ts, NULL);
	return pid;
}

struct state_wait {
	struct job *job;
	enum job_state state;
};

static bool
job_in_state(void *arg)
{
	struct state_wait *w = arg;

	return job_state(w->job) == w->state;
}

static bool
wait_state(struct job *j, enum job_state st)
{
	struct state_wait w = { j, st };

	return fixture_wait_for(job_in_state, &w, WAIT);
}

/* One job per key. */

#define NTHREADS 16

struct asker {
	struct rig *rig;
	pthread_barrier_t *barrier;
	struct plan plan;
	struct job *job;
	enum job_state state;
};

static void *
ask(void *arg)
{
	struct asker *a = arg;

	/* each thread plans the part itself, as each request of a mount
	 * does; then they all ask at once */
	plan_box(a->rig, PAIRS("seconds", "1", "counter", a->rig->counter),
	    &a->plan);
	pthread_barrier_wait(a->barrier);
	a->job = jobs_submit(a->rig->jobs, &a->plan, false);
	a->state = job_wait(a->job, WAIT);
	return NULL;
}

static void
sixteen_threads_asking_for_one_part_share_one_job_and_one_run(void)
{
	struct rig r;
	struct asker a[NTHREADS];
	pthread_t t[NTHREADS];
	pthread_barrier_t barrier;
	struct jobs_stats st;
	bool same = true, done = true, samekey = true;

	rig_open(&r, 4);
	pthread_barrier_init(&barrier, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++) {
		memset(&a[i], 0, sizeof a[i]);
		a[i].rig = &r;
		a[i].barrier = &barrier;
		if (pthread_create(&t[i], NULL, ask, &a[i]) != 0)
			abort();
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&barrier);
	for (int i = 0; i < NTHREADS; i++) {
		same &= a[i].job == a[0].job;
		done &= a[i].state == JOB_DONE;
		samekey &= strcmp(a[i].plan.key.hex, a[0].plan.key.hex) == 0;
	}
	jobs_get_stats(r.jobs, &st);
	for (int i = 0; i < NTHREADS; i++) {
		job_unref(a[i].job);
		plan_clear(&a[i].plan);
	}
	CHECK(samekey);
	CHECK(same);
	CHECK(done);
	CHECK_INT(st.submitted, 1);
	CHECK_INT(st.joined, NTHREADS - 1);
	CHECK_INT(st.runs, 1);
	CHECK_INT(st.done, 1);
	CHECK_INT(fixture_lines(r.counter), 1);
	rig_close(&r);
}

#define NPARALLEL 5
#define PWORKERS 2

static void
distinct_parts_run_in_parallel_up_to_the_worker_count(void)
{
	struct rig r;
	struct job *j[NPARALLEL];
	struct jobs_stats st;
	int most_running = 0, most_engines = 0;
	bool all_done = false;
	double end;

	rig_open(&r, PWORKERS);
	for (int i = 0; i < NPARALLEL; i++) {
		struct plan p;
		char size[16];
		snprintf(size, sizeof size, "%d", i + 1);
		plan_box(&r, PAIRS("size", size, "seconds", "0.6",
		    "counter", r.counter), &p);
		j[i] = jobs_submit(r.jobs, &p, false);
		plan_clear(&p);
	}
	/* watch: engines started (the counter, read first) less jobs
	 * finished is the number of engines under way */
	end = now_s() + WAIT;
	while (!all_done && now_s() < end) {
		struct timespec ts = { 0, 2000000 };
		int started = fixture_lines(r.counter), running = 0,
		    finished = 0;
		for (int i = 0; i < NPARALLEL; i++) {
			enum job_state s = job_state(j[i]);
			running += s == JOB_RUNNING;
			finished += s == JOB_DONE || s == JOB_FAILED;
		}
		if (running > most_running)
			most_running = running;
		if (started - finished > most_engines)
			most_engines = started - finished;
		all_done = finished == NPARALLEL;
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < NPARALLEL; i++) {
		CHECK_INT(job_wait(j[i], WAIT), JOB_DONE);
		job_unref(j[i]);
	}
	jobs_get_stats(r.jobs, &st);
	CHECK(all_done);
	CHECK_INT(most_running, PWORKERS);
	CHECK_INT(most_engines, PWORKERS);
	CHECK_INT(st.runs, NPARALLEL);
	CHECK_INT(fixture_lines(r.counter), NPARALLEL);
	rig_close(&r);
}

/* Stale jobs. */

/* Start a one-second job and edit the module (the fake engine's script)
 * while its engine runs; the job is returned finished. */
static struct job *
job_edited_while_running(struct rig *r, struct plan *p)
{
	struct job *j;

	plan_box(r, PAIRS("seconds", "1", "counter", r->counter), p);
	j = jobs_submit(r->jobs, p, false);
	if (first_run_pid(r) == 0)
		pf_fatal("the engine did not start");
	tap_write(r->dir, "fake/fake/box.txt", "box script, version 2 (an "
	    "edit)\n");
	job_wait(j, WAIT);
	return j;
}

static void
a_module_edited_while_its_engine_runs_makes_the_job_stale_not_failed(void)
{
	struct rig r;
	struct plan p;
	struct job *j;
	struct jobs_stats st;
	char *msg = NULL;

	rig_open(&r, 1);
	j = job_edited_while_running(&r, &p);
	CHECK_INT(job_state(j), JOB_FAILED);
	CHECK(job_stale(j));
	CHECK(!job_system(j));
	CHECK_CONTAINS(job_error(j), "box.txt changed while the part was "
	    "being made");
	jobs_get_stats(r.jobs, &st);
	CHECK_INT(st.stale, 1);
	CHECK_INT(st.failed, 0);
	/* not remembered: the next request plans it afresh */
	CHECK_INT(cache_failed(r.cache, &p.key, r.conf->timeout, &msg), 0);
	CHECK(jobs_error_for(r.jobs, p.path) == NULL);
	/* nor stored under the old key */
	{
		struct cache_entry ce;
		CHECK_INT(cache_lookup(r.cache, &p.key, &ce), 0);
	}
	job_unref(j);
	plan_clear(&p);
	rig_close(&r);
}

static void
planning_a_stale_part_again_gives_a_new_key_that_is_made(void)
{
	struct rig r;
	struct plan p, again;
	struct job *j, *j2;
	char *made;

	rig_open(&r, 1);
	j = job_edited_while_running(&r, &p);
	CHECK(job_stale(j));
	plan_box(&r, PAIRS("seconds", "1", "counter", r.counter), &again);
	CHECK(strcmp(again.key.hex, p.key.hex) != 0);
	j2 = jobs_submit(r.jobs, &again, false);
	CHECK(j2 != j);
	CHECK_INT(job_wait(j2, WAIT), JOB_DONE);
	CHECK_INT(fixture_lines(r.counter), 2);
	/* made from the module as it is now: the stored part is under the
	 * new key */
	made = fixture_read(job_result(j2)->path, NULL);
	CHECK(made != NULL);
	free(made);
	job_unref(j2);
	job_unref(j);
	plan_clear(&again);
	plan_clear(&p);
	rig_close(&r);
}

/* Stopping. */

static void
stopping_the_pool_kills_a_running_engine_and_fails_its_job_unremembered(void)
{
	struct rig r;
	struct plan p;
	struct job *j;
	char *msg = NULL;
	long pid;

	rig_open(&r, 2);
	plan_box(&r, PAIRS("mode", "hang", "counter", r.counter), &p);
	j = jobs_submit(r.jobs, &p, false);
	pid = running_engine_pid(&r);
	CHECK(pid > 0);
	CHECK(fixture_alive(pid));
	jobs_stop(r.jobs);
	CHECK_INT(job_wait(j, WAIT), JOB_FAILED);
	CHECK(job_system(j));
	CHECK(!job_stale(j));
	CHECK(!fixture_alive(pid));
	CHECK_INT(cache_failed(r.cache, &p.key, r.conf->timeout, &msg), 0);
	job_unref(j);
	plan_clear(&p);
	rig_close(&r);
}

struct heard {
	atomic_int calls;
	enum job_state state;
	bool system;
	bool stale;
	pthread_t thread;
};

static void
hear(void *arg, struct job *j)
{
	struct heard *h = arg;

	h->state = job_state(j);
	h->system = job_system(j);
	h->stale = job_stale(j);
	h->thread = pthread_self();
	atomic_fetch_add(&h->calls, 1);
}

static void
freeing_the_pool_kills_a_running_engine_and_tells_its_waiters(void)
{
	struct rig r;
	struct plan p;
	struct job *j;
	struct heard h = { 0 };
	char *msg = NULL;
	long pid;

	rig_open(&r, 2);
	plan_box(&r, PAIRS("mode", "hang", "counter", r.counter), &p);
	j = jobs_submit(r.jobs, &p, false);
	job_notify(j, hear, &h);
	job_unref(j);
	pid = running_engine_pid(&r);
	CHECK(pid > 0);
	jobs_free(r.jobs);
	r.jobs = NULL;
	CHECK_INT(atomic_load(&h.calls), 1);
	CHECK_INT(h.state, JOB_FAILED);
	CHECK(h.system);
	CHECK(!fixture_alive(pid));
	CHECK_INT(cache_failed(r.cache, &p.key, r.conf->timeout, &msg), 0);
	plan_clear(&p);
	rig_close(&r);
}

static void
stopping_the_pool_fails_queued_and_new_jobs_without_running_them(void)
{
	struct rig r;
	struct plan hang, queued, late;
	struct job *jh, *jq, *jl;

	rig_open(&r, 1);
	plan_box(&r, PAIRS("mode", "hang", "counter", r.counter), &hang);
	plan_box(&r, PAIRS("size", "2", "counter", r.counter), &queued);
	plan_box(&r, PAIRS("size", "3", "counter", r.counter), &late);
	jh = jobs_submit(r.jobs, &hang, false);
	CHECK(running_engine_pid(&r) > 0);
	jq = jobs_submit(r.jobs, &queued, false);
	CHECK_INT(job_state(jq), JOB_QUEUED);
	jobs_stop(r.jobs);
	CHECK_INT(job_wait(jq, WAIT), JOB_FAILED);
	CHECK(job_system(jq));
	jl = jobs_submit(r.jobs, &late, false);
	CHECK_INT(job_state(jl), JOB_FAILED);
	CHECK(job_system(jl));
	CHECK_INT(job_wait(jh, WAIT), JOB_FAILED);
	CHECK_INT(fixture_lines(r.counter), 1);
	job_unref(jh);
	job_unref(jq);
	job_unref(jl);
	plan_clear(&hang);
	plan_clear(&queued);
	plan_clear(&late);
	rig_close(&r);
}

/* What another process making the part of `key` holds: the write lock
 * of its open file description on the byte of tmp/keys.lock (open as
 * `fd`) whose offset the key's first 15 hex digits give.  0 or -1. */
static int
key_byte_lock(int fd, const struct cache_key *key)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
	    .l_len = 1 };
	char digits[16];

	memcpy(digits, key->hex, 15);
	digits[15] = '\0';
	fl.l_start = (off_t)strtoull(digits, NULL, 16);
	return fcntl(fd, F_OFD_SETLKW, &fl);
}

static void
no_engine_starts_once_the_pool_has_stopped(void)
{
	struct rig r;
	struct plan p;
	struct job *j;
	struct timespec ts = { 0, 60000000 };
	enum job_state st;
	bool system;
	long pid = 0;
	char *lock;
	int fd, runs;

	rig_open(&r, 1);
	r.conf->timeout = 4;
	plan_box(&r, PAIRS("mode", "hang", "counter", r.counter), &p);
	/* the job's worker waits for the key, which another process (here:
	 * this one, on a descriptor of its own) holds */
	lock = xasprintf("%s/tmp/keys.lock", cache_dir(r.cache));
	if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1 ||
	    key_byte_lock(fd, &p.key) != 0)
		pf_fatal("%s: %s", lock, strerror(errno));
	j = jobs_submit(r.jobs, &p, false);
	wait_state(j, JOB_RUNNING);
	nanosleep(&ts, NULL);
	/* the other process lets go of the key just as the pool stops */
	close(fd);
	jobs_stop(r.jobs);
	st = job_wait(j, 2);
	if ((runs = fixture_lines(r.counter)) > 0)
		pid = first_run_pid(&r);
	/* (an engine that did start runs to its time limit) */
	job_wait(j, WAIT);
	system = job_system(j);
	job_unref(j);
	free(lock);
	plan_clear(&p);
	rig_close(&r);
	CHECK_MSG(runs == 0, "an engine started after jobs_stop (pid %ld)",
	    pid);
	CHECK_INT(st, JOB_FAILED);
	CHECK(system);
}

/* Failures. */

static void
a_failed_job_is_remembered_and_asking_again_fails_at_once_without_a_run(void)
{
	struct rig r;
	struct plan p;
	struct job *j, *again;
	struct jobs_stats st;
	char *msg = NULL;

	rig_open(&r, 2);
	plan_box(&r, PAIRS("mode", "fail", "counter", r.counter), &p);
	j = jobs_submit(r.jobs, &p, false);
	CHECK_INT(job_wait(j, WAIT), JOB_FAILED);
	CHECK(!job_system(j) && !job_stale(j));
	CHECK_CONTAINS(job_error(j), "fake-engine: giving up as asked");
	CHECK_INT(cache_failed(r.cache, &p.key, r.conf->timeout, &msg), 1);
	CHECK_CONTAINS(msg, "giving up as asked");
	free(msg);
	again = jobs_submit(r.jobs, &p, false);
	/* at once: no waiting, no new job queued, no engine run */
	CHECK_INT(job_state(again), JOB_FAILED);
	CHECK(again != j);
	CHECK_CONTAINS(job_error(again), "giving up as asked");
	CHECK_INT(jobs_pending(r.jobs), 0);
	jobs_get_stats(r.jobs, &st);
	CHECK_INT(st.runs, 1);
	CHECK_INT(fixture_lines(r.counter), 1);
	job_unref(again);
	job_unref(j);
	plan_clear(&p);
	rig_close(&r);
}

static void
a_part_in_the_cache_is_found_by_its_job_without_a_run(void)
{
	struct rig r;
	struct plan p;
	struct job *j, *again;
	struct jobs_stats st;
	int fd;

	rig_open(&r, 2);
	plan_box(&r, PAIRS("counter", r.counter), &p);
	j = jobs_submit(r.jobs, &p, false);
	CHECK_INT(job_wait(j, WAIT), JOB_DONE);
	job_unref(j);
	again = jobs_submit(r.jobs, &p, false);
	CHECK_INT(job_wait(again, WAIT), JOB_DONE);
	CHECK_INT(job_result(again)->size, 684);
	fd = job_blob_fd(again);
	CHECK(fd >= 0);
	close(fd);
	jobs_get_stats(r.jobs, &st);
	CHECK_INT(st.runs, 1);
	CHECK_INT(fixture_lines(r.counter), 1);
	job_unref(again);
	plan_clear(&p);
	rig_close(&r);
}

/* Callbacks. */

static bool
all_heard(void *arg)
{
	struct heard *h = arg;

	for (int i = 0; i < 4; i++) {
		if (atomic_load(&h[i].calls) == 0)
			return false;
	}
	return true;
}

static void
completion_callbacks_run_exactly_once_each(void)
{
	struct rig r;
	struct plan p;
	struct job *j, *joined;
	struct heard h[5];
	struct timespec ts = { 0, 200000000 };

	memset(h, 0, sizeof h);
	rig_open(&r, 2);
	plan_box(&r, PAIRS("seconds", "0.3", "counter", r.counter), &p);
	j = jobs_submit(r.jobs, &p, false);
	job_notify(j, hear, &h[0]);
	job_notify(j, hear, &h[1]);
	joined = jobs_submit(r.jobs, &p, false);
	CHECK(joined == j);
	job_notify(joined, hear, &h[2]);
	job_notify(joined, hear, &h[3]);
	CHECK_INT(job_wait(j, WAIT), JOB_DONE);
	/* on a finished job: at once, in this thread */
	job_notify(j, hear, &h[4]);
	CHECK_INT(atomic_load(&h[4].calls), 1);
	CHECK(pthread_equal(h[4].thread, pthread_self()));
	/* the worker calls them just after the waiters are woken; then a
	 * second call would have time to happen */
	CHECK(fixture_wait_for(all_heard, h, WAIT));
	nanosleep(&ts, NULL);
	for (int i = 0; i < 5; i++) {
		CHECK_MSG(atomic_load(&h[i].calls) == 1, "callback %d ran %d "
		    "times", i, atomic_load(&h[i].calls));
		CHECK_INT(h[i].state, JOB_DONE);
	}
	/* the others were called by the worker that finished the job */
	CHECK(!pthread_equal(h[0].thread, pthread_self()));
	job_unref(joined);
	job_unref(j);
	plan_clear(&p);
	rig_close(&r);
}

struct made_hook {
	atomic_int calls;
	atomic_int bad_fd;
	atomic_bool done;
};

static void
on_made(void *arg, const char *path, int fd,
    const struct cache_entry *entry)
{
	struct made_hook *m = arg;
	struct timespec ts = { 0, 200000000 };
	struct stat st;

	(void)path;
	/* the part, open: its size is the row's */
	if (fd == -1 || fstat(fd, &st) != 0 ||
	    (uint64_t)st.st_size != entry->size)
		atomic_fetch_add(&m->bad_fd, 1);
	nanosleep(&ts, NULL);
	atomic_fetch_add(&m->calls, 1);
	atomic_store(&m->done, true);
}

static void
the_made_hook_runs_before_anyone_waiting_hears_of_the_part(void)
{
	struct rig r;
	struct plan p;
	struct job *j;
	struct made_hook m = { 0 };

	rig_open(&r, 1);
	jobs_on_made(r.jobs, on_made, &m);
	plan_box(&r, PAIRS("counter", r.counter), &p);
	j = jobs_submit(r.jobs, &p, false);
	CHECK_INT(job_wait(j, WAIT), JOB_DONE);
	CHECK(atomic_load(&m.done));
	CHECK_INT(atomic_load(&m.calls), 1);
	CHECK_INT(atomic_load(&m.bad_fd), 0);
	job_unref(j);
	plan_clear(&p);
	rig_close(&r);
}

/* Prefetch. */

struct order {
	pthread_mutex_t lock;
	const char *names[8];
	int n;
};

struct order_note {
	struct order *order;
	const char *name;
};

static void
note_order(void *arg, struct job *j)
{
	struct order_note *on = arg;

	(void)j;
	pthread_mutex_lock(&on->order->lock);
	on->order->names[on->order->n++] = on->name;
	pthread_mutex_unlock(&on->order->lock);
}

static bool
all_noted(void *arg)
{
	struct order *o = arg;
	bool r;

	pthread_mutex_lock(&o->lock);
	r = o->n == 4;
	pthread_mutex_unlock(&o->lock);
	return r;
}

static void
prefetch_jobs_wait_behind_normal_ones_and_move_up_when_asked_for(void)
{
	static const char *const names[] = { "first", "prefetch1",
	    "prefetch2", "normal" };
	struct rig r;
	struct plan p[4];
	struct job *j[4], *asked;
	struct order order = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct order_note notes[4];
	struct jobs_stats st;
	struct buf desc = BUF_INIT;
	char *seq;

	rig_open(&r, 1);
	for (int i = 0; i < 4; i++) {
		char size[16];
		snprintf(size, sizeof size, "%d", i + 1);
		plan_box(&r, PAIRS("size", size, "seconds", i == 0 ? "0.5" :
		    "0.05", "counter", r.counter), &p[i]);
		notes[i].order = &order;
		notes[i].name = names[i];
	}
	/* the only worker is busy with the first job meanwhile */
	j[0] = jobs_submit(r.jobs, &p[0], false);
	CHECK(wait_state(j[0], JOB_RUNNING));
	j[1] = jobs_submit(r.jobs, &p[1], true);
	j[2] = jobs_submit(r.jobs, &p[2], true);
	j[3] = jobs_submit(r.jobs, &p[3], false);
	jobs_describe(r.jobs, &desc);
	/* a reader asks for the second prefetched part: it is normal now */
	asked = jobs_submit(r.jobs, &p[2], false);
	CHECK(asked == j[2]);
	for (int i = 0; i < 4; i++)
		job_notify(j[i], note_order, &notes[i]);
	for (int i = 0; i < 4; i++)
		CHECK_INT(job_wait(j[i], WAIT), JOB_DONE);
	/* the callbacks run just after the waiters are woken */
	CHECK(fixture_wait_for(all_noted, &order, WAIT));
	jobs_get_stats(r.jobs, &st);
	pthread_mutex_lock(&order.lock);
	{
		struct buf b = BUF_INIT;
		for (int i = 0; i < order.n; i++)
			buf_printf(&b, "%s%s", i ? " " : "", order.names[i]);
		seq = buf_steal(&b);
	}
	pthread_mutex_unlock(&order.lock);
	CHECK_STR(seq, "first normal prefetch2 prefetch1");
	free(seq);
	CHECK_INT(st.prefetched, 2);
	CHECK_INT(st.joined, 1);
	CHECK_CONTAINS(buf_str(&desc), "size=2,seconds=0.05");
	CHECK_CONTAINS(buf_str(&desc), "(ahead of a reader)");
	buf_free(&desc);
	job_unref(asked);
	for (int i = 0; i < 4; i++) {
		job_unref(j[i]);
		plan_clear(&p[i]);
	}
	rig_close(&r);
}

TAP_MAIN(
	TAP_CASE(sixteen_threads_asking_for_one_part_share_one_job_and_one_run),
	TAP_CASE(distinct_parts_run_in_parallel_up_to_the_worker_count),
	TAP_CASE(a_module_edited_while_its_engine_runs_makes_the_job_stale_not_failed),
	TAP_CASE(planning_a_stale_part_again_gives_a_new_key_that_is_made),
	TAP_CASE(stopping_the_pool_kills_a_running_engine_and_fails_its_job_unremembered),
	TAP_CASE(freeing_the_pool_kills_a_running_engine_and_tells_its_waiters),
	TAP_CASE(stopping_the_pool_fails_queued_and_new_jobs_without_running_them),
	TAP_CASE(no_engine_starts_once_the_pool_has_stopped),
	TAP_CASE(a_failed_job_is_remembered_and_asking_again_fails_at_once_without_a_run),
	TAP_CASE(a_part_in_the_cache_is_found_by_its_job_without_a_run),
	TAP_CASE(completion_callbacks_run_exactly_once_each),
	TAP_CASE(the_made_hook_runs_before_anyone_waiting_hears_of_the_part),
	TAP_CASE(prefetch_jobs_wait_behind_normal_ones_and_move_up_when_asked_for),
)
