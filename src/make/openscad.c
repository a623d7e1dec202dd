/* openscad.c -- the openscad executor: the preludes a module file is
 * given (configured, or BOLTS's own helpers), a part's values as OpenSCAD
 * literals, and a run of openscad on a wrapper that uses a scratch
 * library of the preludes and the module file and calls the module. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "partsfs/make/engine.h"
#include "partsfs/make/openscad.h"
#include "partsfs/make/version.h"
#include "partsfs/util/confine.h"

/*
 * BOLTS's helpers, where a checkout keeps them: its OpenSCAD backend puts
 * every file of backends/openscad/ before the modules of its distribution
 * (common.scad needs conf.scad; local.scad only serves its generated
 * connectors), then a generated version.scad.  The first two make a
 * checkout's helpers; the third is taken when it is there.
 */
static const struct {
	const char *rel;
	bool needed;
} bolts_helpers[] = {
	{ "backends/openscad/common.scad", true },
	{ "backends/openscad/conf.scad", true },
	{ "backends/openscad/local.scad", false },
};

/*
 * What BOLTS's generated version.scad defines, with values that do not
 * change with the calendar (they are not part of the cache key: changing
 * them needs a new CACHE_SCHEMA in plan.c).  Upstream writes the date of
 * its build and the licence it builds for, by default LGPL 2.1.
 */
static const char bolts_version[] =
    "function BOLTS_version() = \"development\";\n"
    "function BOLTS_date() = [1970,1,1];\n"
    "function BOLTS_license() = \"LGPL 2.1\";\n";

/* A prelude configured relative to the library is one of its files: one
 * leading out of it is refused, neither read nor given to the engine. */
static int
check_inside(const char *root, const char *rel, struct perr *e)
{
	char *link = NULL, *target = NULL;
	int fd, r = 0;

	if ((fd = open_beneath(root, rel, O_PATH, &link, &target)) != -1)
		close(fd);
	else if (errno == EXDEV && link != NULL)
		r = perr_set(e, EXDEV, "openscad include %s: %s is a link to "
		    "%s, outside the library: refused", rel, link, target);
	else if (errno == EXDEV)
		r = perr_set(e, EXDEV, "openscad include %s leads outside the "
		    "library: refused", rel);
	free(link);
	free(target);
	return r;
}

/* Is the BOLTS helper `rel` a regular file of the library at `root`?
 * -EXDEV with `e` set when it leads out of it. */
static int
helper_here(const char *root, const char *rel, struct perr *e)
{
	struct stat st;
	int fd, r;

	if ((fd = open_beneath(root, rel, O_PATH, NULL, NULL)) == -1) {
		if (errno == EXDEV)
			return check_inside(root, rel, e);
		return 0;
	}
	r = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	close(fd);
	return r;
}

int
openscad_preludes(const struct exec_env *env, struct plan *p,
    struct perr *e)
{
	const struct conf *conf = env->conf;
	bool here[PF_ARRAY_LEN(bolts_helpers)];
	char *path;
	int r;

	if (conf->openscad_include_set || env->root == NULL) {
		for (size_t i = 0; i < conf->nopenscad_include; i++) {
			const char *inc = conf->openscad_include[i];
			if (inc[0] != '/' && env->root != NULL &&
			    (r = check_inside(env->root, inc, e)) != 0)
				return r;
			path = inc[0] == '/' || env->root == NULL ?
			    xstrdup(inc) : xasprintf("%s/%s", env->root, inc);
			sources_add(p, "include", path);
			free(path);
		}
		return 0;
	}
	for (size_t i = 0; i < PF_ARRAY_LEN(bolts_helpers); i++) {
		if ((r = helper_here(env->root, bolts_helpers[i].rel, e)) < 0)
			return r;
		here[i] = r == 1;
		if (!here[i] && bolts_helpers[i].needed)
			return 0;
	}
	for (size_t i = 0; i < PF_ARRAY_LEN(bolts_helpers); i++) {
		if (!here[i])
			continue;
		path = xasprintf("%s/%s", env->root, bolts_helpers[i].rel);
		sources_add(p, "helper", path);
		free(path);
	}
	return 0;
}

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

/* Write the scratch library and the wrapper that uses it: 0, or -EIO
 * with `fail` filled. */
static int
write_inputs(const struct plan *p, const char *libfile, const char *wrapper,
    struct engine_failure *fail)
{
	struct buf b = BUF_INIT;
	bool helpers = false;
	int r;

	/* include <...> cannot quote them */
	for (size_t i = 0; i < p->nsources; i++) {
		const char *path = p->sources[i].path;
		if ((strcmp(p->sources[i].label, "include") == 0 ||
		    strcmp(p->sources[i].label, "helper") == 0) &&
		    strpbrk(path, "<>") != NULL)
			return engine_fail(fail, NULL, "openscad: cannot include "
			    "%s: its path holds '<' or '>'", path);
	}
	if (strpbrk(p->script, "<>") != NULL)
		return engine_fail(fail, NULL, "openscad: cannot include %s: "
		    "its path holds '<' or '>'", p->script);

	/* The library: the preludes and the module file in one file scope,
	 * as the module expects them; whatever their top levels draw stays
	 * in it, since a file that is used gives only its modules and
	 * functions. */
	buf_printf(&b, "// made by partsfs: the preludes and the module file "
	    "of %s\n", p->path);
	for (size_t i = 0; i < p->nsources; i++) {
		const char *label = p->sources[i].label;
		if (strcmp(label, "helper") == 0)
			helpers = true;
		if (strcmp(label, "include") == 0 ||
		    strcmp(label, "helper") == 0)
			buf_printf(&b, "include <%s>\n", p->sources[i].path);
	}
	if (helpers)
		buf_adds(&b, bolts_version);
	buf_printf(&b, "include <%s>\n", p->script);
	if ((r = engine_write_file(libfile, b.p, b.len)) != 0) {
		buf_free(&b);
		return engine_fail(fail, NULL, "openscad: cannot write %s: %s",
		    libfile, strerror(-r));
	}

	/* The wrapper: the module called with literals.  Values are
	 * OpenSCAD literals, never code. */
	buf_reset(&b);
	buf_printf(&b, "// made by partsfs for %s\nuse <%s>\n%s(", p->path,
	    strrchr(libfile, '/') + 1, p->entry);
	for (size_t i = 0; i < p->nargs; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", p->args[i]);
	buf_adds(&b, ");\n");
	if ((r = engine_write_file(wrapper, b.p, b.len)) != 0) {
		buf_free(&b);
		return engine_fail(fail, NULL, "openscad: cannot write %s: %s",
		    wrapper, strerror(-r));
	}
	buf_free(&b);
	return 0;
}

int
openscad_run(const struct exec_env *env, const struct plan *p,
    const char *scratch, const char *output, struct engine_failure *fail)
{
	const struct conf *conf = env->conf;
	char *wrapper = xasprintf("%s/part.scad", scratch);
	char *libfile = xasprintf("%s/lib.scad", scratch);
	char *oarg = xasprintf("%s", output);
	const char *argv[32];
	char *wrapped = NULL;
	struct engine_env ev;
	struct engine_view vw;
	size_t n = 0;
	bool display;
	int r;

	if ((r = write_inputs(p, libfile, wrapper, fail)) != 0)
		goto out;
	engine_env_init(&ev, scratch);
	engine_view_init(&vw, env->root, scratch);
	/* no display in the sandbox: the host's X server is not for an
	 * engine to reach (its keystrokes) */
	display = getenv("DISPLAY") != NULL && (env->sandbox == NULL ||
	    sandbox_mode(env->sandbox) != SANDBOX_BWRAP);
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
	for (size_t i = 0; i < p->nsources; i++) {
		/* a prelude outside the library, file by file */
		if (strcmp(p->sources[i].label, "include") == 0 &&
		    (env->root == NULL ||
		    !path_beneath(p->sources[i].path, env->root)))
			engine_view_add(&vw, p->sources[i].path);
	}
	r = engine_run(env->conf, env->sandbox, &vw.view, "openscad", argv,
	    &ev, scratch, p->native, output, fail);
	engine_view_free(&vw);
	engine_env_free(&ev);
out:
	free(wrapped);
	free(wrapper);
	free(libfile);
	free(oarg);
	return r;
}
