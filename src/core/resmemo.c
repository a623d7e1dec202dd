/* resmemo.c -- the resolution memo: a part path's cache key, remembered in
 * the cache index with the stat(2) state of the files it came from, so
 * that a warm `partsctl get` skips loading the library. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "partsfs/core/resmemo.h"
#include "partsfs/util/util.h"

/* A file changed this recently (seconds) may change again within the same
 * tick of the file system's clock: too soon to remember it. */
#define RACY_SECONDS 2.0
/* The library's tree is walked this deep and this far, no further: a
 * bigger one (or a loop of links) is not remembered. */
#define MAX_DEPTH 8
#define MAX_FILES 20000

/* The memo's format: a new one starts afresh. */
#define MEMO_FORMAT "1"

struct dep {
	char *path;
	char *fp;
};

struct resmemo_snap {
	char *root;
	struct timespec taken;
	bool racy;
	bool failed;
	struct dep *v;
	size_t n, cap;
};

static double
ts_seconds(const struct timespec *t)
{
	return (double)t->tv_sec + (double)t->tv_nsec / 1e9;
}

/* The state of a path as text ("-" when it is missing), and whether it
 * changed at or after `since`. */
static char *
fingerprint(const char *path, double since, bool *recent, mode_t *mode)
{
	struct keyhash *h;
	struct cache_key k;
	struct stat st;
	char text[160];

	if (stat(path, &st) == -1) {
		if (mode != NULL)
			*mode = 0;
		return xstrdup(errno == ENOENT || errno == ENOTDIR ? "-" : "?");
	}
	if (mode != NULL)
		*mode = st.st_mode;
	if (recent != NULL && (ts_seconds(&st.st_mtim) >= since ||
	    ts_seconds(&st.st_ctim) >= since))
		*recent = true;
	/* kept short: 64 bits of a digest of the numbers */
	h = keyhash_new();
	snprintf(text, sizeof text, "%ju:%ju:%jo:%jd:%lld.%09ld:%lld.%09ld",
	    (uintmax_t)st.st_dev, (uintmax_t)st.st_ino,
	    (uintmax_t)st.st_mode, (intmax_t)st.st_size,
	    (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
	    (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	keyhash_add_str(h, "stat", text);
	keyhash_final(h, &k);
	return xstrndup(k.hex, 16);
}

static void
snap_add(struct resmemo_snap *s, const char *path, mode_t *mode)
{
	double since = ts_seconds(&s->taken) - RACY_SECONDS;

	if (s->n == MAX_FILES) {
		s->failed = true;
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 32;
		s->v = xreallocarray(s->v, s->cap, sizeof *s->v);
	}
	s->v[s->n].path = xstrdup(path);
	s->v[s->n].fp = fingerprint(path, since, &s->racy, mode);
	/* an unreadable entry cannot be vouched for */
	if (strcmp(s->v[s->n].fp, "?") == 0)
		s->failed = true;
	s->n++;
}

/* A directory and everything under it, in name order. */
static void
snap_walk(struct resmemo_snap *s, const char *dir, int depth)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	mode_t mode;
	DIR *d;

	snap_add(s, dir, &mode);
	if (!S_ISDIR(mode) || s->failed)
		return;
	if (depth == MAX_DEPTH || (d = opendir(dir)) == NULL) {
		s->failed = true;
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = xreallocarray(names, cap, sizeof *names);
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof *names, str_ptr_cmp);
	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		if (!s->failed) {
			struct stat st;
			if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
				snap_walk(s, path, depth + 1);
			else
				snap_add(s, path, NULL);
		}
		free(path);
		free(names[i]);
	}
	free(names);
}

struct resmemo_snap *
resmemo_snap(const char *root, const struct conf *conf)
{
	/* and where BOLTS's OpenSCAD helpers would be (openscad_preludes) */
	static const char *const dbs[] = { "data", "openscad", "freecad",
	    "drawings", "backends/openscad" };
	struct resmemo_snap *s = xcalloc(1, sizeof *s);

	s->root = xstrdup(root);
	clock_gettime(CLOCK_REALTIME, &s->taken);
	snap_add(s, root, NULL);
	for (size_t i = 0; i < PF_ARRAY_LEN(dbs) && !s->failed; i++) {
		char *dir = xasprintf("%s/%s", root, dbs[i]);
		snap_walk(s, dir, 0);
		free(dir);
	}
	for (size_t i = 0; i < conf->ncommands && !s->failed; i++) {
		char *dir = xasprintf("%s/%s", root, conf->commands[i].name);
		snap_walk(s, dir, 0);
		free(dir);
	}
	if (s->failed) {
		resmemo_snap_free(s);
		return NULL;
	}
	return s;
}

void
resmemo_snap_free(struct resmemo_snap *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].path);
		free(s->v[i].fp);
	}
	free(s->v);
	free(s->root);
	free(s);
}

static bool
snap_same(const struct resmemo_snap *a, const struct resmemo_snap *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		if (strcmp(a->v[i].path, b->v[i].path) != 0 ||
		    strcmp(a->v[i].fp, b->v[i].fp) != 0)
			return false;
	}
	return true;
}

/* Names. */

static void
add_strv(struct keyhash *h, const char *label, char *const *v, size_t n)
{
	char count[32];

	snprintf(count, sizeof count, "%zu", n);
	keyhash_add_str(h, label, count);
	for (size_t i = 0; i < n; i++)
		keyhash_add_str(h, label, v[i]);
}

static void
add_int(struct keyhash *h, const char *label, long long v)
{
	char text[32];

	snprintf(text, sizeof text, "%lld", v);
	keyhash_add_str(h, label, text);
}

/* The memo of the library at `root` under this configuration: every
 * setting that can change which makers a class has, which parts exist,
 * or a key. */
static char *
lib_name(const char *root, const struct conf *conf)
{
	struct keyhash *h = keyhash_new();
	struct cache_key k;
	char max[40];

	keyhash_add_str(h, "memo", MEMO_FORMAT);
	keyhash_add_str(h, "version", PACKAGE_VERSION);
	keyhash_add_str(h, "root", root);
	keyhash_add_str(h, "openscad", conf->openscad ? conf->openscad : "");
	add_strv(h, "include", conf->openscad_include,
	    conf->nopenscad_include);
	add_int(h, "include_set", conf->openscad_include_set);
	add_int(h, "openscad_allow", conf->openscad_allow);
	add_strv(h, "png", conf->png_wrapper, conf->npng_wrapper);
	add_int(h, "openscad_cost", conf->openscad_cost);
	keyhash_add_str(h, "freecad", conf->freecad ? conf->freecad : "");
	keyhash_add_str(h, "driver",
	    conf->freecad_driver ? conf->freecad_driver : "");
	add_int(h, "freecad_cost", conf->freecad_cost);
	keyhash_add_str(h, "converter",
	    conf->converter ? conf->converter : "");
	keyhash_add_str(h, "model", conf->model);
	for (size_t i = 0; i < conf->nmodels; i++) {
		keyhash_add_str(h, "models.id", conf->models[i].id);
		keyhash_add_str(h, "models.engine", conf->models[i].engine);
	}
	snprintf(max, sizeof max, "%.17g", conf->value_max);
	keyhash_add_str(h, "value_max", max);
	add_int(h, "commands", (long long)conf->ncommands);
	for (size_t i = 0; i < conf->ncommands; i++) {
		const struct conf_command *cmd = &conf->commands[i];
		size_t nv = 0;
		while (cmd->version_argv != NULL &&
		    cmd->version_argv[nv] != NULL)
			nv++;
		keyhash_add_str(h, "command", cmd->name);
		add_strv(h, "argv", cmd->argv, cmd->argc);
		add_strv(h, "version_argv", cmd->version_argv, nv);
		add_int(h, "formats", cmd->formats);
		add_int(h, "cost", cmd->cost);
	}
	keyhash_final(h, &k);
	return xasprintf(CACHE_MEMO_SPARE "resolve-lib:%s", k.hex);
}

static char *
part_name(const char *libname, const char *path)
{
	struct keyhash *h = keyhash_new();
	struct cache_key k;

	keyhash_add_str(h, "library", libname);
	keyhash_add_str(h, "path", path);
	keyhash_final(h, &k);
	return xasprintf(CACHE_MEMO_SPARE "resolve-part:%s", k.hex);
}

static const char *
env_path(void)
{
	const char *p = getenv("PATH");

	return p != NULL && p[0] != '\0' ? p : "/usr/local/bin:/usr/bin:/bin";
}

/* Stored values. */

static json_t *
deps_json(const struct dep *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("[ss]", v[i].path,
		    v[i].fp));
	return a;
}

/* Every [path, fingerprint] of `a` holds now. */
static bool
deps_hold(const json_t *a)
{
	size_t i;
	json_t *el;

	if (!json_is_array(a))
		return false;
	json_array_foreach(a, i, el) {
		const char *path = json_string_value(json_array_get(el, 0));
		const char *fp = json_string_value(json_array_get(el, 1));
		char *now;
		bool same;
		if (path == NULL || fp == NULL)
			return false;
		now = fingerprint(path, 0, NULL, NULL);
		same = strcmp(now, fp) == 0;
		free(now);
		if (!same)
			return false;
	}
	return true;
}

static json_t *
memo_json(struct cache *c, const char *name)
{
	char *text = cache_memo_get(c, name);
	json_t *j;

	if (text == NULL)
		return NULL;
	j = json_loads(text, 0, NULL);
	free(text);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static bool
key_from_hex(const char *hex, struct cache_key *key)
{
	if (hex == NULL || strlen(hex) != CACHE_KEY_LEN ||
	    strspn(hex, "0123456789abcdef") != CACHE_KEY_LEN)
		return false;
	memcpy(key->hex, hex, CACHE_KEY_LEN + 1);
	return true;
}

/* The part's memo was written for the library state of `lib`'s. */
static bool
memos_agree(const json_t *lib, const json_t *part)
{
	return json_is_string(json_object_get(lib, "stamp")) &&
	    json_equal(json_object_get(lib, "stamp"),
	    json_object_get(part, "library"));
}

/* The two memos agree, the part's was written under this PATH and every
 * file either names is as it was: true with *key set. */
static bool
memos_hold(const json_t *lib, const json_t *part, struct cache_key *key)
{
	return memos_agree(lib, part) &&
	    json_is_string(json_object_get(part, "PATH")) &&
	    strcmp(json_string_value(json_object_get(part, "PATH")),
	    env_path()) == 0 &&
	    deps_hold(json_object_get(lib, "files")) &&
	    deps_hold(json_object_get(part, "files")) &&
	    key_from_hex(json_string_value(json_object_get(part, "key")), key);
}

bool
resmemo_lookup(struct cache *c, const char *root, const char *path,
    const struct conf *conf, struct cache_key *key)
{
	char *lname = lib_name(root, conf), *pname = part_name(lname, path);
	json_t *part = memo_json(c, pname), *lib = NULL;
	bool ok = part != NULL && (lib = memo_json(c, lname)) != NULL &&
	    memos_hold(lib, part, key);

	json_decref(part);
	json_decref(lib);
	free(pname);
	free(lname);
	return ok;
}

static void fast_write(const char *cache_dir, const char *lname,
    const char *pname, json_t *lib, json_t *part,
    const struct cache_entry *made);

/* The stamp of a library state: a digest of its fingerprints. */
static void
snap_stamp(const struct resmemo_snap *s, struct cache_key *out)
{
	struct keyhash *h = keyhash_new();

	for (size_t i = 0; i < s->n; i++) {
		keyhash_add_str(h, "path", s->v[i].path);
		keyhash_add_str(h, "fp", s->v[i].fp);
	}
	keyhash_final(h, out);
}

struct resmemo_rec {
	struct core *core;
	const struct resmemo_snap *before;
	char *path;
	/* what was recorded, once it was */
	bool recorded;
	struct cache_key key;
	char *lname, *pname;
	json_t *lib, *part;
};

struct resmemo_rec *
resmemo_begin(struct core *core, const struct resmemo_snap *before,
    const char *path)
{
	struct resmemo_rec *rec;

	if (before == NULL || before->racy)
		return NULL;
	rec = xcalloc(1, sizeof *rec);
	rec->core = core;
	rec->before = before;
	rec->path = xstrdup(path);
	return rec;
}

/* What rec recorded, forgotten (its memos in the index stay). */
static void
rec_clear(struct resmemo_rec *rec)
{
	json_decref(rec->part);
	json_decref(rec->lib);
	free(rec->pname);
	free(rec->lname);
	rec->part = rec->lib = NULL;
	rec->pname = rec->lname = NULL;
	rec->recorded = false;
}

/* Remember in the index that rec's path resolved to plan `p`, unless it
 * already did (see resmemo_plan). */
static void
record(struct resmemo_rec *rec, const struct plan *p)
{
	const struct resmemo_snap *before = rec->before;
	struct cache *c = rec->core->cache;
	const struct conf *conf = rec->core->conf;
	struct resmemo_snap *after, extra = { 0 };
	struct cache_key stamp;
	char *dirs, *save = NULL, *text;

	if (p == NULL || p->version_pending ||
	    (rec->recorded && strcmp(rec->key.hex, p->key.hex) == 0))
		return;
	rec_clear(rec);
	/* the library read in between was the one snapped */
	if ((after = resmemo_snap(before->root, conf)) == NULL)
		return;
	if (!snap_same(before, after)) {
		resmemo_snap_free(after);
		return;
	}
	resmemo_snap_free(after);

	/* the part's own: its engine, where PATH found it, what its key
	 * digests */
	extra.taken = before->taken;
	if (p->program != NULL)
		snap_add(&extra, p->program, NULL);
	dirs = xstrdup(env_path());
	for (char *d = strtok_r(dirs, ":", &save); d != NULL;
	    d = strtok_r(NULL, ":", &save))
		snap_add(&extra, d, NULL);
	free(dirs);
	for (size_t i = 0; i < p->nsources; i++)
		snap_add(&extra, p->sources[i].path, NULL);
	if (extra.racy || extra.failed)
		goto done;

	rec->lname = lib_name(before->root, conf);
	rec->pname = part_name(rec->lname, rec->path);
	snap_stamp(before, &stamp);
	rec->lib = memo_json(c, rec->lname);
	if (rec->lib == NULL ||
	    !json_is_string(json_object_get(rec->lib, "stamp")) ||
	    strcmp(json_string_value(json_object_get(rec->lib, "stamp")),
	    stamp.hex) != 0) {
		json_decref(rec->lib);
		rec->lib = json_pack("{ss so}", "stamp", stamp.hex, "files",
		    deps_json(before->v, before->n));
		text = json_dumps(rec->lib, JSON_COMPACT);
		cache_memo_set(c, rec->lname, text);
		free(text);
	}
	if (cache_memo_count(c, CACHE_MEMO_SPARE "resolve-part:") >=
	    RESMEMO_MAX_PARTS)
		cache_memo_drop(c, CACHE_MEMO_SPARE "resolve-part:");
	rec->part = json_pack("{ss ss ss so}", "library", stamp.hex, "key",
	    p->key.hex, "PATH", env_path(), "files",
	    deps_json(extra.v, extra.n));
	text = json_dumps(rec->part, JSON_COMPACT);
	cache_memo_set(c, rec->pname, text);
	free(text);
	rec->key = p->key;
	rec->recorded = true;
done:
	for (size_t i = 0; i < extra.n; i++) {
		free(extra.v[i].path);
		free(extra.v[i].fp);
	}
	free(extra.v);
}

void
resmemo_plan(struct resmemo_rec *rec, struct fetch *f)
{
	struct plan p = { 0 };

	if (rec == NULL || !fetch_plan_copy(f, &p))
		return;
	record(rec, &p);
	plan_clear(&p);
}

void
resmemo_end(struct resmemo_rec *rec, struct fetch *f)
{
	const struct plan *p;
	const struct stat *st;
	struct cache_entry made = { 0 };

	if (rec == NULL)
		return;
	if (f != NULL && (p = fetch_plan(f)) != NULL) {
		/* (planned again meanwhile, or its key known only now) */
		record(rec, p);
		if (rec->recorded && (st = fetch_stat(f)) != NULL) {
			made.fmt = p->fmt;
			made.size = (uint64_t)st->st_size;
			fast_write(rec->core->conf->cache_dir, rec->lname,
			    rec->pname, rec->lib, rec->part, &made);
		}
	}
	rec_clear(rec);
	free(rec->path);
	free(rec);
}

/*
 * Memo files.  What the index's two memos say of a part is also kept in
 * two small files of the cache directory, with the part's format and
 * size, so that a warm get need not open the index at all (opening it
 * is most of such a get).  A part file vouches for its part only
 * FAST_FRESH seconds after it was written, since a get it serves does
 * not mark the part used in the index: the next get after that goes
 * through the index, which marks it, and writes the file again.  The
 * blob is opened and its size checked: a part evicted or removed sends
 * the get back to the index, and so does any change to the files.
 */

#define FAST_FORMAT "1"
#define FAST_FRESH 60.0
/* No memo file is read past this size. */
#define FAST_MAX (8 << 20)

static double
wall_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return ts_seconds(&t);
}

/* The file of memo `name` (its last part is a digest), in `cache_dir`. */
static char *
fast_path(const char *cache_dir, const char *kind, const char *name)
{
	char *dir = cache_memo_dir(cache_dir);
	char *p = xasprintf("%s/%s-%s.json", dir, kind, strrchr(name, ':') + 1);

	free(dir);
	return p;
}

static json_t *
fast_load(const char *path)
{
	struct stat st;
	json_t *j = NULL;
	FILE *f;

	if ((f = fopen(path, "re")) == NULL)
		return NULL;
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size <= FAST_MAX)
		j = json_loadf(f, 0, NULL);
	fclose(f);
	if (j != NULL && (!json_is_object(j) || !json_is_string(
	    json_object_get(j, "format")) || strcmp(json_string_value(
	    json_object_get(j, "format")), FAST_FORMAT) != 0)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* Write j as `path`, whole or not at all (renamed into place; not synced:
 * a file lost in a crash only costs a get through the index), in one
 * write: jansson's own writer to a descriptor makes a call per token. */
static void
fast_save(const char *cache_dir, const char *path, json_t *j)
{
	char *dir = cache_memo_dir(cache_dir), *tmp, *text;
	int fd, ok;

	json_object_set_new(j, "format", json_string(FAST_FORMAT));
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		free(dir);
		return;
	}
	if ((text = json_dumps(j, JSON_COMPACT)) == NULL) {
		free(dir);
		return;
	}
	tmp = xasprintf("%s/.new-XXXXXX", dir);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) != -1) {
		ok = fchmod(fd, 0644) == 0 &&
		    write_all(fd, text, strlen(text)) == 0;
		if (close(fd) != 0 || !ok || rename(tmp, path) == -1)
			unlink(tmp);
	}
	free(text);
	free(tmp);
	free(dir);
}

int
resmemo_fast_open(const char *root, const char *path,
    const struct conf *conf, struct cache_key *key)
{
	char *lname, *pname, *ppath, *lpath, *blob;
	json_t *part, *lib = NULL;
	json_int_t fmt, size;
	struct stat st;
	double used, now = wall_seconds();
	int fd = -1;

	if (conf->cache_dir == NULL || conf->cache_dir[0] != '/')
		return -1;
	lname = lib_name(root, conf);
	pname = part_name(lname, path);
	ppath = fast_path(conf->cache_dir, "part", pname);
	lpath = fast_path(conf->cache_dir, "lib", lname);
	if ((part = fast_load(ppath)) == NULL)
		goto out;
	used = json_number_value(json_object_get(part, "used"));
	fmt = json_integer_value(json_object_get(part, "fmt"));
	size = json_integer_value(json_object_get(part, "size"));
	/* fresh, and not from the future (a clock set back) */
	if (!(now - used <= FAST_FRESH && used <= now + 1.0) ||
	    fmt < 0 || fmt >= FMT__COUNT || fmt == FMT_JSON || size <= 0)
		goto out;
	if ((lib = fast_load(lpath)) == NULL || !memos_hold(lib, part, key))
		goto out;
	blob = cache_blob_path_in(conf->cache_dir, key, (enum format)fmt);
	fd = cache_blob_open(blob, &st);
	free(blob);
	/* a blob changed since is not served: its hash, recorded with the
	 * size, is checked (without the index, at each get) */
	if (fd != -1 && (!S_ISREG(st.st_mode) || st.st_size != (off_t)size ||
	    !cache_blob_intact(fd, (uint64_t)size, json_string_value(
	    json_object_get(part, "sha256"))))) {
		close(fd);
		fd = -1;
	}
out:
	json_decref(part);
	json_decref(lib);
	free(ppath);
	free(lpath);
	free(pname);
	free(lname);
	return fd;
}

/*
 * A part file older than FAST_FRESH vouches for nothing any more, and one
 * left half-written (.new-*) by a crash is of no use: they are removed,
 * at most once a FAST_FRESH per cache (memo/.swept holds the time of the
 * last sweep), so that memo/ keeps only the parts got in the last minutes
 * and its size stays small beside the blobs the cache counts.
 */
static void
fast_sweep(const char *cache_dir)
{
	char *dir = cache_memo_dir(cache_dir);
	char *mark = xasprintf("%s/.swept", dir);
	double now = wall_seconds(), t;
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;
	int fd;

	/* swept in the last minute (and not in the future) */
	if (stat(mark, &st) == 0 && (t = ts_seconds(&st.st_mtim)) <=
	    now + 1.0 && now - t < FAST_FRESH)
		goto out;
	if ((fd = open(mark, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0644)) == -1)
		goto out;
	futimens(fd, NULL);
	close(fd);
	if ((d = opendir(dir)) == NULL)
		goto out;
	while ((de = readdir(d)) != NULL) {
		if (!str_has_prefix(de->d_name, "part-") &&
		    !str_has_prefix(de->d_name, ".new-"))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == 0 &&
		    now - ts_seconds(&st.st_mtim) > FAST_FRESH)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
out:
	free(mark);
	free(dir);
}

/* Write the memo files of the memos `lib` and `part` (which gets the
 * entry's format and size, and the time), for the part `made`. */
static void
fast_write(const char *cache_dir, const char *lname, const char *pname,
    json_t *lib, json_t *part, const struct cache_entry *made)
{
	char *ppath, *lpath;
	json_t *old;

	if (cache_dir == NULL || cache_dir[0] != '/')
		return;
	ppath = fast_path(cache_dir, "part", pname);
	lpath = fast_path(cache_dir, "lib", lname);
	/* the library's file is written again only when it changed */
	old = fast_load(lpath);
	if (old == NULL || !json_equal(json_object_get(old, "stamp"),
	    json_object_get(lib, "stamp")))
		fast_save(cache_dir, lpath, lib);
	json_decref(old);
	json_object_set_new(part, "fmt", json_integer(made->fmt));
	json_object_set_new(part, "size", json_integer((json_int_t)made->size));
	if (made->sha256[0] != '\0')
		json_object_set_new(part, "sha256", json_string(made->sha256));
	json_object_set_new(part, "used", json_real(wall_seconds()));
	fast_save(cache_dir, ppath, part);
	fast_sweep(cache_dir);
	free(ppath);
	free(lpath);
}

void
resmemo_fast_record(struct cache *c, const char *root, const char *path,
    const struct conf *conf, const struct cache_key *key,
    const struct cache_entry *hit)
{
	char *lname = lib_name(root, conf), *pname = part_name(lname, path);
	json_t *part = memo_json(c, pname), *lib = memo_json(c, lname);

	if (part != NULL && lib != NULL && memos_agree(lib, part) &&
	    json_is_string(json_object_get(part, "key")) &&
	    strcmp(json_string_value(json_object_get(part, "key")),
	    key->hex) == 0)
		fast_write(conf->cache_dir, lname, pname, lib, part, hit);
	json_decref(part);
	json_decref(lib);
	free(pname);
	free(lname);
}
