/* check.c -- what partsctl check asks of the engines: each OpenSCAD
 * module file of a library parsed by OpenSCAD (a parse error, a top level
 * that would draw in every part including the file), and the default
 * part of each of its classes evaluated to CSG in one run per file (what
 * it calls that is defined nowhere, a file it cannot open, BOLTS's own
 * errors), in the sandbox, without a render. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "partsfs/cache/publish.h"
#include "partsfs/core/check.h"
#include "partsfs/make/openscad.h"
#include "partsfs/make/plan.h"
#include "partsfs/make/sandbox.h"
#include "partsfs/make/version.h"
#include "partsfs/util/confine.h"

/* The largest module file searched for a statement's line. */
#define SOURCE_MAX ((size_t)4 << 20)
/* Files checked at once, at most (and no more than CPUs). */
#define CHECK_THREADS 4

/* A module file, the classes made from it, and what its check found. */
struct scad_file {
	const struct base_file *file;
	const struct pclass **classes;
	size_t n;
	struct diags diags;
	char *stopped;           /* why no engine could run */
	size_t nclasses;         /* classes evaluated */
	bool tried;
};

struct checker {
	struct library *lib;
	const struct conf *conf;
	struct exec_env env;
	char *program;
	struct scad_file *files;
	size_t nfiles;
	atomic_size_t next;      /* the next file to check */
	atomic_bool stop;        /* a file found that nothing can run */
};

/* The module files of `lib` that classes are made from, in the order of
 * their first class (*n of them; caller frees each's classes and it). */
static struct scad_file *
files_of(const struct library *lib, size_t *n)
{
	struct scad_file *v = NULL;
	size_t nv = 0;

	for (size_t i = 0; i < lib->ncolls; i++) {
		const struct collection *coll = lib->colls[i];
		for (size_t k = 0; k < coll->nclasses; k++) {
			const struct pclass *cls = &coll->classes[k];
			struct scad_file *f = NULL;
			if (cls->scad == NULL || cls->scad->file->path == NULL)
				continue;
			for (size_t j = 0; j < nv && f == NULL; j++) {
				if (strcmp(v[j].file->path,
				    cls->scad->file->path) == 0)
					f = &v[j];
			}
			if (f == NULL) {
				v = xreallocarray(v, nv + 1, sizeof *v);
				f = &v[nv++];
				memset(f, 0, sizeof *f);
				f->file = cls->scad->file;
			}
			f->classes = xreallocarray(f->classes, f->n + 1,
			    sizeof *f->classes);
			f->classes[f->n++] = cls;
		}
	}
	*n = nv;
	return v;
}

/*
 * Where an OpenSCAD message points: its " in file PATH, line N" when PATH
 * is a file of the library (then *file is PATH relative to the library,
 * *line N, and the message's length without it is returned); else the
 * whole length, *file and *line left alone.
 */
static size_t
located(const struct checker *ck, const char *msg, size_t len,
    const char **file, int *line, char **owned)
{
	static const char in[] = " in file ";
	const char *at = NULL, *p, *comma;
	size_t rootlen = strlen(ck->lib->root);
	char *path;
	long n;

	for (p = msg; (p = memmem(p, len - (size_t)(p - msg), in,
	    sizeof in - 1)) != NULL; p++)
		at = p;
	if (at == NULL)
		return len;
	p = at + sizeof in - 1;
	comma = memmem(p, len - (size_t)(p - msg), ", line ", 7);
	if (comma == NULL)
		return len;
	path = xstrndup(p, (size_t)(comma - p));
	n = strtol(comma + 7, NULL, 10);
	if (!path_beneath(path, ck->lib->root) || strlen(path) <= rootlen ||
	    n <= 0 || n > 1000000000) {
		free(path);
		return len;
	}
	free(*owned);
	*owned = path;
	*file = path + rootlen + 1;
	*line = (int)n;
	return (size_t)(at - msg);
}

/* The severity of an OpenSCAD message of kind `kind`, and a note on what
 * it does to parts (static text). */
static enum diag_severity
severity(const struct checker *ck, unsigned kind, const char **note)
{
	if (kind & ck->conf->openscad_allow) {
		*note = " (executors.openscad.allow-warnings lets its parts "
		    "through)";
		return DIAG_WARNING;
	}
	if (kind == CONF_SCAD_UNKNOWN_VARIABLE) {
		/* undef is what some modules mean by it */
		*note = " (OpenSCAD takes it as undef; parts that OpenSCAD "
		    "makes fail unless executors.openscad.allow-warnings "
		    "lists unknown-variable)";
		return DIAG_WARNING;
	}
	if (kind == CONF_SCAD_UNKNOWN_MODULE ||
	    kind == CONF_SCAD_UNKNOWN_FUNCTION)
		*note = " (defined nowhere the module file or its preludes "
		    "reach: parts that OpenSCAD makes fail)";
	else
		*note = " (parts that OpenSCAD makes fail)";
	return DIAG_ERROR;
}

/* Report the OpenSCAD message `msg` (`len` bytes) of kind `kind`, at its
 * own position when it is in the library, else at `file`. */
static void
report(struct checker *ck, struct scad_file *sf, const char *file,
    const char *what, unsigned kind, const char *msg, size_t len)
{
	char *owned = NULL;
	const char *note;
	enum diag_severity sev = severity(ck, kind, &note);
	int line = 0;

	len = located(ck, msg, len, &file, &line, &owned);
	diag_add(&sf->diags, sev, file, line, 0, "%s: %.*s%s", what,
	    (int)len, msg, note);
	free(owned);
}

/* The next line of a text. */
static const char *
next_line(const char **sp, size_t *len)
{
	const char *s = *sp, *nl;

	if (*s == '\0')
		return NULL;
	nl = strchr(s, '\n');
	*len = nl != NULL ? (size_t)(nl - s) : strlen(s);
	*sp = nl != NULL ? nl + 1 : s + *len;
	return s;
}

/* A module file's text, NULL when it cannot be read inside the library
 * or is too big. */
static char *
source_of(const struct checker *ck, const char *path)
{
	int fd = open_inside(ck->lib->root, path, O_RDONLY | O_NONBLOCK);

	return fd == -1 ? NULL : read_all_close(fd, SOURCE_MAX);
}

/*
 * The line of `src`, from line `from` on, where a statement starting
 * with the word of `stmt` (its name, or if, for, ...) opens at the top
 * level: outside braces, parentheses, comments and strings, first on
 * its line.  0 when none is found.
 */
static int
statement_line(const char *src, const char *stmt, int from)
{
	size_t wlen = strspn(stmt, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$");
	int depth = 0, line = 1;
	bool start = true;

	if (wlen == 0)
		return 0;
	for (const char *s = src; *s != '\0'; s++) {
		if (*s == '\n') {
			line++;
			start = true;
			continue;
		}
		if (*s == ' ' || *s == '\t' || *s == '\r' ||
		    (start && strchr("!#%*", *s) != NULL))
			continue;
		if (s[0] == '/' && s[1] == '/') {
			while (s[1] != '\0' && s[1] != '\n')
				s++;
			continue;
		}
		if (s[0] == '/' && s[1] == '*') {
			for (s += 2; *s != '\0' && !(s[0] == '*' &&
			    s[1] == '/'); s++)
				line += *s == '\n';
			if (*s == '\0')
				break;
			s++;
			start = false;
			continue;
		}
		if (*s == '"') {
			for (s++; *s != '\0' && *s != '"'; s++) {
				if (*s == '\\' && s[1] != '\0')
					s++;
				line += *s == '\n';
			}
			if (*s == '\0')
				break;
			start = false;
			continue;
		}
		if (start && depth == 0 && line >= from &&
		    strncmp(s, stmt, wlen) == 0 &&
		    strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$", s[wlen]) == NULL)
			return line;
		if (strchr("{([", *s) != NULL)
			depth++;
		else if (strchr("})]", *s) != NULL && depth > 0)
			depth--;
		start = false;
	}
	return 0;
}

/* The classes of `sf` as text: "a, b, c". */
static char *
class_list(const struct scad_file *sf)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < sf->n; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", sf->classes[i]->id);
	return buf_steal(&b);
}

/* A failure that is no module's doing (no sandbox): stop trying. */
static bool
stop_on(struct checker *ck, struct scad_file *sf,
    const struct engine_failure *fail)
{
	if (!fail->system)
		return false;
	free(sf->stopped);
	sf->stopped = xstrdup(fail->summary != NULL ? fail->summary :
	    "openscad could not be started");
	atomic_store(&ck->stop, true);
	return true;
}

/* OpenSCAD's parse of the module file: parse errors and strays.  False
 * when the file cannot be parsed (or nothing can run). */
static bool
check_parse(struct checker *ck, struct scad_file *sf,
    const struct plan *p, const char *scratch)
{
	const char *display = sf->file->display;
	struct engine_failure fail = { 0 };
	char *ast = NULL, *text = NULL, *src, **strays;
	bool reported = false;
	size_t n;
	int r, from = 1;

	r = openscad_ast(&ck->env, p, scratch, &ast, &text, &fail);
	if (r != 0) {
		const char *s = text != NULL ? text : "", *line;
		size_t len;
		if (stop_on(ck, sf, &fail)) {
			free(text);
			engine_failure_clear(&fail);
			return false;
		}
		while ((line = next_line(&s, &len)) != NULL) {
			if (openscad_message_kind(line, len) !=
			    OPENSCAD_ERROR)
				continue;
			report(ck, sf, display, "OpenSCAD cannot compile it",
			    OPENSCAD_ERROR, line, len);
			reported = true;
		}
		if (!reported)
			diag_add(&sf->diags, DIAG_ERROR, display, 0, 0,
			    "OpenSCAD cannot compile it: %s", fail.summary);
		free(text);
		engine_failure_clear(&fail);
		return false;
	}
	strays = openscad_ast_strays(ast, &n);
	src = n > 0 ? source_of(ck, sf->file->path) : NULL;
	for (size_t i = 0; i < n; i++) {
		int line = src != NULL ? statement_line(src, strays[i], from) :
		    0;
		if (line > 0)
			from = line + 1;
		diag_add(&sf->diags, DIAG_WARNING, display, line, 0,
		    "'%s' at the top level of an OpenSCAD module file draws "
		    "in whatever includes the file (partsfs uses it, so its "
		    "parts leave it out)", strays[i]);
		free(strays[i]);
	}
	free(strays);
	free(src);
	free(ast);
	free(text);
	engine_failure_clear(&fail);
	return true;
}

/* Is `line` the echo of a mark, and of which call? */
static bool
mark_of(const char *line, size_t len, size_t *call)
{
	static const char echo[] = "ECHO: \"" OPENSCAD_MARK;
	size_t n = sizeof echo - 1;
	char *end;

	if (len <= n || memcmp(line, echo, n) != 0)
		return false;
	*call = strtoul(line + n, &end, 10);
	return end < line + len && *end == '"';
}

/* The default parts of the classes of `sf`, evaluated in one run. */
static void
check_eval(struct checker *ck, struct scad_file *sf, struct plan *p,
    const char *scratch)
{
	const char *display = sf->file->display;
	struct openscad_call *calls = xcalloc(sf->n + 1, sizeof *calls);
	const struct pclass **who = xcalloc(sf->n + 1, sizeof *who);
	struct engine_failure fail = { 0 };
	struct value *vals;
	char *text = NULL, *list = NULL, *what, *csg = NULL;
	bool *drawn = NULL;
	const char *s, *line;
	size_t ncalls = 0, call = SIZE_MAX, len, found = 0;
	bool whole;
	int r;

	for (size_t i = 0; i < sf->n; i++) {
		const struct pclass *cls = sf->classes[i];
		const struct pset *ps = cls->scad->ps;
		struct value *dflt = xcalloc(ps->nfree + 1, sizeof *dflt);
		char **args;
		int rc;
		/* every free parameter V_NULL: its default */
		vals = xcalloc(ps->nparams + 1, sizeof *vals);
		rc = pset_collect(ps, dflt, vals, NULL);
		free(dflt);
		/* a class whose parts cannot be collected is reported by
		 * the check of its parts */
		if (rc != 0) {
			free(vals);
			continue;
		}
		args = xcalloc(cls->scad->nargs + 1, sizeof *args);
		for (size_t a = 0; a < cls->scad->nargs; a++) {
			int pi = pset_find(ps, cls->scad->args[a]);
			struct value v = pi >= 0 ? vals[pi] : (struct value){
			    .kind = V_NULL };
			/* the engine's values: lengths in mm */
			if (pi >= 0 && ps->params[pi].type == PT_LENGTH_IN &&
			    v.kind == V_NUM)
				v.u.num *= 25.4;
			args[a] = openscad_literal(&v);
		}
		free(vals);
		calls[ncalls] = (struct openscad_call){ cls->scad->module,
		    args, cls->scad->nargs };
		who[ncalls++] = cls;
	}
	if (ncalls == 0)
		goto out;
	sf->nclasses = ncalls;
	r = openscad_eval(&ck->env, p, calls, ncalls, scratch, &text, &whole,
	    &csg, &fail);
	if (stop_on(ck, sf, &fail))
		goto out;
	s = text != NULL ? text : "";
	while ((line = next_line(&s, &len)) != NULL) {
		unsigned kind;
		size_t c;
		if (mark_of(line, len, &c)) {
			call = c;
			continue;
		}
		if ((kind = openscad_message_kind(line, len)) == 0)
			continue;
		found++;
		if (call < ncalls) {
			what = xasprintf("class '%s', its default part in "
			    "OpenSCAD", who[call]->id);
			report(ck, sf, display, what, kind, line, len);
			free(what);
			continue;
		}
		/* before the first call: loading the file */
		if (list == NULL)
			list = class_list(sf);
		what = xasprintf("OpenSCAD, loading it for %s", list);
		report(ck, sf, display, what, kind, line, len);
		free(what);
	}
	if (csg != NULL && openscad_csg_objects(csg, &drawn) == ncalls) {
		for (size_t c = 0; c < ncalls; c++) {
			if (!drawn[c])
				diag_add(&sf->diags, DIAG_ERROR, display, 0, 0,
				    "class '%s', its default part in OpenSCAD: "
				    "the module draws no object (parts that "
				    "OpenSCAD makes fail)", who[c]->id);
		}
	}
	if (r != 0 && found == 0) {
		list = list != NULL ? list : class_list(sf);
		diag_add(&sf->diags, DIAG_ERROR, display, 0, 0,
		    "OpenSCAD failed evaluating the default parts of %s: %s%s%s",
		    list, fail.summary, fail.stderr_tail != NULL &&
		    fail.stderr_tail[0] != '\0' ? ": " : "",
		    fail.stderr_tail != NULL ? fail.stderr_tail : "");
	} else if (!whole)
		diag_add(&sf->diags, DIAG_WARNING, display, 0, 0,
		    "OpenSCAD wrote more to its standard error than partsfs "
		    "keeps (jobs.stderr): not all it said was read");
out:
	for (size_t i = 0; i < ncalls; i++) {
		for (size_t a = 0; a < calls[i].nargs; a++)
			free(calls[i].args[a]);
		free((char **)calls[i].args);
	}
	free(calls);
	free(who);
	free(list);
	free(text);
	free(csg);
	free(drawn);
	engine_failure_clear(&fail);
}

/* One module file: its parse, then its classes. */
static void
check_file(struct checker *ck, struct scad_file *sf)
{
	const char *tmp = getenv("TMPDIR");
	struct perr e = { 0 };
	struct plan p;
	char *scratch;

	scratch = xasprintf("%s/partsfs-check-XXXXXX", tmp != NULL &&
	    tmp[0] == '/' ? tmp : "/tmp");
	if (mkdtemp(scratch) == NULL) {
		sf->stopped = xasprintf("cannot make a scratch directory %s: "
		    "%s", scratch, strerror(errno));
		atomic_store(&ck->stop, true);
		free(scratch);
		return;
	}
	sf->tried = true;
	memset(&p, 0, sizeof p);
	p.kind = GEN_OPENSCAD;
	p.fmt = p.native = FMT_CSG;
	p.path = xstrdup(sf->file->display);
	p.script = xstrdup(sf->file->path);
	p.program = xstrdup(ck->program);
	if (openscad_preludes(&ck->env, &p, &e) != 0)
		diag_add(&sf->diags, DIAG_ERROR, sf->file->display, 0, 0,
		    "its OpenSCAD preludes: %s", e.msg);
	else if (check_parse(ck, sf, &p, scratch))
		check_eval(ck, sf, &p, scratch);
	plan_clear(&p);
	cache_scratch_remove(scratch);
	free(scratch);
}

static double
seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A checking thread: files until none is left or nothing can run. */
static void *
worker(void *arg)
{
	struct checker *ck = arg;
	size_t i;

	while (!atomic_load(&ck->stop) &&
	    (i = atomic_fetch_add(&ck->next, 1)) < ck->nfiles)
		check_file(ck, &ck->files[i]);
	return NULL;
}

char *
check_openscad(struct library *lib, const struct conf *conf)
{
	struct checker ck = { .lib = lib, .conf = conf };
	pthread_t threads[CHECK_THREADS];
	size_t nthreads = 0, tried = 0, nclasses = 0;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	const char *stopped = NULL;
	struct perr e = { 0 };
	double t0 = seconds();
	char *why = NULL, *text;

	atomic_init(&ck.next, 0);
	atomic_init(&ck.stop, false);
	ck.files = files_of(lib, &ck.nfiles);
	if (ck.nfiles == 0) {
		free(ck.files);
		return xstrdup("OpenSCAD: no class of the library has an "
		    "OpenSCAD module");
	}
	if ((ck.program = version_program(NULL, conf->openscad,
	    false)) == NULL)
		why = xasprintf("'%s' is not installed (Debian package "
		    "openscad)", conf->openscad);
	else if ((ck.env.sandbox = sandbox_new(conf, &e)) == NULL)
		why = xstrdup(e.msg);
	else if (sandbox_mode(ck.env.sandbox) == SANDBOX_UNAVAILABLE)
		why = xstrdup(sandbox_reason(ck.env.sandbox));
	ck.env.conf = conf;
	ck.env.root = lib->root;
	if (why == NULL) {
		/* the files in parallel, their findings in file order */
		while (nthreads < CHECK_THREADS && nthreads < ck.nfiles &&
		    (nthreads == 0 || (long)nthreads < cpus) &&
		    pthread_create(&threads[nthreads], NULL, worker,
		    &ck) == 0)
			nthreads++;
		if (nthreads == 0)
			worker(&ck);
		for (size_t i = 0; i < nthreads; i++)
			pthread_join(threads[i], NULL);
	}
	for (size_t i = 0; i < ck.nfiles; i++) {
		struct scad_file *sf = &ck.files[i];
		diags_append(&lib->diags, &sf->diags);
		tried += sf->tried && sf->stopped == NULL;
		nclasses += sf->nclasses;
		if (stopped == NULL && sf->stopped != NULL)
			stopped = sf->stopped;
	}
	if (why == NULL && stopped != NULL)
		why = xstrdup(stopped);
	if (why != NULL && tried == 0)
		text = xasprintf("OpenSCAD modules were not tried: %s", why);
	else if (why != NULL)
		text = xasprintf("OpenSCAD modules: %zu of %zu files tried, "
		    "then: %s", tried, ck.nfiles, why);
	else
		text = xasprintf("OpenSCAD modules: %zu files and the default "
		    "parts of %zu classes tried in %.1f s", tried, nclasses,
		    seconds() - t0);
	for (size_t i = 0; i < ck.nfiles; i++) {
		diags_free(&ck.files[i].diags);
		free(ck.files[i].classes);
		free(ck.files[i].stopped);
	}
	free(ck.files);
	sandbox_free(ck.env.sandbox);
	free(ck.program);
	free(why);
	return text;
}
