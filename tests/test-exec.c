/* test-exec.c -- the executors: parameter values are passed as data, never
 * spliced into code or a command line.  OpenSCAD gets them as literals in
 * a generated wrapper (checked by a fake openscad that keeps the wrapper,
 * whose literals are parsed back here, and by the real one echoing them),
 * FreeCAD in a JSON job file its driver reads (the real driver, run by a
 * fake freecadcmd over stand-ins for FreeCAD's modules, and by the real
 * freecadcmd), a command in a JSON parameter file, its argv expanded
 * without a shell.  And what every executor promises besides: a clean
 * environment, the scratch directory, output checked, failures told. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "partsfs/make/freecad.h"
#include "partsfs/make/version.h"
#include "tap.h"

/* String values that are code, or quoting, in some language. */
static const char *const NASTY[] = {
	"plain",
	"a \"quoted\" word",
	"it's 'single'",
	"two\nlines\n",
	"$HOME ${PATH} $(id) `id` $$",
	"back\\slash\\",
	"semi;colon; rm -rf /nonexistent; echo done",
	"\"); echo(\"pwned\"); //",
	"\"; echo(\"pwned\"); a=\"",
	"include </etc/passwd>",
	"use <x.scad> import(\"/etc/passwd\");",
	"__import__('os').system('exit 3')",
	"\"\"\" triple ''' quotes",
	"\\n is not a newline, \\x41 not an A, \\u0041 neither",
	"tab\there, cr\rthere, bell\x07, del\x7f",
	"unicode \xc3\xa9 \xe4\xb8\xad \xf0\x9f\x99\x82",
	"100%, a=b, c/d",
	"$fn=1; */ /* {}",
	"",
};
#define NNASTY PF_ARRAY_LEN(NASTY)

/* The library: class k takes a String s and a Length len, made by every
 * executor; class lit shows the literals of the other kinds. */
static const char CLASSES[] =
    "  - id: k\n"
    "    names: {name: K, labeling: 'K %(s)s'}\n"
    "    parameters:\n"
    "      free: [s, len, mode]\n"
    "      defaults: {s: x, len: 20, mode: box}\n"
    "      types: {s: String, len: Length (mm), mode: String}\n"
    "    source: test\n"
    "  - id: lit\n"
    "    parameters:\n"
    "      free: [flag, size]\n"
    "      defaults: {flag: false, size: A}\n"
    "      types: {flag: Bool, size: Table Index, d: Length (in), "
    "e: Length (mm), w: Number}\n"
    "      tables: {index: size, columns: [d, e, w], data: {A: [0.5, "
    "None, 0.1]}}\n"
    "    source: test\n";

static const char SCAD_BASE[] =
    "- filename: m.scad\n  type: module\n  author: a <b@example.org>\n"
    "  license: MIT <x>\n  modules:\n"
    "    - {name: m, arguments: [s, len], classids: [k]}\n"
    "    - {name: ml, arguments: [flag, d, e, w, size], classids: [lit]}\n";

static const char FREECAD_BASE[] =
    "- filename: m.py\n  type: function\n  author: a <b@example.org>\n"
    "  license: MIT <x>\n  functions:\n"
    "    - {name: f, classids: [k]}\n";

static const char FAKE_BASE[] =
    "- {filename: box.txt, type: script, author: t <t@example.org>, "
    "license: MIT <x>, classids: [k]}\n";

/* Stand-ins for the FreeCAD modules the driver uses: a document whose
 * objects are features with a shape, and a STEP export. */
static const char STUB_FREECAD[] =
    "def Version():\n"
    "    return ['0', '99', '0', 'stand-in']\n"
    "class Shape:\n"
    "    def isNull(self):\n"
    "        return False\n"
    "class Feature:\n"
    "    def __init__(self, name):\n"
    "        self.Name = self.Label = name\n"
    "        self.InList = []\n"
    "        self.Shape = Shape()\n"
    "    def isDerivedFrom(self, kind):\n"
    "        return kind == 'Part::Feature'\n"
    "class Document:\n"
    "    def __init__(self):\n"
    "        self.Objects = []\n"
    "    def addObject(self, kind, name):\n"
    "        o = Feature(name)\n"
    "        self.Objects.append(o)\n"
    "        return o\n"
    "    def recompute(self):\n"
    "        pass\n"
    "def newDocument(name):\n"
    "    return Document()\n";
static const char STUB_IMPORT[] =
    "def export(objects, path):\n"
    "    with open(path, 'w') as f:\n"
    "        f.write('ISO-10303-21;\\nHEADER;\\nENDSEC;\\nDATA;\\nENDSEC;\\n'\n"
    "                'END-ISO-10303-21;\\n')\n";

enum engine {
	FAKE_OPENSCAD,          /* stl by a fake openscad */
	REAL_OPENSCAD,          /* stl by openscad from PATH */
	FAKE_FREECAD,           /* step by the driver under a fake freecadcmd */
	REAL_FREECAD,           /* step by freecadcmd from PATH */
	COMMAND,                /* stl and step by the fake engine */
};

struct rig {
	const char *dir;                /* the library */
	const char *tmp;
	const char *rec;                /* what the fake engines record */
	char *pwned;                    /* a file injected code would make */
	struct conf *conf;
	struct library *lib;
	struct cache *cache;
	struct exec_env env;
	int nscratch;
};

static const char *
python3(void)
{
	static const char *const tries[] = { "/usr/bin/python3",
	    "/usr/local/bin/python3", NULL };

	for (size_t i = 0; tries[i] != NULL; i++) {
		if (access(tries[i], X_OK) == 0)
			return tries[i];
	}
	return NULL;
}

/* The fake engine's argv template, recording into `rec`, with `extra`
 * (YAML) after its four arguments (caller frees). */
static char *
command_argv(const char *rec, const char *extra)
{
	return xasprintf("[%s, --record, %s, \"{params}\", \"{output}\", "
	    "\"{format}\", \"{script}\"%s%s]",
	    fixture_yaml_str(fixture_fake_engine()), fixture_yaml_str(rec),
	    extra != NULL ? ", " : "", extra != NULL ? extra : "");
}

/* A library and a configuration where `eng` makes k; COMMAND: the fake
 * engine, recording into r->rec, with `extra` arguments (YAML) after its
 * own; FAKE_OPENSCAD and REAL_OPENSCAD: `extra` is more keys of
 * executors.openscad (YAML lines), instead of the fake's include of
 * prelude.scad. */
static void
rig_open(struct rig *r, enum engine eng, const char *extra)
{
	struct buf y = BUF_INIT, t = BUF_INIT;
	struct perr e = { 0 };
	char *cachedir, *driver, *rec;

	memset(r, 0, sizeof *r);
	r->dir = fixture_dir("c", CLASSES);
	r->tmp = tap_tmpdir();
	r->rec = tap_tmpdir();
	r->pwned = xasprintf("%s/pwned", r->tmp);
	tap_write(r->dir, "openscad/c/c.base", SCAD_BASE);
	tap_write(r->dir, "prelude.scad", "// a prelude\n");
	tap_write(r->dir, "freecad/c/c.base", FREECAD_BASE);
	tap_write(r->dir, "fake/c/c.base", FAKE_BASE);
	tap_write(r->dir, "fake/c/box.txt", "box script\n");
	/* the FreeCAD function records the parameters it was given */
	rec = xasprintf("%s/params.json", r->rec);
	buf_printf(&t, "import json\n\n\ndef f(params, document):\n"
	    "    with open(%s, 'w', encoding='utf-8') as fh:\n"
	    "        json.dump(params, fh)\n"
	    "    document.addObject('Part::Box', 'box')\n",
	    fixture_yaml_str(rec));
	free(rec);
	tap_write(r->dir, "freecad/c/m.py", buf_str(&t));
	buf_reset(&t);
	if (eng == REAL_OPENSCAD)
		/* echoes s, then its code points, and stops (the stderr of a
		 * failure is what a test can see) */
		tap_write(r->dir, "openscad/c/m.scad", "module m(s, len) {\n"
		    "\techo(s);\n"
		    "\techo(str(\"code points: \", [for (c = s) ord(c)]));\n"
		    "\tassert(false, \"stopped after the echo\");\n"
		    "}\nmodule ml(flag, d, e, w, size) { cube(1); }\n");
	else
		tap_write(r->dir, "openscad/c/m.scad", "module m(s, len) { "
		    "cube(len); }\nmodule ml(flag, d, e, w, size) { cube(1); }\n");

	buf_adds(&y, "executors:\n");
	switch (eng) {
	case FAKE_OPENSCAD: {
		char *prog = xasprintf("%s/openscad", r->tmp);
		buf_printf(&t, "#!/bin/sh\n# a fake openscad: records its "
		    "argv and its input, writes an STL\n"
		    "if [ \"$1\" = --version ]; then echo 'OpenSCAD version "
		    "fake'; exit 0; fi\n"
		    "printf '%%s\\0' \"$0\" \"$@\" > %s/argv\n"
		    "out=; last=\n"
		    "while [ $# -gt 0 ]; do\n"
		    "\tcase \"$1\" in -o) out=$2; shift 2; continue;; esac\n"
		    "\tlast=$1; shift\ndone\n"
		    "cp \"$last\" %s/wrapper.scad || exit 1\n"
		    "cp \"${last%%/*}/lib.scad\" %s/lib.scad || exit 1\n"
		    "printf 'solid x\\nfacet normal 0 0 1\\nouter loop\\n"
		    "vertex 0 0 0\\nvertex 1 0 0\\nvertex 0 1 0\\nendloop\\n"
		    "endfacet\\nendsolid x\\n' > \"$out\"\n", r->rec, r->rec,
		    r->rec);
		fixture_write_exec(prog, buf_str(&t));
		buf_printf(&y, "  openscad:\n    program: %s\n%s", prog,
		    extra != NULL ? extra : "    include: [prelude.scad]\n");
		free(prog);
		break;
	}
	case REAL_OPENSCAD:
		buf_printf(&y, "  openscad:\n    program: openscad\n%s",
		    extra != NULL ? extra : "");
		break;
	case FAKE_FREECAD: {
		char *prog = xasprintf("%s/freecadcmd", r->tmp);
		const char *stubs = tap_tmpdir();
		tap_write(stubs, "FreeCAD.py", STUB_FREECAD);
		tap_write(stubs, "Part.py", "");
		tap_write(stubs, "Import.py", STUB_IMPORT);
		buf_printf(&t, "#!/bin/sh\n# a fake freecadcmd: the driver "
		    "under python3, FreeCAD's modules stand-ins\n"
		    "if [ -n \"$PARTSFS_JOB\" ]; then cp \"$PARTSFS_JOB\" "
		    "%s/job.json; fi\n"
		    "PYTHONPATH=%s; export PYTHONPATH\nexec %s \"$@\"\n",
		    r->rec, stubs, python3());
		fixture_write_exec(prog, buf_str(&t));
		buf_printf(&y, "  freecad:\n    program: %s\n", prog);
		free(prog);
		break;
	}
	case REAL_FREECAD:
		buf_adds(&y, "  freecad:\n    program: freecadcmd\n");
		break;
	case COMMAND:
		break;
	}
	driver = xasprintf("%s/src/libexec/freecad-driver.py",
	    fixture_srcdir());
	if (eng == FAKE_FREECAD || eng == REAL_FREECAD)
		buf_printf(&y, "    driver: %s\n", driver);
	free(driver);
	buf_printf(&y, "  converter: %s/partsfs-convert\n", fixture_builddir());
	/* the engine under test makes the model of every class */
	buf_printf(&y, "  model: %s\n", eng == COMMAND ? "fake" :
	    eng == FAKE_FREECAD || eng == REAL_FREECAD ? "freecad" :
	    "openscad");
	if (eng == COMMAND) {
		char *argv = command_argv(r->rec, extra);
		buf_printf(&y, "  commands:\n    - name: fake\n"
		    "      argv: %s\n      formats: [stl, step]\n", argv);
		free(argv);
	}
	cachedir = xasprintf("%s/cache", r->tmp);
	buf_printf(&y, "jobs:\n  timeout: 60\ncache:\n  dir: %s\n", cachedir);
	r->conf = fixture_conf(buf_str(&y));
	buf_free(&y);
	buf_free(&t);
	r->lib = fixture_load_conf(r->dir, r->conf);
	if (r->lib->diags.nerrors > 0) {
		tap_note("%s", fixture_diags(r->lib));
		abort();
	}
	if ((r->cache = cache_open(cachedir, (uint64_t)1 << 30, 30,
	    &e)) == NULL)
		pf_fatal("cache_open: %s", e.msg);
	free(cachedir);
	r->env.conf = r->conf;
	r->env.cache = r->cache;
	r->env.root = r->lib->root;
}

static void
rig_close(struct rig *r)
{
	library_unref(r->lib);
	cache_close(r->cache);
	conf_free(r->conf);
	free(r->pwned);
}

/* The tree path of part k with s = `s`, in format `ext` (caller frees). */
static char *
k_path(const char *s, const char *ext)
{
	char *v = fixture_stem_value(s), *p;

	p = xasprintf("c/k/s=%s.%s", v, ext);
	free(v);
	return p;
}

/* Plan `path` (`first`: as the first part of its engine on a cache that
 * does not know the engine's version is, that version pending; else
 * asking it) and run its engine in a new scratch directory: 0 or -EIO
 * with `fail` filled; the scratch directory in *scratch (caller frees)
 * when not NULL, and the output in *out (caller frees). */
static int
make_as(struct rig *r, const char *path, bool first,
    struct engine_failure *fail, char **scratch, char **out)
{
	struct plan p;
	struct pnode n;
	struct perr e = { 0 };
	char *dir, *o = NULL;
	int rc;

	memset(fail, 0, sizeof *fail);
	if (first) {
		memset(&p, 0, sizeof p);
		rc = pnode_lookup(r->lib, path, &n, &e);
		if (rc == 0) {
			rc = plan_make_deferred(&r->env, &n, &p, &e);
			pnode_clear(&n);
		}
		if (rc == 0 && !p.version_pending)
			rc = perr_set(&e, EEXIST, "the version is known");
	} else
		rc = fixture_plan(&r->env, r->lib, path, &p, &e);
	if (rc != 0) {
		tap_note("plan %s: %s", path, e.msg);
		fail->summary = xasprintf("cannot plan %s: %s", path, e.msg);
		plan_clear(&p);
		return -ENOENT;
	}
	dir = xasprintf("%s/scratch-%d", r->tmp, r->nscratch++);
	if (mkdir(dir, 0700) != 0)
		pf_fatal("%s: %s", dir, strerror(errno));
	rc = exec_run(&r->env, &p, dir, &o, fail);
	plan_clear(&p);
	if (scratch != NULL)
		*scratch = dir;
	else
		free(dir);
	if (out != NULL)
		*out = o;
	else
		free(o);
	return rc;
}

static int
make(struct rig *r, const char *path, struct engine_failure *fail,
    char **scratch, char **out)
{
	return make_as(r, path, false, fail, scratch, out);
}

/* A recorded file of NUL-ended strings, as a NULL-terminated vector
 * (caller frees v[0] and v), or NULL. */
static char **
read_lines(const char *dir, const char *name, size_t *n)
{
	char *path = xasprintf("%s/%s", dir, name), *text, **v;
	size_t len, count = 0;

	text = fixture_read(path, &len);
	free(path);
	if (text == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
		count += text[i] == '\0';
	v = xcalloc(count + 2, sizeof *v);
	count = 0;
	for (size_t i = 0; i < len; i += strlen(text + i) + 1)
		v[count++] = text + i;
	if (count == 0)
		free(text);
	*n = count;
	return v;
}

static void
free_strings(char **v)
{
	if (v != NULL)
		free(v[0]);
	free(v);
}

static json_t *
load_json(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	json_error_t err;
	json_t *j = json_load_file(path, 0, &err);

	if (j == NULL)
		tap_note("%s: %s", path, err.text);
	free(path);
	return j;
}

/* OpenSCAD's side: the wrapper parsed back. */

struct scad_call {
	char *includes[8];
	size_t nincludes;
	char *uses[8];
	size_t nuses;
	size_t nfunctions;              /* function definitions */
	char *entry;
	/* each argument: a string literal decoded (is_string), or the text
	 * of another literal */
	char *args[8];
	bool is_string[8];
	size_t nargs;
	char *error;
};

static void
scad_call_clear(struct scad_call *c)
{
	for (size_t i = 0; i < c->nincludes; i++)
		free(c->includes[i]);
	for (size_t i = 0; i < c->nuses; i++)
		free(c->uses[i]);
	for (size_t i = 0; i < c->nargs; i++)
		free(c->args[i]);
	free(c->entry);
	free(c->error);
	memset(c, 0, sizeof *c);
}

static bool
scad_error(struct scad_call *c, const char *s, const char *what)
{
	if (c->error == NULL)
		c->error = xasprintf("%s at \"%.40s\"", what, s);
	return false;
}

static int
hex(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* A string literal at *sp (its opening quote), as OpenSCAD's lexer reads
 * one, strictly: the escapes \" \\ \n \t \r and \xHH (01 to 7f), nothing
 * raw below a space.  Leaves *sp after the closing quote. */
static bool
scad_string(struct scad_call *c, const char **sp, struct buf *out)
{
	const char *s = *sp + 1;

	for (;; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"')
			break;
		if (ch == '\0')
			return scad_error(c, *sp, "unterminated string");
		if (ch < 0x20)
			return scad_error(c, s, "raw control byte in a string");
		if (ch != '\\') {
			buf_addc(out, (char)ch);
			continue;
		}
		switch (*++s) {
		case '"':
		case '\\':
			buf_addc(out, *s);
			break;
		case 'n':
			buf_addc(out, '\n');
			break;
		case 't':
			buf_addc(out, '\t');
			break;
		case 'r':
			buf_addc(out, '\r');
			break;
		case 'x': {
			int h = hex(s[1]), l = hex(s[2]);
			if (h < 0 || h > 7 || l < 0 || (h == 0 && l == 0))
				return scad_error(c, s, "bad \\x escape");
			buf_addc(out, (char)(h << 4 | l));
			s += 2;
			break;
		}
		default:
			return scad_error(c, s, "unknown escape");
		}
	}
	*sp = s + 1;
	return true;
}

static const char *
skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* An include or use line at `s` (`word` and its blank): the path into
 * v[*n]; the line skipped. */
static bool
scad_file_line(struct scad_call *c, const char **sp, const char *word,
    char **v, size_t *n)
{
	const char *s = *sp + strlen(word) + 2;
	size_t len = strcspn(s, ">\n");

	if (s[-1] != '<' || s[len] != '>' || s[len + 1] != '\n' || *n == 8)
		return scad_error(c, *sp, "bad include or use line");
	v[(*n)++] = xstrndup(s, len);
	*sp = s + len + 2;
	return true;
}

/* The wrapper: comment lines, include and use lines, then one call of the
 * module with literals, and nothing else.  `lib`: lib.scad, of comment,
 * include and one-line function definitions only. */
static bool
scad_parse(const char *text, struct scad_call *c, bool lib)
{
	const char *s = text;
	struct buf b = BUF_INIT;

	memset(c, 0, sizeof *c);
	for (;;) {
		if (strncmp(s, "//", 2) == 0 || (lib &&
		    strncmp(s, "function ", 9) == 0)) {
			c->nfunctions += s[0] == 'f';
			s += strcspn(s, "\n");
			if (*s == '\n')
				s++;
		} else if (strncmp(s, "include ", 8) == 0) {
			if (!scad_file_line(c, &s, "include", c->includes,
			    &c->nincludes))
				return false;
		} else if (strncmp(s, "use ", 4) == 0) {
			if (!scad_file_line(c, &s, "use", c->uses, &c->nuses))
				return false;
		} else
			break;
	}
	if (lib)
		return *s == '\0' || scad_error(c, s, "more than includes");
	{
		size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
		if (n == 0 || s[n] != '(')
			return scad_error(c, s, "no module call");
		c->entry = xstrndup(s, n);
		s += n + 1;
	}
	while (*s != ')') {
		if (c->nargs == PF_ARRAY_LEN(c->args))
			return scad_error(c, s, "too many arguments");
		if (c->nargs > 0) {
			if (*s != ',')
				return scad_error(c, s, "expected ,");
			s = skip_blanks(s + 1);
		}
		if (*s == '"') {
			buf_reset(&b);
			if (!scad_string(c, &s, &b)) {
				buf_free(&b);
				return false;
			}
			c->is_string[c->nargs] = true;
			c->args[c->nargs++] = xstrdup(buf_str(&b));
		} else {
			size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz"
			    "0123456789.-+e");
			if (n == 0)
				return scad_error(c, s, "expected a literal");
			c->args[c->nargs++] = xstrndup(s, n);
			s += n;
		}
		s = skip_blanks(s);
	}
	buf_free(&b);
	if (strcmp(s, ");\n") != 0)
		return scad_error(c, s, "something after the call");
	return true;
}

/* A printable form of a value for diagnostics (static). */
static const char *
shown(const char *s)
{
	static struct buf b;

	buf_reset(&b);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			buf_printf(&b, "\\x%02x", *p);
		else
			buf_addc(&b, (char)*p);
	}
	return buf_str(&b);
}

/* The Unicode code points of UTF-8 text, as OpenSCAD's echo of a list
 * writes them ("[97, 98]"). */
static char *
code_points(const char *s)
{
	struct buf b = BUF_INIT;
	const unsigned char *p = (const unsigned char *)s;

	buf_addc(&b, '[');
	for (bool first = true; *p; first = false) {
		unsigned cp;
		int extra;
		if (*p < 0x80)
			cp = *p, extra = 0;
		else if (*p < 0xe0)
			cp = *p & 0x1f, extra = 1;
		else if (*p < 0xf0)
			cp = *p & 0x0f, extra = 2;
		else
			cp = *p & 0x07, extra = 3;
		p++;
		for (int i = 0; i < extra && *p; i++)
			cp = cp << 6 | (*p++ & 0x3f);
		buf_printf(&b, "%s%u", first ? "" : ", ", cp);
	}
	buf_addc(&b, ']');
	return buf_steal(&b);
}

/* OpenSCAD. */

/*
 * The lib.scad the fake openscad kept in `rec` includes `first` (NULL:
 * nothing before the module), then `second` (NULL: no more), then
 * `module`, nothing else, and defines BOLTS's version functions when the
 * preludes are BOLTS's helpers (`first` under backends/openscad/).
 */
static void
check_lib_files(const char *rec, const char *const *want, size_t nwant,
    bool versions)
{
	char *file = xasprintf("%s/lib.scad", rec), *text;
	struct scad_call lib;

	text = fixture_read(file, NULL);
	CHECK_MSG(text != NULL, "no %s", file);
	if (text == NULL) {
		free(file);
		return;
	}
	CHECK_MSG(scad_parse(text, &lib, true), "%s in\n%s", lib.error, text);
	CHECK_MSG(lib.nincludes == nwant, "%zu includes, want %zu, in\n%s",
	    lib.nincludes, nwant, text);
	for (size_t i = 0; i < nwant && i < lib.nincludes; i++)
		CHECK_STR(lib.includes[i], want[i]);
	CHECK_INT(lib.nuses, 0);
	CHECK_INT(lib.nfunctions, versions ? 3 : 0);
	if (versions) {
		CHECK_CONTAINS(text, "function BOLTS_version() = "
		    "\"development\";\n");
		CHECK_CONTAINS(text, "function BOLTS_date() = [1970,1,1];\n");
		CHECK_CONTAINS(text, "function BOLTS_license() = "
		    "\"LGPL 2.1\";\n");
	}
	scad_call_clear(&lib);
	free(text);
	free(file);
}

static void
check_lib(const char *rec, const char *prelude, const char *module)
{
	const char *want[] = { prelude, module };

	check_lib_files(rec, want, 2, false);
}

/* The key of `path` as planned now. */
static struct cache_key
key_of(struct rig *r, const char *path)
{
	struct cache_key k = { { 0 } };
	struct perr e = { 0 };
	struct plan p;

	if (fixture_plan(&r->env, r->lib, path, &p, &e) != 0) {
		tap_note("plan %s: %s", path, e.msg);
		return k;
	}
	k = p.key;
	plan_clear(&p);
	return k;
}

static void
openscad_string_values_reach_the_module_as_the_same_strings(void)
{
	struct rig r;

	rig_open(&r, FAKE_OPENSCAD, NULL);
	for (size_t i = 0; i < NNASTY; i++) {
		struct engine_failure f;
		struct scad_call call;
		char *path = k_path(NASTY[i], "stl"), *wrapper, *file;
		char *module = xasprintf("%s/openscad/c/m.scad", r.lib->root);
		char *prelude = xasprintf("%s/prelude.scad", r.lib->root);

		CHECK_MSG(make(&r, path, &f, NULL, NULL) == 0, "%s: %s", path,
		    f.summary);
		file = xasprintf("%s/wrapper.scad", r.rec);
		wrapper = fixture_read(file, NULL);
		CHECK(wrapper != NULL);
		CHECK_MSG(scad_parse(wrapper, &call, false), "value \"%s\": %s "
		    "in\n%s", shown(NASTY[i]), call.error, wrapper);
		/* the wrapper uses lib.scad, which includes the preludes and
		 * the module, in that order, nothing else */
		CHECK_INT(call.nincludes, 0);
		CHECK_INT(call.nuses, 1);
		CHECK_STR(call.uses[0], "lib.scad");
		check_lib(r.rec, prelude, module);
		CHECK_STR(call.entry, "m");
		CHECK_INT(call.nargs, 2);
		CHECK(call.is_string[0] && !call.is_string[1]);
		CHECK_MSG(strcmp(call.args[0], NASTY[i]) == 0, "got \"%s\", "
		    "want \"%s\"", call.args[0], shown(NASTY[i]));
		CHECK_STR(call.args[1], "20");
		scad_call_clear(&call);
		engine_failure_clear(&f);
		free(wrapper);
		free(file);
		free(module);
		free(prelude);
		free(path);
	}
	rig_close(&r);
}

static void
openscad_uses_the_bolts_helpers_of_the_library_without_an_include_key(void)
{
	struct rig r;
	struct engine_failure f;
	struct cache_key k1, k2, k3;
	char *path = k_path("x", "stl"), *common, *conf, *local, *module;

	rig_open(&r, FAKE_OPENSCAD, "");
	common = xasprintf("%s/backends/openscad/common.scad", r.lib->root);
	conf = xasprintf("%s/backends/openscad/conf.scad", r.lib->root);
	local = xasprintf("%s/backends/openscad/local.scad", r.lib->root);
	module = xasprintf("%s/openscad/c/m.scad", r.lib->root);
	tap_write(r.dir, "backends/openscad/common.scad",
	    "module BOLTS_thing() { cube(1); }\n");
	tap_write(r.dir, "backends/openscad/conf.scad",
	    "BOLTS_MODE = \"draft\";\n");
	CHECK_MSG(make(&r, path, &f, NULL, NULL) == 0, "%s", f.summary);
	{
		const char *want[] = { common, conf, module };
		check_lib_files(r.rec, want, 3, true);
	}
	engine_failure_clear(&f);
	k1 = key_of(&r, path);
	/* local.scad too, when it is there, after the other two */
	tap_write(r.dir, "backends/openscad/local.scad",
	    "function clamp(v, l, u) = min(max(v, l), u);\n");
	CHECK_MSG(make(&r, path, &f, NULL, NULL) == 0, "%s", f.summary);
	{
		const char *want[] = { common, conf, local, module };
		check_lib_files(r.rec, want, 4, true);
	}
	engine_failure_clear(&f);
	k2 = key_of(&r, path);
	/* their bytes are in the key */
	tap_write(r.dir, "backends/openscad/common.scad",
	    "module BOLTS_thing() { cube(2); }\n");
	k3 = key_of(&r, path);
	CHECK(strcmp(k1.hex, k2.hex) != 0);
	CHECK(strcmp(k2.hex, k3.hex) != 0);
	CHECK(k1.hex[0] != '\0' && k3.hex[0] != '\0');
	free(common);
	free(conf);
	free(local);
	free(module);
	free(path);
	rig_close(&r);
}

static void
openscad_takes_no_helpers_when_one_is_missing_or_the_include_key_is_set(void)
{
	static const char *const confs[] = {
		"", "    include: []\n", "    include: [prelude.scad]\n",
	};
	char *path = k_path("x", "stl");

	for (size_t i = 0; i < PF_ARRAY_LEN(confs); i++) {
		struct engine_failure f;
		struct rig r;
		char *module, *prelude;

		rig_open(&r, FAKE_OPENSCAD, confs[i]);
		module = xasprintf("%s/openscad/c/m.scad", r.lib->root);
		prelude = xasprintf("%s/prelude.scad", r.lib->root);
		tap_write(r.dir, "backends/openscad/common.scad",
		    "module BOLTS_thing() { cube(1); }\n");
		tap_write(r.dir, "backends/openscad/local.scad", "// local\n");
		if (i > 0)
			tap_write(r.dir, "backends/openscad/conf.scad",
			    "BOLTS_MODE = \"draft\";\n");
		CHECK_MSG(make(&r, path, &f, NULL, NULL) == 0, "%s",
		    f.summary);
		if (i < 2) {
			/* no conf.scad, or include: [] */
			const char *want[] = { module };
			check_lib_files(r.rec, want, 1, false);
		} else
			check_lib(r.rec, prelude, module);
		engine_failure_clear(&f);
		free(module);
		free(prelude);
		rig_close(&r);
	}
	free(path);
}

static void
the_warnings_openscad_may_give_are_in_the_key(void)
{
	static const char *const confs[] = {
		"", "    allow-warnings: []\n",
		"    allow-warnings: [unknown-variable]\n",
		"    allow-warnings: [all]\n",
	};
	struct cache_key k[PF_ARRAY_LEN(confs)];
	char *path = k_path("x", "stl");

	for (size_t i = 0; i < PF_ARRAY_LEN(confs); i++) {
		struct rig r;
		rig_open(&r, FAKE_OPENSCAD, confs[i]);
		/* the same files in every library */
		tap_write(r.dir, "openscad/c/m.scad", "module m(s, len) { "
		    "cube(len); }\n");
		k[i] = key_of(&r, path);
		CHECK(k[i].hex[0] != '\0');
		rig_close(&r);
	}
	/* a part made letting a warning through is another part */
	CHECK_STR(k[0].hex, k[1].hex);
	CHECK(strcmp(k[1].hex, k[2].hex) != 0);
	CHECK(strcmp(k[2].hex, k[3].hex) != 0);
	free(path);
}

static void
a_bolts_helper_leading_out_of_the_library_is_refused(void)
{
	struct rig r;
	struct perr e = { 0 };
	struct plan p;
	char *path = k_path("x", "stl"), *link, *target;

	rig_open(&r, FAKE_OPENSCAD, "");
	target = xasprintf("%s/common.scad", r.tmp);
	tap_write(r.tmp, "common.scad", "// outside the library\n");
	tap_write(r.dir, "backends/openscad/conf.scad", "// conf\n");
	link = xasprintf("%s/backends/openscad/common.scad", r.dir);
	CHECK(symlink(target, link) == 0);
	CHECK_INT(fixture_plan(&r.env, r.lib, path, &p, &e), -EXDEV);
	CHECK_CONTAINS(e.msg, "backends/openscad/common.scad");
	CHECK_CONTAINS(e.msg, "outside the library: refused");
	free(link);
	free(target);
	free(path);
	rig_close(&r);
}

static void
openscad_values_never_appear_on_its_command_line(void)
{
	struct rig r;
	struct engine_failure f;
	char *path, *scratch, **argv;
	size_t n = 0;
	const char *value = "\"); echo(\"pwned\"); // -o /tmp/x";

	rig_open(&r, FAKE_OPENSCAD, NULL);
	path = k_path(value, "stl");
	CHECK_MSG(make(&r, path, &f, &scratch, NULL) == 0, "%s", f.summary);
	argv = read_lines(r.rec, "argv", &n);
	CHECK(argv != NULL);
	/* program -o OUTPUT --export-format binstl WRAPPER */
	CHECK_INT(n, 6);
	CHECK_STR(argv[1], "-o");
	CHECK(str_has_prefix(argv[2], scratch));
	CHECK_STR(argv[3], "--export-format");
	CHECK_STR(argv[4], "binstl");
	CHECK(str_has_prefix(argv[5], scratch));
	for (size_t i = 0; i < n; i++)
		CHECK_MSG(strstr(argv[i], "pwned") == NULL, "argv[%zu] %s", i,
		    argv[i]);
	free_strings(argv);
	engine_failure_clear(&f);
	free(scratch);
	free(path);
	rig_close(&r);
}

static void
openscad_gets_booleans_numbers_and_none_as_literals_lengths_in_mm(void)
{
	struct rig r;
	struct engine_failure f;
	struct scad_call call;
	char *file, *wrapper;

	rig_open(&r, FAKE_OPENSCAD, NULL);
	CHECK_MSG(make(&r, "c/lit/true/A/default.stl", &f, NULL, NULL) == 0,
	    "%s", f.summary);
	file = xasprintf("%s/wrapper.scad", r.rec);
	wrapper = fixture_read(file, NULL);
	CHECK_MSG(scad_parse(wrapper, &call, false), "%s in\n%s", call.error,
	    wrapper);
	CHECK_STR(call.entry, "ml");
	CHECK_INT(call.nargs, 5);
	CHECK_STR(call.args[0], "true");
	CHECK_STR(call.args[1], "12.7");      /* 0.5 in */
	CHECK_STR(call.args[2], "undef");     /* None */
	CHECK_STR(call.args[3], "0.1");
	CHECK(call.is_string[4]);
	CHECK_STR(call.args[4], "A");
	scad_call_clear(&call);
	free(wrapper);
	engine_failure_clear(&f);
	CHECK_MSG(make(&r, "c/lit/false/A/default.stl", &f, NULL, NULL) == 0,
	    "%s", f.summary);
	wrapper = fixture_read(file, NULL);
	CHECK_MSG(scad_parse(wrapper, &call, false), "%s", call.error);
	CHECK_STR(call.args[0], "false");
	scad_call_clear(&call);
	free(wrapper);
	free(file);
	engine_failure_clear(&f);
	rig_close(&r);
}

/* Values that would be OpenSCAD code, or break its strings, if they were
 * spliced into the wrapper. */
static bool
is_scad_injection(const char *s)
{
	return strpbrk(s, "\"\\\n\t\r<") != NULL || s[0] == '\0' ||
	    (unsigned char)s[strlen(s) - 1] >= 0x80;
}

static void
real_openscad_echoes_string_values_unchanged_and_runs_no_injected_code(void)
{
	struct rig r;

	rig_open(&r, REAL_OPENSCAD, NULL);
	for (size_t i = 0; i < NNASTY; i++) {
		struct engine_failure f;
		char *path, *cps, *want;
		const char *t;
		int echoes = 0;

		/* the real engine for a few (the fake one checks them all) */
		if (!is_scad_injection(NASTY[i]))
			continue;
		path = k_path(NASTY[i], "stl");
		cps = code_points(NASTY[i]);
		/* the module stops with an error after its echoes */
		CHECK_INT(make(&r, path, &f, NULL, NULL), -EIO);
		CHECK(f.stderr_tail != NULL);
		CHECK_CONTAINS(f.stderr_tail, "stopped after the echo");
		want = xasprintf("ECHO: \"code points: %s\"\n", cps);
		CHECK_MSG(strstr(f.stderr_tail, want) != NULL, "value \"%s\": "
		    "no %s in:\n%s", shown(NASTY[i]), want, f.stderr_tail);
		/* echo(s) and the code points: no other echo ran */
		for (t = f.stderr_tail; (t = strstr(t, "ECHO:")) != NULL; t++)
			echoes++;
		CHECK_MSG(echoes == 2, "value \"%s\": %d echoes in:\n%s",
		    shown(NASTY[i]), echoes, f.stderr_tail);
		CHECK(strstr(f.stderr_tail, "WARNING") == NULL);
		free(want);
		free(cps);
		engine_failure_clear(&f);
		free(path);
	}
	rig_close(&r);
}

/* `hay` does not contain `needle`. */
#define CHECK_LACKS(hay, needle) CHECK_MSG((hay) != NULL && \
	strstr((hay), (needle)) == NULL, "%s contains \"%s\": %s", #hay, \
	(needle), (hay) != NULL ? (hay) : "(null)")

/* Make k (s = x, len = 20) as STL with the real openscad of rig `r`
 * (opened for REAL_OPENSCAD) and the module file `scad`: what make
 * returns, `fail` filled (and the whole failure text in *text, caller
 * frees), the part's largest x in *xmax when made. */
static int
real_make(struct rig *r, const char *scad, struct engine_failure *fail,
    char **text, double *xmax)
{
	char *path = k_path("x", "stl"), *out = NULL, *data;
	size_t len;
	int rc;

	tap_write(r->dir, "openscad/c/m.scad", scad);
	rc = make(r, path, fail, NULL, &out);
	*text = engine_failure_text(fail);
	*xmax = -1e300;
	if (rc == 0 && (data = fixture_read(out, &len)) != NULL) {
		/* binary STL: 84 bytes, then 50 a triangle */
		for (size_t t = 84; t + 50 <= len; t += 50) {
			for (int v = 0; v < 3; v++) {
				float x;
				memcpy(&x, data + t + 12 + 12 * v, 4);
				if (x > *xmax)
					*xmax = x;
			}
		}
		free(data);
	}
	if (out != NULL)
		unlink(out);
	free(out);
	free(path);
	return rc;
}

/* What the real openscad says that makes a part another one fails it,
 * with OpenSCAD's message in the report. */
static void
real_openscad_fails_a_part_it_warns_is_another(void)
{
	static const struct {
		const char *scad, *says, *allow;
	} cases[] = {
		{ "module m(s, len) { nothere(len); cube(len); }\n",
		  "WARNING: Ignoring unknown module 'nothere'",
		  "allow-warnings: [unknown-module]" },
		{ "module m(s, len) { cube(twice(len)); }\n",
		  "WARNING: Ignoring unknown function 'twice'",
		  "allow-warnings: [unknown-function]" },
		{ "module m(s, len) { cube(len + extra); }\n",
		  "WARNING: Ignoring unknown variable 'extra'",
		  "allow-warnings: [unknown-variable]" },
		{ "include <nowhere.scad>\nmodule m(s, len) { cube(len); }\n",
		  "WARNING: Can't open include file 'nowhere.scad'",
		  "allow-warnings: [missing-file]" },
		{ "use <nowhere.scad>\nmodule m(s, len) { cube(len); }\n",
		  "WARNING: Can't open library 'nowhere.scad'",
		  "allow-warnings: [missing-file]" },
		{ "module m(s, len) { echo(\"BOLTS Error: no size\"); "
		  "cube(len); }\n", "ECHO: \"BOLTS Error: no size\"",
		  "allow-warnings: [bolts-error]" },
	};

	struct rig r;

	rig_open(&r, REAL_OPENSCAD, NULL);
	for (size_t i = 0; i < PF_ARRAY_LEN(cases); i++) {
		struct engine_failure f;
		char *text;
		double x;

		CHECK_INT(real_make(&r, cases[i].scad, &f, &text, &x), -EIO);
		CHECK_CONTAINS(f.summary, "openscad exited with status 0");
		CHECK_CONTAINS(f.summary, cases[i].says);
		CHECK_CONTAINS(f.summary, cases[i].allow);
		CHECK_CONTAINS(f.stderr_tail, cases[i].says);
		CHECK_CONTAINS(text, cases[i].says);
		CHECK(f.command != NULL);
		free(text);
		engine_failure_clear(&f);
	}
	rig_close(&r);
}

static void
real_openscad_fails_a_parse_error_or_an_empty_part_with_its_message(void)
{
	static const struct {
		const char *scad, *says;
	} cases[] = {
		{ "module m(s, len) { cube(len) \n",
		  "ERROR: Parser error: syntax error" },
		{ "module m(s, len) { }\n",
		  "Current top level object is empty." },
		{ "module m(s, len) { assert(len < 10, \"too long\"); "
		  "cube(len); }\n", "ERROR: Assertion '(len < 10)' failed" },
	};

	struct rig r;

	/* however lax the configuration */
	rig_open(&r, REAL_OPENSCAD, "    allow-warnings: [all]\n");
	for (size_t i = 0; i < PF_ARRAY_LEN(cases); i++) {
		struct engine_failure f;
		char *text;
		double x;

		CHECK_INT(real_make(&r, cases[i].scad, &f, &text, &x), -EIO);
		CHECK_CONTAINS(f.summary, "openscad exited with status 1");
		CHECK_CONTAINS(f.summary, cases[i].says);
		CHECK_CONTAINS(text, cases[i].says);
		free(text);
		engine_failure_clear(&f);
	}
	rig_close(&r);
}

static void
real_openscad_allows_the_kinds_the_configuration_lets_through(void)
{
	struct engine_failure f;
	struct rig r;
	char *text;
	double x;

	rig_open(&r, REAL_OPENSCAD, "    allow-warnings: [unknown-variable]\n");
	CHECK_INT(real_make(&r, "module m(s, len) { cube(len + extra); }\n",
	    &f, &text, &x), 0);
	CHECK_NUM(x, 1);        /* undef + 20 is undef: a unit cube */
	free(text);
	engine_failure_clear(&f);
	/* only those */
	CHECK_INT(real_make(&r, "module m(s, len) { nothere(); cube(len + "
	    "extra); }\n", &f, &text, &x), -EIO);
	CHECK_CONTAINS(f.summary, "unknown module 'nothere'");
	CHECK_LACKS(f.summary, "unknown variable");
	free(text);
	engine_failure_clear(&f);
	rig_close(&r);
	rig_open(&r, REAL_OPENSCAD, "    allow-warnings: [all]\n");
	CHECK_INT(real_make(&r, "module m(s, len) { nothere(); cube(len); }\n",
	    &f, &text, &x), 0);
	CHECK_NUM(x, 20);
	free(text);
	engine_failure_clear(&f);
	rig_close(&r);
}

static void
real_openscad_reports_its_warnings_not_its_statistics(void)
{
	struct engine_failure f;
	struct rig r;
	char *text;
	double x;

	/* a render that CGAL does ends with a dozen lines of statistics */
	rig_open(&r, REAL_OPENSCAD, NULL);
	CHECK_INT(real_make(&r, "module m(s, len) { nothere(); difference() { "
	    "cube(len); sphere(len / 2); } }\n", &f, &text, &x), -EIO);
	CHECK_CONTAINS(f.stderr_tail, "WARNING: Ignoring unknown module "
	    "'nothere'");
	CHECK_LACKS(text, "Geometries in cache");
	CHECK_LACKS(text, "Volumes:");
	CHECK_LACKS(text, "Total rendering time");
	/* the module file by its absolute name, not from the scratch
	 * directory */
	CHECK_CONTAINS(text, "in file /");
	CHECK_LACKS(text, "in file ../");
	free(text);
	engine_failure_clear(&f);
	rig_close(&r);
}

static void
real_openscad_leaves_a_top_level_object_of_the_module_file_out(void)
{
	struct engine_failure f;
	struct rig r;
	char *text;
	double x;

	rig_open(&r, REAL_OPENSCAD, NULL);
	CHECK_INT(real_make(&r, "module m(s, len) { cube(len); }\n"
	    "translate([100, 0, 0]) cube(1);  // meant to be used\n", &f,
	    &text, &x), 0);
	CHECK_NUM(x, 20);
	free(text);
	engine_failure_clear(&f);
	rig_close(&r);
}

/* FreeCAD. */

/* Make k with each value under `eng` and check what the function got;
 * `pwned` is a file that values which ran as code would make. */
static void
freecad_values(enum engine eng, const char *const *values, size_t n,
    const char *pwned)
{
	struct rig r;

	rig_open(&r, eng, NULL);
	for (size_t i = 0; i < n; i++) {
		struct engine_failure f;
		char *path = k_path(values[i], "step"), *label;
		json_t *got, *job = NULL;

		CHECK_MSG(make(&r, path, &f, NULL, NULL) == 0, "%s: %s\n%s",
		    path, f.summary, f.stderr_tail);
		/* what the BOLTS function was given */
		CHECK((got = load_json(r.rec, "params.json")) != NULL);
		CHECK_MSG(json_is_string(json_object_get(got, "s")) &&
		    strcmp(json_string_value(json_object_get(got, "s")),
		    values[i]) == 0, "value \"%s\": the function got \"%s\"",
		    shown(values[i]), json_string_value(json_object_get(got,
		    "s")));
		CHECK_INT(json_integer_value(json_object_get(got, "len")), 20);
		label = xasprintf("K %s", values[i]);
		CHECK_STR(json_string_value(json_object_get(got, "name")),
		    label);
		if (eng == FAKE_FREECAD) {
			/* and the job file the driver read */
			CHECK((job = load_json(r.rec, "job.json")) != NULL);
			CHECK_STR(json_string_value(json_object_get(
			    json_object_get(job, "params"), "s")), values[i]);
			CHECK_STR(json_string_value(json_object_get(job,
			    "label")), label);
		}
		CHECK_MSG(access(pwned, F_OK) != 0, "value \"%s\" ran",
		    shown(values[i]));
		json_decref(job);
		json_decref(got);
		free(label);
		engine_failure_clear(&f);
		free(path);
	}
	rig_close(&r);
}

static void
freecad_string_values_reach_the_function_as_the_same_strings(void)
{
	const char *values[NNASTY + 2];
	char *pwned = xasprintf("%s/pwned", tap_tmpdir());

	for (size_t i = 0; i < NNASTY; i++)
		values[i] = NASTY[i];
	/* values that make a file if they run */
	values[NNASTY] = xasprintf("__import__('os').system('touch %s')",
	    pwned);
	values[NNASTY + 1] = xasprintf("'''); open(%s, 'w'); ('''",
	    fixture_yaml_str(pwned));
	freecad_values(FAKE_FREECAD, values, PF_ARRAY_LEN(values), pwned);
	free((char *)values[NNASTY]);
	free((char *)values[NNASTY + 1]);
	free(pwned);
}

static void
real_freecad_passes_string_values_as_data(void)
{
	const char *values[3];
	char *pwned = xasprintf("%s/pwned", tap_tmpdir());

	values[0] = xasprintf("__import__('os').system('touch %s')", pwned);
	values[1] = xasprintf("\"\"\"); open(%s, 'w'); (\"\"\"",
	    fixture_yaml_str(pwned));
	values[2] = "two\nlines \\n \" ' $HOME `id` \xc3\xa9 \xf0\x9f\x99\x82";
	freecad_values(REAL_FREECAD, values, PF_ARRAY_LEN(values), pwned);
	free((char *)values[0]);
	free((char *)values[1]);
	free(pwned);
}

/* The command executor. */

static void
command_parameter_file_holds_the_exact_strings(void)
{
	struct rig r;

	rig_open(&r, COMMAND, NULL);
	for (size_t i = 0; i < NNASTY; i++) {
		struct engine_failure f;
		char *path = k_path(NASTY[i], "step"), *label;
		json_t *j, *params;

		CHECK_MSG(make(&r, path, &f, NULL, NULL) == 0, "%s: %s", path,
		    f.summary);
		CHECK((j = load_json(r.rec, "params.json")) != NULL);
		params = json_object_get(j, "params");
		CHECK_MSG(json_is_string(json_object_get(params, "s")) &&
		    strcmp(json_string_value(json_object_get(params, "s")),
		    NASTY[i]) == 0, "value \"%s\": got \"%s\"",
		    shown(NASTY[i]), json_string_value(json_object_get(params,
		    "s")));
		CHECK_INT(json_integer_value(json_object_get(params, "len")),
		    20);
		label = xasprintf("K %s", NASTY[i]);
		CHECK_STR(json_string_value(json_object_get(j, "label")), label);
		CHECK_STR(json_string_value(json_object_get(j, "format")),
		    "step");
		CHECK_STR(json_string_value(json_object_get(j, "class")), "k");
		CHECK_STR(json_string_value(json_object_get(j, "collection")),
		    "c");
		free(label);
		json_decref(j);
		engine_failure_clear(&f);
		free(path);
	}
	rig_close(&r);
}

static void
command_arguments_are_passed_as_they_are_without_a_shell(void)
{
	static const char *const literal[] = { "a b", "$HOME", "*", "`id`",
	    "x;y", "'q'", "\"dq\"", "{not a placeholder}", "" };
	struct rig r;
	struct engine_failure f;
	char *scratch, **got, *want;
	size_t n = 0;

	rig_open(&r, COMMAND, "\"a b\", \"$HOME\", \"*\", \"`id`\", "
	    "\"x;y\", \"'q'\", \"\\\"dq\\\"\", \"{not a placeholder}\", \"\", "
	    "\"--out={output}\", \"{format}{format}\"");
	CHECK_MSG(make(&r, "c/k/s=$(id).stl", &f, &scratch, NULL) == 0, "%s",
	    f.summary);
	got = read_lines(r.rec, "argv", &n);
	CHECK(got != NULL);
	/* each element one argument, as written, placeholders replaced */
	CHECK_INT(n, 7 + PF_ARRAY_LEN(literal) + 2);
	CHECK_STR(got[0], fixture_fake_engine());
	CHECK_STR(got[1], "--record");
	CHECK_STR(got[2], r.rec);
	want = xasprintf("%s/params.json", scratch);
	CHECK_STR(got[3], want);
	free(want);
	want = xasprintf("%s/out.stl", scratch);
	CHECK_STR(got[4], want);
	free(want);
	CHECK_STR(got[5], "stl");
	want = xasprintf("%s/fake/c/box.txt", r.lib->root);
	CHECK_STR(got[6], want);
	free(want);
	for (size_t i = 0; i < PF_ARRAY_LEN(literal); i++)
		CHECK_STR(got[7 + i], literal[i]);
	want = xasprintf("--out=%s/out.stl", scratch);
	CHECK_STR(got[7 + PF_ARRAY_LEN(literal)], want);
	free(want);
	CHECK_STR(got[8 + PF_ARRAY_LEN(literal)], "stlstl");
	free_strings(got);
	free(scratch);
	engine_failure_clear(&f);
	rig_close(&r);
}

static void
a_command_whose_program_is_its_script_runs_the_script(void)
{
	struct rig r;
	struct buf y = BUF_INIT;
	struct engine_failure f;
	struct conf *conf;
	struct library *lib;
	char *run, *text, *summary;
	bool made, ran;

	/* partsfs.conf(5): argv's first element is "the program (following
	 * the program rule, or a placeholder)" */
	rig_open(&r, COMMAND, NULL);
	run = xasprintf("%s/fake/c/box.txt", r.dir);
	text = xasprintf("#!/bin/sh\nexec %s --record %s \"$@\"\n",
	    fixture_fake_engine(), r.rec);
	fixture_write_exec(run, text);
	free(text);
	buf_printf(&y, "executors:\n  model: fake\n"
	    "  commands:\n    - name: fake\n"
	    "      argv: [\"{script}\", \"{params}\", \"{output}\", "
	    "\"{format}\", \"{script}\"]\n      formats: [stl, step]\n");
	conf = fixture_conf(buf_str(&y));
	buf_free(&y);
	lib = fixture_load_conf(r.dir, conf);
	library_unref(r.lib);
	conf_free(r.conf);
	r.lib = lib;
	r.conf = conf;
	r.env.conf = conf;
	r.env.root = lib->root;
	made = make(&r, "c/k/default.stl", &f, NULL, NULL) == 0;
	summary = xstrdup(f.summary != NULL ? f.summary : "");
	engine_failure_clear(&f);
	/* it ran: the fake engine recorded the run */
	text = xasprintf("%s/argv", r.rec);
	ran = access(text, F_OK) == 0;
	free(text);
	free(run);
	rig_close(&r);
	if (!made)
		tap_fail(__FILE__, __LINE__, "not made: %s", summary);
	free(summary);
	if (made)
		CHECK(ran);
}

/* Every executor. */

static void
an_engine_runs_with_a_clean_environment_in_its_scratch_directory(void)
{
	struct rig r;
	struct engine_failure f;
	char *scratch, **env, **cwd, *want;
	size_t n = 0, ncwd = 0;
	bool home = false;

	setenv("PARTSFS_TEST_SECRET", "must not leak", 1);
	rig_open(&r, COMMAND, NULL);
	CHECK_MSG(make(&r, "c/k/default.stl", &f, &scratch, NULL) == 0, "%s",
	    f.summary);
	unsetenv("PARTSFS_TEST_SECRET");
	env = read_lines(r.rec, "env", &n);
	CHECK(env != NULL);
	want = xasprintf("HOME=%s", scratch);
	for (size_t i = 0; i < n; i++) {
		CHECK_MSG(!str_has_prefix(env[i], "PARTSFS_TEST_SECRET="),
		    "%s", env[i]);
		home |= strcmp(env[i], want) == 0;
	}
	free(want);
	CHECK(home);
	CHECK_MSG(n <= 16, "%zu variables", n);
	cwd = read_lines(r.rec, "cwd", &ncwd);
	CHECK(cwd != NULL && ncwd == 1);
	CHECK_STR(cwd[0], scratch);
	free_strings(cwd);
	free_strings(env);
	free(scratch);
	engine_failure_clear(&f);
	rig_close(&r);
}

static void
an_engine_output_that_is_missing_empty_or_of_another_format_fails(void)
{
	static const char *const modes[][2] = {
		{ "nothing", "cannot open the output" },
		{ "empty", "the output is empty" },
		{ "garbage", "not a STEP file" },
	};
	struct rig r;

	rig_open(&r, COMMAND, NULL);
	for (size_t i = 0; i < PF_ARRAY_LEN(modes); i++) {
		struct engine_failure f;
		char *path = xasprintf("c/k/mode=%s.step", modes[i][0]), *out;

		CHECK_INT(make(&r, path, &f, NULL, &out), -EIO);
		CHECK(out == NULL);
		CHECK_CONTAINS(f.summary, "fake exited with status 0");
		CHECK_CONTAINS(f.summary, "its output is unusable");
		CHECK_CONTAINS(f.summary, modes[i][1]);
		engine_failure_clear(&f);
		free(path);
	}
	rig_close(&r);
}

static void
a_failure_names_the_engine_its_exit_status_and_its_last_stderr_lines(void)
{
	struct rig r;
	struct engine_failure f;
	char *text;

	rig_open(&r, COMMAND, NULL);
	CHECK_INT(make(&r, "c/k/mode=fail.step", &f, NULL, NULL), -EIO);
	CHECK_CONTAINS(f.summary, "fake exited with status 3 after");
	CHECK_CONTAINS(f.command, fixture_fake_engine());
	CHECK_CONTAINS(f.stderr_tail, "fake-engine: giving up as asked");
	CHECK(!f.timed_out);
	text = engine_failure_text(&f);
	CHECK_CONTAINS(text, f.summary);
	CHECK_CONTAINS(text, f.command);
	CHECK_CONTAINS(text, "fake-engine: giving up as asked");
	free(text);
	engine_failure_clear(&f);
	CHECK_INT(make(&r, "c/k/mode=crash.step", &f, NULL, NULL), -EIO);
	CHECK_CONTAINS(f.summary, "fake was killed by signal 11");
	engine_failure_clear(&f);
	rig_close(&r);
}

static void
an_engine_out_of_time_is_killed_and_the_failure_says_so(void)
{
	struct rig r;
	struct engine_failure f;
	double t0;

	rig_open(&r, COMMAND, NULL);
	r.conf->timeout = 0.5;
	t0 = now_s();
	CHECK_INT(make(&r, "c/k/mode=hang.step", &f, NULL, NULL), -EIO);
	CHECK(now_s() - t0 < 10);
	CHECK(f.timed_out);
	CHECK_CONTAINS(f.summary, "fake timed out after 0.5 s");
	engine_failure_clear(&f);
	rig_close(&r);
}

static void
a_glb_is_converted_from_the_engine_stl(void)
{
	struct rig r;
	struct engine_failure f;
	char *out = NULL, *data;
	size_t n = 0;

	rig_open(&r, COMMAND, NULL);
	CHECK_MSG(make(&r, "c/k/default.glb", &f, NULL, &out) == 0, "%s\n%s",
	    f.summary, f.stderr_tail);
	CHECK(str_has_suffix(out, ".glb"));
	data = fixture_read(out, &n);
	CHECK(data != NULL && n > 12);
	CHECK(memcmp(data, "glTF", 4) == 0);
	free(data);
	free(out);
	engine_failure_clear(&f);
	rig_close(&r);
}

/* The version line FreeCAD's driver leaves beside a part is read as the
 * driver wrote it, and only then: not through a link, nor when it is far
 * longer than a version line. */
static void
the_version_a_freecad_run_reports_is_read_only_from_its_own_short_file(void)
{
	const char *tmp = tap_tmpdir();
	char *scratch = xasprintf("%s/report", tmp);
	char *file = xasprintf("%s/freecad-version.txt", scratch);
	char *target = xasprintf("%s/elsewhere.txt", tmp);
	char big[600], *got;
	FILE *f;

	CHECK(mkdir(scratch, 0700) == 0);
	CHECK(freecad_report(scratch) == NULL);         /* none written */
	f = fopen(file, "w");
	fputs("FreeCAD 0.20.2 \n", f);
	fclose(f);
	got = freecad_report(scratch);
	CHECK_STR(got, "FreeCAD 0.20.2 \n");
	free(got);
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	f = fopen(file, "w");
	fputs(big, f);
	fclose(f);
	CHECK(freecad_report(scratch) == NULL);
	f = fopen(target, "w");
	fputs("FreeCAD from elsewhere\n", f);
	fclose(f);
	CHECK(unlink(file) == 0 && symlink(target, file) == 0);
	CHECK(freecad_report(scratch) == NULL);
	free(target);
	free(file);
	free(scratch);
}

/* FreeCAD's version query and its runs give one version: the query's
 * answer is the line the driver marks, not freecadcmd's banner printed
 * before it, and it is the line a run writes beside its part. */
static void
real_freecad_answers_its_version_query_as_its_runs_report_it(void)
{
	struct rig r;
	struct engine_failure f;
	struct plan p;
	struct perr e = { 0 };
	char *path = k_path("v", "step"), *scratch = NULL, *report, *asked;
	bool unknown = false;

	rig_open(&r, REAL_FREECAD, NULL);
	/* the first part of a fresh cache: its run reports the version */
	CHECK_MSG(make_as(&r, path, true, &f, &scratch, NULL) == 0, "%s\n%s",
	    f.summary, f.stderr_tail);
	report = freecad_report(scratch);
	CHECK_MSG(report != NULL && strncmp(report, "FreeCAD ", 8) == 0,
	    "report [%s]", report);
	/* planning with the query asked (plan_make): its answer */
	CHECK_MSG(fixture_plan(&r.env, r.lib, path, &p, &e) == 0, "%s", e.msg);
	asked = plan_version(&r.env, &p, VERSION_ASK, &unknown);
	CHECK(asked != NULL && !unknown);
	/* the report is the version and a newline */
	CHECK_MSG(report != NULL && asked != NULL &&
	    strlen(report) == strlen(asked) + 1 &&
	    strncmp(report, asked, strlen(asked)) == 0,
	    "asked [%s], reported [%s]", asked, report);
	free(asked);
	free(report);
	plan_clear(&p);
	engine_failure_clear(&f);
	free(scratch);
	free(path);
	rig_close(&r);
}

/* Which FreeCAD a run used is what the driver says before the library's
 * module loads: a function that writes the report file or a marked line
 * of its own changes nothing, and one that floods stderr past what is
 * kept leaves no report at all (the version is then asked), never its
 * own.  (The stand-in FreeCAD's version is 0.99.0.) */
static void
a_freecad_function_cannot_choose_the_version_its_run_reports(void)
{
	static const char *const hostile[] = {
	    /* the report file, and a marked line after the driver's */
	    "import sys\n\n\ndef f(params, document):\n"
	    "    with open('freecad-version.txt', 'w') as fh:\n"
	    "        fh.write('FreeCAD 9.9.9 forged\\n')\n"
	    "    sys.stderr.write('" VERSION_MARK "FreeCAD 9.9.9 forged\\n')\n"
	    "    document.addObject('Part::Box', 'box')\n",
	    /* stderr flooded, then a marked line: the driver's is lost */
	    "import sys\n\n\ndef f(params, document):\n"
	    "    sys.stderr.write(('x' * 1000 + '\\n') * 200)\n"
	    "    sys.stderr.write('" VERSION_MARK "FreeCAD 9.9.9 forged\\n')\n"
	    "    document.addObject('Part::Box', 'box')\n",
	};
	static const char *const want[] = { "FreeCAD 0.99.0 stand-in\n", NULL };
	struct rig r;
	struct engine_failure f;
	char *path, *scratch = NULL, *got;

	for (size_t i = 0; i < PF_ARRAY_LEN(hostile); i++) {
		path = k_path("h", "step");
		rig_open(&r, FAKE_FREECAD, NULL);
		tap_write(r.dir, "freecad/c/m.py", hostile[i]);
		CHECK_MSG(make_as(&r, path, true, &f, &scratch, NULL) == 0,
		    "%s\n%s", f.summary, f.stderr_tail);
		got = freecad_report(scratch);
		if (want[i] == NULL)
			CHECK_MSG(got == NULL, "case %zu: reported [%s]", i, got);
		else
			CHECK_STR(got, want[i]);
		free(got);
		engine_failure_clear(&f);
		free(scratch);
		free(path);
		rig_close(&r);
	}
	/* a failure's report has the engine's lines, not the driver's mark;
	 * its run still says which FreeCAD failed */
	path = k_path("e", "step");
	scratch = NULL;
	rig_open(&r, FAKE_FREECAD, NULL);
	tap_write(r.dir, "freecad/c/m.py", "def f(params, document):\n"
	    "    raise ValueError('no such screw')\n");
	CHECK(make_as(&r, path, true, &f, &scratch, NULL) == -EIO);
	CHECK_CONTAINS(f.stderr_tail, "no such screw");
	CHECK_MSG(strstr(f.stderr_tail, VERSION_MARK) == NULL, "%s",
	    f.stderr_tail);
	got = freecad_report(scratch);
	CHECK_STR(got, "FreeCAD 0.99.0 stand-in\n");
	free(got);
	engine_failure_clear(&f);
	free(scratch);
	free(path);
	rig_close(&r);
}

static void
skipped(void)
{
}

int
main(void)
{
	struct tap_case cases[] = {
		TAP_CASE(openscad_string_values_reach_the_module_as_the_same_strings),
		TAP_CASE(openscad_uses_the_bolts_helpers_of_the_library_without_an_include_key),
		TAP_CASE(openscad_takes_no_helpers_when_one_is_missing_or_the_include_key_is_set),
		TAP_CASE(a_bolts_helper_leading_out_of_the_library_is_refused),
		TAP_CASE(the_warnings_openscad_may_give_are_in_the_key),
		TAP_CASE(openscad_values_never_appear_on_its_command_line),
		TAP_CASE(openscad_gets_booleans_numbers_and_none_as_literals_lengths_in_mm),
		TAP_CASE(real_openscad_echoes_string_values_unchanged_and_runs_no_injected_code),
		TAP_CASE(real_openscad_fails_a_part_it_warns_is_another),
		TAP_CASE(real_openscad_fails_a_parse_error_or_an_empty_part_with_its_message),
		TAP_CASE(real_openscad_allows_the_kinds_the_configuration_lets_through),
		TAP_CASE(real_openscad_reports_its_warnings_not_its_statistics),
		TAP_CASE(real_openscad_leaves_a_top_level_object_of_the_module_file_out),
		TAP_CASE(freecad_string_values_reach_the_function_as_the_same_strings),
		TAP_CASE(real_freecad_passes_string_values_as_data),
		TAP_CASE(command_parameter_file_holds_the_exact_strings),
		TAP_CASE(command_arguments_are_passed_as_they_are_without_a_shell),
		TAP_CASE(a_command_whose_program_is_its_script_runs_the_script),
		TAP_CASE(an_engine_runs_with_a_clean_environment_in_its_scratch_directory),
		TAP_CASE(an_engine_output_that_is_missing_empty_or_of_another_format_fails),
		TAP_CASE(a_failure_names_the_engine_its_exit_status_and_its_last_stderr_lines),
		TAP_CASE(an_engine_out_of_time_is_killed_and_the_failure_says_so),
		TAP_CASE(a_glb_is_converted_from_the_engine_stl),
		TAP_CASE(the_version_a_freecad_run_reports_is_read_only_from_its_own_short_file),
		TAP_CASE(real_freecad_answers_its_version_query_as_its_runs_report_it),
		TAP_CASE(a_freecad_function_cannot_choose_the_version_its_run_reports),
	};
	char *names[PF_ARRAY_LEN(cases)] = { NULL };
	int rc;

	/* a case of an engine that is not here is a TAP skip */
	for (size_t i = 0; i < PF_ARRAY_LEN(cases); i++) {
		const char *why = NULL;
		char *p = NULL;
		if (strncmp(cases[i].name, "real_openscad", 13) == 0 &&
		    (p = version_program(NULL, "openscad", false)) == NULL)
			why = "openscad is not installed";
		else if (strncmp(cases[i].name, "real_freecad", 12) == 0 &&
		    (p = version_program(NULL, "freecadcmd", false)) == NULL)
			why = "freecadcmd is not installed";
		else if (strncmp(cases[i].name, "freecad_", 8) == 0 &&
		    python3() == NULL)
			why = "python3 is not installed";
		free(p);
		if (why != NULL) {
			names[i] = xasprintf("%s # SKIP %s", cases[i].name, why);
			cases[i].name = names[i];
			cases[i].fn = skipped;
		}
	}
	rc = tap_run(cases, PF_ARRAY_LEN(cases));
	for (size_t i = 0; i < PF_ARRAY_LEN(cases); i++)
		free(names[i]);
	return rc;
}
