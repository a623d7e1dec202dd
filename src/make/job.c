/* job.c -- the job engine: worker threads make parts into the cache, one
 * job per cache key however many ask for it; waiters sleep on the job's
 * condition variable or get a completion callback, and never cancel it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "partsfs/make/job.h"
#include "partsfs/make/spawn.h"
#include "partsfs/make/version.h"
#include "partsfs/util/log.h"

#define MAX_ERRORS 64


struct note {
	void (*fn)(void *, struct job *);
	void *arg;
};

struct job {
	struct jobs *jobs;
	unsigned refs;                  /* under jobs->lock */
	struct plan plan;
	enum job_state state;
	bool prefetch;
	bool in_table;
	bool stale;                     /* JOB_FAILED: its sources changed */
	bool system;                    /* JOB_FAILED: not the engine's doing */
	struct cache_entry entry;       /* JOB_DONE */
	int blob_fd;                    /* JOB_DONE: entry's blob open, or -1 */
	char *error;                    /* JOB_FAILED */
	pthread_cond_t cond;
	struct note *notes;
	size_t nnotes;
	uint64_t submitted;
	uint64_t started;
	uint64_t finished;
	struct job *next;               /* queue link */
};

struct queue {
	struct job *head;
	struct job *tail;
};

struct error_rec {
	time_t when;
	char *path;
	char *msg;
};

struct jobs {
	struct exec_env env;
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct job **table;             /* queued and running jobs */
	size_t ntable;
	size_t cap;
	struct queue normal;
	struct queue prefetch;
	pthread_t *threads;
	int nthreads;                   /* started */
	int max_threads;
	bool stopping;
	/* jobs whose version is pending, not finished yet (run_pending) */
	int npending;
	pthread_cond_t pending_done;
	struct jobs_stats stats;
	struct error_rec errors[MAX_ERRORS];
	size_t nerrors;
	size_t errpos;
	void (*on_made)(void *, const char *, int,
	    const struct cache_entry *);
	void *on_made_arg;
};

static void
queue_push(struct queue *q, struct job *j)
{
	j->next = NULL;
	if (q->tail != NULL)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
}

static struct job *
queue_pop(struct queue *q)
{
	struct job *j = q->head;

	if (j != NULL) {
		q->head = j->next;
		if (q->head == NULL)
			q->tail = NULL;
		j->next = NULL;
	}
	return j;
}

static void
queue_remove(struct queue *q, struct job *j)
{
	struct job *prev = NULL;

	for (struct job *c = q->head; c != NULL; prev = c, c = c->next) {
		if (c != j)
			continue;
		if (prev != NULL)
			prev->next = c->next;
		else
			q->head = c->next;
		if (q->tail == c)
			q->tail = prev;
		c->next = NULL;
		return;
	}
}

static struct job *
table_find(struct jobs *jobs, const struct cache_key *key)
{
	for (size_t i = 0; i < jobs->ntable; i++) {
		if (strcmp(jobs->table[i]->plan.key.hex, key->hex) == 0)
			return jobs->table[i];
	}
	return NULL;
}

static void
table_add(struct jobs *jobs, struct job *j)
{
	if (jobs->ntable == jobs->cap) {
		jobs->cap = jobs->cap ? jobs->cap * 2 : 32;
		jobs->table = xreallocarray(jobs->table, jobs->cap,
		    sizeof *jobs->table);
	}
	jobs->table[jobs->ntable++] = j;
	j->in_table = true;
}

static void
table_remove(struct jobs *jobs, struct job *j)
{
	for (size_t i = 0; i < jobs->ntable; i++) {
		if (jobs->table[i] == j) {
			jobs->table[i] = jobs->table[--jobs->ntable];
			break;
		}
	}
	j->in_table = false;
}

static void
job_free(struct job *j)
{
	plan_clear(&j->plan);
	cache_entry_clear(&j->entry);
	if (j->blob_fd != -1)
		close(j->blob_fd);
	free(j->error);
	free(j->notes);
	pthread_cond_destroy(&j->cond);
	free(j);
}

struct job *
job_ref(struct job *j)
{
	pthread_mutex_lock(&j->jobs->lock);
	j->refs++;
	pthread_mutex_unlock(&j->jobs->lock);
	return j;
}

void
job_unref(struct job *j)
{
	struct jobs *jobs;
	bool last;

	if (j == NULL)
		return;
	jobs = j->jobs;
	pthread_mutex_lock(&jobs->lock);
	last = --j->refs == 0;
	pthread_mutex_unlock(&jobs->lock);
	if (last)
		job_free(j);
}

static void
record_error(struct jobs *jobs, const char *path, const char *msg)
{
	struct error_rec *r = &jobs->errors[jobs->errpos];

	free(r->path);
	free(r->msg);
	r->when = time(NULL);
	r->path = xstrdup(path);
	r->msg = xstrdup(msg);
	jobs->errpos = (jobs->errpos + 1) % MAX_ERRORS;
	if (jobs->nerrors < MAX_ERRORS)
		jobs->nerrors++;
}

/* Mark a job finished and tell everyone waiting.  Called with the lock
 * held; returns with it released. */
static void
finish(struct jobs *jobs, struct job *j, enum job_state state)
{
	struct note *notes;
	size_t nnotes;

	if (j->in_table)
		table_remove(jobs, j);
	j->state = state;
	j->finished = now_ns();
	if (state == JOB_DONE)
		jobs->stats.done++;
	else if (j->stale)
		/* not a failure: its requests are planned again (the one
		 * that gives up records why, jobs_record_error) */
		jobs->stats.stale++;
	else {
		jobs->stats.failed++;
		record_error(jobs, j->plan.path, j->error);
	}
	pthread_cond_broadcast(&j->cond);
	notes = j->notes;
	nnotes = j->nnotes;
	j->notes = NULL;
	j->nnotes = 0;
	pthread_mutex_unlock(&jobs->lock);
	for (size_t i = 0; i < nnotes; i++)
		notes[i].fn(notes[i].arg, j);
	free(notes);
}

static bool
stopping(struct jobs *jobs)
{
	bool s;

	pthread_mutex_lock(&jobs->lock);
	s = jobs->stopping;
	pthread_mutex_unlock(&jobs->lock);
	return s;
}

/*
 * What the engine's run (r, fail, its output `out`) makes of job j: the
 * part published into the cache (JOB_DONE, j's entry and blob_fd set),
 * or the failure in j->error, remembered in the cache when it is the
 * engine's (an engine killed because we stop did not fail, nor one that
 * no sandbox let run; one out of time did under this limit, not under a
 * longer one).  A part that could not be stored is not remembered as a
 * failure: eviction may make room.
 */
static enum job_state
keep_result(struct jobs *jobs, struct job *j, int r,
    const struct engine_failure *fail, const char *out)
{
	struct perr e = { 0 };

	if (r != 0) {
		j->error = engine_failure_text(fail);
		if (!stopping(jobs) && !fail->system)
			cache_fail(jobs->env.cache, &j->plan.key, j->error,
			    fail->timed_out ? jobs->env.conf->timeout : 0);
		else
			j->system = true;
		return JOB_FAILED;
	}
	if (cache_publish_open(jobs->env.cache, &j->plan.key, j->plan.fmt,
	    out, j->plan.label, &j->entry, &j->blob_fd, &e) != 0) {
		j->error = xasprintf("the part was made but could not be "
		    "stored: %s", e.msg);
		j->system = true;
		return JOB_FAILED;
	}
	return JOB_DONE;
}

/*
 * One job per key across processes sharing the cache (partsctl get and a
 * mount, or several gets): a write lock of an open file description
 * (F_OFD_SETLK) on one byte of the cache's tmp/keys.lock, the byte whose
 * offset the first 15 hex digits of the key give.  Within a process, the
 * job table already does this with condition variables; here the other
 * party is another process, whose progress can only be learnt by trying
 * the lock, so the wait retries every 25 ms (and gives up when we stop).
 * The lock goes with the descriptor, also when its process dies.  One
 * file for every key, not a file of each key made and removed per part:
 * a file created costs up to several hundred microseconds on a file
 * system without a journal that has deleted many (bench/get.py T1); two
 * keys that share a byte (one chance in 2^60) only wait for each other.
 * -1 without the lock: no file for it (then nothing is locked), or we
 * stop.
 */
static int
key_lock(struct jobs *jobs, const struct cache_key *key)
{
	char *path = xasprintf("%s/tmp/keys.lock", cache_dir(jobs->env.cache));
	char digits[16];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
	    .l_len = 1 };
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	free(path);
	if (fd == -1)
		return -1;
	memcpy(digits, key->hex, 15);
	digits[15] = '\0';
	fl.l_start = (off_t)strtoull(digits, NULL, 16);
	while (fcntl(fd, F_OFD_SETLK, &fl) == -1) {
		struct timespec ts = { 0, 25000000 };
		if ((errno != EAGAIN && errno != EACCES && errno != EINTR) ||
		    stopping(jobs)) {
			close(fd);
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	return fd;
}

static void
key_unlock(int fd)
{
	if (fd != -1)
		close(fd);
}

/*
 * A job whose plan's version is pending (plan_make_deferred): the version
 * query runs on a thread of its own while a worker has the engine make
 * the part, and whichever of the two ends last keys the part and
 * finishes the job (finish_pending), so that the first part of an engine
 * on a fresh cache costs what its engine does, and a worker whose engine
 * is done goes on to other jobs while the query goes on.  An engine whose
 * run reports its version (plan_reports_version) has no query: the
 * worker takes the version from the run, and keys and finishes the part.
 */
struct pending {
	struct jobs *jobs;
	struct job *j;                  /* a reference of its own */
	pthread_mutex_t lock;
	int ended;                      /* of the query and the engine */
	char *version;                  /* the query's answer */
	char *scratch, *out;
	struct engine_failure fail;
	int r;
	bool made;                      /* the engine was started */
};

/* The plan's version is known: its key is the part's from now on (under
 * the lock: the table finds jobs by it). */
static void
set_version(struct jobs *jobs, struct job *j, const char *version)
{
	pthread_mutex_lock(&jobs->lock);
	plan_set_version(&jobs->env, &j->plan, version);
	pthread_mutex_unlock(&jobs->lock);
}

/* Both the query and the engine are done: key the part, then as any job,
 * its key locked and looked up (another process may have made the part
 * meanwhile: that one is used), the part published or the failure
 * recorded, and the job finished. */
static void
finish_pending(struct pending *p)
{
	struct jobs *jobs = p->jobs;
	struct job *j = p->j;
	enum job_state state = JOB_FAILED;
	struct perr e = { 0 };
	int lockfd = -1;

	set_version(jobs, j, p->version);
	if (j->error != NULL)
		goto done;
	if (!p->made || stopping(jobs)) {
		/* the query or the engine may have been killed for it */
		j->error = xstrdup("partsfs is stopping: the part was not made");
		j->system = true;
		goto done;
	}
	if (plan_sources_check(&jobs->env, &j->plan, &e) != 0) {
		j->error = xstrdup(e.msg);
		j->stale = true;
		goto done;
	}
	lockfd = key_lock(jobs, &j->plan.key);
	if (lockfd == -1 && stopping(jobs)) {
		j->error = xstrdup("partsfs is stopping: the part was not made");
		j->system = true;
	} else if (cache_lookup_open(jobs->env.cache, &j->plan.key,
	    &j->entry, &j->blob_fd, NULL) == 1)
		/* made by another process meanwhile: that one is the part */
		state = JOB_DONE;
	else
		state = keep_result(jobs, j, p->r, &p->fail, p->out);
done:
	engine_failure_clear(&p->fail);
	if (p->out != NULL)
		unlink(p->out);         /* published: moved out already */
	key_unlock(lockfd);
	if (state == JOB_DONE && jobs->on_made != NULL)
		jobs->on_made(jobs->on_made_arg, j->plan.path, j->blob_fd,
		    &j->entry);
	pthread_mutex_lock(&jobs->lock);
	finish(jobs, j, state);
	if (p->scratch != NULL) {
		cache_scratch_remove(p->scratch);
		free(p->scratch);
	}
	free(p->out);
	free(p->version);
	pthread_mutex_destroy(&p->lock);
	job_unref(j);
	free(p);
	/* the last this does with the pool: jobs_free waits for it */
	pthread_mutex_lock(&jobs->lock);
	if (--jobs->npending == 0)
		pthread_cond_broadcast(&jobs->pending_done);
	pthread_mutex_unlock(&jobs->lock);
}

/* One of the two is done: the second finishes the job. */
static void
pending_ended(struct pending *p)
{
	bool last;

	pthread_mutex_lock(&p->lock);
	last = ++p->ended == 2;
	pthread_mutex_unlock(&p->lock);
	if (last)
		finish_pending(p);
}

static void *
ask_version(void *arg)
{
	struct pending *p = arg;
	bool unknown = false;

	p->version = plan_version(&p->jobs->env, &p->j->plan, VERSION_ASK,
	    &unknown);
	pending_ended(p);
	return NULL;
}

/*
 * Run a job whose version is pending (see struct pending).  false, with
 * the version set, when it is known by now after all (another thread or
 * process learnt it) or no thread could be started to ask it (it was
 * asked here): run_job goes on as for any job.  true when the job is
 * being finished, by this thread or the query's.
 */
static bool
run_pending(struct jobs *jobs, struct job *j)
{
	struct perr e = { 0 };
	struct pending *p;
	bool unknown = false, reports = plan_reports_version(&j->plan);
	pthread_t thread;
	char *version;

	version = plan_version(&jobs->env, &j->plan, 0, &unknown);
	if (!unknown) {
		set_version(jobs, j, version);
		free(version);
		return false;
	}
	p = xcalloc(1, sizeof *p);
	p->jobs = jobs;
	p->j = job_ref(j);
	p->r = -1;
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_lock(&jobs->lock);
	jobs->npending++;
	pthread_mutex_unlock(&jobs->lock);
	/* what the engine reads of the plan does not change until both
	 * are done: the query's thread only reads it too.  An engine that
	 * reports its version in its run needs no query (one start of
	 * FreeCAD fewer beside the first part of a fresh cache). */
	if (reports)
		p->ended = 1;
	else if (pthread_create(&thread, NULL, ask_version, p) != 0) {
		pthread_mutex_destroy(&p->lock);
		free(p);
		pthread_mutex_lock(&jobs->lock);
		jobs->npending--;
		j->refs--;              /* the caller holds one still */
		pthread_mutex_unlock(&jobs->lock);
		version = plan_version(&jobs->env, &j->plan, VERSION_ASK,
		    &unknown);
		set_version(jobs, j, version);
		free(version);
		return false;
	} else
		pthread_detach(thread);
	if (plan_sources_check(&jobs->env, &j->plan, &e) != 0) {
		j->error = xstrdup(e.msg);
		j->stale = true;
	} else if ((p->scratch = cache_scratch(jobs->env.cache, &e)) ==
	    NULL) {
		j->error = xasprintf("no scratch space for the job: %s", e.msg);
		j->system = true;
	} else {
		pthread_mutex_lock(&jobs->lock);
		if (!jobs->stopping) {
			jobs->stats.runs++;
			p->made = true;
		}
		pthread_mutex_unlock(&jobs->lock);
		if (p->made)
			p->r = exec_run(&jobs->env, &j->plan, p->scratch,
			    &p->out, &p->fail);
	}
	if (reports && p->made) {
		/* what the run said, else (it failed first) the query */
		p->version = plan_version_reported(&jobs->env, &j->plan,
		    p->scratch);
		if (p->version == NULL)
			p->version = plan_version(&jobs->env, &j->plan,
			    VERSION_ASK, &unknown);
	}
	pending_ended(p);
	return true;
}

static void
run_job(struct jobs *jobs, struct job *j)
{
	struct engine_failure fail = { 0 };
	struct perr e = { 0 };
	char *scratch = NULL, *out = NULL;
	enum job_state state = JOB_FAILED;
	int r, lockfd;

	if (j->plan.version_pending && run_pending(jobs, j))
		return;
	/* Made in the meantime (another process, or before we were asked)? */
	lockfd = key_lock(jobs, &j->plan.key);
	if (lockfd == -1 && stopping(jobs)) {
		/* gave up waiting for another process's job: we stop */
		j->error = xstrdup("partsfs is stopping: the part was not made");
		j->system = true;
		pthread_mutex_lock(&jobs->lock);
		finish(jobs, j, JOB_FAILED);
		return;
	}
	/* A part gone since (evicted, cleared), or damaged (set aside by the
	 * check of cache_lookup_open), is a miss: made again. */
	if (cache_lookup_open(jobs->env.cache, &j->plan.key, &j->entry,
	    &j->blob_fd, NULL) == 1) {
		key_unlock(lockfd);
		if (jobs->on_made != NULL)
			jobs->on_made(jobs->on_made_arg, j->plan.path,
			    j->blob_fd, &j->entry);
		pthread_mutex_lock(&jobs->lock);
		finish(jobs, j, JOB_DONE);
		return;
	}
	{
		/* ... or failed in another process a moment ago? */
		char *msg = NULL;
		if (cache_failed(jobs->env.cache, &j->plan.key,
		    jobs->env.conf->timeout, &msg) == 1) {
			key_unlock(lockfd);
			j->error = msg;
			pthread_mutex_lock(&jobs->lock);
			finish(jobs, j, JOB_FAILED);
			return;
		}
	}
	/* Edited since it was planned: not remembered as a failure, as the
	 * next request plans it afresh. */
	if (plan_sources_check(&jobs->env, &j->plan, &e) != 0) {
		j->error = xstrdup(e.msg);
		j->stale = true;
		goto done;
	}
	if ((scratch = cache_scratch(jobs->env.cache, &e)) == NULL) {
		j->error = xasprintf("no scratch space for the job: %s", e.msg);
		j->system = true;
		goto done;
	}
	pthread_mutex_lock(&jobs->lock);
	if (jobs->stopping) {
		/* stopped while this worker waited for the key's lock: no
		 * engine starts any more (run_kill_all has been and gone) */
		pthread_mutex_unlock(&jobs->lock);
		j->error = xstrdup("partsfs is stopping: the part was not made");
		j->system = true;
		goto done;
	}
	jobs->stats.runs++;
	pthread_mutex_unlock(&jobs->lock);
	r = exec_run(&jobs->env, &j->plan, scratch, &out, &fail);
	if (plan_sources_check(&jobs->env, &j->plan, &e) != 0) {
		/* made (or failed) from something else than its key says;
		 * nor is what the engine said of another file shown */
		j->error = xstrdup(e.msg);
		j->stale = true;
	} else
		state = keep_result(jobs, j, r, &fail, out);
	engine_failure_clear(&fail);
	if (out != NULL && state != JOB_DONE)
		unlink(out);
	free(out);
done:
	key_unlock(lockfd);
	if (state == JOB_DONE && jobs->on_made != NULL)
		jobs->on_made(jobs->on_made_arg, j->plan.path, j->blob_fd,
		    &j->entry);
	pthread_mutex_lock(&jobs->lock);
	finish(jobs, j, state);
	/* What the engine left behind goes once the waiters have their
	 * answer: nothing in it is theirs (the part was moved out). */
	if (scratch != NULL) {
		cache_scratch_remove(scratch);
		free(scratch);
	}
}

void
jobs_on_made(struct jobs *jobs, void (*fn)(void *arg, const char *path,
    int fd, const struct cache_entry *entry), void *arg)
{
	jobs->on_made = fn;
	jobs->on_made_arg = arg;
}

static void *
worker(void *arg)
{
	struct jobs *jobs = arg;
	struct job *j;
	sigset_t all;

	/* signals are for the front end's threads */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		pthread_mutex_lock(&jobs->lock);
		while (!jobs->stopping && jobs->normal.head == NULL &&
		    jobs->prefetch.head == NULL)
			pthread_cond_wait(&jobs->work, &jobs->lock);
		if (jobs->stopping) {
			pthread_mutex_unlock(&jobs->lock);
			return NULL;
		}
		if ((j = queue_pop(&jobs->normal)) == NULL)
			j = queue_pop(&jobs->prefetch);
		j->state = JOB_RUNNING;
		j->started = now_ns();
		pthread_mutex_unlock(&jobs->lock);
		run_job(jobs, j);
		job_unref(j);           /* the queue's reference */
	}
}

struct jobs *
jobs_new(const struct exec_env *env, int workers)
{
	struct jobs *jobs = xcalloc(1, sizeof *jobs);

	jobs->env = *env;
	pthread_mutex_init(&jobs->lock, NULL);
	pthread_cond_init(&jobs->work, NULL);
	if (workers <= 0)
		workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (workers <= 0)
		workers = 1;
	pthread_cond_init(&jobs->pending_done, NULL);
	jobs->max_threads = workers;
	jobs->threads = xcalloc((size_t)workers, sizeof *jobs->threads);
	return jobs;
}

/* Start another worker while there is more work than workers, up to the
 * limit; a process that only reads the cache starts none.  Called with
 * the lock held. */
static void
grow_pool(struct jobs *jobs)
{
	size_t busy = jobs->ntable;

	if (jobs->nthreads >= jobs->max_threads ||
	    (size_t)jobs->nthreads >= busy)
		return;
	if (pthread_create(&jobs->threads[jobs->nthreads], NULL, worker,
	    jobs) == 0)
		jobs->nthreads++;
	else if (jobs->nthreads == 0)
		pf_fatal("cannot start a job worker thread");
}

void
jobs_stop(struct jobs *jobs)
{
	struct job *j;

	pthread_mutex_lock(&jobs->lock);
	jobs->stopping = true;
	pthread_cond_broadcast(&jobs->work);
	/* queued jobs will not run */
	while ((j = queue_pop(&jobs->normal)) != NULL ||
	    (j = queue_pop(&jobs->prefetch)) != NULL) {
		j->error = xstrdup("partsfs is stopping: the part was not made");
		j->system = true;
		finish(jobs, j, JOB_FAILED);
		job_unref(j);
		pthread_mutex_lock(&jobs->lock);
	}
	pthread_mutex_unlock(&jobs->lock);
	/* running engines are killed; their workers finish the jobs */
	run_kill_all(SIGKILL);
}

void
jobs_free(struct jobs *jobs)
{
	if (jobs == NULL)
		return;
	jobs_stop(jobs);
	for (int i = 0; i < jobs->nthreads; i++)
		pthread_join(jobs->threads[i], NULL);
	/* the queries of jobs whose version was pending (killed by
	 * jobs_stop) finish their jobs */
	pthread_mutex_lock(&jobs->lock);
	while (jobs->npending > 0)
		pthread_cond_wait(&jobs->pending_done, &jobs->lock);
	pthread_mutex_unlock(&jobs->lock);
	pthread_cond_destroy(&jobs->pending_done);
	free(jobs->threads);
	free(jobs->table);
	for (size_t i = 0; i < MAX_ERRORS; i++) {
		free(jobs->errors[i].path);
		free(jobs->errors[i].msg);
	}
	pthread_cond_destroy(&jobs->work);
	pthread_mutex_destroy(&jobs->lock);
	free(jobs);
}

struct job *
jobs_submit(struct jobs *jobs, const struct plan *plan, bool prefetch)
{
	struct job *j;
	char *msg = NULL;

	pthread_mutex_lock(&jobs->lock);
	if ((j = table_find(jobs, &plan->key)) != NULL) {
		if (!prefetch && j->prefetch && j->state == JOB_QUEUED) {
			/* someone wants it now: it stops waiting behind */
			queue_remove(&jobs->prefetch, j);
			queue_push(&jobs->normal, j);
		}
		if (!prefetch)
			j->prefetch = false;
		j->refs++;
		jobs->stats.joined++;
		pthread_mutex_unlock(&jobs->lock);
		return j;
	}
	pthread_mutex_unlock(&jobs->lock);

	j = xcalloc(1, sizeof *j);
	j->jobs = jobs;
	j->blob_fd = -1;
	pthread_cond_init(&j->cond, NULL);
	j->submitted = now_ns();
	j->prefetch = prefetch;
	plan_copy(&j->plan, plan);

	if (cache_failed(jobs->env.cache, &plan->key, jobs->env.conf->timeout,
	    &msg) == 1) {
		/* failed a moment ago: not tried again until it expires (nor
		 * a timeout, unless under a longer limit) */
		j->refs = 1;
		j->state = JOB_FAILED;
		j->error = msg;
		j->finished = j->submitted;
		return j;
	}

	pthread_mutex_lock(&jobs->lock);
	if (jobs->stopping) {
		j->refs = 1;
		j->state = JOB_FAILED;
		j->error = xstrdup("partsfs is stopping");
		j->system = true;
		pthread_mutex_unlock(&jobs->lock);
		return j;
	}
	{
		/* another thread may have started it meanwhile */
		struct job *other = table_find(jobs, &plan->key);
		if (other != NULL) {
			other->refs++;
			if (!prefetch && other->prefetch &&
			    other->state == JOB_QUEUED) {
				queue_remove(&jobs->prefetch, other);
				queue_push(&jobs->normal, other);
				other->prefetch = false;
			}
			jobs->stats.joined++;
			pthread_mutex_unlock(&jobs->lock);
			job_free(j);
			return other;
		}
	}
	j->refs = 2;                    /* the caller's and the queue's */
	table_add(jobs, j);
	queue_push(prefetch ? &jobs->prefetch : &jobs->normal, j);
	jobs->stats.submitted++;
	if (prefetch)
		jobs->stats.prefetched++;
	grow_pool(jobs);
	pthread_cond_signal(&jobs->work);
	pthread_mutex_unlock(&jobs->lock);
	return j;
}

enum job_state
job_wait(struct job *j, double timeout)
{
	struct jobs *jobs = j->jobs;
	struct timespec deadline;
	enum job_state st;

	if (timeout >= 0) {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += (time_t)timeout;
		deadline.tv_nsec += (long)((timeout - (double)(time_t)timeout) *
		    1e9);
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&jobs->lock);
	while (j->state != JOB_DONE && j->state != JOB_FAILED) {
		if (timeout < 0)
			pthread_cond_wait(&j->cond, &jobs->lock);
		else if (pthread_cond_timedwait(&j->cond, &jobs->lock,
		    &deadline) == ETIMEDOUT)
			break;
	}
	st = j->state;
	pthread_mutex_unlock(&jobs->lock);
	return st;
}

enum job_state
job_state(struct job *j)
{
	enum job_state st;

	pthread_mutex_lock(&j->jobs->lock);
	st = j->state;
	pthread_mutex_unlock(&j->jobs->lock);
	return st;
}

void
job_notify(struct job *j, void (*fn)(void *, struct job *), void *arg)
{
	struct jobs *jobs = j->jobs;

	pthread_mutex_lock(&jobs->lock);
	if (j->state == JOB_DONE || j->state == JOB_FAILED) {
		pthread_mutex_unlock(&jobs->lock);
		fn(arg, j);
		return;
	}
	j->notes = xreallocarray(j->notes, j->nnotes + 1, sizeof *j->notes);
	j->notes[j->nnotes].fn = fn;
	j->notes[j->nnotes].arg = arg;
	j->nnotes++;
	pthread_mutex_unlock(&jobs->lock);
}

const struct cache_entry *
job_result(struct job *j)
{
	return j->state == JOB_DONE ? &j->entry : NULL;
}

const char *
job_error(struct job *j)
{
	return j->state == JOB_FAILED ? j->error : NULL;
}

bool
job_stale(struct job *j)
{
	return j->state == JOB_FAILED && j->stale;
}

int
job_blob_fd(struct job *j)
{
	if (j->state != JOB_DONE || j->blob_fd == -1)
		return -1;
	/* a new open file, with a position of its own (see fetch_fd) */
	return cache_blob_reopen(j->blob_fd);
}

bool
job_system(struct job *j)
{
	return j->state == JOB_FAILED && j->system;
}

const struct plan *
job_plan(struct job *j)
{
	return &j->plan;
}

const char *
job_path(struct job *j)
{
	return j->plan.path;
}

const char *
job_executor(struct job *j)
{
	return j->plan.cmd != NULL ? j->plan.cmd->name :
	    generator_name(j->plan.kind);
}

double
job_elapsed(struct job *j)
{
	uint64_t end = j->finished ? j->finished : now_ns();

	return (double)(end - j->submitted) / 1e9;
}

void
jobs_get_stats(struct jobs *jobs, struct jobs_stats *st)
{
	pthread_mutex_lock(&jobs->lock);
	*st = jobs->stats;
	pthread_mutex_unlock(&jobs->lock);
}

size_t
jobs_pending(struct jobs *jobs)
{
	size_t n;

	pthread_mutex_lock(&jobs->lock);
	n = jobs->ntable;
	pthread_mutex_unlock(&jobs->lock);
	return n;
}

void
jobs_describe(struct jobs *jobs, struct buf *out)
{
	uint64_t now = now_ns();

	pthread_mutex_lock(&jobs->lock);
	for (size_t i = 0; i < jobs->ntable; i++) {
		const struct job *j = jobs->table[i];
		bool running = j->state == JOB_RUNNING;
		buf_printf(out, "%-8s %7.1fs %-8s %s%s\n",
		    running ? "running" : "queued",
		    (double)(now - (running ? j->started : j->submitted)) / 1e9,
		    generator_name(j->plan.kind), j->plan.path,
		    j->prefetch ? " (ahead of a reader)" : "");
	}
	pthread_mutex_unlock(&jobs->lock);
}

void
jobs_errors(struct jobs *jobs, struct buf *out)
{
	pthread_mutex_lock(&jobs->lock);
	for (size_t i = 0; i < jobs->nerrors; i++) {
		size_t pos = (jobs->errpos + MAX_ERRORS - 1 - i) % MAX_ERRORS;
		const struct error_rec *r = &jobs->errors[pos];
		struct tm tm;
		char when[32];
		gmtime_r(&r->when, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		buf_printf(out, "%s %s\n", when, r->path);
		for (const char *s = r->msg; *s;) {
			size_t n = strcspn(s, "\n");
			buf_printf(out, "  %.*s\n", (int)n, s);
			s += n + (s[n] == '\n');
		}
	}
	pthread_mutex_unlock(&jobs->lock);
}

void
jobs_record_error(struct jobs *jobs, const char *path, const char *msg)
{
	pthread_mutex_lock(&jobs->lock);
	record_error(jobs, path, msg);
	pthread_mutex_unlock(&jobs->lock);
}

char *
jobs_error_for(struct jobs *jobs, const char *path)
{
	char *msg = NULL;

	pthread_mutex_lock(&jobs->lock);
	for (size_t i = 0; i < jobs->nerrors && msg == NULL; i++) {
		size_t pos = (jobs->errpos + MAX_ERRORS - 1 - i) % MAX_ERRORS;
		if (strcmp(jobs->errors[pos].path, path) == 0)
			msg = xstrdup(jobs->errors[pos].msg);
	}
	pthread_mutex_unlock(&jobs->lock);
	return msg;
}
