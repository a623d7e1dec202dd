/* blt.c -- reading a collection's blt file: the collection header and its
 * classes (names, standards, labels, parameters), checked against every
 * rule of the BOLTS specification. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "partsfs/model/blt.h"
#include "partsfs/model/label.h"
#include "partsfs/model/pset.h"

static const char *const licenses[] = {
	"CC0 1.0", "Public Domain", "MIT", "BSD 3-clause", "Apache 2.0",
	"LGPL 2.1", "LGPL 2.1+", "LGPL 3.0", "LGPL 3.0+", "GPL 2.0+",
	"GPL 3.0", "GPL 3.0+", NULL
};

bool
id_valid(const char *id)
{
	if (id[0] == '\0')
		return false;
	for (const char *s = id; *s; s++) {
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	}
	return true;
}

/* An id or safe name longer than a file name can be cannot be a
 * directory of the tree: an error, and false. */
static bool
name_fits(struct diags *d, const struct ynode *n, const char *what,
    const char *s)
{
	size_t len = strlen(s);

	if (len <= PF_NAME_MAX)
		return true;
	yerror(d, n, "%s '%.24s...' is %zu bytes long; a name in the tree "
	    "holds at most %d", what, s, len, PF_NAME_MAX);
	return false;
}

/* "Name <mail>": the angle brackets are expected, their content may be
 * empty (real data has "KOLANICH <>"). */
static void
check_angled(struct diags *d, const struct ynode *n, const char *s,
    const char *what)
{
	const char *lt = strchr(s, '<');

	if (lt == NULL || strchr(lt, '>') == NULL)
		ywarn(d, n, "%s '%s' should end with an address in <>", what, s);
}

void
check_license(struct diags *d, const struct ynode *n, const char *s)
{
	size_t len;
	const char *lt = strchr(s, '<');

	check_angled(d, n, s, "license");
	len = lt != NULL ? (size_t)(lt - s) : strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	for (size_t i = 0; licenses[i] != NULL; i++) {
		if (strlen(licenses[i]) == len && memcmp(licenses[i], s, len) == 0)
			return;
	}
	ywarn(d, n, "license '%.*s' is not one of the licenses the BOLTS "
	    "specification lists", (int)len, s);
}

/* An identifier element, or a string taken as its nice name. */
static bool
read_ident(struct arena *a, const struct ynode *n, const char *what,
    struct ident *out, struct diags *d)
{
	static const char *const allowed[] = { "nice", "safe", NULL };
	const struct ynode *safe;

	memset(out, 0, sizeof *out);
	if (n != NULL && n->kind == Y_MAP) {
		check_known_keys(d, n, what, allowed);
		if ((out->nice = need_text(a, n, "nice", what, d)) == NULL)
			return false;
		safe = ymap_get(n, "safe");
		if (!yscalar_is_null(safe)) {
			const char *s = ytext(safe, "safe", d);
			if (s == NULL)
				return false;
			if (!id_valid(s)) {
				yerror(d, safe, "%s: safe name '%s' may hold "
				    "only letters, digits and underscores",
				    what, s);
				return false;
			}
			if (!name_fits(d, safe, "safe name", s))
				return false;
			out->safe = arena_intern(a, s, strlen(s));
			return true;
		}
	} else {
		const char *s = ytext(n, what, d);
		if (s == NULL)
			return false;
		out->nice = arena_intern(a, s, strlen(s));
	}
	out->safe = ident_sanitize(a, out->nice);
	if (out->safe[0] == '\0') {
		yerror(d, n, "%s: '%s' gives an empty safe name", what,
		    out->nice);
		return false;
	}
	if (!name_fits(d, n, "safe name", out->safe))
		return false;
	return true;
}

/* Check the %(name)s placeholders of a template against the class's
 * parameters. */
static bool
check_template(const struct ynode *n, const char *tmpl, const struct pset *ps,
    struct diags *d)
{
	bool ok = true;

	for (const char *s = tmpl; *s; s++) {
		const char *end;
		if (*s != '%')
			continue;
		if (s[1] == '%') {
			s++;
			continue;
		}
		if (s[1] != '(' || (end = strstr(s + 2, ")s")) == NULL) {
			yerror(d, n, "labeling: '%%' must start a %%(name)s "
			    "placeholder or be written %%%%");
			return false;
		}
		char *name = xstrndup(s + 2, (size_t)(end - s - 2));
		if (pset_find(ps, name) < 0) {
			yerror(d, n, "labeling: %%(%s)s names no parameter of "
			    "the class", name);
			ok = false;
		}
		free(name);
		s = end + 1;
	}
	return ok;
}

static bool
subst_safe_valid(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p <= 0x20 || *p >= 0x7f || strchr("/\\?*:|\"'<>", *p))
			return false;
	}
	return true;
}

/* A substitution element, or a string taken as its nice template. */
static bool
read_subst(struct arena *a, const struct ynode *n, const struct pset *ps,
    struct subst *out, struct diags *d)
{
	static const char *const allowed[] = { "nice", "safe", NULL };
	const struct ynode *safe = NULL;

	memset(out, 0, sizeof *out);
	if (n != NULL && n->kind == Y_MAP) {
		check_known_keys(d, n, "labeling", allowed);
		if ((out->nice = need_text(a, n, "nice", "labeling", d)) == NULL)
			return false;
		safe = ymap_get(n, "safe");
	} else {
		const char *s = ytext(n, "labeling", d);
		if (s == NULL)
			return false;
		out->nice = arena_intern(a, s, strlen(s));
	}
	if (!check_template(n, out->nice, ps, d))
		return false;
	if (!yscalar_is_null(safe)) {
		const char *s = ytext(safe, "safe", d);
		if (s == NULL)
			return false;
		if (!subst_safe_valid(s)) {
			yerror(d, safe, "labeling: safe template '%s' may not "
			    "hold blanks, non-ASCII, / \\ ? * : | \" ' < or >",
			    s);
			return false;
		}
		if (!check_template(safe, s, ps, d))
			return false;
		out->safe = arena_intern(a, s, strlen(s));
	} else
		out->safe = subst_sanitize(a, out->nice);
	return true;
}

static void
read_names(struct arena *a, struct pclass *c, const struct ynode *el,
    struct diags *d)
{
	static const char *const allowed[] = { "name", "group", "labeling",
	    "description", NULL };
	const struct ynode *names = ymap_get(el, "names");
	size_t n = ylist_len(names);

	/* c->names holds n (read_class) */
	for (size_t i = 0; i < n; i++) {
		const struct ynode *ne = ylist_at(names, i);
		struct class_name *cn = &c->names[c->nnames];
		if (ne->kind != Y_MAP) {
			yerror(d, ne, "names: expected a class name element "
			    "(name, labeling, ...)");
			continue;
		}
		check_known_keys(d, ne, "class name", allowed);
		if (ymap_key(ne, "name") == NULL) {
			yerror(d, ne, "class name: missing the mandatory key "
			    "'name'");
			continue;
		}
		if (ymap_key(ne, "labeling") == NULL) {
			yerror(d, ne, "class name: missing the mandatory key "
			    "'labeling'");
			continue;
		}
		if (!read_ident(a, ymap_get(ne, "name"), "name", &cn->name, d))
			continue;
		if (!yscalar_is_null(ymap_get(ne, "group")) &&
		    !read_ident(a, ymap_get(ne, "group"), "group", &cn->group,
		    d))
			continue;
		if (!read_subst(a, ymap_get(ne, "labeling"), &c->ps,
		    &cn->labeling, d))
			continue;
		cn->description = opt_text(a, ne, "description", d);
		c->nnames++;
	}
}

static void
read_standards(struct arena *a, struct pclass *c, const struct ynode *el,
    struct diags *d)
{
	static const char *const allowed[] = { "standard", "group",
	    "labeling", "body", "year", "status", "replaces", "description",
	    NULL };
	const struct ynode *stds = ymap_get(el, "standards");
	size_t n = ylist_len(stds);

	/* c->standards holds n (read_class) */
	for (size_t i = 0; i < n; i++) {
		const struct ynode *se = ylist_at(stds, i);
		struct class_standard *cs = &c->standards[c->nstandards];
		const struct ynode *year;
		if (se->kind != Y_MAP) {
			yerror(d, se, "standards: expected a class standard "
			    "element (standard, body, labeling, ...)");
			continue;
		}
		check_known_keys(d, se, "standard", allowed);
		if (ymap_key(se, "standard") == NULL) {
			yerror(d, se, "standard: missing the mandatory key "
			    "'standard'");
			continue;
		}
		if (ymap_key(se, "labeling") == NULL) {
			yerror(d, se, "standard: missing the mandatory key "
			    "'labeling'");
			continue;
		}
		if (!read_ident(a, ymap_get(se, "standard"), "standard",
		    &cs->standard, d))
			continue;
		if (!yscalar_is_null(ymap_get(se, "group")) &&
		    !read_ident(a, ymap_get(se, "group"), "group", &cs->group,
		    d))
			continue;
		if (!read_subst(a, ymap_get(se, "labeling"), &c->ps,
		    &cs->labeling, d))
			continue;
		if ((cs->body = need_text(a, se, "body", "standard", d)) == NULL)
			continue;
		year = ymap_get(se, "year");
		if (!yscalar_is_null(year)) {
			double y;
			/* in range before the cast: converting 1e300 to
			 * int is undefined */
			if (year->kind != Y_SCALAR ||
			    !num_parse(year->str, year->len, &y) ||
			    !(y >= 0 && y <= 9999) || y != (int)y) {
				yerror(d, year, "standard: year must be an "
				    "integer from 0 to 9999");
				continue;
			}
			cs->year = (int)y;
		}
		cs->status = opt_text(a, se, "status", d);
		if (cs->status == NULL)
			cs->status = "active";
		else if (strcmp(cs->status, "active") != 0 &&
		    strcmp(cs->status, "withdrawn") != 0) {
			yerror(d, ymap_get(se, "status"), "standard: status "
			    "'%s' must be active or withdrawn", cs->status);
			continue;
		}
		cs->replaces = opt_text(a, se, "replaces", d);
		cs->description = opt_text(a, se, "description", d);
		c->nstandards++;
	}
}

/* Read one class element; false when it is unusable. */
static bool
read_class(struct arena *a, struct collection *coll, struct pclass *c,
    const struct ynode *el, struct diags *d)
{
	static const char *const allowed[] = { "id", "names", "standards",
	    "parameters", "url", "notes", "source", NULL };
	size_t errors = d->nerrors, nnames, nstds;
	const struct ynode *idn;
	const char *notes;
	void *tail;

	memset(c, 0, sizeof *c);
	c->coll = coll;
	c->extra = &class_extra_none;
	c->pos = (struct fpos){ arena_intern(a, el->file, strlen(el->file)),
	    el->line, el->col };
	c->id_line = el->line;
	c->id_col = el->col;
	if (el->kind != Y_MAP) {
		yerror(d, el, "classes: expected a class element (id, names, "
		    "parameters, ...)");
		return false;
	}
	check_known_keys(d, el, "class", allowed);
	if ((c->id = need_text(a, el, "id", "class", d)) == NULL)
		return false;
	idn = ymap_get(el, "id");
	c->id_line = idn->line;
	c->id_col = idn->col;
	if (!id_valid(c->id)) {
		yerror(d, idn, "class id '%s' may hold only letters, digits "
		    "and underscores", c->id);
		return false;
	}
	if (!name_fits(d, idn, "class id", c->id))
		return false;
	/* the names and standards in the block of the parameters: none
	 * when there are none (most classes of a big library have one name
	 * and no standard) */
	nnames = ylist_len(ymap_get(el, "names"));
	nstds = ylist_len(ymap_get(el, "standards"));
	pset_build_tail(a, ymap_get(el, "parameters"), NULL, &c->ps,
	    nnames * sizeof *c->names + nstds * sizeof *c->standards, &tail,
	    d);
	if (nnames != 0)
		c->names = tail;
	if (nstds != 0)
		c->standards = (struct class_standard *)((char *)tail +
		    nnames * sizeof *c->names);
	read_names(a, c, el, d);
	read_standards(a, c, el, d);
	if (ylist_len(ymap_get(el, "url")) != 0) {
		struct class_extra *x = class_extra_edit(c, a);
		size_t nurls;
		x->urls = read_strings(a, ymap_get(el, "url"), &nurls, "url",
		    d);
		x->nurls = (uint32_t)nurls;
	}
	if ((notes = opt_text(a, el, "notes", d)) != NULL)
		class_extra_edit(c, a)->notes = notes;
	if ((c->source = need_text(a, el, "source", "class", d)) == NULL)
		c->source = "";
	return d->nerrors == errors;
}

static int
cmp_class_order(const void *pa, const void *pb, void *ctx)
{
	const struct pclass *cls = ctx;
	uint32_t ia = *(const uint32_t *)pa, ib = *(const uint32_t *)pb;
	int c = natcmp(cls[ia].id, cls[ib].id);

	return c != 0 ? c : ia < ib ? -1 : ia > ib;
}

static void
sort_classes(struct collection *coll)
{
	for (size_t i = 0; i < coll->nclasses; i++)
		coll->order[i] = (uint32_t)i;
	qsort_r(coll->order, coll->nclasses, sizeof *coll->order,
	    cmp_class_order, coll->classes);
}

/* Class ids are unique: a later class with an id already used is
 * reported and dropped, so that every lookup finds one class. */
static void
drop_duplicate_classes(struct collection *coll, struct diags *d)
{
	bool *drop = xcalloc(coll->nclasses ? coll->nclasses : 1, 1);
	size_t out = 0, ndrop = 0;

	sort_classes(coll);
	for (size_t i = 1; i < coll->nclasses; i++) {
		const struct pclass *a = &coll->classes[coll->order[i - 1]];
		const struct pclass *b = &coll->classes[coll->order[i]];
		if (strcmp(a->id, b->id) != 0)
			continue;
		diag_add(d, DIAG_ERROR, b->pos.file, b->id_line,
		    b->id_col, "class id '%s' is used twice in this "
		    "collection (first at line %d); this class is ignored",
		    b->id, a->pos.line);
		drop[coll->order[i]] = true;
		ndrop++;
	}
	if (ndrop != 0) {
		for (size_t i = 0; i < coll->nclasses; i++) {
			if (drop[i])
				continue;
			coll->class_nodes[out] = coll->class_nodes[i];
			coll->classes[out++] = coll->classes[i];
		}
		coll->nclasses = out;
		sort_classes(coll);
	}
	free(drop);
}

bool
blt_read(struct collection *coll, const struct ynode *root, const char *stem,
    struct diags *d)
{
	static const char *const allowed[] = { "id", "name", "description",
	    "author", "license", "blt-version", "classes", NULL };
	struct arena *a = coll->arena;
	const struct ynode *classes, *ver, *authors;
	const char *id;
	size_t n;

	/* set first: a collection that fails to read is still listed */
	coll->id = arena_strdup(a, stem);
	if (root->kind != Y_MAP) {
		yerror(d, root, "a blt file holds one mapping (id, author, "
		    "license, blt-version, classes), not a %s",
		    ykind_name(root->kind));
		return false;
	}
	check_known_keys(d, root, "collection", allowed);
	id = need_text(a, root, "id", "collection", d);
	if (id != NULL && strcmp(id, stem) != 0)
		yerror(d, ymap_get(root, "id"), "collection id '%s' must equal "
		    "the file name '%s'", id, stem);
	else if (id != NULL && !id_valid(id))
		yerror(d, ymap_get(root, "id"), "collection id '%s' may hold "
		    "only letters, digits and underscores", id);
	coll->name = opt_text(a, root, "name", d);
	coll->description = opt_text(a, root, "description", d);
	authors = ymap_get(root, "author");
	if (ymap_key(root, "author") == NULL || yscalar_is_null(authors))
		yerror(d, root, "collection: missing the mandatory key "
		    "'author'");
	coll->authors = read_strings(a, authors, &coll->nauthors, "author",
	    d);
	for (size_t i = 0; i < coll->nauthors; i++)
		check_angled(d, ylist_at(authors, i), coll->authors[i],
		    "author");
	coll->license = need_text(a, root, "license", "collection", d);
	if (coll->license != NULL)
		check_license(d, ymap_get(root, "license"), coll->license);
	else
		coll->license = "";
	ver = ymap_get(root, "blt-version");
	if (ymap_key(root, "blt-version") == NULL || yscalar_is_null(ver))
		yerror(d, root, "collection: missing the mandatory key "
		    "'blt-version'");
	else {
		double v;
		if (ver->kind != Y_SCALAR || !num_parse(ver->str, ver->len, &v))
			yerror(d, ver, "blt-version must be a number");
		else {
			coll->blt_version = arena_strdup(a, ver->str);
			if (v != 0.4)
				ywarn(d, ver, "blt-version %s: this reader "
				    "follows version 0.4", ver->str);
		}
	}
	classes = ymap_get(root, "classes");
	if (ymap_key(root, "classes") == NULL) {
		yerror(d, root, "collection: missing the mandatory key "
		    "'classes'");
		classes = NULL;
	} else if (!yscalar_is_null(classes) && classes->kind != Y_SEQ) {
		yerror(d, classes, "classes: expected a list of classes");
		classes = NULL;
	}
	n = ylist_len(classes);
	coll->classes = arena_array(a, n ? n : 1, sizeof *coll->classes);
	coll->class_nodes = xcalloc(n ? n : 1, sizeof *coll->class_nodes);
	for (size_t i = 0; i < n; i++) {
		struct pclass *c = &coll->classes[coll->nclasses];
		if (read_class(a, coll, c, classes->items[i], d))
			coll->class_nodes[coll->nclasses++] = classes->items[i];
	}
	coll->order = arena_array(a, coll->nclasses ? coll->nclasses : 1,
	    sizeof *coll->order);
	drop_duplicate_classes(coll, d);
	return true;
}
