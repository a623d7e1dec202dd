/* cmd-ls.c -- partsctl ls: the entries of a directory of the virtual tree,
 * in the order the mount lists them. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"
#include "partsfs/tree/path.h"

struct ls_ctx {
	bool lng;
};

static void
ls_usage(FILE *fp)
{
	fprintf(fp, "usage: partsctl ls LIBRARY [PATH] [-l] [--config FILE]\n"
	    "List a directory of the tree that partsfs mounts, one name per\n"
	    "line, in the mount's order.  Nothing is generated.\n\n"
	    "  -l, --long          a type letter (d directory, - file, l link)\n"
	    "                      before each name, '-> target' after links\n"
	    "  -c, --config FILE   partsfs.conf of the mount (command executors\n"
	    "                      add formats)\n"
	    "  -h, --help          this help\n");
}

static void
print_entry(const struct ls_ctx *ctx, const char *name, const struct pnode *n)
{
	if (!ctx->lng) {
		printf("%s\n", name);
		return;
	}
	if (n->kind == PN_LINK) {
		struct buf t = BUF_INIT;
		pnode_link_target(n, &t);
		printf("l %s -> %s\n", name, buf_str(&t));
		buf_free(&t);
		return;
	}
	printf("%c %s\n", pnode_is_dir(n) ? 'd' : '-', name);
}

static int
ls_entry(void *arg, const char *name, const struct pnode *child)
{
	print_entry(arg, name, child);
	return 0;
}

int
cmd_ls(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "long", no_argument, NULL, 'l' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ls_ctx ctx = { false };
	struct perr e = { 0 };
	struct library *lib;
	struct pnode node;
	const char *path, *config = NULL;
	int c, rc = CTL_OK;

	while ((c = getopt_long(argc, argv, "lc:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'l':
			ctx.lng = true;
			break;
		case 'h':
			ls_usage(stdout);
			return CTL_OK;
		default:
			ls_usage(stderr);
			return CTL_USAGE;
		}
	}
	if (argc - optind < 1 || argc - optind > 2) {
		ls_usage(stderr);
		return CTL_USAGE;
	}
	path = argc - optind == 2 ? argv[optind + 1] : "";
	if ((lib = ctl_load(argv[optind], config)) == NULL)
		return CTL_INVALID;
	if (pnode_lookup(lib, path, &node, &e) != 0) {
		ctl_error("%s: %s", path, e.msg);
		library_unref(lib);
		return CTL_INVALID;
	}
	if (pnode_is_dir(&node)) {
		if (pnode_list(lib, &node, ls_entry, &ctx, &e) != 0) {
			ctl_error("%s: %s", path, e.msg);
			rc = CTL_INVALID;
		}
	} else {
		struct buf name = BUF_INIT;
		pnode_name(&node, &name);
		print_entry(&ctx, buf_str(&name), &node);
		buf_free(&name);
	}
	pnode_clear(&node);
	library_unref(lib);
	return rc;
}
