/* exec.c -- the executors: preparing an engine's input in the job's
 * scratch directory (an OpenSCAD wrapper, a FreeCAD job file, a command's
 * parameter file), running it confined, checking what it wrote, and
 * converting STL to glTF binary with partsfs-convert. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partsfs/make/exec.h"

#define STDERR_LINES 20
#define STDERR_LINE_MAX 1024

void
exec_failure_clear(struct exec_failure *f)
{
	free(f->summary);
	free(f->command);
	free(f->stderr_tail);
	memset(f, 0, sizeof *f);
}

char *
exec_failure_text(const struct exec_failure *f)
{
	struct buf b = BUF_INIT;

	buf_adds(&b, f->summary != NULL ? f->summary : "failed");
	if (f->command != NULL)
		buf_printf(&b, "\ncommand: %s", f->command);
	if (f->stderr_tail != NULL && f->stderr_tail[0] != '\0')
		buf_printf(&b, "\nstderr (last lines):\n%s", f->stderr_tail);
	return buf_steal(&b);
}

/* The argv as one line a shell would read back the same way. */
static char *
shell_quote(const char *const *argv)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; argv[i] != NULL; i++) {
		const char *a = argv[i];
		if (i)
			buf_addc(&b, ' ');
		if (a[0] != '\0' && strspn(a, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+%@") ==
		    strlen(a)) {
			buf_adds(&b, a);
			continue;
		}
		buf_addc(&b, '\'');
		for (; *a; a++) {
			if (*a == '\'')
				buf_adds(&b, "'\\''");
			else
				buf_addc(&b, *a);
		}
		buf_addc(&b, '\'');
	}
	return buf_steal(&b);
}

/* The length of s cut to at most max bytes, not inside a UTF-8 sequence. */
static size_t
cut_utf8(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/*
 * The last lines of a text, for reports, each cut to STDERR_LINE_MAX bytes:
 * a report is read through an extended attribute, which the kernel limits
 * to 64 KiB, and one engine line can be longer than that.
 */
static char *
last_lines(const char *text, int lines)
{
	const char *end = text + strlen(text), *s = end;
	struct buf b = BUF_INIT;

	while (s > text && (s[-1] == '\n' || s[-1] == '\r'))
		s--;
	end = s;
	for (int n = 0; s > text; s--) {
		if (s[-1] == '\n' && ++n == lines)
			break;
	}
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = (size_t)((nl != NULL ? nl : end) - s);
		size_t keep = cut_utf8(s, len, STDERR_LINE_MAX);
		buf_add(&b, s, keep);
		if (keep < len)
			buf_printf(&b, " [%zu more bytes]", len - keep);
		if (nl == NULL)
			break;
		buf_addc(&b, '\n');
		s = nl + 1;
	}
	return buf_steal(&b);
}

static int
write_file(const char *path, const char *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int r;

	if (fd == -1)
		return -errno;
	if ((r = write_all(fd, data, n)) != 0) {
		close(fd);
		return r;
	}
	return close(fd) == -1 ? -errno : 0;
}

static int
fail_with(struct exec_failure *f, const char *const *argv, const char *fmt,
    ...) PF_PRINTF(3, 4);

static int
fail_with(struct exec_failure *f, const char *const *argv, const char *fmt,
    ...)
{
	va_list ap;

	va_start(ap, fmt);
	free(f->summary);
	f->summary = xvasprintf(fmt, ap);
	va_end(ap);
	if (argv != NULL && f->command == NULL)
		f->command = shell_quote(argv);
	return -EIO;
}

/* The environment an engine sees: nothing of ours leaks into it. */
struct envp {
	char *v[16];
	const char *cv[16];   /* the same, as run_spec wants them */
	size_t n;
};

static void
env_add(struct envp *ev, char *s)
{
	if (ev->n < PF_ARRAY_LEN(ev->v) - 1) {
		ev->cv[ev->n] = s;
		ev->v[ev->n++] = s;
	} else
		free(s);
	ev->v[ev->n] = NULL;
	ev->cv[ev->n] = NULL;
}

static void
env_init(struct envp *ev, const char *scratch)
{
	ev->n = 0;
	env_add(ev, xstrdup("PATH=/usr/local/bin:/usr/bin:/bin"));
	env_add(ev, xasprintf("HOME=%s", scratch));
	env_add(ev, xasprintf("TMPDIR=%s", scratch));
	env_add(ev, xasprintf("XDG_RUNTIME_DIR=%s", scratch));
	env_add(ev, xstrdup("LANG=C.UTF-8"));
	env_add(ev, xstrdup("LC_ALL=C.UTF-8"));
	/* engines must not write into the library (Python's __pycache__) */
	env_add(ev, xstrdup("PYTHONDONTWRITEBYTECODE=1"));
}

static void
env_free(struct envp *ev)
{
	for (size_t i = 0; i < ev->n; i++)
		free(ev->v[i]);
	ev->n = 0;
}

/*
 * A sanitized build's partsfs-convert reserves terabytes of address space
 * for its shadow memory at start, which no address-space limit lets
 * through: the converter of such a build (a test build) runs without one.
 */
#if defined(__SANITIZE_ADDRESS__)
#define CONVERTER_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONVERTER_SANITIZED 1
#endif
#endif
#ifndef CONVERTER_SANITIZED
#define CONVERTER_SANITIZED 0
#endif

/* Run one engine command and check its output file. */
static int
run_engine(const struct exec_env *env, const char *what,
    const char *const *argv,
    struct envp *ev, const char *scratch, enum format fmt,
    const char *output, struct exec_failure *fail)
{
	const struct conf *conf = env->conf;
	struct run_spec spec = {
		.argv = argv,
		.envp = ev->cv,
		.cwd = scratch,
		.timeout = conf->timeout,
		.memory = conf->memory,
		.cpu = conf->cpu,
		.fsize = conf->output_max,
		.stderr_max = conf->stderr_max,
	};
	struct run_result res;
	struct perr e = { 0 };
	int r = 0;

	if (CONVERTER_SANITIZED && strcmp(what, "partsfs-convert") == 0)
		spec.memory = 0;
	if (run_process(&spec, &res, &e) != 0)
		return fail_with(fail, argv, "%s could not be started: %s",
		    what, e.msg);
	free(fail->stderr_tail);
	fail->stderr_tail = last_lines(res.stderr_tail, STDERR_LINES);
	if (res.timed_out) {
		r = fail_with(fail, argv, "%s timed out after %g s (its "
		    "process group was killed)", what, conf->timeout);
		fail->timed_out = true;
	} else if (res.signal != 0)
		r = fail_with(fail, argv, "%s was killed by signal %d (%s) "
		    "after %.2f s", what, res.signal, strsignal(res.signal),
		    res.elapsed);
	else if (res.status == 127 || res.status == 126)
		r = fail_with(fail, argv, "%s could not be executed (exit "
		    "status %d)", what, res.status);
	else if (res.status != 0)
		r = fail_with(fail, argv, "%s exited with status %d after "
		    "%.2f s", what, res.status, res.elapsed);
	else if (format_check_file(fmt, output, &e) != 0)
		r = fail_with(fail, argv, "%s exited with status 0 after "
		    "%.2f s, but its output is unusable: %s", what,
		    res.elapsed, e.msg);
	run_result_clear(&res);
	return r;
}

static int
run_openscad(const struct exec_env *env, const struct plan *p,
    const char *scratch, const char *output, struct exec_failure *fail)
{
	const struct conf *conf = env->conf;
	char *wrapper = xasprintf("%s/part.scad", scratch);
	char *oarg = xasprintf("%s", output);
	const char *argv[32];
	char *wrapped = NULL;
	struct buf b = BUF_INIT;
	struct envp ev;
	size_t n = 0;
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
		r = fail_with(fail, NULL, "openscad: cannot include %s: its "
		    "path holds '<' or '>'", p->script);
		goto out;
	}
	if ((r = write_file(wrapper, b.p, b.len)) != 0) {
		r = fail_with(fail, NULL, "openscad: cannot write %s: %s",
		    wrapper, strerror(-r));
		goto out;
	}
	env_init(&ev, scratch);
	if (p->native == FMT_PNG && getenv("DISPLAY") == NULL &&
	    conf->npng_wrapper > 0) {
		/* no display: run the preview under the configured wrapper */
		wrapped = exec_find_program(conf->png_wrapper[0]);
		if (wrapped == NULL) {
			r = fail_with(fail, NULL, "openscad: a PNG preview needs "
			    "a display or '%s' (Debian packages xvfb and "
			    "xauth)", conf->png_wrapper[0]);
			env_free(&ev);
			goto out;
		}
		argv[n++] = wrapped;
		for (size_t i = 1; i < conf->npng_wrapper && n < 8; i++)
			argv[n++] = conf->png_wrapper[i];
	} else if (p->native == FMT_PNG && getenv("DISPLAY") != NULL) {
		/* the display, and the key to it: the engine's HOME is its
		 * scratch directory, where no .Xauthority is */
		const char *xauth = getenv("XAUTHORITY"), *home = getenv("HOME");
		char *dflt = NULL;

		env_add(&ev, xasprintf("DISPLAY=%s", getenv("DISPLAY")));
		if ((xauth == NULL || xauth[0] == '\0') && home != NULL &&
		    home[0] == '/') {
			dflt = xasprintf("%s/.Xauthority", home);
			if (access(dflt, R_OK) == 0)
				xauth = dflt;
		}
		if (xauth != NULL && xauth[0] != '\0')
			env_add(&ev, xasprintf("XAUTHORITY=%s", xauth));
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
	r = run_engine(env, "openscad", argv, &ev, scratch, p->native, output,
	    fail);
	env_free(&ev);
out:
	free(wrapped);
	free(wrapper);
	free(oarg);
	buf_free(&b);
	return r;
}

static int
run_freecad(const struct exec_env *env, const struct plan *p,
    const char *scratch, const char *output, struct exec_failure *fail)
{
	char *jobfile = xasprintf("%s/job.json", scratch);
	char *script_dir = xstrdup(p->script);
	const char *argv[4];
	char *text;
	json_t *job, *params;
	struct envp ev;
	int r;

	*strrchr(script_dir, '/') = '\0';
	params = json_deep_copy(p->params);
	json_object_set_new(params, "name", json_string(p->label));
	job = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s}",
	    "module_file", p->script,
	    "module_dir", script_dir,
	    "function", p->entry,
	    "params", params,
	    "label", p->label,
	    "format", format_ext(p->native),
	    "output", output);
	text = json_dumps(job, JSON_INDENT(2));
	json_decref(job);
	if ((r = write_file(jobfile, text, strlen(text))) != 0) {
		r = fail_with(fail, NULL, "freecad: cannot write %s: %s",
		    jobfile, strerror(-r));
		goto out;
	}
	env_init(&ev, scratch);
	env_add(&ev, xasprintf("PARTSFS_JOB=%s", jobfile));
	argv[0] = p->program;
	argv[1] = env->conf->freecad_driver;
	argv[2] = NULL;
	r = run_engine(env, "freecad", argv, &ev, scratch, p->native, output,
	    fail);
	env_free(&ev);
out:
	free(text);
	free(jobfile);
	free(script_dir);
	return r;
}

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

static int
run_command(const struct exec_env *env, const struct plan *p,
    const char *scratch, const char *output, struct exec_failure *fail)
{
	const struct conf_command *cmd = p->cmd;
	char *pfile = xasprintf("%s/params.json", scratch);
	const char *const keys[] = { "{script}", "{params}", "{output}",
	    "{format}", "{scratch}", NULL };
	const char *vals[] = { p->script, pfile, output,
	    format_ext(p->native), scratch };
	char **argv = xcalloc(cmd->argc + 1, sizeof *argv);
	struct envp ev;
	json_t *j;
	char *text;
	int r;

	j = json_pack("{s:O, s:s, s:s, s:s, s:s}", "params", p->params,
	    "label", p->label, "format", format_ext(p->native),
	    "class", p->cls, "collection", p->coll);
	text = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	if ((r = write_file(pfile, text, strlen(text))) != 0) {
		r = fail_with(fail, NULL, "%s: cannot write %s: %s", cmd->name,
		    pfile, strerror(-r));
		goto out;
	}
	argv[0] = xstrdup(p->program);
	for (size_t i = 1; i < cmd->argc; i++)
		argv[i] = expand_arg(cmd->argv[i], keys, vals);
	env_init(&ev, scratch);
	r = run_engine(env, cmd->name, (const char *const *)argv, &ev, scratch,
	    p->native, output, fail);
	env_free(&ev);
out:
	for (size_t i = 0; i < cmd->argc; i++)
		free(argv[i]);
	free(argv);
	free(text);
	free(pfile);
	return r;
}

static int
run_converter(const struct exec_env *env, const struct plan *p,
    const char *scratch, const char *in, const char *out,
    struct exec_failure *fail)
{
	char *program;
	const char *argv[4];
	struct envp ev;
	int r;

	if ((program = exec_find_program(env->conf->converter)) == NULL)
		return fail_with(fail, NULL, "the converter %s is not "
		    "installed", env->conf->converter);
	argv[0] = program;
	argv[1] = in;
	argv[2] = out;
	argv[3] = NULL;
	env_init(&ev, scratch);
	r = run_engine(env, "partsfs-convert", argv, &ev, scratch, p->fmt, out,
	    fail);
	env_free(&ev);
	free(program);
	return r;
}

int
exec_run(const struct exec_env *env, const struct plan *plan,
    const char *scratch, char **out, struct exec_failure *fail)
{
	char *native = xasprintf("%s/out.%s", scratch,
	    format_ext(plan->native));
	int r;

	memset(fail, 0, sizeof *fail);
	*out = NULL;
	switch (plan->kind) {
	case GEN_OPENSCAD:
		r = run_openscad(env, plan, scratch, native, fail);
		break;
	case GEN_FREECAD:
		r = run_freecad(env, plan, scratch, native, fail);
		break;
	default:
		r = run_command(env, plan, scratch, native, fail);
		break;
	}
	if (r == 0 && plan->convert) {
		char *final = xasprintf("%s/final.%s", scratch,
		    format_ext(plan->fmt));
		exec_failure_clear(fail);
		r = run_converter(env, plan, scratch, native, final, fail);
		free(native);
		native = final;
	}
	if (r == 0)
		*out = native;
	else
		free(native);
	return r;
}
