/* exec.h -- making a part in a job's scratch directory: its engine's run,
 * then the converter when the format is reached through one. */
#ifndef PARTSFS_EXEC_H
#define PARTSFS_EXEC_H

#include "partsfs/make/engine.h"
#include "partsfs/make/plan.h"

/*
 * Run the plan's engine (and the converter) in `scratch`, check the result
 * and copy it into *out, a new file of partsfs's own beside `scratch`
 * (caller frees the path, and removes the file when it does not publish
 * it).  0, or -EIO with `fail` filled.
 */
int exec_run(const struct exec_env *env, const struct plan *plan,
    const char *scratch, char **out, struct engine_failure *fail);

#endif
