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

/* Options of ls, params and get for a library served over HTTP (a URL
 * in place of LIBRARY). */
struct ctl_remote {
	const char *netrc;
	const char *token_file;
	const char *connect_timeout;
};
#define CTL_REMOTE_OPTIONS \
	{ "netrc", required_argument, NULL, 'N' }, \
	{ "token-file", required_argument, NULL, 'K' }, \
	{ "connect-timeout", required_argument, NULL, 'W' }
/* Take option `c` (one of CTL_REMOTE_OPTIONS) into `o`: false when it is
 * not one of them. */
bool ctl_remote_opt(struct ctl_remote *o, int c, const char *arg);
/* The help lines of those options. */
extern const char ctl_remote_help[];

struct remote;
struct cache;
struct perr;
/* A client of the server at `url` with options `o` over the remote:
 * section of `conf`, keeping parts in `cache` (may be NULL when it
 * fetches none).  NULL after a message. */
struct remote *ctl_remote_open(const char *url, const struct ctl_remote *o,
    const struct conf *conf, struct cache *cache);
/* The exit code of a remote failure `e` (after printing it). */
int ctl_remote_fail(const struct perr *e);

/* The commands on a URL: what ls, params and get do there. */
int ctl_remote_ls(const char *url, const char *path, bool lng,
    const struct ctl_remote *o, const char *config);
int ctl_remote_params(const char *url, const char *path, int nvals,
    char **vals, const struct ctl_remote *o, const char *config);

#endif
