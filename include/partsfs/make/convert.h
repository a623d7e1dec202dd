/* convert.h -- the converter of a format chain: partsfs-convert (with
 * libassimp) turns an engine's STL into another format, glTF binary. */
#ifndef PARTSFS_CONVERT_H
#define PARTSFS_CONVERT_H

#include "partsfs/make/engine.h"
#include "partsfs/make/plan.h"

/* Convert the engine's output `in` into the plan's format at `out`, in
 * `scratch`: 0, or -EIO with `fail` filled. */
int convert_run(const struct exec_env *env, const struct plan *p,
    const char *scratch, const char *in, const char *out,
    struct engine_failure *fail);

#endif
