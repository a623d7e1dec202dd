/* util.c -- memory, growable buffers, arenas, error values, natural order
 * and small string helpers. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "partsfs/util/util.h"

void
pf_fatal(const char *fmt, ...)
{
	va_list ap;

	fputs("partsfs: fatal: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		pf_fatal("out of memory allocating %zu bytes", n);
	return p;
}

void
malloc_tune_daemon(void)
{
	/* bench/model.py M2 (301k classes; VmRSS once serving, and after
	 * 20 reloads): 134.7 -> 150.3 MiB with malloc's own threshold,
	 * 134.6 -> 133.8 MiB with this one.  Reads of 128 KiB stay below
	 * it. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		pf_fatal("out of memory allocating %zu x %zu bytes", nmemb, size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		pf_fatal("out of memory reallocating %zu bytes", n);
	return q;
}

void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		pf_fatal("allocation of %zu x %zu bytes overflows", nmemb, size);
	return xrealloc(p, nmemb * size);
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		pf_fatal("out of memory formatting a string");
	return s;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

/* Buffers. */

void
buf_reserve(struct buf *b, size_t extra)
{
	size_t need;

	if (extra > SIZE_MAX - b->len - 1)
		pf_fatal("buffer size overflow");
	need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	if (b->cap == 0)
		b->cap = 64;
	while (b->cap < need)
		b->cap = b->cap > SIZE_MAX / 2 ? need : b->cap * 2;
	b->p = xrealloc(b->p, b->cap);
}

void
buf_add(struct buf *b, const void *data, size_t n)
{
	buf_reserve(b, n);
	if (n != 0)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	size_t room;
	int n;

	/* formatted once into the room there is, and again only when it
	 * did not fit (the text is formatted on every part's key) */
	buf_reserve(b, 0);
	room = b->cap - b->len;
	va_copy(aq, ap);
	n = vsnprintf(b->p + b->len, room, fmt, aq);
	va_end(aq);
	if (n < 0)
		pf_fatal("bad format string");
	if ((size_t)n >= room) {
		buf_reserve(b, (size_t)n);
		vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	}
	b->len += (size_t)n;
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

char *
buf_steal(struct buf *b)
{
	char *p = b->p != NULL ? b->p : xstrdup("");

	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

const char *
buf_str(struct buf *b)
{
	return b->p != NULL ? b->p : "";
}

/* Arenas: a list of chunks, bump allocation inside each. */

#define ARENA_CHUNK (64 * 1024)
#define ARENA_FIRST (2 * 1024)
#define ARENA_ALIGN 16

struct arena_chunk {
	struct arena_chunk *next;
	size_t size;
	size_t used;
	max_align_t data[];
};

struct arena {
	size_t total;                 /* bytes of its chunks */
	struct arena_chunk *head;     /* aligned allocations */
	struct arena_chunk *bytes;    /* strings: no alignment */
	/* arena_intern's table (open addressing), NULL when not
	 * interning */
	const char **interned;
	size_t icap, icount;
};

struct arena *
arena_new(void)
{
	return xcalloc(1, sizeof(struct arena));
}

static void
free_chunks(struct arena_chunk *c)
{
	struct arena_chunk *next;

	for (; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
}

void
arena_free(struct arena *a)
{
	if (a == NULL)
		return;
	free_chunks(a->head);
	free_chunks(a->bytes);
	free(a->interned);
	free(a);
}

/* n bytes (already rounded to the alignment wanted) from the chunk list
 * `*list`. */
static void *
chunk_alloc(struct arena *a, struct arena_chunk **list, size_t n)
{
	struct arena_chunk *c = *list;
	size_t size;
	void *p;

	if (c == NULL || c->size - c->used < n) {
		/* chunks grow from ARENA_FIRST to ARENA_CHUNK as the arena
		 * does: a small collection takes little more than it holds */
		size_t want = c == NULL ? ARENA_FIRST : c->size * 2;
		if (want > ARENA_CHUNK)
			want = ARENA_CHUNK;
		size = n > want / 4 ? n : want;
		a->total += size;
		c = xmalloc(sizeof(*c) + size);
		c->size = size;
		c->used = 0;
		if (size == n && *list != NULL) {
			/* A big block: keep filling the current chunk. */
			c->next = (*list)->next;
			(*list)->next = c;
		} else {
			c->next = *list;
			*list = c;
		}
	}
	p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	void *p;

	n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (n == 0)
		n = ARENA_ALIGN;
	p = chunk_alloc(a, &a->head, n);
	memset(p, 0, n);
	return p;
}

void *
arena_array(struct arena *a, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		pf_fatal("arena allocation of %zu x %zu overflows", nmemb, size);
	return arena_alloc(a, nmemb * size);
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p;

	if (n >= SIZE_MAX - 1)
		pf_fatal("arena string of %zu bytes", n);
	p = chunk_alloc(a, &a->bytes, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

size_t
arena_size(const struct arena *a)
{
	return a->total;
}

void
arena_intern_begin(struct arena *a)
{
	if (a->interned == NULL) {
		a->icap = 1024;
		a->icount = 0;
		a->interned = xcalloc(a->icap, sizeof *a->interned);
	}
}

void
arena_intern_end(struct arena *a)
{
	free(a->interned);
	a->interned = NULL;
	a->icap = a->icount = 0;
}

uint64_t
str_hash(const char *s, size_t n)
{
	/* FNV-1a */
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

int
str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char *
arena_intern(struct arena *a, const char *s, size_t n)
{
	size_t i;

	if (a->interned == NULL || memchr(s, '\0', n) != NULL)
		return arena_strndup(a, s, n);
	if (2 * (a->icount + 1) > a->icap) {
		size_t ncap = a->icap * 2;
		const char **nt = xcalloc(ncap, sizeof *nt);
		for (size_t j = 0; j < a->icap; j++) {
			const char *t = a->interned[j];
			if (t == NULL)
				continue;
			i = str_hash(t, strlen(t)) & (ncap - 1);
			while (nt[i] != NULL)
				i = (i + 1) & (ncap - 1);
			nt[i] = t;
		}
		free(a->interned);
		a->interned = nt;
		a->icap = ncap;
	}
	i = str_hash(s, n) & (a->icap - 1);
	for (; a->interned[i] != NULL; i = (i + 1) & (a->icap - 1)) {
		const char *t = a->interned[i];
		if (strncmp(t, s, n) == 0 && t[n] == '\0')
			return t;
	}
	a->icount++;
	return a->interned[i] = arena_strndup(a, s, n);
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	char *s, *p;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	p = arena_strdup(a, s);
	free(s);
	return p;
}

/* Error values. */

int
perr_set(struct perr *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e != NULL) {
		e->code = code;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof e->msg, fmt, ap);
		va_end(ap);
	}
	return -code;
}

void
perr_clear(struct perr *e)
{
	if (e != NULL) {
		e->code = 0;
		e->msg[0] = '\0';
	}
}

/* Natural order.  A number is a digit run, optionally followed by '.' and
 * another digit run (a decimal fraction).  Numbers compare by value:
 * integer parts by length then digits (leading zeros skipped), fractions
 * digit by digit. */

static const char *
skip_zeros(const char *s, const char *end)
{
	while (s < end - 1 && *s == '0')
		s++;
	return s;
}

static int
cmp_number(const char **pa, const char **pb)
{
	const char *a = *pa, *b = *pb, *ae, *be, *ai, *bi;
	size_t la, lb;
	int c;

	for (ae = a; isdigit((unsigned char)*ae); ae++)
		;
	for (be = b; isdigit((unsigned char)*be); be++)
		;
	ai = skip_zeros(a, ae);
	bi = skip_zeros(b, be);
	la = (size_t)(ae - ai);
	lb = (size_t)(be - bi);
	if (la != lb)
		return la < lb ? -1 : 1;
	if ((c = memcmp(ai, bi, la)) != 0)
		return c;
	/* Equal integer parts: compare decimal fractions if any. */
	if (*ae == '.' && isdigit((unsigned char)ae[1]) &&
	    *be == '.' && isdigit((unsigned char)be[1])) {
		ae++;
		be++;
		while (isdigit((unsigned char)*ae) || isdigit((unsigned char)*be)) {
			char ca = isdigit((unsigned char)*ae) ? *ae++ : '0';
			char cb = isdigit((unsigned char)*be) ? *be++ : '0';
			if (ca != cb)
				return ca < cb ? -1 : 1;
		}
	}
	/* Otherwise a fraction on one side only is compared as ordinary
	 * characters by the caller: "M1" < "M1.6". */
	*pa = ae;
	*pb = be;
	return 0;
}

int
natcmp(const char *a, const char *b)
{
	const char *sa = a, *sb = b;
	int c;

	while (*sa != '\0' && *sb != '\0') {
		if (isdigit((unsigned char)*sa) && isdigit((unsigned char)*sb)) {
			if ((c = cmp_number(&sa, &sb)) != 0)
				return c;
			continue;
		}
		if (*sa != *sb)
			return (unsigned char)*sa < (unsigned char)*sb ? -1 : 1;
		sa++;
		sb++;
	}
	if (*sa != *sb)
		return *sa == '\0' ? -1 : 1;
	return strcmp(a, b);
}

static int
natcmp_qsort(const void *a, const void *b)
{
	return natcmp(*(const char *const *)a, *(const char *const *)b);
}

ssize_t
sorted_find(size_t n, const char *key,
    const char *(*name_at)(const void *ctx, size_t i), const void *ctx,
    int (*cmp)(const char *, const char *))
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = cmp(name_at(ctx, mid), key);
		if (r == 0)
			return (ssize_t)mid;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

void
natsort(const char **v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof *v, natcmp_qsort);
}

bool
str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool
str_has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

/* UTF-8 as RFC 3629 defines it: no overlongs, no surrogates, at most
 * U+10FFFF. */
bool
utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + n;

	while (s < end) {
		unsigned char c = *s;
		size_t len;
		uint32_t cp;

		if (c < 0x80) {
			s++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else
			return false;
		if ((size_t)(end - s) < len)
			return false;
		for (size_t i = 1; i < len; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		s += len;
	}
	return true;
}

uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double
now_s(void)
{
	return (double)now_ns() / 1e9;
}

struct seen
seen_now(atomic_uint_fast64_t *epoch)
{
	struct seen s = { atomic_load(epoch), now_ns() };

	return s;
}

bool
seen_recently(const struct seen *s, atomic_uint_fast64_t *epoch)
{
	return s->when != 0 && s->epoch == atomic_load(epoch) &&
	    now_ns() - s->when < SEEN_NS;
}

int
write_all(int fd, const void *data, size_t n)
{
	const char *p = data;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -errno;
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

char *
read_all_close(int fd, size_t max)
{
	struct buf b = BUF_INIT;
	char chunk[16384];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof chunk)) > 0 &&
	    b.len + (size_t)n <= max)
		buf_add(&b, chunk, (size_t)n);
	close(fd);
	if (n != 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

void
timespec_max(struct timespec *acc, const struct timespec *t)
{
	if (t->tv_sec > acc->tv_sec ||
	    (t->tv_sec == acc->tv_sec && t->tv_nsec > acc->tv_nsec))
		*acc = *t;
}
