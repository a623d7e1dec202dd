/* version.c -- the engines' programs and versions: finding a program on
 * PATH, and learning the version an engine reports (which goes into every
 * key it makes), remembered in the cache's index and in this process. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "partsfs/cache/cache.h"
#include "partsfs/make/spawn.h"
#include "partsfs/make/version.h"

/* Programs found on PATH, remembered: a mount plans a part for every
 * attribute it reports.  An entry is trusted while the file it found is
 * still there, and searched again after a minute (a newer one may have
 * appeared earlier on PATH). */
struct found_program {
	char *name;
	char *path;
	uint64_t when;
	struct seen checked;      /* when the file was last seen there, */
	struct stat st;           /* as this */
};

/* Versions known in this process, by the program's identity, so that a
 * mount does not ask the index for every part it plans; and those the
 * index did not know either (version NULL), for a quick plan, which asks
 * the index again a second after (another process may have learnt it). */
struct known_version {
	char *memo;
	char *version;
	struct seen missed;         /* when the index did not know it */
};

struct versions {
	atomic_uint_fast64_t epoch;
	pthread_mutex_t programs_lock;
	struct found_program programs[16];
	size_t nprograms;
	pthread_mutex_t lock;
	struct known_version known[16];
	size_t nknown;
	/*
	 * The versions being asked for by a thread of this process, so that
	 * jobs started together on a fresh cache run one query per engine,
	 * not one each (a FreeCAD query is a whole start of FreeCAD).
	 */
	pthread_cond_t asked;
	char **asking;
	size_t nasking;
};

struct versions *
versions_new(void)
{
	struct versions *v = xcalloc(1, sizeof *v);

	atomic_init(&v->epoch, 0);
	pthread_mutex_init(&v->programs_lock, NULL);
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->asked, NULL);
	return v;
}

void
versions_free(struct versions *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->nprograms; i++) {
		free(v->programs[i].name);
		free(v->programs[i].path);
	}
	for (size_t i = 0; i < v->nknown; i++) {
		free(v->known[i].memo);
		free(v->known[i].version);
	}
	pthread_mutex_destroy(&v->programs_lock);
	pthread_mutex_destroy(&v->lock);
	pthread_cond_destroy(&v->asked);
	free(v);
}

void
versions_forget(struct versions *v)
{
	if (v != NULL)
		atomic_fetch_add(&v->epoch, 1);
}

static char *
search_path(const char *name)
{
	const char *path = getenv("PATH");
	char *dirs, *save = NULL, *found = NULL;

	if (strchr(name, '/') != NULL)
		return access(name, X_OK) == 0 ? realpath(name, NULL) : NULL;
	dirs = xstrdup(path != NULL && path[0] ? path :
	    "/usr/local/bin:/usr/bin:/bin");
	for (char *d = strtok_r(dirs, ":", &save); d != NULL && !found;
	    d = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", d, name);
		struct stat st;
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(p, X_OK) == 0)
			found = realpath(p, NULL);
		free(p);
	}
	free(dirs);
	return found;
}

/* Is f's program still there (an executable file)?  Its stat is kept;
 * programs_lock held. */
static bool
program_there(struct found_program *f, struct seen seen)
{
	if (access(f->path, X_OK) != 0 || stat(f->path, &f->st) != 0)
		return false;
	f->checked = seen;
	return true;
}

char *
version_program(struct versions *v, const char *name, bool quick)
{
	struct found_program *f = NULL;
	struct seen seen;
	char *found;

	if (name == NULL || name[0] == '\0')
		return NULL;
	if (v == NULL)
		return search_path(name);
	seen = seen_now(&v->epoch);
	pthread_mutex_lock(&v->programs_lock);
	for (size_t i = 0; i < v->nprograms; i++) {
		if (strcmp(v->programs[i].name, name) == 0)
			f = &v->programs[i];
	}
	if (f != NULL && seen.when - f->when < 60000000000ull &&
	    ((quick && seen_recently(&f->checked, &v->epoch)) ||
	    program_there(f, seen))) {
		found = xstrdup(f->path);
		pthread_mutex_unlock(&v->programs_lock);
		return found;
	}
	pthread_mutex_unlock(&v->programs_lock);
	if ((found = search_path(name)) == NULL)
		return NULL;
	pthread_mutex_lock(&v->programs_lock);
	if (f == NULL && v->nprograms < PF_ARRAY_LEN(v->programs)) {
		f = &v->programs[v->nprograms++];
		f->name = xstrdup(name);
		f->path = NULL;
	}
	if (f != NULL) {
		free(f->path);
		f->path = xstrdup(found);
		f->when = seen.when;
		memset(&f->checked, 0, sizeof f->checked);
		program_there(f, seen);
	}
	pthread_mutex_unlock(&v->programs_lock);
	return found;
}

/* The line that begins at `s`, at most 200 bytes of it. */
static char *
line_at(const char *s)
{
	size_t n = strcspn(s, "\r\n");

	return xstrndup(s, n > 200 ? 200 : n);
}

/* The first non-blank line of the engine's version output. */
static char *
first_line(const char *text)
{
	return line_at(text + strspn(text, "\r\n \t"));
}

char *
version_marked(const char *text)
{
	size_t n = strlen(VERSION_MARK);

	for (const char *s = text; s != NULL; s = strchr(s, '\n')) {
		if (*s == '\n')
			s++;
		if (strncmp(s, VERSION_MARK, n) == 0)
			return line_at(s + n);
	}
	return NULL;
}

/* The marked line of `text`, else its first non-blank line. */
static char *
marked_line(const char *text)
{
	char *s = version_marked(text);

	return s != NULL ? s : first_line(text);
}

/* The entry of `memo`, or NULL; lock held. */
static struct known_version *
known_find(struct versions *v, const char *memo)
{
	for (size_t i = 0; i < v->nknown; i++) {
		if (strcmp(v->known[i].memo, memo) == 0)
			return &v->known[i];
	}
	return NULL;
}

/* The entry of `memo`, added if there is none; lock held. */
static struct known_version *
known_entry(struct versions *v, const char *memo)
{
	struct known_version *k;

	if ((k = known_find(v, memo)) != NULL)
		return k;
	if (v->nknown == PF_ARRAY_LEN(v->known)) {
		/* forget them all: engines are few, this happens on upgrades */
		for (size_t i = 0; i < v->nknown; i++) {
			free(v->known[i].memo);
			free(v->known[i].version);
		}
		v->nknown = 0;
	}
	k = &v->known[v->nknown++];
	memset(k, 0, sizeof *k);
	k->memo = xstrdup(memo);
	return k;
}

/* A copy of the version known for `memo`, or NULL; lock held. */
static char *
known_locked(struct versions *v, const char *memo)
{
	struct known_version *k = known_find(v, memo);

	return k != NULL && k->version != NULL ? xstrdup(k->version) : NULL;
}

static char *
version_known(struct versions *v, const char *memo)
{
	char *s;

	if (v == NULL)
		return NULL;
	pthread_mutex_lock(&v->lock);
	s = known_locked(v, memo);
	pthread_mutex_unlock(&v->lock);
	return s;
}

static void
version_learnt(struct versions *v, const char *memo, const char *version)
{
	struct known_version *k;

	if (v == NULL)
		return;
	pthread_mutex_lock(&v->lock);
	k = known_entry(v, memo);
	free(k->version);
	k->version = xstrdup(version);
	pthread_mutex_unlock(&v->lock);
}

/* Did the index not know the version of `memo` in the last second? */
static bool
missed_recently(struct versions *v, const char *memo)
{
	struct known_version *k;
	bool r;

	if (v == NULL)
		return false;
	pthread_mutex_lock(&v->lock);
	r = (k = known_find(v, memo)) != NULL && k->version == NULL &&
	    seen_recently(&k->missed, &v->epoch);
	pthread_mutex_unlock(&v->lock);
	return r;
}

/* The index did not know the version of `memo` when `seen` says. */
static void
missed(struct versions *v, const char *memo, struct seen seen)
{
	struct known_version *k;

	if (v == NULL)
		return;
	pthread_mutex_lock(&v->lock);
	if ((k = known_entry(v, memo))->version == NULL)
		k->missed = seen;
	pthread_mutex_unlock(&v->lock);
}

/* Begin asking for the version of `memo`: the version when another
 * thread asked for it meanwhile (caller frees), or NULL when the caller
 * is to ask, and must then call ask_end. */
static char *
ask_begin(struct versions *v, const char *memo)
{
	char *s;
	bool busy;

	if (v == NULL)
		return NULL;
	pthread_mutex_lock(&v->lock);
	for (;;) {
		busy = false;
		for (size_t i = 0; i < v->nasking && !busy; i++)
			busy = strcmp(v->asking[i], memo) == 0;
		if (!busy)
			break;
		pthread_cond_wait(&v->asked, &v->lock);
	}
	if ((s = known_locked(v, memo)) == NULL) {
		v->asking = xreallocarray(v->asking, v->nasking + 1,
		    sizeof *v->asking);
		v->asking[v->nasking++] = xstrdup(memo);
	}
	pthread_mutex_unlock(&v->lock);
	return s;
}

static void
ask_end(struct versions *v, const char *memo)
{
	if (v == NULL)
		return;
	pthread_mutex_lock(&v->lock);
	for (size_t i = 0; i < v->nasking; i++) {
		if (strcmp(v->asking[i], memo) == 0) {
			free(v->asking[i]);
			v->asking[i] = v->asking[--v->nasking];
			break;
		}
	}
	if (v->nasking == 0) {
		free(v->asking);
		v->asking = NULL;
	}
	pthread_cond_broadcast(&v->asked);
	pthread_mutex_unlock(&v->lock);
}

/* The stat of an engine's program, which names its version: `quick`, as
 * version_program saw it in the last second if it did (a quick plan finds
 * its program first). */
static int
stat_program(struct versions *v, const char *program, struct stat *st,
    bool quick)
{
	bool seen = false;

	if (quick && v != NULL) {
		pthread_mutex_lock(&v->programs_lock);
		for (size_t i = 0; i < v->nprograms && !seen; i++) {
			const struct found_program *f = &v->programs[i];
			if (strcmp(f->path, program) == 0 &&
			    seen_recently(&f->checked, &v->epoch)) {
				*st = f->st;
				seen = true;
			}
		}
		pthread_mutex_unlock(&v->programs_lock);
	}
	return seen ? 0 : stat(program, st);
}

char *
version_identity(struct versions *v, const char *program, bool quick)
{
	struct stat st;

	if (stat_program(v, program, &st, quick) == -1)
		return xasprintf("%s (not found)", program);
	return xasprintf("%s, %jd bytes, modified %jd.%09ld", program,
	    (intmax_t)st.st_size, (intmax_t)st.st_mtim.tv_sec,
	    st.st_mtim.tv_nsec);
}

/* A new private directory for a version query: in the cache's scratch
 * area, or under TMPDIR without a cache; NULL if none can be made. */
static char *
version_home(struct cache *cache)
{
	const char *tmp = getenv("TMPDIR");
	struct perr e = { 0 };
	char *dir;

	if (cache != NULL)
		return cache_scratch(cache, &e);
	if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp";
	dir = xasprintf("%s/partsfs-version-XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		free(dir);
		return NULL;
	}
	return dir;
}

/* The memo of a version: the program's identity and the query (two
 * executors may run one program, an interpreter, with version commands of
 * their own).  Caller frees. */
static char *
version_memo(const char *program, const struct stat *st, char *const *argv,
    const char *extra_env)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "version %s %jd %jd.%09ld", program,
	    (intmax_t)st->st_size, (intmax_t)st->st_mtim.tv_sec,
	    st->st_mtim.tv_nsec);
	for (size_t i = 0; argv != NULL && argv[i] != NULL; i++) {
		buf_adds(&b, " [");
		buf_adds(&b, argv[i]);
		buf_addc(&b, ']');
	}
	if (extra_env != NULL) {
		buf_adds(&b, " env ");
		buf_adds(&b, extra_env);
	}
	return buf_steal(&b);
}

char *
version_reported(struct versions *v, struct cache *cache,
    const char *program, char *const *argv, const char *extra_env,
    const char *report)
{
	struct stat st;
	char *memo, *s;

	if (report == NULL || stat_program(v, program, &st, false) == -1)
		return NULL;
	s = first_line(report);
	if (s[0] == '\0') {
		free(s);
		return NULL;
	}
	memo = version_memo(program, &st, argv, extra_env);
	if (cache != NULL)
		cache_memo_set(cache, memo, s);
	version_learnt(v, memo, s);
	free(memo);
	return s;
}

char *
version_lookup(struct versions *v, struct cache *cache, struct sandbox *sb,
    const char *program, char *const *argv, const char *extra_env,
    unsigned flags, bool *unknown)
{
	const char *envp[] = { "PATH=/usr/local/bin:/usr/bin:/bin",
	    "LANG=C.UTF-8", NULL, NULL, NULL, extra_env, NULL };
	const char **av = NULL;
	struct run_spec spec = {
		.envp = envp,
		.cwd = "/",
		.timeout = 60,
		.stderr_max = 4096,
		.capture_stdout = true,
	};
	bool quick = (flags & VERSION_QUICK) != 0;
	char *home = NULL, *vars[3] = { NULL, NULL, NULL }, *ro[4] = { 0 };
	struct sandbox_view view = { 0 };
	struct run_result res;
	struct seen seen = { 0, now_ns() };
	struct stat st;
	char *memo, *s = NULL, *first = NULL;
	bool asked = false, lasting = true;
	size_t n = 0;

	if (v != NULL)
		seen = seen_now(&v->epoch);
	if (stat_program(v, program, &st, quick) == -1)
		return NULL;
	memo = version_memo(program, &st, argv, extra_env);
	if ((s = version_known(v, memo)) != NULL)
		goto out;
	if (quick && missed_recently(v, memo)) {
		*unknown = true;
		goto out;
	}
	if (cache != NULL && (s = cache_memo_get(cache, memo)) != NULL) {
		version_learnt(v, memo, s);
		goto out;
	}
	if (!(flags & VERSION_ASK)) {
		missed(v, memo, seen);
		*unknown = true;
		goto out;
	}
	if ((s = ask_begin(v, memo)) != NULL)
		goto out;
	asked = true;
	while (argv != NULL && argv[n] != NULL)
		n++;
	av = xcalloc(n + 3, sizeof *av);
	if (n == 0) {
		av[0] = program;
		av[1] = "--version";
	} else {
		/* argv[0] of a configured version command is found on PATH */
		if ((first = version_program(v, argv[0], false)) == NULL) {
			s = xasprintf("unknown (%s not found)", argv[0]);
			goto remember;
		}
		av[0] = first;
		for (size_t i = 1; i < n; i++)
			av[i] = argv[i];
	}
	spec.argv = av;
	/* in a directory of its own, as a job is: an engine (FreeCAD) makes
	 * its settings and caches under HOME, which must not be a directory
	 * all users share */
	if ((home = version_home(cache)) != NULL) {
		vars[0] = xasprintf("HOME=%s", home);
		vars[1] = xasprintf("TMPDIR=%s", home);
		vars[2] = xasprintf("XDG_RUNTIME_DIR=%s", home);
		envp[2] = vars[0];
		envp[3] = vars[1];
		envp[4] = vars[2];
		spec.cwd = home;
		/* in the sandbox as a job is, seeing the program and what
		 * its query names (FreeCAD's driver) */
		if (sb != NULL) {
			size_t nro = 0;
			for (size_t i = 0; av[i] != NULL && nro < 3; i++) {
				if (av[i][0] == '/' &&
				    !str_has_prefix(av[i], "/usr/"))
					ro[nro++] = xstrdup(av[i]);
			}
			view.scratch = home;
			view.ro = (const char *const *)ro;
			spec.sandbox = sb;
			spec.view = &view;
		}
	} else {
		s = xstrdup("unknown (no directory to run it in)");
		lasting = false;
		goto remember;
	}
	if (run_process(&spec, &res, NULL) != 0) {
		/* no sandbox (yet): asked again next time */
		s = xstrdup("unknown (could not run)");
		lasting = false;
	}
	else {
		if (res.status == 0 && res.stderr_tail[0] != '\0')
			s = (flags & VERSION_MARKED) ?
			    marked_line(res.stderr_tail) :
			    first_line(res.stderr_tail);
		else
			s = xasprintf("unknown (exit status %d, signal %d)",
			    res.status, res.signal);
		/* ended by a signal but not by its time limit (partsfs
		 * stopping kills it so): not kept, asked again next time */
		lasting = res.signal == 0 || res.timed_out;
		run_result_clear(&res);
	}
remember:
	cache_scratch_remove(home);
	free(home);
	for (int i = 0; i < 3; i++)
		free(vars[i]);
	for (int i = 0; i < 4; i++)
		free(ro[i]);
	if (cache != NULL && lasting)
		cache_memo_set(cache, memo, s);
	version_learnt(v, memo, s);
	if (asked)
		ask_end(v, memo);
out:
	free(first);
	free((void *)av);
	free(memo);
	return s;
}

char *
version_query(struct versions *v, struct cache *cache, struct sandbox *sb,
    const char *program, char *const *argv, const char *extra_env)
{
	bool unknown = false;

	return version_lookup(v, cache, sb, program, argv, extra_env,
	    VERSION_ASK, &unknown);
}
