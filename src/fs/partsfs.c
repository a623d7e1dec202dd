/* partsfs.c -- partsfs, the FUSE front end: options in the manner of
 * sshfs, mounting, daemonizing, and the session loop over the core. */
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
	    "Mount the BOLTS parts library LIBRARY at MOUNTPOINT, read-only:\n"
	    "reading MOUNTPOINT/bolts/hex_screw/M8/length=20.step makes the part\n"
	    "(or takes it from the cache).  man partsfs has the details.\n\n"
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
	    "    -h, --help             this help\n"
	    "    -V, --version          the version\n\n");
}

static int
apply_options(struct conf *conf, const struct options *o)
{
	const struct {
		const char *name;
		const char *value;
	} set[] = {
		{ "cache", o->cache },
		{ "cache_max", o->cache_max },
		{ "jobs", o->jobs },
		{ "timeout", o->timeout },
		{ "memory", o->memory },
		{ "cpu", o->cpu },
		{ "negative_ttl", o->negative_ttl },
		{ "sandbox", o->sandbox },
		{ "model", o->model },
	};
	struct perr e = { 0 };

	for (size_t i = 0; i < PF_ARRAY_LEN(set); i++) {
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
load_conf(const struct options *o)
{
	struct diags d = DIAGS_INIT;
	struct conf *conf = conf_load(o->config, &d);

	diags_print(&d, stderr);
	diags_free(&d);
	if (conf != NULL && apply_options(conf, o) != 0) {
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
}

int
main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts cmd = { 0 };
	struct fuse_loop_config *loop = NULL;
	struct options o = { 0 };
	struct fs fs = { 0 };
	struct reload_hooks hooks = { 0 };
	struct perr e = { 0 };
	struct conf *conf = NULL;
	struct library *lib = NULL;
	char *root = NULL, *fsname = NULL;
	int rc = 1;

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
	if ((root = realpath(o.library, NULL)) == NULL) {
		fprintf(stderr, "partsfs: %s: %s\n", o.library, strerror(errno));
		goto out;
	}
	clock_gettime(CLOCK_REALTIME_COARSE, &fs.loaded);
	if ((conf = load_conf(&o)) == NULL || preflight(root, conf, &lib) != 0)
		goto out;
	/* read-only, checked by the kernel, and listed as fuse.partsfs */
	fsname = xasprintf("-oro,default_permissions,subtype=partsfs,"
	    "fsname=%s", root);
	for (char *c = fsname + strlen("-oro,default_permissions,subtype="
	    "partsfs,fsname="); *c; c++) {
		if (*c == ',')
			*c = '_';    /* a comma would start another option */
	}
	fuse_opt_add_arg(&args, fsname);

	fs.se = fuse_session_new(&args, &fs_ops, sizeof fs_ops, &fs);
	if (fs.se == NULL)
		goto out;
	if (fuse_set_signal_handlers(fs.se) != 0)
		goto destroy;
	if (fuse_session_mount(fs.se, cmd.mountpoint) != 0)
		goto signals;
	if (fuse_init_fix_install(fs.se, &fs.init_fix) != 0)
		goto unmount;
	if (fuse_daemonize(cmd.foreground) != 0)
		goto unmount;
	log_open("partsfs", !cmd.foreground, cmd.debug);

	/* after detaching: no thread or sqlite connection crosses a fork */
	fs.uid = getuid();
	fs.gid = getgid();
	fs.exact_size = o.exact_size != 0;
	fs.timeout = 1.0;
	fs.started = time(NULL);
	fs_init(&fs);
	fs.core = core_new(lib, conf, NULL, &e);
	lib = NULL;                 /* core_new took it, and conf */
	if (fs.core == NULL) {
		conf = NULL;
		log_error("%s", e.msg);
		goto unmount;
	}
	conf = NULL;
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

	if (cmd.singlethread)
		rc = fuse_session_loop(fs.se);
	else {
		loop = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(loop, cmd.clone_fd);
		/* libfuse marks the values not given with UINT_MAX */
		if (cmd.max_idle_threads != UINT_MAX)
			fuse_loop_cfg_set_idle_threads(loop,
			    cmd.max_idle_threads);
		if (cmd.max_threads != UINT_MAX)
			fuse_loop_cfg_set_max_threads(loop, cmd.max_threads);
		rc = fuse_session_loop_mt(fs.se, loop);
		fuse_loop_cfg_destroy(loop);
	}
	rc = rc < 0 ? 1 : 0;
	log_info("unmounting %s", cmd.mountpoint);
	reload_stop(fs.reload);
	fs_held_entries_free(&fs);
	fs_interrupts_stop(&fs);
	fs_handles_free(&fs);
	/* engines are killed, queued jobs fail, the cache is closed whole */
	core_close(fs.core);
unmount:
	fuse_session_unmount(fs.se);
signals:
	fuse_remove_signal_handlers(fs.se);
destroy:
	fuse_session_destroy(fs.se);
	fs_free(&fs);
	log_close();
out:
	library_unref(lib);
	conf_free(conf);
	free(fsname);
	free(root);
	free(cmd.mountpoint);
	free_options(&o);
	fuse_opt_free_args(&args);
	return rc;
}
