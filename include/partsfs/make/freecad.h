/* freecad.h -- the freecad executor: a job file for our driver script,
 * which runs the BOLTS function under freecadcmd and exports its shapes. */
#ifndef PARTSFS_FREECAD_H
#define PARTSFS_FREECAD_H

#include "partsfs/make/engine.h"
#include "partsfs/make/plan.h"

/* Make the plan's part with freecadcmd and the driver into `output`, in
 * `scratch`: 0, or -EIO with `fail` filled.  The parameters reach the
 * function as JSON data in the job file, never as code. */
int freecad_run(const struct exec_env *env, const struct plan *p,
    const char *scratch, const char *output, struct engine_failure *fail);
/* What the driver of a run in `scratch` wrote of the FreeCAD it ran (the
 * line its version query prints), or NULL when it wrote nothing (it
 * failed before FreeCAD loaded), wrote more than 255 bytes, or left a
 * link or something else that cannot be read.  Caller frees. */
char *freecad_report(const char *scratch);

#endif
