/* pset.c -- building a parameter set from a `parameters` element: types,
 * literals, tables, 2d tables, choices, defaults and common
 * combinations, checked against the BOLTS specification. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "partsfs/model/pset.h"
#include "partsfs/util/escape.h"

/* Expanding `common` stops here: a class is a directory tree, not a
 * database. */
#define MAX_COMMON 200000

static bool
key_valid(const char *key)
{
	if (key[0] == '\0')
		return false;
	for (const unsigned char *s = (const unsigned char *)key; *s; s++) {
		if (*s < 0x20 || *s == 0x7f || *s >= 0x80 ||
		    strchr("/\\?*:|\"'<>", *s) != NULL)
			return false;
	}
	return true;
}

static bool
yvalue(struct arena *a, const struct ynode *n, enum ptype t, bool allow_none,
    const char *what, struct value *out, struct diags *diags)
{
	const char *s;

	if (allow_none && (yscalar_is_null(n) || yscalar_is_none(n))) {
		out->kind = V_NULL;
		return true;
	}
	if (n == NULL || n->kind != Y_SCALAR) {
		yerror(diags, n, "%s: expected a single %s value, found a %s",
		    what, ptype_name(t), n ? ykind_name(n->kind) : "nothing");
		return false;
	}
	if ((s = ytext(n, what, diags)) == NULL)
		return false;
	switch (value_read(t, s, n->len, VALUE_ANY_CASE, out)) {
	case VF_NONE:
		break;
	case VF_RANGE:
		yerror(diags, n, "%s: %s is out of range for %s", what, s,
		    ptype_name(t));
		return false;
	case VF_SYNTAX:
		if (t == PT_BOOL)
			yerror(diags, n, "%s: '%s' is not true or false", what,
			    s);
		else
			yerror(diags, n, "%s: '%s' is not a number (%s)", what,
			    s, ptype_name(t));
		return false;
	}
	if (out->kind == V_STR)
		out->u.str = arena_intern(a, s, strlen(s));
	return true;
}

/* The builder: a growable list of parameters and an assignment record. */

enum assign {
	AS_NONE = 0,
	AS_LITERAL = 1,
	AS_FREE = 2,
	AS_TABLE = 4,
	AS_TABLE2D = 8,
};

struct builder {
	struct arena *a;
	struct diags *diags;
	size_t errors_at_start;
	struct pset *ps;
	size_t cap;
	unsigned *assigned;            /* per parameter: AS_* bits */
	const struct ynode **refs;     /* first place a name was used */
	const struct ynode **decls;    /* its `types` entry */
	struct ptables tabs;           /* into the arena at the end */
	size_t ntables_cap, ntables2d_cap;
	size_t nclass;                 /* the class's own parameters come
					* first; a base file's follow */
};

/* Declare a parameter from a `types` entry. */
/*
 * A parameter's name goes into part file names (name=value, pairs joined
 * by ',') and into labeling templates (%(name)s), safe ones included:
 * printable ASCII without blanks, without what those use (= , % and
 * parentheses) and without what a safe name may not hold (/ \ ? * : | " '
 * < >).  Every name of the BOLTS corpus is letters, digits and '_'.
 */
static bool
param_name_valid(const char *name, struct diags *diags,
    const struct ynode *at)
{
	const unsigned char *c;

	if (name[0] == '\0') {
		yerror(diags, at, "types: a parameter name is empty");
		return false;
	}
	for (c = (const unsigned char *)name; *c != '\0'; c++) {
		if (*c <= 0x20 || *c >= 0x7f ||
		    strchr("=,%()/\\?*:|\"'<>", *c) != NULL) {
			if (*c <= 0x20 || *c >= 0x7f)
				yerror(diags, at, "types: parameter name '%s' "
				    "holds byte 0x%02x: use letters, digits "
				    "and '_'", name, *c);
			else
				yerror(diags, at, "types: parameter name '%s' "
				    "holds '%c', which part file names or "
				    "labels cannot: use letters, digits and "
				    "'_'", name, *c);
			return false;
		}
	}
	return true;
}

static void
declare(struct builder *b, const struct ynode *key, const struct ynode *val)
{
	struct pset *ps = b->ps;
	const char *name, *tname;
	struct param *p;
	int t, i;

	if ((name = ytext(key, "types", b->diags)) == NULL)
		return;
	if (!param_name_valid(name, b->diags, key))
		return;
	if (yscalar_is_null(val)) {
		yerror(b->diags, val, "types: parameter '%s' has no type", name);
		return;
	}
	if ((tname = ytext(val, "types", b->diags)) == NULL)
		return;
	if ((t = ptype_from_name(tname)) < 0) {
		yerror(b->diags, val, "types: '%s' of parameter '%s' is not a "
		    "type: use Length (mm), Length (in), Number, Bool, Table "
		    "Index, String or Angle (deg)", tname, name);
		return;
	}
	if ((i = pset_find(ps, name)) >= 0) {
		if (ps->params[i].type != (enum ptype)t)
			yerror(b->diags, val, "parameter '%s' is declared %s "
			    "here but %s before", name, tname,
			    ptype_name(ps->params[i].type));
		return;
	}
	if (ps->nparams == b->cap) {
		/* grown on the heap while building, and copied into the
		 * arena at its exact size at the end (pset_build) */
		size_t ncap = b->cap ? b->cap * 2 : 8;
		ps->params = xreallocarray(ps->params, ncap,
		    sizeof *ps->params);
		b->assigned = xreallocarray(b->assigned, ncap,
		    sizeof *b->assigned);
		b->refs = xreallocarray(b->refs, ncap, sizeof *b->refs);
		b->decls = xreallocarray(b->decls, ncap, sizeof *b->decls);
		b->cap = ncap;
	}
	p = &ps->params[ps->nparams];
	memset(p, 0, sizeof *p);
	p->name = arena_intern(b->a, name, strlen(name));
	p->type = (enum ptype)t;
	p->free_pos = -1;
	b->decls[ps->nparams] = val;
	b->assigned[ps->nparams] = AS_NONE;
	b->refs[ps->nparams] = NULL;
	ps->nparams++;
}

/* A parameter name used somewhere: it must have a type. */
static int
use(struct builder *b, const struct ynode *n, const char *what)
{
	const char *name = ytext(n, what, b->diags);
	int i;

	if (name == NULL)
		return -1;
	if ((i = pset_find(b->ps, name)) < 0) {
		yerror(b->diags, n, "%s: parameter '%s' has no entry in types",
		    what, name);
		return -1;
	}
	if (b->refs[i] == NULL)
		b->refs[i] = n;
	return i;
}

static const char *
source_name(unsigned bits)
{
	if (bits & AS_TABLE2D)
		return "a 2d table result";
	if (bits & AS_TABLE)
		return "a table column";
	if (bits & AS_FREE)
		return "the free list";
	return "a literal";
}

static void
assign(struct builder *b, int i, unsigned how, const struct ynode *n)
{
	unsigned had = b->assigned[i];
	const char *name = b->ps->params[i].name;

	if (had == AS_TABLE && how == AS_TABLE2D) {
		/* Real BOLTS data (hexscrew1's pitch) relies on this. */
		ywarn(b->diags, n, "parameter '%s' comes from a table column "
		    "and from this 2d table: the 2d table's value is used",
		    name);
	} else if (had != AS_NONE) {
		yerror(b->diags, n, "parameter '%s' gets its value from %s and "
		    "from %s: a parameter has exactly one source", name,
		    source_name(had), source_name(how));
		return;
	}
	b->assigned[i] |= how;
}

static void
read_types(struct builder *b, const struct ynode *node)
{
	const struct ynode *types = ymap_get(node, "types");

	if (ymap_key(node, "types") == NULL) {
		yerror(b->diags, node, "parameters: missing the mandatory key "
		    "'types'");
		return;
	}
	if (yscalar_is_null(types))
		return;
	if (types->kind != Y_MAP) {
		yerror(b->diags, types, "types: expected a mapping of "
		    "parameter names to types");
		return;
	}
	for (size_t i = 0; i < types->n; i++)
		declare(b, types->items[2 * i], types->items[2 * i + 1]);
}

static void
read_literals(struct builder *b, const struct ynode *node)
{
	const struct ynode *lit = ymap_get(node, "literal");

	if (yscalar_is_null(lit))
		return;
	if (lit->kind != Y_MAP) {
		yerror(b->diags, lit, "literal: expected a mapping");
		return;
	}
	for (size_t i = 0; i < lit->n; i++) {
		int pi = use(b, lit->items[2 * i], "literal");
		struct param *p;
		if (pi < 0)
			continue;
		p = &b->ps->params[pi];
		if (yvalue(b->a, lit->items[2 * i + 1], p->type, true, p->name,
		    &p->literal, b->diags)) {
			p->has_literal = true;
			assign(b, pi, AS_LITERAL, lit->items[2 * i]);
		}
	}
}

static void
read_free(struct builder *b, const struct ynode *node, int **freev,
    size_t *nfree)
{
	const struct ynode *fr = ymap_get(node, "free");
	size_t n = ylist_len(fr);

	for (size_t i = 0; i < n; i++) {
		const struct ynode *item = ylist_at(fr, i);
		int pi = use(b, item, "free");
		if (pi < 0)
			continue;
		if (b->ps->params[pi].free_pos >= 0) {
			yerror(b->diags, item, "free: parameter '%s' is listed "
			    "twice", b->ps->params[pi].name);
			continue;
		}
		if (*nfree >= PF_MAX_FREE) {
			yerror(b->diags, item, "free: more than %d free "
			    "parameters", PF_MAX_FREE);
			return;
		}
		b->ps->params[pi].free_pos = (int8_t)*nfree;
		(*freev)[(*nfree)++] = pi;
		assign(b, pi, AS_FREE, item);
	}
}

static int
cmp_rows(const void *pa, const void *pb, void *ctx)
{
	const char **keys = ctx;

	return strcmp(keys[*(const uint32_t *)pa], keys[*(const uint32_t *)pb]);
}

/* Row numbers ordered by key, for binary search. */
static uint32_t *
sort_rows(struct arena *a, const char **keys, size_t n)
{
	uint32_t *order = arena_array(a, n ? n : 1, sizeof *order);

	for (size_t i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, n, sizeof *order, cmp_rows, keys);
	return order;
}


/* An index parameter of a table: declared, and a Table Index. */
static int
use_index(struct builder *b, const struct ynode *n, const char *what)
{
	int pi;

	if (n == NULL)
		return -1;
	pi = use(b, n, what);
	if (pi >= 0 && b->ps->params[pi].type != PT_TABLE_INDEX) {
		yerror(b->diags, n, "%s: parameter '%s' indexes a table, so its "
		    "type must be Table Index, not %s", what,
		    b->ps->params[pi].name, ptype_name(b->ps->params[pi].type));
		return -1;
	}
	return pi;
}

/* The length of a Table Index value as a directory name of the tree. */
static size_t
dir_name_len(const char *key)
{
	struct buf b = BUF_INIT;
	size_t n;

	path_encode_dir(key, &b);
	n = b.len;
	buf_free(&b);
	return n;
}

static const struct ynode *
mandatory(struct builder *b, const struct ynode *el, const char *key,
    const char *what)
{
	const struct ynode *v = ymap_get(el, key);

	if (ymap_key(el, key) == NULL || yscalar_is_null(v)) {
		yerror(b->diags, el, "%s: missing the mandatory key '%s'", what,
		    key);
		return NULL;
	}
	return v;
}

static void
check_keys(struct builder *b, const struct ynode *el, const char *what,
    const char *const *allowed)
{
	for (size_t i = 0; i < el->n; i++) {
		const struct ynode *k = el->items[2 * i];
		bool ok = false;
		for (size_t j = 0; allowed[j] != NULL; j++) {
			if (strcmp(k->str, allowed[j]) == 0)
				ok = true;
		}
		if (!ok)
			ywarn(b->diags, k, "%s: unknown key '%s' (ignored)",
			    what, k->str);
	}
}

/* Row keys of a data mapping, checked. */
static const char **
read_row_keys(struct builder *b, const struct ynode *data, const char *what)
{
	const char **keys = arena_array(b->a, data->n ? data->n : 1,
	    sizeof *keys);

	for (size_t r = 0; r < data->n; r++) {
		const struct ynode *k = data->items[2 * r];
		keys[r] = arena_intern(b->a, k->str, strlen(k->str));
		if (!key_valid(k->str))
			yerror(b->diags, k, "%s: key '%s' is not a valid Table "
			    "Index value (ASCII, without / \\ ? * : | \" ' < > "
			    "or control characters)", what, k->str);
		else if (dir_name_len(k->str) > PF_NAME_MAX)
			yerror(b->diags, k, "%s: key '%.24s...' is %zu bytes "
			    "long as a name in the tree (%% written %%25), "
			    "which holds at most %d", what, k->str,
			    dir_name_len(k->str), PF_NAME_MAX);
	}
	return keys;
}

static void
read_table(struct builder *b, const struct ynode *el)
{
	static const char *const allowed[] = { "index", "columns", "data",
	    NULL };
	const struct ynode *idx, *cols, *data;
	struct pset *ps = b->ps;
	struct table t = { .index = -1 };
	bool ok = true;

	if (el->kind != Y_MAP) {
		yerror(b->diags, el, "tables: expected a table mapping with "
		    "index, columns and data");
		return;
	}
	check_keys(b, el, "table", allowed);
	idx = mandatory(b, el, "index", "table");
	cols = mandatory(b, el, "columns", "table");
	data = mandatory(b, el, "data", "table");
	if (idx != NULL && (t.index = use_index(b, idx, "table index")) < 0)
		ok = false;
	if (cols != NULL && cols->kind != Y_SEQ) {
		yerror(b->diags, cols, "table columns: expected a list of "
		    "parameter names");
		cols = NULL;
	}
	if (cols != NULL) {
		t.ncols = cols->n;
		t.cols = arena_array(b->a, t.ncols ? t.ncols : 1,
		    sizeof *t.cols);
		for (size_t c = 0; c < t.ncols; c++) {
			t.cols[c] = use(b, cols->items[c], "table columns");
			if (t.cols[c] < 0)
				ok = false;
			else
				assign(b, t.cols[c], AS_TABLE, cols->items[c]);
		}
	}
	if (data != NULL && data->kind != Y_MAP) {
		yerror(b->diags, data, "table data: expected a mapping of keys "
		    "to rows");
		data = NULL;
	}
	if (!ok || idx == NULL || cols == NULL || data == NULL)
		return;
	t.nrows = data->n;
	t.keys = read_row_keys(b, data, "table");
	t.cells = arena_array(b->a, t.nrows * t.ncols != 0 ? t.nrows * t.ncols : 1,
	    sizeof *t.cells);
	for (size_t r = 0; r < t.nrows; r++) {
		const struct ynode *row = data->items[2 * r + 1];
		if (row->kind != Y_SEQ || row->n != t.ncols) {
			yerror(b->diags, row, "table row '%s': expected a list "
			    "of %zu values (one per column), found %s%zu",
			    t.keys[r], t.ncols, row->kind == Y_SEQ ? "" :
			    "a single value instead of a list: ",
			    row->kind == Y_SEQ ? row->n : (size_t)1);
			ok = false;
			continue;
		}
		for (size_t c = 0; c < t.ncols; c++) {
			const struct param *p = &ps->params[t.cols[c]];
			if (!yvalue(b->a, row->items[c], p->type, true, p->name,
			    &t.cells[r * t.ncols + c], b->diags))
				ok = false;
		}
	}
	t.order = sort_rows(b->a, t.keys, t.nrows);
	if (!ok)
		return;
	if (b->tabs.ntables >= PF_MAX_TABLES) {
		yerror(b->diags, el, "more than %d tables", PF_MAX_TABLES);
		return;
	}
	if (b->tabs.ntables == b->ntables_cap) {
		size_t ncap = b->ntables_cap ? b->ntables_cap * 2 : 4;
		b->tabs.tables = xreallocarray(b->tabs.tables, ncap,
		    sizeof *b->tabs.tables);
		b->ntables_cap = ncap;
	}
	b->tabs.tables[b->tabs.ntables++] = t;
}

static void
read_table2d(struct builder *b, const struct ynode *el)
{
	static const char *const allowed[] = { "rowindex", "colindex",
	    "columns", "result", "data", NULL };
	const struct ynode *rowi, *coli, *cols, *res, *data;
	struct pset *ps = b->ps;
	struct table2d t = { .row = -1, .col = -1, .result = -1 };
	bool ok = true;

	if (el->kind != Y_MAP) {
		yerror(b->diags, el, "tables2d: expected a 2d table mapping");
		return;
	}
	check_keys(b, el, "2d table", allowed);
	rowi = mandatory(b, el, "rowindex", "2d table");
	coli = mandatory(b, el, "colindex", "2d table");
	cols = mandatory(b, el, "columns", "2d table");
	res = mandatory(b, el, "result", "2d table");
	data = mandatory(b, el, "data", "2d table");
	if (rowi != NULL && (t.row = use_index(b, rowi, "rowindex")) < 0)
		ok = false;
	if (coli != NULL && (t.col = use_index(b, coli, "colindex")) < 0)
		ok = false;
	if (t.row >= 0 && t.row == t.col) {
		yerror(b->diags, coli, "2d table: rowindex and colindex are "
		    "the same parameter; use an ordinary table");
		ok = false;
	}
	if (res != NULL) {
		if ((t.result = use(b, res, "result")) < 0)
			ok = false;
		else
			assign(b, t.result, AS_TABLE2D, res);
	}
	if (cols != NULL && cols->kind != Y_SEQ) {
		yerror(b->diags, cols, "2d table columns: expected a list of "
		    "column keys");
		cols = NULL;
	}
	if (cols != NULL) {
		t.ncols = cols->n;
		t.colkeys = arena_array(b->a, t.ncols ? t.ncols : 1,
		    sizeof *t.colkeys);
		for (size_t c = 0; c < t.ncols; c++) {
			const char *k = ytext(cols->items[c], "2d table columns",
			    b->diags);
			if (k == NULL) {
				ok = false;
				continue;
			}
			if (!key_valid(k))
				yerror(b->diags, cols->items[c], "2d table "
				    "column '%s' is not a valid Table Index "
				    "value", k);
			else if (dir_name_len(k) > PF_NAME_MAX)
				yerror(b->diags, cols->items[c], "2d table "
				    "column '%.24s...' is %zu bytes long as a "
				    "name in the tree (%% written %%25), which "
				    "holds at most %d", k, dir_name_len(k),
				    PF_NAME_MAX);
			t.colkeys[c] = arena_intern(b->a, k, strlen(k));
		}
	}
	if (data != NULL && data->kind != Y_MAP) {
		yerror(b->diags, data, "2d table data: expected a mapping of "
		    "row keys to rows");
		data = NULL;
	}
	/* each of the three is reported by mandatory() when missing; a
	 * table without them cannot be read, nor its cells typed */
	if (!ok || cols == NULL || data == NULL || t.result < 0 || t.row < 0 ||
	    t.col < 0)
		return;
	t.nrows = data->n;
	t.rowkeys = read_row_keys(b, data, "2d table");
	t.cells = arena_array(b->a, t.nrows * t.ncols != 0 ? t.nrows * t.ncols : 1,
	    sizeof *t.cells);
	for (size_t r = 0; r < t.nrows; r++) {
		const struct ynode *row = data->items[2 * r + 1];
		if (row->kind != Y_SEQ || row->n != t.ncols) {
			yerror(b->diags, row, "2d table row '%s': expected a "
			    "list of %zu values (one per column)", t.rowkeys[r],
			    t.ncols);
			ok = false;
			continue;
		}
		for (size_t c = 0; c < t.ncols; c++) {
			const struct param *p = &ps->params[t.result];
			if (!yvalue(b->a, row->items[c], p->type, true, p->name,
			    &t.cells[r * t.ncols + c], b->diags))
				ok = false;
		}
	}
	t.order = sort_rows(b->a, t.rowkeys, t.nrows);
	if (!ok)
		return;
	if (b->tabs.ntables2d == b->ntables2d_cap) {
		size_t ncap = b->ntables2d_cap ? b->ntables2d_cap * 2 : 4;
		b->tabs.tables2d = xreallocarray(b->tabs.tables2d, ncap,
		    sizeof *b->tabs.tables2d);
		b->ntables2d_cap = ncap;
	}
	b->tabs.tables2d[b->tabs.ntables2d++] = t;
}

static void
read_tables(struct builder *b, const struct ynode *node)
{
	const struct ynode *t = ymap_get(node, "tables");
	const struct ynode *t2 = ymap_get(node, "tables2d");

	for (size_t i = 0; i < ylist_len(t); i++)
		read_table(b, ylist_at(t, i));
	for (size_t i = 0; i < ylist_len(t2); i++)
		read_table2d(b, ylist_at(t2, i));
}

static void
read_descriptions(struct builder *b, const struct ynode *node)
{
	const struct ynode *d = ymap_get(node, "description");

	if (yscalar_is_null(d))
		return;
	if (d->kind != Y_MAP) {
		yerror(b->diags, d, "description: expected a mapping of "
		    "parameter names to text");
		return;
	}
	for (size_t i = 0; i < d->n; i++) {
		const struct ynode *k = d->items[2 * i];
		int pi = pset_find(b->ps, k->str);
		const char *text;
		if (pi < 0) {
			ywarn(b->diags, k, "description of '%s', which is not "
			    "a parameter", k->str);
			continue;
		}
		if ((text = ytext(d->items[2 * i + 1], "description",
		    b->diags)) != NULL)
			b->ps->params[pi].description = arena_intern(b->a,
			    text, strlen(text));
	}
}

/* Keys common to every table indexed by parameter `pi`, natural order. */
static void
compute_choices(struct builder *b, int pi, const struct ynode *where)
{
	struct pset *ps = b->ps;
	struct param *p = &ps->params[pi];
	const struct ptables *tabs = &b->tabs;
	const char **cand = NULL;
	size_t ncand = 0, nsrc = 0;

	if (p->type == PT_BOOL) {
		p->choices = arena_array(b->a, 2, sizeof *p->choices);
		p->choices[0] = "false";
		p->choices[1] = "true";
		p->nchoices = 2;
		return;
	}
	/* Start from the first source, then keep the keys found in each
	 * other one (binary search in its sorted rows). */
	for (size_t t = 0; t < tabs->ntables + 2 * tabs->ntables2d; t++) {
		const struct table *tb = NULL;
		const struct table2d *t2 = NULL;
		bool rows = true;
		const char **keys;
		size_t nkeys, out = 0;
		if (t < tabs->ntables) {
			tb = &tabs->tables[t];
			if (tb->index != pi)
				continue;
			keys = tb->keys;
			nkeys = tb->nrows;
		} else {
			t2 = &tabs->tables2d[(t - tabs->ntables) / 2];
			rows = (t - tabs->ntables) % 2 == 0;
			if ((rows ? t2->row : t2->col) != pi)
				continue;
			keys = rows ? t2->rowkeys : t2->colkeys;
			nkeys = rows ? t2->nrows : t2->ncols;
		}
		if (nsrc++ == 0) {
			cand = xmalloc((nkeys ? nkeys : 1) * sizeof *cand);
			if (nkeys != 0)
				memcpy(cand, keys, nkeys * sizeof *cand);
			ncand = nkeys;
			continue;
		}
		for (size_t i = 0; i < ncand; i++) {
			int found = tb != NULL ? table_row(tb, cand[i]) :
			    rows ? table2d_row(t2, cand[i]) :
			    table2d_col(t2, cand[i]);
			if (found >= 0)
				cand[out++] = cand[i];
		}
		ncand = out;
	}
	if (nsrc == 0) {
		yerror(b->diags, where, "free Table Index parameter '%s' is not "
		    "the index of any table, so it has no choices", p->name);
		free(cand);
		return;
	}
	/* Duplicate keys of one mapping were removed by the reader; the
	 * same key may still appear twice in a 2d table's columns. */
	natsort(cand, ncand);
	size_t out = 0;
	for (size_t i = 0; i < ncand; i++) {
		if (out == 0 || strcmp(cand[out - 1], cand[i]) != 0)
			cand[out++] = cand[i];
	}
	ncand = out;
	if (ncand == 0)
		yerror(b->diags, where, "Table Index parameter '%s': no key is "
		    "common to all the tables it indexes", p->name);
	p->choices = arena_array(b->a, ncand ? ncand : 1, sizeof *p->choices);
	if (ncand != 0)
		memcpy(p->choices, cand, ncand * sizeof *cand);
	p->nchoices = (uint32_t)ncand;
	free(cand);
}

static void
set_type_defaults(struct pset *ps)
{
	for (size_t f = 0; f < ps->nfree; f++) {
		struct param *p = &ps->params[ps->free[f]];
		p->def = value_type_default(p->type);
	}
}

/* `extra`: the parameters a base file adds to the class's, whose own
 * defaults it may not change (default.stl and default.step would be two
 * different parts). */
static void
read_defaults(struct builder *b, const struct ynode *node, bool extra)
{
	const struct ynode *d = ymap_get(node, "defaults");
	struct pset *ps = b->ps;

	if (yscalar_is_null(d))
		return;
	if (d->kind != Y_MAP) {
		yerror(b->diags, d, "defaults: expected a mapping");
		return;
	}
	for (size_t i = 0; i < d->n; i++) {
		const struct ynode *k = d->items[2 * i];
		const struct ynode *v = d->items[2 * i + 1];
		int pi = pset_find(ps, k->str);
		struct param *p;
		struct value val;
		if (pi < 0) {
			yerror(b->diags, k, "defaults: '%s' is not a parameter",
			    k->str);
			continue;
		}
		p = &ps->params[pi];
		if (p->free_pos < 0) {
			yerror(b->diags, k, "defaults: '%s' is not a free "
			    "parameter; only free parameters have defaults",
			    k->str);
			continue;
		}
		if (extra && (size_t)pi < b->nclass) {
			yerror(b->diags, k, "defaults: '%s' is a parameter of "
			    "the class, whose default is the class's: a base "
			    "file gives defaults only for parameters it adds",
			    k->str);
			continue;
		}
		if (!yvalue(b->a, v, p->type, false, p->name, &val, b->diags))
			continue;
		if (p->type == PT_TABLE_INDEX && p->nchoices > 0 &&
		    param_choice(p, val.u.str) < 0) {
			yerror(b->diags, v, "defaults: '%s' is not a choice of "
			    "%s (the keys common to its tables)", val.u.str,
			    p->name);
			continue;
		}
		p->def = val;
	}
}

/* A Table Index without a default would default to "", which is never a
 * key: use the first choice and say so. */
static void
fix_index_defaults(struct builder *b)
{
	struct pset *ps = b->ps;

	for (size_t f = 0; f < ps->nfree; f++) {
		struct param *p = &ps->params[ps->free[f]];
		if (p->type != PT_TABLE_INDEX || p->nchoices == 0 ||
		    param_choice(p, p->def.u.str) >= 0)
			continue;
		ywarn(b->diags, b->decls[ps->free[f]], "free Table Index parameter '%s' has "
		    "no default: its first choice '%s' is used", p->name,
		    p->choices[0]);
		p->def.kind = V_STR;
		p->def.u.str = p->choices[0];
	}
}

/* Common combinations: each tuple is a product of value lists. */

struct common_acc {
	struct value *rows;
	size_t n;
	size_t cap;
	size_t nfree;
	bool overflow;
};

static void
common_push(struct common_acc *acc, const struct value *row)
{
	if (acc->n >= MAX_COMMON) {
		acc->overflow = true;
		return;
	}
	if (acc->n == acc->cap) {
		acc->cap = acc->cap ? acc->cap * 2 : 64;
		acc->rows = xreallocarray(acc->rows, acc->cap * acc->nfree + 1,
		    sizeof *acc->rows);
	}
	if (acc->nfree != 0)
		memcpy(&acc->rows[acc->n * acc->nfree], row,
		    acc->nfree * sizeof *row);
	acc->n++;
}

/* Expand column choices: lists[f] holds nvals[f] values. */
static void
common_product(struct common_acc *acc, struct value **lists,
    const size_t *nvals, size_t f, struct value *row)
{
	if (acc->overflow)
		return;
	if (f == acc->nfree) {
		common_push(acc, row);
		return;
	}
	for (size_t i = 0; i < nvals[f] && !acc->overflow; i++) {
		row[f] = lists[f][i];
		common_product(acc, lists, nvals, f + 1, row);
	}
}

/* All values of a discrete parameter as a value list. */
static struct value *
all_choices(struct builder *b, const struct param *p, size_t *n)
{
	struct value *v = arena_array(b->a, p->nchoices ? p->nchoices : 1,
	    sizeof *v);

	for (size_t i = 0; i < p->nchoices; i++) {
		if (p->type == PT_BOOL) {
			v[i].kind = V_BOOL;
			v[i].u.b = i == 1;
		} else {
			v[i].kind = V_STR;
			v[i].u.str = p->choices[i];
		}
	}
	*n = p->nchoices;
	return v;
}

static void
read_common(struct builder *b, const struct ynode *node)
{
	const struct ynode *common = ymap_get(node, "common");
	struct pset *ps = b->ps;
	struct common_acc acc = { .nfree = ps->nfree };
	struct value *lists[PF_MAX_FREE], row[PF_MAX_FREE];
	size_t nvals[PF_MAX_FREE];
	bool all_discrete = true;

	for (size_t f = 0; f < ps->nfree; f++) {
		if (!ptype_discrete(ps->params[ps->free[f]].type))
			all_discrete = false;
	}
	if (ymap_key(node, "common") == NULL) {
		if (!all_discrete)
			return;
		/* Every combination of the discrete choices is common. */
		for (size_t f = 0; f < ps->nfree; f++)
			lists[f] = all_choices(b, &ps->params[ps->free[f]],
			    &nvals[f]);
		common_product(&acc, lists, nvals, 0, row);
		goto done;
	}
	if (yscalar_is_null(common))
		return;
	if (common->kind != Y_SEQ) {
		yerror(b->diags, common, "common: expected a list of tuples");
		return;
	}
	for (size_t t = 0; t < common->n; t++) {
		const struct ynode *tup = common->items[t];
		bool ok = true;
		if (tup->kind != Y_SEQ || tup->n != ps->nfree) {
			yerror(b->diags, tup, "common: a tuple needs one entry "
			    "per free parameter (%zu)", (size_t)ps->nfree);
			continue;
		}
		for (size_t f = 0; f < ps->nfree && ok; f++) {
			const struct ynode *el = tup->items[f];
			const struct param *p = &ps->params[ps->free[f]];
			/* ':' (quoted or not) stands for every choice */
			if (el->kind == Y_SCALAR && strcmp(el->str, ":") == 0) {
				if (!ptype_discrete(p->type)) {
					yerror(b->diags, el, "common: ':' stands "
					    "for all choices, but '%s' is not "
					    "discrete", p->name);
					ok = false;
				} else
					lists[f] = all_choices(b, p, &nvals[f]);
				continue;
			}
			nvals[f] = ylist_len(el);
			lists[f] = arena_array(b->a, nvals[f] ? nvals[f] : 1,
			    sizeof **lists);
			for (size_t i = 0; i < nvals[f] && ok; i++) {
				const struct ynode *vn = ylist_at(el, i);
				struct value *v = &lists[f][i];
				if (!yvalue(b->a, vn, p->type, false, p->name, v,
				    b->diags)) {
					ok = false;
					break;
				}
				if (p->type == PT_TABLE_INDEX &&
				    param_choice(p, v->u.str) < 0) {
					yerror(b->diags, vn, "common: '%s' is "
					    "not a choice of %s", v->u.str,
					    p->name);
					ok = false;
				}
			}
		}
		if (ok)
			common_product(&acc, lists, nvals, 0, row);
	}
done:
	if (acc.overflow)
		yerror(b->diags, common != NULL ? common : node, "common: more "
		    "than %d combinations", MAX_COMMON);
	ps->ncommon = (uint32_t)acc.n;
	if (acc.n != 0) {
		ps->common = arena_array(b->a, acc.n * ps->nfree + 1,
		    sizeof *ps->common);
		memcpy(ps->common, acc.rows,
		    acc.n * ps->nfree * sizeof *ps->common);
	}
	free(acc.rows);
}

static void
check_element(struct builder *b, const struct ynode *node)
{
	static const char *const allowed[] = { "literal", "free", "tables",
	    "tables2d", "types", "defaults", "description", "common", NULL };

	check_keys(b, node, "parameters", allowed);
}

size_t
pset_build(struct arena *a, const struct ynode *node,
    const struct ynode *extra, struct pset *ps, struct diags *diags)
{
	return pset_build_tail(a, node, extra, ps, 0, NULL, diags);
}

size_t
pset_build_tail(struct arena *a, const struct ynode *node,
    const struct ynode *extra, struct pset *ps, size_t tail, void **tailp,
    struct diags *diags)
{
	const struct ynode *nodes[2] = { node, extra };
	struct builder b = {
		.a = a,
		.diags = diags,
		.errors_at_start = diags->nerrors,
		.ps = ps,
	};
	int *freev = xcalloc(PF_MAX_FREE, sizeof *freev);
	size_t nfree = 0;
	struct param *heap_params;
	char *block;

	memset(ps, 0, sizeof *ps);
	ps->free = freev;
	for (int i = 0; i < 2; i++) {
		if (yscalar_is_null(nodes[i]))
			continue;
		if (nodes[i]->kind != Y_MAP) {
			yerror(diags, nodes[i], "parameters: expected a mapping");
			nodes[i] = NULL;
			continue;
		}
		check_element(&b, nodes[i]);
		read_types(&b, nodes[i]);
		if (i == 0)
			b.nclass = ps->nparams;
	}
	for (int i = 0; i < 2; i++) {
		if (yscalar_is_null(nodes[i]))
			continue;
		read_literals(&b, nodes[i]);
		read_free(&b, nodes[i], &freev, &nfree);
		ps->nfree = (uint32_t)nfree;
		read_tables(&b, nodes[i]);
		read_descriptions(&b, nodes[i]);
	}
	ps->nfree = (uint32_t)nfree;
	/* Every parameter gets exactly one value, and every typed name is
	 * used somewhere. */
	for (size_t i = 0; i < ps->nparams; i++) {
		const struct param *p = &ps->params[i];
		if (b.refs[i] == NULL)
			yerror(diags, b.decls[i], "types: '%s' is not a parameter: "
			    "it is neither literal, free, nor in a table",
			    p->name);
		else if (b.assigned[i] == AS_NONE)
			yerror(diags, b.refs[i], "parameter '%s' gets no value: "
			    "make it free or literal, or a table column",
			    p->name);
	}
	for (size_t f = 0; f < ps->nfree; f++) {
		struct param *p = &ps->params[ps->free[f]];
		if (ptype_discrete(p->type))
			compute_choices(&b, ps->free[f], b.decls[ps->free[f]]);
	}
	set_type_defaults(ps);
	for (int i = 0; i < 2; i++) {
		if (!yscalar_is_null(nodes[i]))
			read_defaults(&b, nodes[i], i == 1);
	}
	fix_index_defaults(&b);
	/* Common combinations belong to the class; the base's extra
	 * parameters take their defaults in them. */
	if (!yscalar_is_null(nodes[0]))
		read_common(&b, nodes[0]);
	else if (ps->nfree == 0 || pset_ndiscrete(ps) == ps->nfree) {
		struct ynode empty = { .kind = Y_MAP };
		read_common(&b, &empty);
	}
	free(b.assigned);
	free(b.refs);
	free(b.decls);
	if (b.tabs.ntables + b.tabs.ntables2d != 0) {
		struct ptables *tabs = arena_alloc(a, sizeof *tabs);
		tabs->ntables = b.tabs.ntables;
		tabs->ntables2d = b.tabs.ntables2d;
		tabs->tables = arena_array(a, tabs->ntables ? tabs->ntables :
		    1, sizeof *tabs->tables);
		if (tabs->ntables != 0)
			memcpy(tabs->tables, b.tabs.tables, tabs->ntables *
			    sizeof *tabs->tables);
		tabs->tables2d = arena_array(a, tabs->ntables2d ?
		    tabs->ntables2d : 1, sizeof *tabs->tables2d);
		if (tabs->ntables2d != 0)
			memcpy(tabs->tables2d, b.tabs.tables2d,
			    tabs->ntables2d * sizeof *tabs->tables2d);
		ps->tabs = tabs;
	}
	free(b.tabs.tables);
	free(b.tabs.tables2d);
	/* the arrays grown on the heap go into the arena at their size, in
	 * one block with the caller's tail: the parameters, the tail, the
	 * free indices (a library of many small classes pays for what they
	 * hold only, without an allocation's rounding for each array) */
	heap_params = ps->params;
	tail = (tail + 7) & ~(size_t)7;
	block = arena_alloc(a, ps->nparams * sizeof *ps->params + tail +
	    ps->nfree * sizeof *ps->free);
	ps->params = (struct param *)block;
	if (ps->nparams != 0)
		memcpy(ps->params, heap_params, ps->nparams *
		    sizeof *ps->params);
	free(heap_params);
	block += ps->nparams * sizeof *ps->params;
	if (tailp != NULL)
		*tailp = tail != 0 ? block : NULL;
	ps->free = (int *)(block + tail);
	if (ps->nfree != 0)
		memcpy(ps->free, freev, ps->nfree * sizeof *ps->free);
	free(freev);
	return diags->nerrors - b.errors_at_start;
}


