/* test-conf.c -- partsfs.conf: the defaults, where the file is looked for,
 * every key and every validation rule, -o options, sizes and ~ paths. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partsfs/util/conf.h"
#include "tap.h"

#define GiB ((uint64_t)1 << 30)
#define MiB ((uint64_t)1 << 20)
#define KiB ((uint64_t)1 << 10)

static struct diags D;
static struct buf diag_text;
static char *home;        /* a fresh $HOME for each test */
static char *file;        /* home/partsfs.conf */

/* A clean environment: HOME in a new temporary directory, the XDG
 * directories under it, and no partsfs variables. */
static void
isolate(void)
{
	free(home);
	free(file);
	home = strdup(tap_tmpdir());
	if (asprintf(&file, "%s/partsfs.conf", home) < 0)
		abort();
	setenv("HOME", home, 1);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("XDG_CACHE_HOME");
	unsetenv("PARTSFS_CONFIG");
	unsetenv("PARTSFS_DATADIR");
	unsetenv("PARTSFS_LIBEXECDIR");
	diags_free(&D);
}

/* Write `text` as home/partsfs.conf and load it. */
static struct conf *
load(const char *text)
{
	diags_free(&D);
	tap_write(home, "partsfs.conf", text);
	return conf_load(file, &D);
}

static char *
joined(const char *a, const char *b)
{
	char *s;

	if (asprintf(&s, "%s%s", a, b) < 0)
		abort();
	return s;
}

/* Every diagnostic, one per line, for failure messages. */
static const char *
all_diags(void)
{
	buf_reset(&diag_text);
	for (size_t i = 0; i < D.n; i++) {
		char *s = diag_format(&D.v[i]);
		buf_printf(&diag_text, "%s\n", s);
		free(s);
	}
	return buf_str(&diag_text);
}

/* Is there an error whose formatted text contains `text`? */
static bool
has_diag(const char *text)
{
	for (size_t i = 0; i < D.n; i++) {
		char *s = diag_format(&D.v[i]);
		bool found = D.v[i].severity == DIAG_ERROR &&
		    strstr(s, text) != NULL;
		free(s);
		if (found)
			return true;
	}
	return false;
}

#define EXPECT_ERROR(text) \
	CHECK_MSG(has_diag(text), "no error containing \"%s\"; got:\n%s", \
	    text, all_diags())

/* Load `text`, expecting it to be refused with an error containing
 * `want`. */
#define EXPECT_REFUSED(text, want) do { \
	struct conf *c_ = load(text); \
	CHECK_MSG(c_ == NULL, "accepted: %s", text); \
	EXPECT_ERROR(want); \
} while (0)

#define EXPECT_ACCEPTED(c, text) do { \
	(c) = load(text); \
	CHECK_MSG((c) != NULL, "refused:\n%s", all_diags()); \
} while (0)

static void
check_defaults(const struct conf *c)
{
	CHECK_STR(c->openscad, "openscad");
	CHECK_INT(c->nopenscad_include, 0);
	CHECK(c->openscad_include != NULL && c->openscad_include[0] == NULL);
	CHECK(!c->openscad_include_set);
	CHECK_INT(c->openscad_allow, 0);
	CHECK_INT(c->npng_wrapper, 2);
	CHECK_STR(c->png_wrapper[0], "xvfb-run");
	CHECK_STR(c->png_wrapper[1], "-a");
	CHECK(c->png_wrapper[2] == NULL);
	CHECK_INT(c->openscad_cost, 1);
	CHECK_STR(c->freecad, "freecadcmd");
	CHECK_STR(c->freecad_driver, PF_PKGDATADIR "/freecad-driver.py");
	CHECK_INT(c->freecad_cost, 2);
	CHECK_STR(c->converter, PF_LIBEXECDIR "/partsfs-convert");
	CHECK_STR(c->model, "freecad");
	CHECK_INT(c->nmodels, 0);
	CHECK_STR(conf_model_for(c, "bolts", "hex_nut"), "freecad");
	CHECK_INT(c->ncommands, 0);
	CHECK_INT(c->workers, 0);
	CHECK_NUM(c->timeout, 120);
	CHECK_INT(c->memory, 4 * GiB);
	CHECK_NUM(c->cpu, 600);
	CHECK_INT(c->stderr_max, 64 * KiB);
	CHECK_INT(c->output_max, GiB);
	CHECK_INT(c->cache_max, GiB);
	CHECK_NUM(c->negative_ttl, 30);
	CHECK_NUM(c->value_max, 1e6);
}

static const char example[] =
    "executors:\n"
    "  openscad:\n"
    "    program: /opt/openscad/bin/openscad\n"
    "    include: [backends/openscad/common.scad, "
    "backends/openscad/conf.scad]\n"
    "    png-wrapper: [xvfb-run, -a, -s, '-screen 0 800x600x24']\n"
    "    cost: 3\n"
    "    allow-warnings: [unknown-variable]\n"
    "  freecad:\n"
    "    program: freecadcmd-daily\n"
    "    driver: /usr/local/share/partsfs/freecad-driver.py\n"
    "    cost: 4\n"
    "  converter: /usr/local/libexec/partsfs/partsfs-convert\n"
    "  commands:\n"
    "    - name: cadquery\n"
    "      argv: [cq-cli, --infile, \"{script}\", --outfile, \"{output}\",\n"
    "             --codec, \"{format}\", --params, \"{params}\"]\n"
    "      version: [cq-cli, --version]\n"
    "      formats: [step, stl]\n"
    "      cost: 1\n"
    "    - name: in-house_2\n"
    "      argv: [/opt/tool, \"--out={output}\", \"--tmp={scratch}\"]\n"
    "      formats: [stp, 3mf, glb]\n"
    "  model: in-house_2\n"
    "  models: {bolts: openscad, hex_nut: freecad}\n"
    "jobs:\n"
    "  workers: 8\n"
    "  timeout: 90.5\n"
    "  memory: 2G\n"
    "  cpu: 0\n"
    "  stderr: 16KiB\n"
    "  output-max: 512M\n"
    "cache:\n"
    "  dir: /var/cache/partsfs\n"
    "  max-size: 10G\n"
    "  negative-ttl: 0\n"
    "values:\n"
    "  max: 2500.5\n";

static void
without_a_file_the_defaults_apply(void)
{
	struct conf *c;
	char *cache;

	isolate();
	if (access("/etc/partsfs/partsfs.conf", F_OK) == 0) {
		tap_note("skipped: /etc/partsfs/partsfs.conf exists here");
		return;
	}
	c = conf_load(NULL, &D);
	CHECK_MSG(c != NULL, "%s", all_diags());
	CHECK_INT(D.n, 0);
	CHECK(c->file == NULL);
	check_defaults(c);
	cache = joined(home, "/.cache/partsfs");
	CHECK_STR(c->cache_dir, cache);
	free(cache);
	conf_free(c);
}

static void
conf_default_reads_no_file(void)
{
	struct conf *c;

	isolate();
	setenv("PARTSFS_CONFIG", "/nonexistent/partsfs.conf", 1);
	c = conf_default();
	CHECK(c->file == NULL);
	check_defaults(c);
	conf_free(c);
}

static void
the_cache_defaults_to_xdg_cache_home_then_home(void)
{
	struct conf *c;

	isolate();
	setenv("XDG_CACHE_HOME", "/xdg/cache/", 1);
	c = conf_default();
	CHECK_STR(c->cache_dir, "/xdg/cache/partsfs");
	conf_free(c);
	/* a relative XDG_CACHE_HOME is ignored, as the XDG spec says */
	setenv("XDG_CACHE_HOME", "relative", 1);
	setenv("HOME", "/home/someone", 1);
	c = conf_default();
	CHECK_STR(c->cache_dir, "/home/someone/.cache/partsfs");
	conf_free(c);
}

static void
without_home_the_password_database_gives_the_home(void)
{
	struct conf *c;

	isolate();
	unsetenv("HOME");
	c = conf_default();
	CHECK(c->cache_dir[0] == '/');
	CHECK_CONTAINS(c->cache_dir, ".cache/partsfs");
	conf_free(c);
}

static void
datadir_and_libexecdir_variables_move_the_driver_and_converter(void)
{
	struct conf *c;

	isolate();
	setenv("PARTSFS_DATADIR", "/build/tree/data", 1);
	setenv("PARTSFS_LIBEXECDIR", "/build/tree/libexec/", 1);
	c = conf_default();
	CHECK_STR(c->freecad_driver, "/build/tree/data/freecad-driver.py");
	CHECK_STR(c->converter, "/build/tree/libexec/partsfs-convert");
	conf_free(c);
	/* the file's values still win */
	c = load("executors:\n  converter: /x/convert\n");
	CHECK(c != NULL);
	CHECK_STR(c->freecad_driver, "/build/tree/data/freecad-driver.py");
	CHECK_STR(c->converter, "/x/convert");
	conf_free(c);
}

static void
an_empty_file_gives_the_defaults(void)
{
	struct conf *c;

	isolate();
	EXPECT_ACCEPTED(c, "");
	CHECK_STR(c->file, file);
	check_defaults(c);
	conf_free(c);
	EXPECT_ACCEPTED(c, "# only a comment\n");
	check_defaults(c);
	conf_free(c);
	/* empty sections and values keep the defaults too */
	EXPECT_ACCEPTED(c, "executors:\njobs:\n  timeout:\ncache: ~\n");
	check_defaults(c);
	conf_free(c);
}

static void
a_full_example_reads_every_value(void)
{
	const struct conf_command *cq, *ih;
	struct conf *c;

	isolate();
	EXPECT_ACCEPTED(c, example);
	CHECK_INT(D.n, 0);
	CHECK_STR(c->openscad, "/opt/openscad/bin/openscad");
	CHECK_INT(c->nopenscad_include, 2);
	CHECK_STR(c->openscad_include[0], "backends/openscad/common.scad");
	CHECK_STR(c->openscad_include[1], "backends/openscad/conf.scad");
	CHECK(c->openscad_include[2] == NULL);
	CHECK(c->openscad_include_set);
	CHECK_INT(c->openscad_allow, CONF_SCAD_UNKNOWN_VARIABLE);
	CHECK_INT(c->npng_wrapper, 4);
	CHECK_STR(c->png_wrapper[3], "-screen 0 800x600x24");
	CHECK(c->png_wrapper[4] == NULL);
	CHECK_INT(c->openscad_cost, 3);
	CHECK_STR(c->freecad, "freecadcmd-daily");
	CHECK_STR(c->freecad_driver,
	    "/usr/local/share/partsfs/freecad-driver.py");
	CHECK_INT(c->freecad_cost, 4);
	CHECK_STR(c->converter, "/usr/local/libexec/partsfs/partsfs-convert");

	CHECK_INT(c->ncommands, 2);
	cq = &c->commands[0];
	CHECK_STR(cq->name, "cadquery");
	CHECK_INT(cq->argc, 9);
	CHECK_STR(cq->argv[0], "cq-cli");
	CHECK_STR(cq->argv[2], "{script}");
	CHECK_STR(cq->argv[8], "{params}");
	CHECK(cq->argv[9] == NULL);
	CHECK(cq->version_argv != NULL);
	CHECK_STR(cq->version_argv[0], "cq-cli");
	CHECK_STR(cq->version_argv[1], "--version");
	CHECK(cq->version_argv[2] == NULL);
	CHECK_INT(cq->formats, FMT_BIT(FMT_STEP) | FMT_BIT(FMT_STL));
	CHECK_INT(cq->cost, 1);
	ih = &c->commands[1];
	CHECK_STR(ih->name, "in-house_2");
	CHECK_INT(ih->argc, 3);
	CHECK_STR(ih->argv[1], "--out={output}");
	CHECK(ih->version_argv == NULL);
	CHECK_INT(ih->formats, FMT_BIT(FMT_STEP) | FMT_BIT(FMT_3MF) |
	    FMT_BIT(FMT_GLB));
	CHECK_INT(ih->cost, 1);
	CHECK_STR(c->model, "in-house_2");
	CHECK_INT(c->nmodels, 2);
	/* a class's own entry, else its collection's, else
	 * executors.model */
	CHECK_STR(conf_model_for(c, "bolts", "hex_nut"), "freecad");
	CHECK_STR(conf_model_for(c, "bolts", "hex_bolt"), "openscad");
	CHECK_STR(conf_model_for(c, "pipes", "pipe"), "in-house_2");

	CHECK_INT(c->workers, 8);
	CHECK_NUM(c->timeout, 90.5);
	CHECK_INT(c->memory, 2 * GiB);
	CHECK_NUM(c->cpu, 0);
	CHECK_INT(c->stderr_max, 16 * KiB);
	CHECK_INT(c->output_max, 512 * MiB);
	CHECK_STR(c->cache_dir, "/var/cache/partsfs");
	CHECK_INT(c->cache_max, 10 * GiB);
	CHECK_NUM(c->negative_ttl, 0);
	CHECK_NUM(c->value_max, 2500.5);
	conf_free(c);
	/* a key given twice: the later, with a warning */
	EXPECT_ACCEPTED(c, "executors:\n  models: {k: openscad, k: freecad}\n");
	CHECK_INT(D.nwarnings, 1);
	CHECK_STR(conf_model_for(c, "c", "k"), "freecad");
	conf_free(c);
}

static void
keys_left_out_keep_their_defaults(void)
{
	struct conf *c;

	isolate();
	EXPECT_ACCEPTED(c, "jobs:\n  timeout: 5\n");
	CHECK_NUM(c->timeout, 5);
	CHECK_NUM(c->cpu, 600);
	CHECK_STR(c->openscad, "openscad");
	CHECK_INT(c->npng_wrapper, 2);
	conf_free(c);
	/* an empty png-wrapper list means no wrapper */
	EXPECT_ACCEPTED(c, "executors:\n  openscad:\n    png-wrapper: []\n");
	CHECK_INT(c->npng_wrapper, 0);
	CHECK(c->png_wrapper[0] == NULL);
	conf_free(c);
}

static void
an_empty_include_list_is_set_and_warnings_are_allowed_by_kind(void)
{
	struct conf *c;

	isolate();
	/* include: [] says "no preludes", which no include key does not */
	EXPECT_ACCEPTED(c, "executors:\n  openscad:\n    include: []\n");
	CHECK_INT(c->nopenscad_include, 0);
	CHECK(c->openscad_include_set);
	conf_free(c);
	EXPECT_ACCEPTED(c, "executors:\n  openscad:\n    include:\n");
	CHECK(!c->openscad_include_set);
	conf_free(c);
	EXPECT_ACCEPTED(c, "executors:\n  openscad:\n    cost: 2\n");
	CHECK(!c->openscad_include_set);
	conf_free(c);
	EXPECT_ACCEPTED(c, "executors:\n  openscad:\n    allow-warnings: "
	    "[unknown-module, unknown-function, missing-file, "
	    "bolts-error]\n");
	CHECK_INT(c->openscad_allow, CONF_SCAD_UNKNOWN_MODULE |
	    CONF_SCAD_UNKNOWN_FUNCTION | CONF_SCAD_MISSING_FILE |
	    CONF_SCAD_BOLTS_ERROR);
	conf_free(c);
	EXPECT_ACCEPTED(c, "executors:\n  openscad:\n    allow-warnings: "
	    "[all]\n");
	CHECK_INT(c->openscad_allow, CONF_SCAD_ALL);
	conf_free(c);
	EXPECT_ACCEPTED(c, "executors:\n  openscad:\n    allow-warnings: "
	    "[]\n");
	CHECK_INT(c->openscad_allow, 0);
	conf_free(c);
	EXPECT_REFUSED("executors:\n  openscad:\n    allow-warnings: "
	    "[unknown-variable, parse-error]\n",
	    "partsfs.conf:3:40: error: executors.openscad.allow-warnings: "
	    "unknown kind 'parse-error' (known: unknown-module, "
	    "unknown-function, unknown-variable, missing-file, bolts-error, "
	    "all)");
	EXPECT_REFUSED("executors:\n  openscad:\n    allow-warnings: all\n",
	    "partsfs.conf:3:21: error: executors.openscad.allow-warnings: "
	    "expected a list");
	CHECK_STR(conf_scad_kind_name(CONF_SCAD_UNKNOWN_VARIABLE),
	    "unknown-variable");
	CHECK_STR(conf_scad_kind_name(CONF_SCAD_BOLTS_ERROR), "bolts-error");
	CHECK(conf_scad_kind_name(CONF_SCAD_ALL) == NULL);
	CHECK(conf_scad_kind_name(0) == NULL);
}

static void
home_is_expanded_and_includes_stay_relative(void)
{
	struct conf *c;
	char *want;

	isolate();
	EXPECT_ACCEPTED(c, "executors:\n"
	    "  openscad:\n"
	    "    program: ~/bin/openscad\n"
	    "    include: [common.scad, /abs/conf.scad, ~/my.scad]\n"
	    "  freecad: {driver: ~/driver.py}\n"
	    "  converter: ~/convert\n"
	    "  commands:\n"
	    "    - {name: t, argv: [~/bin/t, '{output}', ~/x], formats: [stl]}\n"
	    "cache: {dir: ~/c}\n");
	want = joined(home, "/bin/openscad");
	CHECK_STR(c->openscad, want);
	free(want);
	CHECK_STR(c->openscad_include[0], "common.scad");
	CHECK_STR(c->openscad_include[1], "/abs/conf.scad");
	want = joined(home, "/my.scad");
	CHECK_STR(c->openscad_include[2], want);
	free(want);
	want = joined(home, "/driver.py");
	CHECK_STR(c->freecad_driver, want);
	free(want);
	want = joined(home, "/convert");
	CHECK_STR(c->converter, want);
	free(want);
	want = joined(home, "/bin/t");
	CHECK_STR(c->commands[0].argv[0], want);
	free(want);
	/* only the program of an argv is a path */
	CHECK_STR(c->commands[0].argv[2], "~/x");
	want = joined(home, "/c");
	CHECK_STR(c->cache_dir, want);
	free(want);
	conf_free(c);
}

static void
paths_must_be_absolute_or_program_names(void)
{
	isolate();
	EXPECT_REFUSED("executors:\n  freecad:\n    driver: lib/driver.py\n",
	    "partsfs.conf:3:13: error: executors.freecad.driver: "
	    "'lib/driver.py' must be an absolute path (or start with ~/)");
	EXPECT_REFUSED("executors:\n  converter: convert\n",
	    "partsfs.conf:2:14: error: executors.converter: 'convert' must "
	    "be an absolute path");
	EXPECT_REFUSED("cache:\n  dir: cache\n",
	    "partsfs.conf:2:8: error: cache.dir: 'cache' must be an "
	    "absolute path");
	EXPECT_REFUSED("executors:\n  openscad:\n    program: bin/openscad\n",
	    "partsfs.conf:3:14: error: executors.openscad.program: "
	    "'bin/openscad' must be a program name (looked up on $PATH) or "
	    "an absolute path");
	EXPECT_REFUSED("executors:\n  openscad:\n    program: ''\n",
	    "partsfs.conf:3:14: error: executors.openscad.program: must not "
	    "be empty");
	EXPECT_REFUSED("executors:\n  openscad:\n    png-wrapper: [./xvfb]\n",
	    "partsfs.conf:3:19: error: executors.openscad.png-wrapper: "
	    "'./xvfb' must be a program name");
}

static void
unknown_keys_are_errors_at_their_position(void)
{
	isolate();
	EXPECT_REFUSED("job:\n  workers: 2\n",
	    "partsfs.conf:1:1: error: unknown key 'job' (known: executors, "
	    "jobs, cache, values, serve, remote)");
	EXPECT_REFUSED("jobs:\n  workers: 2\n  timout: 5\n",
	    "partsfs.conf:3:3: error: jobs: unknown key 'timout' (known: "
	    "workers, timeout, memory, cpu, stderr, output-max, sandbox, "
	    "bwrap, user, processes, tmp-size, paths)");
	EXPECT_REFUSED("executors:\n  openscad:\n    includes: [a.scad]\n",
	    "partsfs.conf:3:5: error: executors.openscad: unknown key "
	    "'includes' (known: program, include, png-wrapper, cost, "
	    "allow-warnings)");
	EXPECT_REFUSED("executors:\n  freecad:\n    png-wrapper: []\n",
	    "partsfs.conf:3:5: error: executors.freecad: unknown key "
	    "'png-wrapper'");
	EXPECT_REFUSED("executors:\n  cadquery: {}\n",
	    "partsfs.conf:2:3: error: executors: unknown key 'cadquery' "
	    "(known: openscad, freecad, converter, commands, model, models)");
	EXPECT_REFUSED("cache:\n  max_size: 1G\n",
	    "partsfs.conf:2:3: error: cache: unknown key 'max_size'");
	EXPECT_REFUSED("executors:\n  commands:\n"
	    "    - {name: a, argv: [e, '{output}'], formats: [stl], formta: 1}\n",
	    "partsfs.conf:3:56: error: executors.commands: unknown key "
	    "'formta' (known: name, argv, version, formats, cost)");
}

static void
values_of_the_wrong_kind_are_errors(void)
{
	isolate();
	EXPECT_REFUSED("jobs:\n  timeout: [1, 2]\n",
	    "partsfs.conf:2:12: error: jobs.timeout: expected a single value, "
	    "found a list");
	EXPECT_REFUSED("jobs: 5\n",
	    "partsfs.conf:1:7: error: jobs: expected a mapping, found a "
	    "single value");
	EXPECT_REFUSED("executors:\n  openscad:\n    include: common.scad\n",
	    "partsfs.conf:3:14: error: executors.openscad.include: expected a "
	    "list, found a single value");
	EXPECT_REFUSED("executors:\n  openscad:\n    program: {a: b}\n",
	    "partsfs.conf:3:14: error: executors.openscad.program: expected a "
	    "single value, found a mapping");
	EXPECT_REFUSED("executors:\n  openscad:\n    include: [a, [b]]\n",
	    "partsfs.conf:3:18: error: executors.openscad.include: expected a "
	    "single value, found a list");
	EXPECT_REFUSED("executors:\n  commands: {name: x}\n",
	    "partsfs.conf:2:13: error: executors.commands: expected a list of "
	    "commands, found a mapping");
	EXPECT_REFUSED("executors:\n  commands: [x]\n",
	    "partsfs.conf:2:14: error: executors.commands: expected a mapping "
	    "(name, argv, formats, ...), found a single value");
	EXPECT_REFUSED("- executors\n",
	    "partsfs.conf:1:1: error: expected a mapping of the sections "
	    "executors, jobs, cache, values, serve and remote, found a list");
}

/* The serve section: partsctl serve's addresses and limits, loopback
 * only by default. */
static void
the_serve_section_sets_addresses_and_limits(void)
{
	struct conf *c;

	isolate();
	c = conf_default();
	CHECK_INT(c->nserve_listen, 1);
	CHECK_STR(c->serve_listen[0], "127.0.0.1:8080");
	CHECK(c->serve_listen[1] == NULL);
	CHECK_INT(c->nserve_occi_listen, 0);
	CHECK_INT(c->serve_connections, 4096);
	CHECK_INT(c->serve_per_ip, 0);
	CHECK_NUM(c->serve_timeout, 15);
	CHECK_INT(c->serve_threads, 0);
	CHECK_INT(c->serve_queue, 256);
	CHECK(c->serve_web == NULL);
	conf_free(c);

	EXPECT_ACCEPTED(c, "serve:\n  listen: ['[::1]:80', 0.0.0.0:8080, "
	    "localhost:0]\n  occi-listen: 127.0.0.1:8081\n"
	    "  connections: 5000\n  per-ip: 64\n  timeout: 2.5\n"
	    "  threads: 4\n  queue: 10\n  web: /srv/web\n");
	CHECK_INT(c->nserve_listen, 3);
	CHECK_STR(c->serve_listen[0], "[::1]:80");
	CHECK_STR(c->serve_listen[2], "localhost:0");
	CHECK_INT(c->nserve_occi_listen, 1);
	CHECK_STR(c->serve_occi_listen[0], "127.0.0.1:8081");
	CHECK_INT(c->serve_connections, 5000);
	CHECK_INT(c->serve_per_ip, 64);
	CHECK_NUM(c->serve_timeout, 2.5);
	CHECK_INT(c->serve_threads, 4);
	CHECK_INT(c->serve_queue, 10);
	CHECK_STR(c->serve_web, "/srv/web");
	conf_free(c);

	EXPECT_REFUSED("serve:\n  listen: 8080\n", "serve.listen: '8080' is "
	    "not an address to listen on");
	EXPECT_REFUSED("serve:\n  listen: [a:1, '::1:80']\n", "'::1:80'");
	EXPECT_REFUSED("serve:\n  listen: a:65536\n", "'a:65536'");
	EXPECT_REFUSED("serve:\n  occi-listen: [[a]]\n",
	    "serve.occi-listen: expected a single value, found a list");
	EXPECT_REFUSED("serve:\n  connections: 0\n", "serve.connections: "
	    "'0' is not a number of connections from 1 to 1000000");
	EXPECT_REFUSED("serve:\n  timeout: 0.5\n", "serve.timeout");
	EXPECT_REFUSED("serve:\n  threads: 300\n", "serve.threads");
	EXPECT_REFUSED("serve:\n  queue: 0\n", "serve.queue");
	EXPECT_REFUSED("serve:\n  port: 1\n", "serve: unknown key 'port'");
}

/* The remote section: credentials for partsctl on a URL from files, and
 * the connect time. */
static void
the_remote_section_names_credential_files_and_the_connect_time(void)
{
	struct conf *c;

	isolate();
	c = conf_default();
	CHECK(c->remote_netrc == NULL && c->remote_token_file == NULL);
	CHECK_NUM(c->remote_connect_timeout, 10);
	conf_free(c);
	EXPECT_ACCEPTED(c, "remote:\n  netrc: /etc/parts.netrc\n"
	    "  token-file: /run/parts.token\n  connect-timeout: 2.5\n"
	    "  dir-cache: 120\n");
	CHECK_STR(c->remote_netrc, "/etc/parts.netrc");
	CHECK_STR(c->remote_token_file, "/run/parts.token");
	CHECK_NUM(c->remote_connect_timeout, 2.5);
	CHECK_NUM(c->remote_dir_cache, 120);
	conf_free(c);
	EXPECT_REFUSED("remote:\n  dir-cache: 100000\n",
	    "remote.dir-cache: '100000' is not a number of seconds from 0 "
	    "to 86400");
	EXPECT_REFUSED("remote:\n  netrc: parts.netrc\n", "remote.netrc: "
	    "'parts.netrc' must be an absolute path");
	EXPECT_REFUSED("remote:\n  connect-timeout: 0\n",
	    "remote.connect-timeout: '0' is not a number of seconds from 0.1 "
	    "to 3600");
	EXPECT_REFUSED("remote:\n  token: x\n", "remote: unknown key "
	    "'token'");
}

/* What the OCCI API says of itself: none by default, one line each. */
static void
the_occi_keys_name_the_server_for_the_plugin(void)
{
	struct conf *c;

	isolate();
	c = conf_default();
	CHECK(c->serve_occi_url == NULL && c->serve_occi_library == NULL &&
	    c->serve_occi_maintainer == NULL && c->serve_occi_email == NULL);
	conf_free(c);
	EXPECT_ACCEPTED(c, "serve:\n  occi-url: https://parts.example.org\n"
	    "  occi-library: Our parts\n  occi-maintainer: Parts team\n"
	    "  occi-email: parts@example.org\n");
	CHECK_STR(c->serve_occi_url, "https://parts.example.org");
	CHECK_STR(c->serve_occi_library, "Our parts");
	CHECK_STR(c->serve_occi_maintainer, "Parts team");
	CHECK_STR(c->serve_occi_email, "parts@example.org");
	conf_free(c);
	EXPECT_REFUSED("serve:\n  occi-url: ftp://x\n", "serve.occi-url: "
	    "'ftp://x' is not an http:// or https:// URL");
	EXPECT_REFUSED("serve:\n  occi-library: ''\n", "serve.occi-library: "
	    "expected one line of text");
	EXPECT_REFUSED("serve:\n  occi-maintainer: \"a\\nb\"\n",
	    "serve.occi-maintainer: expected one line of text");
	EXPECT_REFUSED("serve:\n  occi-email: [a]\n", "serve.occi-email: "
	    "expected a single value, found a list");
}

static void
numbers_out_of_range_are_errors(void)
{
	struct conf *c;

	isolate();
	EXPECT_REFUSED("jobs:\n  timeout: 0\n",
	    "partsfs.conf:2:12: error: jobs.timeout: '0' is not a number of "
	    "seconds from 0.001 to 1000000000");
	EXPECT_REFUSED("jobs:\n  timeout: 1e-300\n",
	    "jobs.timeout: '1e-300' is not");
	EXPECT_REFUSED("jobs:\n  timeout: 2e9\n", "jobs.timeout: '2e9' is not");
	EXPECT_REFUSED("jobs:\n  timeout: soon\n", "jobs.timeout: 'soon' is not");
	EXPECT_REFUSED("jobs:\n  cpu: -1\n",
	    "partsfs.conf:2:8: error: jobs.cpu: '-1' is not a number of CPU "
	    "seconds from 0 (no limit) to 1000000000");
	EXPECT_REFUSED("jobs:\n  workers: 257\n",
	    "partsfs.conf:2:12: error: jobs.workers: '257' is not a number of "
	    "parallel jobs from 0 (one per CPU) to 256");
	EXPECT_REFUSED("jobs:\n  workers: -1\n", "jobs.workers: '-1' is not");
	EXPECT_REFUSED("jobs:\n  workers: 2.5\n", "jobs.workers: '2.5' is not");
	EXPECT_REFUSED("jobs:\n  workers: 99999999999999999999\n",
	    "jobs.workers: '99999999999999999999' is not");
	EXPECT_REFUSED("cache:\n  negative-ttl: -0.5\n",
	    "partsfs.conf:2:17: error: cache.negative-ttl: '-0.5' is not a "
	    "number of seconds from 0 to 1000000000");
	EXPECT_REFUSED("executors:\n  model: cadquery\n",
	    "partsfs.conf:2:10: error: executors.model: 'cadquery' is not an "
	    "engine: openscad, freecad or the name of a command");
	EXPECT_REFUSED("executors:\n  models: {bolts: blender}\n",
	    "executors.models: 'blender' is not an engine");
	EXPECT_REFUSED("executors:\n  models: [openscad]\n",
	    "executors.models: expected a mapping of collection or class ids "
	    "to engines, found a list");
	EXPECT_REFUSED("values:\n  max: 0\n",
	    "partsfs.conf:2:8: error: values.max: '0' is not a number greater "
	    "than 0 and at most 1000000000");
	EXPECT_REFUSED("values:\n  max: 1.1e9\n", "values.max: '1.1e9' is "
	    "not");
	EXPECT_REFUSED("values:\n  max: -5\n", "values.max: '-5' is not");
	EXPECT_REFUSED("values:\n  max: [1]\n", "values.max");
	EXPECT_REFUSED("values:\n  min: 1\n", "unknown key 'min'");
	EXPECT_REFUSED("executors:\n  openscad: {cost: 0}\n",
	    "partsfs.conf:2:20: error: executors.openscad.cost: '0' is not a "
	    "cost from 1 to 100");
	EXPECT_REFUSED("executors:\n  freecad: {cost: 101}\n",
	    "executors.freecad.cost: '101' is not a cost from 1 to 100");
	EXPECT_REFUSED("executors:\n  commands:\n    - {name: a, argv: "
	    "['{output}'], formats: [stl], cost: 0}\n",
	    "executors.commands.cost: '0' is not a cost from 1 to 100");
	/* the edges are accepted */
	EXPECT_ACCEPTED(c, "jobs: {workers: 256, timeout: 0.001, cpu: 0}\n"
	    "cache: {negative-ttl: 0}\n"
	    "values: {max: 1e9}\n"
	    "executors: {openscad: {cost: 100}, freecad: {cost: 1}}\n");
	CHECK_NUM(c->value_max, 1e9);
	CHECK_INT(c->workers, 256);
	CHECK_NUM(c->timeout, 0.001);
	CHECK_INT(c->openscad_cost, 100);
	CHECK_INT(c->freecad_cost, 1);
	conf_free(c);
}

static void
sizes_must_be_sizes(void)
{
	struct conf *c;

	isolate();
	EXPECT_REFUSED("jobs:\n  memory: 4GB\n",
	    "partsfs.conf:2:11: error: jobs.memory: '4GB' is not a size of 16M "
	    "or more (0: no limit): bytes, or a number with K, M, G or T "
	    "(powers of 1024)");
	EXPECT_REFUSED("jobs:\n  stderr: 1.5K\n", "jobs.stderr: '1.5K' is not");
	EXPECT_REFUSED("jobs:\n  output-max: -1\n",
	    "jobs.output-max: '-1' is not");
	EXPECT_REFUSED("cache:\n  max-size: 0\n",
	    "partsfs.conf:2:13: error: cache.max-size: '0' is not a size "
	    "greater than 0");
	EXPECT_REFUSED("jobs:\n  memory: 1\n",
	    "partsfs.conf:2:11: error: jobs.memory: '1' is not a size of 16M "
	    "or more (0: no limit)");
	EXPECT_REFUSED("jobs:\n  memory: 15M\n", "jobs.memory: '15M' is not");
	EXPECT_ACCEPTED(c, "jobs: {memory: 16M}\n");
	CHECK_INT(c->memory, 16 << 20);
	conf_free(c);
	isolate();
	EXPECT_ACCEPTED(c, "jobs: {memory: 0, output-max: 0, stderr: 0}\n");
	CHECK_INT(c->memory, 0);
	CHECK_INT(c->output_max, 0);
	CHECK_INT(c->stderr_max, 0);
	conf_free(c);
}

#define COMMAND(body) "executors:\n  commands:\n    - " body "\n"

static void
a_command_needs_a_valid_name(void)
{
	static const char *const reserved[] = { "openscad", "freecad",
	    "drawings", "data" };
	struct conf *c;
	char *text, *want;

	isolate();
	EXPECT_REFUSED(COMMAND("{argv: [e, '{output}'], formats: [stl]}"),
	    "partsfs.conf:3:7: error: executors.commands: missing the "
	    "mandatory key 'name'");
	EXPECT_REFUSED(COMMAND("{name: cad.query, argv: [e, '{output}'], "
	    "formats: [stl]}"),
	    "partsfs.conf:3:14: error: executors.commands.name: 'cad.query' "
	    "may hold only letters, digits, underscores and hyphens");
	EXPECT_REFUSED(COMMAND("{name: 'a b', argv: [e, '{output}'], "
	    "formats: [stl]}"), "'a b' may hold only");
	EXPECT_REFUSED(COMMAND("{name: '', argv: [e, '{output}'], "
	    "formats: [stl]}"), "'' may hold only");
	EXPECT_REFUSED(COMMAND("{name: [x], argv: [e, '{output}'], "
	    "formats: [stl]}"),
	    "executors.commands.name: expected a single value, found a list");
	for (size_t i = 0; i < PF_ARRAY_LEN(reserved); i++) {
		if (asprintf(&text, COMMAND("{name: %s, argv: [e, '{output}'], "
		    "formats: [stl]}"), reserved[i]) < 0 ||
		    asprintf(&want, "partsfs.conf:3:14: error: "
		    "executors.commands.name: '%s' is reserved (openscad, "
		    "freecad, drawings and data are BOLTS databases)",
		    reserved[i]) < 0)
			abort();
		c = load(text);
		free(text);
		if (c != NULL || !has_diag(want)) {
			tap_fail(__FILE__, __LINE__, "no error \"%s\"; got:\n%s",
			    want, all_diags());
			conf_free(c);
			free(want);
			return;
		}
		free(want);
	}
}

static void
command_names_must_be_unique(void)
{
	isolate();
	EXPECT_REFUSED("executors:\n  commands:\n"
	    "    - {name: cq, argv: [e, '{output}'], formats: [stl]}\n"
	    "    - {name: other, argv: [e, '{output}'], formats: [stl]}\n"
	    "    - {name: cq, argv: [e, '{output}'], formats: [step]}\n",
	    "partsfs.conf:5:14: error: executors.commands.name: 'cq' is "
	    "already the name of the command at line 3");
}

static void
a_command_argv_is_a_nonempty_list_naming_the_output(void)
{
	isolate();
	EXPECT_REFUSED(COMMAND("{name: a, formats: [stl]}"),
	    "partsfs.conf:3:7: error: executors.commands: missing the "
	    "mandatory key 'argv'");
	EXPECT_REFUSED(COMMAND("{name: a, argv: [], formats: [stl]}"),
	    "partsfs.conf:3:23: error: executors.commands.argv: must not be "
	    "empty");
	EXPECT_REFUSED(COMMAND("{name: a, argv: [tool, '{script}'], "
	    "formats: [stl]}"),
	    "partsfs.conf:3:23: error: executors.commands.argv: no {output} "
	    "placeholder: the engine must be told which file to write");
	EXPECT_REFUSED(COMMAND("{name: a, argv: 'tool {output}', "
	    "formats: [stl]}"),
	    "executors.commands.argv: expected a list, found a single value");
	EXPECT_REFUSED(COMMAND("{name: a, argv: ['', '{output}'], "
	    "formats: [stl]}"),
	    "executors.commands.argv: must not be empty");
	/* the program: one on PATH, or the script itself */
	EXPECT_REFUSED(COMMAND("{name: a, argv: ['{output}'], "
	    "formats: [stl]}"),
	    "partsfs.conf:3:24: error: executors.commands.argv: the program "
	    "is a program, or {script} alone");
	EXPECT_REFUSED(COMMAND("{name: a, argv: ['{script}.sh', '{output}'], "
	    "formats: [stl]}"), "or {script} alone");
	{
		struct conf *c;
		EXPECT_ACCEPTED(c, COMMAND("{name: a, argv: ['{script}', "
		    "'{output}'], formats: [stl]}"));
		CHECK_STR(c->commands[0].argv[0], "{script}");
		conf_free(c);
	}
}

static void
placeholders_must_be_known(void)
{
	struct conf *c;

	isolate();
	EXPECT_REFUSED(COMMAND("{name: a, argv: [tool, '{output}', "
	    "'--x={xyz}'], formats: [stl]}"),
	    "partsfs.conf:3:42: error: executors.commands.argv: unknown "
	    "placeholder {xyz} (known: {script}, {params}, {output}, "
	    "{format}, {scratch})");
	EXPECT_REFUSED(COMMAND("{name: a, argv: [tool, '{Output}'], "
	    "formats: [stl]}"), "unknown placeholder {Output}");
	/* every known one, and braces around no word, are fine */
	EXPECT_ACCEPTED(c, COMMAND("{name: a, argv: ['{script}', "
	    "'{params}', '{output}', '{format}', '{scratch}', "
	    "'{\"json\": 1}', '{}', '{ x }', '{{output}}'], formats: [stl]}"));
	CHECK_INT(c->commands[0].argc, 9);
	CHECK_STR(c->commands[0].argv[5], "{\"json\": 1}");
	conf_free(c);
}

static void
the_version_command_takes_no_placeholders(void)
{
	isolate();
	EXPECT_REFUSED(COMMAND("{name: a, argv: [e, '{output}'], formats: [stl], "
	    "version: [tool, '{script}']}"),
	    "partsfs.conf:3:72: error: executors.commands.version: {script}: "
	    "placeholders are not replaced here");
	EXPECT_REFUSED(COMMAND("{name: a, argv: [e, '{output}'], formats: [stl], "
	    "version: []}"),
	    "executors.commands.version: must not be empty");
	EXPECT_REFUSED(COMMAND("{name: a, argv: [e, '{output}'], formats: [stl], "
	    "version: tool --version}"),
	    "executors.commands.version: expected a list");
}

static void
command_formats_must_be_known_and_not_json(void)
{
	isolate();
	EXPECT_REFUSED(COMMAND("{name: a, argv: [e, '{output}']}"),
	    "executors.commands: missing the mandatory key 'formats'");
	EXPECT_REFUSED(COMMAND("{name: a, argv: [e, '{output}'], formats: []}"),
	    "executors.commands.formats: must not be empty");
	EXPECT_REFUSED(COMMAND("{name: a, argv: [e, '{output}'], "
	    "formats: [stl, obj]}"),
	    "partsfs.conf:3:55: error: executors.commands.formats: unknown "
	    "format 'obj' (known: step, stl, glb, 3mf, off, amf, csg, png)");
	EXPECT_REFUSED(COMMAND("{name: a, argv: [e, '{output}'], "
	    "formats: [json]}"),
	    "partsfs.conf:3:50: error: executors.commands.formats: json is "
	    "written by partsfs itself, not by an engine");
	EXPECT_REFUSED(COMMAND("{name: a, argv: [e, '{output}'], "
	    "formats: [STL]}"), "unknown format 'STL'");
	EXPECT_REFUSED(COMMAND("{name: a, argv: [e, '{output}'], formats: stl}"),
	    "executors.commands.formats: expected a list");
}

static void
every_error_of_a_file_is_reported_at_once(void)
{
	isolate();
	EXPECT_REFUSED("jobs:\n  timeout: 0\n  workers: x\ncache:\n"
	    "  dir: rel\n  bogus: 1\n", "jobs.timeout");
	CHECK_INT(D.nerrors, 4);
	EXPECT_ERROR("partsfs.conf:3:12: error: jobs.workers");
	EXPECT_ERROR("partsfs.conf:5:8: error: cache.dir");
	EXPECT_ERROR("partsfs.conf:6:3: error: cache: unknown key 'bogus'");
}

static void
yaml_syntax_errors_are_reported(void)
{
	isolate();
	EXPECT_REFUSED("jobs:\n  timeout: [1\n", "partsfs.conf:");
	CHECK(D.nerrors >= 1);
	CHECK(D.v[0].line > 0);
}

static void
an_explicit_path_that_does_not_exist_is_an_error(void)
{
	struct conf *c;
	char *missing;

	isolate();
	missing = joined(home, "/missing.conf");
	c = conf_load(missing, &D);
	CHECK(c == NULL);
	CHECK_INT(D.nerrors, 1);
	CHECK_STR(D.v[0].file, missing);
	CHECK_CONTAINS(D.v[0].msg, "No such file or directory");
	free(missing);
	/* without a diags list it still fails cleanly */
	CHECK(conf_load("/nonexistent/partsfs.conf", NULL) == NULL);
	/* a directory is not a configuration file */
	diags_free(&D);
	CHECK(conf_load(home, &D) == NULL);
	CHECK_INT(D.nerrors, 1);
}

static void
partsfs_config_that_does_not_exist_is_an_error(void)
{
	struct conf *c;

	isolate();
	setenv("PARTSFS_CONFIG", "/nonexistent/partsfs.conf", 1);
	c = conf_load(NULL, &D);
	CHECK(c == NULL);
	CHECK_INT(D.nerrors, 1);
	CHECK_STR(D.v[0].file, "/nonexistent/partsfs.conf");
}

static void
the_xdg_config_file_is_found_then_the_home_one(void)
{
	struct conf *c;
	char *xdg;

	isolate();
	tap_write(home, ".config/partsfs/partsfs.conf", "jobs: {workers: 2}\n");
	c = conf_load(NULL, &D);
	CHECK(c != NULL);
	CHECK_INT(c->workers, 2);
	CHECK_CONTAINS(c->file, "/.config/partsfs/partsfs.conf");
	conf_free(c);
	/* $XDG_CONFIG_HOME replaces ~/.config */
	xdg = joined(home, "/xdg");
	setenv("XDG_CONFIG_HOME", xdg, 1);
	tap_write(home, "xdg/partsfs/partsfs.conf", "jobs: {workers: 3}\n");
	c = conf_load(NULL, &D);
	CHECK(c != NULL);
	CHECK_INT(c->workers, 3);
	CHECK_CONTAINS(c->file, "/xdg/partsfs/partsfs.conf");
	conf_free(c);
	free(xdg);
}

static void
partsfs_config_beats_the_xdg_file(void)
{
	struct conf *c;
	char *own;

	isolate();
	tap_write(home, ".config/partsfs/partsfs.conf", "jobs: {workers: 2}\n");
	tap_write(home, "own.conf", "jobs: {workers: 5}\n");
	own = joined(home, "/own.conf");
	setenv("PARTSFS_CONFIG", own, 1);
	c = conf_load(NULL, &D);
	CHECK(c != NULL);
	CHECK_INT(c->workers, 5);
	CHECK_STR(c->file, own);
	conf_free(c);
	/* and an explicit path beats $PARTSFS_CONFIG */
	tap_write(home, "arg.conf", "jobs: {workers: 7}\n");
	free(own);
	own = joined(home, "/arg.conf");
	c = conf_load(own, &D);
	CHECK(c != NULL);
	CHECK_INT(c->workers, 7);
	conf_free(c);
	free(own);
}

static void
a_broken_file_in_a_default_location_is_reported(void)
{
	isolate();
	tap_write(home, ".config/partsfs/partsfs.conf", "jobs: {workers: x}\n");
	CHECK(conf_load(NULL, &D) == NULL);
	EXPECT_ERROR(".config/partsfs/partsfs.conf:1:17: error: "
	    "jobs.workers: 'x' is not");
}

static void
conf_set_sets_each_option(void)
{
	struct perr e;
	struct conf *c;

	isolate();
	c = conf_default();
	CHECK_INT(conf_set(c, "cache", "/var/cache/p", &e), 0);
	CHECK_STR(c->cache_dir, "/var/cache/p");
	CHECK_INT(conf_set(c, "cache_max", "20G", &e), 0);
	CHECK_INT(c->cache_max, 20 * GiB);
	CHECK_INT(conf_set(c, "jobs", "4", &e), 0);
	CHECK_INT(c->workers, 4);
	CHECK_INT(conf_set(c, "timeout", "2.5", &e), 0);
	CHECK_NUM(c->timeout, 2.5);
	CHECK_INT(conf_set(c, "memory", "512M", &e), 0);
	CHECK_INT(c->memory, 512 * MiB);
	CHECK_INT(conf_set(c, "cpu", "0", &e), 0);
	CHECK_NUM(c->cpu, 0);
	CHECK_INT(conf_set(c, "negative_ttl", "5", &e), 0);
	CHECK_NUM(c->negative_ttl, 5);
	CHECK_INT(conf_set(c, "model", "openscad", &e), 0);
	CHECK_STR(c->model, "openscad");
	CHECK_INT(conf_set(c, "model", "cadquery", &e), -EINVAL);
	CHECK_CONTAINS(e.msg, "model=cadquery: expected openscad, freecad or "
	    "the name of a command");
	CHECK_STR(c->model, "openscad");
	conf_free(c);
}

static void
conf_set_expands_and_anchors_the_cache_dir(void)
{
	struct perr e;
	struct conf *c;
	char *cwd, *want;

	isolate();
	c = conf_default();
	CHECK_INT(conf_set(c, "cache", "~/x", &e), 0);
	want = joined(home, "/x");
	CHECK_STR(c->cache_dir, want);
	free(want);
	CHECK_INT(conf_set(c, "cache", "rel/dir", &e), 0);
	cwd = getcwd(NULL, 0);
	want = joined(cwd, "/rel/dir");
	CHECK_STR(c->cache_dir, want);
	free(want);
	free(cwd);
	conf_free(c);
}

static void
conf_set_rejects_bad_values_and_unknown_names(void)
{
	struct perr e;
	struct conf *c;

	isolate();
	c = conf_default();
	CHECK_INT(conf_set(c, "timeout", "0", &e), -EINVAL);
	CHECK_INT(e.code, EINVAL);
	CHECK_STR(e.msg, "timeout=0: expected a number of seconds from "
	    "0.001 to 1000000000");
	CHECK_NUM(c->timeout, 120);
	CHECK_INT(conf_set(c, "jobs", "300", &e), -EINVAL);
	CHECK_STR(e.msg, "jobs=300: expected a number of parallel jobs from "
	    "0 (one per CPU) to 256");
	CHECK_INT(conf_set(c, "memory", "lots", &e), -EINVAL);
	CHECK_CONTAINS(e.msg, "memory=lots: expected a size");
	CHECK_INT(conf_set(c, "cache_max", "0", &e), -EINVAL);
	CHECK_CONTAINS(e.msg, "cache_max=0: expected a size greater than 0");
	CHECK_INT(conf_set(c, "cpu", "-1", &e), -EINVAL);
	CHECK_CONTAINS(e.msg, "cpu=-1: expected a number of CPU seconds");
	CHECK_INT(conf_set(c, "negative_ttl", "x", &e), -EINVAL);
	CHECK_CONTAINS(e.msg, "negative_ttl=x: expected a number of seconds");
	CHECK_INT(conf_set(c, "cache", "", &e), -EINVAL);
	CHECK_STR(e.msg, "cache=: expected a directory");
	CHECK_INT(conf_set(c, "timeout", NULL, &e), -EINVAL);
	CHECK_CONTAINS(e.msg, "timeout needs a value");
	CHECK_INT(conf_set(c, "workers", "2", &e), -EINVAL);
	CHECK_STR(e.msg, "unknown option 'workers' (known: cache, cache_max, "
	    "jobs, timeout, memory, cpu, negative_ttl, sandbox, model, "
	    "dir_cache, connect_timeout, netrc, token_file)");
	/* the remote mount's */
	CHECK_NUM(c->remote_dir_cache, 30);
	CHECK_INT(conf_set(c, "dir_cache", "2.5", &e), 0);
	CHECK_NUM(c->remote_dir_cache, 2.5);
	CHECK_INT(conf_set(c, "dir_cache", "-1", &e), -EINVAL);
	CHECK_CONTAINS(e.msg, "dir_cache=-1: expected a number of seconds");
	CHECK_INT(conf_set(c, "connect_timeout", "2", &e), 0);
	CHECK_NUM(c->remote_connect_timeout, 2);
	CHECK_INT(conf_set(c, "connect_timeout", "0", &e), -EINVAL);
	CHECK_INT(conf_set(c, "netrc", "/nonexistent/netrc", &e), -ENOENT);
	CHECK_CONTAINS(e.msg, "netrc=/nonexistent/netrc: ");
	CHECK_INT(conf_set(c, "token_file", "/etc/hostname", &e), 0);
	CHECK_STR(c->remote_token_file, "/etc/hostname");
	CHECK_INT(conf_set(c, "jobs", "2", NULL), 0);
	CHECK_INT(conf_set(c, "jobs", "x", NULL), -EINVAL);
	CHECK_INT(c->workers, 2);
	CHECK_NUM(c->timeout, 120);
	CHECK_INT(c->memory, 4 * GiB);
	CHECK_INT(c->cache_max, GiB);
	conf_free(c);
}

static void
parse_size_reads_bytes_and_binary_suffixes(void)
{
	static const struct {
		const char *s;
		uint64_t want;
	} good[] = {
		{ "0", 0 },
		{ "1000", 1000 },
		{ "64K", 64 * KiB },
		{ "64k", 64 * KiB },
		{ "64KiB", 64 * KiB },
		{ "64kib", 64 * KiB },
		{ "512M", 512 * MiB },
		{ "512MiB", 512 * MiB },
		{ "1G", GiB },
		{ "1g", GiB },
		{ "4GiB", 4 * GiB },
		{ "2T", (uint64_t)2 << 40 },
		{ "2TiB", (uint64_t)2 << 40 },
		{ "007", 7 },
		{ "18446744073709551615", UINT64_MAX },
		{ "16777215T", (uint64_t)16777215 << 40 },
	};
	static const char *const bad[] = {
		"", "K", "-1", "+1", " 1", "1 ", "1.5G", "1,5G", "1GB", "1KB",
		"1B", "1Gi", "1GiBs", "1P", "1e3", "0x10", "1 G", "G1",
		"18446744073709551616", "99999999999999999999999",
		"16777216T", "17179869184G",
	};
	uint64_t v;

	for (size_t i = 0; i < PF_ARRAY_LEN(good); i++) {
		v = 12345;
		CHECK_MSG(parse_size(good[i].s, &v), "refused \"%s\"",
		    good[i].s);
		CHECK_MSG(v == good[i].want, "\"%s\": got %ju, want %ju",
		    good[i].s, (uintmax_t)v, (uintmax_t)good[i].want);
	}
	for (size_t i = 0; i < PF_ARRAY_LEN(bad); i++) {
		v = 12345;
		CHECK_MSG(!parse_size(bad[i], &v), "accepted \"%s\"", bad[i]);
		CHECK_MSG(v == 12345, "\"%s\" changed the output", bad[i]);
	}
}

static void
expand_home_expands_only_a_leading_tilde(void)
{
	char *s;

	isolate();
	setenv("HOME", "/home/u", 1);
#define EXPANDS(in, want) do { \
	s = expand_home(in); \
	CHECK_STR(s, want); \
	free(s); \
} while (0)
	EXPANDS("~", "/home/u");
	EXPANDS("~/", "/home/u/");
	EXPANDS("~/x/y", "/home/u/x/y");
	EXPANDS("~user/x", "~user/x");
	EXPANDS("/a/~/b", "/a/~/b");
	EXPANDS("rel/x", "rel/x");
	EXPANDS("", "");
	setenv("HOME", "/home/u/", 1);
	EXPANDS("~/x", "/home/u/x");
	setenv("HOME", "/", 1);
	EXPANDS("~/x", "/x");
	EXPANDS("~", "/");
#undef EXPANDS
}

/* The .nf/.fi blocks of the man page's EXAMPLE section, as plain text
 * (roff's \- and \e undone); NULL when there are no more. */
static char *
man_example(const char *man, size_t nth)
{
	const char *p = strstr(man, "\n.SH EXAMPLE\n"), *end, *q;
	const char *stop = p != NULL ? strstr(p + 1, "\n.SH ") : NULL;
	struct buf b = BUF_INIT;

	for (size_t i = 0; p != NULL && i <= nth; i++) {
		if ((p = strstr(p, "\n.nf\n")) == NULL ||
		    (stop != NULL && p > stop))
			return NULL;
		p += 5;
	}
	if (p == NULL || (end = strstr(p, "\n.fi\n")) == NULL)
		return NULL;
	for (q = p; q <= end; q++) {
		if (q[0] == '\\' && (q[1] == '-' || q[1] == 'e')) {
			buf_addc(&b, q[1] == '-' ? '-' : '\\');
			q++;
		} else
			buf_addc(&b, *q);
	}
	return buf_steal(&b);
}

static void
the_man_page_examples_are_valid(void)
{
	char *path, *man, *text;
	struct conf *c;
	size_t n = 0;
	long len;
	FILE *fp;

	isolate();
	if (asprintf(&path, "%s/man/partsfs.conf.5", tap_srcdir()) < 0)
		abort();
	fp = fopen(path, "r");
	free(path);
	CHECK(fp != NULL);
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	man = calloc(1, (size_t)len + 1);
	CHECK(man != NULL && fread(man, 1, (size_t)len, fp) == (size_t)len);
	fclose(fp);
	for (; (text = man_example(man, n)) != NULL; n++) {
		c = load(text);
		free(text);
		if (c == NULL)
			break;
		if (n == 0) {
			CHECK_INT(c->ncommands, 1);
			CHECK_STR(c->commands[0].name, "cadquery");
			CHECK_STR(conf_model_for(c, "pipes", "din11850"),
			    "cadquery");
			CHECK_STR(conf_model_for(c, "bolts", "hex_nut"),
			    "freecad");
			CHECK_INT(c->nopenscad_include, 2);
			CHECK_INT(c->openscad_allow,
			    CONF_SCAD_UNKNOWN_VARIABLE);
		}
		conf_free(c);
	}
	free(man);
	CHECK_MSG(D.nerrors == 0, "example %zu refused:\n%s", n + 1,
	    all_diags());
	CHECK_INT(n, 2);
}

static void
finish(void)
{
	diags_free(&D);
	buf_free(&diag_text);
	free(home);
	free(file);
	home = file = NULL;
}

static void
all_memory_is_released(void)
{
	/* the last case: free what the others kept, for valgrind */
	finish();
	CHECK(home == NULL);
}

TAP_MAIN(
	TAP_CASE(without_a_file_the_defaults_apply),
	TAP_CASE(conf_default_reads_no_file),
	TAP_CASE(the_cache_defaults_to_xdg_cache_home_then_home),
	TAP_CASE(without_home_the_password_database_gives_the_home),
	TAP_CASE(datadir_and_libexecdir_variables_move_the_driver_and_converter),
	TAP_CASE(an_empty_file_gives_the_defaults),
	TAP_CASE(a_full_example_reads_every_value),
	TAP_CASE(keys_left_out_keep_their_defaults),
	TAP_CASE(an_empty_include_list_is_set_and_warnings_are_allowed_by_kind),
	TAP_CASE(home_is_expanded_and_includes_stay_relative),
	TAP_CASE(paths_must_be_absolute_or_program_names),
	TAP_CASE(unknown_keys_are_errors_at_their_position),
	TAP_CASE(values_of_the_wrong_kind_are_errors),
	TAP_CASE(numbers_out_of_range_are_errors),
	TAP_CASE(sizes_must_be_sizes),
	TAP_CASE(a_command_needs_a_valid_name),
	TAP_CASE(command_names_must_be_unique),
	TAP_CASE(a_command_argv_is_a_nonempty_list_naming_the_output),
	TAP_CASE(placeholders_must_be_known),
	TAP_CASE(the_version_command_takes_no_placeholders),
	TAP_CASE(command_formats_must_be_known_and_not_json),
	TAP_CASE(every_error_of_a_file_is_reported_at_once),
	TAP_CASE(yaml_syntax_errors_are_reported),
	TAP_CASE(an_explicit_path_that_does_not_exist_is_an_error),
	TAP_CASE(partsfs_config_that_does_not_exist_is_an_error),
	TAP_CASE(the_xdg_config_file_is_found_then_the_home_one),
	TAP_CASE(partsfs_config_beats_the_xdg_file),
	TAP_CASE(a_broken_file_in_a_default_location_is_reported),
	TAP_CASE(conf_set_sets_each_option),
	TAP_CASE(conf_set_expands_and_anchors_the_cache_dir),
	TAP_CASE(conf_set_rejects_bad_values_and_unknown_names),
	TAP_CASE(the_serve_section_sets_addresses_and_limits),
	TAP_CASE(the_occi_keys_name_the_server_for_the_plugin),
	TAP_CASE(the_remote_section_names_credential_files_and_the_connect_time),
	TAP_CASE(parse_size_reads_bytes_and_binary_suffixes),
	TAP_CASE(expand_home_expands_only_a_leading_tilde),
	TAP_CASE(the_man_page_examples_are_valid),
	TAP_CASE(all_memory_is_released)
)
