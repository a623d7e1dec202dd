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

#endif
