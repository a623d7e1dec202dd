/* cmd-check.c -- partsctl check: validate a library, try its OpenSCAD
 * modules, and report every problem in the compiler format, or as
 * JSON. */
#include "config.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"
#include "partsfs/core/check.h"
#include "partsfs/core/core.h"
#include "partsfs/model/makers.h"
#include "partsfs/model/params.h"
#include "partsfs/util/util.h"

static void
check_usage(FILE *fp)
{
	fprintf(fp, "usage: partsctl check LIBRARY [--json] [-q] [--config FILE]\n"
	    "Validate a BOLTS library and report every problem as\n"
	    "file:line:col: error|warning: message.  When OpenSCAD is\n"
	    "installed, it parses every module file and evaluates the default\n"
	    "part of every class (in the sandbox, without a render).  Exit\n"
	    "status 0 when the library has no errors (warnings are allowed),\n"
	    "1 when it has.\n\n"
	    "  -j, --json          one JSON object: counts and every diagnostic\n"
	    "  -q, --quiet         report errors only, not warnings\n"
	    "  -c, --config FILE   partsfs.conf naming command executors, whose\n"
	    "                      databases are then checked too\n"
	    "  -h, --help          this help\n");
}

static json_t *
diags_json(const struct diags *d, bool quiet)
{
	json_t *a = json_array();

	for (size_t i = 0; i < d->n; i++) {
		const struct diag *dg = &d->v[i];
		if (quiet && dg->severity != DIAG_ERROR)
			continue;
		json_array_append_new(a, json_pack("{s:s, s:i, s:i, s:s, s:s}",
		    "file", dg->file, "line", dg->line, "col", dg->col,
		    "severity", dg->severity == DIAG_ERROR ? "error" : "warning",
		    "message", dg->msg));
	}
	return a;
}

/*
 * Every part a class lists must be collectable: its default part (and a
 * part per choice of its discrete parameters) and its common ones.  A
 * literal Table Index value that is not a key of its table, say, loads
 * without complaint but makes every part of the class fail.  The first
 * failure of a class is reported, at the class; the walk stops after
 * CHECK_COMBINATIONS combinations of one class.
 */
#define CHECK_COMBINATIONS 100000

struct combo_check {
	const struct pclass *cls;
	struct value *out;
	size_t seen;
	char *failure;
};

static int
check_combination(void *ctx, const struct value *free)
{
	struct combo_check *cc = ctx;
	struct perr e = { 0 };

	if (pset_collect(class_pset(cc->cls), free, cc->out, &e) != 0) {
		cc->failure = xstrdup(e.msg);
		return 1;
	}
	return ++cc->seen >= CHECK_COMBINATIONS;
}

static void
check_class_parts(struct library *lib, const struct pclass *cls)
{
	struct combo_check cc = { .cls = cls };
	const struct fpos *at = &cls->pos;
	const struct pset *ps = class_pset(cls);

	cc.out = xcalloc(ps->nparams + 1, sizeof *cc.out);
	pset_each_combination(ps, check_combination, &cc, NULL);
	for (size_t r = 0; cc.failure == NULL && r < ps->ncommon; r++)
		check_combination(&cc, &ps->common[r * ps->nfree]);
	if (cc.failure != NULL)
		diag_add(&lib->diags, DIAG_ERROR, at->file != NULL ? at->file :
		    cls->coll->display, at->line, at->col, "class '%s': a part it lists "
		    "cannot be made: %s", cls->id, cc.failure);
	free(cc.failure);
	free(cc.out);
}

int
cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false, quiet = false;
	const char *config = NULL;
	struct perr e = { 0 };
	struct library *lib;
	struct conf *conf;
	char *engines, *openscad;
	int c, rc;

	while ((c = getopt_long(argc, argv, "jqc:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			check_usage(stdout);
			return CTL_OK;
		default:
			check_usage(stderr);
			return CTL_USAGE;
		}
	}
	if (argc - optind != 1) {
		check_usage(stderr);
		return CTL_USAGE;
	}
	if ((lib = ctl_load(argv[optind], config)) == NULL)
		return CTL_INVALID;
	/* how engines would run (the sandbox is tried) */
	if ((conf = ctl_conf(config, NULL, NULL)) == NULL) {
		library_unref(lib);
		return CTL_USAGE;
	}
	if ((engines = core_engines_under(conf, &e)) == NULL) {
		/* jobs.user names no user: the configuration is wrong */
		ctl_error("%s", e.msg);
		engines = xasprintf("engines are not run: %s", e.msg);
	}
	for (size_t i = 0; i < lib->ncolls; i++)
		for (size_t k = 0; k < lib->colls[i]->nclasses; k++)
			check_class_parts(lib, &lib->colls[i]->classes[k]);
	/* the modules, by the engine (in its sandbox) */
	openscad = check_openscad(lib, conf);
	conf_free(conf);
	diags_sort(&lib->diags);
	rc = lib->diags.nerrors > 0 ? CTL_INVALID : CTL_OK;
	if (json) {
		json_t *j = json_pack("{s:b, s:I, s:I, s:I, s:I, s:s, s:s, s:o}",
		    "valid", rc == CTL_OK,
		    "collections", (json_int_t)lib->ncolls,
		    "classes", (json_int_t)lib->nclasses,
		    "errors", (json_int_t)lib->diags.nerrors,
		    "warnings", (json_int_t)lib->diags.nwarnings,
		    "engines", engines,
		    "openscad", openscad,
		    "diagnostics", diags_json(&lib->diags, quiet));
		json_dumpf(j, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(j);
	} else {
		for (size_t i = 0; i < lib->diags.n; i++) {
			char *s;
			if (quiet && lib->diags.v[i].severity != DIAG_ERROR)
				continue;
			s = diag_format(&lib->diags.v[i]);
			fprintf(stderr, "%s\n", s);
			free(s);
		}
		printf("%s: %zu collections, %zu classes, %zu errors, "
		    "%zu warnings\n", lib->root, lib->ncolls, lib->nclasses,
		    lib->diags.nerrors, lib->diags.nwarnings);
		printf("%s\n%s\n", engines, openscad);
	}
	free(engines);
	free(openscad);
	library_unref(lib);
	return rc;
}
