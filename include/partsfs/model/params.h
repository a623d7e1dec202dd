/* params.h -- parameter sets and parameter collection: from values of the
 * free parameters to a value for every parameter (literals, table and
 * table2d lookups), exactly as the BOLTS spec defines it. */
#ifndef PARTSFS_PARAMS_H
#define PARTSFS_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include <stdint.h>

#include "partsfs/util/util.h"
#include "partsfs/util/value.h"
#include "partsfs/util/ydoc.h"

/* Limits that keep every part of the tree bounded. */
#define PF_MAX_FREE 32          /* free parameters of one class */
#define PF_MAX_TABLES 64        /* tables of one parameter set */
#define PF_NAME_MAX 255         /* bytes of one name in the tree (NAME_MAX) */

/* One parameter of a parameter set (64 bytes: a library holds one per
 * parameter of each of its classes). */
struct param {
	const char *name;
	const char *description;      /* NULL when none */
	/* Discrete free parameters: their choices.  Table Index: the keys
	 * common to every table using it, natural order.  Bool: false, true. */
	const char **choices;
	struct value def;             /* default (free parameters) */
	struct value literal;
	uint32_t nchoices;
	enum ptype type : 8;
	int8_t free_pos;              /* position in pset.free, -1 if not free
	                               * (PF_MAX_FREE fits) */
	bool has_literal;
};

/* A table: the row chosen by the value of `index` gives values to the
 * `cols` parameters. */
struct table {
	int index;                    /* parameter index */
	size_t ncols;
	int *cols;                    /* parameter indices */
	size_t nrows;
	const char **keys;            /* file order */
	uint32_t *order;              /* rows sorted by key, for lookups */
	struct value *cells;          /* nrows * ncols */
};

/* A 2d table: row by `row`, column by `col`, value for `result`. */
struct table2d {
	int row, col, result;         /* parameter indices */
	size_t ncols;
	const char **colkeys;
	size_t nrows;
	const char **rowkeys;
	uint32_t *order;
	struct value *cells;          /* nrows * ncols */
};

/* The tables of a parameter set (most classes have none). */
struct ptables {
	uint32_t ntables;             /* at most PF_MAX_TABLES */
	uint32_t ntables2d;
	struct table *tables;
	struct table2d *tables2d;
};

/* A parameter set: the `parameters` element of a class (or the union of a
 * class's and a base module's).  56 bytes, in each class. */
struct pset {
	struct param *params;
	int *free;                    /* parameter indices, `free` order */
	const struct ptables *tabs;   /* NULL when it has no table */
	/* Expanded common combinations: ncommon rows of nfree values. */
	struct value *common;
	/* The largest magnitude of a Length (mm) or Number value, and of a
	 * Length (in) times 25.4 (values.max); 0: no bound. */
	double value_max;
	uint32_t nparams;
	uint32_t nfree;               /* at most PF_MAX_FREE */
	uint32_t ncommon;             /* at most 200000 (pset.c) */
};

/* Index of the parameter called `name`, or -1. */
int pset_find(const struct pset *ps, const char *name);
/* Number of discrete free parameters; they come first in the tree. */
size_t pset_ndiscrete(const struct pset *ps);


/*
 * Whether value `v` of parameter `pi` is within ps->value_max (a value
 * not numeric is): 0, or -ENOENT with a message naming the parameter, the
 * value and the bound.  Engines lose geometry far beyond any real part
 * (OpenSCAD drops a 1e13 mm shank, FreeCAD fails from 1e10), so such a
 * part does not exist.
 */
int pset_check_bound(const struct pset *ps, int pi, const struct value *v,
    struct perr *e);

/*
 * Collect every parameter of `ps`.  `free` holds ps->nfree values in `free`
 * order; an entry of kind V_NULL takes the parameter's default.  On success
 * `out` (ps->nparams values) holds the collected set: literals, free
 * values, then table columns in table order, then table2d results (a
 * table2d result wins over a table column, as real BOLTS data needs).
 * A missing table row (a Table Index value that is not a choice) is
 * -ENOENT; a free value that fails its type or range check is -EINVAL;
 * a collected value beyond the bound (pset_check_bound) is -ENOENT.
 * Strings in `out` point into `ps` or into `free`'s strings.
 * Thread-safe: `ps` is only read.
 */
int pset_collect(const struct pset *ps, const struct value *free,
    struct value *out, struct perr *e);

/*
 * Call fn(ctx, free) for every combination of the choices of the discrete
 * free parameters of `ps`, the other free parameters left at V_NULL (their
 * defaults).  `free` holds ps->nfree values and is only valid during the
 * call.  A non-zero return stops the walk and is returned; otherwise 0.
 * *count (may be NULL) receives the number of combinations visited.
 */
int pset_each_combination(const struct pset *ps,
    int (*fn)(void *ctx, const struct value *free), void *ctx,
    size_t *count);

/* Index of `key` among the choices of discrete free parameter `pi`, or -1. */
int param_choice(const struct param *p, const char *key);

/* Set `e` to ENOENT saying that `key` is not a choice of `p` and listing
 * (the first dozen of) its choices; returns -ENOENT. */
int param_no_choice(const struct param *p, const char *key, struct perr *e);

/* Row of `key` in a table (binary search), or -1. */
int table_row(const struct table *t, const char *key);
int table2d_row(const struct table2d *t, const char *key);
int table2d_col(const struct table2d *t, const char *key);

#endif
