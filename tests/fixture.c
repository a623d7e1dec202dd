/* fixture.c -- small libraries for tests (see fixture.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "partsfs/model/load.h"
#include "fixture.h"
#include "partsfs/util/escape.h"
#include "tap.h"

const char *
fixture_dir(const char *coll, const char *classes)
{
	const char *dir = tap_tmpdir();
	char *rel, *text;

	if (asprintf(&rel, "data/%s.blt", coll) < 0 ||
	    asprintf(&text, "---\nid: %s\nauthor: Test Author <t@example.org>\n"
	    "license: MIT <http://opensource.org/licenses/MIT>\n"
	    "blt-version: 0.4\nclasses:\n%s", coll, classes) < 0)
		abort();
	tap_write(dir, rel, text);
	free(rel);
	free(text);
	return dir;
}

struct library *
fixture_load_dir(const char *dir)
{
	struct perr e = { 0 };
	struct library_opts o = { .threads = 1 };
	struct library *lib = library_load(dir, &o, &e);

	if (lib == NULL) {
		tap_note("library_load: %s", e.msg);
		abort();
	}
	return lib;
}

struct library *
fixture_load(const char *coll, const char *classes)
{
	return fixture_load_dir(fixture_dir(coll, classes));
}

const char *
fixture_diag(const struct library *lib, enum diag_severity sev,
    const char *needle)
{
	static char *s;

	for (size_t i = 0; i < lib->diags.n; i++) {
		if (lib->diags.v[i].severity != sev)
			continue;
		free(s);
		s = diag_format(&lib->diags.v[i]);
		if (strstr(s, needle) != NULL)
			return s;
	}
	return NULL;
}

const char *
fixture_diags(const struct library *lib)
{
	static struct buf b;

	buf_reset(&b);
	for (size_t i = 0; i < lib->diags.n; i++) {
		char *s = diag_format(&lib->diags.v[i]);
		buf_printf(&b, "%s\n", s);
		free(s);
	}
	return buf_str(&b);
}

int
fixture_collect(const struct pclass *cls, const char *const *pairs,
    struct value *vals, struct perr *e)
{
	struct value freev[PF_MAX_FREE];
	const struct pset *ps = &cls->ps;
	int r;

	for (size_t i = 0; i < PF_MAX_FREE; i++)
		freev[i].kind = V_NULL;
	for (size_t i = 0; pairs != NULL && pairs[i] != NULL; i += 2) {
		int pi = pset_find(ps, pairs[i]);
		if (pi < 0 || ps->params[pi].free_pos < 0)
			return perr_set(e, 22, "no free parameter %s", pairs[i]);
		r = value_parse(ps->params[pi].type, pairs[i], pairs[i + 1],
		    strlen(pairs[i + 1]), &freev[ps->params[pi].free_pos], e);
		if (r != 0)
			return r;
	}
	return pset_collect(ps, freev, vals, e);
}

const char *
fixture_value(const struct pclass *cls, const struct value *vals,
    const char *name)
{
	static struct buf b;
	int pi = pset_find(&cls->ps, name);

	buf_reset(&b);
	if (pi < 0)
		return "(no such parameter)";
	if (vals[pi].kind == V_NULL)
		return "(null)";
	value_canon(&vals[pi], &b);
	return buf_str(&b);
}

/* Engines, plans and jobs. */

static bool
is_file(const char *dir, const char *rel)
{
	char *p = xasprintf("%s/%s", dir, rel);
	bool r = access(p, F_OK) == 0;

	free(p);
	return r;
}

/* `dir` made absolute, or NULL. */
static char *
absolute(const char *dir)
{
	return realpath(dir, NULL);
}

const char *
fixture_builddir(void)
{
	static char *dir;
	const char *b = getenv("top_builddir");

	if (dir == NULL && (dir = absolute(b != NULL ? b : ".")) == NULL)
		pf_fatal("no build directory");
	return dir;
}

const char *
fixture_srcdir(void)
{
	static char *dir;
	const char *const tries[] = { getenv("top_srcdir"), ".", "..",
	    "../..", NULL };

	for (size_t i = 0; dir == NULL && i < PF_ARRAY_LEN(tries); i++) {
		if (tries[i] != NULL && is_file(tries[i],
		    "library/data/bolts.blt"))
			dir = absolute(tries[i]);
	}
	if (dir == NULL)
		pf_fatal("no source directory: set top_srcdir");
	return dir;
}

const char *
fixture_fake_engine(void)
{
	static char *path;

	if (path == NULL)
		path = xasprintf("%s/tests/fake-engine", fixture_builddir());
	if (access(path, X_OK) != 0)
		pf_fatal("%s: %s (make check builds it)", path,
		    strerror(errno));
	return path;
}

const char *
fixture_yaml_str(const char *s)
{
	static struct buf bufs[8];
	static int next;
	struct buf *b = &bufs[next++ % 8];

	buf_reset(b);
	buf_addc(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_printf(b, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			buf_printf(b, "\\x%02x", (unsigned char)*s);
		else
			buf_addc(b, *s);
	}
	buf_addc(b, '"');
	return buf_str(b);
}

struct conf *
fixture_conf(const char *yaml)
{
	static const char *dir;
	static unsigned n;
	struct diags d = DIAGS_INIT;
	char *rel, *path;
	struct conf *c;

	/* one directory for them all: a test program has only so many */
	if (dir == NULL)
		dir = tap_tmpdir();
	rel = xasprintf("partsfs-%u.conf", n++);
	path = xasprintf("%s/%s", dir, rel);
	tap_write(dir, rel, yaml);
	free(rel);
	if ((c = conf_load(path, &d)) == NULL || d.nerrors > 0) {
		for (size_t i = 0; i < d.n; i++) {
			char *m = diag_format(&d.v[i]);
			tap_note("%s", m);
			free(m);
		}
		tap_note("in:\n%s", yaml);
		abort();
	}
	diags_free(&d);
	free(path);
	return c;
}

struct library *
fixture_load_conf(const char *dir, const struct conf *conf)
{
	struct perr e = { 0 };
	struct library_opts o = { .conf = conf, .threads = 1 };
	struct library *lib = library_load(dir, &o, &e);

	if (lib == NULL) {
		tap_note("library_load: %s", e.msg);
		abort();
	}
	return lib;
}

int
fixture_plan(const struct exec_env *env, const struct library *lib,
    const char *path, struct plan *out, struct perr *e)
{
	struct pnode n;
	int r;

	memset(out, 0, sizeof *out);
	if ((r = pnode_lookup(lib, path, &n, e)) != 0)
		return r;
	r = plan_make(env, &n, out, e);
	pnode_clear(&n);
	return r;
}

char *
fixture_stem_value(const char *value)
{
	struct buf b = BUF_INIT;

	path_encode_value(value, &b);
	return buf_steal(&b);
}

char *
fixture_read(const char *path, size_t *len)
{
	struct buf b = BUF_INIT;
	char chunk[8192];
	size_t n;
	FILE *fp = fopen(path, "rb");

	if (fp == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		buf_add(&b, chunk, n);
	fclose(fp);
	if (len != NULL)
		*len = b.len;
	buf_addc(&b, '\0');
	return buf_steal(&b);
}

void
fixture_write_exec(const char *path, const char *text)
{
	/* written aside and renamed: a program being run cannot be
	 * rewritten in place (ETXTBSY) */
	char *tmp = xasprintf("%s.new", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);

	if (fd == -1 || write_all(fd, text, strlen(text)) != 0 ||
	    close(fd) != 0 || rename(tmp, path) != 0)
		pf_fatal("%s: %s", path, strerror(errno));
	free(tmp);
}

int
fixture_lines(const char *path)
{
	char *s = fixture_read(path, NULL);
	int n = 0;

	for (const char *p = s; p != NULL && *p; p++)
		n += *p == '\n';
	free(s);
	return n;
}

bool
fixture_alive(long pid)
{
	char path[64], buf[512];
	FILE *fp;
	char *rp;
	bool zombie = false;

	if (kill((pid_t)pid, 0) == -1)
		return false;
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return false;
	if (fgets(buf, sizeof buf, fp) != NULL &&
	    (rp = strrchr(buf, ')')) != NULL && rp[1] == ' ')
		zombie = rp[2] == 'Z' || rp[2] == 'X';
	fclose(fp);
	return !zombie;
}

bool
fixture_wait_for(bool (*cond)(void *), void *arg, double seconds)
{
	double end = now_s() + seconds;
	struct timespec ts = { 0, 5000000 };

	while (!cond(arg)) {
		if (now_s() > end)
			return cond(arg);
		nanosleep(&ts, NULL);
	}
	return true;
}

/* A core over the test engine's box. */

static const char BOX_BLT[] =
    "---\nid: fake\nauthor: Test Author <t@example.org>\n"
    "license: MIT <http://opensource.org/licenses/MIT>\n"
    "blt-version: 0.4\nclasses:\n"
    "  - id: box\n"
    "    names: {name: Test box, labeling: 'Test box %(size)s %(note)s'}\n"
    "    parameters:\n"
    "      free: [size, mode, seconds, counter, note]\n"
    "      defaults: {size: 10, mode: box, seconds: 0, counter: '', "
    "note: ''}\n"
    "      types: {size: Length (mm), mode: String, seconds: Number, "
    "counter: String, note: String}\n"
    "    source: partsfs tests\n";

static const char BOX_BASE[] =
    "- {filename: box.txt, type: script, author: t <t@example.org>, "
    "license: MIT <x>, classids: [box]}\n";

void
fixture_core_open(struct fixture_core *fc,
    const struct fixture_core_opts *opts)
{
	static const struct fixture_core_opts defaults;
	const struct fixture_core_opts *o = opts != NULL ? opts : &defaults;
	const char *program = o->program != NULL ? o->program :
	    fixture_fake_engine();
	struct buf y = BUF_INIT;
	struct perr e = { 0 };
	struct library *lib;
	struct cache *cache;
	struct conf *conf;
	char *dir;

	memset(fc, 0, sizeof *fc);
	fc->tmp = tap_tmpdir();
	tap_write(fc->tmp, "lib/data/fake.blt", BOX_BLT);
	tap_write(fc->tmp, "lib/fake/fake/fake.base", BOX_BASE);
	tap_write(fc->tmp, "lib/fake/fake/box.txt", "box script, version 1\n");
	dir = xasprintf("%s/lib", fc->tmp);
	if ((fc->dir = absolute(dir)) == NULL)
		pf_fatal("%s: %s", dir, strerror(errno));
	free(dir);
	fc->script = xasprintf("%s/fake/fake/box.txt", fc->dir);
	fc->cachedir = o->cache_dir != NULL ? xstrdup(o->cache_dir) :
	    xasprintf("%s/cache", fc->tmp);
	fc->counter = xasprintf("%s/counter", fc->tmp);
	buf_printf(&y, "executors:\n  commands:\n    - name: fake\n"
	    "      argv: [%s, \"{params}\", \"{output}\", \"{format}\", "
	    "\"{script}\"]\n", fixture_yaml_str(program));
	if (o->version)
		buf_printf(&y, "      version: [%s, --version]\n",
		    fixture_yaml_str(program));
	/* the engine counts its runs in a file of the test's: outside the
	 * sandbox (test-sandbox tests it) */
	buf_printf(&y, "      formats: [stl, step]\n"
	    "jobs:\n  sandbox: off\n  timeout: 30\n  workers: %d\n"
	    "cache:\n  dir: %s\n  negative-ttl: 60\n",
	    o->workers > 0 ? o->workers : 2, fixture_yaml_str(fc->cachedir));
	conf = fixture_conf(buf_str(&y));
	buf_free(&y);
	lib = fixture_load_conf(fc->dir, conf);
	if (lib->diags.nerrors > 0) {
		tap_note("%s", fixture_diags(lib));
		abort();
	}
	if ((cache = cache_open(fc->cachedir, o->cache_max > 0 ? o->cache_max :
	    (uint64_t)1 << 30, conf->negative_ttl, &e)) == NULL)
		pf_fatal("cache_open: %s", e.msg);
	if ((fc->core = core_new(lib, conf, cache, &e)) == NULL)
		pf_fatal("core_new: %s", e.msg);
}

void
fixture_core_close(struct fixture_core *fc)
{
	core_close(fc->core);
	free(fc->dir);
	free(fc->script);
	free(fc->cachedir);
	free(fc->counter);
}

char *
fixture_box_path(const char *const *pairs, const char *ext)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, "fake/box/");
	for (size_t i = 0; pairs != NULL && pairs[i] != NULL; i += 2) {
		char *v = fixture_stem_value(pairs[i + 1]);
		buf_printf(&b, "%s%s=%s", i ? "," : "", pairs[i], v);
		free(v);
	}
	if (pairs == NULL || pairs[0] == NULL)
		buf_adds(&b, "default");
	buf_printf(&b, ".%s", ext);
	return buf_steal(&b);
}

int
fixture_fetch(struct fixture_core *fc, const char *path, unsigned flags,
    void (*done)(void *arg, struct fetch *f), void *arg, struct fetch **fp)
{
	struct library *lib = core_library(fc->core);
	struct perr e = { 0 };
	struct pnode n;
	int r;

	if (pnode_lookup(lib, path, &n, &e) != 0)
		pf_fatal("%s: %s", path, e.msg);
	r = core_fetch(fc->core, &n, flags, done, arg, fp);
	pnode_clear(&n);
	library_unref(lib);
	return r;
}

enum fetch_state
fixture_fetch_wait(struct fixture_core *fc, const char *path,
    double timeout, struct fetch **fp)
{
	struct fetch *f;
	enum fetch_state st;

	fixture_fetch(fc, path, 0, NULL, NULL, &f);
	st = fetch_wait(f, timeout);
	if (fp != NULL)
		*fp = f;
	else
		fetch_unref(f);
	return st;
}

int
fixture_core_runs(struct fixture_core *fc)
{
	return fixture_lines(fc->counter);
}
