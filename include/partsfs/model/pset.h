/* pset.h -- building a parameter set from a `parameters` element: types,
 * literals, tables, 2d tables, choices, defaults and common
 * combinations, checked against the BOLTS specification. */
#ifndef PARTSFS_PSET_H
#define PARTSFS_PSET_H

#include <stddef.h>

#include "partsfs/model/params.h"
#include "partsfs/util/diag.h"
#include "partsfs/util/util.h"
#include "partsfs/util/ydoc.h"

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

/* The same, with `tail` bytes more (zeroed, 8-aligned) in the block that
 * holds the set's parameters, for the caller's own arrays: *tailp (NULL
 * when `tail` is 0).  A class's names and standards go there, one
 * allocation for the fixed parts of a class. */
size_t pset_build_tail(struct arena *a, const struct ynode *node,
    const struct ynode *extra, struct pset *ps, size_t tail, void **tailp,
    struct diags *diags);

#endif
