/* command.c -- the command executor: any configured engine, run from an
 * argv template with the script, a JSON file of the parameters, the
 * output path, the format and the scratch directory as placeholders. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "partsfs/make/command.h"
#include "partsfs/make/engine.h"

/* Replace the placeholders of one argv element. */
static char *
expand_arg(const char *tmpl, const char *const keys[],
    const char *const vals[])
{
	struct buf b = BUF_INIT;

	for (const char *s = tmpl; *s;) {
		bool done = false;
		for (size_t k = 0; keys[k] != NULL && !done; k++) {
			size_t len = strlen(keys[k]);
			if (strncmp(s, keys[k], len) == 0) {
				buf_adds(&b, vals[k]);
				s += len;
				done = true;
			}
		}
		if (!done)
			buf_addc(&b, *s++);
	}
	return buf_steal(&b);
}

int
command_run(const struct exec_env *env, const struct plan *p,
    const char *scratch, const char *output, struct engine_failure *fail)
{
	const struct conf_command *cmd = p->cmd;
	char *pfile = xasprintf("%s/params.json", scratch);
	const char *const keys[] = { "{script}", "{params}", "{output}",
	    "{format}", "{scratch}", NULL };
	const char *vals[] = { p->script, pfile, output,
	    format_ext(p->native), scratch };
	char **argv = xcalloc(cmd->argc + 1, sizeof *argv);
	struct engine_env ev;
	struct engine_view vw;
	json_t *j;
	char *text;
	int r;

	j = json_pack("{s:O, s:s, s:s, s:s, s:s}", "params", p->params,
	    "label", p->label, "format", format_ext(p->native),
	    "class", p->cls, "collection", p->coll);
	text = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	if ((r = engine_write_file(pfile, text, strlen(text))) != 0) {
		r = engine_fail(fail, NULL, "%s: cannot write %s: %s", cmd->name,
		    pfile, strerror(-r));
		goto out;
	}
	argv[0] = xstrdup(p->program);
	for (size_t i = 1; i < cmd->argc; i++)
		argv[i] = expand_arg(cmd->argv[i], keys, vals);
	engine_env_init(&ev, scratch);
	engine_view_init(&vw, env->root, scratch);
	engine_view_add(&vw, p->program);
	r = engine_run(env->conf, env->sandbox, &vw.view, cmd->name,
	    (const char *const *)argv, &ev, scratch, p->native, output, fail);
	engine_view_free(&vw);
	engine_env_free(&ev);
out:
	for (size_t i = 0; i < cmd->argc; i++)
		free(argv[i]);
	free(argv);
	free(text);
	free(pfile);
	return r;
}
