/* params.c -- parameter collection: lookups in a parameter set, and the
 * value of every parameter from the values of the free ones, as the BOLTS
 * specification defines it. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "partsfs/model/params.h"


int
pset_find(const struct pset *ps, const char *name)
{
	for (size_t i = 0; i < ps->nparams; i++) {
		if (strcmp(ps->params[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

size_t
pset_ndiscrete(const struct pset *ps)
{
	size_t n = 0;

	for (size_t i = 0; i < ps->nfree; i++) {
		if (ptype_discrete(ps->params[ps->free[i]].type))
			n++;
	}
	return n;
}

/* Row keys sorted by `order`, for sorted_find. */
struct sorted_keys {
	const char **keys;
	const uint32_t *order;
};

static const char *
sorted_key_at(const void *ctx, size_t i)
{
	const struct sorted_keys *k = ctx;

	return k->keys[k->order[i]];
}

static int
row_search(const char **keys, const uint32_t *order, size_t n,
    const char *key)
{
	struct sorted_keys k = { keys, order };
	ssize_t i = sorted_find(n, key, sorted_key_at, &k, strcmp);

	return i < 0 ? -1 : (int)order[i];
}

int
table_row(const struct table *t, const char *key)
{
	return row_search(t->keys, t->order, t->nrows, key);
}

int
table2d_row(const struct table2d *t, const char *key)
{
	return row_search(t->rowkeys, t->order, t->nrows, key);
}

int
table2d_col(const struct table2d *t, const char *key)
{
	for (size_t i = 0; i < t->ncols; i++) {
		if (strcmp(t->colkeys[i], key) == 0)
			return (int)i;
	}
	return -1;
}

static const char *
choice_at(const void *ctx, size_t i)
{
	const struct param *p = ctx;

	return p->choices[i];
}

int
param_choice(const struct param *p, const char *key)
{
	/* choices are in natural order, a total order */
	return (int)sorted_find(p->nchoices, key, choice_at, p, natcmp);
}

static int
each_from(const struct pset *ps, size_t f, struct value *freev,
    int (*fn)(void *, const struct value *), void *ctx, size_t *count)
{
	const struct param *p;
	int r;

	if (f == ps->nfree) {
		(*count)++;
		return fn(ctx, freev);
	}
	p = &ps->params[ps->free[f]];
	if (!ptype_discrete(p->type)) {
		freev[f].kind = V_NULL;
		return each_from(ps, f + 1, freev, fn, ctx, count);
	}
	for (size_t c = 0; c < p->nchoices; c++) {
		if (p->type == PT_BOOL) {
			freev[f].kind = V_BOOL;
			freev[f].u.b = c == 1;
		} else {
			freev[f].kind = V_STR;
			freev[f].u.str = p->choices[c];
		}
		if ((r = each_from(ps, f + 1, freev, fn, ctx, count)) != 0)
			return r;
	}
	return 0;
}

int
pset_each_combination(const struct pset *ps,
    int (*fn)(void *, const struct value *), void *ctx, size_t *count)
{
	struct value freev[PF_MAX_FREE];
	size_t n = 0;
	int r = each_from(ps, 0, freev, fn, ctx, &n);

	if (count != NULL)
		*count = n;
	return r;
}

int
param_no_choice(const struct param *p, const char *key, struct perr *e)
{
	struct buf b = BUF_INIT;
	size_t shown = p->nchoices < 12 ? p->nchoices : 12;
	int r;

	for (size_t i = 0; i < shown; i++) {
		if (i)
			buf_adds(&b, ", ");
		buf_adds(&b, p->choices[i]);
	}
	if (shown < p->nchoices)
		buf_printf(&b, " and %zu more", p->nchoices - shown);
	r = perr_set(e, ENOENT, "%s=%s: not a choice of %s; choose one of %s",
	    p->name, key, p->name, buf_str(&b));
	buf_free(&b);
	return r;
}

int
pset_collect(const struct pset *ps, const struct value *free,
    struct value *out, struct perr *e)
{
	bool done_t[PF_MAX_TABLES] = { false };
	const struct ptables *tabs = ps->tabs;
	size_t ntables = tabs != NULL ? tabs->ntables : 0;
	size_t ntables2d = tabs != NULL ? tabs->ntables2d : 0;
	size_t remaining = ntables;
	int r;

	for (size_t i = 0; i < ps->nparams; i++) {
		out[i].kind = V_NULL;
		if (ps->params[i].has_literal)
			out[i] = ps->params[i].literal;
	}
	for (size_t f = 0; f < ps->nfree; f++) {
		const struct param *p = &ps->params[ps->free[f]];
		struct value v = free != NULL && free[f].kind != V_NULL ?
		    free[f] : p->def;
		if ((r = value_check(p->type, p->name, &v, e)) != 0 ||
		    (r = pset_check_bound(ps, ps->free[f], &v, e)) != 0)
			return r;
		if (p->type == PT_TABLE_INDEX && p->nchoices > 0 &&
		    param_choice(p, v.u.str) < 0)
			return param_no_choice(p, v.u.str, e);
		out[ps->free[f]] = v;
	}
	/* Tables in order; a table whose index comes from a later table is
	 * looked up once that one is done. */
	while (remaining > 0) {
		size_t before = remaining;
		for (size_t t = 0; t < ntables; t++) {
			const struct table *tb = &tabs->tables[t];
			const struct value *key = &out[tb->index];
			int row;
			if (done_t[t] || key->kind != V_STR)
				continue;
			if ((row = table_row(tb, key->u.str)) < 0)
				return perr_set(e, ENOENT, "%s=%s: no row for "
				    "it in the table of %s", ps->params
				    [tb->index].name, key->u.str, ps->params
				    [tb->cols[0]].name);
			for (size_t c = 0; c < tb->ncols; c++)
				out[tb->cols[c]] = tb->cells[(size_t)row *
				    tb->ncols + c];
			done_t[t] = true;
			remaining--;
		}
		if (remaining == before)
			return perr_set(e, ENOENT, "a table index has no value");
	}
	for (size_t t = 0; t < ntables2d; t++) {
		const struct table2d *tb = &tabs->tables2d[t];
		const struct value *rk = &out[tb->row], *ck = &out[tb->col];
		int row, col;
		if (rk->kind != V_STR || ck->kind != V_STR)
			return perr_set(e, ENOENT, "2d table of %s: its indexes "
			    "have no value", ps->params[tb->result].name);
		if ((row = table2d_row(tb, rk->u.str)) < 0)
			return perr_set(e, ENOENT, "%s=%s: no row for it in the "
			    "2d table of %s", ps->params[tb->row].name,
			    rk->u.str, ps->params[tb->result].name);
		if ((col = table2d_col(tb, ck->u.str)) < 0)
			return perr_set(e, ENOENT, "%s=%s: no column for it in "
			    "the 2d table of %s", ps->params[tb->col].name,
			    ck->u.str, ps->params[tb->result].name);
		out[tb->result] = tb->cells[(size_t)row * tb->ncols +
		    (size_t)col];
	}
	/* the free values were checked above; literals and tables now */
	for (size_t i = 0; i < ps->nparams; i++) {
		if (ps->params[i].free_pos < 0 &&
		    (r = pset_check_bound(ps, (int)i, &out[i], e)) != 0)
			return r;
	}
	return 0;
}

int
pset_check_bound(const struct pset *ps, int pi, const struct value *v,
    struct perr *e)
{
	const struct param *p = &ps->params[pi];
	char val[32], max[32];
	double bound = ps->value_max;

	if (bound <= 0 || v->kind != V_NUM)
		return 0;
	switch (p->type) {
	case PT_LENGTH_IN:
		bound /= 25.4;
		break;
	case PT_LENGTH_MM:
	case PT_NUMBER:
		break;
	default:
		return 0;
	}
	if (fabs(v->u.num) <= bound)
		return 0;
	num_canon(v->u.num, val, NULL);
	num_canon(bound, max, NULL);
	return perr_set(e, ENOENT, "%s=%s: beyond %s%s, the largest value "
	    "parts are made with (values.max)", p->name, val, max,
	    p->type == PT_LENGTH_MM ? " mm" : p->type == PT_LENGTH_IN ?
	    " in" : "");
}
