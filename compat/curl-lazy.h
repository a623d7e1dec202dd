/* curl-lazy.h -- libcurl, loaded at its first use (compat/lazy-lib.h):
 * the file that includes this instead of <curl/curl.h> calls the loaded
 * library's functions, after curl_lazy_load. */
#ifndef PARTSFS_CURL_LAZY_H
#define PARTSFS_CURL_LAZY_H

/* calls go through pointers: curl.h's type-checking wrappers of the
 * variadic setopt and getinfo, and its macros holding them to three
 * arguments, would hide them */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_share_setopt

#include "partsfs/util/util.h"

#define CURL_LAZY_SONAME "libcurl.so.4"

/* Every function partsfs calls. */
#define CURL_LAZY_FUNCTIONS(X) \
	X(curl_easy_cleanup) \
	X(curl_easy_getinfo) \
	X(curl_easy_init) \
	X(curl_easy_perform) \
	X(curl_easy_setopt) \
	X(curl_easy_strerror) \
	X(curl_free) \
	X(curl_global_init) \
	X(curl_share_cleanup) \
	X(curl_share_init) \
	X(curl_share_setopt) \
	X(curl_slist_append) \
	X(curl_slist_free_all) \
	X(curl_url) \
	X(curl_url_cleanup) \
	X(curl_url_get) \
	X(curl_url_set)

#define CURL_LAZY_MEMBER(f) __typeof__(f) *f;
struct curl_lazy {
	CURL_LAZY_FUNCTIONS(CURL_LAZY_MEMBER)
};
#undef CURL_LAZY_MEMBER

extern struct curl_lazy curl_lazy;

/* Load the library once per process: 0, or -ELIBACC with `e` saying
 * what is missing.  Nothing of it may be called before.  Thread-safe. */
int curl_lazy_load(struct perr *e);

#ifndef CURL_LAZY_DEFINING
#define curl_easy_cleanup (*curl_lazy.curl_easy_cleanup)
#define curl_easy_getinfo (*curl_lazy.curl_easy_getinfo)
#define curl_easy_init (*curl_lazy.curl_easy_init)
#define curl_easy_perform (*curl_lazy.curl_easy_perform)
#define curl_easy_setopt (*curl_lazy.curl_easy_setopt)
#define curl_easy_strerror (*curl_lazy.curl_easy_strerror)
#define curl_free (*curl_lazy.curl_free)
#define curl_global_init (*curl_lazy.curl_global_init)
#define curl_share_cleanup (*curl_lazy.curl_share_cleanup)
#define curl_share_init (*curl_lazy.curl_share_init)
#define curl_share_setopt (*curl_lazy.curl_share_setopt)
#define curl_slist_append (*curl_lazy.curl_slist_append)
#define curl_slist_free_all (*curl_lazy.curl_slist_free_all)
#define curl_url (*curl_lazy.curl_url)
#define curl_url_cleanup (*curl_lazy.curl_url_cleanup)
#define curl_url_get (*curl_lazy.curl_url_get)
#define curl_url_set (*curl_lazy.curl_url_set)
#endif

#endif
