/* engine.c -- running one engine command for a job: the environment it
 * sees, its limits from the configuration, the check of what it wrote, and
 * the report of a failure for the user. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "partsfs/make/engine.h"
#include "partsfs/make/spawn.h"

#define STDERR_LINES 20
#define STDERR_LINE_MAX 1024

void
engine_failure_clear(struct engine_failure *f)
{
	free(f->summary);
	free(f->command);
	free(f->stderr_tail);
	memset(f, 0, sizeof *f);
}

char *
engine_failure_text(const struct engine_failure *f)
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
 * The last `lines` lines of a text that `keep` (NULL: all) keeps, for
 * reports, each cut to STDERR_LINE_MAX bytes: a report is read through an
 * extended attribute, which the kernel limits to 64 KiB, and one engine
 * line can be longer than that.
 */
static char *
last_lines(const char *text, int lines,
    bool (*keep)(const char *line, size_t len))
{
	const char *end = text + strlen(text), *s;
	struct buf b = BUF_INIT;
	size_t total = 0, n = 0, skip = 0;

	while (end > text && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	/* count the lines kept, then write the last of them */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1 && total > (size_t)lines)
			skip = total - (size_t)lines;
		for (s = text; s < end; ) {
			const char *nl = memchr(s, '\n', (size_t)(end - s));
			size_t len = (size_t)((nl != NULL ? nl : end) - s);
			if (keep == NULL || keep(s, len)) {
				if (pass == 0)
					total++;
				else if (n++ >= skip) {
					size_t k = cut_utf8(s, len,
					    STDERR_LINE_MAX);
					if (n > skip + 1)
						buf_addc(&b, '\n');
					buf_add(&b, s, k);
					if (k < len)
						buf_printf(&b, " [%zu more "
						    "bytes]", len - k);
				}
			}
			if (nl == NULL)
				break;
			s = nl + 1;
		}
	}
	return b.p != NULL ? buf_steal(&b) : xstrdup("");
}

int
engine_write_file(const char *path, const char *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	int r;

	if (fd == -1)
		return -errno;
	if ((r = write_all(fd, data, n)) != 0) {
		close(fd);
		return r;
	}
	return close(fd) == -1 ? -errno : 0;
}

int
engine_fail(struct engine_failure *f, const char *const *argv,
    const char *fmt, ...)
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

void
engine_env_add(struct engine_env *ev, char *s)
{
	if (ev->n < PF_ARRAY_LEN(ev->v) - 1) {
		ev->cv[ev->n] = s;
		ev->v[ev->n++] = s;
	} else
		free(s);
	ev->v[ev->n] = NULL;
	ev->cv[ev->n] = NULL;
}

void
engine_env_init(struct engine_env *ev, const char *scratch)
{
	ev->n = 0;
	engine_env_add(ev, xstrdup("PATH=/usr/local/bin:/usr/bin:/bin"));
	engine_env_add(ev, xasprintf("HOME=%s", scratch));
	engine_env_add(ev, xasprintf("TMPDIR=%s", scratch));
	engine_env_add(ev, xasprintf("XDG_RUNTIME_DIR=%s", scratch));
	engine_env_add(ev, xstrdup("LANG=C.UTF-8"));
	engine_env_add(ev, xstrdup("LC_ALL=C.UTF-8"));
	/* engines must not write into the library (Python's __pycache__) */
	engine_env_add(ev, xstrdup("PYTHONDONTWRITEBYTECODE=1"));
}

void
engine_env_free(struct engine_env *ev)
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

int
engine_run(const struct conf *conf, struct sandbox *sb,
    const struct sandbox_view *view, const char *what,
    const char *const *argv, const struct engine_env *ev,
    const char *scratch, enum format fmt, const char *output,
    struct engine_failure *fail)
{
	return engine_run_judged(conf, sb, view, what, argv, ev, scratch, fmt,
	    output, NULL, fail);
}

int
engine_run_judged(const struct conf *conf, struct sandbox *sb,
    const struct sandbox_view *view, const char *what,
    const char *const *argv, const struct engine_env *ev,
    const char *scratch, enum format fmt, const char *output,
    const struct engine_judge *judge, struct engine_failure *fail)
{
	struct run_spec spec = {
		.argv = argv,
		.envp = ev->cv,
		.cwd = scratch,
		.timeout = conf->timeout,
		.memory = conf->memory,
		.cpu = conf->cpu,
		.fsize = conf->output_max,
		.stderr_max = conf->stderr_max,
		.sandbox = sb,
		.view = view,
	};
	struct run_result res;
	struct perr e = { 0 };
	int r = 0, fd;

	if (CONVERTER_SANITIZED && strcmp(what, "partsfs-convert") == 0)
		spec.memory = 0;
	if ((r = run_process(&spec, &res, &e)) != 0) {
		/* refused to run without a sandbox: not the engine's doing */
		fail->system = r == -EPERM;
		return engine_fail(fail, argv, "%s could not be started: %s",
		    what, e.msg);
	}
	free(fail->stderr_tail);
	fail->stderr_tail = last_lines(res.stderr_tail, STDERR_LINES,
	    judge != NULL ? judge->keep : NULL);
	if (res.timed_out) {
		r = engine_fail(fail, argv, "%s timed out after %g s (%s was "
		    "killed)", what, conf->timeout, sb != NULL &&
		    sandbox_mode_untried(sb) == SANDBOX_BWRAP ? "every process of the "
		    "job" : "its process group");
		fail->timed_out = true;
	} else if (res.signal != 0)
		r = engine_fail(fail, argv, "%s was killed by signal %d (%s) "
		    "after %.2f s", what, res.signal, strsignal(res.signal),
		    res.elapsed);
	else if (res.status == 127 || res.status == 126)
		r = engine_fail(fail, argv, "%s could not be executed (exit "
		    "status %d)", what, res.status);
	else if (res.status != 0)
		r = engine_fail(fail, argv, "%s exited with status %d after "
		    "%.2f s", what, res.status, res.elapsed);
	if (judge != NULL && judge->verdict != NULL && !res.timed_out &&
	    res.signal == 0 && res.status != 126 && res.status != 127) {
		r = judge->verdict(judge->arg, res.stderr_tail,
		    res.stderr_total <= (uint64_t)strlen(res.stderr_tail),
		    res.elapsed, r, fail);
		if (r != 0 && fail->command == NULL)
			fail->command = shell_quote(argv);
	}
	if (r == 0) {
		if ((fd = engine_output(output, fmt, conf->output_max,
		    &e)) == -1)
			r = engine_fail(fail, argv, "%s exited with status 0 "
			    "after %.2f s, but its output is unusable: %s",
			    what, res.elapsed, e.msg);
		else
			close(fd);
	}
	run_result_clear(&res);
	return r;
}

void
engine_view_init(struct engine_view *ev, const char *library,
    const char *scratch)
{
	memset(ev, 0, sizeof *ev);
	ev->view.library = library;
	ev->view.scratch = scratch;
	ev->view.ro = (const char *const *)ev->ro;
}

void
engine_view_add(struct engine_view *ev, const char *path)
{
	char *p = path != NULL && path[0] == '/' &&
	    !str_has_prefix(path, "/usr/") ? xstrdup(path) : NULL;

	if (p == NULL)
		return;
	for (size_t i = 0; i < ev->n; i++) {
		if (strcmp(ev->ro[i], p) == 0) {
			free(p);
			return;
		}
	}
	if (ev->n < PF_ARRAY_LEN(ev->ro) - 1)
		ev->ro[ev->n++] = p;
	else
		free(p);
}

void
engine_view_free(struct engine_view *ev)
{
	for (size_t i = 0; i < ev->n; i++)
		free(ev->ro[i]);
	ev->n = 0;
}

int
engine_output(const char *output, enum format fmt, uint64_t max,
    struct perr *e)
{
	struct stat st;
	int fd, r;

	if ((fd = open(output, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		if (errno == ELOOP)
			perr_set(e, EBADMSG, "it is a symbolic link");
		else
			perr_set(e, errno, "cannot open the output: %s",
			    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		r = perr_set(e, EBADMSG, "it is not a regular file");
	else if (st.st_nlink != 1)
		r = perr_set(e, EBADMSG, "it has %ju links", (uintmax_t)
		    st.st_nlink);
	else if (max > 0 && (uint64_t)st.st_size > max)
		r = perr_set(e, EFBIG, "it has %jd bytes, more than the %ju "
		    "an engine may write", (intmax_t)st.st_size,
		    (uintmax_t)max);
	else
		r = format_check_fd(fmt, fd, e);
	if (r != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
engine_keep(const char *what, const char *output, enum format fmt,
    uint64_t max, const char *dst, struct engine_failure *fail)
{
	struct perr e = { 0 };
	char buf[65536];
	off_t off = 0;
	ssize_t n;
	int in, out, r = 0;

	if ((in = engine_output(output, fmt, max, &e)) == -1)
		return engine_fail(fail, NULL, "%s: its output is unusable: %s",
		    what, e.msg);
	if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1) {
		r = errno;
		close(in);
		fail->system = true;
		return engine_fail(fail, NULL, "cannot keep the part in %s: %s",
		    dst, strerror(r));
	}
	while ((n = pread(in, buf, sizeof buf, off)) > 0) {
		if ((r = write_all(out, buf, (size_t)n)) != 0)
			break;
		off += n;
	}
	if (n < 0)
		r = -errno;
	close(in);
	if (close(out) == -1 && r == 0)
		r = -errno;
	if (r != 0) {
		unlink(dst);
		fail->system = true;
		return engine_fail(fail, NULL, "cannot keep the part in %s: %s",
		    dst, strerror(-r));
	}
	return 0;
}
