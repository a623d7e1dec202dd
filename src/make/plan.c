/* plan.c -- planning a part: the cheapest chain of engine and converter for
 * each format of a class, the parameters handed to the engine, and the
 * cache key over everything that shapes the result. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "partsfs/model/label.h"
#include "partsfs/model/makers.h"
#include "partsfs/util/confine.h"
#include "partsfs/tree/describe.h"
#include "partsfs/make/exec.h"
#include "partsfs/model/params.h"

/* Bump when anything about how parts are made changes. */
#define CACHE_SCHEMA "partsfs-cache-1"

/*
 * What planning saw in the last second, for plan_key_recent: a stat of a
 * part not made yet asks for its key each time (ls -l of a directory of
 * them, thousands of parts), and from this it costs no system call.
 * Planning for a job looks again, and refreshes what it saw.  A reload
 * of the library forgets it all (plan_forget_recent): an edited module
 * counts at once.  Each memo below stamps what it saw with the epoch at
 * the moment it looked and the time.
 */
#define RECENT_NS 1000000000ull

static atomic_uint_fast64_t recent_epoch;

struct seen {
	uint64_t epoch;
	uint64_t when;
};

static struct seen
seen_now(void)
{
	struct seen s = { atomic_load(&recent_epoch), now_ns() };

	return s;
}

static bool
seen_recently(const struct seen *s)
{
	return s->when != 0 && s->epoch == atomic_load(&recent_epoch) &&
	    now_ns() - s->when < RECENT_NS;
}

void
plan_forget_recent(void)
{
	atomic_fetch_add(&recent_epoch, 1);
}

/* Programs and versions. */

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

static pthread_mutex_t programs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct found_program programs[16];
static size_t nprograms;

static char *search_path(const char *name);

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

/* `quick`: a program seen in the last second is not looked at again. */
static char *
find_program(const char *name, bool quick)
{
	struct seen seen = seen_now();
	struct found_program *f = NULL;
	char *found;

	if (name == NULL || name[0] == '\0')
		return NULL;
	pthread_mutex_lock(&programs_lock);
	for (size_t i = 0; i < nprograms; i++) {
		if (strcmp(programs[i].name, name) == 0)
			f = &programs[i];
	}
	if (f != NULL && seen.when - f->when < 60000000000ull &&
	    ((quick && seen_recently(&f->checked)) ||
	    program_there(f, seen))) {
		found = xstrdup(f->path);
		pthread_mutex_unlock(&programs_lock);
		return found;
	}
	pthread_mutex_unlock(&programs_lock);
	if ((found = search_path(name)) == NULL)
		return NULL;
	pthread_mutex_lock(&programs_lock);
	if (f == NULL && nprograms < PF_ARRAY_LEN(programs)) {
		f = &programs[nprograms++];
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
	pthread_mutex_unlock(&programs_lock);
	return found;
}

char *
exec_find_program(const char *name)
{
	return find_program(name, false);
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

/* The first non-blank line of the engine's version output. */
static char *
first_line(const char *text)
{
	const char *s = text, *e;

	while (*s == '\n' || *s == '\r' || *s == ' ' || *s == '\t')
		s++;
	e = s + strcspn(s, "\r\n");
	if (e - s > 200)
		e = s + 200;
	return xstrndup(s, (size_t)(e - s));
}

/* Versions known in this process, by the program's identity, so that a
 * mount does not ask the index for every part it plans; and those the
 * index did not know either (version NULL), for a quick plan, which asks
 * the index again a second after (another process may have learnt it). */
struct known_version {
	char *memo;
	char *version;
	struct seen missed;         /* when the index did not know it */
};

static pthread_mutex_t versions_lock = PTHREAD_MUTEX_INITIALIZER;
static struct known_version versions[16];
static size_t nversions;

/* The entry of `memo`, or NULL; versions_lock held. */
static struct known_version *
version_find(const char *memo)
{
	for (size_t i = 0; i < nversions; i++) {
		if (strcmp(versions[i].memo, memo) == 0)
			return &versions[i];
	}
	return NULL;
}

/* The entry of `memo`, added if there is none; versions_lock held. */
static struct known_version *
version_entry(const char *memo)
{
	struct known_version *v;

	if ((v = version_find(memo)) != NULL)
		return v;
	if (nversions == PF_ARRAY_LEN(versions)) {
		/* forget them all: engines are few, this happens on upgrades */
		for (size_t i = 0; i < nversions; i++) {
			free(versions[i].memo);
			free(versions[i].version);
		}
		nversions = 0;
	}
	v = &versions[nversions++];
	memset(v, 0, sizeof *v);
	v->memo = xstrdup(memo);
	return v;
}

/* A copy of the version known for `memo`, or NULL; versions_lock held. */
static char *
known_locked(const char *memo)
{
	struct known_version *v = version_find(memo);

	return v != NULL && v->version != NULL ? xstrdup(v->version) : NULL;
}

static char *
version_known(const char *memo)
{
	char *v;

	pthread_mutex_lock(&versions_lock);
	v = known_locked(memo);
	pthread_mutex_unlock(&versions_lock);
	return v;
}

static void
version_learnt(const char *memo, const char *version)
{
	struct known_version *v;

	pthread_mutex_lock(&versions_lock);
	v = version_entry(memo);
	free(v->version);
	v->version = xstrdup(version);
	pthread_mutex_unlock(&versions_lock);
}

/* Did the index not know the version of `memo` in the last second? */
static bool
missed_recently(const char *memo)
{
	struct known_version *v;
	bool r;

	pthread_mutex_lock(&versions_lock);
	r = (v = version_find(memo)) != NULL && v->version == NULL &&
	    seen_recently(&v->missed);
	pthread_mutex_unlock(&versions_lock);
	return r;
}

/* The index did not know the version of `memo` when `seen` says. */
static void
missed(const char *memo, struct seen seen)
{
	struct known_version *v;

	pthread_mutex_lock(&versions_lock);
	if ((v = version_entry(memo))->version == NULL)
		v->missed = seen;
	pthread_mutex_unlock(&versions_lock);
}

/*
 * The versions being asked for by a thread of this process, so that jobs
 * started together on a fresh cache run one query per engine, not one
 * each (a FreeCAD query is a whole start of FreeCAD).  version_ask_begin
 * gives the version when another thread asked for it meanwhile (caller
 * frees), and NULL when the caller is to ask (it must then call
 * version_ask_end).
 */
static pthread_cond_t versions_cond = PTHREAD_COND_INITIALIZER;
static char **asking;
static size_t nasking;

static char *
version_ask_begin(const char *memo)
{
	char *v;
	bool busy;

	pthread_mutex_lock(&versions_lock);
	for (;;) {
		busy = false;
		for (size_t i = 0; i < nasking && !busy; i++)
			busy = strcmp(asking[i], memo) == 0;
		if (!busy)
			break;
		pthread_cond_wait(&versions_cond, &versions_lock);
	}
	if ((v = known_locked(memo)) == NULL) {
		asking = xreallocarray(asking, nasking + 1, sizeof *asking);
		asking[nasking++] = xstrdup(memo);
	}
	pthread_mutex_unlock(&versions_lock);
	return v;
}

static void
version_ask_end(const char *memo)
{
	pthread_mutex_lock(&versions_lock);
	for (size_t i = 0; i < nasking; i++) {
		if (strcmp(asking[i], memo) == 0) {
			free(asking[i]);
			asking[i] = asking[--nasking];
			break;
		}
	}
	if (nasking == 0) {
		free(asking);
		asking = NULL;
	}
	pthread_cond_broadcast(&versions_cond);
	pthread_mutex_unlock(&versions_lock);
}

/* The stat of an engine's program, which names its version: `quick`, as
 * find_program saw it in the last second if it did (a quick plan finds
 * its program first). */
static int
stat_program(const char *program, struct stat *st, bool quick)
{
	bool seen = false;

	if (quick) {
		pthread_mutex_lock(&programs_lock);
		for (size_t i = 0; i < nprograms && !seen; i++) {
			const struct found_program *f = &programs[i];
			if (strcmp(f->path, program) == 0 &&
			    seen_recently(&f->checked)) {
				*st = f->st;
				seen = true;
			}
		}
		pthread_mutex_unlock(&programs_lock);
	}
	return seen ? 0 : stat(program, st);
}

/* What stands for the version of a program that is not asked for it: its
 * path, size and modification time. */
static char *
program_identity(const char *program, bool quick)
{
	struct stat st;

	if (stat_program(program, &st, quick) == -1)
		return xasprintf("%s (not found)", program);
	return xasprintf("%s, %jd bytes, modified %jd.%09ld", program,
	    (intmax_t)st.st_size, (intmax_t)st.st_mtim.tv_sec,
	    st.st_mtim.tv_nsec);
}

/* A new private directory for a version query: in the cache's scratch
 * area, or under TMPDIR without a cache; NULL if none can be made. */
static char *
version_home(const struct exec_env *env)
{
	const char *tmp = getenv("TMPDIR");
	struct perr e = { 0 };
	char *dir;

	if (env->cache != NULL)
		return cache_scratch(env->cache, &e);
	if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp";
	dir = xasprintf("%s/partsfs-version-XXXXXX", tmp);
	if (mkdtemp(dir) == NULL) {
		free(dir);
		return NULL;
	}
	return dir;
}

/*
 * The version of `program` (see exec_version).  When it is not known yet
 * and `ask` is false, NULL with *unknown set instead of running the
 * query.  `quick`: what was seen of the program and the index in the
 * last second stands.
 */
static char *
version_of(const struct exec_env *env, const char *program,
    char *const *argv, const char *extra_env, bool ask, bool quick,
    bool *unknown)
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
	char *home = NULL, *vars[3] = { NULL, NULL, NULL };
	struct run_result res;
	struct seen seen = seen_now();
	struct stat st;
	char *memo, *v = NULL, *first = NULL;
	bool asked = false, lasting = true;
	size_t n = 0;

	if (stat_program(program, &st, quick) == -1)
		return NULL;
	/* the program's identity and the query: two executors may run one
	 * program (an interpreter) with version commands of their own */
	{
		struct buf b = BUF_INIT;
		buf_printf(&b, "version %s %jd %jd.%09ld", program,
		    (intmax_t)st.st_size, (intmax_t)st.st_mtim.tv_sec,
		    st.st_mtim.tv_nsec);
		for (size_t i = 0; argv != NULL && argv[i] != NULL; i++)
			buf_printf(&b, " [%s]", argv[i]);
		if (extra_env != NULL)
			buf_printf(&b, " env %s", extra_env);
		memo = buf_steal(&b);
	}
	if ((v = version_known(memo)) != NULL)
		goto out;
	if (quick && missed_recently(memo)) {
		*unknown = true;
		goto out;
	}
	if (env->cache != NULL && (v = cache_memo_get(env->cache, memo)) != NULL) {
		version_learnt(memo, v);
		goto out;
	}
	if (!ask) {
		missed(memo, seen);
		*unknown = true;
		goto out;
	}
	if ((v = version_ask_begin(memo)) != NULL)
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
		if ((first = exec_find_program(argv[0])) == NULL) {
			v = xasprintf("unknown (%s not found)", argv[0]);
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
	if ((home = version_home(env)) != NULL) {
		vars[0] = xasprintf("HOME=%s", home);
		vars[1] = xasprintf("TMPDIR=%s", home);
		vars[2] = xasprintf("XDG_RUNTIME_DIR=%s", home);
		envp[2] = vars[0];
		envp[3] = vars[1];
		envp[4] = vars[2];
		spec.cwd = home;
	} else {
		v = xstrdup("unknown (no directory to run it in)");
		lasting = false;
		goto remember;
	}
	if (run_process(&spec, &res, NULL) != 0)
		v = xstrdup("unknown (could not run)");
	else {
		if (res.status == 0 && res.stderr_tail[0] != '\0')
			v = first_line(res.stderr_tail);
		else
			v = xasprintf("unknown (exit status %d, signal %d)",
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
	if (env->cache != NULL && lasting)
		cache_memo_set(env->cache, memo, v);
	version_learnt(memo, v);
	if (asked)
		version_ask_end(memo);
out:
	free(first);
	free((void *)av);
	free(memo);
	return v;
}

char *
exec_version(const struct exec_env *env, const char *program,
    char *const *argv, const char *extra_env)
{
	bool unknown = false;

	return version_of(env, program, argv, extra_env, true, false,
	    &unknown);
}

/* Digests of generator sources, remembered by file identity so that
 * computing a key does not re-read the scripts every time. */

struct digest {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct seen checked;      /* when the file was last seen so */
	char hex[CACHE_KEY_LEN + 1];
};

static pthread_mutex_t digests_lock = PTHREAD_MUTEX_INITIALIZER;
static struct digest digests[256];
static size_t ndigests, next_digest;

/* `quick`: a file seen in the last second is not looked at again. */
static int
source_digest(const char *path, char hex[CACHE_KEY_LEN + 1], bool quick)
{
	struct seen seen = seen_now();
	struct stat st;
	struct digest *d;
	int r;

	if (quick) {
		struct digest *last = NULL;
		pthread_mutex_lock(&digests_lock);
		for (size_t i = 0; i < ndigests; i++) {
			d = &digests[i];
			if (strcmp(d->path, path) == 0 && (last == NULL ||
			    d->checked.when > last->checked.when))
				last = d;
		}
		if (last != NULL && seen_recently(&last->checked)) {
			memcpy(hex, last->hex, sizeof last->hex);
			pthread_mutex_unlock(&digests_lock);
			return 0;
		}
		pthread_mutex_unlock(&digests_lock);
	}
	if (stat(path, &st) == -1)
		return -errno;
	pthread_mutex_lock(&digests_lock);
	for (size_t i = 0; i < ndigests; i++) {
		d = &digests[i];
		if (strcmp(d->path, path) == 0 && d->dev == st.st_dev &&
		    d->ino == st.st_ino && d->size == st.st_size &&
		    d->mtime.tv_sec == st.st_mtim.tv_sec &&
		    d->mtime.tv_nsec == st.st_mtim.tv_nsec) {
			memcpy(hex, d->hex, sizeof d->hex);
			d->checked = seen;
			pthread_mutex_unlock(&digests_lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&digests_lock);
	/* the identity remembered is that of the file read */
	if ((r = sha256_file(path, hex, &st)) != 0)
		return r;
	pthread_mutex_lock(&digests_lock);
	if (ndigests < PF_ARRAY_LEN(digests))
		d = &digests[ndigests++];
	else {
		d = &digests[next_digest];
		next_digest = (next_digest + 1) % PF_ARRAY_LEN(digests);
		free(d->path);
	}
	d->path = xstrdup(path);
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	d->size = st.st_size;
	d->mtime = st.st_mtim;
	d->checked = seen;
	memcpy(d->hex, hex, CACHE_KEY_LEN + 1);
	pthread_mutex_unlock(&digests_lock);
	return 0;
}

static void
add_source(struct plan *p, const char *label, const char *path)
{
	p->sources = xreallocarray(p->sources, p->nsources + 1,
	    sizeof *p->sources);
	p->sources[p->nsources].label = xstrdup(label);
	p->sources[p->nsources].path = xstrdup(path);
	p->nsources++;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The siblings of scripts as last listed, for a quick plan. */
struct siblings {
	char *script;
	char **paths;
	size_t n;
	struct seen seen;
};

static pthread_mutex_t siblings_lock = PTHREAD_MUTEX_INITIALIZER;
static struct siblings siblings_seen[64];
static size_t nsiblings_seen, next_siblings;

/* Add the siblings of `script` listed in the last second: false if they
 * were not. */
static bool
add_siblings_seen(struct plan *p, const char *script)
{
	bool found = false;

	pthread_mutex_lock(&siblings_lock);
	for (size_t i = 0; i < nsiblings_seen && !found; i++) {
		struct siblings *sb = &siblings_seen[i];
		if (strcmp(sb->script, script) != 0 ||
		    !seen_recently(&sb->seen))
			continue;
		for (size_t j = 0; j < sb->n; j++)
			add_source(p, "sibling", sb->paths[j]);
		found = true;
	}
	pthread_mutex_unlock(&siblings_lock);
	return found;
}

/* Remember the siblings of `script`: the plan's sources from `first`,
 * listed when `seen` says. */
static void
siblings_listed(const struct plan *p, size_t first, const char *script,
    struct seen seen)
{
	struct siblings *sb = NULL;

	pthread_mutex_lock(&siblings_lock);
	for (size_t i = 0; i < nsiblings_seen && sb == NULL; i++) {
		if (strcmp(siblings_seen[i].script, script) == 0)
			sb = &siblings_seen[i];
	}
	if (sb == NULL) {
		if (nsiblings_seen < PF_ARRAY_LEN(siblings_seen))
			sb = &siblings_seen[nsiblings_seen++];
		else {
			sb = &siblings_seen[next_siblings];
			next_siblings = (next_siblings + 1) %
			    PF_ARRAY_LEN(siblings_seen);
			free(sb->script);
		}
		sb->script = xstrdup(script);
	} else {
		for (size_t j = 0; j < sb->n; j++)
			free(sb->paths[j]);
	}
	free(sb->paths);
	sb->n = p->nsources - first;
	sb->paths = xcalloc(sb->n + 1, sizeof *sb->paths);
	for (size_t j = 0; j < sb->n; j++)
		sb->paths[j] = xstrdup(p->sources[first + j].path);
	sb->seen = seen;
	pthread_mutex_unlock(&siblings_lock);
}

/*
 * The script and its siblings with the same extension: a module may
 * include or import them.  The script is a real path inside the library
 * (base.c resolved it).  A sibling that is a link is followed only when it
 * stays inside the library: one leading out is skipped unread, silently
 * here since this runs for every part (loading the library warned once).
 */
static void
add_script_and_siblings(struct plan *p, const char *root, const char *script,
    bool quick)
{
	const char *slash = strrchr(script, '/');
	const char *ext = strrchr(script, '.');
	size_t rootlen = root != NULL ? strlen(root) : 0;
	struct seen seen = seen_now();
	char **names = NULL, *rel;
	const char *reldir;
	size_t n = 0, first;
	struct dirent *de;
	DIR *dp;
	int fd;

	add_source(p, "script", script);
	first = p->nsources;
	if (quick && add_siblings_seen(p, script))
		return;
	if (ext == NULL || ext < slash || root == NULL ||
	    strncmp(script, root, rootlen) != 0 ||
	    script[rootlen] != '/' || slash <= script + rootlen)
		return;
	reldir = script + rootlen + 1;
	rel = xstrndup(reldir, (size_t)(slash - reldir));
	dp = opendir_beneath(root, rel);
	free(rel);
	if (dp == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		struct stat st;
		if (de->d_name[0] == '.' || !str_has_suffix(de->d_name, ext) ||
		    strcmp(de->d_name, slash + 1) == 0)
			continue;
		if (de->d_type != DT_REG) {
			/* a link (or unknown): a regular file inside */
			bool ok;
			rel = xasprintf("%.*s/%s", (int)(slash - reldir),
			    reldir, de->d_name);
			fd = open_beneath(root, rel, O_PATH, NULL, NULL);
			ok = fd != -1 && fstat(fd, &st) == 0 &&
			    S_ISREG(st.st_mode);
			if (fd != -1)
				close(fd);
			free(rel);
			if (!ok)
				continue;
		}
		names = xreallocarray(names, n + 1, sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(dp);
	if (n > 1)
		qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%.*s/%s", (int)(slash - script), script,
		    names[i]);
		add_source(p, "sibling", path);
		free(path);
		free(names[i]);
	}
	free(names);
	siblings_listed(p, first, script, seen);
}

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

/* An OpenSCAD literal for a value: strings escaped, null as undef. */
static char *
scad_literal(const struct value *v)
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

static const char *
missing_package(enum generator k)
{
	return k == GEN_OPENSCAD ? "openscad" : k == GEN_FREECAD ?
	    "freecad-python3" : NULL;
}

void
plan_clear(struct plan *p)
{
	free(p->path);
	free(p->coll);
	free(p->cls);
	free(p->label);
	free(p->script);
	free(p->entry);
	for (size_t i = 0; i < p->nargs; i++)
		free(p->args[i]);
	free(p->args);
	json_decref(p->params);
	free(p->program);
	free(p->version);
	for (size_t i = 0; i < p->nsources; i++) {
		free(p->sources[i].label);
		free(p->sources[i].path);
	}
	free(p->sources);
	memset(p, 0, sizeof *p);
}

static int
compute_key(const struct exec_env *env, struct plan *p,
    const struct pset *ps, const struct value *vals, bool quick,
    struct perr *e)
{
	struct keyhash *h = keyhash_new();
	struct buf b = BUF_INIT;
	char hex[CACHE_KEY_LEN + 1];
	int r;

	keyhash_add_str(h, "schema", CACHE_SCHEMA);
	keyhash_add_str(h, "format", format_ext(p->fmt));
	keyhash_add_str(h, "native", format_ext(p->native));
	keyhash_add_str(h, "executor", generator_name(p->kind));
	if (p->cmd != NULL) {
		keyhash_add_str(h, "command", p->cmd->name);
		for (size_t i = 0; i < p->cmd->argc; i++)
			keyhash_add_str(h, "argv", p->cmd->argv[i]);
	}
	keyhash_add_str(h, "version", p->version != NULL ? p->version : "");
	keyhash_add_str(h, "entry", p->entry != NULL ? p->entry : "");
	for (size_t i = 0; i < p->nargs; i++)
		keyhash_add_str(h, "arg", p->args[i]);
	for (size_t i = 0; i < p->nsources; i++) {
		if ((r = source_digest(p->sources[i].path, hex, quick)) != 0) {
			keyhash_final(h, &p->key);
			buf_free(&b);
			return perr_set(e, -r, "cannot read %s: %s",
			    p->sources[i].path, strerror(-r));
		}
		keyhash_add_str(h, p->sources[i].label, hex);
		memcpy(p->sources[i].digest, hex, sizeof hex);
	}
	for (size_t i = 0; i < ps->nparams; i++) {
		/* name:type:kind:value */
		buf_reset(&b);
		buf_adds(&b, ps->params[i].name);
		buf_addc(&b, ':');
		buf_adds(&b, ptype_name(ps->params[i].type));
		buf_addc(&b, ':');
		buf_addc(&b, (char)('0' + (int)vals[i].kind));
		buf_addc(&b, ':');
		value_canon(&vals[i], &b);
		keyhash_add(h, "param", b.p, b.len);
	}
	keyhash_add_str(h, "label", p->label);
	if (p->convert)
		keyhash_add_str(h, "converter", PACKAGE_VERSION);
	(void)env;
	keyhash_final(h, &p->key);
	buf_free(&b);
	return 0;
}

int
plan_sources_check(const struct exec_env *env, const struct plan *p,
    struct perr *e)
{
	char hex[CACHE_KEY_LEN + 1];
	int fd;

	for (size_t i = 0; i < p->nsources; i++) {
		const struct exec_source *s = &p->sources[i];
		/* those of the library (not the driver, not an absolute
		 * prelude) must still be inside it */
		if (env->root != NULL && path_beneath(s->path, env->root)) {
			fd = open_inside(env->root, s->path, O_PATH);
			if (fd == -1 && (errno == EXDEV || errno == ELOOP))
				return perr_set(e, EXDEV, "%s leads outside the "
				    "library now; nothing was stored",
				    s->path);
			if (fd != -1)
				close(fd);
		}
		if (source_digest(s->path, hex, false) != 0 ||
		    strcmp(hex, s->digest) != 0)
			return perr_set(e, ESTALE, "%s changed while the part "
			    "was being made; nothing was stored", s->path);
	}
	return 0;
}

/* The program maker `m` of class `cls` runs, as configured (not yet
 * found on PATH), and for a command executor its entry in *cmd. */
static const char *
maker_program(const struct conf *conf, const struct pclass *cls,
    const struct maker *m, const struct conf_command **cmd)
{
	*cmd = NULL;
	switch (m->kind) {
	case GEN_OPENSCAD:
		return conf->openscad;
	case GEN_FREECAD:
		return conf->freecad;
	default:
		for (size_t c = 0; c < conf->ncommands; c++) {
			if (strcmp(conf->commands[c].name,
			    cls->commands[m->index].name) == 0)
				*cmd = &conf->commands[c];
		}
		return *cmd != NULL ? (*cmd)->argv[0] : NULL;
	}
}

char *
plan_engine(const struct exec_env *env, const struct pnode *part)
{
	const struct conf_command *cmd;
	const struct maker *m;
	const char *want;

	if (part->kind != PN_PART || part->fmt == FMT_JSON ||
	    !(part->cls->formats & FMT_BIT(part->fmt)))
		return NULL;
	m = &part->cls->makers[part->fmt];
	if ((want = maker_program(env->conf, part->cls, m, &cmd)) == NULL)
		return NULL;
	/* executors differ in their version query even when they run one
	 * program */
	return xasprintf("%d %s %s", (int)m->kind,
	    cmd != NULL ? cmd->name : "-", want);
}

/* plan_make and plan_make_now; `ask`: the engine may be run for its
 * version; `quick`: what was seen in the last second stands (see
 * RECENT_NS). */
static int
plan_build(const struct exec_env *env, const struct pnode *part,
    struct plan *out, bool ask, bool quick, struct perr *e)
{
	const struct conf *conf = env->conf;
	const struct pclass *cls = part->cls;
	const struct pset *ps = part->ps;
	const struct maker *m;
	struct value *vals;
	struct buf b = BUF_INIT;
	const char *want;
	bool unknown = false;
	int r;

	memset(out, 0, sizeof *out);
	if (part->kind != PN_PART || part->fmt == FMT_JSON ||
	    !(cls->formats & FMT_BIT(part->fmt)))
		return perr_set(e, ENOENT, "nothing makes this part");
	m = &cls->makers[part->fmt];
	vals = xcalloc(ps->nparams + 1, sizeof *vals);
	if ((r = pset_collect(ps, part->free, vals, e)) != 0) {
		free(vals);
		return r;
	}
	out->fmt = part->fmt;
	out->convert = m->convert;
	out->native = m->convert ? FMT_STL : part->fmt;
	pnode_path(part, &b);
	out->path = buf_steal(&b);
	out->coll = xstrdup(cls->coll->id);
	out->cls = xstrdup(cls->id);
	class_label(cls, ps, vals, false, &b);
	out->label = buf_steal(&b);
	/* the values the engine gets: lengths in mm */
	out->params = json_object();
	for (size_t i = 0; i < ps->nparams; i++) {
		struct value v = vals[i];
		if (ps->params[i].type == PT_LENGTH_IN && v.kind == V_NUM)
			v.u.num *= 25.4;
		vals[i] = v;
		json_object_set_new(out->params, ps->params[i].name,
		    value_to_json(&v));
	}
	switch (m->kind) {
	case GEN_OPENSCAD:
		out->kind = GEN_OPENSCAD;
		out->script = xstrdup(cls->scad->file->path);
		out->entry = xstrdup(cls->scad->module);
		out->nargs = cls->scad->nargs;
		out->args = xcalloc(out->nargs + 1, sizeof *out->args);
		for (size_t i = 0; i < out->nargs; i++)
			out->args[i] = scad_literal(&vals[pset_find(ps,
			    cls->scad->args[i])]);
		add_script_and_siblings(out, env->root, out->script,
		    quick);
		for (size_t i = 0; i < conf->nopenscad_include; i++) {
			const char *inc = conf->openscad_include[i];
			char *path;
			if (inc[0] != '/' && env->root != NULL &&
			    (r = check_inside(env->root, inc, e)) != 0) {
				free(vals);
				plan_clear(out);
				return r;
			}
			path = inc[0] == '/' ? xstrdup(inc) :
			    xasprintf("%s/%s", env->root, inc);
			add_source(out, "include", path);
			free(path);
		}
		break;
	case GEN_FREECAD:
		out->kind = GEN_FREECAD;
		out->script = xstrdup(cls->freecad->file->path);
		out->entry = xstrdup(cls->freecad->function);
		add_script_and_siblings(out, env->root, out->script,
		    quick);
		add_source(out, "driver", conf->freecad_driver);
		break;
	default:
		out->kind = GEN_COMMAND;
		out->script = xstrdup(cls->commands[m->index].file->path);
		out->entry = xstrdup(cls->commands[m->index].name);
		add_script_and_siblings(out, env->root, out->script,
		    quick);
		break;
	}
	/* loading keeps only classes of configured commands: never NULL */
	want = maker_program(conf, cls, m, &out->cmd);
	free(vals);
	vals = NULL;
	if (want == NULL ||
	    (out->program = find_program(want, quick)) == NULL) {
		if (want == NULL)
			want = "?";
		const char *pkg = missing_package(out->kind);
		r = pkg != NULL ? perr_set(e, ENOEXEC, "%s: the %s engine '%s' "
		    "is not installed (Debian package %s: apt-get install %s)",
		    out->path, generator_name(out->kind), want, pkg, pkg) :
		    perr_set(e, ENOEXEC, "%s: the %s engine '%s' is not "
		    "installed or not on PATH", out->path, out->entry, want);
		plan_clear(out);
		return r;
	}
	if (out->kind == GEN_FREECAD) {
		char *argv[] = { out->program, conf->freecad_driver, NULL };
		out->version = version_of(env, out->program, argv,
		    "PARTSFS_VERSION=1", ask, quick, &unknown);
	} else if (out->cmd != NULL && out->cmd->version_argv == NULL)
		/* a command engine without a version command is not run to
		 * ask (it may not know --version): its program's identity
		 * stands for its version, and a new program changes it */
		out->version = program_identity(out->program, quick);
	else
		out->version = version_of(env, out->program,
		    out->cmd != NULL ? out->cmd->version_argv : NULL, NULL,
		    ask, quick, &unknown);
	if (unknown) {
		r = perr_set(e, EWOULDBLOCK, "%s: the version of %s is not "
		    "known yet", out->path, out->program);
		plan_clear(out);
		return r;
	}
	vals = xcalloc(ps->nparams + 1, sizeof *vals);
	pset_collect(ps, part->free, vals, NULL);
	r = compute_key(env, out, ps, vals, quick, e);
	free(vals);
	if (r != 0)
		plan_clear(out);
	return r;
}

int
plan_make(const struct exec_env *env, const struct pnode *part,
    struct plan *out, struct perr *e)
{
	return plan_build(env, part, out, true, false, e);
}

int
plan_make_now(const struct exec_env *env, const struct pnode *part,
    struct plan *out, struct perr *e)
{
	return plan_build(env, part, out, false, false, e);
}

int
plan_key_recent(const struct exec_env *env, const struct pnode *part,
    struct cache_key *key)
{
	struct plan plan;
	int r;

	if ((r = plan_build(env, part, &plan, false, true, NULL)) != 0)
		return r;
	*key = plan.key;
	plan_clear(&plan);
	return 0;
}
