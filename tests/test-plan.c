/* test-plan.c -- planning: the cache key changes with every input DESIGN.md
 * lists (the format, the executor and its version, the bytes of every
 * generator source, the canonical resolved parameters) and only with them
 * (not with comments elsewhere, modification times, the order of values
 * in a path, where the library or the cache is).  The engines are small
 * scripts: planning only asks them for their version. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "tap.h"

static const char CLASSES[] =
    "  - id: k\n"
    "    names: {name: K, labeling: 'K %%(len)s %%(s)s'}\n"
    "    parameters:\n"
    "      free: [len, s, n]\n"
    "      defaults: {len: 20, s: a, n: 1}\n"
    "      types: {len: Length (mm), s: String, n: Number}\n"
    "    source: test\n"
    "  - id: t\n"
    "    names: {name: T, labeling: 'T %%(size)s'}\n"
    "    parameters:\n"
    "      free: [size]\n"
    "      defaults: {size: M8}\n"
    "      types: {size: Table Index, d: Length (mm)}\n"
    "      tables:\n"
    "        index: size\n"
    "        columns: [d]\n"
    "        data:\n"
    "          M8: [%s]\n"
    "          M10: [%s]\n"
    "    source: test\n";

static const char OTHER_BLT[] =
    "---\nid: other\nauthor: T <t@example.org>\nlicense: MIT <x>\n"
    "blt-version: 0.4\nclasses:\n"
    "  - id: o\n"
    "    parameters: {free: [x], types: {x: Number}, defaults: {x: 1}}\n"
    "    source: test\n";

static const char SCAD_BASE[] =
    "- filename: m.scad\n  type: module\n  author: a <b@example.org>\n"
    "  license: MIT <x>\n  modules:\n"
    "    - {name: m, arguments: [len, s, n], classids: [k]}\n"
    "    - {name: mt, arguments: [d], classids: [t]}\n";

static const char FREECAD_BASE[] =
    "- filename: m.py\n  type: function\n  author: a <b@example.org>\n"
    "  license: MIT <x>\n  functions:\n"
    "    - {name: f, classids: [k, t]}\n";

static const char FAKE_BASE[] =
    "- {filename: box.txt, type: script, author: t <t@example.org>, "
    "license: MIT <x>, classids: [k]}\n";

/* A library of every executor, fake engines and a cache. */
struct rig {
	char *dir;                      /* the library */
	const char *tmp;
	char *openscad;                 /* the engines: scripts */
	char *freecad;
	char *driver;                   /* a copy of the FreeCAD driver */
	char *cachedir;
	const char *model;              /* executors.model */
	struct conf *conf;
	struct library *lib;
	struct cache *cache;
	struct exec_env env;
};

/* The text of data/c.blt, with the table cells d of M8 and M10. */
static char *
c_blt(const char *m8, const char *m10)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, "---\nid: c\nauthor: T <t@example.org>\nlicense: MIT "
	    "<x>\nblt-version: 0.4\nclasses:\n");
	buf_printf(&b, CLASSES, m8, m10);
	return buf_steal(&b);
}

static void
write_openscad(struct rig *r, const char *version)
{
	char *text = xasprintf("#!/bin/sh\n# a fake OpenSCAD: it only "
	    "answers --version\necho 'OpenSCAD version %s'\n", version);

	fixture_write_exec(r->openscad, text);
	free(text);
}

/* (Re)load the configuration, the library and the cache. */
static void
rig_load(struct rig *r)
{
	struct buf y = BUF_INIT;
	struct perr e = { 0 };

	if (r->lib != NULL)
		library_unref(r->lib);
	if (r->cache != NULL)
		cache_close(r->cache);
	conf_free(r->conf);
	buf_printf(&y, "executors:\n"
	    "  openscad:\n    program: %s\n    include: [prelude.scad]\n"
	    "  freecad:\n    program: %s\n    driver: %s\n"
	    "  commands:\n    - name: fake\n"
	    "      argv: [%s, \"{params}\", \"{output}\", \"{format}\", "
	    "\"{script}\"]\n      formats: [stl, step]\n"
	    "  model: %s\n  models: {t: freecad}\n"
	    "cache:\n  dir: %s\n",
	    r->openscad, r->freecad, r->driver,
	    fixture_yaml_str(fixture_fake_engine()), r->model, r->cachedir);
	r->conf = fixture_conf(buf_str(&y));
	buf_free(&y);
	r->lib = fixture_load_conf(r->dir, r->conf);
	if (r->lib->diags.nerrors > 0) {
		tap_note("%s", fixture_diags(r->lib));
		abort();
	}
	if ((r->cache = cache_open(r->cachedir, (uint64_t)1 << 30, 30,
	    &e)) == NULL)
		pf_fatal("cache_open: %s", e.msg);
	r->env.conf = r->conf;
	r->env.cache = r->cache;
	r->env.root = r->lib->root;
}

static void
rig_open(struct rig *r)
{
	char *blt = c_blt("8", "10"), *driver;

	memset(r, 0, sizeof *r);
	r->dir = xstrdup(tap_tmpdir());
	r->tmp = tap_tmpdir();
	tap_write(r->dir, "data/c.blt", blt);
	free(blt);
	tap_write(r->dir, "data/other.blt", OTHER_BLT);
	tap_write(r->dir, "openscad/c/c.base", SCAD_BASE);
	tap_write(r->dir, "openscad/c/m.scad", "include <helper.scad>\n"
	    "module m(len, s, n) { cube(len); }\nmodule mt(d) { cube(d); }\n");
	tap_write(r->dir, "openscad/c/helper.scad", "// a helper\n");
	tap_write(r->dir, "prelude.scad", "// a prelude\n");
	tap_write(r->dir, "freecad/c/c.base", FREECAD_BASE);
	tap_write(r->dir, "freecad/c/m.py", "def f(params, document):\n"
	    "    pass\n");
	tap_write(r->dir, "freecad/c/helper.py", "# a helper\n");
	tap_write(r->dir, "fake/c/c.base", FAKE_BASE);
	tap_write(r->dir, "fake/c/box.txt", "box script\n");
	r->openscad = xasprintf("%s/openscad", r->tmp);
	write_openscad(r, "2021.01");
	r->freecad = xasprintf("%s/freecadcmd", r->tmp);
	fixture_write_exec(r->freecad, "#!/bin/sh\n# a fake FreeCAD\n"
	    "echo 'FreeCAD 0.20.2'\n");
	r->driver = xasprintf("%s/freecad-driver.py", r->tmp);
	driver = xasprintf("%s/src/libexec/freecad-driver.py",
	    fixture_srcdir());
	{
		char *text = fixture_read(driver, NULL);
		if (text == NULL)
			pf_fatal("%s: %s", driver, strerror(errno));
		tap_write(r->tmp, "freecad-driver.py", text);
		free(text);
	}
	free(driver);
	r->cachedir = xasprintf("%s/cache", r->tmp);
	/* the rig's classes have every engine: OpenSCAD makes the model of
	 * k unless a test says otherwise, FreeCAD that of t */
	r->model = "openscad";
	rig_load(r);
}

static void
rig_close(struct rig *r)
{
	library_unref(r->lib);
	cache_close(r->cache);
	conf_free(r->conf);
	free(r->dir);
	free(r->openscad);
	free(r->freecad);
	free(r->driver);
	free(r->cachedir);
}

/* The key of the part at `path`, or "error: ..." (static, one of a few
 * buffers). */
static const char *
key(struct rig *r, const char *path)
{
	static char bufs[8][1100];
	static int next;
	char *b = bufs[next++ % 8];
	struct plan p;
	struct perr e = { 0 };

	if (fixture_plan(&r->env, r->lib, path, &p, &e) != 0)
		snprintf(b, sizeof bufs[0], "error: %s", e.msg);
	else
		snprintf(b, sizeof bufs[0], "%s", p.key.hex);
	plan_clear(&p);
	return b;
}

/* Keys are real keys (not errors), and equal or different. */
#define CHECK_KEY(k) \
	CHECK_MSG(strncmp((k), "error", 5) != 0, "%s", (k))
#define SAME_KEY(a, b) do { \
	const char *a_ = (a), *b_ = (b); \
	CHECK_KEY(a_); \
	CHECK_KEY(b_); \
	CHECK_MSG(strcmp(a_, b_) == 0, "keys differ: %s and %s", a_, b_); \
} while (0)
#define OTHER_KEY(a, b) do { \
	const char *a_ = (a), *b_ = (b); \
	CHECK_KEY(a_); \
	CHECK_KEY(b_); \
	CHECK_MSG(strcmp(a_, b_) != 0, "same key %s", a_); \
} while (0)

static const char *
at(const struct rig *r, const char *rel)
{
	static char bufs[4][4096];
	static int next;
	char *b = bufs[next++ % 4];

	snprintf(b, sizeof bufs[0], "%s/%s", r->dir, rel);
	return b;
}

/* Append to a library file, as an edit does. */
static void
append(struct rig *r, const char *rel, const char *text)
{
	FILE *fp = fopen(at(r, rel), "a");

	if (fp == NULL || fputs(text, fp) < 0 || fclose(fp) != 0)
		pf_fatal("%s: %s", rel, strerror(errno));
}

/* Inputs that change the key. */

static void
the_format_changes_the_key(void)
{
	struct rig r;

	rig_open(&r);
	/* one engine (OpenSCAD), formats of its own */
	OTHER_KEY(key(&r, "c/k/default.stl"), key(&r, "c/k/default.off"));
	/* and converted from one of them */
	OTHER_KEY(key(&r, "c/k/default.stl"), key(&r, "c/k/default.glb"));
	rig_close(&r);
}

static void
the_executor_changes_the_key(void)
{
	struct rig r;
	char scad[CACHE_KEY_LEN + 1], fc[CACHE_KEY_LEN + 1];
	char cmd[CACHE_KEY_LEN + 1];
	struct plan p;
	struct perr e = { 0 };

	rig_open(&r);
	/* STL: from OpenSCAD, FreeCAD or the command, as the configuration
	 * chooses the engine of the model */
	CHECK_INT(fixture_plan(&r.env, r.lib, "c/k/default.stl", &p, &e), 0);
	CHECK_INT(p.kind, GEN_OPENSCAD);
	snprintf(scad, sizeof scad, "%s", p.key.hex);
	plan_clear(&p);
	r.model = "freecad";
	rig_load(&r);
	CHECK_INT(fixture_plan(&r.env, r.lib, "c/k/default.stl", &p, &e), 0);
	CHECK_INT(p.kind, GEN_FREECAD);
	snprintf(fc, sizeof fc, "%s", p.key.hex);
	plan_clear(&p);
	r.model = "fake";
	rig_load(&r);
	CHECK_INT(fixture_plan(&r.env, r.lib, "c/k/default.stl", &p, &e), 0);
	CHECK_INT(p.kind, GEN_COMMAND);
	snprintf(cmd, sizeof cmd, "%s", p.key.hex);
	plan_clear(&p);
	OTHER_KEY(scad, fc);
	OTHER_KEY(scad, cmd);
	OTHER_KEY(fc, cmd);
	rig_close(&r);
}

static void
a_new_version_of_the_engine_changes_the_key(void)
{
	struct rig r;
	char before[CACHE_KEY_LEN + 1];

	rig_open(&r);
	snprintf(before, sizeof before, "%s", key(&r, "c/k/default.stl"));
	write_openscad(&r, "2099.12");
	OTHER_KEY(before, key(&r, "c/k/default.stl"));
	rig_close(&r);
}

/* An engine for the command: a script that answers --version, and
 * otherwise runs the fake engine. */
static void
write_command_engine(const char *path, const char *version)
{
	char *text = xasprintf("#!/bin/sh\nif [ \"$1\" = --version ]; then "
	    "echo 'fake %s'; exit 0; fi\nexec %s \"$@\"\n", version,
	    fixture_fake_engine());

	fixture_write_exec(path, text);
	free(text);
}

static void
a_new_version_of_a_command_engine_changes_the_key(void)
{
	struct rig r, v;
	struct buf y = BUF_INIT;
	char *engine, before[CACHE_KEY_LEN + 1];

	rig_open(&r);
	/* the command alone makes `step`, and has a version command */
	engine = xasprintf("%s/fake-cq", r.tmp);
	write_command_engine(engine, "1.0");
	buf_printf(&y, "executors:\n  commands:\n    - name: fake\n"
	    "      argv: [%s, \"{params}\", \"{output}\", \"{format}\", "
	    "\"{script}\"]\n      version: [%s, --version]\n"
	    "      formats: [step]\n  model: fake\n", engine, engine);
	v = r;
	v.conf = fixture_conf(buf_str(&y));
	buf_free(&y);
	v.lib = fixture_load_conf(r.dir, v.conf);
	v.env.conf = v.conf;
	v.env.root = v.lib->root;
	snprintf(before, sizeof before, "%s", key(&v, "c/k/default.step"));
	CHECK_KEY(before);
	/* an upgrade: the program changed, and says so */
	write_command_engine(engine, "2.0");
	OTHER_KEY(before, key(&v, "c/k/default.step"));
	library_unref(v.lib);
	conf_free(v.conf);
	free(engine);
	rig_close(&r);
}

/* A copy of the fake engine at `path`, with `extra` bytes at its end. */
static void
copy_engine(const char *path, const char *extra)
{
	size_t n;
	char *bin = fixture_read(fixture_fake_engine(), &n);
	char *tmp = xasprintf("%s.new", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0755);

	if (bin == NULL || fd == -1 || write_all(fd, bin, n) != 0 ||
	    write_all(fd, extra, strlen(extra)) != 0 || close(fd) != 0 ||
	    rename(tmp, path) != 0)
		pf_fatal("%s: %s", path, strerror(errno));
	free(bin);
	free(tmp);
}

static void
a_new_program_of_a_command_without_a_version_command_changes_the_key(void)
{
	struct rig r;
	char before[CACHE_KEY_LEN + 1];
	char *copy;

	rig_open(&r);
	r.model = "fake";
	rig_load(&r);
	copy = xasprintf("%s/fake-engine-copy", r.tmp);
	copy_engine(copy, "");
	free(r.conf->commands[0].argv[0]);
	r.conf->commands[0].argv[0] = copy;
	snprintf(before, sizeof before, "%s", key(&r, "c/k/default.stl"));
	CHECK_KEY(before);
	/* the program's identity stands for its version: the same path,
	 * another program */
	copy_engine(copy, "\n");
	OTHER_KEY(before, key(&r, "c/k/default.stl"));
	rig_close(&r);
}

static void
the_module_file_changes_the_key(void)
{
	struct rig r;
	char scad[CACHE_KEY_LEN + 1], fc[CACHE_KEY_LEN + 1];
	char cmd[CACHE_KEY_LEN + 1];

	rig_open(&r);
	snprintf(scad, sizeof scad, "%s", key(&r, "c/k/default.stl"));
	append(&r, "openscad/c/m.scad", "// an edit\n");
	OTHER_KEY(scad, key(&r, "c/k/default.stl"));
	r.model = "freecad";
	rig_load(&r);
	snprintf(fc, sizeof fc, "%s", key(&r, "c/k/default.step"));
	append(&r, "freecad/c/m.py", "# an edit\n");
	OTHER_KEY(fc, key(&r, "c/k/default.step"));
	/* a command's script */
	r.model = "fake";
	rig_load(&r);
	snprintf(cmd, sizeof cmd, "%s", key(&r, "c/k/default.stl"));
	append(&r, "fake/c/box.txt", "an edit\n");
	OTHER_KEY(cmd, key(&r, "c/k/default.stl"));
	rig_close(&r);
}

static void
an_openscad_prelude_changes_the_key(void)
{
	struct rig r;
	char before[CACHE_KEY_LEN + 1];

	rig_open(&r);
	snprintf(before, sizeof before, "%s", key(&r, "c/k/default.stl"));
	append(&r, "prelude.scad", "// an edit\n");
	OTHER_KEY(before, key(&r, "c/k/default.stl"));
	rig_close(&r);
}

static void
a_sibling_module_changes_the_key(void)
{
	struct rig r;
	char scad[CACHE_KEY_LEN + 1], fc[CACHE_KEY_LEN + 1];
	char edited[CACHE_KEY_LEN + 1];

	rig_open(&r);
	snprintf(scad, sizeof scad, "%s", key(&r, "c/k/default.stl"));
	snprintf(fc, sizeof fc, "%s", key(&r, "c/t/M8/default.step"));
	append(&r, "openscad/c/helper.scad", "// an edit\n");
	snprintf(edited, sizeof edited, "%s", key(&r, "c/k/default.stl"));
	OTHER_KEY(scad, edited);
	/* a new one too */
	tap_write(r.dir, "openscad/c/new.scad", "// new\n");
	OTHER_KEY(edited, key(&r, "c/k/default.stl"));
	append(&r, "freecad/c/helper.py", "# an edit\n");
	OTHER_KEY(fc, key(&r, "c/t/M8/default.step"));
	rig_close(&r);
}

static void
an_edit_that_keeps_the_size_and_the_time_of_a_source_changes_the_key(void)
{
	struct rig r;
	char before[CACHE_KEY_LEN + 1], after[CACHE_KEY_LEN + 1];
	struct stat st;
	struct timespec times[2];

	rig_open(&r);
	tap_write(r.dir, "openscad/c/helper.scad", "size = 1;\n");
	snprintf(before, sizeof before, "%s", key(&r, "c/k/default.stl"));
	if (stat(at(&r, "openscad/c/helper.scad"), &st) != 0)
		pf_fatal("stat: %s", strerror(errno));
	/* another version of the file, of the same size, with the time of
	 * the first (as rsync -t, cp -p or tar leave it) */
	tap_write(r.dir, "openscad/c/helper.scad", "size = 2;\n");
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	if (utimensat(AT_FDCWD, at(&r, "openscad/c/helper.scad"), times,
	    0) != 0)
		pf_fatal("utimensat: %s", strerror(errno));
	snprintf(after, sizeof after, "%s", key(&r, "c/k/default.stl"));
	rig_close(&r);
	OTHER_KEY(before, after);
}

static void
the_freecad_driver_changes_the_key(void)
{
	struct rig r;
	char before[CACHE_KEY_LEN + 1];
	FILE *fp;

	rig_open(&r);
	snprintf(before, sizeof before, "%s", key(&r, "c/t/M8/default.step"));
	CHECK((fp = fopen(r.driver, "a")) != NULL);
	fputs("# an edit\n", fp);
	fclose(fp);
	OTHER_KEY(before, key(&r, "c/t/M8/default.step"));
	rig_close(&r);
}

static void
a_parameter_value_changes_the_key(void)
{
	struct rig r;

	rig_open(&r);
	OTHER_KEY(key(&r, "c/k/len=20.stl"), key(&r, "c/k/len=21.stl"));
	OTHER_KEY(key(&r, "c/k/len=20.stl"), key(&r, "c/k/len=20.000001.stl"));
	OTHER_KEY(key(&r, "c/k/s=a.stl"), key(&r, "c/k/s=b.stl"));
	OTHER_KEY(key(&r, "c/k/s=a.stl"), key(&r, "c/k/s=a%20.stl"));
	OTHER_KEY(key(&r, "c/k/n=1.stl"), key(&r, "c/k/n=-1.stl"));
	OTHER_KEY(key(&r, "c/t/M8/default.stl"), key(&r, "c/t/M10/default.stl"));
	rig_close(&r);
}

static void
a_table_value_of_the_part_changes_the_key(void)
{
	struct rig r;
	char before[CACHE_KEY_LEN + 1];
	char *blt;

	rig_open(&r);
	snprintf(before, sizeof before, "%s", key(&r, "c/t/M8/default.stl"));
	blt = c_blt("8.5", "10");
	tap_write(r.dir, "data/c.blt", blt);
	free(blt);
	rig_load(&r);
	OTHER_KEY(before, key(&r, "c/t/M8/default.stl"));
	rig_close(&r);
}

/* Inputs that do not. */

static void
equal_numbers_written_differently_give_the_same_key(void)
{
	struct rig r;
	const char *k;

	rig_open(&r);
	k = key(&r, "c/k/len=20.stl");
	SAME_KEY(k, key(&r, "c/k/len=20.0.stl"));
	SAME_KEY(k, key(&r, "c/k/len=2e1.stl"));
	SAME_KEY(k, key(&r, "c/k/len=20.000.stl"));
	SAME_KEY(k, key(&r, "c/k/len=+20.stl"));
	/* the default is the same value */
	SAME_KEY(k, key(&r, "c/k/default.stl"));
	rig_close(&r);
}

static void
the_order_of_values_in_the_path_does_not_change_the_key(void)
{
	struct rig r;

	rig_open(&r);
	SAME_KEY(key(&r, "c/k/len=30,s=x,n=2.stl"),
	    key(&r, "c/k/n=2,s=x,len=30.stl"));
	SAME_KEY(key(&r, "c/k/len=30,s=x.stl"), key(&r, "c/k/s=x,len=30.stl"));
	rig_close(&r);
}

static void
a_comment_in_an_unrelated_collection_does_not_change_the_key(void)
{
	struct rig r;
	char before[CACHE_KEY_LEN + 1];

	rig_open(&r);
	snprintf(before, sizeof before, "%s", key(&r, "c/k/default.stl"));
	append(&r, "data/other.blt", "# a comment\n");
	rig_load(&r);
	SAME_KEY(before, key(&r, "c/k/default.stl"));
	rig_close(&r);
}

static void
a_comment_or_another_row_in_the_collection_does_not_change_the_key(void)
{
	struct rig r;
	char before[CACHE_KEY_LEN + 1];
	char *blt;

	rig_open(&r);
	snprintf(before, sizeof before, "%s", key(&r, "c/t/M8/default.stl"));
	/* the row of M10 changes, and a comment is added: M8 is the same */
	blt = c_blt("8", "10.5");
	tap_write(r.dir, "data/c.blt", blt);
	free(blt);
	append(&r, "data/c.blt", "# a comment\n");
	rig_load(&r);
	CHECK_MSG(r.lib->diags.n == 0, "%s", fixture_diags(r.lib));
	SAME_KEY(before, key(&r, "c/t/M8/default.stl"));
	rig_close(&r);
}

static void
touching_a_source_without_changing_it_does_not_change_the_key(void)
{
	struct rig r;
	char scad[CACHE_KEY_LEN + 1], fc[CACHE_KEY_LEN + 1];
	const char *files[] = { "openscad/c/m.scad", "openscad/c/helper.scad",
	    "prelude.scad", "freecad/c/m.py", "freecad/c/helper.py", NULL };
	struct timespec later[2] = { { 2000000000, 0 }, { 2000000000, 0 } };

	rig_open(&r);
	snprintf(scad, sizeof scad, "%s", key(&r, "c/k/default.stl"));
	snprintf(fc, sizeof fc, "%s", key(&r, "c/t/M8/default.step"));
	for (size_t i = 0; files[i] != NULL; i++)
		CHECK(utimensat(AT_FDCWD, at(&r, files[i]), later, 0) == 0);
	CHECK(utimensat(AT_FDCWD, r.driver, later, 0) == 0);
	SAME_KEY(scad, key(&r, "c/k/default.stl"));
	SAME_KEY(fc, key(&r, "c/t/M8/default.step"));
	rig_close(&r);
}

static void
an_engine_of_the_same_version_gives_the_same_key(void)
{
	struct rig r;
	char before[CACHE_KEY_LEN + 1];
	char *text;

	rig_open(&r);
	snprintf(before, sizeof before, "%s", key(&r, "c/k/default.stl"));
	/* another program (another size and time) telling the same
	 * version: a rebuilt engine */
	text = xasprintf("#!/bin/sh\n# rebuilt, and longer\n"
	    "echo 'OpenSCAD version %s'\n", "2021.01");
	fixture_write_exec(r.openscad, text);
	free(text);
	SAME_KEY(before, key(&r, "c/k/default.stl"));
	rig_close(&r);
}

static void
the_same_library_elsewhere_and_another_cache_give_the_same_key(void)
{
	struct rig r;
	char before[CACHE_KEY_LEN + 1], *cmd;

	rig_open(&r);
	snprintf(before, sizeof before, "%s", key(&r, "c/k/len=7,s=q.stl"));
	CHECK_KEY(before);
	cmd = xasprintf("cp -a %s/. %s/moved && rm -rf %s/*", r.dir, r.tmp,
	    r.dir);
	CHECK(system(cmd) == 0);
	free(cmd);
	free(r.dir);
	r.dir = xasprintf("%s/moved", r.tmp);
	free(r.cachedir);
	r.cachedir = xasprintf("%s/another-cache", r.tmp);
	rig_load(&r);
	SAME_KEY(before, key(&r, "c/k/len=7,s=q.stl"));
	rig_close(&r);
}

/* The other ways of planning. */

static void
the_recent_key_is_the_key_of_the_plan(void)
{
	struct rig r;
	struct pnode n;
	struct perr e = { 0 };
	struct cache_key k;
	const char *planned;

	rig_open(&r);
	planned = key(&r, "c/k/len=9.stl");
	CHECK_KEY(planned);
	CHECK_INT(pnode_lookup(r.lib, "c/k/len=9.stl", &n, &e), 0);
	CHECK_INT(plan_key_recent(&r.env, &n, &k), 0);
	CHECK_STR(k.hex, planned);
	pnode_clear(&n);
	rig_close(&r);
}

static void
planning_without_waiting_refuses_an_engine_of_unknown_version(void)
{
	struct rig r;
	struct pnode n;
	struct plan p;
	struct perr e = { 0 };
	const char *planned;

	rig_open(&r);
	/* an engine nobody asked yet */
	write_openscad(&r, "2030.01 (never asked)");
	CHECK_INT(pnode_lookup(r.lib, "c/k/len=9.stl", &n, &e), 0);
	CHECK_INT(plan_make_now(&r.env, &n, &p, &e), -EWOULDBLOCK);
	CHECK_CONTAINS(e.msg, "is not known yet");
	planned = key(&r, "c/k/len=9.stl");
	CHECK_KEY(planned);
	/* learnt: now at once, with the same key */
	CHECK_INT(plan_make_now(&r.env, &n, &p, &e), 0);
	CHECK_STR(p.key.hex, planned);
	plan_clear(&p);
	pnode_clear(&n);
	rig_close(&r);
}

TAP_MAIN(
	TAP_CASE(the_format_changes_the_key),
	TAP_CASE(the_executor_changes_the_key),
	TAP_CASE(a_new_version_of_the_engine_changes_the_key),
	TAP_CASE(a_new_version_of_a_command_engine_changes_the_key),
	TAP_CASE(a_new_program_of_a_command_without_a_version_command_changes_the_key),
	TAP_CASE(the_module_file_changes_the_key),
	TAP_CASE(an_openscad_prelude_changes_the_key),
	TAP_CASE(a_sibling_module_changes_the_key),
	TAP_CASE(an_edit_that_keeps_the_size_and_the_time_of_a_source_changes_the_key),
	TAP_CASE(the_freecad_driver_changes_the_key),
	TAP_CASE(a_parameter_value_changes_the_key),
	TAP_CASE(a_table_value_of_the_part_changes_the_key),
	TAP_CASE(equal_numbers_written_differently_give_the_same_key),
	TAP_CASE(the_order_of_values_in_the_path_does_not_change_the_key),
	TAP_CASE(a_comment_in_an_unrelated_collection_does_not_change_the_key),
	TAP_CASE(a_comment_or_another_row_in_the_collection_does_not_change_the_key),
	TAP_CASE(touching_a_source_without_changing_it_does_not_change_the_key),
	TAP_CASE(an_engine_of_the_same_version_gives_the_same_key),
	TAP_CASE(the_same_library_elsewhere_and_another_cache_give_the_same_key),
	TAP_CASE(the_recent_key_is_the_key_of_the_plan),
	TAP_CASE(planning_without_waiting_refuses_an_engine_of_unknown_version),
)
