/* cmd-ls.c -- partsctl ls: the entries of a directory of the virtual tree,
 * in the order the mount lists them. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "partsfs/remote/client.h"
#include "partsfs/tree/path.h"
#include "partsfs/util/conf.h"

struct ls_ctx {
	bool lng;
};

static void
ls_usage(FILE *fp)
{
	fprintf(fp, "usage: partsctl ls LIBRARY|URL [PATH] [-l] [--config FILE]\n"
	    "List a directory of the tree that partsfs mounts, one name per\n"
	    "line, in the mount's order.  Nothing is generated.  With the URL\n"
	    "of a partsctl serve (http:// or https://), its tree.\n\n"
	    "  -l, --long          a type letter (d directory, - file, l link)\n"
	    "                      before each name, '-> target' after links\n"
	    "  -c, --config FILE   partsfs.conf of the mount (command executors\n"
	    "                      add formats)\n"
	    "  -h, --help          this help\n%s", ctl_remote_help);
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

/* An entry of a server's listing of directory `dir` (its tree path). */
static void
print_remote(const struct ls_ctx *ctx, const char *dir, json_t *ent)
{
	const char *name = json_string_value(json_object_get(ent, "name"));
	const char *type = json_string_value(json_object_get(ent, "type"));
	const char *target;

	if (!ctx->lng) {
		printf("%s\n", name);
		return;
	}
	if (strcmp(type, "link") == 0 && (target = json_string_value(
	    json_object_get(ent, "target"))) != NULL) {
		/* relative to the directory, as the mount's links are */
		printf("l %s -> ", name);
		for (const char *p = dir; *p != '\0'; p++) {
			if (p == dir || p[-1] == '/')
				fputs("../", stdout);
		}
		printf("%s\n", target);
		return;
	}
	printf("%c %s\n", strcmp(type, "directory") == 0 ? 'd' : '-', name);
}

static const char *
listing_path(json_t *list, const char *fallback)
{
	const char *p = json_string_value(json_object_get(list, "path"));

	return p != NULL ? p : fallback;
}

int
ctl_remote_ls(const char *url, const char *path, bool lng,
    const struct ctl_remote *o, const char *config)
{
	struct ls_ctx ctx = { lng };
	struct perr e = { 0 };
	struct remote *r;
	json_t *list = NULL, *ent, *found = NULL;
	char *p, *parent, *base, *slash;
	size_t i;
	struct conf *conf;
	int rc = CTL_OK;

	if ((conf = ctl_conf(config, NULL, NULL)) == NULL)
		return CTL_USAGE;
	r = ctl_remote_open(url, o, conf, NULL);
	conf_free(conf);
	if (r == NULL)
		return CTL_SYSTEM;
	p = xstrdup(path);
	while (p[0] != '\0' && p[strlen(p) - 1] == '/')
		p[strlen(p) - 1] = '\0';
	base = p + strspn(p, "/");
	if (*base == '\0') {
		if ((list = remote_list(r, "", &e)) == NULL)
			goto fail;
		goto print;
	}
	/* what the name is, from its directory's listing */
	parent = xstrdup(base);
	slash = strrchr(parent, '/');
	*(slash != NULL ? slash : parent) = '\0';
	base = strrchr(base, '/') != NULL ? strrchr(base, '/') + 1 : base;
	list = remote_list(r, parent, &e);
	free(parent);
	if (list == NULL)
		goto fail;
	json_array_foreach(json_object_get(list, "entries"), i, ent) {
		if (strcmp(json_string_value(json_object_get(ent, "name")),
		    base) == 0)
			found = ent;
	}
	if (found != NULL) {
		const char *type = json_string_value(json_object_get(found,
		    "type"));
		if (strcmp(type, "directory") != 0) {
			print_remote(&ctx, listing_path(list, ""), found);
			goto out;
		}
	} else if (strchr(base, '.') != NULL) {
		/* a name valid but not listed: a part's description says
		 * so without making it */
		struct buf twin = BUF_INIT;
		const char *dot = strrchr(p, '.');
		char *text;
		buf_add(&twin, p, (size_t)(dot - p));
		buf_adds(&twin, ".json");
		text = remote_text(r, buf_str(&twin), NULL, &e);
		buf_free(&twin);
		if (text == NULL) {
			/* the message names the part asked for */
			if (e.code == ENOENT)
				perr_set(&e, ENOENT, "%s: no such part file",
				    path);
			goto fail;
		}
		free(text);
		printf(ctx.lng ? "- %s\n" : "%s\n", base);
		goto out;
	}
	json_decref(list);
	if ((list = remote_list(r, p, &e)) == NULL)
		goto fail;
print:
	json_array_foreach(json_object_get(list, "entries"), i, ent)
		print_remote(&ctx, listing_path(list, p), ent);
	goto out;
fail:
	rc = ctl_remote_fail(&e);
out:
	json_decref(list);
	free(p);
	remote_close(r);
	return rc;
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
		CTL_REMOTE_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct ls_ctx ctx = { false };
	struct ctl_remote ro = { 0 };
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
			if (ctl_remote_opt(&ro, c, optarg))
				break;
			ls_usage(stderr);
			return CTL_USAGE;
		}
	}
	if (argc - optind < 1 || argc - optind > 2) {
		ls_usage(stderr);
		return CTL_USAGE;
	}
	path = argc - optind == 2 ? argv[optind + 1] : "";
	if (remote_is_url(argv[optind]))
		return ctl_remote_ls(argv[optind], path, ctx.lng, &ro,
		    config);
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
