/* fetch.c -- the one request path of the core for "give me this part":
 * planning, the cache, the job that makes it, and the policy when things
 * move underneath (a module edited while its engine ran, a part evicted
 * before it could be opened), for every front end alike. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "partsfs/core/fetch.h"
#include "partsfs/make/job.h"
#include "partsfs/make/plan.h"
#include "partsfs/util/log.h"

/* A stale job is planned again, and an evicted part asked for again, this
 * many times at most (a file that changes all the time). */
#define FETCH_TRIES 3

struct fetch {
	struct core *core;
	atomic_uint refs;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned flags;
	char *path;
	uint64_t started;
	/* under lock */
	enum fetch_state state;
	bool in_call;               /* core_fetch has not returned yet */
	void (*done)(void *, struct fetch *);
	void *arg;
	int replans;
	int reopens;
	bool keyed;
	struct cache_key key;       /* pinned while keyed */
	struct job *job;
	struct plan plan;           /* FETCH_PLAN: the last one made */
	bool planned;
	int fd;
	struct stat st;
	int err;
	char *error;
	bool system;
};

static void attempt(struct fetch *f, const struct pnode *part);

struct fetch *
fetch_ref(struct fetch *f)
{
	atomic_fetch_add(&f->refs, 1);
	return f;
}

void
fetch_unref(struct fetch *f)
{
	if (f == NULL || atomic_fetch_sub(&f->refs, 1) != 1)
		return;
	if (f->keyed)
		cache_unpin(f->core->cache, &f->key);
	job_unref(f->job);
	if (f->planned)
		plan_clear(&f->plan);
	if (f->fd != -1)
		close(f->fd);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f->error);
	free(f->path);
	free(f);
}

static bool
finished(enum fetch_state st)
{
	return st == FETCH_DONE || st == FETCH_FAILED;
}

/* Finish the fetch in state `st` (its fields set by the caller, the lock
 * not held): the waiters hear of it, and `done` is called unless
 * core_fetch is still running on the caller's thread (it then returns 1).
 * Drops the reference the step that finishes it held. */
static void
finish(struct fetch *f, enum fetch_state st)
{
	void (*done)(void *, struct fetch *) = NULL;
	void *arg = NULL;

	pthread_mutex_lock(&f->lock);
	f->state = st;
	if (!f->in_call) {
		done = f->done;
		arg = f->arg;
	}
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	if (done != NULL)
		done(arg, f);
	fetch_unref(f);
}

static void
fail(struct fetch *f, int err, bool system, const char *msg, bool record)
{
	free(f->error);
	f->error = xstrdup(msg != NULL ? msg : strerror(err));
	f->err = err;
	f->system = system;
	if (record && !(f->flags & FETCH_AHEAD))
		jobs_record_error(f->core->jobs, f->path, f->error);
	finish(f, FETCH_FAILED);
}

/* The part open as `fd` (taken over, marked in use): done. */
static void
opened(struct fetch *f, int fd)
{
	if (fstat(fd, &f->st) == -1) {
		int err = errno;
		close(fd);
		fail(f, err, true, NULL, false);
		return;
	}
	f->fd = fd;
	finish(f, FETCH_DONE);
}

/* The key of the part is known: pinned from now on (the one before, of
 * a plan made again, is not). */
static void
set_key(struct fetch *f, const struct cache_key *key)
{
	struct cache *cache = f->core->cache;

	cache_pin(cache, key);
	pthread_mutex_lock(&f->lock);
	if (f->keyed)
		cache_unpin(cache, &f->key);
	f->key = *key;
	f->keyed = true;
	pthread_mutex_unlock(&f->lock);
}

/* The plan made (a plan made again replaces the one before): its key is
 * pinned from now on (a plan whose version is pending has none yet: its
 * job's, once known, see job_keyed), and with FETCH_PLAN it is kept
 * (taken over). */
static void
set_plan(struct fetch *f, struct plan *plan)
{
	struct plan old = { 0 };

	if (!plan->version_pending)
		set_key(f, &plan->key);
	pthread_mutex_lock(&f->lock);
	if (f->flags & FETCH_PLAN) {
		if (f->planned)
			old = f->plan;
		f->plan = *plan;
		f->planned = true;
		memset(plan, 0, sizeof *plan);
	}
	pthread_mutex_unlock(&f->lock);
	plan_clear(&old);
}

/* Plan the part again from the library as it is now (a live edit may
 * have changed or removed it). */
static void
replan(struct fetch *f)
{
	struct library *lib = core_library(f->core);
	struct pnode node;
	bool part;

	if (pnode_lookup(lib, f->path, &node, NULL) != 0)
		part = false;
	else {
		part = node.kind == PN_PART && node.fmt != FMT_JSON;
		if (part)
			attempt(f, &node);
		pnode_clear(&node);
	}
	if (!part)
		fail(f, ENOENT, false, "the part went in a live edit of the "
		    "library", false);
	library_unref(lib);
}

/* The job has finished: a plan whose version was pending is keyed now,
 * with the version its job learnt, and so is the fetch. */
static void
job_keyed(struct fetch *f, struct job *job)
{
	const struct plan *jp = job_plan(job);
	struct cache_key key;

	if (jp->version_pending || (fetch_key(f, &key) &&
	    strcmp(key.hex, jp->key.hex) == 0))
		return;
	set_key(f, &jp->key);
	pthread_mutex_lock(&f->lock);
	if (f->planned && f->plan.version_pending)
		plan_set_version(&f->core->env, &f->plan, jp->version);
	pthread_mutex_unlock(&f->lock);
}

/* The job of the fetch has finished. */
static void
job_done(void *arg, struct job *job)
{
	struct fetch *f = arg;
	const struct cache_entry *made;
	struct cache_key key;
	int fd, tries;

	job_keyed(f, job);
	if (job_state(job) == JOB_DONE) {
		/* the job's own descriptor, held in use since the part was
		 * published (hashed as it was) or found (and checked, as
		 * cache_lookup_open does): by its path, the part may be gone
		 * already (a cache clear, another process's eviction), or
		 * have changed, and is checked again */
		if ((fd = job_blob_fd(job)) == -1 &&
		    (made = job_result(job)) != NULL && fetch_key(f, &key))
			fd = cache_blob_serve(f->core->cache, &key, made->fmt,
			    NULL);
		if (fd != -1) {
			opened(f, fd);
			return;
		}
		pthread_mutex_lock(&f->lock);
		tries = f->reopens++;
		pthread_mutex_unlock(&f->lock);
		if (tries < FETCH_TRIES) {
			log_info("%s went from the cache before it could be "
			    "read; made again", f->path);
			replan(f);
		} else
			fail(f, EIO, true, "the part went from the cache "
			    "before it could be read, again and again", true);
		return;
	}
	pthread_mutex_lock(&f->lock);
	tries = job_stale(job) ? f->replans : FETCH_TRIES;
	if (tries < FETCH_TRIES)
		f->replans++;
	pthread_mutex_unlock(&f->lock);
	if (tries < FETCH_TRIES) {
		/* the reader gets the part of the module as it is now */
		log_info("%s; planned again", job_error(job));
		replan(f);
		return;
	}
	/* planned again as often as it may be, and stale once more: say
	 * why with the others (a job's own failure is recorded by it) */
	fail(f, EIO, job_system(job), job_error(job), job_stale(job));
}

/*
 * Plan `part` (of a snapshot the caller holds) and find or make it.  A
 * part whose engine's version is not known yet is planned with the
 * version pending, and its job asks for it beside the engine (never on
 * this thread); a part made ahead is given up instead.  The fetch ends up
 * finished, or waiting for its job, which holds a reference of its own
 * for it.
 */
static void
attempt(struct fetch *f, const struct pnode *part)
{
	struct core *c = f->core;
	struct cache_entry hit = { 0 };
	struct perr e = { 0 };
	struct cache_key key;
	struct plan plan;
	struct job *job;
	bool pending;
	int r, fd;

	/* an engine whose version is not known yet is asked beside the
	 * job (plan_make_deferred); a part made ahead is not worth it */
	r = (f->flags & FETCH_AHEAD) ? plan_make_now(&c->env, part, &plan, &e) :
	    plan_make_deferred(&c->env, part, &plan, &e);
	if (r == -EWOULDBLOCK && (f->flags & FETCH_AHEAD)) {
		fail(f, EWOULDBLOCK, false, e.msg, false);
		return;
	}
	if (r != 0) {
		/* no engine for it, or none installed: say why */
		fail(f, e.code != 0 ? e.code : EIO, false, e.msg, true);
		return;
	}
	key = plan.key;
	pending = plan.version_pending;
	/* pinned before the lookup, so that no eviction of this
	 * process takes the part before it is open */
	set_plan(f, &plan);
	/* opened as it is looked up and checked (another process's
	 * eviction, prune or clear may take it any time): a part
	 * gone, or set aside as damaged, is a miss, and its job
	 * makes it again; a provisional key is no part's */
	if (!pending &&
	    cache_lookup_open(c->cache, &key, &hit, &fd, NULL) == 1) {
		cache_entry_clear(&hit);
		plan_clear(&plan);
		atomic_fetch_add(&c->hits, 1);
		opened(f, fd);
		return;
	}
	if (!(f->flags & FETCH_AHEAD))
		atomic_fetch_add(&c->misses, 1);
	job = jobs_submit(c->jobs, (f->flags & FETCH_PLAN) ? &f->plan :
	    &plan, (f->flags & FETCH_AHEAD) != 0);
	plan_clear(&plan);
	pthread_mutex_lock(&f->lock);
	job_unref(f->job);
	f->job = job_ref(job);
	f->state = FETCH_QUEUED;
	pthread_mutex_unlock(&f->lock);
	job_notify(job, job_done, f);
	job_unref(job);
}

int
core_fetch(struct core *c, const struct pnode *part, unsigned flags,
    void (*done)(void *arg, struct fetch *f), void *arg, struct fetch **fp)
{
	struct fetch *f = xcalloc(1, sizeof *f);
	struct buf b = BUF_INIT;
	bool over;

	f->core = c;
	atomic_init(&f->refs, 2);       /* the caller's, and the steps' */
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->flags = flags;
	pnode_path(part, &b);
	f->path = buf_steal(&b);
	f->started = now_ns();
	f->fd = -1;
	f->done = done;
	f->arg = arg;
	f->in_call = true;
	attempt(f, part);
	pthread_mutex_lock(&f->lock);
	f->in_call = false;
	over = finished(f->state);
	pthread_mutex_unlock(&f->lock);
	*fp = f;
	return over ? 1 : 0;
}

enum fetch_state
fetch_wait(struct fetch *f, double timeout)
{
	struct timespec deadline;
	enum fetch_state st;

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
	pthread_mutex_lock(&f->lock);
	while (!finished(f->state)) {
		if (timeout < 0)
			pthread_cond_wait(&f->cond, &f->lock);
		else if (pthread_cond_timedwait(&f->cond, &f->lock,
		    &deadline) == ETIMEDOUT)
			break;
	}
	st = f->state;
	pthread_mutex_unlock(&f->lock);
	return st;
}

enum fetch_state
fetch_state(struct fetch *f)
{
	enum fetch_state st;
	struct job *job = NULL;

	pthread_mutex_lock(&f->lock);
	st = f->state;
	if (st == FETCH_QUEUED && f->job != NULL)
		job = job_ref(f->job);
	pthread_mutex_unlock(&f->lock);
	if (job != NULL) {
		if (job_state(job) == JOB_RUNNING)
			st = FETCH_RUNNING;
		job_unref(job);
	}
	return st;
}

int
fetch_fd(struct fetch *f)
{
	if (fetch_state(f) != FETCH_DONE) {
		errno = EAGAIN;
		return -1;
	}
	/* opened again, not duplicated: a file position of its own for
	 * every reader (the part may have left its place in the cache
	 * meanwhile; its file is still this one) */
	return cache_blob_reopen(f->fd);
}

const struct stat *
fetch_stat(struct fetch *f)
{
	return fetch_state(f) == FETCH_DONE ? &f->st : NULL;
}

int
fetch_errno(struct fetch *f)
{
	return fetch_state(f) == FETCH_FAILED ? f->err : 0;
}

const char *
fetch_error(struct fetch *f)
{
	return fetch_state(f) == FETCH_FAILED ? f->error : NULL;
}

bool
fetch_system(struct fetch *f)
{
	return fetch_state(f) == FETCH_FAILED && f->system;
}

const char *
fetch_path(struct fetch *f)
{
	return f->path;
}

bool
fetch_key(struct fetch *f, struct cache_key *key)
{
	bool keyed;

	pthread_mutex_lock(&f->lock);
	if ((keyed = f->keyed))
		*key = f->key;
	pthread_mutex_unlock(&f->lock);
	return keyed;
}

double
fetch_elapsed(struct fetch *f)
{
	return (double)(now_ns() - f->started) / 1e9;
}

const char *
fetch_executor(struct fetch *f)
{
	const char *name;

	pthread_mutex_lock(&f->lock);
	name = f->job != NULL ? job_executor(f->job) : NULL;
	pthread_mutex_unlock(&f->lock);
	return name;
}

const struct plan *
fetch_plan(struct fetch *f)
{
	return f->planned ? &f->plan : NULL;
}

bool
fetch_plan_copy(struct fetch *f, struct plan *out)
{
	bool planned;

	pthread_mutex_lock(&f->lock);
	if ((planned = f->planned))
		plan_copy(out, &f->plan);
	pthread_mutex_unlock(&f->lock);
	return planned;
}

int
fetch_replans(struct fetch *f)
{
	int n;

	pthread_mutex_lock(&f->lock);
	n = f->replans + f->reopens;
	pthread_mutex_unlock(&f->lock);
	return n;
}
