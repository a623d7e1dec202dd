/* cmd-check.c -- partsctl check: validate a library and report every
 * problem in the compiler format, or as JSON. */
#include "config.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctl.h"

static void
check_usage(FILE *fp)
{
	fprintf(fp, "usage: partsctl check LIBRARY [--json] [-q] [--config FILE]\n"
	    "Validate a BOLTS library and report every problem as\n"
	    "file:line:col: error|warning: message.  Exit status 0 when the\n"
	    "library has no errors (warnings are allowed), 1 when it has.\n\n"
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
	struct library *lib;
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
	rc = lib->diags.nerrors > 0 ? CTL_INVALID : CTL_OK;
	if (json) {
		json_t *j = json_pack("{s:b, s:I, s:I, s:I, s:I, s:o}",
		    "valid", rc == CTL_OK,
		    "collections", (json_int_t)lib->ncolls,
		    "classes", (json_int_t)lib->nclasses,
		    "errors", (json_int_t)lib->diags.nerrors,
		    "warnings", (json_int_t)lib->diags.nwarnings,
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
	}
	library_unref(lib);
	return rc;
}
