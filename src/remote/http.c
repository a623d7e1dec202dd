/* http.c -- HTTP for the remote client: a libcurl share handle per server
 * (connections, DNS, TLS sessions), requests with a bounded connect time,
 * credentials from a netrc or token file, the body hashed on its way. */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "curl-lazy.h"
#include "partsfs/remote/http.h"

struct rhttp {
	char *base;               /* "http://host:port/path/" */
	CURLSH *share;
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
	char *netrc;
	char *auth;               /* "Authorization: Bearer ..." or NULL */
	long connect_ms;
	atomic_uint_fast64_t requests, failures;
	atomic_bool aborted;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;
static struct perr load_error;   /* libcurl could not be loaded */

static void
global_init(void)
{
	if (curl_lazy_load(&load_error) == 0)
		global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void
share_lock(CURL *c, curl_lock_data data, curl_lock_access a, void *arg)
{
	struct rhttp *h = arg;

	(void)c;
	(void)a;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&h->locks[data]);
}

static void
share_unlock(CURL *c, curl_lock_data data, void *arg)
{
	struct rhttp *h = arg;

	(void)c;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&h->locks[data]);
}

/* The token of a token file: its first line without surrounding blanks;
 * only visible ASCII (it goes into a header). */
static char *
read_token(const char *file, struct perr *e)
{
	char line[4096];
	size_t n, s = 0;
	FILE *fp = fopen(file, "re");

	if (fp == NULL) {
		perr_set(e, errno, "token file %s: %s", file, strerror(errno));
		return NULL;
	}
	if (fgets(line, sizeof line, fp) == NULL)
		line[0] = '\0';
	fclose(fp);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	while (line[s] == ' ' || line[s] == '\t')
		s++;
	if (line[s] == '\0') {
		perr_set(e, EINVAL, "token file %s: no token on its first line",
		    file);
		return NULL;
	}
	for (size_t i = s; line[i] != '\0'; i++) {
		if (line[i] < 0x21 || line[i] > 0x7e) {
			perr_set(e, EINVAL, "token file %s: the token may only "
			    "hold visible ASCII characters", file);
			return NULL;
		}
	}
	return xasprintf("Authorization: Bearer %s", line + s);
}

struct rhttp *
rhttp_open(const char *url, const struct rhttp_opts *o, struct perr *e)
{
	struct rhttp *h;
	CURLU *u;
	char *scheme = NULL, *host = NULL;
	bool ok;

	pthread_once(&global_once, global_init);
	if (load_error.code != 0) {
		perr_set(e, load_error.code, "%s", load_error.msg);
		return NULL;
	}
	if (global_rc != CURLE_OK) {
		perr_set(e, ENOMEM, "libcurl: %s", curl_easy_strerror(global_rc));
		return NULL;
	}
	if ((u = curl_url()) == NULL) {
		perr_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) &&
	    host[0] != '\0';
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	if (!ok || strchr(url, '?') != NULL || strchr(url, '#') != NULL) {
		perr_set(e, EINVAL, "%s: not an http:// or https:// URL of a "
		    "server", url);
		return NULL;
	}
	h = xcalloc(1, sizeof *h);
	h->base = xasprintf("%s%s", url, url[strlen(url) - 1] == '/' ? "" :
	    "/");
	h->connect_ms = (long)((o != NULL && o->connect_timeout > 0 ?
	    o->connect_timeout : RHTTP_CONNECT_TIMEOUT) * 1000);
	if (o != NULL && o->netrc != NULL) {
		if (access(o->netrc, R_OK) == -1) {
			perr_set(e, errno, "netrc file %s: %s", o->netrc,
			    strerror(errno));
			rhttp_close(h);
			return NULL;
		}
		h->netrc = xstrdup(o->netrc);
	}
	if (o != NULL && o->token_file != NULL &&
	    (h->auth = read_token(o->token_file, e)) == NULL) {
		rhttp_close(h);
		return NULL;
	}
	for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&h->locks[i], NULL);
	if ((h->share = curl_share_init()) == NULL) {
		perr_set(e, ENOMEM, "libcurl: cannot make a share handle");
		rhttp_close(h);
		return NULL;
	}
	curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	return h;
}

void
rhttp_close(struct rhttp *h)
{
	if (h == NULL)
		return;
	if (h->share != NULL) {
		curl_share_cleanup(h->share);
		for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
			pthread_mutex_destroy(&h->locks[i]);
	}
	free(h->base);
	free(h->netrc);
	if (h->auth != NULL)
		explicit_bzero(h->auth, strlen(h->auth));
	free(h->auth);
	free(h);
}

const char *
rhttp_base(const struct rhttp *h)
{
	return h->base;
}

void
rhttp_escape_path(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~' || c == '/') {
			buf_addc(b, (char)c);
		} else {
			buf_addc(b, '%');
			buf_addc(b, hex[c >> 4]);
			buf_addc(b, hex[c & 15]);
		}
	}
}

/* One transfer under way. */
struct xfer {
	struct rhttp_reply *r;
	int fd;
	size_t max;
	int werr;                 /* errno of a failed write to fd */
	struct sha256_ctx sha;
};

static void
set_header(char **slot, const char *v, size_t n)
{
	free(*slot);
	*slot = xstrndup(v, n);
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	struct rhttp_reply *r = x->r;
	size_t len = size * n, k;
	const char *colon, *v;
	char **slot = NULL;

	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* a new answer (after a 1xx): forget the last one's */
		free(r->etag);
		free(r->repr_digest);
		free(r->content_type);
		free(r->cache_control);
		free(r->location);
		free(r->retry_after);
		r->etag = r->repr_digest = r->content_type = NULL;
		r->cache_control = r->location = r->retry_after = NULL;
		return len;
	}
	if ((colon = memchr(data, ':', len)) == NULL)
		return len;
	k = (size_t)(colon - data);
#define IS(name) (k == sizeof name - 1 && strncasecmp(data, name, k) == 0)
	if (IS("ETag"))
		slot = &r->etag;
	else if (IS("Repr-Digest"))
		slot = &r->repr_digest;
	else if (IS("Content-Type"))
		slot = &r->content_type;
	else if (IS("Cache-Control"))
		slot = &r->cache_control;
	else if (IS("Location"))
		slot = &r->location;
	else if (IS("Retry-After"))
		slot = &r->retry_after;
#undef IS
	if (slot == NULL)
		return len;
	v = colon + 1;
	while (v < data + len && (*v == ' ' || *v == '\t'))
		v++;
	k = (size_t)(data + len - v);
	while (k > 0 && (v[k - 1] == '\r' || v[k - 1] == '\n' ||
	    v[k - 1] == ' ' || v[k - 1] == '\t'))
		k--;
	set_header(slot, v, k);
	return len;
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	struct rhttp_reply *r = x->r;
	size_t len = size * n;
	/* problem details of an error answer are short */
	size_t max = x->fd != -1 ? 65536 : x->max;
	long status = r->status;

	r->received += len;
	if (x->fd != -1 && status >= 200 && status < 300) {
		sha256_update(&x->sha, len, (const uint8_t *)data);
		for (size_t w = 0; w < len;) {
			ssize_t k = write(x->fd, data + w, len - w);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				x->werr = k < 0 ? errno : EIO;
				return 0;     /* ends the transfer */
			}
			w += (size_t)k;
		}
		return len;
	}
	if (r->body.len + len > max) {
		r->truncated = true;
		if (r->body.len < max)
			buf_add(&r->body, data, max - r->body.len);
		return len;
	}
	buf_add(&r->body, data, len);
	return len;
}

/* The header callback sees the status line first: the status of the
 * answer whose body follows is read there. */
static size_t
on_header_status(char *data, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;

	if (len >= 12 && strncmp(data, "HTTP/", 5) == 0) {
		const char *sp = memchr(data, ' ', len);
		if (sp != NULL)
			x->r->status = strtol(sp + 1, NULL, 10);
	}
	return on_header(data, size, n, arg);
}

/* libcurl's progress callback: non-zero ends the transfer. */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	const struct rhttp *h = arg;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return atomic_load(&h->aborted) ? 1 : 0;
}

void
rhttp_abort(struct rhttp *h)
{
	atomic_store(&h->aborted, true);
}

int
rhttp_get(struct rhttp *h, const char *path, bool head,
    const char *const *headers, int fd, size_t max, struct rhttp_reply *r,
    struct perr *e)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hl = NULL, *t;
	struct xfer x = { .r = r, .fd = fd, .max = max };
	curl_off_t cl = -1;
	CURLcode rc;
	CURL *c;
	char *url;
	int code;

	memset(r, 0, sizeof *r);
	r->length = -1;
	sha256_init(&x.sha);
	if ((c = curl_easy_init()) == NULL)
		return perr_set(e, ENOMEM, "libcurl: cannot make a handle");
	url = xasprintf("%s%s", h->base, path);
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
		if ((t = curl_slist_append(hl, headers[i])) != NULL)
			hl = t;
	}
	if (h->auth != NULL && (t = curl_slist_append(hl, h->auth)) != NULL)
		hl = t;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_SHARE, h->share);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->connect_ms);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 10L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "partsfs/" PACKAGE_VERSION);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header_status);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	if (head)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (h->netrc != NULL) {
		curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL);
		curl_easy_setopt(c, CURLOPT_NETRC_FILE, h->netrc);
	}
	atomic_fetch_add(&h->requests, 1);
	rc = atomic_load(&h->aborted) ? CURLE_ABORTED_BY_CALLBACK :
	    curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) ==
	    CURLE_OK && cl >= 0)
		r->length = (int64_t)cl;
	sha256_digest(&x.sha, sizeof r->sha256, r->sha256);
	code = 0;
	if (rc != CURLE_OK) {
		const char *why = errbuf[0] != '\0' ? errbuf :
		    curl_easy_strerror(rc);
		switch (rc) {
		case CURLE_WRITE_ERROR:
			code = x.werr != 0 ? x.werr : EIO;
			perr_set(e, code, "%s: writing what came: %s", url,
			    strerror(code));
			break;
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_CONNECT:
			code = ECONNREFUSED;
			perr_set(e, code, "cannot reach the server %s: %s",
			    h->base, why);
			break;
		case CURLE_OPERATION_TIMEDOUT:
			code = ETIMEDOUT;
			perr_set(e, code, "cannot reach the server %s within "
			    "%.3g s: %s", h->base, (double)h->connect_ms / 1000,
			    why);
			break;
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CIPHER:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		case CURLE_SSL_INVALIDCERTSTATUS:
			code = EPROTO;
			perr_set(e, code, "TLS with %s failed: %s", h->base,
			    why);
			break;
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
			code = EINVAL;
			perr_set(e, code, "%s: %s", url, why);
			break;
		default:
			code = ECONNRESET;
			perr_set(e, code, "%s: the transfer broke off: %s", url,
			    why);
			break;
		}
		rhttp_reply_clear(r);
		atomic_fetch_add(&h->failures, 1);
	}
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	free(url);
	return -code;
}

void
rhttp_counts(struct rhttp *h, uint64_t *requests, uint64_t *failures)
{
	*requests = atomic_load(&h->requests);
	*failures = atomic_load(&h->failures);
}

void
rhttp_reply_clear(struct rhttp_reply *r)
{
	free(r->etag);
	free(r->repr_digest);
	free(r->content_type);
	free(r->cache_control);
	free(r->location);
	free(r->retry_after);
	buf_free(&r->body);
	memset(r, 0, sizeof *r);
	r->length = -1;
}
