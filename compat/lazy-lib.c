/* lazy-lib.c -- loading a shared library on first use (see lazy-lib.h). */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>

#include "lazy-lib.h"

int
lazy_lib_load(struct lazy_lib *l, struct perr *e)
{
	void *lib;

	pthread_mutex_lock(&l->lock);
	if (l->state == 0) {
		l->state = -1;
		if ((lib = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL)) == NULL)
			l->error = xasprintf("cannot load %s: %s", l->soname,
			    dlerror());
		for (size_t i = 0; lib != NULL && l->names[i] != NULL; i++) {
			if ((l->slots[i] = dlsym(lib, l->names[i])) == NULL) {
				l->error = xasprintf("%s has no %s (too old?)",
				    l->soname, l->names[i]);
				break;
			}
		}
		if (l->error == NULL)
			l->state = 1;
	}
	pthread_mutex_unlock(&l->lock);
	if (l->state != 1)
		return perr_set(e, ELIBACC, "%s", l->error);
	return 0;
}
