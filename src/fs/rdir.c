/* rdir.c -- the directories of a remote mount: the server's listings, one
 * request per directory, kept dir_cache seconds and then revalidated with
 * their ETag; the entries of names looked up in them; and the listings
 * already fetched served as they are while the server cannot be reached. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "partsfs/util/format.h"
#include "partsfs/util/log.h"

#define RDIR_SLOTS 1024
/* The listings kept at most: beyond, those past their time are dropped
 * (a walk of a large tree must not keep all of it), and if that is not
 * enough, all but those being asked for. */
#define RDIR_MAX 8192

/* A directory as known: its listing (NULL until one came), its ETag, when
 * it was last fetched or revalidated, and whether a request for it is
 * under way (others wait for its answer instead of asking again). */
struct rslot {
	char *path;
	struct rlisting *l;
	char *etag;
	uint64_t checked;          /* now_ns() */
	bool busy;
	unsigned waiting;          /* threads waiting for its answer */
	struct rslot *next;
};

struct rdirs {
	struct remote *r;
	uint64_t ttl;              /* ns */
	pthread_mutex_t lock;
	pthread_cond_t done;
	struct rslot *slots[RDIR_SLOTS];
	size_t n;                  /* slots */
	atomic_uint_fast64_t listings, revalidated, offline, stats;
};

struct rdirs *
rdirs_new(struct remote *r, double ttl)
{
	struct rdirs *d = xcalloc(1, sizeof *d);

	d->r = r;
	d->ttl = (uint64_t)(ttl * 1e9);
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->done, NULL);
	return d;
}

void
rentry_clear(struct rentry *e)
{
	free(e->name);
	free(e->etag);
	free(e->target);
	memset(e, 0, sizeof *e);
}

static void
listing_free(struct rlisting *l)
{
	for (size_t i = 0; i < l->n; i++)
		rentry_clear(&l->v[i]);
	free(l->v);
	free(l);
}

void
rlisting_unref(struct rlisting *l)
{
	if (l != NULL && atomic_fetch_sub(&l->refs, 1) == 1)
		listing_free(l);
}

void
rdirs_free(struct rdirs *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < RDIR_SLOTS; i++) {
		struct rslot *s, *next;
		for (s = d->slots[i]; s != NULL; s = next) {
			next = s->next;
			rlisting_unref(s->l);
			free(s->etag);
			free(s->path);
			free(s);
		}
	}
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->done);
	free(d);
}

/* An entry of the server's JSON: false for one of a type not known here
 * (left out of the mount, as a newer server may add types). */
static bool
entry_parse(json_t *j, struct rentry *out)
{
	const char *type = json_string_value(json_object_get(j, "type"));
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *fmt, *s;
	json_t *v;

	memset(out, 0, sizeof *out);
	out->size = -1;
	if (type == NULL || name == NULL)
		return false;
	if (strcmp(type, "directory") == 0)
		out->type = RT_DIR;
	else if (strcmp(type, "json") == 0)
		out->type = RT_JSON;
	else if (strcmp(type, "drawing") == 0)
		out->type = RT_DRAWING;
	else if (strcmp(type, "link") == 0) {
		/* a path from the root, inside the tree */
		s = json_string_value(json_object_get(j, "target"));
		if (s == NULL || s[0] == '\0' || s[0] == '/' ||
		    strstr(s, "..") != NULL || strlen(s) > 4000)
			return false;
		out->type = RT_LINK;
		out->target = xstrdup(s);
	} else if (strcmp(type, "part") == 0) {
		int f;
		fmt = json_string_value(json_object_get(j, "format"));
		if (fmt == NULL || (f = format_from_ext(fmt, strlen(fmt))) < 0)
			return false;
		out->type = RT_PART;
		out->fmt = (enum format)f;
		v = json_object_get(j, "size");
		s = json_string_value(json_object_get(j, "etag"));
		/* the size counts only with the ETag that names the bytes */
		if (json_is_integer(v) && json_integer_value(v) >= 0 &&
		    s != NULL && s[0] != '\0' && strlen(s) <= 256) {
			out->size = (int64_t)json_integer_value(v);
			out->etag = xstrdup(s);
		}
	} else
		return false;
	out->name = xstrdup(name);
	return true;
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rentry *)a)->name,
	    ((const struct rentry *)b)->name);
}

static struct rlisting *
listing_from(json_t *j)
{
	json_t *entries = json_object_get(j, "entries"), *x;
	struct rlisting *l = xcalloc(1, sizeof *l);
	size_t i;

	atomic_init(&l->refs, 1);
	l->v = xcalloc(json_array_size(entries) + 1, sizeof *l->v);
	json_array_foreach(entries, i, x) {
		if (entry_parse(x, &l->v[l->n]))
			l->n++;
	}
	qsort(l->v, l->n, sizeof *l->v, entry_cmp);
	return l;
}

const struct rentry *
rlisting_find(const struct rlisting *l, const char *name)
{
	struct rentry key = { .name = (char *)name };

	return bsearch(&key, l->v, l->n, sizeof *l->v, entry_cmp);
}

static struct rslot **
slot_of(struct rdirs *d, const char *path)
{
	struct rslot **pp = &d->slots[str_hash(path, strlen(path)) %
	    RDIR_SLOTS];

	while (*pp != NULL && strcmp((*pp)->path, path) != 0)
		pp = &(*pp)->next;
	return pp;
}

/* Drop slots to keep RDIR_MAX: first those past their time, then any;
 * never one being asked for, nor `keep`.  d->lock held. */
static void
sweep(struct rdirs *d, const struct rslot *keep)
{
	uint64_t now = now_ns();

	for (int pass = 0; pass < 2 && d->n > RDIR_MAX / 2; pass++)
		for (size_t i = 0; i < RDIR_SLOTS; i++) {
			struct rslot **pp = &d->slots[i], *s;
			while ((s = *pp) != NULL) {
				if (s->busy || s->waiting > 0 || s == keep ||
				    (pass == 0 &&
				    now - s->checked < d->ttl)) {
					pp = &s->next;
					continue;
				}
				*pp = s->next;
				rlisting_unref(s->l);
				free(s->etag);
				free(s->path);
				free(s);
				d->n--;
			}
		}
}

/* Is `code` the server not being there (rather than its answer)? */
static bool
unreachable(int code)
{
	return code == ECONNREFUSED || code == ETIMEDOUT ||
	    code == ECONNRESET || code == EHOSTUNREACH || code == ENETUNREACH;
}

struct rlisting *
rdirs_get(struct rdirs *d, const char *path, struct perr *e)
{
	struct rlisting *l = NULL, *got;
	struct rslot *s;
	char *etag, *new_etag = NULL;
	json_t *j;
	int rc;

	pthread_mutex_lock(&d->lock);
	if ((s = *slot_of(d, path)) == NULL) {
		s = xcalloc(1, sizeof *s);
		s->path = xstrdup(path);
		*slot_of(d, path) = s;
		if (++d->n > RDIR_MAX)
			sweep(d, s);
	}
	s->waiting++;
	while (s->busy)
		pthread_cond_wait(&d->done, &d->lock);
	s->waiting--;
	if (s->l != NULL && now_ns() - s->checked < d->ttl) {
		atomic_fetch_add(&s->l->refs, 1);
		l = s->l;
		pthread_mutex_unlock(&d->lock);
		return l;
	}
	s->busy = true;
	etag = s->l != NULL && s->etag != NULL ? xstrdup(s->etag) : NULL;
	pthread_mutex_unlock(&d->lock);

	atomic_fetch_add(&d->listings, 1);
	rc = remote_list_if(d->r, path, etag, &j, &new_etag, e);
	got = rc == 1 ? listing_from(j) : NULL;
	if (rc == 1)
		json_decref(j);

	pthread_mutex_lock(&d->lock);
	s->busy = false;
	if (rc == 1) {
		rlisting_unref(s->l);
		s->l = got;
		free(s->etag);
		s->etag = new_etag;
		s->checked = now_ns();
	} else if (rc == 0) {
		atomic_fetch_add(&d->revalidated, 1);
		s->checked = now_ns();
	} else if (s->l != NULL && unreachable(-rc)) {
		/* offline: the listing had before, until the server is back */
		atomic_fetch_add(&d->offline, 1);
		log_debug("%s: listing kept from before: %s", path, e->msg);
		perr_clear(e);
	} else if (s->l != NULL) {
		/* gone on the server (404), or an answer not understood */
		rlisting_unref(s->l);
		s->l = NULL;
		free(s->etag);
		s->etag = NULL;
	}
	if (s->l != NULL) {
		atomic_fetch_add(&s->l->refs, 1);
		l = s->l;
	}
	pthread_cond_broadcast(&d->done);
	pthread_mutex_unlock(&d->lock);
	free(etag);
	return l;
}

/* A copy of `x` (strings duplicated). */
static void
entry_copy(struct rentry *out, const struct rentry *x)
{
	*out = *x;
	out->name = xstrdup(x->name);
	out->etag = x->etag != NULL ? xstrdup(x->etag) : NULL;
	out->target = x->target != NULL ? xstrdup(x->target) : NULL;
}

int
rdirs_entry(struct rdirs *d, const char *path, struct rentry *out,
    struct perr *e)
{
	const char *slash = strrchr(path, '/'), *name;
	const struct rentry *x;
	struct rlisting *l;
	char *parent;
	json_t *j;

	memset(out, 0, sizeof *out);
	out->size = -1;
	if (path[0] == '\0') {
		out->name = xstrdup("");
		out->type = RT_DIR;
		return 0;
	}
	parent = slash != NULL ? xstrndup(path, (size_t)(slash - path)) :
	    xstrdup("");
	name = slash != NULL ? slash + 1 : path;
	l = rdirs_get(d, parent, e);
	free(parent);
	if (l == NULL)
		return -e->code;
	if ((x = rlisting_find(l, name)) != NULL) {
		entry_copy(out, x);
		rlisting_unref(l);
		return 0;
	}
	rlisting_unref(l);
	/* not listed: a parameter value the listing leaves out, perhaps */
	atomic_fetch_add(&d->stats, 1);
	if ((j = remote_stat(d->r, path, e)) == NULL)
		return -e->code;
	if (!entry_parse(j, out) || strcmp(out->name, name) != 0) {
		json_decref(j);
		rentry_clear(out);
		return perr_set(e, EPROTO, "%s: the server's answer is not "
		    "its entry", path);
	}
	json_decref(j);
	return 0;
}

void
rdirs_counts(struct rdirs *d, uint64_t *listings, uint64_t *revalidated,
    uint64_t *offline, uint64_t *stats)
{
	*listings = atomic_load(&d->listings);
	*revalidated = atomic_load(&d->revalidated);
	*offline = atomic_load(&d->offline);
	*stats = atomic_load(&d->stats);
}
