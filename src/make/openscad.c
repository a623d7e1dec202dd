/* openscad.c -- the openscad executor: a part's values as OpenSCAD
 * literals, and a run of openscad on a wrapper that includes the preludes
 * and the module file and calls the module with them. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partsfs/make/engine.h"
#include "partsfs/make/openscad.h"
#include "partsfs/make/version.h"

/* An OpenSCAD literal for a value: strings escaped, null as undef. */
char *
openscad_literal(const struct value *v)
{
	struct buf b = BUF_INIT;

	switch (v->kind) {
	case V_NULL:
		buf_adds(&b, "undef");
		break;
	case V_NUM:
	case V_BOOL:
		value_canon(v, &b);
		break;
	case V_STR:
		buf_addc(&b, '"');
		for (const unsigned char *s = (const unsigned char *)v->u.str;
		    *s; s++) {
			switch (*s) {
			case '"':
				buf_adds(&b, "\\\"");
				break;
			case '\\':
				buf_adds(&b, "\\\\");
				break;
			case '\n':
				buf_adds(&b, "\\n");
				break;
			case '\t':
				buf_adds(&b, "\\t");
				break;
			case '\r':
				buf_adds(&b, "\\r");
				break;
			default:
				if (*s < 0x20 || *s == 0x7f)
					buf_printf(&b, "\\x%02x", *s);
				else
					buf_addc(&b, (char)*s);
			}
		}
		buf_addc(&b, '"');
		break;
	}
	return buf_steal(&b);
}

int
openscad_run(const struct exec_env *env, const struct plan *p,
    const char *scratch, const char *output, struct engine_failure *fail)
{
	const struct conf *conf = env->conf;
	char *wrapper = xasprintf("%s/part.scad", scratch);
	char *oarg = xasprintf("%s", output);
	const char *argv[32];
	char *wrapped = NULL;
	struct buf b = BUF_INIT;
	struct engine_env ev;
	struct engine_view vw;
	size_t n = 0;
	bool display;
	int r;

	/* The wrapper: preludes and module file included, the module called
	 * with literals.  Values are OpenSCAD literals, never code. */
	buf_printf(&b, "// made by partsfs for %s\n", p->path);
	for (size_t i = 0; i < conf->nopenscad_include; i++) {
		const char *inc = conf->openscad_include[i];
		if (inc[0] == '/')
			buf_printf(&b, "include <%s>\n", inc);
		else
			buf_printf(&b, "include <%s/%s>\n", env->root, inc);
	}
	buf_printf(&b, "include <%s>\n%s(", p->script, p->entry);
	for (size_t i = 0; i < p->nargs; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", p->args[i]);
	buf_adds(&b, ");\n");
	if (strpbrk(p->script, "<>") != NULL) {
		/* include <...> cannot quote them */
		r = engine_fail(fail, NULL, "openscad: cannot include %s: its "
		    "path holds '<' or '>'", p->script);
		goto out;
	}
	if ((r = engine_write_file(wrapper, b.p, b.len)) != 0) {
		r = engine_fail(fail, NULL, "openscad: cannot write %s: %s",
		    wrapper, strerror(-r));
		goto out;
	}
	engine_env_init(&ev, scratch);
	engine_view_init(&vw, env->root, scratch);
	/* no display in the sandbox: the host's X server is not for an
	 * engine to reach (its keystrokes) */
	display = getenv("DISPLAY") != NULL && (env->sandbox == NULL ||
	    sandbox_mode_untried(env->sandbox) != SANDBOX_BWRAP);
	if (p->native == FMT_PNG && !display && conf->npng_wrapper > 0) {
		/* no display: run the preview under the configured wrapper */
		wrapped = version_program(env->versions, conf->png_wrapper[0], false);
		if (wrapped == NULL) {
			r = engine_fail(fail, NULL, "openscad: a PNG preview needs "
			    "a display or '%s' (Debian packages xvfb and "
			    "xauth)", conf->png_wrapper[0]);
			engine_env_free(&ev);
			goto out;
		}
		engine_view_add(&vw, wrapped);
		argv[n++] = wrapped;
		for (size_t i = 1; i < conf->npng_wrapper && n < 8; i++)
			argv[n++] = conf->png_wrapper[i];
	} else if (p->native == FMT_PNG && display) {
		/* the display, and the key to it: the engine's HOME is its
		 * scratch directory, where no .Xauthority is */
		const char *xauth = getenv("XAUTHORITY"), *home = getenv("HOME");
		char *dflt = NULL;

		engine_env_add(&ev, xasprintf("DISPLAY=%s", getenv("DISPLAY")));
		if ((xauth == NULL || xauth[0] == '\0') && home != NULL &&
		    home[0] == '/') {
			dflt = xasprintf("%s/.Xauthority", home);
			if (access(dflt, R_OK) == 0)
				xauth = dflt;
		}
		if (xauth != NULL && xauth[0] != '\0')
			engine_env_add(&ev, xasprintf("XAUTHORITY=%s", xauth));
		free(dflt);
	}
	argv[n++] = p->program;
	argv[n++] = "-o";
	argv[n++] = oarg;
	if (p->native == FMT_STL) {
		argv[n++] = "--export-format";
		argv[n++] = "binstl";
	}
	if (p->native == FMT_PNG) {
		argv[n++] = "--imgsize=800,600";
		argv[n++] = "--viewall";
		argv[n++] = "--autocenter";
	}
	argv[n++] = wrapper;
	argv[n] = NULL;
	engine_view_add(&vw, p->program);
	for (size_t i = 0; i < conf->nopenscad_include; i++) {
		if (conf->openscad_include[i][0] == '/')
			engine_view_add(&vw, conf->openscad_include[i]);
	}
	r = engine_run(env->conf, env->sandbox, &vw.view, "openscad", argv,
	    &ev, scratch, p->native, output, fail);
	engine_view_free(&vw);
	engine_env_free(&ev);
out:
	free(wrapped);
	free(wrapper);
	free(oarg);
	buf_free(&b);
	return r;
}
