/* label.h -- labels of parts and BOLTS's safe names: expanding a class's
 * labeling templates with a part's values, and sanitising nice names into
 * safe identifiers and templates. */
#ifndef PARTSFS_LABEL_H
#define PARTSFS_LABEL_H

#include <stdbool.h>

#include "partsfs/model/library.h"
#include "partsfs/model/params.h"
#include "partsfs/util/util.h"
#include "partsfs/util/value.h"

/* The label of a part: the first standard's labeling if the class has a
 * standard, else the first name's, else the class id.  `vals` holds one
 * value per parameter of `ps`. */
void class_label(const struct pclass *cls, const struct pset *ps,
    const struct value *vals, bool safe, struct buf *out);
/* Expand one template. */
void subst_expand(const char *tmpl, const struct pset *ps,
    const struct value *vals, bool safe, struct buf *out);

/* BOLTS's sanitising of a nice name into a safe identifier (interned
 * in `a` while it interns: one copy of a name several classes share). */
const char *ident_sanitize(struct arena *a, const char *nice);
/* ... and into a safe labeling template. */
const char *subst_sanitize(struct arena *a, const char *nice);

#endif
