/* sqlite-lazy.h -- libsqlite3, loaded when a cache is first opened rather
 * than at the start of every process.  The cache (src/cache/internal.h)
 * includes this instead of <sqlite3.h>; the sqlite3_* functions it calls
 * are the loaded library's. */
#ifndef PARTSFS_SQLITE_LAZY_H
#define PARTSFS_SQLITE_LAZY_H

#include <sqlite3.h>

#include "partsfs/util/util.h"

/* The library's file: its soname, stable since sqlite 3.0. */
#define SQLITE_LAZY_SONAME "libsqlite3.so.0"

/* Every function the cache calls. */
#define SQLITE_LAZY_FUNCTIONS(X) \
	X(sqlite3_bind_double) \
	X(sqlite3_bind_int64) \
	X(sqlite3_bind_null) \
	X(sqlite3_bind_parameter_count) \
	X(sqlite3_bind_text) \
	X(sqlite3_busy_timeout) \
	X(sqlite3_changes) \
	X(sqlite3_clear_bindings) \
	X(sqlite3_close_v2) \
	X(sqlite3_column_bytes) \
	X(sqlite3_column_double) \
	X(sqlite3_column_int64) \
	X(sqlite3_column_text) \
	X(sqlite3_column_type) \
	X(sqlite3_errmsg) \
	X(sqlite3_errstr) \
	X(sqlite3_exec) \
	X(sqlite3_extended_errcode) \
	X(sqlite3_extended_result_codes) \
	X(sqlite3_file_control) \
	X(sqlite3_finalize) \
	X(sqlite3_get_autocommit) \
	X(sqlite3_open_v2) \
	X(sqlite3_prepare_v2) \
	X(sqlite3_prepare_v3) \
	X(sqlite3_reset) \
	X(sqlite3_step) \
	X(sqlite3_system_errno) \
	X(sqlite3_wal_checkpoint_v2)

#define SQLITE_LAZY_MEMBER(f) __typeof__(f) *f;
struct sqlite_lazy {
	SQLITE_LAZY_FUNCTIONS(SQLITE_LAZY_MEMBER)
};
#undef SQLITE_LAZY_MEMBER

extern struct sqlite_lazy sqlite_lazy;

/*
 * Load libsqlite3 and find its functions, once per process: 0, or
 * -ELIBACC with `e` saying what failed (every later call says the same).
 * Nothing of sqlite may be called before it succeeds.  Thread-safe.
 */
int sqlite_lazy_load(struct perr *e);

#ifndef SQLITE_LAZY_DEFINING
#define sqlite3_bind_double (*sqlite_lazy.sqlite3_bind_double)
#define sqlite3_bind_int64 (*sqlite_lazy.sqlite3_bind_int64)
#define sqlite3_bind_null (*sqlite_lazy.sqlite3_bind_null)
#define sqlite3_bind_parameter_count \
	(*sqlite_lazy.sqlite3_bind_parameter_count)
#define sqlite3_bind_text (*sqlite_lazy.sqlite3_bind_text)
#define sqlite3_busy_timeout (*sqlite_lazy.sqlite3_busy_timeout)
#define sqlite3_changes (*sqlite_lazy.sqlite3_changes)
#define sqlite3_clear_bindings (*sqlite_lazy.sqlite3_clear_bindings)
#define sqlite3_close_v2 (*sqlite_lazy.sqlite3_close_v2)
#define sqlite3_column_bytes (*sqlite_lazy.sqlite3_column_bytes)
#define sqlite3_column_double (*sqlite_lazy.sqlite3_column_double)
#define sqlite3_column_int64 (*sqlite_lazy.sqlite3_column_int64)
#define sqlite3_column_text (*sqlite_lazy.sqlite3_column_text)
#define sqlite3_column_type (*sqlite_lazy.sqlite3_column_type)
#define sqlite3_errmsg (*sqlite_lazy.sqlite3_errmsg)
#define sqlite3_errstr (*sqlite_lazy.sqlite3_errstr)
#define sqlite3_exec (*sqlite_lazy.sqlite3_exec)
#define sqlite3_extended_errcode (*sqlite_lazy.sqlite3_extended_errcode)
#define sqlite3_extended_result_codes \
	(*sqlite_lazy.sqlite3_extended_result_codes)
#define sqlite3_file_control (*sqlite_lazy.sqlite3_file_control)
#define sqlite3_finalize (*sqlite_lazy.sqlite3_finalize)
#define sqlite3_get_autocommit (*sqlite_lazy.sqlite3_get_autocommit)
#define sqlite3_open_v2 (*sqlite_lazy.sqlite3_open_v2)
#define sqlite3_prepare_v2 (*sqlite_lazy.sqlite3_prepare_v2)
#define sqlite3_prepare_v3 (*sqlite_lazy.sqlite3_prepare_v3)
#define sqlite3_reset (*sqlite_lazy.sqlite3_reset)
#define sqlite3_step (*sqlite_lazy.sqlite3_step)
#define sqlite3_system_errno (*sqlite_lazy.sqlite3_system_errno)
#define sqlite3_wal_checkpoint_v2 (*sqlite_lazy.sqlite3_wal_checkpoint_v2)
#endif

#endif
