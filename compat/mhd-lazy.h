/* mhd-lazy.h -- GNU libmicrohttpd, loaded at its first use (compat/lazy-lib.h):
 * the file that includes this instead of <microhttpd.h> calls the loaded
 * library's functions, after mhd_lazy_load. */
#ifndef PARTSFS_MHD_LAZY_H
#define PARTSFS_MHD_LAZY_H

#include <microhttpd.h>

#include "partsfs/util/util.h"

#define MHD_LAZY_SONAME "libmicrohttpd.so.12"

/* Every function partsfs calls. */
#define MHD_LAZY_FUNCTIONS(X) \
	X(MHD_add_response_header) \
	X(MHD_create_response_from_buffer) \
	X(MHD_create_response_from_fd_at_offset64) \
	X(MHD_destroy_response) \
	X(MHD_get_connection_info) \
	X(MHD_get_daemon_info) \
	X(MHD_lookup_connection_value) \
	X(MHD_lookup_connection_value_n) \
	X(MHD_queue_response) \
	X(MHD_quiesce_daemon) \
	X(MHD_resume_connection) \
	X(MHD_start_daemon) \
	X(MHD_stop_daemon) \
	X(MHD_suspend_connection)

#define MHD_LAZY_MEMBER(f) __typeof__(f) *f;
struct mhd_lazy {
	MHD_LAZY_FUNCTIONS(MHD_LAZY_MEMBER)
};
#undef MHD_LAZY_MEMBER

extern struct mhd_lazy mhd_lazy;

/* Load the library once per process: 0, or -ELIBACC with `e` saying
 * what is missing.  Nothing of it may be called before.  Thread-safe. */
int mhd_lazy_load(struct perr *e);

#ifndef MHD_LAZY_DEFINING
#define MHD_add_response_header (*mhd_lazy.MHD_add_response_header)
#define MHD_create_response_from_buffer (*mhd_lazy.MHD_create_response_from_buffer)
#define MHD_create_response_from_fd_at_offset64 (*mhd_lazy.MHD_create_response_from_fd_at_offset64)
#define MHD_destroy_response (*mhd_lazy.MHD_destroy_response)
#define MHD_get_connection_info (*mhd_lazy.MHD_get_connection_info)
#define MHD_get_daemon_info (*mhd_lazy.MHD_get_daemon_info)
#define MHD_lookup_connection_value (*mhd_lazy.MHD_lookup_connection_value)
#define MHD_lookup_connection_value_n (*mhd_lazy.MHD_lookup_connection_value_n)
#define MHD_queue_response (*mhd_lazy.MHD_queue_response)
#define MHD_quiesce_daemon (*mhd_lazy.MHD_quiesce_daemon)
#define MHD_resume_connection (*mhd_lazy.MHD_resume_connection)
#define MHD_start_daemon (*mhd_lazy.MHD_start_daemon)
#define MHD_stop_daemon (*mhd_lazy.MHD_stop_daemon)
#define MHD_suspend_connection (*mhd_lazy.MHD_suspend_connection)
#endif

#endif
