/* lazy-lib.h -- a shared library mapped at its first use rather than at
 * the start of every process: partsctl links libcurl (for a library's URL)
 * and libmicrohttpd (for serve), which with their dependencies are 36
 * libraries to map and relocate, 15-30 ms of a warm partsctl get that
 * needs none of them (bench T2; see NEWS).  A shim header per library
 * (curl-lazy.h, mhd-lazy.h) lists its functions and renames the calls. */
#ifndef PARTSFS_LAZY_LIB_H
#define PARTSFS_LAZY_LIB_H

#include <pthread.h>
#include <stddef.h>

#include "partsfs/util/util.h"

struct lazy_lib {
	const char *soname;          /* the file dlopen loads */
	const char *const *names;    /* its functions, NULL-terminated */
	void **slots;                /* their addresses, in the same order */
	pthread_mutex_t lock;
	int state;                   /* 0 not tried, 1 loaded, -1 failed */
	char *error;                 /* why it failed */
};

#define LAZY_LIB_INIT(soname, names, slots) \
	{ (soname), (names), (slots), PTHREAD_MUTEX_INITIALIZER, 0, NULL }

/*
 * Load `l` and find every one of its functions, once per process: 0, or
 * -ELIBACC with `e` saying which library or function is missing (every
 * later call says the same).  Thread-safe; the library stays loaded.
 */
int lazy_lib_load(struct lazy_lib *l, struct perr *e);

#endif
