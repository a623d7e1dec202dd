/* freecad.c -- the freecad executor: a job file for our driver script,
 * which runs the BOLTS function under freecadcmd and exports its shapes,
 * and writes the FreeCAD version it ran beside them. */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "partsfs/make/engine.h"
#include "partsfs/make/freecad.h"

/* The file of the scratch directory the driver writes its version line
 * into (what it prints alone with PARTSFS_VERSION set). */
#define VERSION_REPORT "freecad-version.txt"

int
freecad_run(const struct exec_env *env, const struct plan *p,
    const char *scratch, const char *output, struct engine_failure *fail)
{
	char *jobfile = xasprintf("%s/job.json", scratch);
	char *report = xasprintf("%s/" VERSION_REPORT, scratch);
	char *script_dir = xstrdup(p->script);
	const char *argv[4];
	char *text;
	json_t *job, *params;
	struct engine_env ev;
	struct engine_view vw;
	int r;

	*strrchr(script_dir, '/') = '\0';
	params = json_deep_copy(p->params);
	json_object_set_new(params, "name", json_string(p->label));
	job = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s}",
	    "module_file", p->script,
	    "module_dir", script_dir,
	    "function", p->entry,
	    "params", params,
	    "label", p->label,
	    "format", format_ext(p->native),
	    "output", output,
	    "version_out", report);
	text = json_dumps(job, JSON_INDENT(2));
	json_decref(job);
	if ((r = engine_write_file(jobfile, text, strlen(text))) != 0) {
		r = engine_fail(fail, NULL, "freecad: cannot write %s: %s",
		    jobfile, strerror(-r));
		goto out;
	}
	engine_env_init(&ev, scratch);
	engine_env_add(&ev, xasprintf("PARTSFS_JOB=%s", jobfile));
	argv[0] = p->program;
	argv[1] = env->conf->freecad_driver;
	argv[2] = NULL;
	engine_view_init(&vw, env->root, scratch);
	engine_view_add(&vw, p->program);
	engine_view_add(&vw, env->conf->freecad_driver);
	r = engine_run(env->conf, env->sandbox, &vw.view, "freecad", argv, &ev,
	    scratch, p->native, output, fail);
	engine_view_free(&vw);
	engine_env_free(&ev);
out:
	free(text);
	free(jobfile);
	free(report);
	free(script_dir);
	return r;
}

char *
freecad_report(const char *scratch)
{
	char *path = xasprintf("%s/" VERSION_REPORT, scratch);
	/* the engine's file: not followed if it is a link, not waited on
	 * if it is a FIFO, and no longer than a version line can be */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	free(path);
	return fd == -1 ? NULL : read_all_close(fd, 255);
}
