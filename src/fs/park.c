/* park.c -- requests parked for their part, without holding a FUSE thread:
 * an open (or, with exact_size, a lookup) waits in a table until the
 * fetch of its part ends or its reader is interrupted, and a thread
 * watches the readers of the interrupts declined. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs.h"

/*
 * Which interrupts end a wait.  The kernel sends one for any signal that
 * reaches a reader waiting in open or lookup, also one the reader handles
 * and then goes on (SIGCHLD in a CAD program, SIGWINCH in a terminal):
 * EINTR for those failed opens that programs do not retry.  So only a
 * reader being killed (Ctrl-C on cat) gets EINTR at once; the others wait
 * on for their part.  A fatal signal that comes later brings no second
 * interrupt: a thread looks at the readers of declined interrupts every
 * INTERRUPT_POLL_MS and answers those being killed.
 */
#define INTERRUPT_POLL_MS 50

/*
 * The request being parked by this thread.  An interrupt that came before
 * it was parked makes fuse_req_interrupt_func call `interrupted` at once,
 * with the request's lock held, which libfuse releases after the call: a
 * reply there would free the request under it.  Such an interrupt is only
 * noted, and answered by fs_park once that call returned.
 */
static __thread uint64_t parking_id;
static __thread bool parking_interrupted;

/* Where the parked request `id` is linked, or where it would be;
 * park.lock held. */
static struct pending **
slot(struct fs *fs, uint64_t id)
{
	struct pending **pp = &fs->park.list;

	while (*pp != NULL && (*pp)->id != id)
		pp = &(*pp)->next;
	return pp;
}

struct pending *
fs_unpark(struct fs *fs, uint64_t id)
{
	struct pending **pp, *p;

	pthread_mutex_lock(&fs->park.lock);
	if ((p = *(pp = slot(fs, id))) != NULL)
		*pp = p->next;
	pthread_mutex_unlock(&fs->park.lock);
	return p;
}

void
fs_pending_free(struct pending *p)
{
	fetch_unref(p->fetch);
	free(p->path);
	free(p);
}

void
fs_park_fetch(struct fs *fs, uint64_t id, struct fetch *f)
{
	struct pending *p;

	pthread_mutex_lock(&fs->park.lock);
	if ((p = *slot(fs, id)) != NULL) {
		fetch_unref(p->fetch);
		p->fetch = f;
	}
	pthread_mutex_unlock(&fs->park.lock);
	if (p == NULL)
		fetch_unref(f);
}

/* Signals whose default action ends a process (all but SIGCHLD, SIGCONT,
 * SIGURG, SIGWINCH and the stop signals), as a mask of /proc's bits. */
static unsigned long long
ending_by_default(void)
{
	static const int spare[] = { SIGCHLD, SIGCONT, SIGURG, SIGWINCH,
	    SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU };
	unsigned long long m = ~0ull;

	for (size_t i = 0; i < PF_ARRAY_LEN(spare); i++)
		m &= ~(1ull << (spare[i] - 1));
	return m;
}

/*
 * Is thread `tid` being killed?  That is, has it (or its process) a
 * signal pending that it neither blocks, nor handles, nor ignores, and
 * whose default action ends it; or SIGKILL, which the kernel adds for
 * such a signal when nothing else is pending.  A thread that is gone is
 * dead already.
 */
static bool
reader_dying(pid_t tid)
{
	unsigned long long v, pending = 0, blocked = 0, ignored = 0, caught = 0;
	unsigned long long kill = 1ull << (SIGKILL - 1);
	char path[64], line[256];
	FILE *fp;

	snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
	if ((fp = fopen(path, "re")) == NULL)
		return true;
	while (fgets(line, sizeof line, fp) != NULL) {
		if (sscanf(line, "SigPnd: %llx", &v) == 1 ||
		    sscanf(line, "ShdPnd: %llx", &v) == 1)
			pending |= v;
		else if (sscanf(line, "SigBlk: %llx", &v) == 1)
			blocked = v;
		else if (sscanf(line, "SigIgn: %llx", &v) == 1)
			ignored = v;
		else if (sscanf(line, "SigCgt: %llx", &v) == 1)
			caught = v;
	}
	fclose(fp);
	return (pending & kill) != 0 || (pending & ~blocked & ~ignored &
	    ~caught & ending_by_default()) != 0;
}

/* Answer a parked request with EINTR: its reader gives up, the part is
 * still made into the cache. */
static void
answer_interrupted(struct fs *fs, struct pending *p)
{
	atomic_fetch_add(&fs->interrupted, 1);
	fuse_reply_err(p->req, EINTR);
	fs_pending_free(p);
}

/* Answer the declined interrupts whose readers are being killed now:
 * whether any is left to watch. */
static bool
answer_dying(struct fs *fs)
{
	size_t left = 0;
	uint64_t ids[64];
	pid_t tids[64];
	struct pending *p;
	size_t n = 0;

	pthread_mutex_lock(&fs->park.lock);
	for (p = fs->park.list; p != NULL && n < PF_ARRAY_LEN(ids);
	    p = p->next)
		if (p->reader != 0) {
			ids[n] = p->id;
			tids[n++] = p->reader;
		}
	pthread_mutex_unlock(&fs->park.lock);
	for (size_t i = 0; i < n; i++) {
		if (!reader_dying(tids[i]))
			left++;
		else if ((p = fs_unpark(fs, ids[i])) != NULL)
			answer_interrupted(fs, p);
	}
	return left > 0;
}

static void *
interrupt_watch(void *arg)
{
	struct fs *fs = arg;
	struct interrupts *w = &fs->intr;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&w->lock);
	while (!w->stopping) {
		struct timespec ts;
		bool watching;

		/* nothing to watch: asleep until an interrupt is declined */
		while (!w->stopping && !w->poked)
			pthread_cond_wait(&w->cond, &w->lock);
		w->poked = false;
		do {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += INTERRUPT_POLL_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&w->cond, &w->lock, &ts);
			if (w->stopping)
				break;
			w->poked = false;
			pthread_mutex_unlock(&w->lock);
			watching = answer_dying(fs);
			pthread_mutex_lock(&w->lock);
		} while (watching || w->poked);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Keep request `id` parked after an interrupt of reader `tid`, watched:
 * false when it was answered already. */
static bool
decline_interrupt(struct fs *fs, uint64_t id, pid_t tid)
{
	struct interrupts *w = &fs->intr;
	struct pending *p;

	pthread_mutex_lock(&fs->park.lock);
	if ((p = *slot(fs, id)) != NULL)
		p->reader = tid;
	pthread_mutex_unlock(&fs->park.lock);
	if (p == NULL)
		return false;
	pthread_mutex_lock(&w->lock);
	if (!w->running && !w->stopping &&
	    pthread_create(&w->thread, NULL, interrupt_watch, fs) == 0)
		w->running = true;
	w->poked = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	/* no thread to watch for a later kill: the reader gets EINTR now */
	return w->running;
}

void
fs_interrupts_stop(struct fs *fs)
{
	struct interrupts *w = &fs->intr;
	bool running;

	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	running = w->running;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	if (running)
		pthread_join(w->thread, NULL);
}

static void
interrupted(fuse_req_t req, void *arg)
{
	struct fs *fs = fuse_req_userdata(req);
	uint64_t id = (uint64_t)(uintptr_t)arg;
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct pending *p;

	if (id == parking_id) {
		parking_interrupted = true;
		return;
	}
	/* a reader that handles the signal and goes on waits on (a pid of
	 * 0: the reader is not in our pid namespace; EINTR as before) */
	if (ctx->pid > 0 && !reader_dying(ctx->pid) &&
	    decline_interrupt(fs, id, ctx->pid))
		return;
	if ((p = fs_unpark(fs, id)) == NULL)
		return;             /* the fetch answered first */
	answer_interrupted(fs, p);
}

uint64_t
fs_park(struct fs *fs, fuse_req_t req, enum pending_kind kind,
    fuse_ino_t ino, fuse_ino_t parent, const char *path,
    const struct fuse_file_info *fi)
{
	struct pending *p = xcalloc(1, sizeof *p);
	uint64_t id;

	p->kind = kind;
	p->req = req;
	p->ino = ino;
	p->parent = parent;
	p->path = xstrdup(path);
	if (fi != NULL)
		p->fi = *fi;
	pthread_mutex_lock(&fs->park.lock);
	id = p->id = fs->park.next_id++;
	p->next = fs->park.list;
	fs->park.list = p;
	pthread_mutex_unlock(&fs->park.lock);
	/* nothing takes it out before the interrupt function is set */
	parking_id = id;
	parking_interrupted = false;
	fuse_req_interrupt_func(req, interrupted, (void *)(uintptr_t)id);
	parking_id = 0;
	if (parking_interrupted)
		interrupted(req, (void *)(uintptr_t)id);
	return id;
}
