/* command.h -- the command executor: any configured engine, run from an
 * argv template with the script, a JSON file of the parameters, the
 * output path, the format and the scratch directory as placeholders. */
#ifndef PARTSFS_COMMAND_H
#define PARTSFS_COMMAND_H

#include "partsfs/make/engine.h"
#include "partsfs/make/plan.h"

/* Make the plan's part with its command into `output`, in `scratch`: 0,
 * or -EIO with `fail` filled.  Each argv element is expanded on its own,
 * no shell reads it; the parameters go in a JSON file ({params}). */
int command_run(const struct exec_env *env, const struct plan *p,
    const char *scratch, const char *output, struct engine_failure *fail);

#endif
