/* tap.h -- a small TAP test harness: each test case is a function named
 * after the behaviour it specifies, and becomes one "ok"/"not ok" line. */
#ifndef PARTSFS_TAP_H
#define PARTSFS_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct tap_case {
	const char *name;
	void (*fn)(void);
};

/* Run every case, print the TAP stream, return the exit status. */
int tap_run(const struct tap_case *cases, size_t n);

/* Record a failure of the running case (with a diagnostic) and return
 * false; the CHECK macros return from the case on failure. */
bool tap_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Run `body` (the running case's checks) in a child process, which is
 * the case's failure when it fails or dies: for a case that changes the
 * process for good (a mount namespace of its own, say), so that the
 * change ends with the case. */
void tap_in_child(void (*body)(void));
/* A diagnostic line ("# ...") for the running case. */
void tap_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Prerequisites: what a case needs that a machine may lack.  The names:
 *   corpus    the BOLTS corpus, $PARTSFS_CORPUS (configure --with-corpus),
 *             a directory with data/
 *   mountns   a mount namespace of the process's own (unshare -m)
 *   fuse      /dev/fuse opens, and mounting is allowed (root, or
 *             fusermount3 on $PATH)
 *   openscad  openscad on $PATH
 *   freecad   freecadcmd on $PATH
 *   bwrap     bubblewrap (0.8.0 or later) makes a sandbox here, run as
 *             the user engines run as (unprivileged user namespaces)
 *   nginx     nginx (Debian's) is installed, for the fleet's test
 *   netns     network namespaces can be made (root, ip and nsenter), to
 *             be joined by veth pairs
 * Where one is missing the case is skipped with the reason, unless
 * $PARTSFS_REQUIRE (names separated by commas or blanks, or "all") names
 * it: then the case fails with the reason.  tap_need() says whether the
 * case can go on; NEED() returns from the case when it cannot.  Both are
 * for the case itself, before any tap_in_child(): a child's skip is lost.
 */
bool tap_need(const char *name);

#define NEED(name) do { \
	if (!tap_need(name)) \
		return; \
} while (0)

#define CHECK(cond) do { \
	if (!(cond)) { \
		tap_fail(__FILE__, __LINE__, "failed: %s", #cond); \
		return; \
	} \
} while (0)

#define CHECK_MSG(cond, ...) do { \
	if (!(cond)) { \
		tap_fail(__FILE__, __LINE__, __VA_ARGS__); \
		return; \
	} \
} while (0)

#define CHECK_STR(got, want) do { \
	const char *g_ = (got), *w_ = (want); \
	if (g_ == NULL || w_ == NULL ? g_ != w_ : strcmp(g_, w_) != 0) { \
		tap_fail(__FILE__, __LINE__, "%s: got \"%s\", want \"%s\"", \
		    #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
		return; \
	} \
} while (0)

#define CHECK_INT(got, want) do { \
	long long g_ = (long long)(got), w_ = (long long)(want); \
	if (g_ != w_) { \
		tap_fail(__FILE__, __LINE__, "%s: got %lld, want %lld", \
		    #got, g_, w_); \
		return; \
	} \
} while (0)

#define CHECK_NUM(got, want) do { \
	double g_ = (got), w_ = (want); \
	if (!(g_ == w_)) { \
		tap_fail(__FILE__, __LINE__, "%s: got %.17g, want %.17g", \
		    #got, g_, w_); \
		return; \
	} \
} while (0)

/* Does `hay` contain `needle`? */
#define CHECK_CONTAINS(hay, needle) do { \
	const char *h_ = (hay), *n_ = (needle); \
	if (h_ == NULL || strstr(h_, n_) == NULL) { \
		tap_fail(__FILE__, __LINE__, "%s: \"%s\" does not contain " \
		    "\"%s\"", #hay, h_ ? h_ : "(null)", n_); \
		return; \
	} \
} while (0)

#define TAP_CASE(fn) { #fn, fn }
#define TAP_MAIN(...) \
	int main(void) { \
		static const struct tap_case cases_[] = { __VA_ARGS__ }; \
		return tap_run(cases_, sizeof cases_ / sizeof cases_[0]); \
	}

/* Helpers for tests that need files. */
/* A fresh empty directory under $TMPDIR (removed at exit). */
const char *tap_tmpdir(void);
/* Write `text` to dir/rel, creating parent directories. */
void tap_write(const char *dir, const char *rel, const char *text);
/* The corpus directory ($PARTSFS_CORPUS, when it has data/), or NULL;
 * a case that needs it says NEED("corpus") first. */
const char *tap_corpus(void);
/* The source tree ($top_srcdir, or "."). */
const char *tap_srcdir(void);

#endif
