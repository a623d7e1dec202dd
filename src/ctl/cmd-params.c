/* cmd-params.c -- partsctl params: the fully resolved parameter set of a
 * part, with the unit of each dimension and the values its engine is
 * given, as JSON. */
#include "config.h"

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "partsfs/remote/client.h"
#include "partsfs/tree/describe.h"
#include "partsfs/tree/path.h"
#include "partsfs/util/conf.h"

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
	    "  -h, --help          this help\n%s"
	    "With the URL of a partsctl serve (http:// or https://) in place of\n"
	    "LIBRARY the same, but a by-standard/ or by-name/ path must be a\n"
	    "part's or a leaf's.\n",
	    ctl_remote_help);
}

/* A value in a stem: '%', ',', '=', '/' and control bytes encoded. */
static void
stem_value(struct buf *b, const char *v)
{
	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;
		if (c == '%' || c == ',' || c == '=' || c == '/' || c < 0x20 ||
		    c == 0x7f)
			buf_printf(b, "%%%02X", c);
		else
			buf_addc(b, (char)c);
	}
}

/* The value of a parameter as a directory level names it: a string as
 * it is, an integer in decimal; NULL for others. */
static char *
level_name(json_t *v)
{
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return NULL;
}

/*
 * Directory `dir` (listed as `list`) holds levels of a table index: the
 * one of a value given as name=value (marked used: it is not in the
 * stem), else the one of the class's default (from the class's
 * description, COLL/CLASS.json).  Its path (caller frees), or NULL.
 */
static char *
level_down(struct remote *r, const char *dir, json_t *list, int nvals,
    char **vals, bool *used)
{
	const char *s1 = strchr(dir, '/'), *s2;
	json_t *entries = json_object_get(list, "entries"), *ent, *cls, *v;
	struct perr e = { 0 };
	char *text, *name, *found = NULL;
	const char *key;
	size_t i;

	json_array_foreach(entries, i, ent) {
		const char *n = json_string_value(json_object_get(ent, "name"));
		if (strcmp(json_string_value(json_object_get(ent, "type")),
		    "directory") != 0)
			continue;
		for (int k = 0; k < nvals && found == NULL; k++) {
			const char *eq = strchr(vals[k], '=');
			if (!used[k] && eq != NULL && strcmp(eq + 1, n) == 0) {
				used[k] = true;
				found = xasprintf("%s/%s", dir, n);
			}
		}
	}
	if (found != NULL || s1 == NULL)
		return found;
	/* the class's defaults */
	s2 = strchr(s1 + 1, '/');
	name = xasprintf("%.*s.json", (int)(s2 != NULL ? s2 - dir :
	    (ptrdiff_t)strlen(dir)), dir);
	text = remote_text(r, name, NULL, &e);
	free(name);
	cls = text != NULL ? json_loads(text, 0, NULL) : NULL;
	free(text);
	json_object_foreach(json_object_get(json_object_get(cls,
	    "parameters"), "defaults"), key, v) {
		char *lv = level_name(v);
		bool given = false;
		for (int k = 0; k < nvals; k++)
			if (strncmp(vals[k], key, strlen(key)) == 0 &&
			    vals[k][strlen(key)] == '=')
				given = true;
		json_array_foreach(entries, i, ent) {
			const char *n = json_string_value(json_object_get(ent,
			    "name"));
			if (lv != NULL && !given && found == NULL &&
			    strcmp(n, lv) == 0 && strcmp(json_string_value(
			    json_object_get(ent, "type")), "directory") == 0)
				found = xasprintf("%s/%s", dir, n);
		}
		free(lv);
	}
	json_decref(cls);
	return found;
}

int
ctl_remote_params(const char *url, const char *path, int nvals,
    char **vals, const struct ctl_remote *o, const char *config)
{
	struct conf *conf;
	struct perr e = { 0 };
	struct remote *r;
	struct buf twin = BUF_INIT;
	const char *base = strrchr(path, '/'), *dot;
	json_t *j = NULL, *ent;
	char *text = NULL, *out;
	bool leaf = false, *used = NULL;
	char *dir = NULL, *next;
	size_t i;
	int fmt = -1, rc = CTL_OK;

	base = base != NULL ? base + 1 : path;
	if ((dot = strrchr(base, '.')) != NULL)
		fmt = format_from_ext(dot + 1, strlen(dot + 1));
	if (fmt >= 0 && nvals > 0) {
		ctl_error("%s is a part path already: give values in the path "
		    "or as name=value, not both", path);
		return CTL_USAGE;
	}
	if ((conf = ctl_conf(config, NULL, NULL)) == NULL)
		return CTL_USAGE;
	r = ctl_remote_open(url, o, conf, NULL);
	conf_free(conf);
	if (r == NULL)
		return CTL_SYSTEM;
	if (fmt >= 0) {
		buf_add(&twin, path, (size_t)(dot - path));
		buf_adds(&twin, ".json");
	} else {
		/* a directory: its default.json, or a stem of name=value;
		 * above the leaves, down the level of a value given or of
		 * the class's default */
		used = xcalloc((size_t)nvals + 1, sizeof *used);
		dir = xstrdup(path);
		while (!leaf) {
			if ((j = remote_list(r, dir, &e)) == NULL)
				goto fail;
			json_array_foreach(json_object_get(j, "entries"), i,
			    ent) {
				if (strcmp(json_string_value(json_object_get(
				    ent, "name")), "default.json") == 0)
					leaf = true;
			}
			if (!leaf && (next = level_down(r, dir, j, nvals, vals,
			    used)) != NULL) {
				free(dir);
				dir = next;
			} else if (!leaf) {
				ctl_error("%s: with a URL, give a part path or "
				    "a directory of a class (partsctl ls %s %s "
				    "shows its levels)", path, url, path);
				rc = CTL_INVALID;
				goto out;
			}
			json_decref(j);
			j = NULL;
		}
		path = dir;
		buf_adds(&twin, path);
		if (twin.len > 0 && twin.p[twin.len - 1] != '/')
			buf_addc(&twin, '/');
		for (int k = 0, n = 0; k < nvals; k++) {
			char *eq = strchr(vals[k], '=');
			if (eq == NULL) {
				ctl_error("'%s': expected name=value", vals[k]);
				rc = CTL_USAGE;
				goto out;
			}
			if (used[k])
				continue;       /* a level of the path */
			if (n++ > 0)
				buf_addc(&twin, ',');
			buf_add(&twin, vals[k], (size_t)(eq - vals[k] + 1));
			stem_value(&twin, eq + 1);
		}
		buf_adds(&twin, twin.p[twin.len - 1] != '/' ? ".json" :
		    "default.json");
	}
	if ((text = remote_text(r, buf_str(&twin), NULL, &e)) == NULL)
		goto fail;
	if (fmt < 0 || fmt == FMT_JSON) {
		fputs(text, stdout);
		goto out;
	}
	/* the description of the part in its own format, as the mount's
	 * describes it: its path and format are the part's */
	if ((j = json_loads(text, 0, NULL)) == NULL ||
	    !json_is_string(json_object_get(j, "path"))) {
		ctl_error("%s: the server's description is not a JSON object "
		    "with a path", buf_str(&twin));
		rc = CTL_SYSTEM;
		goto out;
	} else {
		const char *jp = json_string_value(json_object_get(j, "path"));
		const char *jd = strrchr(jp, '.');
		char *np = xasprintf("%.*s.%s", (int)(jd ? jd - jp :
		    (ptrdiff_t)strlen(jp)), jp, format_ext((enum format)fmt));
		json_object_set_new(j, "path", json_string(np));
		json_object_set_new(j, "format",
		    json_string(format_ext((enum format)fmt)));
		free(np);
		out = describe_dump(j);
		fputs(out, stdout);
		free(out);
	}
	goto out;
fail:
	rc = ctl_remote_fail(&e);
out:
	json_decref(j);
	free(text);
	free(dir);
	free(used);
	buf_free(&twin);
	remote_close(r);
	return rc;
}

int
cmd_params(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		CTL_REMOTE_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL;
	struct ctl_remote ro = { 0 };
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
		if (ctl_remote_opt(&ro, c, optarg))
			continue;
		params_usage(stderr);
		return CTL_USAGE;
	}
	if (argc - optind < 2) {
		params_usage(stderr);
		return CTL_USAGE;
	}
	if (remote_is_url(argv[optind]))
		return ctl_remote_params(argv[optind], argv[optind + 1],
		    argc - optind - 2, argv + optind + 2, &ro, config);
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
