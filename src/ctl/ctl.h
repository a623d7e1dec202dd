/* ctl.h -- the partsctl front end: one function per command, shared
 * option handling and messages. */
#ifndef PARTSFS_CTL_H
#define PARTSFS_CTL_H

#include "partsfs/model/library.h"
#include "partsfs/util/util.h"

/* Exit codes: 0 success, 1 the library or the request is wrong (errors in
 * the library, an invalid path or value), 2 usage, 3 a job failed,
 * 4 an internal or system error. */
enum {
	CTL_OK = 0,
	CTL_INVALID = 1,
	CTL_USAGE = 2,
	CTL_FAILED = 3,
	CTL_SYSTEM = 4,
};

int cmd_check(int argc, char **argv);
int cmd_params(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_cache(int argc, char **argv);

/* "partsctl: <message>" on stderr. */
void ctl_error(const char *fmt, ...) PF_PRINTF(1, 2);
/* Load a library for a command under the configuration `config` (NULL:
 * partsfs.conf's search order), so that formats of command executors are
 * known as the mount knows them; NULL after a message when the library or
 * the configuration cannot be used. */
struct library *ctl_load(const char *root, const char *config);

struct conf;
/* The configuration for get and cache: `path` (or the search order of
 * partsfs.conf(5)), then --cache and --timeout when given.  NULL after
 * printing the problems. */
struct conf *ctl_conf(const char *path, const char *cache_dir,
    const char *timeout);

#endif
