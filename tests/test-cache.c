/* test-cache.c -- the cache of made parts: keys, publishing and lookup, the
 * repairs at open, eviction and pins, failures, threads and a full disk. */
#include "config.h"

#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "partsfs/cache/cache.h"
#include "tap.h"

#define NO_LIMIT ((uint64_t)1 << 40)
/* A job's time limit in seconds (the default). */
#define LIMIT 120.0
#define STL_SIZE(ntri) (84 + 50 * (uint64_t)(ntri))

/* Parts of 1 MB: what the index files take (some hundred KB at most,
 * with its WAL) is less than a part, so that a limit of so many parts
 * plus INDEX_ROOM keeps exactly that many. */
#define BIG 20000
#define INDEX_ROOM ((uint64_t)512 << 10)

static struct cache_key
key_of(const char *s)
{
	struct keyhash *h = keyhash_new();
	struct cache_key k;

	keyhash_add_str(h, "test", s);
	keyhash_final(h, &k);
	return k;
}

/* A valid binary STL of `ntri` triangles whose bytes depend on `seed`. */
static void
stl_write(const char *path, unsigned ntri, unsigned seed)
{
	unsigned char head[84], tri[50];
	FILE *fp;

	if ((fp = fopen(path, "w")) == NULL)
		abort();
	memset(head, 0, sizeof head);
	snprintf((char *)head, 80, "partsfs test %u", seed);
	head[80] = (unsigned char)ntri;
	head[81] = (unsigned char)(ntri >> 8);
	head[82] = (unsigned char)(ntri >> 16);
	head[83] = (unsigned char)(ntri >> 24);
	fwrite(head, 1, sizeof head, fp);
	for (unsigned i = 0; i < ntri; i++) {
		memset(tri, (int)((seed * 31 + i) & 0xff), sizeof tri);
		fwrite(tri, 1, sizeof tri, fp);
	}
	if (fclose(fp) != 0)
		abort();
}

static unsigned
seed_of(const char *s)
{
	unsigned h = 5381;

	while (*s != '\0')
		h = h * 33 + (unsigned char)*s++;
	return h;
}

/* A finished STL in a new scratch directory of `c`, as an engine leaves
 * it; the sha256 of its bytes in `sha` when not NULL. */
static char *
scratch_stl(struct cache *c, const char *name, unsigned ntri,
    char sha[CACHE_KEY_LEN + 1])
{
	struct perr e;
	char *dir, *path;

	if ((dir = cache_scratch(c, &e)) == NULL) {
		fprintf(stderr, "%s\n", e.msg);
		abort();
	}
	path = xasprintf("%s/out.stl", dir);
	free(dir);
	stl_write(path, ntri, seed_of(name));
	if (sha != NULL && sha256_file(path, sha, NULL) != 0)
		abort();
	return path;
}

/* Publish an STL for the key of `name`. */
static int
publish(struct cache *c, const char *name, unsigned ntri, struct perr *e)
{
	struct cache_key k = key_of(name);
	struct cache_entry ent;
	char *tmp = scratch_stl(c, name, ntri, NULL);
	int r;

	r = cache_publish(c, &k, FMT_STL, tmp, name, &ent, e);
	if (r == 0)
		cache_entry_clear(&ent);
	free(tmp);
	return r;
}

/* 1 when `name` is in the cache, 0 when not, -errno. */
static int
present(struct cache *c, const char *name)
{
	struct cache_key k = key_of(name);
	struct cache_entry ent;
	int r = cache_lookup(c, &k, &ent);

	if (r == 1)
		cache_entry_clear(&ent);
	return r;
}

static char *
blob_of(const char *dir, const char *name)
{
	struct cache_key k = key_of(name);

	return xasprintf("%s/blobs/%.2s/%s.stl", dir, k.hex, k.hex);
}

static bool
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Entries of a directory besides . and .., or -1. */
static int
count_entries(const char *path)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n;
}

/* Files under blobs/<xx>/. */
static int
count_blobs(const char *dir)
{
	char *blobs = xasprintf("%s/blobs", dir), *sub;
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(blobs)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			sub = xasprintf("%s/%s", blobs, de->d_name);
			n += count_entries(sub);
			free(sub);
		}
		closedir(d);
	}
	free(blobs);
	return n;
}

/* What a file of `n` bytes takes on the file system of `dir`: whole
 * blocks. */
static uint64_t
on_disk(const char *dir, uint64_t n)
{
	struct statvfs sv;
	uint64_t b = 4096;

	if (statvfs(dir, &sv) == 0 && sv.f_frsize > 0)
		b = sv.f_frsize;
	return (n + b - 1) / b * b;
}

/* The disk space the index files of the cache in `dir` take now. */
static uint64_t
index_bytes(const char *dir)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	uint64_t n = 0;
	struct stat st;
	char *path;

	for (size_t i = 0; i < 3; i++) {
		path = xasprintf("%s/index.sqlite%s", dir, suffix[i]);
		if (stat(path, &st) == 0)
			n += (uint64_t)st.st_blocks * 512;
		free(path);
	}
	return n;
}

/* The size of the index's WAL now. */
static uint64_t
wal_size(const char *dir)
{
	char *path = xasprintf("%s/index.sqlite-wal", dir);
	struct stat st;
	uint64_t n = 0;

	if (stat(path, &st) == 0)
		n = (uint64_t)st.st_size;
	free(path);
	return n;
}

/* Copy the WAL into the index and empty it, through a connection of our
 * own, so that what the index files take is known. */
static void
wal_truncate(const char *dir)
{
	char *path = xasprintf("%s/index.sqlite", dir);
	sqlite3 *db;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		abort();
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
	    NULL, NULL) != SQLITE_OK)
		abort();
	sqlite3_close(db);
	free(path);
}

/* Run SQL on the index through a connection of our own. */
static void
index_exec(const char *dir, const char *sql)
{
	char *path = xasprintf("%s/index.sqlite", dir);
	sqlite3 *db;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		abort();
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
		abort();
	}
	sqlite3_close(db);
	free(path);
}

/*
 * Overwrite the pages of the index's tables and indexes whose name holds
 * `what`, as a disk fault would, leaving the header, the schema and the
 * other tables intact.  The cache must be closed.
 */
static void
damage_pages(const char *dir, const char *what)
{
	char *path = xasprintf("%s/index.sqlite", dir);
	int64_t roots[8], psize;
	unsigned char *page;
	sqlite3_stmt *s;
	sqlite3 *db;
	size_t n = 0;
	int fd;

	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &s, NULL) !=
	    SQLITE_OK || sqlite3_step(s) != SQLITE_ROW)
		abort();
	psize = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (sqlite3_prepare_v2(db, "SELECT name, rootpage FROM sqlite_master",
	    -1, &s, NULL) != SQLITE_OK)
		abort();
	while (sqlite3_step(s) == SQLITE_ROW && n < 8) {
		const char *name = (const char *)sqlite3_column_text(s, 0);

		if (name != NULL && strstr(name, what) != NULL)
			roots[n++] = sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
	if (n == 0)
		abort();
	page = xmalloc((size_t)psize);
	for (int64_t i = 0; i < psize; i++)
		page[i] = (unsigned char)(i * 7 + 3);
	if ((fd = open(path, O_WRONLY)) == -1)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (pwrite(fd, page, (size_t)psize, (roots[i] - 1) * psize) !=
		    psize)
			abort();
	}
	close(fd);
	free(page);
	free(path);
}

/* How many indexes were set aside in `dir`. */
static int
count_set_aside(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (str_has_prefix(de->d_name, "index.sqlite.damaged-") &&
		    !str_has_suffix(de->d_name, "-wal") &&
		    !str_has_suffix(de->d_name, "-shm"))
			n++;
	}
	closedir(d);
	return n;
}

/* What is written to stderr (the log, before log_open) while capturing:
 * capture_start, then capture_end gives it (caller frees). */
static int saved_stderr = -1;
static char *capture_path;

static void
capture_start(const char *dir)
{
	int fd;

	fflush(stderr);
	capture_path = xasprintf("%s/stderr.log", dir);
	fd = open(capture_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || (saved_stderr = dup(2)) == -1 || dup2(fd, 2) == -1)
		abort();
	close(fd);
}

static char *
capture_end(void)
{
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *fp;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	saved_stderr = -1;
	if ((fp = fopen(capture_path, "r")) == NULL)
		abort();
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		buf_add(&b, chunk, n);
	fclose(fp);
	free(capture_path);
	capture_path = NULL;
	/* and on to the real stderr, where it would have been */
	fputs(buf_str(&b), stderr);
	return buf_steal(&b);
}

static void
set_mtime_ago(const char *path, double seconds)
{
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= (time_t)seconds;
	ts[1] = ts[0];
	if (utimensat(AT_FDCWD, path, ts, 0) == -1)
		abort();
}

/* Make every entry look last used `seconds` ago, as if time had passed,
 * through a connection of our own. */
static void
age_entries(const char *dir, double seconds)
{
	char *path = xasprintf("%s/index.sqlite", dir);
	sqlite3_stmt *s;
	sqlite3 *db;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		abort();
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db, "UPDATE parts SET used = used - ?1", -1,
	    &s, NULL) != SQLITE_OK)
		abort();
	sqlite3_bind_double(s, 1, seconds);
	if (sqlite3_step(s) != SQLITE_DONE)
		abort();
	sqlite3_finalize(s);
	sqlite3_close(db);
	free(path);
}

static void
sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static double
wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Keys. */

static void
labelled_fields_do_not_collide_and_equal_input_gives_equal_keys(void)
{
	struct keyhash *h;
	struct cache_key a, b;

	h = keyhash_new();
	keyhash_add(h, "ab", "c", 1);
	keyhash_final(h, &a);
	h = keyhash_new();
	keyhash_add(h, "a", "bc", 2);
	keyhash_final(h, &b);
	CHECK(strcmp(a.hex, b.hex) != 0);

	h = keyhash_new();
	keyhash_add_str(h, "x", "ab");
	keyhash_final(h, &a);
	h = keyhash_new();
	keyhash_add_str(h, "x", "a");
	keyhash_add_str(h, "x", "b");
	keyhash_final(h, &b);
	CHECK(strcmp(a.hex, b.hex) != 0);

	h = keyhash_new();
	keyhash_add_str(h, "x", NULL);
	keyhash_final(h, &a);
	h = keyhash_new();
	keyhash_add_str(h, "x", "");
	keyhash_final(h, &b);
	CHECK(strcmp(a.hex, b.hex) != 0);

	h = keyhash_new();
	keyhash_add_str(h, "format", "stl");
	keyhash_add(h, "params", "{\"d\":8}", 7);
	keyhash_final(h, &a);
	h = keyhash_new();
	keyhash_add_str(h, "format", "stl");
	keyhash_add(h, "params", "{\"d\":8}", 7);
	keyhash_final(h, &b);
	CHECK_STR(a.hex, b.hex);
	CHECK_INT(strlen(a.hex), CACHE_KEY_LEN);
	CHECK(strspn(a.hex, "0123456789abcdef") == CACHE_KEY_LEN);
}

static void
a_field_is_hashed_as_label_nul_length_and_data(void)
{
	const char *dir = tap_tmpdir();
	char *path = xasprintf("%s/field", dir), sha[CACHE_KEY_LEN + 1];
	static const unsigned char bytes[] = {
		'l', 'b', 'l', 0, 4, 0, 0, 0, 0, 0, 0, 0, 'd', 'a', 't', 'a'
	};
	struct keyhash *h;
	struct cache_key k;
	FILE *fp;

	fp = fopen(path, "w");
	CHECK(fp != NULL);
	fwrite(bytes, 1, sizeof bytes, fp);
	fclose(fp);
	CHECK_INT(sha256_file(path, sha, NULL), 0);
	h = keyhash_new();
	keyhash_add(h, "lbl", "data", 4);
	keyhash_final(h, &k);
	CHECK_STR(k.hex, sha);
	free(path);
}

static void
sha256_file_gives_the_standard_test_vectors(void)
{
	const char *dir = tap_tmpdir();
	char sha[CACHE_KEY_LEN + 1], *path;
	FILE *fp;

	tap_write(dir, "abc", "abc");
	tap_write(dir, "empty", "");
	path = xasprintf("%s/abc", dir);
	CHECK_INT(sha256_file(path, sha, NULL), 0);
	CHECK_STR(sha, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	free(path);
	path = xasprintf("%s/empty", dir);
	CHECK_INT(sha256_file(path, sha, NULL), 0);
	CHECK_STR(sha, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	free(path);
	/* a million 'a', read in many pieces */
	path = xasprintf("%s/million", dir);
	fp = fopen(path, "w");
	CHECK(fp != NULL);
	for (int i = 0; i < 1000000; i++)
		fputc('a', fp);
	fclose(fp);
	CHECK_INT(sha256_file(path, sha, NULL), 0);
	CHECK_STR(sha, "cdc76e5c9914fb9281a1c7e284d73e67"
	    "f1809a48a497200e046d39ccc7112cd0");
	free(path);
	path = xasprintf("%s/missing", dir);
	CHECK_INT(sha256_file(path, sha, NULL), -ENOENT);
	free(path);
}

static void
sha256_file_reads_regular_files_only_and_says_which(void)
{
	const char *dir = tap_tmpdir();
	char sha[CACHE_KEY_LEN + 1], *path, *link, *fifo;
	struct stat st, want;

	tap_write(dir, "abc", "abc");
	path = xasprintf("%s/abc", dir);
	CHECK_INT(sha256_file(path, sha, &st), 0);
	CHECK_INT(stat(path, &want), 0);
	CHECK(st.st_ino == want.st_ino && st.st_size == 3);
	/* a link gives its target, and the target's stat */
	link = xasprintf("%s/link", dir);
	CHECK_INT(symlink(path, link), 0);
	CHECK_INT(sha256_file(link, sha, &st), 0);
	CHECK_STR(sha, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	CHECK(st.st_ino == want.st_ino);
	/* a FIFO is refused at once, not waited on for a writer */
	fifo = xasprintf("%s/fifo", dir);
	CHECK_INT(mkfifo(fifo, 0600), 0);
	CHECK_INT(sha256_file(fifo, sha, NULL), -EINVAL);
	CHECK_INT(sha256_file(dir, sha, NULL), -EISDIR);
	free(fifo);
	free(link);
	free(path);
}

static void
a_file_field_hashes_like_its_bytes(void)
{
	const char *dir = tap_tmpdir();
	char *path = xasprintf("%s/module.scad", dir);
	const char *text = "module m(d) { cylinder(d = d, h = 2); }\n";
	struct keyhash *h;
	struct cache_key a, b;

	tap_write(dir, "module.scad", text);
	h = keyhash_new();
	CHECK_INT(keyhash_add_file(h, "module", path), 0);
	keyhash_final(h, &a);
	h = keyhash_new();
	keyhash_add(h, "module", text, strlen(text));
	keyhash_final(h, &b);
	CHECK_STR(a.hex, b.hex);
	free(path);

	h = keyhash_new();
	path = xasprintf("%s/none.scad", dir);
	CHECK_INT(keyhash_add_file(h, "module", path), -ENOENT);
	CHECK_INT(keyhash_add_file(h, "module", dir), -EISDIR);
	keyhash_final(h, &a);
	free(path);
}

/* Publishing and lookup. */

static void
a_published_part_gives_its_bytes_back_and_survives_reopening(void)
{
	const char *dir = tap_tmpdir();
	struct cache_key k = key_of("hex_screw M8 20");
	char sha[CACHE_KEY_LEN + 1], got[CACHE_KEY_LEN + 1], *tmp;
	struct cache_entry ent, pub;
	struct cache *c;
	struct perr e;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK_MSG(c != NULL, "%s", e.msg);
	CHECK_STR(cache_dir(c), dir);
	CHECK_INT(cache_lookup(c, &k, &ent), 0);
	CHECK(ent.path == NULL);
	tmp = scratch_stl(c, "hex_screw M8 20", 12, sha);
	CHECK_MSG(cache_publish(c, &k, FMT_STL, tmp, "Hex screw M8x20", &pub,
	    &e) == 0, "%s", e.msg);
	free(tmp);
	CHECK_INT(pub.size, STL_SIZE(12));
	CHECK(pub.fmt == FMT_STL);
	CHECK_INT(cache_lookup(c, &k, &ent), 1);
	CHECK_STR(ent.path, pub.path);
	CHECK(ent.path[0] == '/');
	CHECK_INT(ent.size, STL_SIZE(12));
	CHECK(ent.fmt == FMT_STL);
	CHECK_INT(sha256_file(ent.path, got, NULL), 0);
	CHECK_STR(got, sha);
	cache_entry_clear(&ent);
	cache_entry_clear(&pub);
	CHECK(ent.path == NULL);
	cache_close(c);

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK_MSG(c != NULL, "%s", e.msg);
	CHECK_INT(cache_lookup(c, &k, &ent), 1);
	CHECK_INT(sha256_file(ent.path, got, NULL), 0);
	CHECK_STR(got, sha);
	cache_entry_clear(&ent);
	cache_close(c);
}

static void
publish_moves_the_scratch_file_into_the_cache(void)
{
	const char *dir = tap_tmpdir();
	struct cache_key k = key_of("moved");
	struct cache_entry ent;
	struct cache *c;
	struct perr e;
	struct stat st;
	char *tmp, *scratch;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK_MSG(c != NULL, "%s", e.msg);
	tmp = scratch_stl(c, "moved", 3, NULL);
	scratch = xstrndup(tmp, strrchr(tmp, '/') - tmp);
	CHECK(exists(tmp));
	CHECK_INT(cache_publish(c, &k, FMT_STL, tmp, NULL, &ent, &e), 0);
	CHECK(!exists(tmp));
	CHECK_INT(count_entries(scratch), 0);
	CHECK_INT(stat(ent.path, &st), 0);
	CHECK_INT(st.st_size, STL_SIZE(3));
	CHECK(str_has_prefix(ent.path, dir));
	cache_entry_clear(&ent);
	cache_scratch_remove(scratch);
	CHECK(!exists(scratch));
	free(scratch);
	free(tmp);
	cache_close(c);
}

static void
publishing_a_missing_file_fails_and_indexes_nothing(void)
{
	const char *dir = tap_tmpdir();
	struct cache_key k = key_of("missing");
	struct cache_entry ent;
	struct cache_stats st;
	struct cache *c;
	struct perr e;
	char *tmp;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	tmp = xasprintf("%s/tmp/nothing.stl", dir);
	CHECK_INT(cache_publish(c, &k, FMT_STL, tmp, NULL, &ent, &e), -ENOENT);
	CHECK_CONTAINS(e.msg, "publishing ");
	CHECK_CONTAINS(e.msg, k.hex);
	CHECK_CONTAINS(e.msg, "No such file or directory");
	CHECK(ent.path == NULL);
	CHECK_INT(cache_lookup(c, &k, &ent), 0);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.entries, 0);
	free(tmp);
	cache_close(c);
}

static void
a_blob_deleted_behind_the_cache_makes_lookup_miss_and_drops_the_row(void)
{
	const char *dir = tap_tmpdir();
	struct cache_stats st;
	struct cache *c;
	struct perr e;
	char *blob;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "gone", 2, &e), 0);
	blob = blob_of(dir, "gone");
	CHECK_INT(unlink(blob), 0);
	CHECK_INT(present(c, "gone"), 0);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.entries, 0);
	free(blob);
	cache_close(c);
}

static void
a_truncated_blob_makes_lookup_miss_and_drops_the_row(void)
{
	const char *dir = tap_tmpdir();
	struct cache_stats st;
	struct cache *c;
	struct perr e;
	char *blob;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "short", 4, &e), 0);
	blob = blob_of(dir, "short");
	CHECK_INT(chmod(blob, 0644), 0);
	CHECK_INT(truncate(blob, 100), 0);
	CHECK_INT(present(c, "short"), 0);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.entries, 0);
	free(blob);
	cache_close(c);
}

/* Checking blobs before they are served. */

/* How the blob of a part is spoilt behind the cache's back. */
enum spoil {
	FLIP,          /* one byte changed in place, the size kept */
	GROW,          /* bytes appended */
	REPLACE,       /* another file of the same size put in its place */
};

static void
spoil(const char *dir, const char *name, enum spoil how)
{
	char *blob = blob_of(dir, name), *other;
	struct stat st;
	int fd;

	if (stat(blob, &st) == -1)
		abort();
	if (how == REPLACE) {
		/* a whole STL of its size, but another part's */
		other = xasprintf("%s.other", blob);
		stl_write(other, (unsigned)((st.st_size - 84) / 50),
		    seed_of(name) + 1);
		if (rename(other, blob) == -1)
			abort();
		free(other);
	} else {
		/* published read-only: a careless hand (or root) writes */
		if (chmod(blob, 0644) == -1 || (fd = open(blob, O_WRONLY |
		    (how == GROW ? O_APPEND : 0))) == -1)
			abort();
		if (how == FLIP ? pwrite(fd, "X", 1, 100) != 1 :
		    write(fd, "appended", 8) != 8)
			abort();
		close(fd);
	}
	free(blob);
}

/* The blob set aside for `name` in the cache `dir`. */
static char *
damaged_of(const char *dir, const char *name)
{
	struct cache_key k = key_of(name);

	return xasprintf("%s/damaged/%s.stl", dir, k.hex);
}

/* Wait until a file just published or changed is old enough to be
 * remembered as checked (see RACY in entry.c). */
static void
settle(void)
{
	struct timespec ts = { 0, 120 * 1000000 };

	nanosleep(&ts, NULL);
}

static uint64_t
hashed(struct cache *c)
{
	struct cache_stats st;

	cache_stats(c, &st);
	return st.hashed;
}

/* A part spoilt `how` is never served, whether its blob was checked
 * before (with its identity remembered) or not: the open by key, the
 * lookup and the check of an open descriptor all refuse it, set it aside
 * in damaged/, and drop its row, so that it is made again. */
static void
spoilt_blob_is_refused(enum spoil how)
{
	const char *dir = tap_tmpdir();
	struct cache_key k = key_of("part");
	char *blob = blob_of(dir, "part"), *aside = damaged_of(dir, "part");
	struct cache_entry ent;
	struct cache_stats st;
	struct cache *c;
	struct perr e;
	int fd;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);

	/* checked and remembered, then spoilt: served by key */
	CHECK_INT(publish(c, "part", 20, &e), 0);
	settle();
	fd = cache_blob_serve(c, &k, FMT_STL, NULL);
	CHECK(fd != -1);
	close(fd);
	spoil(dir, "part", how);
	errno = 0;
	CHECK_INT(cache_blob_serve(c, &k, FMT_STL, NULL), -1);
	CHECK_INT(errno, ENOENT);
	CHECK(!exists(blob));
	CHECK(exists(aside));
	CHECK_INT(present(c, "part"), 0);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.entries, 0);
	CHECK_INT(st.set_aside, 1);

	/* never checked in this life: the lookup refuses it */
	CHECK_INT(publish(c, "part", 20, &e), 0);
	cache_close(c);
	spoil(dir, "part", how);
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(cache_lookup_open(c, &k, &ent, &fd, NULL), 0);
	CHECK(ent.path == NULL);
	CHECK_INT(fd, -1);
	CHECK(!exists(blob));
	CHECK_INT(present(c, "part"), 0);

	/* spoilt while open, as a job holds it: the check refuses it */
	CHECK_INT(publish(c, "part", 20, &e), 0);
	CHECK_INT(cache_lookup_open(c, &k, &ent, &fd, NULL), 1);
	cache_entry_clear(&ent);
	spoil(dir, "part", how);
	if (how == REPLACE) {
		/* the descriptor still reads the right file */
		CHECK_INT(cache_blob_check(c, &k, FMT_STL, fd, NULL), 0);
		close(fd);
		fd = cache_blob_serve(c, &k, FMT_STL, NULL);
		CHECK_INT(fd, -1);
	} else
		CHECK_INT(cache_blob_check(c, &k, FMT_STL, fd, NULL),
		    -ENOENT);
	if (fd != -1)
		close(fd);
	CHECK(!exists(blob));
	CHECK_INT(present(c, "part"), 0);

	/* and the part, made again, is served */
	CHECK_INT(publish(c, "part", 20, &e), 0);
	fd = cache_blob_serve(c, &k, FMT_STL, NULL);
	CHECK(fd != -1);
	close(fd);
	cache_close(c);
	free(blob);
	free(aside);
}

static void
a_blob_with_a_byte_flipped_is_never_served_and_is_set_aside(void)
{
	spoilt_blob_is_refused(FLIP);
}

static void
a_blob_with_bytes_appended_is_never_served_and_is_set_aside(void)
{
	spoilt_blob_is_refused(GROW);
}

static void
a_blob_replaced_by_another_file_is_never_served_and_is_set_aside(void)
{
	spoilt_blob_is_refused(REPLACE);
}

/* A blob of another size than its row's is refused before it is read:
 * no hash, and the getattr path gives no size for it. */
static void
a_blob_of_the_wrong_size_is_refused_unread(void)
{
	const char *dir = tap_tmpdir();
	struct cache_key k = key_of("grown");
	char *blob = blob_of(dir, "grown");
	struct cache *c;
	struct perr e;
	uint64_t size = 0;
	int fd;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "grown", 12, &e), 0);
	CHECK(cache_blob_size(c, &k, FMT_STL, &size));
	CHECK_INT(size, STL_SIZE(12));
	spoil(dir, "grown", GROW);
	CHECK(!cache_blob_size(c, &k, FMT_STL, &size));
	/* asking for the size sets nothing aside */
	CHECK(exists(blob));
	fd = cache_blob_serve(c, &k, FMT_STL, NULL);
	CHECK_INT(fd, -1);
	CHECK_INT(hashed(c), 0);
	CHECK(!exists(blob));
	CHECK(!cache_blob_size(c, &k, FMT_STL, &size));
	cache_close(c);
	free(blob);
}

/* The common open: a blob checked once in the life of the cache is not
 * hashed again while its file is unchanged; a new life hashes it once
 * more, and so does a new identity (a file put back in place). */
static void
a_checked_blob_is_hashed_once_per_life_and_identity(void)
{
	const char *dir = tap_tmpdir();
	struct cache_key k = key_of("warm");
	char *blob = blob_of(dir, "warm"), *aside;
	uint64_t size;
	struct cache *c;
	struct perr e;
	int fd;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "warm", BIG, &e), 0);
	settle();
	for (int i = 0; i < 100; i++) {
		fd = cache_blob_serve(c, &k, FMT_STL, NULL);
		CHECK(fd != -1);
		close(fd);
		CHECK_INT(present(c, "warm"), 1);
		CHECK(cache_blob_size(c, &k, FMT_STL, &size));
	}
	CHECK_INT(hashed(c), 1);
	cache_close(c);

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	for (int i = 0; i < 10; i++) {
		fd = cache_blob_serve(c, &k, FMT_STL, NULL);
		CHECK(fd != -1);
		close(fd);
	}
	CHECK_INT(hashed(c), 1);
	/* moved away and back: a new ctime, hashed again */
	aside = xasprintf("%s.aside", blob);
	CHECK_INT(rename(blob, aside), 0);
	CHECK_INT(rename(aside, blob), 0);
	settle();
	fd = cache_blob_serve(c, &k, FMT_STL, NULL);
	CHECK(fd != -1);
	close(fd);
	CHECK_INT(hashed(c), 2);
	cache_close(c);
	free(aside);
	free(blob);
}

/* The digest of a blob served is what its file hashes to: the first
 * time hashed and compared with its row, then from the table of files
 * checked, without reading it again; a spoilt blob has none, and is set
 * aside. */
static void
the_digest_of_a_blob_is_its_content_hash_read_once(void)
{
	const char *dir = tap_tmpdir();
	struct cache_key k = key_of("digest");
	char *blob = blob_of(dir, "digest");
	char want[CACHE_KEY_LEN + 1], got[CACHE_KEY_LEN + 1];
	struct stat st;
	struct cache *c;
	struct perr e;
	int fd;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "digest", 30, &e), 0);
	CHECK_INT(sha256_file(blob, want, NULL), 0);
	settle();
	fd = cache_blob_serve(c, &k, FMT_STL, &st);
	CHECK(fd != -1);
	CHECK_INT(hashed(c), 1);
	for (int i = 0; i < 10; i++) {
		memset(got, 0, sizeof got);
		CHECK_INT(cache_blob_digest(c, &k, FMT_STL, fd, &st, got), 0);
		CHECK_STR(got, want);
	}
	memset(got, 0, sizeof got);
	CHECK_INT(cache_blob_digest(c, &k, FMT_STL, fd, NULL, got), 0);
	CHECK_STR(got, want);
	CHECK_INT(hashed(c), 1);
	close(fd);
	cache_close(c);

	/* a new life: hashed by the digest itself */
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	fd = open(blob, O_RDONLY);
	CHECK(fd != -1);
	CHECK_INT(cache_blob_digest(c, &k, FMT_STL, fd, NULL, got), 0);
	CHECK_STR(got, want);
	CHECK_INT(hashed(c), 1);
	close(fd);
	/* spoilt: no digest, set aside */
	spoil(dir, "digest", FLIP);
	fd = open(blob, O_RDONLY);
	CHECK(fd != -1);
	CHECK_INT(cache_blob_digest(c, &k, FMT_STL, fd, NULL, got), -ENOENT);
	close(fd);
	CHECK(!exists(blob));
	CHECK_INT(present(c, "digest"), 0);
	cache_close(c);
	free(blob);
}

/* A blob changed in the clock tick it was checked in keeps its mtime and
 * ctime on a file system with coarse timestamps: it must not have been
 * remembered as checked.  Only such changes tell (a kernel with
 * fine-grained timestamps once they were looked at never gives one). */
static void
a_blob_changed_in_the_tick_it_was_checked_in_is_refused(void)
{
	const char *dir = tap_tmpdir();
	struct stat before, after;
	struct cache_key k;
	struct cache *c;
	struct perr e;
	char name[32], *blob;
	int fd, seen = 0;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof name, "racy %d", i);
		k = key_of(name);
		blob = blob_of(dir, name);
		CHECK_INT(publish(c, name, 20, &e), 0);
		fd = cache_blob_serve(c, &k, FMT_STL, &before);
		CHECK(fd != -1);
		close(fd);
		spoil(dir, name, FLIP);
		CHECK_INT(stat(blob, &after), 0);
		if (after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
		    after.st_mtim.tv_nsec == before.st_mtim.tv_nsec &&
		    after.st_ctim.tv_sec == before.st_ctim.tv_sec &&
		    after.st_ctim.tv_nsec == before.st_ctim.tv_nsec) {
			seen++;
			CHECK_INT(cache_blob_serve(c, &k, FMT_STL, NULL), -1);
		}
		free(blob);
	}
	tap_note("%d of 50 changes kept the identity of the file", seen);
	cache_close(c);
}

/* A blob without a row may be another process's, between its rename and
 * its row: not served, and left alone. */
static void
a_blob_without_a_row_is_not_served_nor_removed(void)
{
	const char *dir = tap_tmpdir();
	struct cache_key k = key_of("rowless");
	char *blob = blob_of(dir, "rowless");
	uint64_t size;
	struct cache *c;
	struct perr e;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "rowless", 3, &e), 0);
	index_exec(dir, "DELETE FROM parts");
	errno = 0;
	CHECK_INT(cache_blob_serve(c, &k, FMT_STL, NULL), -1);
	CHECK_INT(errno, ENOENT);
	CHECK(!cache_blob_size(c, &k, FMT_STL, &size));
	CHECK(exists(blob));
	cache_close(c);
	free(blob);
}

/* What is set aside stays within bounds: the first few are kept for a
 * look, the others removed; cache_clear empties damaged/. */
static void
blobs_set_aside_are_bounded_and_cleared(void)
{
	const char *dir = tap_tmpdir();
	char *damaged = xasprintf("%s/damaged", dir), name[32];
	struct cache_stats st;
	struct cache *c;
	struct perr e;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof name, "bad %d", i);
		CHECK_INT(publish(c, name, 2, &e), 0);
		spoil(dir, name, FLIP);
		CHECK_INT(present(c, name), 0);
	}
	CHECK_INT(count_entries(damaged), 16);
	CHECK_INT(count_blobs(dir), 0);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.set_aside, 40);
	CHECK_INT(cache_clear(c), 0);
	CHECK_INT(count_entries(damaged), 0);
	cache_close(c);
	free(damaged);
}

/* Blobs are written by no one: published read-only. */
static void
published_blobs_are_read_only(void)
{
	const char *dir = tap_tmpdir();
	char *blob = blob_of(dir, "ro");
	struct cache *c;
	struct perr e;
	struct stat st;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "ro", 2, &e), 0);
	CHECK_INT(stat(blob, &st), 0);
	CHECK_INT(st.st_mode & 07777, 0444);
	CHECK_INT(st.st_uid, getuid());
	cache_close(c);
	free(blob);
}

/* Repairs at open. */

static void
the_check_drops_rows_whose_blob_is_missing_or_has_the_wrong_size(void)
{
	const char *dir = tap_tmpdir();
	struct cache_stats st;
	struct cache *c;
	struct perr e;
	char *a, *b;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "a", 2, &e), 0);
	CHECK_INT(publish(c, "b", 2, &e), 0);
	CHECK_INT(publish(c, "kept", 2, &e), 0);
	cache_close(c);
	a = blob_of(dir, "a");
	b = blob_of(dir, "b");
	CHECK_INT(unlink(a), 0);
	CHECK_INT(chmod(b, 0644), 0);
	CHECK_INT(truncate(b, 90), 0);
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(cache_check(c, &e), 0);
	/* counted before any lookup */
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.entries, 1);
	CHECK_INT(present(c, "kept"), 1);
	free(a);
	free(b);
	cache_close(c);
}

static void
open_removes_scratch_of_dead_processes_but_not_of_live_ones(void)
{
	const char *dir = tap_tmpdir();
	struct cache *a, *b;
	struct perr e;
	char *job, *live, *dead, *lock;

	a = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(a != NULL);
	job = cache_scratch(a, &e);
	CHECK(job != NULL);
	live = xstrndup(job, strrchr(job, '/') - job);
	CHECK(str_has_prefix(live, dir));
	CHECK(strstr(live, "/tmp/proc-") != NULL);

	/* a process that died: its lock file is there, nobody holds it */
	tap_write(dir, "tmp/proc-dead01/lock", "");
	tap_write(dir, "tmp/proc-dead01/job-abcdef/out.stl", "partial");
	dead = xasprintf("%s/tmp/proc-dead01", dir);
	CHECK(exists(dead));

	b = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK_MSG(b != NULL, "%s", e.msg);
	CHECK(!exists(dead));
	CHECK(exists(live));
	CHECK(exists(job));
	lock = xasprintf("%s/lock", live);
	CHECK(exists(lock));
	cache_close(b);
	CHECK(exists(job));
	cache_close(a);
	CHECK(!exists(live));
	free(lock);
	free(dead);
	free(live);
	free(job);
}

static void
open_removes_key_lock_files_nobody_holds(void)
{
	const char *dir = tap_tmpdir();
	struct cache_key dead = key_of("dead"), live = key_of("live");
	char *dead_lock, *live_lock, *other;
	struct cache *c;
	struct perr e;
	int fd;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	cache_close(c);
	/* an older partsfs (a lock file per key, before tmp/keys.lock),
	 * killed while making a part, left its lock file; another one is
	 * making a part now */
	dead_lock = xasprintf("%s/tmp/key-%s.lock", dir, dead.hex);
	live_lock = xasprintf("%s/tmp/key-%s.lock", dir, live.hex);
	other = xasprintf("%s/tmp/key-notes.txt", dir);
	fd = open(dead_lock, O_RDWR | O_CREAT, 0600);
	CHECK(fd != -1);
	close(fd);
	fd = open(other, O_RDWR | O_CREAT, 0600);
	CHECK(fd != -1);
	close(fd);
	fd = open(live_lock, O_RDWR | O_CREAT, 0600);
	CHECK(fd != -1);
	CHECK_INT(flock(fd, LOCK_EX), 0);

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK_MSG(c != NULL, "%s", e.msg);
	CHECK(!exists(dead_lock));
	CHECK(exists(live_lock));
	CHECK(exists(other));
	cache_close(c);
	close(fd);
	free(dead_lock);
	free(live_lock);
	free(other);
}

static void
the_check_removes_orphan_blobs_older_than_a_minute_and_keeps_young_ones(void)
{
	const char *dir = tap_tmpdir();
	struct cache *c;
	struct perr e;
	char *old, *young, *sub;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	cache_close(c);
	old = blob_of(dir, "old orphan");
	young = blob_of(dir, "young orphan");
	sub = xstrndup(old, strrchr(old, '/') - old);
	mkdir(sub, 0755);
	free(sub);
	sub = xstrndup(young, strrchr(young, '/') - young);
	mkdir(sub, 0755);
	free(sub);
	stl_write(old, 1, 1);
	stl_write(young, 1, 2);
	set_mtime_ago(old, 120);

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(cache_check(c, &e), 0);
	CHECK(!exists(old));
	CHECK(exists(young));
	/* kept, but not an entry */
	CHECK_INT(present(c, "young orphan"), 0);
	cache_close(c);
	free(old);
	free(young);
}

/* Plant an orphan blob (older than a minute) and say whether the next
 * open removed it. */
static bool
orphan_removed_by_open(const char *dir, bool crash)
{
	struct cache *c;
	struct perr e;
	char *orphan = blob_of(dir, crash ? "crash orphan" : "quiet orphan");
	char *sub = xstrndup(orphan, strrchr(orphan, '/') - orphan);
	bool gone;

	mkdir(sub, 0755);
	stl_write(orphan, 1, 1);
	set_mtime_ago(orphan, 120);
	if (crash) {
		/* the scratch space of a process that died */
		tap_write(dir, "tmp/proc-dead01/lock", "");
		tap_write(dir, "tmp/proc-dead01/job-x/out.stl", "partial");
	}
	c = cache_open(dir, NO_LIMIT, 60, &e);
	gone = c != NULL && !exists(orphan);
	cache_close(c);
	free(orphan);
	free(sub);
	return gone;
}

static void
open_checks_every_blob_after_a_crash_and_otherwise_hourly(void)
{
	const char *dir = tap_tmpdir();
	struct cache *c;
	struct perr e;

	c = cache_open(dir, NO_LIMIT, 60, &e);   /* a new cache: checked */
	CHECK(c != NULL);
	cache_close(c);
	/* reopened at once, nothing died: no walk, the orphan stays */
	CHECK(!orphan_removed_by_open(dir, false));
	/* a dead process's scratch space: the full check runs */
	CHECK(orphan_removed_by_open(dir, true));
}

static void
the_check_removes_files_in_blobs_that_are_not_blobs(void)
{
	const char *dir = tap_tmpdir();
	struct cache *c;
	struct perr e;
	char *p;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "real", 1, &e), 0);
	cache_close(c);
	tap_write(dir, "blobs/junk", "x");
	tap_write(dir, "blobs/zz/whatever", "x");
	tap_write(dir, "blobs/ab/notakey.stl", "x");
	tap_write(dir, "blobs/ab/"
	    "abababababababababababababababababababababababababababababababab"
	    ".txt", "x");
	/* a key in the wrong directory */
	tap_write(dir, "blobs/ab/"
	    "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
	    ".stl", "x");

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(cache_check(c, &e), 0);
	p = xasprintf("%s/blobs/junk", dir);
	CHECK(!exists(p));
	free(p);
	p = xasprintf("%s/blobs/zz", dir);
	CHECK(!exists(p));
	free(p);
	p = xasprintf("%s/blobs/ab", dir);
	CHECK_INT(count_entries(p), 0);
	free(p);
	CHECK_INT(present(c, "real"), 1);
	CHECK_INT(count_blobs(dir), 1);
	cache_close(c);
}

static void
a_garbage_index_is_set_aside_and_valid_blobs_are_reindexed(void)
{
	const char *dir = tap_tmpdir();
	char *index, *bad, *sub, sha[CACHE_KEY_LEN + 1];
	char got[CACHE_KEY_LEN + 1];
	struct cache_entry ent;
	struct cache_key k = key_of("step part");
	struct cache_stats st;
	struct cache *c;
	struct dirent *de;
	struct perr e;
	unsigned char noise[8192];
	bool aside = false;
	const char *step = "ISO-10303-21;\nDATA;\nENDSEC;\n"
	    "END-ISO-10303-21;\n";
	FILE *fp;
	DIR *d;
	char *tmp, *job;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "one", 2, &e), 0);
	CHECK_INT(publish(c, "two", 3, &e), 0);
	/* a STEP file too: re-indexing takes the format from the name */
	job = cache_scratch(c, &e);
	CHECK(job != NULL);
	tap_write(job, "out.step", step);
	tmp = xasprintf("%s/out.step", job);
	CHECK_INT(sha256_file(tmp, sha, NULL), 0);
	CHECK_INT(cache_publish(c, &k, FMT_STEP, tmp, "step", NULL, &e), 0);
	free(tmp);
	free(job);
	cache_close(c);

	index = xasprintf("%s/index.sqlite", dir);
	srand(7);
	for (size_t i = 0; i < sizeof noise; i++)
		noise[i] = (unsigned char)rand();
	fp = fopen(index, "w");
	CHECK(fp != NULL);
	fwrite(noise, 1, sizeof noise, fp);
	fclose(fp);
	/* and a blob that is not a valid STL */
	bad = blob_of(dir, "bad");
	sub = xstrndup(bad, strrchr(bad, '/') - bad);
	mkdir(sub, 0755);
	fp = fopen(bad, "w");
	CHECK(fp != NULL);
	fputs("this is not an STL file", fp);
	fclose(fp);

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK_MSG(c != NULL, "%s", e.msg);
	CHECK_INT(e.code, 0);
	CHECK_CONTAINS(e.msg, "set aside");
	tap_note("%s", e.msg);
	CHECK_INT(present(c, "one"), 1);
	CHECK_INT(present(c, "two"), 1);
	CHECK_INT(cache_lookup(c, &k, &ent), 1);
	CHECK(ent.fmt == FMT_STEP);
	CHECK_INT(sha256_file(ent.path, got, NULL), 0);
	CHECK_STR(got, sha);
	cache_entry_clear(&ent);
	CHECK(!exists(bad));
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.entries, 3);
	CHECK_INT(st.bytes, on_disk(dir, STL_SIZE(2)) + on_disk(dir,
	    STL_SIZE(3)) + on_disk(dir, strlen(step)));
	cache_close(c);

	d = opendir(dir);
	CHECK(d != NULL);
	while ((de = readdir(d)) != NULL) {
		if (str_has_prefix(de->d_name, "index.sqlite.damaged-"))
			aside = true;
	}
	closedir(d);
	CHECK(aside);

	/* and the new index is healthy: a second open says nothing */
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_STR(e.msg, "");
	CHECK_INT(present(c, "one"), 1);
	cache_close(c);
	free(index);
	free(bad);
	free(sub);
}

static void
a_deleted_index_is_rebuilt_from_the_blobs(void)
{
	const char *dir = tap_tmpdir();
	struct cache *c;
	struct perr e;
	char *index;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "survivor", 2, &e), 0);
	cache_close(c);
	index = xasprintf("%s/index.sqlite", dir);
	CHECK_INT(unlink(index), 0);
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(present(c, "survivor"), 1);
	cache_close(c);
	free(index);
}

static void
a_schema_1_index_is_upgraded_keeping_its_parts_and_memos(void)
{
	const char *dir = tap_tmpdir();
	struct cache_key k = key_of("slow");
	struct cache *c;
	struct perr e;
	char *sql, *v;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "kept", 2, &e), 0);
	cache_memo_set(c, "/usr/bin/openscad", "2021.01");
	cache_close(c);
	/* back to what schema 1 wrote: failures without their time limit */
	sql = xasprintf("DROP TABLE failures;"
	    "CREATE TABLE failures (key TEXT PRIMARY KEY, message TEXT, "
	    "expires REAL);"
	    "INSERT INTO failures VALUES ('%s', 'timed out', 1e12);"
	    "UPDATE meta SET value = '1' WHERE name = 'schema'", k.hex);
	index_exec(dir, sql);
	free(sql);

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK_MSG(c != NULL, "%s", e.msg);
	CHECK_STR(e.msg, "");
	CHECK_INT(count_set_aside(dir), 0);
	CHECK_INT(present(c, "kept"), 1);
	v = cache_memo_get(c, "/usr/bin/openscad");
	CHECK_STR(v, "2021.01");
	free(v);
	/* whether that one was a timeout, and under which limit, is not
	 * known: it is forgotten */
	CHECK_INT(cache_failed(c, &k, LIMIT, NULL), 0);
	cache_fail(c, &k, "timed out", 2);
	CHECK_INT(cache_failed(c, &k, 2, NULL), 1);
	CHECK_INT(cache_failed(c, &k, 3, NULL), 0);
	cache_close(c);
	/* once */
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK_MSG(c != NULL, "%s", e.msg);
	CHECK_STR(e.msg, "");
	CHECK_INT(cache_failed(c, &k, 2, NULL), 1);
	cache_close(c);
}

static void
an_index_of_a_newer_schema_is_refused_and_kept(void)
{
	const char *dir = tap_tmpdir();
	struct cache *c;
	struct perr e;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "theirs", 2, &e), 0);
	cache_close(c);
	index_exec(dir, "UPDATE meta SET value = '99' WHERE name = 'schema'");
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c == NULL);
	CHECK_INT(e.code, EPROTONOSUPPORT);
	CHECK_CONTAINS(e.msg, "written by a newer partsfs (schema 99)");
	CHECK_INT(count_set_aside(dir), 0);
	CHECK_INT(count_blobs(dir), 1);
}

/* Publish "one", "two" and "three", close the cache and damage the pages
 * of the index named with `what`. */
static void
three_parts_then_damage(const char *dir, const char *what)
{
	struct cache *c;
	struct perr e;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "one", 1, &e), 0);
	CHECK_INT(publish(c, "two", 2, &e), 0);
	CHECK_INT(publish(c, "three", 3, &e), 0);
	cache_close(c);
	damage_pages(dir, what);
}

static void
a_damaged_parts_table_is_replaced_at_the_first_lookup_which_answers(void)
{
	const char *dir = tap_tmpdir();
	struct cache_stats st;
	struct cache *c;
	struct perr e;
	char *log;

	three_parts_then_damage(dir, "parts");
	capture_start(dir);
	/* the header, the schema and the meta table are intact, and the
	 * full check is not due: the open sees nothing */
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK_MSG(c != NULL, "%s", e.msg);
	CHECK_STR(e.msg, "");
	CHECK_INT(present(c, "one"), 1);
	CHECK_INT(present(c, "two"), 1);
	CHECK_INT(present(c, "three"), 1);
	log = capture_end();
	CHECK_CONTAINS(log, "was damaged (database disk image is malformed)");
	CHECK_CONTAINS(log, "set aside as ");
	CHECK_CONTAINS(log, "3 parts re-indexed from the blobs");
	free(log);
	CHECK_INT(count_set_aside(dir), 1);
	/* and the new index takes new parts */
	CHECK_MSG(publish(c, "four", 4, &e) == 0, "%s", e.msg);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.entries, 4);
	cache_close(c);
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_STR(e.msg, "");
	CHECK_INT(present(c, "four"), 1);
	CHECK_INT(present(c, "one"), 1);
	cache_close(c);
	CHECK_INT(count_set_aside(dir), 1);
}

static void
each_damaged_index_is_set_aside_under_a_name_of_its_own(void)
{
	const char *dir = tap_tmpdir();
	struct cache *c;
	struct perr e;

	/* twice within a second, most likely */
	for (int i = 1; i <= 2; i++) {
		three_parts_then_damage(dir, "parts");
		c = cache_open(dir, NO_LIMIT, 60, &e);
		CHECK(c != NULL);
		CHECK_INT(present(c, "one"), 1);
		cache_close(c);
		CHECK_INT(count_set_aside(dir), i);
	}
}

static void
publishing_into_a_damaged_index_replaces_it_and_succeeds(void)
{
	const char *dir = tap_tmpdir();
	struct cache *c;
	struct perr e;

	/* only the index of last uses: lookups by key do not read it,
	 * inserting a row writes it */
	three_parts_then_damage(dir, "parts_used");
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(present(c, "one"), 1);
	CHECK_MSG(publish(c, "four", 4, &e) == 0, "%s", e.msg);
	CHECK_INT(count_set_aside(dir), 1);
	CHECK_INT(present(c, "one"), 1);
	CHECK_INT(present(c, "two"), 1);
	CHECK_INT(present(c, "three"), 1);
	CHECK_INT(present(c, "four"), 1);
	cache_close(c);
}

static void
the_check_finds_a_damaged_index_and_replaces_it(void)
{
	const char *dir = tap_tmpdir();
	struct cache *c;
	struct perr e;

	three_parts_then_damage(dir, "parts_used");
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(cache_check(c, &e), 0);
	CHECK_INT(e.code, 0);
	CHECK_CONTAINS(e.msg, "set aside");
	CHECK_CONTAINS(e.msg, "3 parts re-indexed");
	CHECK_INT(count_set_aside(dir), 1);
	CHECK_INT(present(c, "two"), 1);
	/* a healthy index has nothing to say */
	CHECK_INT(cache_check(c, &e), 0);
	CHECK_STR(e.msg, "");
	cache_close(c);
}

static void
verify_finds_a_damaged_index_and_replaces_it(void)
{
	const char *dir = tap_tmpdir();
	uint64_t checked = 0, removed = 9;
	struct cache *c;
	struct perr e;

	three_parts_then_damage(dir, "parts_used");
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(cache_verify(c, &checked, &removed), 0);
	CHECK_INT(checked, 3);
	CHECK_INT(removed, 0);
	CHECK_INT(count_set_aside(dir), 1);
	CHECK_INT(present(c, "three"), 1);
	cache_close(c);
}

/* Eight threads look up parts and publish new ones in a cache whose
 * index turns out to be damaged. */
struct damaged_worker {
	struct cache *c;
	int id;
	int errors;
	char msg[256];
};

static void *
damaged_worker_run(void *arg)
{
	struct damaged_worker *w = arg;
	char name[64];
	struct perr e;
	int r;

	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof name, "old %d", (w->id + i) % 8);
		if ((r = present(w->c, name)) < 0) {
			w->errors++;
			snprintf(w->msg, sizeof w->msg, "lookup: %s",
			    strerror(-r));
		}
	}
	snprintf(name, sizeof name, "new %d", w->id);
	if (publish(w->c, name, 1 + (unsigned)w->id, &e) != 0) {
		w->errors++;
		snprintf(w->msg, sizeof w->msg, "publish: %.200s", e.msg);
	}
	return NULL;
}

static void
threads_that_meet_a_damaged_index_all_succeed_after_one_repair(void)
{
	const char *dir = tap_tmpdir();
	struct damaged_worker w[8];
	pthread_t t[8];
	struct cache *c;
	struct perr e;
	char name[64];

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof name, "old %d", i);
		CHECK_INT(publish(c, name, 1 + (unsigned)i, &e), 0);
	}
	cache_close(c);
	damage_pages(dir, "parts");
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	for (int i = 0; i < 8; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].c = c;
		w[i].id = i;
		CHECK_INT(pthread_create(&t[i], NULL, damaged_worker_run,
		    &w[i]), 0);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 8; i++)
		CHECK_MSG(w[i].errors == 0, "thread %d: %d errors: %s", i,
		    w[i].errors, w[i].msg);
	CHECK_INT(count_set_aside(dir), 1);
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof name, "old %d", i);
		CHECK_INT(present(c, name), 1);
		snprintf(name, sizeof name, "new %d", i);
		CHECK_INT(present(c, name), 1);
	}
	cache_close(c);
}

static void
a_failed_publish_keeps_the_blob_that_was_there(void)
{
	const char *dir = tap_tmpdir();
	char *kept = blob_of(dir, "kept"), *fresh = blob_of(dir, "fresh");
	struct cache *c;
	struct perr e;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "kept", 5, &e), 0);
	/* the index refuses every new row from now on */
	index_exec(dir, "CREATE TRIGGER no_room BEFORE INSERT ON parts "
	    "BEGIN SELECT RAISE(ABORT, 'no room'); END");
	CHECK(publish(c, "kept", 5, &e) < 0);
	CHECK_CONTAINS(e.msg, "no room");
	CHECK(exists(kept));
	CHECK_INT(present(c, "kept"), 1);
	/* a blob that was not there before goes again */
	CHECK(publish(c, "fresh", 5, &e) < 0);
	CHECK(!exists(fresh));
	CHECK_INT(present(c, "fresh"), 0);
	index_exec(dir, "DROP TRIGGER no_room");
	CHECK_INT(publish(c, "fresh", 5, &e), 0);
	CHECK_INT(present(c, "fresh"), 1);
	cache_close(c);
	free(kept);
	free(fresh);
}

/* Eviction and pins. */

static void
eviction_removes_the_least_recently_used_first(void)
{
	const char *dir = tap_tmpdir();
	uint64_t part = on_disk(dir, STL_SIZE(BIG));
	struct cache_stats st;
	struct cache *c;
	struct perr e;
	char *a = blob_of(dir, "a");

	c = cache_open(dir, 3 * part + INDEX_ROOM, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "a", BIG, &e), 0);
	CHECK_INT(publish(c, "b", BIG, &e), 0);
	CHECK_INT(publish(c, "c", BIG, &e), 0);
	CHECK(exists(a));
	CHECK_INT(publish(c, "d", BIG, &e), 0);
	/* nothing was used since: the oldest goes */
	CHECK_INT(present(c, "a"), 0);
	CHECK(!exists(a));
	free(a);

	/* a minute later, b is read: c is now the least recently used */
	age_entries(dir, 3600);
	CHECK_INT(present(c, "b"), 1);
	CHECK_INT(publish(c, "e", BIG, &e), 0);
	CHECK_INT(present(c, "c"), 0);
	CHECK_INT(present(c, "b"), 1);
	CHECK_INT(present(c, "d"), 1);
	CHECK_INT(present(c, "e"), 1);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.entries, 3);
	CHECK_INT(st.bytes, 3 * part);
	CHECK(st.bytes + st.index_bytes <= st.max_bytes);
	CHECK_INT(count_blobs(dir), 3);
	cache_close(c);
}

static void
eviction_never_removes_a_pinned_entry(void)
{
	const char *dir = tap_tmpdir();
	struct cache_key a = key_of("a");
	struct cache_stats st;
	struct cache *c;
	struct perr e;

	c = cache_open(dir, 3 * on_disk(dir, STL_SIZE(BIG)) + INDEX_ROOM, 60,
	    &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "a", BIG, &e), 0);
	CHECK_INT(publish(c, "b", BIG, &e), 0);
	CHECK_INT(publish(c, "c", BIG, &e), 0);
	cache_pin(c, &a);
	cache_pin(c, &a);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.pinned, 1);
	CHECK_INT(publish(c, "d", BIG, &e), 0);
	CHECK_INT(present(c, "a"), 1);
	CHECK_INT(present(c, "b"), 0);
	/* still pinned once */
	cache_unpin(c, &a);
	CHECK_INT(publish(c, "e", BIG, &e), 0);
	CHECK_INT(present(c, "a"), 1);
	CHECK_INT(present(c, "c"), 0);
	cache_unpin(c, &a);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.pinned, 0);
	CHECK_INT(publish(c, "f", BIG, &e), 0);
	CHECK_INT(present(c, "a"), 0);
	cache_close(c);
}

/* A part another process reads (its blob open with cache_blob_open, on a
 * cache handle of its own) is not evicted by this one; once it is closed,
 * it goes as the least recently used.  A blob opened just as it was
 * evicted is reported gone. */
static void
eviction_spares_a_part_another_process_reads(void)
{
	const char *dir = tap_tmpdir();
	struct cache_key a = key_of("a");
	struct cache_entry ent;
	struct cache *c, *reader;
	struct perr e;
	char *blob;
	int fd;

	c = cache_open(dir, 3 * on_disk(dir, STL_SIZE(BIG)) + INDEX_ROOM, 60,
	    &e);
	CHECK(c != NULL);
	reader = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(reader != NULL);
	CHECK_INT(publish(c, "a", BIG, &e), 0);
	CHECK_INT(publish(c, "b", BIG, &e), 0);
	CHECK_INT(publish(c, "c", BIG, &e), 0);
	CHECK_INT(cache_lookup(reader, &a, &ent), 1);
	fd = cache_blob_open(ent.path, NULL);
	CHECK(fd != -1);
	blob = xstrdup(ent.path);
	cache_entry_clear(&ent);

	CHECK_INT(publish(c, "d", BIG, &e), 0);
	CHECK_INT(present(c, "a"), 1);
	CHECK_INT(present(c, "b"), 0);
	CHECK(exists(blob));
	CHECK_INT(close(fd), 0);
	CHECK_INT(publish(c, "e", BIG, &e), 0);
	CHECK_INT(present(c, "a"), 0);
	CHECK(!exists(blob));
	/* gone: opening it says so */
	CHECK_INT(cache_blob_open(blob, NULL), -1);
	CHECK_INT(errno, ENOENT);
	cache_close(reader);
	cache_close(c);
	free(blob);
}

static void
a_part_larger_than_the_limit_is_kept_alone(void)
{
	const char *dir = tap_tmpdir();
	struct cache *c;
	struct perr e;

	c = cache_open(dir, 100, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "big", 1, &e), 0);
	CHECK_INT(present(c, "big"), 1);
	CHECK_INT(publish(c, "bigger", 2, &e), 0);
	CHECK_INT(present(c, "bigger"), 1);
	CHECK_INT(present(c, "big"), 0);
	cache_close(c);
}

static void
prune_evicts_to_a_smaller_limit_and_drops_expired_failures(void)
{
	const char *dir = tap_tmpdir();
	struct cache_key k = key_of("broken");
	struct cache_stats st;
	struct cache *c;
	struct perr e;
	uint64_t freed = 99;

	c = cache_open(dir, NO_LIMIT, 0.1, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "a", BIG, &e), 0);
	CHECK_INT(publish(c, "b", BIG, &e), 0);
	CHECK_INT(publish(c, "c", BIG, &e), 0);
	cache_fail(c, &k, "exit status 1", 0);
	CHECK_INT(cache_prune(c, &freed), 0);
	CHECK_INT(freed, 0);
	cache_close(c);

	c = cache_open(dir, on_disk(dir, STL_SIZE(BIG)) + INDEX_ROOM, 0.1, &e);
	CHECK(c != NULL);
	sleep_s(0.15);
	CHECK_INT(cache_prune(c, &freed), 2);
	CHECK_INT(freed, 2 * on_disk(dir, STL_SIZE(BIG)));
	CHECK_INT(present(c, "c"), 1);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.entries, 1);
	CHECK_INT(st.failures, 0);
	cache_close(c);
}

/* The disk space the cache in `dir` takes: its blobs and the index
 * files. */
static uint64_t
disk_used(const char *dir)
{
	char *blobs = xasprintf("%s/blobs", dir), *sub, *path;
	struct dirent *de, *de2;
	struct stat st;
	uint64_t n = index_bytes(dir);
	DIR *d, *sd;

	if ((d = opendir(blobs)) == NULL)
		abort();
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		sub = xasprintf("%s/%s", blobs, de->d_name);
		if ((sd = opendir(sub)) != NULL) {
			while ((de2 = readdir(sd)) != NULL) {
				path = xasprintf("%s/%s", sub, de2->d_name);
				if (de2->d_name[0] != '.' &&
				    stat(path, &st) == 0)
					n += (uint64_t)st.st_blocks * 512;
				free(path);
			}
			closedir(sd);
		}
		free(sub);
	}
	closedir(d);
	free(blobs);
	return n;
}

static void
the_wal_stays_small_however_many_parts_are_published(void)
{
	const char *dir = tap_tmpdir();
	uint64_t most = 0, n;
	struct cache *c;
	struct perr e;
	char name[32];

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	for (int i = 0; i < 150; i++) {
		snprintf(name, sizeof name, "part %d", i);
		CHECK_INT(publish(c, name, 1, &e), 0);
		if ((n = wal_size(dir)) > most)
			most = n;
	}
	tap_note("150 parts published: the WAL was %ju KB at most",
	    (uintmax_t)(most >> 10));
	CHECK_MSG(most <= (uint64_t)512 << 10, "the WAL grew to %ju KB",
	    (uintmax_t)(most >> 10));
	cache_close(c);
}

/* The inode number of `dir`'s index file with `suffix`, 0 when none. */
static ino_t
index_ino(const char *dir, const char *suffix)
{
	char *path = xasprintf("%s/index.sqlite%s", dir, suffix);
	struct stat st;
	ino_t ino = 0;

	if (stat(path, &st) == 0)
		ino = st.st_ino;
	free(path);
	return ino;
}

static void
the_last_close_empties_the_wal_and_the_next_open_creates_no_files(void)
{
	const char *dir = tap_tmpdir();
	ino_t wal, shm;
	struct cache *c;
	struct perr e;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "first", 1, &e), 0);
	CHECK(wal_size(dir) > 0);
	cache_close(c);
	/* the frames are in the main file; the two files stay */
	CHECK_INT(wal_size(dir), 0);
	CHECK((wal = index_ino(dir, "-wal")) != 0);
	CHECK((shm = index_ino(dir, "-shm")) != 0);
	/* and the next process writes to them, creating nothing */
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "second", 1, &e), 0);
	CHECK(index_ino(dir, "-wal") == wal);
	CHECK(index_ino(dir, "-shm") == shm);
	cache_close(c);
	CHECK_INT(wal_size(dir), 0);
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(present(c, "first"), 1);
	CHECK_INT(present(c, "second"), 1);
	cache_close(c);
}

static void
the_limit_bounds_the_disk_space_of_blobs_and_index(void)
{
	const char *dir = tap_tmpdir();
	const uint64_t limit = (uint64_t)512 << 10;
	uint64_t most = 0, n;
	struct cache_stats st;
	struct cache *c;
	struct perr e;
	char name[32];

	/* 150 small parts: 20 KB of bytes, but a block each on disk */
	c = cache_open(dir, limit, 60, &e);
	CHECK(c != NULL);
	for (int i = 0; i < 150; i++) {
		snprintf(name, sizeof name, "part %d", i);
		CHECK_INT(publish(c, name, 1, &e), 0);
		if ((n = disk_used(dir)) > most)
			most = n;
	}
	CHECK_INT(cache_stats(c, &st), 0);
	tap_note("a limit of 512 KB: %ju entries, %ju + %ju KB counted, %ju KB "
	    "on disk at most", (uintmax_t)st.entries,
	    (uintmax_t)(st.bytes >> 10), (uintmax_t)(st.index_bytes >> 10),
	    (uintmax_t)(most >> 10));
	CHECK_MSG(most <= limit, "%ju KB on disk", (uintmax_t)(most >> 10));
	CHECK(st.bytes + st.index_bytes <= limit);
	CHECK_INT(st.bytes + st.index_bytes, disk_used(dir));
	/* what the index takes is a fraction of the cache */
	CHECK(st.entries >= 64 && st.entries < 128);
	CHECK_INT(present(c, "part 149"), 1);
	CHECK_INT(present(c, "part 0"), 0);
	cache_close(c);
}

/* Failures. */

static void
a_failure_is_reported_until_its_ttl_has_passed(void)
{
	const char *dir = tap_tmpdir();
	struct cache_key k = key_of("broken");
	struct cache_stats st;
	struct cache *c;
	struct perr e;
	char *msg;

	c = cache_open(dir, NO_LIMIT, 0.2, &e);
	CHECK(c != NULL);
	CHECK_INT(cache_failed(c, &k, LIMIT, &msg), 0);
	CHECK(msg == NULL);
	cache_fail(c, &k, "openscad: exit status 1", 0);
	CHECK_INT(cache_failed(c, &k, LIMIT, &msg), 1);
	CHECK_STR(msg, "openscad: exit status 1");
	free(msg);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.failures, 1);
	sleep_s(0.3);
	CHECK_INT(cache_failed(c, &k, LIMIT, &msg), 0);
	CHECK(msg == NULL);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.failures, 0);
	cache_close(c);
}

static void
a_timeout_is_reported_under_its_own_limit_or_a_shorter_one(void)
{
	const char *dir = tap_tmpdir();
	struct cache_key k = key_of("slow");
	struct cache *c;
	struct perr e;
	char *msg;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	cache_fail(c, &k, "fake timed out after 2 s", 2);
	CHECK_INT(cache_failed(c, &k, 2, &msg), 1);
	CHECK_STR(msg, "fake timed out after 2 s");
	free(msg);
	CHECK_INT(cache_failed(c, &k, 0.5, NULL), 1);
	/* a longer limit tries again ... */
	CHECK_INT(cache_failed(c, &k, 2.5, &msg), 0);
	CHECK(msg == NULL);
	/* ... and when it runs out too, its failure holds up to it */
	cache_fail(c, &k, "fake timed out after 2.5 s", 2.5);
	CHECK_INT(cache_failed(c, &k, 2.5, &msg), 1);
	CHECK_STR(msg, "fake timed out after 2.5 s");
	free(msg);
	CHECK_INT(cache_failed(c, &k, 3, NULL), 0);
	cache_close(c);
	/* kept in the index, for every process sharing it */
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(cache_failed(c, &k, 2, NULL), 1);
	CHECK_INT(cache_failed(c, &k, 3, NULL), 0);
	cache_close(c);
}

static void
a_failure_but_a_timeout_is_reported_whatever_the_limit(void)
{
	const char *dir = tap_tmpdir();
	struct cache_key k = key_of("broken");
	struct cache *c;
	struct perr e;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	cache_fail(c, &k, "fake exited with status 3 after 0.01 s", 0);
	CHECK_INT(cache_failed(c, &k, 0.001, NULL), 1);
	CHECK_INT(cache_failed(c, &k, 1e9, NULL), 1);
	cache_close(c);
}

static void
a_zero_ttl_remembers_no_failure(void)
{
	const char *dir = tap_tmpdir();
	struct cache_key k = key_of("broken");
	struct cache *c;
	struct perr e;
	char *msg;

	c = cache_open(dir, NO_LIMIT, 0, &e);
	CHECK(c != NULL);
	cache_fail(c, &k, "boom", 0);
	CHECK_INT(cache_failed(c, &k, LIMIT, &msg), 0);
	CHECK(msg == NULL);
	cache_close(c);
}

static void
publishing_a_key_forgets_its_failure(void)
{
	const char *dir = tap_tmpdir();
	struct cache_key k = key_of("flaky");
	struct cache *c;
	struct perr e;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	cache_fail(c, &k, "timed out", LIMIT);
	CHECK_INT(cache_failed(c, &k, LIMIT, NULL), 1);
	CHECK_INT(publish(c, "flaky", 1, &e), 0);
	CHECK_INT(cache_failed(c, &k, LIMIT, NULL), 0);
	cache_close(c);
}

/* The rows of failures in the index of `dir`, through a connection of
 * our own. */
static int64_t
failure_rows(const char *dir)
{
	char *path = xasprintf("%s/index.sqlite", dir);
	sqlite3_stmt *s;
	sqlite3 *db;
	int64_t n;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		abort();
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM failures", -1, &s,
	    NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW)
		abort();
	n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	free(path);
	return n;
}

/* A flood of distinct failing keys cannot grow the index past the bound,
 * which takes a share of the size limit: those recorded first go. */
static void
failures_stay_within_their_bound_however_many_keys_fail(void)
{
	const char *dir = tap_tmpdir();
	struct cache_key k;
	struct cache_stats st;
	struct cache *c;
	struct perr e;
	char name[32];
	int64_t most = 0, n;

	/* 1 MiB: the least bound */
	c = cache_open(dir, (uint64_t)1 << 20, 600, &e);
	CHECK(c != NULL);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.failures_max, CACHE_FAILURES_MIN);
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof name, "failing %d", i);
		k = key_of(name);
		cache_fail(c, &k, "fake: exit status 3", 0);
		if ((n = failure_rows(dir)) > most)
			most = n;
	}
	CHECK_MSG(most <= CACHE_FAILURES_MIN, "%jd rows of failures",
	    (intmax_t)most);
	CHECK(most >= CACHE_FAILURES_MIN * 7 / 8);
	/* the last are remembered, the first forgotten */
	k = key_of("failing 999");
	CHECK_INT(cache_failed(c, &k, LIMIT, NULL), 1);
	k = key_of("failing 0");
	CHECK_INT(cache_failed(c, &k, LIMIT, NULL), 0);
	cache_close(c);

	/* the bound grows with the limit, up to its most */
	c = cache_open(dir, (uint64_t)100 << 20, 600, &e);
	CHECK(c != NULL);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.failures_max, ((uint64_t)100 << 20) / CACHE_FAILURE_SHARE);
	cache_close(c);
	c = cache_open(dir, NO_LIMIT, 600, &e);
	CHECK(c != NULL);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.failures_max, CACHE_FAILURES_MAX);
	cache_close(c);
}

/* A cache in use drops expired failures as new ones come, without a
 * prune or a new open. */
static void
a_running_cache_drops_expired_failures(void)
{
	const char *dir = tap_tmpdir();
	struct cache_key a = key_of("a"), b = key_of("b"), k;
	struct cache *c;
	struct perr e;
	char name[32];

	c = cache_open(dir, NO_LIMIT, 0.2, &e);
	CHECK(c != NULL);
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof name, "early %d", i);
		k = key_of(name);
		cache_fail(c, &k, "boom", 0);
	}
	cache_fail(c, &a, "boom", 0);
	CHECK_INT(failure_rows(dir), 51);
	sleep_s(0.3);
	cache_fail(c, &b, "boom", 0);
	CHECK_INT(failure_rows(dir), 1);
	CHECK_INT(cache_failed(c, &b, LIMIT, NULL), 1);
	cache_close(c);
}

/* A message is kept within CACHE_FAIL_MESSAGE_MAX bytes: its first line
 * and its end, where an engine's last words are. */
static void
a_long_failure_message_keeps_its_first_line_and_its_end(void)
{
	const char *dir = tap_tmpdir();
	struct cache_key k = key_of("verbose");
	struct buf b = BUF_INIT;
	struct cache *c;
	struct perr e;
	char *msg;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	buf_adds(&b, "fake exited with status 1\ncommand: fake\n"
	    "stderr (last lines):\n");
	for (int i = 0; i < 200; i++)
		buf_printf(&b, "line %d: \xc3\xa9tat \xe2\x80\x94 "
		    "something went wrong\n", i);
	buf_adds(&b, "the last line");
	cache_fail(c, &k, buf_str(&b), 0);
	CHECK_INT(cache_failed(c, &k, LIMIT, &msg), 1);
	CHECK_MSG(strlen(msg) <= CACHE_FAIL_MESSAGE_MAX, "%zu bytes",
	    strlen(msg));
	CHECK(strlen(msg) > CACHE_FAIL_MESSAGE_MAX - 64);
	CHECK(str_has_prefix(msg, "fake exited with status 1\n[...]\n"));
	CHECK(str_has_suffix(msg, "\nthe last line"));
	/* never a sequence cut: no continuation byte after the mark */
	CHECK(((unsigned char)msg[strlen("fake exited with status 1\n"
	    "[...]\n")] & 0xc0) != 0x80);
	free(msg);
	/* a short one is kept whole */
	cache_fail(c, &k, "short\nand sweet", 0);
	CHECK_INT(cache_failed(c, &k, LIMIT, &msg), 1);
	CHECK_STR(msg, "short\nand sweet");
	free(msg);
	buf_free(&b);
	cache_close(c);
}

/* Looking after the cache. */

static void
verify_removes_a_blob_whose_content_changed(void)
{
	const char *dir = tap_tmpdir();
	uint64_t checked = 0, removed = 0;
	struct cache *c;
	struct perr e;
	char *blob;
	int fd;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "sound", 2, &e), 0);
	CHECK_INT(publish(c, "rotten", 2, &e), 0);
	CHECK_INT(cache_verify(c, &checked, &removed), 0);
	CHECK_INT(checked, 2);
	CHECK_INT(removed, 0);

	/* same size, one byte different (not looked up before the check,
	 * which would set it aside) */
	blob = blob_of(dir, "rotten");
	CHECK_INT(chmod(blob, 0644), 0);
	fd = open(blob, O_WRONLY);
	CHECK(fd != -1);
	CHECK_INT(pwrite(fd, "X", 1, 100), 1);
	close(fd);
	CHECK_INT(cache_verify(c, &checked, &removed), 0);
	CHECK_INT(checked, 2);
	CHECK_INT(removed, 1);
	CHECK_INT(present(c, "rotten"), 0);
	CHECK(!exists(blob));
	CHECK_INT(present(c, "sound"), 1);
	free(blob);
	cache_close(c);
}

static void
clear_removes_every_entry_and_failure(void)
{
	const char *dir = tap_tmpdir();
	struct cache_key k = key_of("broken");
	struct cache_stats st;
	struct cache *c;
	struct perr e;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "a", 1, &e), 0);
	CHECK_INT(publish(c, "b", 2, &e), 0);
	cache_fail(c, &k, "boom", 0);
	cache_memo_set(c, "/usr/bin/openscad", "2021.01");
	CHECK_INT(cache_clear(c), 0);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.entries, 0);
	CHECK_INT(st.bytes, 0);
	CHECK_INT(st.index_bytes, index_bytes(dir));
	CHECK_INT(st.failures, 0);
	CHECK_INT(present(c, "a"), 0);
	CHECK_INT(cache_failed(c, &k, LIMIT, NULL), 0);
	CHECK_INT(count_blobs(dir), 0);
	/* and it works afterwards */
	CHECK_INT(publish(c, "a", 1, &e), 0);
	CHECK_INT(present(c, "a"), 1);
	cache_close(c);
}

static void
memo_values_round_trip_and_persist(void)
{
	const char *dir = tap_tmpdir();
	struct cache *c;
	struct perr e;
	char *v;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	CHECK(cache_memo_get(c, "openscad") == NULL);
	cache_memo_set(c, "openscad", "OpenSCAD version 2021.01");
	v = cache_memo_get(c, "openscad");
	CHECK_STR(v, "OpenSCAD version 2021.01");
	free(v);
	cache_memo_set(c, "openscad", "OpenSCAD version 2024.03");
	cache_close(c);
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	v = cache_memo_get(c, "openscad");
	CHECK_STR(v, "OpenSCAD version 2024.03");
	free(v);
	cache_memo_set(c, "openscad", NULL);
	CHECK(cache_memo_get(c, "openscad") == NULL);
	cache_close(c);
}

static void
stats_count_entries_bytes_failures_and_pins(void)
{
	const char *dir = tap_tmpdir();
	struct cache_key k = key_of("x");
	struct cache_stats st;
	struct cache *c;
	struct perr e;

	c = cache_open(dir, 12345678, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "a", 1, &e), 0);
	CHECK_INT(publish(c, "b", 3, &e), 0);
	cache_fail(c, &k, "boom", 0);
	cache_pin(c, &k);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.entries, 2);
	/* what the cache takes on disk: its blobs in whole blocks, and the
	 * index files */
	CHECK_INT(st.bytes, on_disk(dir, STL_SIZE(1)) + on_disk(dir,
	    STL_SIZE(3)));
	CHECK_INT(st.index_bytes, index_bytes(dir));
	CHECK_INT(st.max_bytes, 12345678);
	CHECK_INT(st.failures, 1);
	CHECK_INT(st.pinned, 1);
	cache_unpin(c, &k);
	cache_close(c);
}

static void
scratch_directories_are_private_and_removed_on_request(void)
{
	const char *dir = tap_tmpdir();
	struct cache *c;
	struct perr e;
	struct stat st;
	char *a, *b;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	a = cache_scratch(c, &e);
	b = cache_scratch(c, &e);
	CHECK(a != NULL && b != NULL);
	CHECK(strcmp(a, b) != 0);
	CHECK_INT(stat(a, &st), 0);
	CHECK(S_ISDIR(st.st_mode));
	CHECK_INT(st.st_mode & 0777, 0700);
	tap_write(a, "deep/er/file", "x");
	cache_scratch_remove(a);
	CHECK(!exists(a));
	CHECK(exists(b));
	free(a);
	/* whatever is left goes with the cache */
	cache_close(c);
	CHECK(!exists(b));
	free(b);
}

static void
a_relative_cache_directory_is_refused(void)
{
	struct perr e;

	CHECK(cache_open("relative/cache", NO_LIMIT, 60, &e) == NULL);
	CHECK_INT(e.code, EINVAL);
	CHECK_CONTAINS(e.msg, "absolute");
}

/* Threads. */

struct worker {
	struct cache *c;
	int id;
	int failures;
	char msg[256];
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	char name[64], sha[CACHE_KEY_LEN + 1], got[CACHE_KEY_LEN + 1];
	struct cache_entry ent;
	struct cache_key k;
	struct perr e;
	char *tmp, *job;

	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof name, "thread %d part %d", w->id, i);
		k = key_of(name);
		tmp = scratch_stl(w->c, name, 1 + (unsigned)i, sha);
		job = xstrndup(tmp, strrchr(tmp, '/') - tmp);
		if (cache_publish(w->c, &k, FMT_STL, tmp, name, NULL, &e) != 0) {
			w->failures++;
			snprintf(w->msg, sizeof w->msg, "%.200s", e.msg);
		} else if (cache_lookup(w->c, &k, &ent) != 1) {
			w->failures++;
			snprintf(w->msg, sizeof w->msg, "%s: not found", name);
		} else {
			if (sha256_file(ent.path, got, NULL) != 0 ||
			    strcmp(got, sha) != 0) {
				w->failures++;
				snprintf(w->msg, sizeof w->msg, "%s: wrong "
				    "content", name);
			}
			cache_entry_clear(&ent);
		}
		cache_scratch_remove(job);
		free(job);
		free(tmp);
	}
	return NULL;
}

static void
eight_threads_publish_and_look_up_concurrently(void)
{
	const char *dir = tap_tmpdir();
	struct worker w[8];
	pthread_t t[8];
	struct cache_stats st;
	struct cache *c;
	struct perr e;

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	for (int i = 0; i < 8; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].c = c;
		w[i].id = i;
		CHECK_INT(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 8; i++)
		CHECK_MSG(w[i].failures == 0, "thread %d: %d failures: %s",
		    i, w[i].failures, w[i].msg);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.entries, 64);
	cache_close(c);
}

/* Processes that open a cache nobody has made yet, all at the same
 * moment: each one opens it (turning the new index into WAL waits for the
 * lock, as every other step does). */
static void
processes_creating_one_cache_at_once_all_open_it(void)
{
	enum { PROCS = 3 };
	/* a round fails one time in thirty or so when the open does not
	 * wait; under valgrind a round takes 0.25 s */
	int rounds = getenv("PARTSFS_TEST_SLOW") != NULL ? 20 : 200;
	const char *base = tap_tmpdir();
	char dir[PATH_MAX], why[256] = "";
	int failed = 0, status;
	double t0 = wall_s();

	for (int r = 0; r < rounds; r++) {
		pid_t pids[PROCS];
		int go[2];

		snprintf(dir, sizeof dir, "%s/c%d", base, r);
		CHECK_INT(pipe(go), 0);
		for (int i = 0; i < PROCS; i++) {
			pids[i] = fork();
			if (pids[i] == 0) {
				struct perr e;
				struct cache *c;
				char b;

				close(go[1]);
				/* all start when the parent closes the pipe */
				if (read(go[0], &b, 1) != 0)
					_exit(3);
				if ((c = cache_open(dir, NO_LIMIT, 60, &e)) ==
				    NULL) {
					fprintf(stderr, "# %s\n", e.msg);
					_exit(1);
				}
				cache_close(c);
				_exit(0);
			}
			if (pids[i] == -1) {
				perror("fork");
				abort();
			}
		}
		close(go[0]);
		close(go[1]);
		for (int i = 0; i < PROCS; i++) {
			CHECK_INT(waitpid(pids[i], &status, 0), pids[i]);
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				failed++;
				snprintf(why, sizeof why, "round %d: status "
				    "%#x", r, status);
			}
		}
	}
	CHECK_MSG(failed == 0, "%d of %d opens failed (last: %s)", failed,
	    rounds * PROCS, why);
	tap_note("%d rounds of %d processes: %.2f s", rounds, PROCS,
	    wall_s() - t0);
}

static void
two_processes_publish_into_one_cache_at_once(void)
{
	const char *dir = tap_tmpdir();
	char name[64];
	struct cache_stats st;
	struct cache *c;
	struct perr e;
	pid_t pid;
	int status, failures = 0;

	/* the cache is created before, opened after the fork: the child
	 * inherits nothing of the parent's */
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	cache_close(c);
	pid = fork();
	CHECK(pid != -1);
	if (pid == 0) {
		struct cache *cc = cache_open(dir, NO_LIMIT, 60, &e);

		if (cc == NULL)
			_exit(2);
		for (int i = 0; i < 20; i++) {
			snprintf(name, sizeof name, "child %d", i);
			if (publish(cc, name, 1 + (unsigned)i, &e) != 0)
				failures++;
		}
		cache_close(cc);
		_exit(failures != 0);
	}
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK(c != NULL);
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof name, "parent %d", i);
		if (publish(c, name, 1 + (unsigned)i, &e) != 0)
			failures++;
	}
	CHECK_INT(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_INT(WEXITSTATUS(status), 0);
	CHECK_INT(failures, 0);
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof name, "child %d", i);
		CHECK_INT(present(c, name), 1);
		snprintf(name, sizeof name, "parent %d", i);
		CHECK_INT(present(c, name), 1);
	}
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.entries, 40);
	cache_close(c);
}

/* A full disk. */

/*
 * A tmpfs of `opts` at BASE/mnt, in a mount namespace of our own (the case
 * runs in a child process), so that it goes with the case however it
 * ends, and no mount of anyone else's is copied into a namespace that
 * outlives the case.  Its path, or NULL when it cannot be set up, which
 * fails the case: the case needed "mountns" before it started its child.
 */
static char *
private_tmpfs(const char *base, const char *opts)
{
	char *mnt = xasprintf("%s/mnt", base);

	if (mkdir(mnt, 0755) == -1 ||
	    unshare(CLONE_NEWNS) == -1 ||
	    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount("tmpfs", mnt, "tmpfs", 0, opts) == -1) {
		tap_fail(__FILE__, __LINE__, "a tmpfs at %s: %s", mnt,
		    strerror(errno));
		free(mnt);
		return NULL;
	}
	return mnt;
}

static void
full_disk(void)
{
	const char *base = tap_tmpdir();
	char sha[3][CACHE_KEY_LEN + 1], got[CACHE_KEY_LEN + 1], name[32];
	char *mnt, *dir, *job, *filler, *blob;
	struct cache_key k = key_of("filler");
	struct cache_entry ent;
	struct cache_stats st;
	struct cache *c;
	struct perr e;
	static char zero[4096];
	unsigned char head[84];
	uint64_t written = 0, freed = 0, limit;
	uint32_t ntri;
	ssize_t n;
	int fd, r;

	if ((mnt = private_tmpfs(base, "size=1m")) == NULL)
		return;
	dir = xasprintf("%s/cache", mnt);

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK_MSG(c != NULL, "%s", e.msg);
	for (int i = 0; i < 3; i++) {
		struct cache_key ki;
		char *tmp;

		snprintf(name, sizeof name, "early %d", i);
		ki = key_of(name);
		tmp = scratch_stl(c, name, 200, sha[i]);
		CHECK_MSG(cache_publish(c, &ki, FMT_STL, tmp, NULL, NULL,
		    &e) == 0, "%s", e.msg);
		free(tmp);
	}

	/* An engine fills the disk with a valid STL: written until the
	 * disk is full, then cut to a whole number of triangles. */
	job = cache_scratch(c, &e);
	CHECK(job != NULL);
	filler = xasprintf("%s/out.stl", job);
	fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd != -1);
	memset(head, 0, sizeof head);
	CHECK_INT(write(fd, head, sizeof head), (ssize_t)sizeof head);
	written = sizeof head;
	while ((n = write(fd, zero, sizeof zero)) > 0)
		written += (uint64_t)n;
	CHECK_MSG(n == -1 && errno == ENOSPC, "filling the disk: %s",
	    strerror(errno));
	ntri = (uint32_t)((written - 84) / 50);
	CHECK_INT(ftruncate(fd, (off_t)STL_SIZE(ntri)), 0);
	CHECK_INT(pwrite(fd, &ntri, 4, 80), 4);
	close(fd);
	tap_note("filler: %u triangles, %ju bytes", ntri,
	    (uintmax_t)STL_SIZE(ntri));

	r = cache_publish(c, &k, FMT_STL, filler, NULL, &ent, &e);
	CHECK_INT(r, -ENOSPC);
	CHECK_INT(e.code, ENOSPC);
	tap_note("%s", e.msg);
	CHECK_CONTAINS(e.msg, "publishing ");
	CHECK_CONTAINS(e.msg, k.hex);
	CHECK_CONTAINS(e.msg, "failed: writing to the cache: No space left "
	    "on device");
	CHECK(ent.path == NULL);
	/* nothing left behind */
	CHECK(!exists(filler));
	CHECK_INT(count_entries(job), 0);
	blob = xasprintf("%s/blobs/%.2s/%s.stl", dir, k.hex, k.hex);
	CHECK(!exists(blob));
	free(blob);
	CHECK_INT(cache_lookup(c, &k, &ent), 0);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.entries, 3);
	CHECK_INT(count_blobs(dir), 3);
	/* what was there is intact */
	for (int i = 0; i < 3; i++) {
		struct cache_key ki;

		snprintf(name, sizeof name, "early %d", i);
		ki = key_of(name);
		CHECK_INT(cache_lookup(c, &ki, &ent), 1);
		CHECK_INT(sha256_file(ent.path, got, NULL), 0);
		CHECK_STR(got, sha[i]);
		cache_entry_clear(&ent);
	}
	cache_close(c);

	/* with a smaller limit an entry goes, and a new part fits: room
	 * for two and a half parts besides the index, its WAL emptied */
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK_MSG(c != NULL, "%s", e.msg);
	wal_truncate(dir);
	limit = 5 * on_disk(dir, STL_SIZE(200)) / 2 + index_bytes(dir);
	cache_close(c);
	c = cache_open(dir, limit, 60, &e);
	CHECK_MSG(c != NULL, "%s", e.msg);
	wal_truncate(dir);
	CHECK_INT(cache_prune(c, &freed), 1);
	CHECK_INT(freed, on_disk(dir, STL_SIZE(200)));
	CHECK_INT(present(c, "early 0"), 0);
	CHECK_MSG(publish(c, "late", 200, &e) == 0, "%s", e.msg);
	CHECK_INT(present(c, "late"), 1);
	CHECK_INT(present(c, "early 2"), 1);
	cache_close(c);
	free(filler);
	free(job);
	free(dir);
	free(mnt);
}

static void
a_full_disk_fails_publish_with_enospc_and_leaves_nothing_behind(void)
{
	NEED("mountns");
	tap_in_child(full_disk);
}

/* A disk so full that sqlite cannot map the index's WAL index: the open
 * fails for want of room, and the index, which is whole, is not set aside
 * as damaged (nor copied: the copies would take what room is left). */
static void
full_disk_open(void)
{
	const char *base = tap_tmpdir();
	char *mnt, *dir, *filler;
	static char zero[4096];
	struct cache *c;
	struct perr e = { 0 };
	ssize_t n;
	int fd;

	if ((mnt = private_tmpfs(base, "size=512k")) == NULL)
		return;
	dir = xasprintf("%s/cache", mnt);
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK_MSG(c != NULL, "%s", e.msg);
	CHECK_MSG(publish(c, "kept", 100, &e) == 0, "%s", e.msg);
	cache_close(c);

	filler = xasprintf("%s/filler", mnt);
	fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd != -1);
	while ((n = write(fd, zero, sizeof zero)) > 0)
		;
	CHECK_MSG(n == -1 && errno == ENOSPC, "filling the disk: %s",
	    strerror(errno));
	close(fd);

	for (int i = 0; i < 2; i++) {
		memset(&e, 0, sizeof e);
		c = cache_open(dir, NO_LIMIT, 60, &e);
		if (c != NULL) {
			/* sqlite found room after all: then it must work */
			CHECK_INT(present(c, "kept"), 1);
			cache_close(c);
		} else {
			tap_note("%s", e.msg);
			CHECK_INT(e.code, ENOSPC);
			CHECK_CONTAINS(e.msg, "No space left on device");
		}
	}
	/* nothing set aside, the index where it was */
	{
		char *index = xasprintf("%s/index.sqlite", dir);
		DIR *d = opendir(dir);
		struct dirent *de;

		CHECK(exists(index));
		while (d != NULL && (de = readdir(d)) != NULL)
			CHECK_MSG(strstr(de->d_name, "damaged") == NULL,
			    "set aside: %s", de->d_name);
		if (d != NULL)
			closedir(d);
		free(index);
	}

	CHECK_INT(unlink(filler), 0);
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK_MSG(c != NULL, "%s", e.msg);
	CHECK_INT(present(c, "kept"), 1);
	cache_close(c);
	free(filler);
	free(dir);
	free(mnt);
}

static void
a_full_disk_does_not_set_a_whole_index_aside(void)
{
	NEED("mountns");
	tap_in_child(full_disk_open);
}

/* A cache of a realistic size. */

static void
a_cache_of_2000_entries_reopens_with_every_entry(void)
{
	const char *dir = tap_tmpdir();
	enum { N = 2000, ROUNDS = 20 };
	struct cache_key *keys = xcalloc(N, sizeof *keys);
	struct cache_entry ent;
	struct cache_stats st;
	struct cache *c;
	struct perr e;
	double t0, t_open, t_lookup, t_close, t_get, best_get = 1e9;
	char name[32], *path, *sub;
	int hits = 0;

	/* Written straight into blobs/: the first open indexes them. */
	path = xasprintf("%s/blobs", dir);
	CHECK_INT(mkdir(path, 0755), 0);
	free(path);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof name, "part %d", i);
		keys[i] = key_of(name);
		sub = xasprintf("%s/blobs/%.2s", dir, keys[i].hex);
		if (mkdir(sub, 0755) == -1 && errno != EEXIST)
			abort();
		path = xasprintf("%s/%s.stl", sub, keys[i].hex);
		stl_write(path, 1 + (unsigned)(i % 7), (unsigned)i);
		free(path);
		free(sub);
	}
	t0 = wall_s();
	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK_MSG(c != NULL, "%s", e.msg);
	tap_note("indexing %d blobs at the first open: %.1f ms", N,
	    (wall_s() - t0) * 1e3);
	cache_close(c);

	t0 = wall_s();
	c = cache_open(dir, NO_LIMIT, 60, &e);
	t_open = wall_s() - t0;
	CHECK_MSG(c != NULL, "%s", e.msg);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.entries, N);
	t0 = wall_s();
	for (int i = 0; i < N; i++) {
		if (cache_lookup(c, &keys[i], &ent) == 1) {
			hits++;
			cache_entry_clear(&ent);
		}
	}
	t_lookup = (wall_s() - t0) / N;
	CHECK_INT(hits, N);
	t0 = wall_s();
	cache_close(c);
	t_close = wall_s() - t0;

	/* what `partsctl get` does when the part is cached */
	for (int r = 0; r < ROUNDS; r++) {
		t0 = wall_s();
		c = cache_open(dir, NO_LIMIT, 60, &e);
		CHECK(c != NULL);
		CHECK_INT(cache_lookup(c, &keys[r * 97 % N], &ent), 1);
		cache_entry_clear(&ent);
		cache_close(c);
		t_get = wall_s() - t0;
		if (t_get < best_get)
			best_get = t_get;
	}
	tap_note("%d entries: open %.2f ms, lookup %.1f us, close %.2f ms, "
	    "open+lookup+close best of %d %.2f ms", N, t_open * 1e3,
	    t_lookup * 1e6, t_close * 1e3, ROUNDS, best_get * 1e3);
	free(keys);
}

TAP_MAIN(
	TAP_CASE(labelled_fields_do_not_collide_and_equal_input_gives_equal_keys),
	TAP_CASE(a_field_is_hashed_as_label_nul_length_and_data),
	TAP_CASE(sha256_file_gives_the_standard_test_vectors),
	TAP_CASE(sha256_file_reads_regular_files_only_and_says_which),
	TAP_CASE(a_file_field_hashes_like_its_bytes),
	TAP_CASE(a_published_part_gives_its_bytes_back_and_survives_reopening),
	TAP_CASE(publish_moves_the_scratch_file_into_the_cache),
	TAP_CASE(publishing_a_missing_file_fails_and_indexes_nothing),
	TAP_CASE(a_blob_deleted_behind_the_cache_makes_lookup_miss_and_drops_the_row),
	TAP_CASE(a_truncated_blob_makes_lookup_miss_and_drops_the_row),
	TAP_CASE(a_blob_with_a_byte_flipped_is_never_served_and_is_set_aside),
	TAP_CASE(a_blob_with_bytes_appended_is_never_served_and_is_set_aside),
	TAP_CASE(a_blob_replaced_by_another_file_is_never_served_and_is_set_aside),
	TAP_CASE(a_blob_of_the_wrong_size_is_refused_unread),
	TAP_CASE(a_checked_blob_is_hashed_once_per_life_and_identity),
	TAP_CASE(the_digest_of_a_blob_is_its_content_hash_read_once),
	TAP_CASE(a_blob_changed_in_the_tick_it_was_checked_in_is_refused),
	TAP_CASE(a_blob_without_a_row_is_not_served_nor_removed),
	TAP_CASE(blobs_set_aside_are_bounded_and_cleared),
	TAP_CASE(published_blobs_are_read_only),
	TAP_CASE(the_check_drops_rows_whose_blob_is_missing_or_has_the_wrong_size),
	TAP_CASE(open_removes_scratch_of_dead_processes_but_not_of_live_ones),
	TAP_CASE(open_removes_key_lock_files_nobody_holds),
	TAP_CASE(the_check_removes_orphan_blobs_older_than_a_minute_and_keeps_young_ones),
	TAP_CASE(the_check_removes_files_in_blobs_that_are_not_blobs),
	TAP_CASE(open_checks_every_blob_after_a_crash_and_otherwise_hourly),
	TAP_CASE(a_garbage_index_is_set_aside_and_valid_blobs_are_reindexed),
	TAP_CASE(a_deleted_index_is_rebuilt_from_the_blobs),
	TAP_CASE(a_schema_1_index_is_upgraded_keeping_its_parts_and_memos),
	TAP_CASE(an_index_of_a_newer_schema_is_refused_and_kept),
	TAP_CASE(a_damaged_parts_table_is_replaced_at_the_first_lookup_which_answers),
	TAP_CASE(each_damaged_index_is_set_aside_under_a_name_of_its_own),
	TAP_CASE(publishing_into_a_damaged_index_replaces_it_and_succeeds),
	TAP_CASE(the_check_finds_a_damaged_index_and_replaces_it),
	TAP_CASE(verify_finds_a_damaged_index_and_replaces_it),
	TAP_CASE(threads_that_meet_a_damaged_index_all_succeed_after_one_repair),
	TAP_CASE(a_failed_publish_keeps_the_blob_that_was_there),
	TAP_CASE(eviction_removes_the_least_recently_used_first),
	TAP_CASE(eviction_never_removes_a_pinned_entry),
	TAP_CASE(eviction_spares_a_part_another_process_reads),
	TAP_CASE(a_part_larger_than_the_limit_is_kept_alone),
	TAP_CASE(prune_evicts_to_a_smaller_limit_and_drops_expired_failures),
	TAP_CASE(the_wal_stays_small_however_many_parts_are_published),
	TAP_CASE(the_last_close_empties_the_wal_and_the_next_open_creates_no_files),
	TAP_CASE(the_limit_bounds_the_disk_space_of_blobs_and_index),
	TAP_CASE(a_failure_is_reported_until_its_ttl_has_passed),
	TAP_CASE(a_timeout_is_reported_under_its_own_limit_or_a_shorter_one),
	TAP_CASE(a_failure_but_a_timeout_is_reported_whatever_the_limit),
	TAP_CASE(a_zero_ttl_remembers_no_failure),
	TAP_CASE(publishing_a_key_forgets_its_failure),
	TAP_CASE(failures_stay_within_their_bound_however_many_keys_fail),
	TAP_CASE(a_running_cache_drops_expired_failures),
	TAP_CASE(a_long_failure_message_keeps_its_first_line_and_its_end),
	TAP_CASE(verify_removes_a_blob_whose_content_changed),
	TAP_CASE(clear_removes_every_entry_and_failure),
	TAP_CASE(memo_values_round_trip_and_persist),
	TAP_CASE(stats_count_entries_bytes_failures_and_pins),
	TAP_CASE(scratch_directories_are_private_and_removed_on_request),
	TAP_CASE(a_relative_cache_directory_is_refused),
	TAP_CASE(eight_threads_publish_and_look_up_concurrently),
	TAP_CASE(processes_creating_one_cache_at_once_all_open_it),
	TAP_CASE(two_processes_publish_into_one_cache_at_once),
	TAP_CASE(a_full_disk_fails_publish_with_enospc_and_leaves_nothing_behind),
	TAP_CASE(a_full_disk_does_not_set_a_whole_index_aside),
	TAP_CASE(a_cache_of_2000_entries_reopens_with_every_entry)
)
