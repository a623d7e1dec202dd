/* util.h -- memory, growable buffers, arenas and error values shared by
 * every part of the partsfs core. */
#ifndef PARTSFS_UTIL_H
#define PARTSFS_UTIL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define PF_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define PF_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define PF_NORETURN __attribute__((noreturn))
#else
#define PF_PRINTF(f, a)
#define PF_NORETURN
#endif

/* Allocation.  These never return NULL: running out of memory aborts the
 * process with a message, as tmux and git do.  Everything else in the core
 * reports errors as values. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);
/*
 * For a long-running process that loads libraries again and again (the
 * mount, partsctl serve), before its threads start: blocks of 256 KiB
 * and more are mappings of their own, given back when freed.  malloc
 * would otherwise raise that threshold past the biggest block freed (a
 * .blt file read whole, the index arrays of a snapshot), and serve the
 * next reload's big blocks from the heap of whichever thread loads, each
 * reload leaving pages held in another heap.
 */
void malloc_tune_daemon(void);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PF_PRINTF(1, 2);
char *xvasprintf(const char *fmt, va_list ap) PF_PRINTF(1, 0);
PF_NORETURN void pf_fatal(const char *fmt, ...) PF_PRINTF(1, 2);

/* A growable byte buffer, always NUL-terminated once anything was added. */
struct buf {
	char *p;
	size_t len;
	size_t cap;
};
#define BUF_INIT { NULL, 0, 0 }
void buf_reserve(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t n);
void buf_addc(struct buf *b, char c);
void buf_adds(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) PF_PRINTF(2, 3);
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) PF_PRINTF(2, 0);
void buf_reset(struct buf *b);                /* length 0, keeps memory */
void buf_free(struct buf *b);
char *buf_steal(struct buf *b);               /* caller frees; b is reset */
const char *buf_str(struct buf *b);           /* "" when empty */

/* An arena: many small allocations freed at once.  A loaded collection owns
 * one, so replacing a collection on a live edit is a single free. */
struct arena;
struct arena *arena_new(void);
void arena_free(struct arena *a);
void *arena_alloc(struct arena *a, size_t n);          /* zeroed, aligned */
void *arena_array(struct arena *a, size_t nmemb, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_printf(struct arena *a, const char *fmt, ...) PF_PRINTF(2, 3);
/* Between arena_intern_begin and arena_intern_end (which frees the
 * table), arena_intern returns one copy of each distinct string (the
 * first n bytes of s), never to be written to; otherwise, or for a
 * string holding a NUL byte, a copy of its own as arena_strndup. */
/* The bytes of memory `a` holds (its chunks). */
size_t arena_size(const struct arena *a);
void arena_intern_begin(struct arena *a);
void arena_intern_end(struct arena *a);
const char *arena_intern(struct arena *a, const char *s, size_t n);
/* A hash of the `n` bytes at `s` (FNV-1a), for tables of strings. */
uint64_t str_hash(const char *s, size_t n);
/* strcmp of two `const char *` array elements: for qsort and bsearch. */
int str_ptr_cmp(const void *a, const void *b);

/* An error value: a negative errno-style code and a human message.  Core
 * functions that can fail take a `struct perr *` (which may be NULL when
 * the caller does not want the message) and return 0 or -code. */
struct perr {
	int code;          /* positive errno value, 0 when no error */
	char msg[1024];
};
int perr_set(struct perr *e, int code, const char *fmt, ...) PF_PRINTF(3, 4);
void perr_clear(struct perr *e);

/* Natural order: digit runs (with an optional decimal fraction) compare as
 * numbers, everything else bytewise, so M1.6 < M2 < M10 and
 * 0.375 in < 0.5 in.  A total order: ties fall back to strcmp. */
int natcmp(const char *a, const char *b);
void natsort(const char **v, size_t n);
/* The position of `key` among n names sorted by `cmp` (natcmp, strcmp),
 * the i-th being name_at(ctx, i), by binary search; -1 when absent. */
ssize_t sorted_find(size_t n, const char *key,
    const char *(*name_at)(const void *ctx, size_t i), const void *ctx,
    int (*cmp)(const char *, const char *));

/* String helpers. */
bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);
bool utf8_valid(const char *s, size_t n);

/* Monotonic time in nanoseconds and in seconds (double). */
uint64_t now_ns(void);
double now_s(void);

/*
 * When a memo looked at something (a file's stat, say): what it saw is
 * trusted for SEEN_NS after, unless the memo's epoch, a counter it bumps
 * to forget everything at once, has moved on since.
 */
#define SEEN_NS 1000000000ull
struct seen {
	uint64_t epoch;
	uint64_t when;           /* now_ns(); 0: never */
};
struct seen seen_now(atomic_uint_fast64_t *epoch);
bool seen_recently(const struct seen *s, atomic_uint_fast64_t *epoch);

/* The newer of *acc and *t into *acc. */
void timespec_max(struct timespec *acc, const struct timespec *t);

/* Write all n bytes to fd, going on after short writes and EINTR: 0 or
 * -errno. */
int write_all(int fd, const void *data, size_t n);

/* All of what fd reads to its end, NUL-terminated (caller frees), or NULL
 * when reading fails or it is more than `max` bytes.  fd is closed. */
char *read_all_close(int fd, size_t max);

#endif
