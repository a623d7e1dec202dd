/* basefile.h -- reading a collection's .base files: the OpenSCAD modules,
 * FreeCAD functions, drawings and command scripts of its databases, bound
 * to its classes. */
#ifndef PARTSFS_BASEFILE_H
#define PARTSFS_BASEFILE_H

#include "partsfs/model/library.h"
#include "partsfs/util/conf.h"
#include "partsfs/util/diag.h"
#include "partsfs/util/ydoc.h"

/* Read the collection's .base files of the openscad, freecad and drawings
 * databases (and those of the command executors `conf` names) under
 * `root`, and bind their modules, functions, drawings and scripts to the
 * classes.  Every problem goes to `d`. */
void bases_read(struct collection *coll, const char *root,
    const struct conf *conf, const struct ydoc_limits *limits,
    struct diags *d);

#endif
