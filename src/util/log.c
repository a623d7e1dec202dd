/* log.c -- messages of a running partsfs, to syslog or stderr, one line
 * each (multi-line messages are split so that syslog keeps them whole). */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "partsfs/util/log.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static bool use_syslog;
static atomic_int max_level = LOG_LEVEL_INFO;
static const char *log_ident = "partsfs";

void
log_open(const char *ident, bool to_syslog, bool debug)
{
	pthread_mutex_lock(&log_lock);
	log_ident = ident;
	use_syslog = to_syslog;
	max_level = debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO;
	if (use_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
	pthread_mutex_unlock(&log_lock);
}

void
log_quiet(void)
{
	atomic_store(&max_level, LOG_LEVEL_WARNING);
}

void
log_close(void)
{
	pthread_mutex_lock(&log_lock);
	if (use_syslog)
		closelog();
	use_syslog = false;
	pthread_mutex_unlock(&log_lock);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const name[] = { "error", "warning", "info",
	    "debug" };
	va_list ap;
	char *msg;

	if ((int)level > atomic_load(&max_level))
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&log_lock);
	for (char *line = msg, *next; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (next != NULL && *next == '\0')
			next = NULL;    /* a final newline ends the last line */
		if (use_syslog)
			syslog(prio[level], "%s", line);
		else
			fprintf(stderr, "%s: %s: %s\n", log_ident, name[level],
			    line);
	}
	pthread_mutex_unlock(&log_lock);
	free(msg);
}
