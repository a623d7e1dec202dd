/* params.h -- parameter collection: from values of the free parameters to a
 * value for every parameter (literals, table and table2d lookups), exactly
 * as the BOLTS spec defines it. */
#ifndef PARTSFS_PARAMS_H
#define PARTSFS_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "partsfs/model/library.h"
#include "partsfs/util/util.h"
#include "partsfs/util/value.h"

/*
 * Collect every parameter of `ps`.  `free` holds ps->nfree values in `free`
 * order; an entry of kind V_NULL takes the parameter's default.  On success
 * `out` (ps->nparams values) holds the collected set: literals, free
 * values, then table columns in table order, then table2d results (a
 * table2d result wins over a table column, as real BOLTS data needs).
 * A missing table row (a Table Index value that is not a choice) is
 * -ENOENT; a free value that fails its type or range check is -EINVAL.
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

/*
 * Build a parameter set from up to two `parameters` elements (a class's,
 * and optionally a base module's additional parameters: their union, as
 * BOLTS takes it).  Either node may be NULL.  Every problem goes to
 * `diags`; the set is usable (possibly with fewer parameters) even when
 * errors were reported.  Allocates in `a`.  Returns the number of errors
 * added.
 */
size_t pset_build(struct arena *a, const struct ynode *node,
    const struct ynode *extra, struct pset *ps, struct diags *diags);

/* Read a YAML scalar as a value of type `t`.  Unquoted None and null are
 * V_NULL when `allow_none`.  Adds an error naming `what` and returns false
 * when the node does not fit the type. */
bool yvalue(struct arena *a, const struct ynode *n, enum ptype t,
    bool allow_none, const char *what, struct value *out,
    struct diags *diags);

/* The text of a scalar node, or NULL (with an error naming `what`) when it
 * is not a scalar or contains a NUL byte. */
const char *ytext(const struct ynode *n, const char *what,
    struct diags *diags);

/* A node that may be one element or a list of elements: the number of
 * elements, and the i-th. */
size_t ylist_len(const struct ynode *n);
const struct ynode *ylist_at(const struct ynode *n, size_t i);

/* Report an error at a node's position. */
void yerror(struct diags *d, const struct ynode *n, const char *fmt, ...)
    PF_PRINTF(3, 4);
void ywarn(struct diags *d, const struct ynode *n, const char *fmt, ...)
    PF_PRINTF(3, 4);

/* Table Index keys may not hold / \ ? * : | " ' < > or control bytes. */
bool key_valid(const char *key);

#endif
