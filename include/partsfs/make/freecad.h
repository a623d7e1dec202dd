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
/* The version line of the FreeCAD a run in `scratch` ran (what its
 * version query answers), as freecad_run left it there for a plan whose
 * version was pending, from the first marked line of the run's stderr,
 * which the driver writes before any code of the library runs; NULL when
 * there is none (the version was not pending, the run failed
 * before FreeCAD loaded, or its stderr was flooded past what is kept),
 * or when the file is more than 255 bytes, a link, or something else
 * that cannot be read.  Caller frees. */
char *freecad_report(const char *scratch);

#endif
