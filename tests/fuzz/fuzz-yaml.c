/* fuzz-yaml.c -- libFuzzer harness for the library loader: the input as a
 * bare YAML document (ydoc_load_buffer) and as a collection file loaded
 * with library_load, whose model is then described and walked. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "partsfs/model/load.h"
#include "fuzz-common.h"
#include "partsfs/tree/describe.h"
#include "partsfs/model/params.h"
#include "partsfs/util/ydoc.h"

/*
 * Input format.  The bytes before the first marker line are data/f.blt.
 * A marker line starts with "#@" (a YAML comment, so a whole input is
 * still one YAML text) and opens a section that runs to the next marker:
 *
 *   #@openscad            openscad/f/f.base
 *   #@freecad             freecad/f/f.base
 *   #@drawings            drawings/f/f.base
 *   #@include REL         data/REL (an !include target, or another
 *                         collection when REL is <id>.blt)
 *
 * Every plain `filename` a base section names is created as an empty
 * module file (and as <name>.svg/.png for drawings), so that bases bind.
 * contrib/fuzz.sh builds seeds in this form from the BOLTS corpus.
 */

#define MAX_SECTIONS 32
#define WALK_ENTRIES 400       /* tree entries visited per input */
#define WALK_PARTS 40          /* part descriptions per input */
#define WALK_DEPTH 6           /* root, coll, class, 2 choice levels, leaf */
#define YNODE_VISITS 100000    /* nodes checked per document (aliases
                                * share nodes, so trees can be DAGs) */

static const char *libdir;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	libdir = fuzz_tmpdir("fuzz-yaml");
	return 0;
}

/* The YAML tree's own promises: scalars are NUL-terminated at len,
 * mapping keys are scalars without duplicates. */
static void
check_ynode(const struct ynode *n, size_t *visits)
{
	if (n == NULL || *visits == 0)
		return;
	(*visits)--;
	switch (n->kind) {
	case Y_NULL:
		break;
	case Y_SCALAR:
		if (n->str == NULL || n->str[n->len] != '\0')
			fuzz_fail("%s:%d:%d: scalar not terminated at its "
			    "length", n->file, n->line, n->col);
		break;
	case Y_SEQ:
		for (size_t i = 0; i < n->n; i++)
			check_ynode(n->items[i], visits);
		break;
	case Y_MAP:
		for (size_t i = 0; i < n->n; i++) {
			const struct ynode *k = n->items[2 * i];
			if (k->kind != Y_SCALAR)
				fuzz_fail("%s:%d:%d: a mapping key is a %s",
				    k->file, k->line, k->col,
				    ykind_name(k->kind));
			for (size_t j = 0; j < i && n->n <= 64; j++) {
				if (strcmp(n->items[2 * j]->str, k->str) == 0)
					fuzz_fail("%s:%d:%d: duplicate key '%s' "
					    "kept", k->file, k->line, k->col,
					    k->str);
			}
			if (ymap_get(n, k->str) == NULL &&
			    strlen(k->str) == k->len)
				fuzz_fail("%s:%d:%d: ymap_get misses key '%s'",
				    k->file, k->line, k->col, k->str);
			check_ynode(n->items[2 * i + 1], visits);
		}
		break;
	}
}

static void
fuzz_ydoc(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	struct diags d = DIAGS_INIT;
	struct ynode *root;
	size_t visits = YNODE_VISITS;

	root = ydoc_load_buffer(a, (const char *)data, size, "fuzz.yaml", NULL,
	    NULL, &d);
	if (root == NULL && d.nerrors == 0)
		fuzz_fail("ydoc_load_buffer failed without an error");
	check_ynode(root, &visits);
	for (size_t i = 0; i < d.n; i++)
		free(diag_format(&d.v[i]));
	diags_free(&d);
	arena_free(a);
}

/* A safe relative name for an include section: [A-Za-z0-9._-] components,
 * no "." or "..", at most 3 deep. */
static bool
include_name_ok(const char *s)
{
	size_t len = strlen(s), comps = 1;

	if (len == 0 || len > 64 || s[0] == '/' || s[len - 1] == '/')
		return false;
	for (const char *p = s; *p; p++) {
		if (*p == '/') {
			comps++;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		    *p == '-'))
			return false;
	}
	if (comps > 3 || strstr(s, "//") != NULL)
		return false;
	for (const char *c = s; c != NULL; c = strchr(c, '/')) {
		if (*c == '/')
			c++;
		if (strncmp(c, "..", 2) == 0 && (c[2] == '/' || c[2] == '\0'))
			return false;
		if (c[0] == '.' && (c[1] == '/' || c[1] == '\0'))
			return false;
	}
	return true;
}

/* Create the files a base section names, so its elements bind. */
static void
touch_base_files(const char *db, const char *text, size_t len)
{
	struct arena *a = arena_new();
	struct diags d = DIAGS_INIT;
	struct ynode *root = ydoc_load_buffer(a, text, len, "base", NULL, NULL,
	    &d);
	bool drawing = strcmp(db, "drawings") == 0;

	for (size_t i = 0; root != NULL && root->kind == Y_SEQ &&
	    i < root->n && i < 64; i++) {
		const struct ynode *fn = ymap_get(root->items[i], "filename");
		char *rel;
		if (fn == NULL || fn->kind != Y_SCALAR || fn->len == 0 ||
		    fn->len > 100 || strlen(fn->str) != fn->len ||
		    strchr(fn->str, '/') != NULL ||
		    strcmp(fn->str, ".") == 0 || strcmp(fn->str, "..") == 0)
			continue;
		rel = xasprintf("%s/f/%s%s", db, fn->str, drawing ? ".svg" : "");
		fuzz_try_write(libdir, rel, "", 0);
		free(rel);
		if (drawing) {
			rel = xasprintf("%s/f/%s.png", db, fn->str);
			fuzz_try_write(libdir, rel, "", 0);
			free(rel);
		}
	}
	diags_free(&d);
	arena_free(a);
}

/* The start of the first marker line at or after line start `p`. */
static const char *
next_marker(const char *p, const char *end)
{
	while (p < end) {
		const char *nl;
		if (end - p >= 2 && p[0] == '#' && p[1] == '@')
			return p;
		nl = memchr(p, '\n', (size_t)(end - p));
		p = nl != NULL ? nl + 1 : end;
	}
	return end;
}

static void
write_section(const char *head, const char *body, size_t len)
{
	char *rel;

	if (strcmp(head, "openscad") == 0 || strcmp(head, "freecad") == 0 ||
	    strcmp(head, "drawings") == 0) {
		rel = xasprintf("%s/f/f.base", head);
		fuzz_try_write(libdir, rel, body, len);
		free(rel);
		touch_base_files(head, body, len);
	} else if (strncmp(head, "include ", 8) == 0 &&
	    include_name_ok(head + 8)) {
		rel = xasprintf("data/%s", head + 8);
		fuzz_try_write(libdir, rel, body, len);
		free(rel);
	}
}

/* Write the input as a library: data/f.blt and its sections. */
static void
write_library(const char *text, size_t len)
{
	const char *end = text + len, *m = next_marker(text, end);

	fuzz_empty_dir(libdir);
	fuzz_write(libdir, "data/f.blt", text, (size_t)(m - text));
	for (size_t nsec = 0; m < end && nsec < MAX_SECTIONS; nsec++) {
		const char *nl = memchr(m, '\n', (size_t)(end - m));
		const char *hend = nl != NULL ? nl : end;
		const char *body = nl != NULL ? nl + 1 : end;
		const char *next = next_marker(body, end);
		char *head = xstrndup(m + 2, (size_t)(hend - m - 2));
		/* a marker with a NUL in it is no marker */
		if (strlen(head) == (size_t)(hend - m - 2))
			write_section(head, body, (size_t)(next - body));
		free(head);
		m = next;
	}
}

/* Known bug: a .blt whose document is not a mapping gives a collection
 * without an id; two of them crash library_load (natcmp(NULL, NULL) when
 * sorting collections), one crashes the root listing.  True when the
 * library written holds such a file. */
static bool
blt_not_a_mapping(void)
{
	char *data = xasprintf("%s/data", libdir);
	DIR *dir = opendir(data);
	struct dirent *de;
	bool found = false;

	while (dir != NULL && !found && (de = readdir(dir)) != NULL) {
		size_t len = strlen(de->d_name);
		struct arena *a;
		struct diags d = DIAGS_INIT;
		struct ynode *root;
		char *path;
		if (len <= 4 || strcmp(de->d_name + len - 4, ".blt") != 0)
			continue;
		a = arena_new();
		path = xasprintf("%s/%s", data, de->d_name);
		root = ydoc_load(a, path, de->d_name, data, NULL, &d);
		found = root != NULL && root->kind != Y_MAP;
		free(path);
		diags_free(&d);
		arena_free(a);
	}
	if (dir != NULL)
		closedir(dir);
	free(data);
	return found;
}

static void
exercise_pset(const struct pset *ps)
{
	struct value *vals = xcalloc(ps->nparams + 1, sizeof *vals);
	struct perr e = { 0 };

	if (pset_collect(ps, NULL, vals, &e) != 0 && e.code != ENOENT &&
	    e.code != EINVAL)
		fuzz_fail("pset_collect: code %d: %s", e.code, e.msg);
	/* every common combination collects, or fails cleanly */
	for (size_t r = 0; r < ps->ncommon && r < 8; r++) {
		perr_clear(&e);
		if (pset_collect(ps, &ps->common[r * ps->nfree], vals, &e) != 0 &&
		    e.code != ENOENT && e.code != EINVAL)
			fuzz_fail("pset_collect of common row %zu: code %d: %s",
			    r, e.code, e.msg);
	}
	free(vals);
}

/* `partsctl params LIBRARY COLL/CLASS`: a part of a class directory with
 * every free parameter at its default, in json and the first other
 * format the class offers. */
static void
exercise_class_part(const struct library *lib, const struct pclass *cls,
    struct fuzz_budget *b)
{
	struct pnode dir, part;
	struct perr e = { 0 };
	int fmts[2] = { FMT_JSON, -1 };

	for (int f = 0; f < FMT__COUNT; f++) {
		if (f != FMT_JSON && (cls->formats & FMT_BIT(f))) {
			fmts[1] = f;
			break;
		}
	}
	pnode_root(&dir);
	dir.kind = PN_CLASS;
	dir.coll = cls->coll;
	dir.cls = cls;
	for (int i = 0; i < 2 && fmts[i] >= 0; i++) {
		perr_clear(&e);
		if (pnode_part_of(&dir, (enum format)fmts[i], &part, &e) != 0)
			fuzz_fail("%s/%s: no %s part of the class directory: %s",
			    cls->coll->id, cls->id, format_ext(fmts[i]), e.msg);
		fuzz_check_node(lib, &part, b);
		pnode_clear(&part);
	}
}

static void
fuzz_library(const uint8_t *data, size_t size)
{
	struct library_opts o = { .threads = 1 };
	struct fuzz_budget b = { WALK_ENTRIES, WALK_PARTS };
	struct fuzz_budget cb = { 0, WALK_PARTS };
	struct perr e = { 0 };
	struct library *lib;
	struct pnode root;

	write_library((const char *)data, size);
	if (!fuzz_strict() && blt_not_a_mapping())
		return;
	if ((lib = library_load(libdir, &o, &e)) == NULL)
		fuzz_fail("library_load: %s", e.msg);
	for (size_t i = 0; i < lib->diags.n; i++)
		free(diag_format(&lib->diags.v[i]));
	/* the known bug of blt_not_a_mapping(), named */
	for (size_t c = 0; c < lib->ncolls; c++) {
		if (lib->colls[c]->id == NULL)
			fuzz_fail("the collection of %s has no id",
			    lib->colls[c]->display);
	}
	for (size_t c = 0; c < lib->ncolls; c++) {
		const struct collection *coll = lib->colls[c];
		fuzz_dump(describe_collection(coll), coll->id);
		for (size_t k = 0; k < coll->nclasses; k++) {
			const struct pclass *cls = &coll->classes[k];
			exercise_pset(&cls->ps);
			if (cls->scad != NULL && cls->scad->ps != &cls->ps)
				exercise_pset(cls->scad->ps);
			if (cls->freecad != NULL && cls->freecad->ps != &cls->ps)
				exercise_pset(cls->freecad->ps);
			fuzz_dump(describe_class(cls), cls->id);
			if (cb.parts > 0)
				exercise_class_part(lib, cls, &cb);
		}
	}
	pnode_root(&root);
	fuzz_check_node(lib, &root, &b);
	fuzz_walk(lib, &root, WALK_DEPTH, &b);
	library_unref(lib);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (libdir == NULL)
		LLVMFuzzerInitialize(NULL, NULL);
	fuzz_ydoc(data, size);
	fuzz_library(data, size);
	return 0;
}
