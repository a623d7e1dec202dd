/* openscad.h -- the openscad executor: a part's values as OpenSCAD
 * literals, and a run of openscad on a wrapper that includes the preludes
 * and the module file and calls the module with them. */
#ifndef PARTSFS_OPENSCAD_H
#define PARTSFS_OPENSCAD_H

#include "partsfs/make/engine.h"
#include "partsfs/make/plan.h"
#include "partsfs/util/value.h"

/* A value as an OpenSCAD literal, never code: numbers and booleans in
 * their canonical text, strings quoted with every quote, backslash and
 * control byte escaped, null as undef.  Caller frees. */
char *openscad_literal(const struct value *v);

/* Make the plan's part with openscad into `output` (its native format),
 * in `scratch`: 0, or -EIO with `fail` filled. */
int openscad_run(const struct exec_env *env, const struct plan *p,
    const char *scratch, const char *output, struct engine_failure *fail);

#endif
