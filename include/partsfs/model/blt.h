/* blt.h -- reading a collection's blt file: the collection header and its
 * classes (names, standards, labels, parameters), checked against every
 * rule of the BOLTS specification. */
#ifndef PARTSFS_BLT_H
#define PARTSFS_BLT_H

#include <stdbool.h>

#include "partsfs/model/library.h"
#include "partsfs/util/diag.h"
#include "partsfs/util/ydoc.h"

/* Ids: letters, digits and underscores, not empty. */
bool id_valid(const char *id);

/* Warn when a license is not one the specification lists. */
void check_license(struct diags *d, const struct ynode *n, const char *s);

/* Read the collection header and classes from the blt document `root`
 * into `coll` (whose arena is set).  `stem` is the file name without .blt.
 * Every problem goes to `d`; false when the document is unusable. */
bool blt_read(struct collection *coll, const struct ynode *root,
    const char *stem, struct diags *d);

#endif
