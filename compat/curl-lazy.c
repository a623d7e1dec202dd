/* curl-lazy.c -- libcurl, loaded at its first use (see curl-lazy.h). */
#include "config.h"

#define CURL_LAZY_DEFINING
#include "curl-lazy.h"
#include "lazy-lib.h"

struct curl_lazy curl_lazy;

#define CURL_LAZY_NAME(f) #f,
static const char *const names[] = {
	CURL_LAZY_FUNCTIONS(CURL_LAZY_NAME) NULL
};
#undef CURL_LAZY_NAME

/* the struct's members are the functions' pointers, in names' order */
static struct lazy_lib lib = LAZY_LIB_INIT(CURL_LAZY_SONAME, names,
    (void **)&curl_lazy);

int
curl_lazy_load(struct perr *e)
{
	return lazy_lib_load(&lib, e);
}
