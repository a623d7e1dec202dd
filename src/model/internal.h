/* internal.h -- helpers shared by the files of the library loader; not part
 * of the core's public interface. */
#ifndef PARTSFS_INTERNAL_H
#define PARTSFS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "partsfs/util/diag.h"
#include "partsfs/model/library.h"
#include "partsfs/util/ydoc.h"

/* Ids: letters, digits and underscores, not empty. */
bool id_valid(const char *id);

/* Warn when a license is not one the specification lists. */
void check_license(struct diags *d, const struct ynode *n, const char *s);

/* A string or a list of strings, copied into `a`. */
const char **read_strings(struct arena *a, const struct ynode *n,
    size_t *count, const char *what, struct diags *d);

/* Warn about keys of mapping `el` that are not in `allowed` (NULL-ended). */
void check_known_keys(struct diags *d, const struct ynode *el,
    const char *what, const char *const *allowed);

/* A mandatory text value (NULL with an error when missing) and an optional
 * one (NULL when absent), copied into `a`. */
const char *need_text(struct arena *a, const struct ynode *el,
    const char *key, const char *what, struct diags *d);
const char *opt_text(struct arena *a, const struct ynode *el,
    const char *key, struct diags *d);

/* Read the collection header and classes from the blt document `root`
 * into `coll` (whose arena is set).  `stem` is the file name without .blt. */
bool blt_read(struct collection *coll, const struct ynode *root,
    const char *stem, struct diags *d);

/* Read the collection's .base files of the openscad, freecad and drawings
 * databases under `root` and bind their modules, functions and drawings to
 * the classes. */
void bases_read(struct collection *coll, const char *root,
    const struct conf *conf, const struct ydoc_limits *limits,
    struct diags *d);

/* Newer of two times. */
void timespec_max(struct timespec *acc, const struct timespec *t);

/* Choose the cheapest chain for every format of a class under `conf`
 * (NULL: defaults), setting cls->makers and cls->formats. */
void class_makers(struct pclass *cls, const struct conf *conf);

#endif
