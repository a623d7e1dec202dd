/* base.c -- the database directories of a collection (openscad/, freecad/,
 * drawings/): their .base files, the safety of the file names they give,
 * and binding modules, functions and drawings to classes. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "partsfs/model/basefile.h"
#include "partsfs/model/blt.h"
#include "partsfs/model/pset.h"
#include "partsfs/util/confine.h"

enum database {
	DB_OPENSCAD,
	DB_FREECAD,
	DB_DRAWINGS,
	DB_COMMAND,       /* the scripts of a configured command executor */
};

static const char *const db_dirs[] = { "openscad", "freecad", "drawings" };
static const char *const db_engines[] = { "OpenSCAD", "FreeCAD", "", "" };

struct base_ctx {
	struct collection *coll;
	struct arena *a;
	struct arena *pa;           /* the parse trees of the .base files */
	const char *root;           /* library root, symlinks resolved */
	const char *dir;            /* <root>/<db>/<coll> */
	const char *display_dir;    /* <db>/<coll> */
	enum database db;
	const char *command;        /* DB_COMMAND: its name */
	struct diags *d;
	/* base files found, grown as they are read */
	struct base_file **files;
	size_t nfiles;
	size_t cap;
};

/* True for a name that is one plain file name: no directory part, not
 * "." or "..", no control bytes. */
static bool
plain_name(const char *s)
{
	if (s[0] == '\0' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '/' || *p < 0x20 || *p == 0x7f)
			return false;
	}
	return true;
}

static bool
is_identifier(const char *s)
{
	if (!isalpha((unsigned char)s[0]) && s[0] != '_')
		return false;
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	}
	return true;
}

/*
 * Resolve `name` in the database directory: the absolute path when it is a
 * regular file inside the library, NULL when it does not exist (a warning
 * is the caller's business) or is refused (an error, reported here).  The
 * path is real (no links) as the engines open the file by name.
 */
static const char *
resolve_file(struct base_ctx *ctx, const struct ynode *n, const char *name,
    bool *missing)
{
	char *rel = xasprintf("%s/%s", ctx->display_dir, name);
	char *link = NULL, *target = NULL, *joined = NULL, *real = NULL;
	const char *out = NULL;
	size_t rootlen = strlen(ctx->root);
	struct stat st;
	int fd;

	*missing = false;
	joined = xasprintf("%s/%s", ctx->root, rel);
	if ((fd = open_beneath(ctx->root, rel, O_PATH, &link, &target)) == -1) {
		collection_dep(ctx->coll, joined, NULL);
		if (errno == ENOENT)
			*missing = true;
		else if (errno == EXDEV && link != NULL)
			yerror(ctx->d, n, "%s is a link to %s, outside the "
			    "library: refused", link, target);
		else if (errno == EXDEV)
			yerror(ctx->d, n, "%s leads outside the library: "
			    "refused", rel);
		else
			yerror(ctx->d, n, "%s: %s", rel, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		collection_dep(ctx->coll, joined, NULL);
		yerror(ctx->d, n, "%s is not a regular file", rel);
		goto out;
	}
	collection_dep(ctx->coll, joined, &st);
	if ((real = realpath(joined, NULL)) == NULL ||
	    strncmp(real, ctx->root, rootlen) != 0 || real[rootlen] != '/') {
		/* changed since it was opened */
		yerror(ctx->d, n, "%s changed while it was read", rel);
		goto out;
	}
	timespec_max(&ctx->coll->mtime, &st.st_mtim);
	out = arena_strdup(ctx->a, real);
out:
	if (fd != -1)
		close(fd);
	free(rel);
	free(link);
	free(target);
	free(joined);
	free(real);
	return out;
}

/* The fields every base file element has. */
static struct base_file *
read_base_file(struct base_ctx *ctx, const struct ynode *el, bool drawing,
    bool *missing)
{
	struct base_file *bf;
	const struct ynode *fn = ymap_get(el, "filename");
	const char *name;

	*missing = false;
	name = need_text(ctx->a, el, "filename", "base file", ctx->d);
	if (name == NULL)
		return NULL;
	if (!plain_name(name)) {
		yerror(ctx->d, fn, "filename '%s' must name a file in %s/, "
		    "without a directory part", name, ctx->display_dir);
		return NULL;
	}
	bf = arena_alloc(ctx->a, sizeof *bf);
	bf->filename = name;
	bf->display = arena_printf(ctx->a, "%s/%s", ctx->display_dir, name);
	if (ymap_key(el, "author") == NULL)
		yerror(ctx->d, el, "base file: missing the mandatory key "
		    "'author'");
	bf->authors = read_strings(ctx->a, ymap_get(el, "author"),
	    &bf->nauthors, "author", ctx->d);
	bf->license = need_text(ctx->a, el, "license", "base file", ctx->d);
	if (bf->license != NULL)
		check_license(ctx->d, ymap_get(el, "license"), bf->license);
	bf->source = opt_text(ctx->a, el, "source", ctx->d);
	if (!drawing)
		bf->path = resolve_file(ctx, fn, name, missing);
	return bf;
}

static void
add_file(struct base_ctx *ctx, struct base_file *bf)
{
	if (ctx->nfiles == ctx->cap) {
		ctx->cap = ctx->cap ? ctx->cap * 2 : 8;
		ctx->files = xreallocarray(ctx->files, ctx->cap,
		    sizeof *ctx->files);
	}
	ctx->files[ctx->nfiles++] = bf;
}

/* The classes an element serves; NULL entries for unknown ids. */
static struct pclass **
read_classids(struct base_ctx *ctx, const struct ynode *el, size_t *n)
{
	const struct ynode *ids = ymap_get(el, "classids");
	size_t len = ylist_len(ids);
	struct pclass **v;

	if (ymap_key(el, "classids") == NULL)
		yerror(ctx->d, el, "missing the mandatory key 'classids'");
	v = arena_array(ctx->a, len ? len : 1, sizeof *v);
	for (size_t i = 0; i < len; i++) {
		const struct ynode *idn = ylist_at(ids, i);
		const char *id = ytext(idn, "classids", ctx->d);
		if (id == NULL)
			continue;
		v[i] = (struct pclass *)collection_class(ctx->coll, id);
		if (v[i] == NULL)
			yerror(ctx->d, idn, "classids: '%s' is not a class of "
			    "collection '%s'", id, ctx->coll->id);
	}
	*n = len;
	return v;
}

/* The class's parameters joined with a base element's additional ones.
 * Problems of the class itself were reported when it was read, so only
 * those located in the base file are kept. */
static const struct pset *
merged_pset(struct base_ctx *ctx, struct pclass *c, const struct ynode *el)
{
	const struct ynode *extra = ymap_get(el, "parameters");
	struct diags tmp = DIAGS_INIT;
	struct pset *ps;
	bool failed = false;

	if (yscalar_is_null(extra))
		return &c->ps;
	ps = arena_alloc(ctx->a, sizeof *ps);
	pset_build(ctx->a, ymap_get(ctx->coll->class_nodes[c -
	    ctx->coll->classes], "parameters"), extra, ps, &tmp);
	ps->value_max = c->ps.value_max;
	for (size_t i = 0; i < tmp.n; i++) {
		const struct diag *dg = &tmp.v[i];
		if (strcmp(dg->file, extra->file) != 0)
			continue;
		diag_add(ctx->d, dg->severity, dg->file, dg->line, dg->col,
		    "%s (class %s)", dg->msg, c->id);
		if (dg->severity == DIAG_ERROR)
			failed = true;
	}
	diags_free(&tmp);
	return failed ? NULL : ps;
}

static void
read_module(struct base_ctx *ctx, struct base_file *bf,
    const struct ynode *m, bool usable)
{
	static const char *const allowed[] = { "name", "arguments",
	    "classids", "parameters", "connectors", NULL };
	const struct ynode *args;
	struct pclass **classes;
	const char *name;
	size_t ncls, nargs;
	const char **argv;

	if (m->kind != Y_MAP) {
		yerror(ctx->d, m, "modules: expected a module element");
		return;
	}
	check_known_keys(ctx->d, m, "module", allowed);
	name = need_text(ctx->a, m, "name", "module", ctx->d);
	if (name != NULL && !is_identifier(name)) {
		yerror(ctx->d, ymap_get(m, "name"), "module name '%s' is not an "
		    "OpenSCAD identifier", name);
		name = NULL;
	}
	if (strpbrk(bf->filename, "<>\"") != NULL) {
		/* the wrapper names it in include <...> */
		yerror(ctx->d, m, "module file name '%s' may not hold < > or \"",
		    bf->filename);
		return;
	}
	args = ymap_get(m, "arguments");
	if (ymap_key(m, "arguments") == NULL)
		yerror(ctx->d, m, "module: missing the mandatory key "
		    "'arguments'");
	argv = read_strings(ctx->a, args, &nargs, "arguments", ctx->d);
	classes = read_classids(ctx, m, &ncls);
	for (size_t i = 0; i < ncls; i++) {
		struct pclass *c = classes[i];
		struct scad_binding *sb;
		const struct pset *ps;
		bool ok = true;
		if (c == NULL || name == NULL)
			continue;
		if ((ps = merged_pset(ctx, c, m)) == NULL)
			continue;
		for (size_t j = 0; j < nargs; j++) {
			if (pset_find(ps, argv[j]) < 0) {
				yerror(ctx->d, ylist_at(args, j), "module %s: "
				    "argument '%s' is not a parameter of class "
				    "%s", name, argv[j], c->id);
				ok = false;
			}
		}
		if (c->scad != NULL) {
			yerror(ctx->d, ylist_at(ymap_get(m, "classids"), i),
			    "class %s already has the OpenSCAD module %s",
			    c->id, c->scad->module);
			ok = false;
		}
		if (!ok || !usable)
			continue;
		sb = arena_alloc(ctx->a, sizeof *sb);
		sb->file = bf;
		sb->module = name;
		sb->args = argv;
		sb->nargs = nargs;
		sb->ps = ps;
		c->scad = sb;
	}
}

static void
read_function(struct base_ctx *ctx, struct base_file *bf,
    const struct ynode *f, bool usable)
{
	static const char *const allowed[] = { "name", "classids",
	    "parameters", NULL };
	struct pclass **classes;
	const char *name;
	size_t ncls;

	if (f->kind != Y_MAP) {
		yerror(ctx->d, f, "functions: expected a function element");
		return;
	}
	check_known_keys(ctx->d, f, "function", allowed);
	name = need_text(ctx->a, f, "name", "function", ctx->d);
	if (name != NULL && !is_identifier(name)) {
		yerror(ctx->d, ymap_get(f, "name"), "function name '%s' is not "
		    "a Python identifier", name);
		name = NULL;
	}
	classes = read_classids(ctx, f, &ncls);
	for (size_t i = 0; i < ncls; i++) {
		struct pclass *c = classes[i];
		struct freecad_binding *fb;
		const struct pset *ps;
		if (c == NULL || name == NULL)
			continue;
		if ((ps = merged_pset(ctx, c, f)) == NULL)
			continue;
		if (c->freecad != NULL) {
			yerror(ctx->d, ylist_at(ymap_get(f, "classids"), i),
			    "class %s already has the FreeCAD function %s",
			    c->id, c->freecad->function);
			continue;
		}
		if (!usable)
			continue;
		fb = arena_alloc(ctx->a, sizeof *fb);
		fb->file = bf;
		fb->function = name;
		fb->ps = ps;
		c->freecad = fb;
	}
}

static void
read_drawing(struct base_ctx *ctx, struct base_file *bf,
    const struct ynode *el, const char *type)
{
	bool dims = strcmp(type, "drawing-dimensions") == 0;
	const char *svg = NULL, *png = NULL;
	struct pclass **classes;
	bool missing_svg, missing_png;
	size_t ncls;
	char *name;

	if (!dims && need_text(ctx->a, el, "location", "connector drawing",
	    ctx->d) == NULL)
		return;
	name = xasprintf("%s.svg", bf->filename);
	svg = resolve_file(ctx, ymap_get(el, "filename"), name, &missing_svg);
	free(name);
	name = xasprintf("%s.png", bf->filename);
	png = resolve_file(ctx, ymap_get(el, "filename"), name, &missing_png);
	free(name);
	if (missing_svg && missing_png)
		ywarn(ctx->d, ymap_get(el, "filename"), "drawing '%s' has "
		    "neither %s.svg nor %s.png in %s/", bf->filename,
		    bf->filename, bf->filename, ctx->display_dir);
	bf->path = svg != NULL ? svg : png;
	classes = read_classids(ctx, el, &ncls);
	for (size_t i = 0; i < ncls && dims; i++) {
		struct pclass *c = classes[i];
		if (c == NULL)
			continue;
		if (c->extra->drawing_svg == NULL &&
		    c->extra->drawing_png == NULL) {
			struct class_extra *x = class_extra_edit(c, ctx->a);
			x->drawing_svg = svg;
			x->drawing_png = png;
		}
	}
}

/* A script of a command executor: bound to each class it names. */
static void
read_script(struct base_ctx *ctx, struct base_file *bf,
    const struct ynode *el)
{
	struct pclass **classes;
	size_t ncls;

	classes = read_classids(ctx, el, &ncls);
	for (size_t i = 0; i < ncls; i++) {
		struct pclass *c = classes[i];
		struct command_binding *v;
		struct class_extra *x;
		if (c == NULL || bf->path == NULL)
			continue;
		for (size_t j = 0; j < c->extra->ncommands; j++) {
			if (strcmp(c->extra->commands[j].name,
			    ctx->command) == 0) {
				yerror(ctx->d, ylist_at(ymap_get(el, "classids"),
				    i), "class %s already has a %s script",
				    c->id, ctx->command);
				c = NULL;
				break;
			}
		}
		if (c == NULL)
			continue;
		x = class_extra_edit(c, ctx->a);
		v = arena_array(ctx->a, x->ncommands + 1, sizeof *v);
		if (x->ncommands != 0)
			memcpy(v, x->commands, x->ncommands * sizeof *v);
		v[x->ncommands].name = ctx->command;
		v[x->ncommands].file = bf;
		x->commands = v;
		x->ncommands++;
	}
}

static void
read_element(struct base_ctx *ctx, const struct ynode *el)
{
	static const char *const common_keys[] = { "filename", "author",
	    "license", "type", "source" };
	static const char *const keys[4][16] = {
		{ "modules", NULL },
		{ "functions", NULL },
		{ "classids", "location", NULL },
		{ "classids", NULL },
	};
	const char *allowed[24];
	struct base_file *bf;
	const struct ynode *list;
	const char *type;
	bool missing, drawing = ctx->db == DB_DRAWINGS;
	size_t na = 0;

	if (el->kind != Y_MAP) {
		yerror(ctx->d, el, "a base file element must be a mapping "
		    "(filename, author, license, type, ...)");
		return;
	}
	for (size_t i = 0; i < PF_ARRAY_LEN(common_keys); i++)
		allowed[na++] = common_keys[i];
	for (size_t i = 0; keys[ctx->db][i] != NULL; i++)
		allowed[na++] = keys[ctx->db][i];
	allowed[na] = NULL;
	type = need_text(ctx->a, el, "type", "base file", ctx->d);
	if (type == NULL)
		return;
	if ((ctx->db == DB_OPENSCAD && strcmp(type, "module") != 0) ||
	    (ctx->db == DB_FREECAD && strcmp(type, "function") != 0) ||
	    (ctx->db == DB_COMMAND && strcmp(type, "script") != 0) ||
	    (drawing && strcmp(type, "drawing-dimensions") != 0 &&
	    strcmp(type, "drawing-connector") != 0 &&
	    strcmp(type, "drawing-connectors") != 0)) {
		ywarn(ctx->d, ymap_get(el, "type"), "base file type '%s' is "
		    "not used in the %s database (element ignored)", type,
		    ctx->db == DB_COMMAND ? ctx->command : db_dirs[ctx->db]);
		return;
	}
	check_known_keys(ctx->d, el, "base file", allowed);
	if ((bf = read_base_file(ctx, el, drawing, &missing)) == NULL)
		return;
	add_file(ctx, bf);
	if (missing)
		ywarn(ctx->d, ymap_get(el, "filename"), "%s does not exist: "
		    "the classes it names get no %s geometry", bf->display,
		    ctx->db == DB_COMMAND ? ctx->command : db_engines[ctx->db]);
	if (drawing) {
		read_drawing(ctx, bf, el, type);
		return;
	}
	if (ctx->db == DB_COMMAND) {
		read_script(ctx, bf, el);
		return;
	}
	list = ymap_get(el, ctx->db == DB_OPENSCAD ? "modules" : "functions");
	if (ymap_key(el, ctx->db == DB_OPENSCAD ? "modules" : "functions") ==
	    NULL) {
		yerror(ctx->d, el, "base file: missing the mandatory key '%s'",
		    ctx->db == DB_OPENSCAD ? "modules" : "functions");
		return;
	}
	for (size_t i = 0; i < ylist_len(list); i++) {
		if (ctx->db == DB_OPENSCAD)
			read_module(ctx, bf, ylist_at(list, i), bf->path != NULL);
		else
			read_function(ctx, bf, ylist_at(list, i),
			    bf->path != NULL);
	}
}

/*
 * Links out of the library beside a database's files.  A module may
 * include or import its siblings, so the bytes of every file with its
 * extension in its directory go into its parts' cache key (plan.c); a
 * sibling that is a link out is skipped there, unread, and said once
 * here rather than for every part.  `first`: this database's first file.
 */
static void
warn_siblings_outside(struct base_ctx *ctx, size_t first)
{
	struct dirent *de;
	DIR *dp;
	int fd;

	if (ctx->db == DB_DRAWINGS || first == ctx->nfiles)
		return;
	if ((dp = opendir_beneath(ctx->root, ctx->display_dir)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		char *rel, *link = NULL, *target = NULL;
		bool sibling = false;
		if (de->d_name[0] == '.' || (de->d_type != DT_LNK &&
		    de->d_type != DT_UNKNOWN))
			continue;
		for (size_t i = first; i < ctx->nfiles; i++) {
			const struct base_file *bf = ctx->files[i];
			const char *ext = strrchr(bf->filename, '.');
			if (strcmp(bf->filename, de->d_name) == 0) {
				/* named in the base file: reported there */
				sibling = false;
				break;
			}
			if (bf->path != NULL && ext != NULL &&
			    str_has_suffix(de->d_name, ext))
				sibling = true;
		}
		if (!sibling)
			continue;
		rel = xasprintf("%s/%s", ctx->display_dir, de->d_name);
		if ((fd = open_beneath(ctx->root, rel, O_PATH, &link,
		    &target)) != -1)
			close(fd);
		else if (errno == EXDEV && link != NULL)
			diag_add(ctx->d, DIAG_WARNING, rel, 0, 0, "%s is a "
			    "link to %s, outside the library: not read, and "
			    "not part of the cache key of the files beside it "
			    "that may include it", link, target);
		free(rel);
		free(link);
		free(target);
	}
	closedir(dp);
}

/*
 * The database <db>/<coll> of the collection, when it has one: its .base
 * file and the files that names.  Like the collection file, the .base file
 * and the directory may be links within the library; one leading out of
 * it is refused unread.
 */
static void
read_database(struct base_ctx *ctx, const struct ydoc_limits *limits)
{
	const char *id = ctx->coll->id;
	char *display, *link = NULL, *target = NULL;
	const struct ynode *root;
	size_t first = ctx->nfiles;
	struct stat st;
	int fd;

	display = xasprintf("%s/%s.base", ctx->display_dir, id);
	/* the directory (files named in the .base file appearing or going
	 * change its times) and the .base file, for live reloading */
	collection_dep(ctx->coll, ctx->dir, stat(ctx->dir, &st) == 0 ? &st :
	    NULL);
	fd = open_beneath(ctx->root, display, O_RDONLY | O_NONBLOCK, &link,
	    &target);
	if (fd == -1) {
		char *path = xasprintf("%s/%s", ctx->root, display);
		collection_dep(ctx->coll, path, NULL);
		free(path);
		if (errno == ENOENT || errno == ENOTDIR) {
			/* databases are optional, a directory without its
			 * .base file is a mistake */
			if (stat(ctx->dir, &st) == 0 && S_ISDIR(st.st_mode))
				diag_add(ctx->d, DIAG_WARNING, display, 0, 0,
				    "missing: the files in %s/ are not used",
				    ctx->display_dir);
		} else if (errno == EXDEV && link != NULL)
			diag_add(ctx->d, DIAG_ERROR, display, 0, 0, "%s is a "
			    "link to %s, outside the library: refused", link,
			    target);
		else if (errno == EXDEV)
			diag_add(ctx->d, DIAG_ERROR, display, 0, 0, "leads "
			    "outside the library: refused");
		else
			diag_add(ctx->d, DIAG_ERROR, display, 0, 0, "cannot "
			    "read: %s", strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == 0) {
		char *path = xasprintf("%s/%s", ctx->root, display);
		collection_dep(ctx->coll, path, &st);
		free(path);
		timespec_max(&ctx->coll->mtime, &st.st_mtim);
	}
	root = ydoc_load_fd(ctx->pa, fd, display, NULL, limits, ctx->d);
	if (root == NULL || root->kind == Y_NULL)
		goto out;
	if (root->kind != Y_SEQ) {
		yerror(ctx->d, root, "a base file holds a list of base file "
		    "elements");
		goto out;
	}
	for (size_t i = 0; i < root->n; i++)
		read_element(ctx, root->items[i]);
	warn_siblings_outside(ctx, first);
out:
	if (fd != -1)
		close(fd);
	free(display);
	free(link);
	free(target);
}

void
bases_read(struct collection *coll, const char *root,
    const struct conf *conf, const struct ydoc_limits *limits,
    struct diags *d)
{
	struct base_ctx ctx = {
		.coll = coll,
		.a = coll->arena,
		.pa = arena_new(),
		.root = root,
		.d = d,
	};

	for (int db = DB_OPENSCAD; db <= DB_DRAWINGS; db++) {
		ctx.db = (enum database)db;
		ctx.dir = arena_printf(ctx.a, "%s/%s/%s", root, db_dirs[db],
		    coll->id);
		ctx.display_dir = arena_printf(ctx.a, "%s/%s", db_dirs[db],
		    coll->id);
		read_database(&ctx, limits);
	}
	for (size_t i = 0; conf != NULL && i < conf->ncommands; i++) {
		ctx.db = DB_COMMAND;
		ctx.command = arena_strdup(ctx.a, conf->commands[i].name);
		ctx.dir = arena_printf(ctx.a, "%s/%s/%s", root, ctx.command,
		    coll->id);
		ctx.display_dir = arena_printf(ctx.a, "%s/%s", ctx.command,
		    coll->id);
		read_database(&ctx, limits);
	}
	coll->base_files = arena_array(ctx.a, ctx.nfiles ? ctx.nfiles : 1,
	    sizeof *coll->base_files);
	if (ctx.nfiles != 0)
		memcpy(coll->base_files, ctx.files,
		    ctx.nfiles * sizeof *ctx.files);
	coll->nbase_files = ctx.nfiles;
	free(ctx.files);
	arena_free(ctx.pa);
}
