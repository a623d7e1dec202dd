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

/*
 * What OpenSCAD 2021.01 says when its output cannot be the part asked
 * for.  An unknown module, function or variable, or a file it cannot
 * open, is only a warning to it: it goes on without them (a nut without
 * its hexagon is its hole) and exits 0.
 */
static const struct {
	const char *prefix;
	const char *also;         /* NULL, or text the line must hold too */
	unsigned kind;
} scad_messages[] = {
	{ "WARNING: Ignoring unknown module ", NULL,
	    CONF_SCAD_UNKNOWN_MODULE },
	{ "WARNING: Ignoring unknown function ", NULL,
	    CONF_SCAD_UNKNOWN_FUNCTION },
	{ "WARNING: Ignoring unknown variable ", NULL,
	    CONF_SCAD_UNKNOWN_VARIABLE },
	{ "WARNING: Can't open include file ", NULL, CONF_SCAD_MISSING_FILE },
	{ "WARNING: Can't open library ", NULL, CONF_SCAD_MISSING_FILE },
	{ "WARNING: Can't open import file ", NULL, CONF_SCAD_MISSING_FILE },
	{ "WARNING: The file '", "' couldn't be opened",
	    CONF_SCAD_MISSING_FILE },
	{ "ECHO: \"BOLTS Error:", NULL, CONF_SCAD_BOLTS_ERROR },
	{ "ERROR: ", NULL, OPENSCAD_ERROR },
};

/* The lines of OpenSCAD's statistics and progress, which a report need
 * not keep: a render ends with a dozen of them. */
static const char *const scad_chatter[] = {
	"Geometries in cache:", "Geometry cache size in bytes:",
	"CGAL Polyhedrons in cache:", "CGAL cache size in bytes:",
	"Total rendering time:", "Top level object is a ",
	"Rendering Polygon Mesh using ", "Compiling design (",
	"Normalized CSG tree has ", "Compiling highlights",
	"Compiling background", "Parsing design (", "Rendering...",
	"Saved backup file", NULL
};

/* The longest a line of OpenSCAD's is quoted in a report. */
#define LINE_MAX_QUOTED 512
/* The largest parse read back (a module file is a few hundred KB). */
#define AST_MAX ((size_t)16 << 20)

/* The length of a line of `len` bytes quoted in a report: at most
 * LINE_MAX_QUOTED bytes, not cut inside a UTF-8 sequence. */
static size_t
cut_line(const char *s, size_t len)
{
	size_t max = LINE_MAX_QUOTED;

	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/* A text file the engine wrote, whole and NUL-terminated; NULL when it
 * cannot be read or is bigger than AST_MAX. */
static char *
read_small(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	return fd == -1 ? NULL : read_all_close(fd, AST_MAX);
}

/* `len` bytes at `s` start with `prefix`. */
static bool
starts(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(s, prefix, n) == 0;
}

unsigned
openscad_message_kind(const char *line, size_t len)
{
	for (size_t i = 0; i < PF_ARRAY_LEN(scad_messages); i++) {
		const char *also = scad_messages[i].also;
		if (!starts(line, len, scad_messages[i].prefix))
			continue;
		if (also != NULL && memmem(line, len, also,
		    strlen(also)) == NULL)
			continue;
		return scad_messages[i].kind;
	}
	return 0;
}

/* A line worth a report: not empty, not statistics (nor their indented
 * details). */
static bool
keep_line(const char *line, size_t len)
{
	if (len == 0 || line[0] == ' ' || line[0] == '\t' || line[0] == '\r')
		return false;
	for (size_t i = 0; scad_chatter[i] != NULL; i++) {
		if (starts(line, len, scad_chatter[i]))
			return false;
	}
	return true;
}

/* The kinds of `kinds` by their names in partsfs.conf, into `b`. */
static void
kind_names(unsigned kinds, struct buf *b)
{
	bool first = true;

	for (unsigned k = 1; k & CONF_SCAD_ALL; k <<= 1) {
		if (!(kinds & k))
			continue;
		buf_printf(b, "%s%s", first ? "" : ", ", conf_scad_kind_name(k));
		first = false;
	}
}

/* Strict runs: what the configuration lets through, and where the run
 * was (OpenSCAD names files relative to it). */
struct strict {
	unsigned allow;
	const char *cwd;
};

/* `rel` (`len` bytes) joined to the absolute directory `dir`, . and ..
 * resolved, appended to `b`. */
static void
join_path(struct buf *b, const char *dir, const char *rel, size_t len)
{
	struct buf t = BUF_INIT, out = BUF_INIT;
	const char *s, *end;

	buf_printf(&t, "%s/%.*s", dir, (int)len, rel);
	s = t.p;
	end = t.p + t.len;
	while (s < end) {
		const char *slash = memchr(s, '/', (size_t)(end - s));
		size_t n = (size_t)((slash != NULL ? slash : end) - s);
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			char *up = out.len > 0 ? memrchr(out.p, '/', out.len) :
			    NULL;
			out.len = up != NULL ? (size_t)(up - out.p) : 0;
		} else if (n > 0 && !(n == 1 && s[0] == '.')) {
			buf_addc(&out, '/');
			buf_add(&out, s, n);
		}
		s += n + 1;
	}
	if (out.len == 0)
		buf_addc(b, '/');
	else
		buf_add(b, out.p, out.len);
	buf_free(&out);
	buf_free(&t);
}

/*
 * `text` with every "in file PATH, line" of a path relative to `cwd`
 * made absolute: OpenSCAD writes ../../work/lib/hex.scad from a scratch
 * directory (caller frees).
 */
static char *
absolute_files(const char *text, const char *cwd)
{
	static const char in[] = " in file ";
	struct buf b = BUF_INIT;
	const char *s = text, *at, *comma;

	while ((at = strstr(s, in)) != NULL) {
		const char *path = at + sizeof in - 1;
		const char *nl = strchr(path, '\n');
		buf_add(&b, s, (size_t)(path - s));
		comma = strstr(path, ", line ");
		if (comma == NULL || (nl != NULL && comma > nl) ||
		    path[0] == '/' || cwd == NULL) {
			s = path;
			continue;
		}
		join_path(&b, cwd, path, (size_t)(comma - path));
		s = comma;
	}
	buf_adds(&b, s);
	return buf_steal(&b);
}

/* The summary and the report of `fail` with absolute file names. */
static void
absolute_report(struct engine_failure *fail, const char *cwd)
{
	char *t;

	if (fail->summary != NULL) {
		t = absolute_files(fail->summary, cwd);
		free(fail->summary);
		fail->summary = t;
	}
	if (fail->stderr_tail != NULL) {
		t = absolute_files(fail->stderr_tail, cwd);
		free(fail->stderr_tail);
		fail->stderr_tail = t;
	}
}

/* The line at *sp, before `end`, its length in *len (without its
 * newline), *sp moved to the next; NULL at the end. */
static const char *
next_line(const char **sp, const char *end, size_t *len)
{
	const char *s = *sp, *nl;

	if (s >= end)
		return NULL;
	nl = memchr(s, '\n', (size_t)(end - s));
	*len = (size_t)((nl != NULL ? nl : end) - s);
	*sp = nl != NULL ? nl + 1 : end;
	return s;
}

/*
 * The verdict of a strict run (see engine_judge): a run that exited 0
 * fails when OpenSCAD said what makes its output another part, unless
 * the kind is allowed; a failed run gets its telling line in the summary.
 */
static int
strict_judge(const struct strict *st, const char *text, bool whole,
    double elapsed, int r, struct engine_failure *fail);

static int
strict_verdict(void *arg, const char *text, bool whole, double elapsed,
    int r, struct engine_failure *fail)
{
	const struct strict *st = arg;

	r = strict_judge(st, text, whole, elapsed, r, fail);
	absolute_report(fail, st->cwd);
	return r;
}

static int
strict_judge(const struct strict *st, const char *text, bool whole,
    double elapsed, int r, struct engine_failure *fail)
{
	const char *s = text, *end = text + strlen(text), *line;
	const char *first = NULL, *error = NULL, *empty = NULL, *any = NULL;
	size_t len, first_len = 0, error_len = 0, empty_len = 0, any_len = 0;
	size_t count = 0;
	unsigned kinds = 0;
	struct buf b = BUF_INIT;

	while ((line = next_line(&s, end, &len)) != NULL) {
		unsigned k = openscad_message_kind(line, len);
		if (k == 0 && starts(line, len, "Current top level object ") &&
		    empty == NULL)
			empty = line, empty_len = len;
		if (k == OPENSCAD_ERROR && error == NULL)
			error = line, error_len = len;
		if (k != 0 && any == NULL)
			any = line, any_len = len;
		if (k == 0 || (k & st->allow) != 0)
			continue;
		if (first == NULL)
			first = line, first_len = len;
		count++;
		kinds |= k;
	}
	if (r != 0) {
		/* OpenSCAD failed by itself: say why in the summary */
		if (error == NULL)
			error = any, error_len = any_len;
		if (error == NULL)
			error = empty, error_len = empty_len;
		if (error != NULL && fail->summary != NULL) {
			buf_printf(&b, "%s: %.*s", fail->summary,
			    (int)cut_line(error, error_len), error);
			free(fail->summary);
			fail->summary = buf_steal(&b);
		}
		return r;
	}
	if (count == 0 && (whole || st->allow == CONF_SCAD_ALL))
		return 0;
	if (count == 0)
		return engine_fail(fail, NULL, "openscad wrote more to its "
		    "standard error than partsfs keeps of it (jobs.stderr): "
		    "whether it warned of what makes the part wrong cannot "
		    "be told");
	if (!(kinds & OPENSCAD_ERROR)) {
		buf_adds(&b, "; executors.openscad.allow-warnings: [");
		kind_names(kinds, &b);
		buf_adds(&b, "] in partsfs.conf lets such parts through");
	}
	r = engine_fail(fail, NULL, "openscad exited with status 0 after "
	    "%.2f s, but said what makes its output another part than the "
	    "one asked for: %.*s%s%s", elapsed, (int)cut_line(first,
	    first_len), first, count > 1 ? " (and more below)" : "",
	    buf_str(&b));
	buf_free(&b);
	return r;
}

/* Write the scratch library and the wrapper that uses it, calling
 * `calls` (marked with echoes when `marked`): 0, or -EIO with `fail`
 * filled. */
static int
write_inputs(const struct plan *p, const struct openscad_call *calls,
    size_t ncalls, bool marked, const char *libfile, const char *wrapper,
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
	buf_printf(&b, "// made by partsfs for %s\nuse <%s>\n", p->path,
	    strrchr(libfile, '/') + 1);
	for (size_t c = 0; c < ncalls; c++) {
		/* marked: one top-level group a call in the CSG */
		if (marked)
			buf_printf(&b, "echo(\"%s%zu\");\ngroup() ",
			    OPENSCAD_MARK, c);
		buf_printf(&b, "%s(", calls[c].entry);
		for (size_t i = 0; i < calls[c].nargs; i++)
			buf_printf(&b, "%s%s", i ? ", " : "",
			    calls[c].args[i]);
		buf_adds(&b, ");\n");
	}
	if (marked)
		buf_printf(&b, "echo(\"%s%zu\");\n", OPENSCAD_MARK, ncalls);
	if ((r = engine_write_file(wrapper, b.p, b.len)) != 0) {
		buf_free(&b);
		return engine_fail(fail, NULL, "openscad: cannot write %s: %s",
		    wrapper, strerror(-r));
	}
	buf_free(&b);
	return 0;
}

/* Run openscad on `input` (`what` it is, for reports) into `output`, its
 * format `fmt` (as openscad_run, PNG previews included), with `judge`. */
static int
run(const struct exec_env *env, const struct plan *p, const char *input,
    const char *scratch, const char *output, enum format fmt,
    const struct engine_judge *judge, struct engine_failure *fail)
{
	const struct conf *conf = env->conf;
	char *oarg = xasprintf("%s", output);
	const char *argv[32];
	char *wrapped = NULL;
	struct engine_env ev;
	struct engine_view vw;
	size_t n = 0;
	bool display;
	int r;

	engine_env_init(&ev, scratch);
	engine_view_init(&vw, env->root, scratch);
	/* no display in the sandbox: the host's X server is not for an
	 * engine to reach (its keystrokes) */
	display = getenv("DISPLAY") != NULL && (env->sandbox == NULL ||
	    sandbox_mode_untried(env->sandbox) != SANDBOX_BWRAP);
	if (fmt == FMT_PNG && !display && conf->npng_wrapper > 0) {
		/* no display: run the preview under the configured wrapper */
		wrapped = version_program(env->versions, conf->png_wrapper[0], false);
		if (wrapped == NULL) {
			r = engine_fail(fail, NULL, "openscad: a PNG preview needs "
			    "a display or '%s' (Debian packages xvfb and "
			    "xauth)", conf->png_wrapper[0]);
			goto out;
		}
		engine_view_add(&vw, wrapped);
		argv[n++] = wrapped;
		for (size_t i = 1; i < conf->npng_wrapper && n < 8; i++)
			argv[n++] = conf->png_wrapper[i];
	} else if (fmt == FMT_PNG && display) {
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
	if (fmt == FMT_STL) {
		argv[n++] = "--export-format";
		argv[n++] = "binstl";
	}
	if (fmt == FMT_PNG) {
		argv[n++] = "--imgsize=800,600";
		argv[n++] = "--viewall";
		argv[n++] = "--autocenter";
	}
	argv[n++] = input;
	argv[n] = NULL;
	engine_view_add(&vw, p->program);
	for (size_t i = 0; i < p->nsources; i++) {
		/* a prelude outside the library, file by file */
		if (strcmp(p->sources[i].label, "include") == 0 &&
		    (env->root == NULL ||
		    !path_beneath(p->sources[i].path, env->root)))
			engine_view_add(&vw, p->sources[i].path);
	}
	r = engine_run_judged(env->conf, env->sandbox, &vw.view, "openscad",
	    argv, &ev, scratch, fmt, output, judge, fail);
out:
	engine_view_free(&vw);
	engine_env_free(&ev);
	free(wrapped);
	free(oarg);
	return r;
}

/* The operations of OpenSCAD's CSG, which draw only through their
 * children; every other node is an object. */
static const char *const csg_operations[] = {
	"group", "union", "difference", "intersection", "multmatrix",
	"color", "render", "hull", "minkowski", "offset", "projection",
	"linear_extrude", "rotate_extrude", "resize", "mirror", "roof", NULL
};

size_t
openscad_csg_objects(const char *csg, bool **drawn)
{
	const char *s = csg, *end = csg + strlen(csg), *line;
	size_t len, n = 0;
	int depth = 0;

	*drawn = xcalloc(1, sizeof **drawn);
	while ((line = next_line(&s, end, &len)) != NULL) {
		size_t word;
		bool leaf;
		while (len > 0 && (line[0] == '\t' || line[0] == ' '))
			line++, len--;
		while (len > 0 && (line[len - 1] == ' ' || line[len - 1] ==
		    '\r'))
			len--;
		if (len == 0)
			continue;
		if (line[0] == '}') {
			depth -= depth > 0;
			continue;
		}
		if (depth == 0) {
			*drawn = xreallocarray(*drawn, n + 1, sizeof **drawn);
			(*drawn)[n++] = false;
		}
		if (line[len - 1] == '{') {
			depth++;
			continue;
		}
		/* a node without children: an object, or an empty
		 * operation */
		word = strcspn(line, "( ");
		leaf = true;
		for (size_t i = 0; csg_operations[i] != NULL; i++) {
			if (word == strlen(csg_operations[i]) &&
			    memcmp(line, csg_operations[i], word) == 0)
				leaf = false;
		}
		if (leaf && n > 0)
			(*drawn)[n - 1] = true;
	}
	return n;
}

/* A CSG part that draws nothing is no part (OpenSCAD writes "group();"
 * and exits 0): 0, or -EIO with `fail` filled. */
static int
check_csg(const char *output, struct engine_failure *fail)
{
	char *csg = read_small(output);
	bool *drawn = NULL, any = false;
	size_t n;

	if (csg == NULL)
		return engine_fail(fail, NULL, "openscad: cannot read %s",
		    output);
	n = openscad_csg_objects(csg, &drawn);
	for (size_t i = 0; i < n; i++)
		any = any || drawn[i];
	free(drawn);
	free(csg);
	if (!any)
		return engine_fail(fail, NULL, "openscad exited with status 0, "
		    "but the CSG it wrote draws no object: the module made "
		    "nothing of these values (Current top level object is "
		    "empty.)");
	return 0;
}

int
openscad_run(const struct exec_env *env, const struct plan *p,
    const char *scratch, const char *output, struct engine_failure *fail)
{
	char *wrapper = xasprintf("%s/part.scad", scratch);
	char *libfile = xasprintf("%s/lib.scad", scratch);
	struct openscad_call call = { p->entry, p->args, p->nargs };
	struct strict st = { env->conf->openscad_allow, scratch };
	struct engine_judge judge = { keep_line, strict_verdict, &st };
	int r;

	if ((r = write_inputs(p, &call, 1, false, libfile, wrapper,
	    fail)) == 0)
		r = run(env, p, wrapper, scratch, output, p->native, &judge,
		    fail);
	if (r == 0 && p->native == FMT_CSG)
		r = check_csg(output, fail);
	free(wrapper);
	free(libfile);
	return r;
}

/* An unjudged run: its whole stderr kept, file names made absolute
 * from `cwd`. */
struct capture {
	const char *cwd;
	char *text;
	bool whole;
};

static int
capture_verdict(void *arg, const char *text, bool whole, double elapsed,
    int r, struct engine_failure *fail)
{
	struct capture *c = arg;

	(void)elapsed;
	(void)fail;
	free(c->text);
	c->text = absolute_files(text, c->cwd);
	c->whole = whole;
	return r;
}

int
openscad_eval(const struct exec_env *env, const struct plan *p,
    const struct openscad_call *calls, size_t ncalls, const char *scratch,
    char **text, bool *whole, char **csg, struct engine_failure *fail)
{
	char *wrapper = xasprintf("%s/check.scad", scratch);
	char *libfile = xasprintf("%s/lib.scad", scratch);
	char *output = xasprintf("%s/check.csg", scratch);
	struct capture c = { scratch, NULL, false };
	struct engine_judge judge = { keep_line, capture_verdict, &c };
	int r;

	*csg = NULL;
	if ((r = write_inputs(p, calls, ncalls, true, libfile, wrapper,
	    fail)) == 0)
		r = run(env, p, wrapper, scratch, output, FMT_CSG, &judge,
		    fail);
	if (r == 0 && (*csg = read_small(output)) == NULL)
		r = engine_fail(fail, NULL, "openscad: cannot read %s",
		    output);
	*text = c.text;
	*whole = c.whole;
	free(output);
	free(wrapper);
	free(libfile);
	return r;
}

int
openscad_ast(const struct exec_env *env, const struct plan *p,
    const char *scratch, char **ast, char **text,
    struct engine_failure *fail)
{
	char *output = xasprintf("%s/module.ast", scratch);
	struct capture c = { scratch, NULL, false };
	struct engine_judge judge = { keep_line, capture_verdict, &c };
	int r;

	*ast = NULL;
	/* OpenSCAD writes its parse as text: a CSG file's check fits it */
	r = run(env, p, p->script, scratch, output, FMT_CSG, &judge, fail);
	if (r == 0 && (*ast = read_small(output)) == NULL)
		r = engine_fail(fail, NULL, "openscad: cannot read %s",
		    output);
	*text = c.text;
	free(output);
	return r;
}

/* Is the top-level line `s` of a parse a definition or an assignment? */
static bool
defines(const char *s, size_t len)
{
	size_t n;

	if (starts(s, len, "module ") || starts(s, len, "function ") ||
	    starts(s, len, "//") || starts(s, len, "}"))
		return true;
	n = s[0] == '$' ? 1 : 0;
	n += strspn(s + n, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
	return n > 0 && n < len && starts(s + n, len - n, " = ");
}

char **
openscad_ast_strays(const char *ast, size_t *count)
{
	const char *s = ast, *end = ast + strlen(ast), *line;
	char **v = xcalloc(1, sizeof *v);
	size_t len, n = 0;

	while ((line = next_line(&s, end, &len)) != NULL) {
		/* a statement inside a definition is indented; a statement
		 * that goes on over lines ends with a line of its own */
		if (len == 0 || line[0] == '\t' || line[0] == ' ' ||
		    defines(line, len))
			continue;
		v = xreallocarray(v, n + 2, sizeof *v);
		v[n++] = xstrndup(line, cut_line(line, len));
		v[n] = NULL;
	}
	*count = n;
	return v;
}
