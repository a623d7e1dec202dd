/* http.h -- partsctl serve's HTTP server, on GNU libmicrohttpd: a "site"
 * (a request handler) listening on an address, requests that wait for
 * something without holding a thread (suspended, woken from any thread),
 * and the replies a handler sends.  The native API and the OCCI API are
 * two sites of one server. */
#ifndef PARTSFS_HTTP_H
#define PARTSFS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "partsfs/util/util.h"

/* One request.  Reference-counted: the server holds one until the
 * request is done; http_req_ref for whoever wakes it later. */
struct http_req;

/*
 * A site: `answer` is called on a server thread for each request once
 * its headers arrived, and again after each http_wait ends.  Each call
 * must reply (http_reply_*) or wait (http_wait), and must not block.
 * A handler keeps what it learnt between calls with http_set_state.
 */
struct http_site {
	const char *name;                 /* "native", "occi": for the log */
	void (*answer)(void *arg, struct http_req *r);
	void *arg;
};

/* serve.connections, serve.per-ip, serve.timeout, serve.threads. */
struct http_limits {
	int connections;      /* at once; those beyond are refused */
	int per_ip;           /* of one address at once; 0: no limit */
	double timeout;       /* seconds idle, and to send a request's
			       * headers, before the connection is closed */
	int threads;          /* threads answering; 0: one per CPU */
};

struct http_daemon;

/*
 * Listen on `addr` ("HOST:PORT", "[V6]:PORT"; port 0 picks one) for
 * `site`, which must outlive the daemon.  NULL with `e` set when the
 * address cannot be resolved or bound.
 */
struct http_daemon *http_start(const char *addr, const struct http_site *site,
    const struct http_limits *lim, struct perr *e);
/* The address it listens on, its port as bound ("127.0.0.1:8080"). */
const char *http_address(const struct http_daemon *d);
/* Stop accepting connections; those open are still answered. */
void http_quiesce(struct http_daemon *d);
/* Connections open now. */
size_t http_connections(struct http_daemon *d);
/* Requests waiting now (http_wait). */
size_t http_waiting(struct http_daemon *d);
/* From now on a request that would wait gets a 503 problem ("the server
 * is stopping") instead, and those waiting are woken to get it. */
void http_stopping(struct http_daemon *d);
/* Close every connection and free the daemon (after http_stopping, or
 * with no request waiting). */
void http_stop(struct http_daemon *d);

/* The request: its method, the path of its URL as sent (not %-decoded,
 * without the query), a header (case-insensitive name) or NULL, a
 * query argument ('+' made a space, not %-decoded) or NULL. */
const char *http_method(const struct http_req *r);
const char *http_url(const struct http_req *r);
const char *http_header(struct http_req *r, const char *name);
const char *http_arg(struct http_req *r, const char *name);
/* Does the query have the argument `name`, with a value or without one
 * ("?stat", "?stat=", "?stat=1")? */
bool http_has_arg(struct http_req *r, const char *name);
/* The site it came to. */
const struct http_site *http_site_of(const struct http_req *r);

/* What the handler keeps between its calls for `r` (NULL at first);
 * `fn` frees it when the request is done. */
void *http_state(const struct http_req *r);
void http_set_state(struct http_req *r, void *state, void (*fn)(void *));

/*
 * Suspend `r` until http_wake, or until `timeout` seconds passed
 * (< 0: no limit): no thread is held meanwhile.  Then the handler is
 * called again (it may be called early: it checks what it waits for).
 * Call only from the handler, as its answer.
 */
void http_wait(struct http_req *r, double timeout);
/* End the wait of `r`, from any thread; before it began, the wait ends
 * at once.  Harmless when the request is done. */
void http_wake(struct http_req *r);
struct http_req *http_req_ref(struct http_req *r);
void http_req_unref(struct http_req *r);

/*
 * Replies, from the handler only, once per request.  `headers` is NULL
 * or a NULL-terminated list of name, value pairs.  Content-Length is
 * set by the server; a HEAD request gets the headers only.
 */
/* `n` bytes of `data` (copied) as `type` (NULL: no Content-Type). */
void http_reply_buf(struct http_req *r, int status, const char *type,
    const void *data, size_t n, const char *const *headers);
/* JSON (`j` taken over), as application/json. */
void http_reply_json(struct http_req *r, int status, json_t *j,
    const char *const *headers);
/* A problem (problem.h; `p` taken over) with its status, and a
 * Retry-After from its "retry-after" member when it has one. */
void http_reply_problem(struct http_req *r, json_t *p,
    const char *const *headers);
/* `len` bytes of the file `fd` (taken over: closed when sent) from `off`,
 * with sendfile. */
void http_reply_fd(struct http_req *r, int status, const char *type, int fd,
    uint64_t off, uint64_t len, const char *const *headers);
/* Has `r` been replied to? */
bool http_replied(const struct http_req *r);

#endif
