/* mhd-lazy.c -- GNU libmicrohttpd, loaded at its first use (see mhd-lazy.h). */
#include "config.h"

#define MHD_LAZY_DEFINING
#include "mhd-lazy.h"
#include "lazy-lib.h"

struct mhd_lazy mhd_lazy;

#define MHD_LAZY_NAME(f) #f,
static const char *const names[] = {
	MHD_LAZY_FUNCTIONS(MHD_LAZY_NAME) NULL
};
#undef MHD_LAZY_NAME

/* the struct's members are the functions' pointers, in names' order */
static struct lazy_lib lib = LAZY_LIB_INIT(MHD_LAZY_SONAME, names,
    (void **)&mhd_lazy);

int
mhd_lazy_load(struct perr *e)
{
	return lazy_lib_load(&lib, e);
}
