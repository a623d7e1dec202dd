/* sqlite-lazy.c -- loading libsqlite3 on first use: a process that never
 * opens a cache index (a warm partsctl get answered from the memo files,
 * partsctl ls, check or params) does not map and relocate it, half a
 * millisecond of a 4.7 ms warm get on the machine of bench/README.md. */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#define SQLITE_LAZY_DEFINING
#include "sqlite-lazy.h"

struct sqlite_lazy sqlite_lazy;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char *load_error;        /* why loading failed, or NULL */

static void
load(void)
{
	void *lib = dlopen(SQLITE_LAZY_SONAME, RTLD_NOW | RTLD_LOCAL);
	void *sym;

	if (lib == NULL) {
		load_error = xasprintf("cannot load %s: %s", SQLITE_LAZY_SONAME,
		    dlerror());
		return;
	}
	/* kept for the life of the process, as a library linked would be */
#define SQLITE_LAZY_FIND(f)						\
	if (load_error == NULL) {					\
		if ((sym = dlsym(lib, #f)) == NULL)			\
			load_error = xasprintf("%s has no %s (too old?)",\
			    SQLITE_LAZY_SONAME, #f);			\
		else							\
			sqlite_lazy.f = (__typeof__(sqlite_lazy.f))sym;	\
	}
	SQLITE_LAZY_FUNCTIONS(SQLITE_LAZY_FIND)
#undef SQLITE_LAZY_FIND
}

int
sqlite_lazy_load(struct perr *e)
{
	pthread_once(&load_once, load);
	if (load_error != NULL)
		return perr_set(e, ELIBACC, "%s", load_error);
	return 0;
}
