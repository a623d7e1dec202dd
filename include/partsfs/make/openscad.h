/* openscad.h -- the openscad executor: the preludes a module file is
 * given (configured, or BOLTS's own helpers), a part's values as OpenSCAD
 * literals, and a run of openscad on a wrapper that uses a scratch
 * library of the preludes and the module file and calls the module. */
#ifndef PARTSFS_OPENSCAD_H
#define PARTSFS_OPENSCAD_H

#include "partsfs/make/engine.h"
#include "partsfs/make/plan.h"
#include "partsfs/util/value.h"

/* A value as an OpenSCAD literal, never code: numbers and booleans in
 * their canonical text, strings quoted with every quote, backslash and
 * control byte escaped, null as undef.  Caller frees. */
char *openscad_literal(const struct value *v);

/*
 * Add the preludes of an OpenSCAD part to plan `p`, as sources whose bytes
 * go into its key: the files of executors.openscad.include when the
 * configuration has that key (even empty), labelled "include" (relative
 * ones beneath env->root); else, when the library at env->root has
 * BOLTS's helpers where a checkout keeps them (backends/openscad/
 * common.scad and conf.scad, and local.scad when it is there), those,
 * labelled "helper"; else none.  0, or -EXDEV with `e` set when a
 * relative prelude or a helper leads out of the library.  Thread-safe.
 */
int openscad_preludes(const struct exec_env *env, struct plan *p,
    struct perr *e);

/*
 * Make the plan's part with openscad into `output` (its native format),
 * in `scratch`: 0, or -EIO with `fail` filled.  The module file and the
 * preludes (the plan's "include" or "helper" sources; with helpers, the
 * functions of BOLTS's version.scad too) are included by a scratch
 * lib.scad, which the wrapper part.scad uses and calls the module from:
 * nothing at the top level of those files reaches the part.
 */
int openscad_run(const struct exec_env *env, const struct plan *p,
    const char *scratch, const char *output, struct engine_failure *fail);

#endif
