/* exec.c -- making a part in a job's scratch directory: its engine's run,
 * then the converter when the format is reached through one. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "partsfs/make/command.h"
#include "partsfs/make/convert.h"
#include "partsfs/make/exec.h"
#include "partsfs/make/freecad.h"
#include "partsfs/make/openscad.h"

int
exec_run(const struct exec_env *env, const struct plan *plan,
    const char *scratch, char **out, struct engine_failure *fail)
{
	char *native = xasprintf("%s/out.%s", scratch,
	    format_ext(plan->native));
	int r;

	memset(fail, 0, sizeof *fail);
	*out = NULL;
	switch (plan->kind) {
	case GEN_OPENSCAD:
		r = openscad_run(env, plan, scratch, native, fail);
		break;
	case GEN_FREECAD:
		r = freecad_run(env, plan, scratch, native, fail);
		break;
	default:
		r = command_run(env, plan, scratch, native, fail);
		break;
	}
	if (r == 0 && plan->convert) {
		char *final = xasprintf("%s/final.%s", scratch,
		    format_ext(plan->fmt));
		engine_failure_clear(fail);
		r = convert_run(env, plan, scratch, native, final, fail);
		free(native);
		native = final;
	}
	if (r == 0) {
		/* nothing of the job runs any more: what it wrote is copied
		 * into a file of partsfs's own, beside its scratch directory
		 * (in the cache's scratch space, where publishing takes it) */
		*out = xasprintf("%s.%s", scratch, format_ext(plan->fmt));
		if ((r = engine_keep(plan->convert ? "partsfs-convert" :
		    generator_name(plan->kind), native, plan->fmt,
		    env->conf->output_max, *out, fail)) != 0) {
			free(*out);
			*out = NULL;
		}
	}
	free(native);
	return r;
}
