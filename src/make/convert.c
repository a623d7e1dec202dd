/* convert.c -- the converter of a format chain: partsfs-convert (with
 * libassimp) turns an engine's STL into another format, glTF binary. */
#include "config.h"

#include <stdlib.h>

#include "partsfs/make/convert.h"
#include "partsfs/make/engine.h"
#include "partsfs/make/version.h"

int
convert_run(const struct exec_env *env, const struct plan *p,
    const char *scratch, const char *in, const char *out,
    struct engine_failure *fail)
{
	char *program;
	const char *argv[4];
	struct engine_env ev;
	struct engine_view vw;
	int r;

	if ((program = version_program(env->versions, env->conf->converter,
	    false)) == NULL)
		return engine_fail(fail, NULL, "the converter %s is not "
		    "installed", env->conf->converter);
	argv[0] = program;
	argv[1] = in;
	argv[2] = out;
	argv[3] = NULL;
	engine_env_init(&ev, scratch);
	engine_view_init(&vw, env->root, scratch);
	engine_view_add(&vw, program);
	r = engine_run(env->conf, env->sandbox, &vw.view, "partsfs-convert",
	    argv, &ev, scratch, p->fmt, out, fail);
	engine_view_free(&vw);
	engine_env_free(&ev);
	free(program);
	return r;
}
