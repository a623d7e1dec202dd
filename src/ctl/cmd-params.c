/* cmd-params.c -- partsctl params: the fully resolved parameter set of a
 * part, with the unit of each dimension and the values its engine is
 * given, as JSON. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "partsfs/tree/describe.h"
#include "partsfs/tree/path.h"

static void
params_usage(FILE *fp)
{
	fprintf(fp, "usage: partsctl params LIBRARY COLL/CLASS [name=value ...] "
	    "[--config FILE]\n"
	    "       partsctl params LIBRARY PART-PATH [--config FILE]\n"
	    "Print the resolved parameter set of a part as one JSON object:\n"
	    "\"params\" holds every parameter (numbers as JSON numbers, cells\n"
	    "without a value as null), \"units\" the unit of each dimension\n"
	    "(mm, in, deg), \"given\" every parameter as the engine gets it\n"
	    "(lengths in mm), with the label, standard, license and\n"
	    "provenance.  Free parameters not given take their defaults.\n"
	    "COLL/CLASS may go on with directory levels (bolts/hex_screw/M8)\n"
	    "or be a by-standard/ or by-name/ path.\n\n"
	    "  -c, --config FILE   partsfs.conf of the mount (command executors\n"
	    "                      add formats)\n"
	    "  -h, --help          this help\n");
}

int
cmd_params(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL;
	struct perr e = { 0 };
	struct library *lib;
	struct pnode node, part;
	json_t *j;
	char *out;
	int c, rc = CTL_OK;

	/* "+": name=value arguments are not options */
	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		if (c == 'c') {
			config = optarg;
			continue;
		}
		if (c == 'h') {
			params_usage(stdout);
			return CTL_OK;
		}
		params_usage(stderr);
		return CTL_USAGE;
	}
	if (argc - optind < 2) {
		params_usage(stderr);
		return CTL_USAGE;
	}
	if ((lib = ctl_load(argv[optind], config)) == NULL)
		return CTL_INVALID;
	if (pnode_lookup(lib, argv[optind + 1], &node, &e) != 0) {
		ctl_error("%s: %s", argv[optind + 1], e.msg);
		library_unref(lib);
		return CTL_INVALID;
	}
	if (node.kind == PN_PART) {
		if (argc - optind > 2) {
			ctl_error("%s is a part path already: give values in "
			    "the path or as name=value, not both",
			    argv[optind + 1]);
			rc = CTL_USAGE;
			goto out;
		}
		pnode_copy(&part, &node);
	} else if (node.kind == PN_CLASS || node.kind == PN_LINK) {
		if (pnode_part_of(&node, FMT_JSON, &part, &e) != 0) {
			ctl_error("%s", e.msg);
			rc = CTL_INVALID;
			goto out;
		}
		for (int i = optind + 2; i < argc && rc == CTL_OK; i++) {
			char *eq = strchr(argv[i], '=');
			if (eq == NULL) {
				ctl_error("'%s': expected name=value", argv[i]);
				rc = CTL_USAGE;
				break;
			}
			*eq = '\0';
			if (pnode_set_param(&part, argv[i], eq + 1, &e) != 0) {
				ctl_error("%s", e.msg);
				rc = CTL_INVALID;
			}
			*eq = '=';
		}
		if (rc != CTL_OK) {
			pnode_clear(&part);
			goto out;
		}
	} else {
		ctl_error("%s is not a class or a part", argv[optind + 1]);
		rc = CTL_INVALID;
		goto out;
	}
	if ((j = describe_part(&part, &e)) == NULL) {
		ctl_error("%s", e.msg);
		rc = CTL_INVALID;
	} else {
		out = describe_dump(j);
		fputs(out, stdout);
		free(out);
		json_decref(j);
	}
	pnode_clear(&part);
out:
	pnode_clear(&node);
	library_unref(lib);
	return rc;
}
