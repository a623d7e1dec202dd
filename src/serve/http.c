/* http.c -- the HTTP server of partsctl serve on GNU libmicrohttpd: one
 * daemon per listening address, answering with a site's handler on a
 * pool of epoll threads; requests waiting for a part suspended (no thread
 * held) until woken; a thread for wait limits and for closing
 * connections that take too long to send a request. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mhd-lazy.h"
#include "partsfs/serve/http.h"
#include "partsfs/serve/problem.h"

/* A connection, for closing those that take too long to send their
 * request's headers (a client sending a byte a second). */
struct hconn {
	int fd;
	double since;          /* when it began waiting for a request */
	bool busy;             /* its request arrived, being answered */
	struct hconn *prev, *next;
};

/* A wait's time limit. */
struct timer {
	double at;
	struct http_req *r;
	struct timer *next;
};

struct http_daemon {
	struct MHD_Daemon *mhd;
	const struct http_site *site;
	char *address;
	double timeout;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* under lock */
	struct hconn *conns;
	size_t nconns;
	size_t limit;                  /* connections at once (admit) */
	struct http_req *waiting;      /* suspended requests */
	size_t nwaiting;
	struct timer *timers;          /* soonest first */
	bool stopping;
	bool ending;                   /* the timer thread ends */
	pthread_t thread;
};

struct http_req {
	atomic_uint refs;
	struct http_daemon *d;
	struct MHD_Connection *conn;   /* NULL once done */
	char *url;
	char *method;
	void *state;
	void (*state_free)(void *);
	bool replied;
	pthread_mutex_t lock;
	/* under lock */
	bool suspended;
	bool woken;
	/* under d->lock, while suspended */
	struct http_req *prev, *next;
};

struct http_req *
http_req_ref(struct http_req *r)
{
	atomic_fetch_add(&r->refs, 1);
	return r;
}

void
http_req_unref(struct http_req *r)
{
	if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	if (r->state_free != NULL)
		r->state_free(r->state);
	pthread_mutex_destroy(&r->lock);
	free(r->url);
	free(r->method);
	free(r);
}

const char *
http_method(const struct http_req *r)
{
	return r->method;
}

const char *
http_url(const struct http_req *r)
{
	return r->url;
}

const char *
http_header(struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *
http_arg(struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    name);
}

bool
http_has_arg(struct http_req *r, const char *name)
{
	/* the _n lookup tells a key without a value ("?stat") from none */
	return MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND,
	    name, strlen(name), NULL, NULL) == MHD_YES;
}

const struct http_site *
http_site_of(const struct http_req *r)
{
	return r->d->site;
}

void *
http_state(const struct http_req *r)
{
	return r->state;
}

void
http_set_state(struct http_req *r, void *state, void (*fn)(void *))
{
	r->state = state;
	r->state_free = fn;
}

bool
http_replied(const struct http_req *r)
{
	return r->replied;
}

static void
add_headers(struct MHD_Response *resp, const char *const *headers)
{
	for (size_t i = 0; headers != NULL && headers[i] != NULL &&
	    headers[i + 1] != NULL; i += 2)
		MHD_add_response_header(resp, headers[i], headers[i + 1]);
}

static void
queue(struct http_req *r, int status, struct MHD_Response *resp,
    const char *type, const char *const *headers)
{
	if (resp == NULL) {
		r->replied = true;
		return;
	}
	if (type != NULL)
		MHD_add_response_header(resp, "Content-Type", type);
	add_headers(resp, headers);
	MHD_queue_response(r->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	r->replied = true;
}

void
http_reply_buf(struct http_req *r, int status, const char *type,
    const void *data, size_t n, const char *const *headers)
{
	queue(r, status, MHD_create_response_from_buffer(n, (void *)data,
	    MHD_RESPMEM_MUST_COPY), type, headers);
}

void
http_reply_json(struct http_req *r, int status, json_t *j,
    const char *const *headers)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
	size_t n;

	json_decref(j);
	if (s == NULL)
		s = xstrdup("null");
	n = strlen(s);
	s = xrealloc(s, n + 2);
	s[n++] = '\n';
	s[n] = '\0';
	queue(r, status, MHD_create_response_from_buffer(n, s,
	    MHD_RESPMEM_MUST_FREE), "application/json", headers);
}

void
http_reply_problem(struct http_req *r, json_t *p, const char *const *headers)
{
	json_t *ra = json_object_get(p, "retry-after");
	int status = problem_status(p);
	char *s = json_dumps(p, JSON_COMPACT | JSON_ENSURE_ASCII);
	struct MHD_Response *resp;
	char after[32];

	json_decref(p);
	if (s == NULL)
		s = xstrdup("{}");
	resp = MHD_create_response_from_buffer(strlen(s), s,
	    MHD_RESPMEM_MUST_FREE);
	if (resp != NULL && json_is_integer(ra)) {
		snprintf(after, sizeof after, "%jd",
		    (intmax_t)json_integer_value(ra));
		MHD_add_response_header(resp, "Retry-After", after);
	}
	queue(r, status, resp, PROBLEM_MIME, headers);
}

void
http_reply_fd(struct http_req *r, int status, const char *type, int fd,
    uint64_t off, uint64_t len, const char *const *headers)
{
	struct MHD_Response *resp = MHD_create_response_from_fd_at_offset64(
	    len, fd, off);

	if (resp == NULL)
		close(fd);
	queue(r, status, resp, type, headers);
}

/* Add a timer for r (a reference is taken); d->lock held. */
static void
add_timer(struct http_daemon *d, struct http_req *r, double at)
{
	struct timer **tp = &d->timers, *t = xmalloc(sizeof *t);

	t->at = at;
	t->r = http_req_ref(r);
	while (*tp != NULL && (*tp)->at <= at)
		tp = &(*tp)->next;
	t->next = *tp;
	*tp = t;
	pthread_cond_signal(&d->cond);
}

void
http_wait(struct http_req *r, double timeout)
{
	struct http_daemon *d = r->d;
	bool stopping;

	pthread_mutex_lock(&d->lock);
	stopping = d->stopping;
	if (!stopping && timeout >= 0)
		add_timer(d, r, now_s() + timeout);
	pthread_mutex_unlock(&d->lock);
	if (stopping) {
		http_reply_problem(r, problem_new(503, "stopping", "The server "
		    "is stopping", "ask again when it is back"), NULL);
		return;
	}
	pthread_mutex_lock(&r->lock);
	if (r->woken)
		r->woken = false;
	else {
		MHD_suspend_connection(r->conn);
		r->suspended = true;
		pthread_mutex_lock(&d->lock);
		r->prev = NULL;
		r->next = d->waiting;
		if (d->waiting != NULL)
			d->waiting->prev = r;
		d->waiting = r;
		d->nwaiting++;
		pthread_mutex_unlock(&d->lock);
		http_req_ref(r);       /* the waiting list's */
	}
	pthread_mutex_unlock(&r->lock);
}

void
http_wake(struct http_req *r)
{
	struct http_daemon *d = r->d;
	bool unref = false;

	pthread_mutex_lock(&r->lock);
	if (r->suspended) {
		r->suspended = false;
		pthread_mutex_lock(&d->lock);
		if (r->prev != NULL)
			r->prev->next = r->next;
		else
			d->waiting = r->next;
		if (r->next != NULL)
			r->next->prev = r->prev;
		d->nwaiting--;
		pthread_mutex_unlock(&d->lock);
		MHD_resume_connection(r->conn);
		unref = true;
	} else if (r->conn != NULL)
		r->woken = true;
	pthread_mutex_unlock(&r->lock);
	if (unref)
		http_req_unref(r);
}

static struct hconn *
hconn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

/* libmicrohttpd's access handler: the site's handler, again after each
 * wait; a request whose wait ended before it began is answered again at
 * once. */
static enum MHD_Result
answer(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct http_daemon *d = cls;
	struct http_req *r = *con_cls;
	struct hconn *hc;

	(void)version, (void)upload;
	if (r == NULL) {
		r = xcalloc(1, sizeof *r);
		atomic_init(&r->refs, 1);
		r->d = d;
		r->conn = conn;
		r->url = xstrdup(url);
		r->method = xstrdup(method);
		pthread_mutex_init(&r->lock, NULL);
		*con_cls = r;
		if ((hc = hconn_of(conn)) != NULL) {
			pthread_mutex_lock(&d->lock);
			hc->busy = true;
			pthread_mutex_unlock(&d->lock);
		}
		/* a reply queued before the request is read whole closes the
		 * connection: GET and HEAD are answered at the next call, the
		 * others (refused) at once */
		if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
			return MHD_YES;
	}
	if (*upload_size != 0 || r->replied) {
		*upload_size = 0;      /* a body nobody reads */
		return MHD_YES;
	}
	for (;;) {
		d->site->answer(d->site->arg, r);
		if (r->replied)
			return MHD_YES;
		pthread_mutex_lock(&r->lock);
		if (!r->suspended && !r->woken) {
			pthread_mutex_unlock(&r->lock);
			http_reply_problem(r, problem_new(500, NULL, "Internal "
			    "Server Error", "the request got no answer"), NULL);
			return MHD_YES;
		}
		if (r->suspended) {
			pthread_mutex_unlock(&r->lock);
			return MHD_YES;
		}
		/* woken before it could wait: at once again */
		r->woken = false;
		pthread_mutex_unlock(&r->lock);
	}
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_daemon *d = cls;
	struct http_req *r = *con_cls;
	struct hconn *hc = hconn_of(conn);

	(void)toe;
	if (hc != NULL) {
		pthread_mutex_lock(&d->lock);
		hc->busy = false;
		hc->since = now_s();
		pthread_mutex_unlock(&d->lock);
	}
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->conn = NULL;
	r->woken = false;
	pthread_mutex_unlock(&r->lock);
	*con_cls = NULL;
	http_req_unref(r);
}

/*
 * Whether a new connection may come in: fewer than the limit are open.
 * libmicrohttpd divides its own limit among the threads of its pool, and
 * which thread accepts a connection is a race that one thread may win
 * most of the time (on a busy machine, 768 of 1000 connections at once),
 * so that it refused connections far below the limit; each thread may now
 * hold the whole limit, and the limit is kept here, over all threads.
 * Connections the threads accept at the very same moment all count the
 * ones open before them: a few more than the limit (fewer than the
 * threads) may be open for that moment.
 */
static enum MHD_Result
admit(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct http_daemon *d = cls;
	bool room;

	(void)addr;
	(void)addrlen;
	pthread_mutex_lock(&d->lock);
	room = d->nconns < d->limit;
	pthread_mutex_unlock(&d->lock);
	return room ? MHD_YES : MHD_NO;
}

static void
notify_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct http_daemon *d = cls;
	const union MHD_ConnectionInfo *ci;
	struct hconn *hc;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		hc = xcalloc(1, sizeof *hc);
		ci = MHD_get_connection_info(conn,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		hc->fd = ci != NULL ? ci->connect_fd : -1;
		hc->since = now_s();
		pthread_mutex_lock(&d->lock);
		hc->next = d->conns;
		if (d->conns != NULL)
			d->conns->prev = hc;
		d->conns = hc;
		d->nconns++;
		pthread_mutex_unlock(&d->lock);
		*socket_context = hc;
		return;
	}
	if ((hc = *socket_context) == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	if (hc->prev != NULL)
		hc->prev->next = hc->next;
	else
		d->conns = hc->next;
	if (hc->next != NULL)
		hc->next->prev = hc->prev;
	d->nconns--;
	pthread_mutex_unlock(&d->lock);
	*socket_context = NULL;
	free(hc);
}

/*
 * The daemon's own thread: ends the waits whose time is up, and closes
 * (shutdown(2): libmicrohttpd then sees the end and frees it) every
 * connection that has been sending its request's headers, or idle, for
 * longer than the timeout: a client trickling a byte a second holds a
 * connection for that long at most, never a thread.
 */
static void *
timer_thread(void *arg)
{
	struct http_daemon *d = arg;
	struct timespec ts;
	double now, next_sweep = 0;

	pthread_mutex_lock(&d->lock);
	while (!d->ending) {
		now = now_s();
		while (d->timers != NULL && d->timers->at <= now) {
			struct timer *t = d->timers;
			d->timers = t->next;
			pthread_mutex_unlock(&d->lock);
			http_wake(t->r);
			http_req_unref(t->r);
			free(t);
			pthread_mutex_lock(&d->lock);
		}
		if (now >= next_sweep) {
			for (struct hconn *hc = d->conns; hc != NULL;
			    hc = hc->next)
				if (!hc->busy && hc->fd != -1 &&
				    now - hc->since > d->timeout) {
					shutdown(hc->fd, SHUT_RDWR);
					hc->fd = -1;
				}
			next_sweep = now + 0.5;
		}
		now = d->timers != NULL && d->timers->at < next_sweep ?
		    d->timers->at : next_sweep;
		ts.tv_sec = (time_t)now;
		ts.tv_nsec = (long)((now - (double)ts.tv_sec) * 1e9);
		/* now_s is CLOCK_MONOTONIC, as the condition's clock */
		pthread_cond_timedwait(&d->cond, &d->lock, &ts);
	}
	while (d->timers != NULL) {
		struct timer *t = d->timers;
		d->timers = t->next;
		http_req_unref(t->r);
		free(t);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

/* Take no %-decoding from the server: route.c decodes paths, so that an
 * escaped slash or NUL is seen as such. */
static size_t
keep_escapes(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls, (void)c;
	return strlen(s);
}

/* Split "HOST:PORT" / "[V6]:PORT" and resolve it. */
static int
resolve(const char *addr, struct addrinfo **res, struct perr *e)
{
	struct addrinfo hints = { 0 };
	const char *colon = strrchr(addr, ':');
	char *host;
	int rc;

	if (colon == NULL)
		return perr_set(e, EINVAL, "'%s' is not HOST:PORT", addr);
	if (addr[0] == '[' && colon > addr + 1 && colon[-1] == ']')
		host = xstrndup(addr + 1, (size_t)(colon - addr - 2));
	else
		host = xstrndup(addr, (size_t)(colon - addr));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host, colon + 1, &hints, res);
	free(host);
	if (rc != 0)
		return perr_set(e, EINVAL, "%s: %s", addr, gai_strerror(rc));
	return 0;
}

/* libmicrohttpd's limit: `connections` for each thread of the pool (it
 * gives each thread its share of what it is told), at most UINT_MAX. */
static unsigned
pool_limit(int connections, unsigned threads)
{
	uint64_t n = (uint64_t)connections * (threads > 1 ? threads : 1);

	return n > UINT_MAX ? UINT_MAX : (unsigned)n;
}

struct http_daemon *
http_start(const char *addr, const struct http_site *site,
    const struct http_limits *lim, struct perr *e)
{
	struct http_daemon *d;
	struct addrinfo *ai;
	const union MHD_DaemonInfo *di;
	pthread_condattr_t ca;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_ALLOW_SUSPEND_RESUME;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = lim->threads > 0 ? (unsigned)lim->threads :
	    ncpu > 0 ? (unsigned)ncpu : 1;
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (mhd_lazy_load(e) != 0 || resolve(addr, &ai, e) != 0)
		return NULL;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	d = xcalloc(1, sizeof *d);
	d->site = site;
	d->timeout = lim->timeout;
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cond, &ca);
	pthread_condattr_destroy(&ca);
	d->limit = (size_t)lim->connections;
	d->mhd = MHD_start_daemon(flags, 0, admit, d, answer, d,
	    MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, d,
	    MHD_OPTION_NOTIFY_CONNECTION, notify_conn, d,
	    MHD_OPTION_UNESCAPE_CALLBACK, keep_escapes, NULL,
	    MHD_OPTION_CONNECTION_LIMIT, pool_limit(lim->connections, threads),
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)lim->per_ip,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(lim->timeout + 0.999),
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
	    MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0u,
	    MHD_OPTION_END);
	if (d->mhd == NULL) {
		perr_set(e, EADDRNOTAVAIL, "cannot listen on %s (in use, or "
		    "not an address of this machine?)", addr);
		freeaddrinfo(ai);
		pthread_mutex_destroy(&d->lock);
		pthread_cond_destroy(&d->cond);
		free(d);
		return NULL;
	}
	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, NULL,
	    0, NI_NUMERICHOST) != 0)
		snprintf(host, sizeof host, "?");
	freeaddrinfo(ai);
	di = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(port, sizeof port, "%u", di != NULL ? di->port : 0u);
	d->address = strchr(host, ':') != NULL ?
	    xasprintf("[%s]:%s", host, port) : xasprintf("%s:%s", host, port);
	if (pthread_create(&d->thread, NULL, timer_thread, d) != 0)
		abort();
	return d;
}

const char *
http_address(const struct http_daemon *d)
{
	return d->address;
}

void
http_quiesce(struct http_daemon *d)
{
	MHD_socket s = MHD_quiesce_daemon(d->mhd);

	if (s != MHD_INVALID_SOCKET)
		close(s);
}

size_t
http_connections(struct http_daemon *d)
{
	size_t n;

	pthread_mutex_lock(&d->lock);
	n = d->nconns;
	pthread_mutex_unlock(&d->lock);
	return n;
}

size_t
http_waiting(struct http_daemon *d)
{
	size_t n;

	pthread_mutex_lock(&d->lock);
	n = d->nwaiting;
	pthread_mutex_unlock(&d->lock);
	return n;
}

void
http_stopping(struct http_daemon *d)
{
	struct http_req **v;
	size_t n = 0;

	pthread_mutex_lock(&d->lock);
	d->stopping = true;
	v = xcalloc(d->nwaiting + 1, sizeof *v);
	for (struct http_req *r = d->waiting; r != NULL; r = r->next)
		v[n++] = http_req_ref(r);
	pthread_mutex_unlock(&d->lock);
	for (size_t i = 0; i < n; i++) {
		http_wake(v[i]);
		http_req_unref(v[i]);
	}
	free(v);
}

void
http_stop(struct http_daemon *d)
{
	if (d == NULL)
		return;
	http_stopping(d);
	MHD_stop_daemon(d->mhd);
	pthread_mutex_lock(&d->lock);
	d->ending = true;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	free(d->address);
	free(d);
}
