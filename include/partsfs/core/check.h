/* check.h -- what partsctl check asks of the engines: each OpenSCAD
 * module file of a library parsed by OpenSCAD, and the default part of
 * each of its classes evaluated, in the sandbox, without a render. */
#ifndef PARTSFS_CHECK_H
#define PARTSFS_CHECK_H

#include "partsfs/model/library.h"
#include "partsfs/util/conf.h"

/*
 * Try the OpenSCAD module files of `lib` (those a class is made from)
 * with the engine, preludes, limits and sandbox of `conf`, adding what
 * they show to lib->diags:
 *
 * - a file OpenSCAD cannot parse: an error at the line it names;
 * - a statement at a file's top level that is neither a definition nor
 *   an assignment (what would draw in every part of a file including
 *   it; partsfs uses the file, so it never does): a warning;
 * - what OpenSCAD says evaluating the default part of each class (one
 *   run per file, no render): an unknown module or function, a file it
 *   cannot open, an ECHO "BOLTS Error:" or an ERROR of its own is an
 *   error (a warning when executors.openscad.allow-warnings allows its
 *   kind); an unknown variable a warning, which says whether parts fail
 *   for it.
 *
 * Returns one line for the user saying what was tried and how long it
 * took, or why nothing was (OpenSCAD not installed, no sandbox); caller
 * frees.  Runs engines on the caller's thread; not thread-safe for one
 * `lib`.
 */
char *check_openscad(struct library *lib, const struct conf *conf);

#endif
