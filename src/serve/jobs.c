/* jobs.c -- the jobs of partsctl serve that clients poll: ids given to
 * fetches under way, and GET /jobs/<id>. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "partsfs/serve/jobs.h"
#include "partsfs/serve/problem.h"

struct jobent {
	char id[ROUTE_JOB_LEN + 1];
	struct fetch *f;
	double finished;          /* when it was first seen finished; 0 */
};

struct jobtab {
	pthread_mutex_t lock;
	struct jobent *v;
	size_t n, cap;
};

struct jobtab *
jobtab_new(void)
{
	struct jobtab *t = xcalloc(1, sizeof *t);

	pthread_mutex_init(&t->lock, NULL);
	return t;
}

void
jobtab_free(struct jobtab *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		fetch_unref(t->v[i].f);
	free(t->v);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static bool
over(struct fetch *f)
{
	enum fetch_state st = fetch_state(f);

	return st == FETCH_DONE || st == FETCH_FAILED;
}

/* Drop the jobs finished long ago, and the oldest finished ones beyond
 * JOBTAB_MAX; t->lock held. */
static void
expire(struct jobtab *t, double now)
{
	size_t j = 0;

	for (size_t i = 0; i < t->n; i++) {
		struct jobent *e = &t->v[i];
		if (e->finished == 0 && over(e->f))
			e->finished = now;
		if (e->finished != 0 && (now - e->finished > JOBTAB_KEEP ||
		    t->n - (i - j) > JOBTAB_MAX)) {
			fetch_unref(e->f);
			continue;
		}
		t->v[j++] = *e;
	}
	t->n = j;
}

void
jobtab_add(struct jobtab *t, struct fetch *f, char id[ROUTE_JOB_LEN + 1])
{
	unsigned char rnd[ROUTE_JOB_LEN / 2];
	struct jobent *e;

	pthread_mutex_lock(&t->lock);
	expire(t, now_s());
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].finished == 0 && !over(t->v[i].f) &&
		    strcmp(fetch_path(t->v[i].f), fetch_path(f)) == 0) {
			memcpy(id, t->v[i].id, ROUTE_JOB_LEN + 1);
			pthread_mutex_unlock(&t->lock);
			return;
		}
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
		/* not before the pool is ready: unique at least */
		uint64_t x = now_ns() ^ (uint64_t)t->n << 40;
		memcpy(rnd, &x, sizeof rnd < sizeof x ? sizeof rnd : sizeof x);
	}
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->v = xreallocarray(t->v, t->cap, sizeof *t->v);
	}
	e = &t->v[t->n++];
	memcpy(e->id, id, ROUTE_JOB_LEN + 1);
	e->f = fetch_ref(f);
	e->finished = 0;
	pthread_mutex_unlock(&t->lock);
}

struct fetch *
jobtab_get(struct jobtab *t, const char *id)
{
	struct fetch *f = NULL;

	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < t->n && f == NULL; i++)
		if (strcmp(t->v[i].id, id) == 0)
			f = fetch_ref(t->v[i].f);
	pthread_mutex_unlock(&t->lock);
	return f;
}

json_t *
jobs_progress(struct fetch *f)
{
	enum fetch_state st = fetch_state(f);
	const char *engine = fetch_executor(f);
	json_t *j = json_object();

	json_object_set_new(j, "state", json_string(st == FETCH_RUNNING ?
	    "running" : st == FETCH_DONE ? "done" : st == FETCH_FAILED ?
	    "failed" : "queued"));
	json_object_set_new(j, "seconds",
	    json_real((double)(long long)(fetch_elapsed(f) * 10) / 10));
	json_object_set_new(j, "path", json_string(fetch_path(f)));
	if (engine != NULL)
		json_object_set_new(j, "engine", json_string(engine));
	return j;
}

void
jobs_answer(struct jobtab *t, struct http_req *r, const char *id)
{
	static const char *const later[] = { "Retry-After", "1",
	    "Cache-Control", "no-store", NULL };
	struct fetch *f = jobtab_get(t, id);
	struct buf loc = BUF_INIT;
	json_t *p;

	if (f == NULL) {
		p = problem_new(404, "unknown-job", "No such job", NULL);
		json_object_set_new(p, "detail", json_string("no job has this "
		    "id (jobs are kept ten minutes after they end)"));
		http_reply_problem(r, p, NULL);
		return;
	}
	switch (fetch_state(f)) {
	case FETCH_DONE: {
		const char *h[] = { "Location", NULL, "Cache-Control",
		    "no-store", NULL };
		buf_adds(&loc, "/files/");
		route_escape(fetch_path(f), &loc);
		h[1] = buf_str(&loc);
		http_reply_json(r, 303, jobs_progress(f), h);
		break;
	}
	case FETCH_FAILED:
		http_reply_problem(r, problem_of_fetch(f), NULL);
		break;
	default:
		http_reply_json(r, 202, jobs_progress(f), later);
		break;
	}
	buf_free(&loc);
	fetch_unref(f);
}
