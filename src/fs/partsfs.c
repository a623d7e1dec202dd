/* partsfs.c -- partsfs, the FUSE front end: options in the manner of
 * sshfs, mounting, daemonizing, and the session loop over the core, or
 * over a served library's URL (rmount.c). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "partsfs/model/load.h"
#include "fs.h"
#include "partsfs/util/log.h"

struct options {
	char *library;
	int nonopts;
	char *config;
	char *cache;
	char *cache_max;
	char *jobs;
	char *timeout;
	char *memory;
	char *cpu;
	char *negative_ttl;
	char *sandbox;
	char *model;
	char *dir_cache;
	char *netrc;
	char *token_file;
	char *connect_timeout;
	int exact_size;
	int help;
	int version;
};

enum {
	KEY_HELP,
	KEY_VERSION,
};

#define OPTION(t, p) { t, offsetof(struct options, p), 1 }
static const struct fuse_opt option_spec[] = {
	OPTION("config=%s", config),
	OPTION("cache=%s", cache),
	OPTION("cache_max=%s", cache_max),
	OPTION("jobs=%s", jobs),
	OPTION("timeout=%s", timeout),
	OPTION("memory=%s", memory),
	OPTION("cpu=%s", cpu),
	OPTION("negative_ttl=%s", negative_ttl),
	OPTION("sandbox=%s", sandbox),
	OPTION("model=%s", model),
	OPTION("dir_cache=%s", dir_cache),
	OPTION("netrc=%s", netrc),
	OPTION("token_file=%s", token_file),
	OPTION("connect_timeout=%s", connect_timeout),
	OPTION("exact_size", exact_size),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_END
};

static int
option_proc(void *data, const char *arg, int key, struct fuse_args *out)
{
	struct options *o = data;

	(void)out;
	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		/* the first is the library, the second the mount point */
		if (o->nonopts++ == 0) {
			o->library = xstrdup(arg);
			return 0;
		}
		return 1;
	case KEY_HELP:
		o->help = 1;
		return 0;
	case KEY_VERSION:
		o->version = 1;
		return 0;
	}
	return 1;
}

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: partsfs LIBRARY MOUNTPOINT [-f] [-d] [-s] "
	    "[-o option,...]\n"
	    "       partsfs http[s]://SERVER[:PORT]/ MOUNTPOINT [-o option,...]\n"
	    "Mount the BOLTS parts library LIBRARY at MOUNTPOINT, read-only:\n"
	    "reading MOUNTPOINT/bolts/hex_screw/M8/length=20.step makes the part\n"
	    "(or takes it from the cache).  With a URL, mount the library that\n"
	    "partsctl serve serves there: parts are made on the server and kept\n"
	    "in the local cache.  man partsfs has the details.\n\n"
	    "partsfs options:\n"
	    "    -o config=FILE         partsfs.conf to use (see partsfs.conf(5))\n"
	    "    -o cache=DIR           the cache directory\n"
	    "    -o cache_max=SIZE      the cache's size limit (e.g. 2G)\n"
	    "    -o jobs=N              parts made at once (0: one per CPU)\n"
	    "    -o timeout=SECONDS     an engine's time limit\n"
	    "    -o memory=SIZE         an engine's address-space limit\n"
	    "    -o cpu=SECONDS         an engine's CPU time limit\n"
	    "    -o negative_ttl=SECONDS  how long a failure is remembered\n"
	    "    -o sandbox=bwrap|off   engines in bubblewrap (the default), or\n"
	    "                           unconfined\n"
	    "    -o model=ENGINE        the engine making the model of a class\n"
	    "                           that several can make: freecad (the\n"
	    "                           default), openscad or a command\n"
	    "    -o exact_size          looking a part up makes it, so that its\n"
	    "                           size is exact (for re-export)\n"
	    "remote mount options (a URL for LIBRARY; cache, cache_max and\n"
	    "config as above):\n"
	    "    -o dir_cache=SECONDS   a listing is used that long, then\n"
	    "                           revalidated (default 30)\n"
	    "    -o connect_timeout=SECONDS  the longest a connection to the\n"
	    "                           server may take (default 10)\n"
	    "    -o netrc=FILE          user and password for the server\n"
	    "    -o token_file=FILE     a bearer token for the server\n"
	    "    -h, --help             this help\n"
	    "    -V, --version          the version\n\n");
}

static int
apply_options(struct conf *conf, const struct options *o, bool remote)
{
	const struct {
		const char *name;
		const char *value;
		int mode;          /* 0 both, 1 local only, 2 remote only */
	} set[] = {
		{ "cache", o->cache, 0 },
		{ "cache_max", o->cache_max, 0 },
		{ "jobs", o->jobs, 1 },
		{ "timeout", o->timeout, 1 },
		{ "memory", o->memory, 1 },
		{ "cpu", o->cpu, 1 },
		{ "negative_ttl", o->negative_ttl, 1 },
		{ "sandbox", o->sandbox, 1 },
		{ "model", o->model, 1 },
		{ "dir_cache", o->dir_cache, 2 },
		{ "netrc", o->netrc, 2 },
		{ "token_file", o->token_file, 2 },
		{ "connect_timeout", o->connect_timeout, 2 },
	};
	struct perr e = { 0 };

	if (remote && o->exact_size) {
		fprintf(stderr, "partsfs: -o exact_size: only for a local "
		    "library (the server makes the parts)\n");
		return -1;
	}
	for (size_t i = 0; i < PF_ARRAY_LEN(set); i++) {
		if (set[i].value != NULL && set[i].mode == (remote ? 1 : 2)) {
			fprintf(stderr, "partsfs: -o %s: only for %s\n",
			    set[i].name, remote ? "a local library (the "
			    "server makes the parts)" : "a remote mount (a "
			    "URL for LIBRARY)");
			return -1;
		}
		if (set[i].value != NULL &&
		    conf_set(conf, set[i].name, set[i].value, &e) != 0) {
			fprintf(stderr, "partsfs: -o %s=%s: %s\n", set[i].name,
			    set[i].value, e.msg);
			return -1;
		}
	}
	return 0;
}

static struct conf *
load_conf(const struct options *o, bool remote)
{
	struct diags d = DIAGS_INIT;
	struct conf *conf = conf_load(o->config, &d);

	diags_print(&d, stderr);
	diags_free(&d);
	if (conf != NULL && apply_options(conf, o, remote) != 0) {
		conf_free(conf);
		conf = NULL;
	}
	return conf;
}

/* Load the library and check the cache before detaching, so that a
 * mistake is an error message and an exit status, not a line in syslog.
 * The library loaded is the one served (*libp): loading a library of
 * thousands of classes takes a good part of a second, which the mount
 * would otherwise spend again after mounting, with every request to it
 * waiting. */
static int
preflight(const char *library, const struct conf *conf,
    struct library **libp)
{
	struct library_opts opts = { .conf = conf };
	struct perr e = { 0 };
	struct library *lib;
	struct cache *cache;

	if ((lib = library_load(library, &opts, &e)) == NULL) {
		fprintf(stderr, "partsfs: %s\n", e.msg);
		return -1;
	}
	if (lib->diags.nerrors > 0)
		fprintf(stderr, "partsfs: %s has %zu errors (partsctl check "
		    "lists them); the valid classes are served\n", library,
		    lib->diags.nerrors);
	if ((cache = cache_open(conf->cache_dir, conf->cache_max,
	    conf->negative_ttl, &e)) == NULL) {
		fprintf(stderr, "partsfs: %s\n", e.msg);
		library_unref(lib);
		return -1;
	}
	cache_close(cache);
	*libp = lib;
	return 0;
}

static void
free_options(struct options *o)
{
	free(o->library);
	free(o->config);
	free(o->cache);
	free(o->cache_max);
	free(o->jobs);
	free(o->timeout);
	free(o->memory);
	free(o->cpu);
	free(o->negative_ttl);
	free(o->sandbox);
	free(o->model);
	free(o->dir_cache);
	free(o->netrc);
	free(o->token_file);
	free(o->connect_timeout);
}

/* "-oro,...,fsname=SOURCE" (caller frees): read-only, checked by the
 * kernel, and listed as fuse.partsfs. */
static char *
mount_options(const char *source)
{
	char *s = xasprintf("-oro,default_permissions,subtype=partsfs,"
	    "fsname=%s", source);

	for (char *c = strstr(s, "fsname=") + 7; *c; c++) {
		if (*c == ',')
			*c = '_';    /* a comma would start another option */
	}
	return s;
}

/* Run the session until it is unmounted: 0, or 1 after an error. */
static int
session_loop(struct fuse_session *se, const struct fuse_cmdline_opts *cmd)
{
	struct fuse_loop_config *loop;
	int rc;

	if (cmd->singlethread)
		rc = fuse_session_loop(se);
	else {
		loop = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(loop, cmd->clone_fd);
		/* libfuse marks the values not given with UINT_MAX */
		if (cmd->max_idle_threads != UINT_MAX)
			fuse_loop_cfg_set_idle_threads(loop,
			    cmd->max_idle_threads);
		if (cmd->max_threads != UINT_MAX)
			fuse_loop_cfg_set_max_threads(loop, cmd->max_threads);
		rc = fuse_session_loop_mt(se, loop);
		fuse_loop_cfg_destroy(loop);
	}
	return rc < 0 ? 1 : 0;
}

/* How far a session came up, for taking it down. */
enum stage {
	UP_NONE,
	UP_SESSION,
	UP_SIGNALS,
	UP_MOUNTED,
	UP_DETACHED,
};

/* Make the session of `fs` with `ops` (userdata: fs), mount it, and
 * detach unless in the foreground: how far it came. */
static enum stage
session_up(struct fs *fs, struct fuse_args *args,
    const struct fuse_lowlevel_ops *ops, const struct fuse_cmdline_opts *cmd)
{
	if ((fs->se = fuse_session_new(args, ops, sizeof *ops, fs)) == NULL)
		return UP_NONE;
	if (fuse_set_signal_handlers(fs->se) != 0)
		return UP_SESSION;
	if (fuse_session_mount(fs->se, cmd->mountpoint) != 0)
		return UP_SIGNALS;
	if (fuse_init_fix_install(fs->se, &fs->init_fix) != 0 ||
	    fuse_daemonize(cmd->foreground) != 0)
		return UP_MOUNTED;
	log_open("partsfs", !cmd->foreground, cmd->debug);
	/* after detaching: no thread or sqlite connection crosses a fork */
	fs->uid = getuid();
	fs->gid = getgid();
	fs->started = time(NULL);
	fs_init(fs);
	return UP_DETACHED;
}

static void
session_down(struct fs *fs, enum stage up)
{
	if (up >= UP_MOUNTED)
		fuse_session_unmount(fs->se);
	if (up >= UP_SIGNALS)
		fuse_remove_signal_handlers(fs->se);
	if (up >= UP_SESSION)
		fuse_session_destroy(fs->se);
	if (up >= UP_DETACHED) {
		fs_free(fs);
		log_close();
	}
}

/* partsfs URL MOUNTPOINT: the remote mount. */
static int
mount_remote(const struct options *o, struct fuse_args *args,
    const struct fuse_cmdline_opts *cmd)
{
	struct fuse_lowlevel_ops ops;
	struct rfs rfs = { 0 };
	struct perr e = { 0 };
	struct conf *conf;
	struct cache *cache;
	struct remote *r;
	enum stage up;
	char *opts;
	int rc = 1;

	if ((conf = load_conf(o, true)) == NULL)
		return 1;
	/* mistakes said before detaching; the server is not asked: the
	 * mount comes up without it, serving what was fetched before */
	if ((r = remote_open(o->library, NULL, NULL, &e)) == NULL ||
	    (cache = cache_open(conf->cache_dir, conf->cache_max,
	    conf->negative_ttl, &e)) == NULL) {
		fprintf(stderr, "partsfs: %s\n", e.msg);
		remote_close(r);
		conf_free(conf);
		return 1;
	}
	remote_close(r);
	cache_close(cache);
	fuse_opt_add_arg(args, opts = mount_options(o->library));
	free(opts);
	rfs_ops_fill(&ops);
	rfs.fs.timeout = conf->remote_dir_cache;
	if ((up = session_up(&rfs.fs, args, &ops, cmd)) == UP_DETACHED) {
		if (rfs_start(&rfs, o->library, conf, &e) != 0)
			log_error("%s", e.msg);
		else {
			log_info("serving %s at %s (listings kept %g s)",
			    o->library, cmd->mountpoint, rfs.ttl);
			rc = session_loop(rfs.fs.se, cmd);
			log_info("unmounting %s", cmd->mountpoint);
		}
		fs_interrupts_stop(&rfs.fs);
		rfs_stop(&rfs);
		fs_handles_free(&rfs.fs);
	}
	session_down(&rfs.fs, up);
	conf_free(conf);
	return rc;
}

int
main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts cmd = { 0 };
	struct options o = { 0 };
	struct fs fs = { 0 };
	struct reload_hooks hooks = { 0 };
	struct perr e = { 0 };
	struct conf *conf = NULL;
	struct library *lib = NULL;
	char *root = NULL, *opts;
	enum stage up;
	int rc = 1;

	malloc_tune_daemon();
	if (fuse_opt_parse(&args, &o, option_spec, option_proc) == -1)
		return 1;
	if (o.version) {
		printf("partsfs %s (libfuse %s)\n", PACKAGE_VERSION,
		    fuse_pkgversion());
		rc = 0;
		goto out;
	}
	if (o.help) {
		usage(stdout);
		printf("FUSE options:\n");
		fuse_cmdline_help();
		fuse_lowlevel_help();
		rc = 0;
		goto out;
	}
	if (fuse_parse_cmdline(&args, &cmd) != 0)
		goto out;
	if (o.library == NULL || cmd.mountpoint == NULL) {
		usage(stderr);
		goto out;
	}
	if (remote_is_url(o.library)) {
		rc = mount_remote(&o, &args, &cmd);
		goto out;
	}
	if ((root = realpath(o.library, NULL)) == NULL) {
		fprintf(stderr, "partsfs: %s: %s\n", o.library, strerror(errno));
		goto out;
	}
	clock_gettime(CLOCK_REALTIME_COARSE, &fs.loaded);
	if ((conf = load_conf(&o, false)) == NULL ||
	    preflight(root, conf, &lib) != 0)
		goto out;
	fuse_opt_add_arg(&args, opts = mount_options(root));
	free(opts);

	if ((up = session_up(&fs, &args, &fs_ops, &cmd)) != UP_DETACHED)
		goto down;
	fs.exact_size = o.exact_size != 0;
	fs.timeout = 1.0;
	fs.core = core_new(lib, conf, NULL, &e);
	lib = NULL;                 /* core_new took it, and conf */
	conf = NULL;
	if (fs.core == NULL) {
		log_error("%s", e.msg);
		goto down;
	}
	core_on_made(fs.core, fs_part_made, &fs);
	hooks.reloaded = fs_reloaded;
	hooks.tick = fs_release_entries;
	hooks.arg = &fs;
	if ((fs.reload = reload_start(fs.core, &fs.loaded, &hooks,
	    &e)) == NULL)
		log_warning("live reloading is off: %s", e.msg);
	log_info("serving %s at %s", root, cmd.mountpoint);
	{
		/* which sandbox engines get (tried now, not at the first
		 * part): said at once, and in the log */
		char *how = core_engines(fs.core);
		log_info("%s", how);
		free(how);
	}
	rc = session_loop(fs.se, &cmd);
	log_info("unmounting %s", cmd.mountpoint);
	reload_stop(fs.reload);
	fs_held_entries_free(&fs);
	fs_interrupts_stop(&fs);
	fs_handles_free(&fs);
	/* engines are killed, queued jobs fail, the cache is closed whole */
	core_close(fs.core);
down:
	session_down(&fs, up);
out:
	library_unref(lib);
	pnode_indexes_free();
	conf_free(conf);
	free(root);
	free(cmd.mountpoint);
	free_options(&o);
	fuse_opt_free_args(&args);
	return rc;
}
