/* job.h -- the job engine: a bounded pool of worker threads making parts,
 * one job per cache key however many ask for it, waiting without polling
 * (condition variables and completion callbacks), and a record of recent
 * failures. */
#ifndef PARTSFS_JOB_H
#define PARTSFS_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "partsfs/cache/cache.h"
#include "partsfs/make/exec.h"

struct jobs;
struct job;

enum job_state {
	JOB_QUEUED,
	JOB_RUNNING,
	JOB_DONE,
	JOB_FAILED,
};

struct jobs_stats {
	uint64_t submitted;      /* requests that needed a job */
	uint64_t joined;         /* ... that found one already under way */
	uint64_t runs;           /* engine runs started */
	uint64_t done;
	uint64_t failed;
	uint64_t stale;          /* not stored: the module changed meanwhile */
	uint64_t prefetched;     /* jobs started ahead of a reader */
};

/* A pool of `workers` threads (0: one per CPU) making parts into `cache`. */
struct jobs *jobs_new(const struct exec_env *env, int workers);
/* Stop: queued jobs fail, running engines are killed (their jobs fail
 * without being remembered as failures), new jobs fail at once.  Safe
 * from any thread, any number of times. */
void jobs_stop(struct jobs *jobs);
/* jobs_stop, then the workers are joined and everything freed. */
void jobs_free(struct jobs *jobs);
/* Have fn(arg, path, fd, entry) called, in the worker, each time a job
 * finds its part in the cache, made by it or by another process, before
 * anyone waiting for the job hears of it.  `fd` is the part, open and
 * checked against its row: the hook reads it with pread and leaves it
 * open.  Set once, before the first job. */
void jobs_on_made(struct jobs *jobs, void (*fn)(void *arg, const char *path,
    int fd, const struct cache_entry *entry), void *arg);

/*
 * The job making `plan` (copied): the one under way for its key if there
 * is one, else a new one, queued.  A prefetch job waits behind every
 * normal job and becomes normal when someone asks for it.  Returns a
 * reference (job_unref when done with it).  A failure recorded for the key
 * in the cache (unexpired) gives a job that has already failed.
 */
struct job *jobs_submit(struct jobs *jobs, const struct plan *plan,
    bool prefetch);

/* Wait for the job to finish, at most `timeout` seconds (< 0: no limit).
 * Returns its state. */
enum job_state job_wait(struct job *job, double timeout);
enum job_state job_state(struct job *job);
/* Call fn(arg, job) once the job has finished: at once (in this thread)
 * when it has, else from the worker that finishes it.  Waiters never
 * cancel a job. */
void job_notify(struct job *job, void (*fn)(void *arg, struct job *job),
    void *arg);

/* A finished job's result (DONE) or error text (FAILED); valid while the
 * job is referenced. */
const struct cache_entry *job_result(struct job *job);
const char *job_error(struct job *job);
/* A done job's blob, open for reading and marked in use (see
 * cache_blob_open) since the moment it was published or found (a job
 * that finds its part's row without its file makes it again): a new
 * descriptor the caller closes; -1 when the job is not done, or no
 * descriptor is left. */
int job_blob_fd(struct job *job);
/* Failed because a file its key digests changed while it was made (see
 * plan_sources_check): planning the part again gives the new key. */
bool job_stale(struct job *job);
/* Failed for want of room or another system error (no scratch space, the
 * part could not be stored), or because the pool stops: not the engine's
 * fault nor the part's. */
bool job_system(struct job *job);
const char *job_path(struct job *job);
/* The job's plan; a finished job's version and key are final (a plan
 * whose version was pending is keyed once its job learnt it). */
const struct plan *job_plan(struct job *job);
/* The engine making it: "openscad", "freecad" or the command's name. */
const char *job_executor(struct job *job);
double job_elapsed(struct job *job);

struct job *job_ref(struct job *job);
void job_unref(struct job *job);

void jobs_get_stats(struct jobs *jobs, struct jobs_stats *st);
/* One line per queued or running job: state, elapsed, executor, path. */
void jobs_describe(struct jobs *jobs, struct buf *out);
/* The recent failures, newest first: time, path, message. */
void jobs_errors(struct jobs *jobs, struct buf *out);
/* Record a failure that no job had (a part that cannot be planned), so
 * that it shows with the others. */
void jobs_record_error(struct jobs *jobs, const char *path, const char *msg);
/* The last failure recorded for a tree path, or NULL (caller frees). */
char *jobs_error_for(struct jobs *jobs, const char *path);
/* Number of jobs queued or running. */
size_t jobs_pending(struct jobs *jobs);

#endif
