/* freecad.c -- the freecad executor: a job file for our driver script,
 * which runs the BOLTS function under freecadcmd and exports its shapes,
 * and says on stderr which FreeCAD it ran before the function runs. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partsfs/make/engine.h"
#include "partsfs/make/freecad.h"
#include "partsfs/make/version.h"

/* The file of the scratch directory partsfs writes the run's version line
 * into once the run is over (what the driver prints alone with
 * PARTSFS_VERSION set). */
#define VERSION_REPORT "freecad-version.txt"

/* A line of stderr that is the driver's version mark is not the engine's
 * to report. */
static bool
keep_line(const char *line, size_t len)
{
	size_t n = strlen(VERSION_MARK);

	return len < n || memcmp(line, VERSION_MARK, n) != 0;
}

/*
 * The version the driver wrote on stderr (version_marked), taken only
 * when stderr was kept whole.  The driver writes it before the library's
 * module is loaded, so no code of the library can come before it; a
 * stderr flooded past what is kept may have lost it, and then the run
 * reports nothing (the version is asked instead).
 */
static int
take_version(void *arg, const char *text, bool whole, double elapsed,
    int r, struct engine_failure *fail)
{
	char **version = arg;

	(void)elapsed;
	(void)fail;
	if (whole)
		*version = version_marked(text);
	return r;
}

/* Leave the report of the run in `scratch`: what the engine left under
 * its name removed (it ended: nothing of it runs), then `version` written
 * by partsfs when there is one. */
static void
write_report(const char *scratch, const char *version)
{
	char *path = xasprintf("%s/" VERSION_REPORT, scratch);
	char *line;

	if (unlink(path) == -1 && errno != ENOENT) {
		free(path);
		return;
	}
	if (version != NULL) {
		line = xasprintf("%s\n", version);
		engine_write_file(path, line, strlen(line));
		free(line);
	}
	free(path);
}

int
freecad_run(const struct exec_env *env, const struct plan *p,
    const char *scratch, const char *output, struct engine_failure *fail)
{
	char *jobfile = xasprintf("%s/job.json", scratch);
	char *script_dir = xstrdup(p->script);
	char *version = NULL;
	const struct engine_judge judge = {
		.keep = keep_line,
		.verdict = take_version,
		.arg = &version,
	};
	const char *argv[4];
	char *text;
	json_t *job, *params;
	struct engine_env ev;
	struct engine_view vw;
	int r;

	*strrchr(script_dir, '/') = '\0';
	params = json_deep_copy(p->params);
	json_object_set_new(params, "name", json_string(p->label));
	job = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:b}",
	    "module_file", p->script,
	    "module_dir", script_dir,
	    "function", p->entry,
	    "params", params,
	    "label", p->label,
	    "format", format_ext(p->native),
	    "output", output,
	    /* asked only of the first run of a FreeCAD the cache does
	     * not know (plan_version_reported reads it then) */
	    "report_version", p->version_pending);
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
	r = engine_run_judged(env->conf, env->sandbox, &vw.view, "freecad",
	    argv, &ev, scratch, p->native, output,
	    p->version_pending ? &judge : NULL, fail);
	if (p->version_pending)
		write_report(scratch, version);
	engine_view_free(&vw);
	engine_env_free(&ev);
out:
	free(version);
	free(text);
	free(jobfile);
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
