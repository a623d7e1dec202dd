/* conf.c -- partsfs.conf: executors, job limits and the cache, read from
 * YAML with every key checked, over defaults that need no file at all. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "partsfs/util/conf.h"
#include "partsfs/model/params.h"
#include "partsfs/util/value.h"
#include "partsfs/util/ydoc.h"

#ifndef PF_PKGDATADIR
#define PF_PKGDATADIR "/usr/local/share/partsfs"
#endif
#ifndef PF_LIBEXECDIR
#define PF_LIBEXECDIR "/usr/local/libexec/partsfs"
#endif

#define CONF_SYSTEM_FILE "/etc/partsfs/partsfs.conf"
#define CONF_USER_FILE "partsfs/partsfs.conf"   /* under the config home */

/* Characters of a command name and of a placeholder's word. */
#define NAME_CHARS \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

static const char *const placeholders[] = {
	"script", "params", "output", "format", "scratch", NULL
};

/* Database directories of every BOLTS library: not command names. */
static const char *const reserved_names[] = {
	"openscad", "freecad", "drawings", "data", NULL
};

/* The kinds of OpenSCAD messages of executors.openscad.allow-warnings,
 * by bit. */
static const char *const scad_kinds[] = {
	"unknown-module", "unknown-function", "unknown-variable",
	"missing-file", "bolts-error", NULL
};

/* What a number or a size must be, and how to say so. */
enum spec_kind {
	SPEC_INT,
	SPEC_REAL,               /* a decimal number */
	SPEC_SIZE,
};

struct spec {
	enum spec_kind kind;
	double min;              /* SPEC_INT, SPEC_REAL */
	double max;
	bool above;              /* the minimum itself is refused */
	const char *expect;
};

union num {
	int i;
	double d;
	uint64_t u;
};

static const struct spec spec_workers = {
	SPEC_INT, 0, 256, false,
	"a number of parallel jobs from 0 (one per CPU) to 256"
};
const char *
conf_scad_kind_name(unsigned kind)
{
	for (size_t i = 0; scad_kinds[i] != NULL; i++) {
		if (kind == 1u << i)
			return scad_kinds[i];
	}
	return NULL;
}

static const struct spec spec_cost = {
	SPEC_INT, 1, 100, false, "a cost from 1 to 100"
};
/* A time limit shorter than a millisecond could not even start an
 * engine; smaller values are mistakes. */
static const struct spec spec_timeout = {
	SPEC_REAL, 0.001, 1e9, false,
	"a number of seconds from 0.001 to 1000000000"
};
static const struct spec spec_cpu = {
	SPEC_REAL, 0, 1e9, false,
	"a number of CPU seconds from 0 (no limit) to 1000000000"
};
static const struct spec spec_ttl = {
	SPEC_REAL, 0, 1e9, false,
	"a number of seconds from 0 to 1000000000"
};
/* Real parts are well under a kilometre.  The bundled hex screw is made
 * by FreeCAD up to a shank of 1e9 mm (from 1e10 its solids no longer
 * fuse) and by OpenSCAD up to 1e12 (at 1e13 it drops the shank). */
static const struct spec spec_value_max = {
	SPEC_REAL, 0, 1e9, true,
	"a number greater than 0 and at most 1000000000"
};
static const struct spec spec_size = {
	SPEC_SIZE, 0, 0, false,
	"a size: bytes, or a number with K, M, G or T (powers of 1024)"
};
static const struct spec spec_limit = {
	SPEC_SIZE, 0, 0, false,
	"a size (0: no limit): bytes, or a number with K, M, G or T "
	"(powers of 1024)"
};
/* An address space under 16 MiB cannot even map an engine's libraries
 * (jobs.memory: 1 is a slip for 1G, not a limit). */
static const struct spec spec_memory = {
	SPEC_SIZE, 16 << 20, 0, false,
	"a size of 16M or more (0: no limit): bytes, or a number with K, M, "
	"G or T (powers of 1024)"
};
/* A job needs a couple of tasks (bwrap's init and the engine), and
 * engines start threads by the CPU. */
static const struct spec spec_processes = {
	SPEC_INT, 0, 1000000, false,
	"a number of processes and threads from 0 (no limit) to 1000000"
};
static const struct spec spec_cache_max = {
	SPEC_SIZE, 0, 0, true,
	"a size greater than 0: bytes, or a number with K, M, G or T "
	"(powers of 1024)"
};

static const struct spec spec_connections = {
	SPEC_INT, 1, 1000000, false,
	"a number of connections from 1 to 1000000"
};
static const struct spec spec_per_ip = {
	SPEC_INT, 0, 1000000, false,
	"a number of connections from 0 (no limit) to 1000000"
};
static const struct spec spec_serve_timeout = {
	SPEC_REAL, 1, 86400, false,
	"a number of seconds from 1 to 86400"
};
static const struct spec spec_connect_timeout = {
	SPEC_REAL, 0.1, 3600, false,
	"a number of seconds from 0.1 to 3600"
};
static const struct spec spec_dir_cache = {
	SPEC_REAL, 0, 86400, false,
	"a number of seconds from 0 to 86400"
};
static const struct spec spec_threads = {
	SPEC_INT, 0, 256, false,
	"a number of threads from 0 (one per CPU) to 256"
};
static const struct spec spec_queue = {
	SPEC_INT, 1, 1000000, false,
	"a number of parts from 1 to 1000000"
};

/* String vectors: NULL-terminated, owned with their strings. */

static void
strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

static bool
str_in(const char *s, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++) {
		if (strcmp(s, list[i]) == 0)
			return true;
	}
	return false;
}

/* Paths and the environment. */

/* A variable's value, or NULL when it is unset or empty. */
static const char *
env_value(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* An XDG base directory: only an absolute path counts, as the XDG Base
 * Directory specification says. */
static const char *
env_xdg(const char *name)
{
	const char *v = env_value(name);

	return v != NULL && v[0] == '/' ? v : NULL;
}

/* dir/rel without doubled slashes where dir ends in some. */
static char *
path_join(const char *dir, const char *rel)
{
	size_t n = strlen(dir);

	while (n > 0 && dir[n - 1] == '/')
		n--;
	return xasprintf("%.*s/%s", (int)n, dir, rel);
}

/* $HOME, else the password database's home, else "/"; caller frees. */
static char *
home_dir(void)
{
	const char *h = env_value("HOME");
	struct passwd pw, *res = NULL;
	long size;
	char *buf, *home = NULL;

	if (h != NULL)
		return xstrdup(h);
	if ((size = sysconf(_SC_GETPW_R_SIZE_MAX)) <= 0)
		size = 16384;
	buf = xmalloc((size_t)size);
	if (getpwuid_r(getuid(), &pw, buf, (size_t)size, &res) == 0 &&
	    res != NULL && pw.pw_dir != NULL && pw.pw_dir[0] != '\0')
		home = xstrdup(pw.pw_dir);
	free(buf);
	return home != NULL ? home : xstrdup("/");
}

char *
expand_home(const char *path)
{
	char *home, *p;

	if (path[0] != '~' || (path[1] != '\0' && path[1] != '/'))
		return xstrdup(path);
	home = home_dir();
	p = path[1] == '\0' ? xstrdup(home) : path_join(home, path + 2);
	free(home);
	return p;
}

bool
parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	int shift = 0;
	const char *p;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return false;
	for (p = s; isdigit((unsigned char)*p); p++) {
		unsigned digit = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - digit) / 10)
			return false;
		v = v * 10 + digit;
	}
	if (*p != '\0') {
		switch (*p) {
		case 'k': case 'K':
			shift = 10;
			break;
		case 'm': case 'M':
			shift = 20;
			break;
		case 'g': case 'G':
			shift = 30;
			break;
		case 't': case 'T':
			shift = 40;
			break;
		default:
			return false;
		}
		p++;
		if (*p != '\0' && ((p[0] != 'i' && p[0] != 'I') ||
		    (p[1] != 'b' && p[1] != 'B') || p[2] != '\0'))
			return false;
		if (v > UINT64_MAX >> shift)
			return false;
	}
	*out = v << shift;
	return true;
}

/* Text against a spec: false when it is not such a value. */
static bool
spec_parse(const struct spec *sp, const char *s, union num *out)
{
	const char *p = s;
	char *end;
	double d;
	long l;

	switch (sp->kind) {
	case SPEC_INT:
		if (*p == '-' || *p == '+')
			p++;
		if (!isdigit((unsigned char)*p))
			return false;
		errno = 0;
		l = strtol(s, &end, 10);
		if (*end != '\0' || errno != 0 || (double)l < sp->min ||
		    (double)l > sp->max)
			return false;
		out->i = (int)l;
		return true;
	case SPEC_REAL:
		if (!num_parse(s, strlen(s), &d) || d > sp->max ||
		    (sp->above ? d <= sp->min : d < sp->min))
			return false;
		out->d = d;
		return true;
	case SPEC_SIZE:
		if (!parse_size(s, &out->u) || (sp->above && out->u == 0) ||
		    (out->u != 0 && (double)out->u < sp->min))
			return false;
#if SIZE_MAX < UINT64_MAX
		if (out->u > SIZE_MAX)
			return false;
#endif
		return true;
	}
	return false;
}

/* The defaults. */

static char *
default_cache_dir(void)
{
	const char *xdg = env_xdg("XDG_CACHE_HOME");

	if (xdg != NULL)
		return path_join(xdg, "partsfs");
	return expand_home("~/.cache/partsfs");
}

struct conf *
conf_default(void)
{
	struct conf *c = xcalloc(1, sizeof *c);
	const char *datadir = env_value("PARTSFS_DATADIR");
	const char *libexecdir = env_value("PARTSFS_LIBEXECDIR");

	c->openscad = xstrdup("openscad");
	c->openscad_include = xcalloc(1, sizeof *c->openscad_include);
	c->png_wrapper = xcalloc(3, sizeof *c->png_wrapper);
	c->png_wrapper[0] = xstrdup("xvfb-run");
	c->png_wrapper[1] = xstrdup("-a");
	c->npng_wrapper = 2;
	c->openscad_cost = 1;
	c->freecad = xstrdup("freecadcmd");
	c->freecad_driver = path_join(datadir != NULL ? datadir :
	    PF_PKGDATADIR, "freecad-driver.py");
	c->freecad_cost = 2;
	c->model = xstrdup("freecad");
	c->models = xcalloc(1, sizeof *c->models);
	c->converter = path_join(libexecdir != NULL ? libexecdir :
	    PF_LIBEXECDIR, "partsfs-convert");

	c->sandbox = true;
	c->bwrap = xstrdup("bwrap");
	c->processes = 256;
	c->tmp_size = (uint64_t)256 << 20;
	c->ro_paths = xcalloc(1, sizeof *c->ro_paths);
	c->workers = 0;
	c->timeout = 120;
	c->memory = (uint64_t)4 << 30;
	c->cpu = 600;
	c->stderr_max = (size_t)64 << 10;
	c->output_max = (uint64_t)1 << 30;

	c->value_max = CONF_VALUE_MAX;

	c->cache_dir = default_cache_dir();
	c->cache_max = (uint64_t)1 << 30;
	c->negative_ttl = 30;

	c->serve_listen = xcalloc(2, sizeof *c->serve_listen);
	c->serve_listen[0] = xstrdup(CONF_SERVE_LISTEN);
	c->nserve_listen = 1;
	c->serve_occi_listen = xcalloc(1, sizeof *c->serve_occi_listen);
	c->serve_connections = 4096;
	c->serve_per_ip = 0;
	c->serve_timeout = 15;
	c->serve_threads = 0;
	c->serve_queue = 256;
	c->remote_connect_timeout = 10;
	c->remote_dir_cache = 30;
	return c;
}

static void
command_clear(struct conf_command *cmd)
{
	free(cmd->name);
	strv_free(cmd->argv);
	strv_free(cmd->version_argv);
	memset(cmd, 0, sizeof *cmd);
}

void
conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	free(c->file);
	free(c->openscad);
	strv_free(c->openscad_include);
	strv_free(c->png_wrapper);
	free(c->freecad);
	free(c->freecad_driver);
	free(c->converter);
	free(c->bwrap);
	free(c->job_user);
	strv_free(c->ro_paths);
	for (size_t i = 0; i < c->ncommands; i++)
		command_clear(&c->commands[i]);
	free(c->commands);
	free(c->model);
	for (size_t i = 0; i < c->nmodels; i++) {
		free(c->models[i].id);
		free(c->models[i].engine);
	}
	free(c->models);
	free(c->cache_dir);
	strv_free(c->serve_listen);
	strv_free(c->serve_occi_listen);
	free(c->serve_web);
	free(c->serve_occi_url);
	free(c->serve_occi_library);
	free(c->serve_occi_maintainer);
	free(c->serve_occi_email);
	free(c->remote_netrc);
	free(c->remote_token_file);
	free(c);
}

const char *
conf_model_for(const struct conf *conf, const char *coll, const char *cls)
{
	const char *coll_engine = NULL, *cls_engine = NULL;

	/* the later of a key given twice, as everywhere in the file */
	for (size_t i = 0; i < conf->nmodels; i++) {
		if (strcmp(conf->models[i].id, cls) == 0)
			cls_engine = conf->models[i].engine;
		else if (strcmp(conf->models[i].id, coll) == 0)
			coll_engine = conf->models[i].engine;
	}
	return cls_engine != NULL ? cls_engine : coll_engine != NULL ?
	    coll_engine : conf->model;
}

/* Reading the file.  Every reader takes the node of a key's value (NULL
 * when the key is absent or empty, which keeps the default) and the
 * dotted name of the key for messages. */

static const char *
kind_text(const struct ynode *n)
{
	switch (n->kind) {
	case Y_NULL:
		return "an empty value";
	case Y_SCALAR:
		return "a single value";
	case Y_SEQ:
		return "a list";
	case Y_MAP:
		return "a mapping";
	}
	return "?";
}

/* The value of `key`, or NULL when absent or null. */
static const struct ynode *
get(const struct ynode *map, const char *key)
{
	const struct ynode *n = ymap_get(map, key);

	return yscalar_is_null(n) ? NULL : n;
}

static void
check_keys(const struct ynode *map, const char *what,
    const char *const *allowed, struct diags *d)
{
	struct buf known = BUF_INIT;

	for (size_t i = 0; allowed[i] != NULL; i++)
		buf_printf(&known, "%s%s", i ? ", " : "", allowed[i]);
	for (size_t i = 0; i < map->n; i++) {
		const struct ynode *k = map->items[2 * i];
		if (str_in(k->str, allowed))
			continue;
		if (what != NULL)
			yerror(d, k, "%s: unknown key '%s' (known: %s)", what,
			    k->str, buf_str(&known));
		else
			yerror(d, k, "unknown key '%s' (known: %s)", k->str,
			    buf_str(&known));
	}
	buf_free(&known);
}

/* A mapping of settings, with its keys checked; NULL when absent. */
static const struct ynode *
section(const struct ynode *map, const char *key, const char *what,
    const char *const *allowed, struct diags *d)
{
	const struct ynode *n = get(map, key);

	if (n == NULL)
		return NULL;
	if (n->kind != Y_MAP) {
		yerror(d, n, "%s: expected a mapping, found %s", what,
		    kind_text(n));
		return NULL;
	}
	check_keys(n, what, allowed, d);
	return n;
}

static const char *
text_of(const struct ynode *n, const char *what, struct diags *d)
{
	if (n->kind != Y_SCALAR) {
		yerror(d, n, "%s: expected a single value, found %s", what,
		    kind_text(n));
		return NULL;
	}
	if (strlen(n->str) != n->len) {
		yerror(d, n, "%s: the text contains a NUL byte", what);
		return NULL;
	}
	return n->str;
}

enum path_kind {
	PATH_ANY,          /* relative paths stay relative */
	PATH_PROGRAM,      /* a name looked up on $PATH, or absolute */
	PATH_ABSOLUTE,
};

/* A non-empty path with ~/ expanded; caller frees; NULL after an error. */
static char *
path_of(const struct ynode *n, const char *what, enum path_kind k,
    struct diags *d)
{
	const char *s;
	char *p;

	if ((s = text_of(n, what, d)) == NULL)
		return NULL;
	if (s[0] == '\0') {
		yerror(d, n, "%s: must not be empty", what);
		return NULL;
	}
	p = expand_home(s);
	if (k == PATH_PROGRAM && p[0] != '/' && strchr(p, '/') != NULL) {
		yerror(d, n, "%s: '%s' must be a program name (looked up on "
		    "$PATH) or an absolute path", what, s);
		free(p);
		return NULL;
	}
	if (k == PATH_ABSOLUTE && p[0] != '/') {
		yerror(d, n, "%s: '%s' must be an absolute path (or start "
		    "with ~/)", what, s);
		free(p);
		return NULL;
	}
	return p;
}

static void
read_path(char **dst, const struct ynode *map, const char *key,
    const char *what, enum path_kind k, struct diags *d)
{
	const struct ynode *n = get(map, key);
	char *p;

	if (n != NULL && (p = path_of(n, what, k, d)) != NULL) {
		free(*dst);
		*dst = p;
	}
}

enum list_kind {
	LIST_PATHS,        /* every element a path (PATH_ANY) */
	LIST_ARGV,         /* a program (PATH_PROGRAM), then arguments */
};

/* A list of text as a NULL-terminated vector; NULL after an error. */
static char **
list_of(const struct ynode *n, const char *what, enum list_kind k,
    size_t *count, struct diags *d)
{
	bool ok = true;
	char **v;

	if (n->kind != Y_SEQ) {
		yerror(d, n, "%s: expected a list, found %s", what,
		    kind_text(n));
		return NULL;
	}
	v = xcalloc(n->n + 1, sizeof *v);
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *item = n->items[i];
		const char *s;
		if (k == LIST_PATHS)
			v[i] = path_of(item, what, PATH_ANY, d);
		else if (i == 0)
			v[i] = path_of(item, what, PATH_PROGRAM, d);
		else if ((s = text_of(item, what, d)) != NULL)
			v[i] = xstrdup(s);
		if (v[i] == NULL) {
			ok = false;
			break;
		}
	}
	if (!ok) {
		strv_free(v);
		return NULL;
	}
	*count = n->n;
	return v;
}

static void
read_list(char ***dst, size_t *ndst, const struct ynode *map,
    const char *key, const char *what, enum list_kind k, struct diags *d)
{
	const struct ynode *n = get(map, key);
	char **v;
	size_t count;

	if (n != NULL && (v = list_of(n, what, k, &count, d)) != NULL) {
		strv_free(*dst);
		*dst = v;
		*ndst = count;
	}
}

/* A number or size; false (with an error unless absent) when not set. */
static bool
read_num(const struct ynode *map, const char *key, const char *what,
    const struct spec *sp, union num *out, struct diags *d)
{
	const struct ynode *n = get(map, key);
	const char *s;

	if (n == NULL || (s = text_of(n, what, d)) == NULL)
		return false;
	if (!spec_parse(sp, s, out)) {
		yerror(d, n, "%s: '%s' is not %s", what, s, sp->expect);
		return false;
	}
	return true;
}

/* Check the {word} placeholders of one argument.  Braces that do not
 * enclose a word are literal text. */
static void
check_placeholders(const struct ynode *n, const char *s, const char *what,
    bool allowed, bool *has_output, struct diags *d)
{
	for (const char *p = s; (p = strchr(p, '{')) != NULL; p++) {
		size_t len = strspn(p + 1, NAME_CHARS);
		char *word;

		if (len == 0 || p[1 + len] != '}')
			continue;
		word = xstrndup(p + 1, len);
		if (!allowed)
			yerror(d, n, "%s: {%s}: placeholders are not replaced "
			    "here", what, word);
		else if (!str_in(word, placeholders))
			yerror(d, n, "%s: unknown placeholder {%s} (known: "
			    "{script}, {params}, {output}, {format}, "
			    "{scratch})", what, word);
		else if (strcmp(word, "output") == 0)
			*has_output = true;
		free(word);
		p += len + 1;
	}
}

static bool
command_name_valid(const char *s)
{
	return s[0] != '\0' && s[strspn(s, NAME_CHARS)] == '\0';
}

static void
read_formats(const struct ynode *n, const char *what, uint32_t *out,
    struct diags *d)
{
	struct buf known = BUF_INIT;

	if (n->kind != Y_SEQ) {
		yerror(d, n, "%s: expected a list, found %s", what,
		    kind_text(n));
		return;
	}
	if (n->n == 0) {
		yerror(d, n, "%s: must not be empty", what);
		return;
	}
	for (int f = 0; f < FMT__COUNT; f++) {
		if (f != FMT_JSON)
			buf_printf(&known, "%s%s", f ? ", " : "",
			    format_ext((enum format)f));
	}
	for (size_t i = 0; i < n->n; i++) {
		const char *s = text_of(n->items[i], what, d);
		int f;
		if (s == NULL)
			continue;
		f = format_from_ext(s, strlen(s));
		if (f == FMT_JSON)
			yerror(d, n->items[i], "%s: json is written by partsfs "
			    "itself, not by an engine", what);
		else if (f < 0)
			yerror(d, n->items[i], "%s: unknown format '%s' "
			    "(known: %s)", what, s, buf_str(&known));
		else
			*out |= FMT_BIT(f);
	}
	buf_free(&known);
}

/* One element of executors.commands, appended to c->commands when it has
 * no error.  `names` holds the name nodes of the commands so far. */
static void
read_command(struct conf *c, const struct ynode *el,
    const struct ynode **names, struct diags *d)
{
	static const char *const allowed[] = { "name", "argv", "version",
	    "formats", "cost", NULL };
	struct conf_command cmd;
	const struct ynode *n;
	size_t errors = d->nerrors, nversion;
	bool has_output = false;
	union num u;
	const char *s;

	memset(&cmd, 0, sizeof cmd);
	cmd.cost = 1;
	if (el->kind != Y_MAP) {
		yerror(d, el, "executors.commands: expected a mapping (name, "
		    "argv, formats, ...), found %s", kind_text(el));
		return;
	}
	check_keys(el, "executors.commands", allowed, d);

	if ((n = get(el, "name")) == NULL)
		yerror(d, el, "executors.commands: missing the mandatory key "
		    "'name'");
	else if ((s = text_of(n, "executors.commands.name", d)) != NULL) {
		if (!command_name_valid(s))
			yerror(d, n, "executors.commands.name: '%s' may hold "
			    "only letters, digits, underscores and hyphens",
			    s);
		else if (str_in(s, reserved_names))
			yerror(d, n, "executors.commands.name: '%s' is "
			    "reserved (openscad, freecad, drawings and data "
			    "are BOLTS databases)", s);
		else {
			for (size_t i = 0; i < c->ncommands; i++) {
				if (strcmp(c->commands[i].name, s) == 0) {
					yerror(d, n, "executors.commands.name: "
					    "'%s' is already the name of the "
					    "command at line %d", s,
					    names[i]->line);
					break;
				}
			}
		}
		cmd.name = xstrdup(s);
	}

	if ((n = get(el, "argv")) == NULL)
		yerror(d, el, "executors.commands: missing the mandatory key "
		    "'argv'");
	else if ((cmd.argv = list_of(n, "executors.commands.argv", LIST_ARGV,
	    &cmd.argc, d)) != NULL) {
		for (size_t i = 0; i < cmd.argc; i++)
			check_placeholders(n->items[i], cmd.argv[i],
			    "executors.commands.argv", true, &has_output, d);
		/* the program is one found on PATH, or the script itself */
		if (cmd.argc > 0 && strchr(cmd.argv[0], '{') != NULL &&
		    strcmp(cmd.argv[0], "{script}") != 0)
			yerror(d, n->items[0], "executors.commands.argv: the "
			    "program is a program, or {script} alone (the "
			    "script run as the program)");
		if (cmd.argc == 0)
			yerror(d, n, "executors.commands.argv: must not be "
			    "empty");
		else if (!has_output)
			yerror(d, n, "executors.commands.argv: no {output} "
			    "placeholder: the engine must be told which file "
			    "to write");
	}

	if ((n = get(el, "version")) != NULL &&
	    (cmd.version_argv = list_of(n, "executors.commands.version",
	    LIST_ARGV, &nversion, d)) != NULL) {
		for (size_t i = 0; i < nversion; i++)
			check_placeholders(n->items[i], cmd.version_argv[i],
			    "executors.commands.version", false, &has_output,
			    d);
		if (nversion == 0)
			yerror(d, n, "executors.commands.version: must not be "
			    "empty");
	}

	if ((n = get(el, "formats")) == NULL)
		yerror(d, el, "executors.commands: missing the mandatory key "
		    "'formats'");
	else
		read_formats(n, "executors.commands.formats", &cmd.formats, d);

	if (read_num(el, "cost", "executors.commands.cost", &spec_cost, &u, d))
		cmd.cost = u.i;

	if (d->nerrors != errors) {
		command_clear(&cmd);
		return;
	}
	names[c->ncommands] = get(el, "name");
	c->commands[c->ncommands++] = cmd;
}

static void
read_commands(struct conf *c, const struct ynode *n, struct diags *d)
{
	const struct ynode **names;

	if (n == NULL)
		return;
	if (n->kind != Y_SEQ) {
		yerror(d, n, "executors.commands: expected a list of commands, "
		    "found %s", kind_text(n));
		return;
	}
	c->commands = xcalloc(n->n ? n->n : 1, sizeof *c->commands);
	names = xcalloc(n->n ? n->n : 1, sizeof *names);
	for (size_t i = 0; i < n->n; i++)
		read_command(c, n->items[i], names, d);
	free(names);
}

/* An engine name of executors.model or models: an executor or a command
 * of this file. */
static bool
engine_known(const struct conf *c, const char *name)
{
	if (strcmp(name, "openscad") == 0 || strcmp(name, "freecad") == 0)
		return true;
	for (size_t i = 0; i < c->ncommands; i++) {
		if (c->commands[i].name != NULL &&
		    strcmp(c->commands[i].name, name) == 0)
			return true;
	}
	return false;
}

static const char *
engine_of(const struct conf *c, const struct ynode *n, const char *what,
    struct diags *d)
{
	const char *s = text_of(n, what, d);

	if (s != NULL && !engine_known(c, s)) {
		yerror(d, n, "%s: '%s' is not an engine: openscad, freecad or "
		    "the name of a command", what, s);
		return NULL;
	}
	return s;
}

static void
read_models(struct conf *c, const struct ynode *ex, struct diags *d)
{
	const struct ynode *n;
	const char *s;

	if ((n = get(ex, "model")) != NULL &&
	    (s = engine_of(c, n, "executors.model", d)) != NULL) {
		free(c->model);
		c->model = xstrdup(s);
	}
	if ((n = get(ex, "models")) == NULL)
		return;
	if (n->kind != Y_MAP) {
		yerror(d, n, "executors.models: expected a mapping of "
		    "collection or class ids to engines, found %s",
		    kind_text(n));
		return;
	}
	free(c->models);
	c->models = xcalloc(n->n + 1, sizeof *c->models);
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *k = n->items[2 * i], *v = n->items[2 * i + 1];
		if ((s = engine_of(c, v, "executors.models", d)) == NULL)
			continue;
		c->models[c->nmodels].id = xstrdup(k->str);
		c->models[c->nmodels++].engine = xstrdup(s);
	}
}

/* executors.openscad.allow-warnings: kinds of OpenSCAD messages (or
 * all) that do not fail a job. */
static void
read_scad_allow(struct conf *c, const struct ynode *n, struct diags *d)
{
	const char *what = "executors.openscad.allow-warnings";
	unsigned allow = 0;

	if (n == NULL)
		return;
	if (n->kind != Y_SEQ) {
		yerror(d, n, "%s: expected a list, found %s", what,
		    kind_text(n));
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const char *s = text_of(n->items[i], what, d);
		size_t k;
		if (s == NULL)
			return;
		if (strcmp(s, "all") == 0) {
			allow |= CONF_SCAD_ALL;
			continue;
		}
		for (k = 0; scad_kinds[k] != NULL; k++) {
			if (strcmp(s, scad_kinds[k]) == 0)
				break;
		}
		if (scad_kinds[k] == NULL) {
			yerror(d, n->items[i], "%s: unknown kind '%s' (known: "
			    "unknown-module, unknown-function, "
			    "unknown-variable, missing-file, bolts-error, "
			    "all)", what, s);
			return;
		}
		allow |= 1u << k;
	}
	c->openscad_allow = allow;
}

static void
read_executors(struct conf *c, const struct ynode *root, struct diags *d)
{
	static const char *const keys[] = { "openscad", "freecad",
	    "converter", "commands", "model", "models", NULL };
	static const char *const openscad_keys[] = { "program", "include",
	    "png-wrapper", "cost", "allow-warnings", NULL };
	static const char *const freecad_keys[] = { "program", "driver",
	    "cost", NULL };
	const struct ynode *ex, *op, *fc;
	union num u;

	if ((ex = section(root, "executors", "executors", keys, d)) == NULL)
		return;

	op = section(ex, "openscad", "executors.openscad", openscad_keys, d);
	read_path(&c->openscad, op, "program", "executors.openscad.program",
	    PATH_PROGRAM, d);
	if (get(op, "include") != NULL)
		c->openscad_include_set = true;
	read_list(&c->openscad_include, &c->nopenscad_include, op, "include",
	    "executors.openscad.include", LIST_PATHS, d);
	read_scad_allow(c, get(op, "allow-warnings"), d);
	read_list(&c->png_wrapper, &c->npng_wrapper, op, "png-wrapper",
	    "executors.openscad.png-wrapper", LIST_ARGV, d);
	if (read_num(op, "cost", "executors.openscad.cost", &spec_cost, &u, d))
		c->openscad_cost = u.i;

	fc = section(ex, "freecad", "executors.freecad", freecad_keys, d);
	read_path(&c->freecad, fc, "program", "executors.freecad.program",
	    PATH_PROGRAM, d);
	read_path(&c->freecad_driver, fc, "driver", "executors.freecad.driver",
	    PATH_ABSOLUTE, d);
	if (read_num(fc, "cost", "executors.freecad.cost", &spec_cost, &u, d))
		c->freecad_cost = u.i;

	read_path(&c->converter, ex, "converter", "executors.converter",
	    PATH_ABSOLUTE, d);
	read_commands(c, get(ex, "commands"), d);
	read_models(c, ex, d);
}

static void
read_jobs(struct conf *c, const struct ynode *root, struct diags *d)
{
	static const char *const keys[] = { "workers", "timeout", "memory",
	    "cpu", "stderr", "output-max", "sandbox", "bwrap", "user",
	    "processes", "tmp-size", "paths", NULL };
	const struct ynode *j, *n;
	const char *s;
	union num u;

	if ((j = section(root, "jobs", "jobs", keys, d)) == NULL)
		return;
	if ((n = get(j, "sandbox")) != NULL &&
	    (s = text_of(n, "jobs.sandbox", d)) != NULL) {
		if (strcmp(s, "bwrap") == 0)
			c->sandbox = true;
		else if (strcmp(s, "off") == 0)
			c->sandbox = false;
		else
			yerror(d, n, "jobs.sandbox: '%s' is not bwrap or off",
			    s);
	}
	read_path(&c->bwrap, j, "bwrap", "jobs.bwrap", PATH_PROGRAM, d);
	if ((n = get(j, "user")) != NULL &&
	    (s = text_of(n, "jobs.user", d)) != NULL) {
		if (s[0] == '\0' || strcmp(s, "root") == 0)
			yerror(d, n, "jobs.user: '%s': engines never run as "
			    "root", s);
		else {
			free(c->job_user);
			c->job_user = xstrdup(s);
		}
	}
	if (read_num(j, "processes", "jobs.processes", &spec_processes, &u,
	    d))
		c->processes = (uint64_t)u.i;
	if (read_num(j, "tmp-size", "jobs.tmp-size", &spec_cache_max, &u, d))
		c->tmp_size = u.u;
	read_list(&c->ro_paths, &c->nro_paths, j, "paths", "jobs.paths",
	    LIST_PATHS, d);
	for (size_t i = 0; i < c->nro_paths; i++) {
		if (c->ro_paths[i][0] != '/') {
			yerror(d, get(j, "paths"), "jobs.paths: '%s' must be "
			    "an absolute path", c->ro_paths[i]);
			break;
		}
	}
	if (read_num(j, "workers", "jobs.workers", &spec_workers, &u, d))
		c->workers = u.i;
	if (read_num(j, "timeout", "jobs.timeout", &spec_timeout, &u, d))
		c->timeout = u.d;
	if (read_num(j, "memory", "jobs.memory", &spec_memory, &u, d))
		c->memory = u.u;
	if (read_num(j, "cpu", "jobs.cpu", &spec_cpu, &u, d))
		c->cpu = u.d;
	if (read_num(j, "stderr", "jobs.stderr", &spec_size, &u, d))
		c->stderr_max = (size_t)u.u;
	if (read_num(j, "output-max", "jobs.output-max", &spec_limit, &u, d))
		c->output_max = u.u;
}

static void
read_cache(struct conf *c, const struct ynode *root, struct diags *d)
{
	static const char *const keys[] = { "dir", "max-size",
	    "negative-ttl", NULL };
	const struct ynode *ca;
	union num u;

	if ((ca = section(root, "cache", "cache", keys, d)) == NULL)
		return;
	read_path(&c->cache_dir, ca, "dir", "cache.dir", PATH_ABSOLUTE, d);
	if (read_num(ca, "max-size", "cache.max-size", &spec_cache_max, &u, d))
		c->cache_max = u.u;
	if (read_num(ca, "negative-ttl", "cache.negative-ttl", &spec_ttl, &u,
	    d))
		c->negative_ttl = u.d;
}

static void
read_values(struct conf *c, const struct ynode *root, struct diags *d)
{
	static const char *const keys[] = { "max", NULL };
	const struct ynode *v;
	union num u;

	if ((v = section(root, "values", "values", keys, d)) == NULL)
		return;
	if (read_num(v, "max", "values.max", &spec_value_max, &u, d))
		c->value_max = u.d;
}

/* Is `s` an address to listen on: HOST:PORT, the host a name, an IPv4
 * address or an IPv6 one in brackets, the port from 0 to 65535? */
static bool
listen_valid(const char *s)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (colon == NULL || colon == s || colon[1] == '\0' ||
	    !isdigit((unsigned char)colon[1]))
		return false;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || errno != 0 || port > 65535)
		return false;
	if (s[0] == '[')
		return colon[-1] == ']' && colon - s > 2;
	return memchr(s, ':', (size_t)(colon - s)) == NULL;
}

/* serve.listen and serve.occi-listen: one address or a list of them. */
static void
read_addresses(char ***dst, size_t *ndst, const struct ynode *map,
    const char *key, const char *what, struct diags *d)
{
	const struct ynode *n = ymap_get(map, key);
	size_t count;
	char **v;

	if (n == NULL)
		return;
	if (yscalar_is_null(n)) {
		/* none: serve.occi-listen's default, or no native API */
		strv_free(*dst);
		*dst = xcalloc(1, sizeof **dst);
		*ndst = 0;
		return;
	}
	count = n->kind == Y_SEQ ? n->n : 1;
	v = xcalloc(count + 1, sizeof *v);
	for (size_t i = 0; i < count; i++) {
		const struct ynode *item = n->kind == Y_SEQ ? n->items[i] : n;
		const char *a = text_of(item, what, d);
		if (a == NULL || !listen_valid(a)) {
			if (a != NULL)
				yerror(d, item, "%s: '%s' is not an address to "
				    "listen on: HOST:PORT (127.0.0.1:8080, "
				    "[::1]:8080, localhost:8080)", what, a);
			strv_free(v);
			return;
		}
		v[i] = xstrdup(a);
	}
	strv_free(*dst);
	*dst = v;
	*ndst = count;
}

/* serve.occi-*: one line of text; occi-url an http(s) URL. */
static void
read_occi_text(char **dst, const struct ynode *map, const char *key,
    const char *what, struct diags *d)
{
	const struct ynode *n = get(map, key);
	const char *s;

	if (n == NULL || (s = text_of(n, what, d)) == NULL)
		return;
	if (*s == '\0' || strpbrk(s, "\n\r") != NULL ||
	    !utf8_valid(s, strlen(s))) {
		yerror(d, n, "%s: expected one line of text", what);
		return;
	}
	if (strcmp(key, "occi-url") == 0 && !str_has_prefix(s, "http://") &&
	    !str_has_prefix(s, "https://")) {
		yerror(d, n, "%s: '%s' is not an http:// or https:// URL",
		    what, s);
		return;
	}
	free(*dst);
	*dst = xstrdup(s);
}

static void
read_serve(struct conf *c, const struct ynode *root, struct diags *d)
{
	static const char *const keys[] = { "listen", "occi-listen",
	    "connections", "per-ip", "timeout", "threads", "queue", "web",
	    "occi-url", "occi-library", "occi-maintainer", "occi-email",
	    NULL };
	const struct ynode *sv;
	union num u;

	if ((sv = section(root, "serve", "serve", keys, d)) == NULL)
		return;
	read_addresses(&c->serve_listen, &c->nserve_listen, sv, "listen",
	    "serve.listen", d);
	read_addresses(&c->serve_occi_listen, &c->nserve_occi_listen, sv,
	    "occi-listen", "serve.occi-listen", d);
	if (read_num(sv, "connections", "serve.connections",
	    &spec_connections, &u, d))
		c->serve_connections = u.i;
	if (read_num(sv, "per-ip", "serve.per-ip", &spec_per_ip, &u, d))
		c->serve_per_ip = u.i;
	if (read_num(sv, "timeout", "serve.timeout", &spec_serve_timeout, &u,
	    d))
		c->serve_timeout = u.d;
	if (read_num(sv, "threads", "serve.threads", &spec_threads, &u, d))
		c->serve_threads = u.i;
	if (read_num(sv, "queue", "serve.queue", &spec_queue, &u, d))
		c->serve_queue = u.i;
	read_path(&c->serve_web, sv, "web", "serve.web", PATH_ABSOLUTE, d);
	read_occi_text(&c->serve_occi_url, sv, "occi-url", "serve.occi-url",
	    d);
	read_occi_text(&c->serve_occi_library, sv, "occi-library",
	    "serve.occi-library", d);
	read_occi_text(&c->serve_occi_maintainer, sv, "occi-maintainer",
	    "serve.occi-maintainer", d);
	read_occi_text(&c->serve_occi_email, sv, "occi-email",
	    "serve.occi-email", d);
}

static void
read_remote(struct conf *c, const struct ynode *root, struct diags *d)
{
	static const char *const keys[] = { "netrc", "token-file",
	    "connect-timeout", "dir-cache", NULL };
	const struct ynode *rm;
	union num u;

	if ((rm = section(root, "remote", "remote", keys, d)) == NULL)
		return;
	read_path(&c->remote_netrc, rm, "netrc", "remote.netrc",
	    PATH_ABSOLUTE, d);
	read_path(&c->remote_token_file, rm, "token-file",
	    "remote.token-file", PATH_ABSOLUTE, d);
	if (read_num(rm, "connect-timeout", "remote.connect-timeout",
	    &spec_connect_timeout, &u, d))
		c->remote_connect_timeout = u.d;
	if (read_num(rm, "dir-cache", "remote.dir-cache", &spec_dir_cache, &u,
	    d))
		c->remote_dir_cache = u.d;
}

/* The file at `path` over the defaults; NULL after errors. */
static struct conf *
conf_read(const char *path, struct diags *d)
{
	static const char *const sections[] = { "executors", "jobs", "cache",
	    "values", "serve", "remote", NULL };
	struct arena *a = arena_new();
	size_t errors = d->nerrors;
	struct conf *c = conf_default();
	struct ynode *root;

	c->file = xstrdup(path);
	root = ydoc_load(a, path, path, NULL, NULL, d);
	if (root != NULL && root->kind != Y_NULL) {
		if (root->kind != Y_MAP)
			yerror(d, root, "expected a mapping of the sections "
			    "executors, jobs, cache, values, serve and "
			    "remote, found %s",
			    kind_text(root));
		else {
			check_keys(root, NULL, sections, d);
			read_executors(c, root, d);
			read_jobs(c, root, d);
			read_cache(c, root, d);
			read_values(c, root, d);
			read_serve(c, root, d);
			read_remote(c, root, d);
		}
	}
	arena_free(a);
	if (root == NULL || d->nerrors != errors) {
		conf_free(c);
		return NULL;
	}
	return c;
}

/* Present: there is something at the path, even if it cannot be read (so
 * that a file the user cannot read is reported, not skipped). */
static bool
present(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 || (errno != ENOENT && errno != ENOTDIR);
}

/* The first default location that holds a file, or NULL. */
static char *
conf_find(void)
{
	const char *xdg = env_xdg("XDG_CONFIG_HOME");
	char *p;

	if (xdg != NULL)
		p = path_join(xdg, CONF_USER_FILE);
	else
		p = expand_home("~/.config/" CONF_USER_FILE);
	if (present(p))
		return p;
	free(p);
	if (present(CONF_SYSTEM_FILE))
		return xstrdup(CONF_SYSTEM_FILE);
	return NULL;
}

struct conf *
conf_load(const char *path, struct diags *diags)
{
	struct diags local = DIAGS_INIT;
	struct conf *c;
	char *found = NULL;

	if (diags == NULL)
		diags = &local;
	if (path == NULL)
		path = env_value("PARTSFS_CONFIG");
	if (path == NULL) {
		if ((found = conf_find()) == NULL)
			return conf_default();
		path = found;
	}
	c = conf_read(path, diags);
	free(found);
	diags_free(&local);
	return c;
}

/* Setting one option from text. */

static int
set_cache_dir(struct conf *c, const char *value, struct perr *e)
{
	char *p, *cwd, *full;

	if (value[0] == '\0')
		return perr_set(e, EINVAL, "cache=: expected a directory");
	p = expand_home(value);
	if (p[0] != '/') {
		/* relative to where partsfs was started, not to where the
		 * daemon runs */
		if ((cwd = getcwd(NULL, 0)) == NULL) {
			free(p);
			return perr_set(e, errno, "cache=%s: cannot find the "
			    "current directory: %s", value, strerror(errno));
		}
		full = path_join(cwd, p);
		free(cwd);
		free(p);
		p = full;
	}
	free(c->cache_dir);
	c->cache_dir = p;
	return 0;
}

int
conf_set(struct conf *c, const char *name, const char *value,
    struct perr *e)
{
	const struct spec *sp;
	union num u;

	if (strcmp(name, "cache") == 0)
		sp = NULL;
	else if (strcmp(name, "cache_max") == 0)
		sp = &spec_cache_max;
	else if (strcmp(name, "jobs") == 0)
		sp = &spec_workers;
	else if (strcmp(name, "timeout") == 0)
		sp = &spec_timeout;
	else if (strcmp(name, "memory") == 0)
		sp = &spec_memory;
	else if (strcmp(name, "cpu") == 0)
		sp = &spec_cpu;
	else if (strcmp(name, "negative_ttl") == 0)
		sp = &spec_ttl;
	else if (strcmp(name, "sandbox") == 0) {
		if (value != NULL && strcmp(value, "bwrap") == 0)
			c->sandbox = true;
		else if (value != NULL && strcmp(value, "off") == 0)
			c->sandbox = false;
		else
			return perr_set(e, EINVAL, "sandbox=%s: expected bwrap "
			    "or off", value != NULL ? value : "");
		return 0;
	} else if (strcmp(name, "model") == 0) {
		if (value == NULL || !engine_known(c, value))
			return perr_set(e, EINVAL, "model=%s: expected openscad, "
			    "freecad or the name of a command",
			    value != NULL ? value : "");
		free(c->model);
		c->model = xstrdup(value);
		return 0;
	} else if (strcmp(name, "netrc") == 0 ||
	    strcmp(name, "token_file") == 0) {
		/* a file named on the command line: made absolute now (the
		 * daemon leaves the directory it was started in) */
		char *abs = value != NULL ? realpath(value, NULL) : NULL;
		if (abs == NULL)
			return perr_set(e, value != NULL ? errno : EINVAL,
			    "%s=%s: %s", name, value != NULL ? value : "",
			    value != NULL ? strerror(errno) : "needs a file");
		if (name[0] == 'n') {
			free(c->remote_netrc);
			c->remote_netrc = abs;
		} else {
			free(c->remote_token_file);
			c->remote_token_file = abs;
		}
		return 0;
	} else if (strcmp(name, "dir_cache") == 0)
		sp = &spec_dir_cache;
	else if (strcmp(name, "connect_timeout") == 0)
		sp = &spec_connect_timeout;
	else
		return perr_set(e, EINVAL, "unknown option '%s' (known: cache, "
		    "cache_max, jobs, timeout, memory, cpu, negative_ttl, "
		    "sandbox, model, dir_cache, connect_timeout, netrc, "
		    "token_file)", name);
	if (value == NULL)
		return perr_set(e, EINVAL, "%s needs a value: %s", name,
		    sp != NULL ? sp->expect : "a directory");
	if (sp == NULL)
		return set_cache_dir(c, value, e);
	if (!spec_parse(sp, value, &u))
		return perr_set(e, EINVAL, "%s=%s: expected %s", name, value,
		    sp->expect);
	if (sp == &spec_cache_max)
		c->cache_max = u.u;
	else if (sp == &spec_workers)
		c->workers = u.i;
	else if (sp == &spec_timeout)
		c->timeout = u.d;
	else if (sp == &spec_memory)
		c->memory = u.u;
	else if (sp == &spec_cpu)
		c->cpu = u.d;
	else if (sp == &spec_dir_cache)
		c->remote_dir_cache = u.d;
	else if (sp == &spec_connect_timeout)
		c->remote_connect_timeout = u.d;
	else
		c->negative_ttl = u.d;
	return 0;
}
