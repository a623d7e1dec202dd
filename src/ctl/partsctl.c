/* partsctl.c -- partsctl, the command-line front end of the partsfs core:
 * dispatches to one function per command. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "partsfs/model/load.h"
#include "ctl.h"
#include "partsfs/util/conf.h"
#include "partsfs/util/log.h"
#include "partsfs/serve/serve.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *synopsis;
} commands[] = {
	{ "check", cmd_check, "check LIBRARY [--json] [-q] [--config FILE]" },
	{ "params", cmd_params, "params LIBRARY COLL/CLASS|PART [name=value ...] "
	    "[--config FILE]" },
	{ "ls", cmd_ls, "ls LIBRARY [PATH] [-l] [--config FILE]" },
	{ "get", cmd_get, "get LIBRARY PATH [-o FILE] [-q] [--config FILE] "
	    "[--cache DIR] [--timeout SECONDS]" },
	{ "cache", cmd_cache, "cache stats|prune|clear|verify [--json] "
	    "[--config FILE] [--cache DIR]" },
	{ "serve", serve_main, "serve LIBRARY [--listen ADDR:PORT]... "
	    "[--occi-listen ADDR:PORT]... [--config FILE] [--cache DIR]" },
};

void
ctl_error(const char *fmt, ...)
{
	va_list ap;

	fputs("partsctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

struct library *
ctl_load(const char *root, const char *config)
{
	struct perr e = { 0 };
	struct library_opts opts = { 0 };
	struct library *lib;

	/* the configuration is needed while loading only */
	if ((opts.conf = ctl_conf(config, NULL, NULL)) == NULL)
		return NULL;
	lib = library_load(root, &opts, &e);
	conf_free((struct conf *)opts.conf);
	if (lib == NULL)
		ctl_error("%s", e.msg);
	return lib;
}

struct conf *
ctl_conf(const char *path, const char *cache_dir, const char *timeout)
{
	struct diags d = DIAGS_INIT;
	struct conf *conf = conf_load(path, &d);
	struct perr e = { 0 };

	diags_print(&d, stderr);
	diags_free(&d);
	if (conf == NULL)
		return NULL;
	if ((cache_dir != NULL && conf_set(conf, "cache", cache_dir, &e) != 0) ||
	    (timeout != NULL && conf_set(conf, "timeout", timeout, &e) != 0)) {
		ctl_error("%s", e.msg);
		conf_free(conf);
		return NULL;
	}
	return conf;
}

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: partsctl COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < PF_ARRAY_LEN(commands); i++)
		fprintf(fp, "  partsctl %s\n", commands[i].synopsis);
	fprintf(fp, "\n'partsctl COMMAND --help' describes a command; "
	    "man partsctl has the details.\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CTL_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CTL_OK;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("partsctl %s\n", PACKAGE_VERSION);
		return CTL_OK;
	}
	/* what the core logs (a damaged cache index set aside); its debug
	 * messages with PARTSFS_DEBUG=1 */
	log_open("partsctl", false, getenv("PARTSFS_DEBUG") != NULL &&
	    strcmp(getenv("PARTSFS_DEBUG"), "1") == 0);
	for (size_t i = 0; i < PF_ARRAY_LEN(commands); i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	}
	ctl_error("unknown command '%s'", argv[1]);
	usage(stderr);
	return CTL_USAGE;
}
