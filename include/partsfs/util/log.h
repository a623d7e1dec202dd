/* log.h -- messages of a running partsfs: to syslog when daemonized, to
 * stderr in the foreground.  Thread-safe. */
#ifndef PARTSFS_LOG_H
#define PARTSFS_LOG_H

#include <stdbool.h>

#include "partsfs/util/util.h"

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Start logging as `ident`; to syslog (daemon facility) or stderr.
 * `debug` also shows debug messages.  Before log_open, messages go to
 * stderr. */
void log_open(const char *ident, bool to_syslog, bool debug);
/* Only warnings and errors from now on (a command's -q). */
void log_quiet(void);
void log_close(void);
void log_msg(enum log_level level, const char *fmt, ...) PF_PRINTF(2, 3);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
