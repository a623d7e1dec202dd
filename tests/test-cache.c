/* test-cache.c -- the cache of made parts: keys, publishing and lookup, the
 * repairs at open, eviction and pins, failures, threads and a full disk. */
#include "config.h"

#include <sys/mount.h>
#include <sys/stat.h>
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

#include "partsfs/cache.h"
#include "tap.h"

#define NO_LIMIT ((uint64_t)1 << 40)
#define STL_SIZE(ntri) (84 + 50 * (uint64_t)(ntri))

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
	if (sha != NULL && sha256_file(path, sha) != 0)
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
	CHECK_INT(sha256_file(path, sha), 0);
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
	CHECK_INT(sha256_file(path, sha), 0);
	CHECK_STR(sha, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	free(path);
	path = xasprintf("%s/empty", dir);
	CHECK_INT(sha256_file(path, sha), 0);
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
	CHECK_INT(sha256_file(path, sha), 0);
	CHECK_STR(sha, "cdc76e5c9914fb9281a1c7e284d73e67"
	    "f1809a48a497200e046d39ccc7112cd0");
	free(path);
	path = xasprintf("%s/missing", dir);
	CHECK_INT(sha256_file(path, sha), -ENOENT);
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
	CHECK_INT(sha256_file(ent.path, got), 0);
	CHECK_STR(got, sha);
	cache_entry_clear(&ent);
	cache_entry_clear(&pub);
	CHECK(ent.path == NULL);
	cache_close(c);

	c = cache_open(dir, NO_LIMIT, 60, &e);
	CHECK_MSG(c != NULL, "%s", e.msg);
	CHECK_INT(cache_lookup(c, &k, &ent), 1);
	CHECK_INT(sha256_file(ent.path, got), 0);
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
	CHECK_INT(truncate(blob, 100), 0);
	CHECK_INT(present(c, "short"), 0);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.entries, 0);
	free(blob);
	cache_close(c);
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
	CHECK_INT(sha256_file(tmp, sha), 0);
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
	CHECK_INT(sha256_file(ent.path, got), 0);
	CHECK_STR(got, sha);
	cache_entry_clear(&ent);
	CHECK(!exists(bad));
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.entries, 3);
	CHECK_INT(st.bytes, STL_SIZE(2) + STL_SIZE(3) + strlen(step));
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

/* Eviction and pins. */

static void
eviction_removes_the_least_recently_used_first(void)
{
	const char *dir = tap_tmpdir();
	struct cache_stats st;
	struct cache *c;
	struct perr e;
	char *a = blob_of(dir, "a");

	c = cache_open(dir, 3 * STL_SIZE(1), 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "a", 1, &e), 0);
	CHECK_INT(publish(c, "b", 1, &e), 0);
	CHECK_INT(publish(c, "c", 1, &e), 0);
	CHECK(exists(a));
	CHECK_INT(publish(c, "d", 1, &e), 0);
	/* nothing was used since: the oldest goes */
	CHECK_INT(present(c, "a"), 0);
	CHECK(!exists(a));
	free(a);

	/* a minute later, b is read: c is now the least recently used */
	age_entries(dir, 3600);
	CHECK_INT(present(c, "b"), 1);
	CHECK_INT(publish(c, "e", 1, &e), 0);
	CHECK_INT(present(c, "c"), 0);
	CHECK_INT(present(c, "b"), 1);
	CHECK_INT(present(c, "d"), 1);
	CHECK_INT(present(c, "e"), 1);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.entries, 3);
	CHECK_INT(st.bytes, 3 * STL_SIZE(1));
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

	c = cache_open(dir, 3 * STL_SIZE(1), 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "a", 1, &e), 0);
	CHECK_INT(publish(c, "b", 1, &e), 0);
	CHECK_INT(publish(c, "c", 1, &e), 0);
	cache_pin(c, &a);
	cache_pin(c, &a);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.pinned, 1);
	CHECK_INT(publish(c, "d", 1, &e), 0);
	CHECK_INT(present(c, "a"), 1);
	CHECK_INT(present(c, "b"), 0);
	/* still pinned once */
	cache_unpin(c, &a);
	CHECK_INT(publish(c, "e", 1, &e), 0);
	CHECK_INT(present(c, "a"), 1);
	CHECK_INT(present(c, "c"), 0);
	cache_unpin(c, &a);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.pinned, 0);
	CHECK_INT(publish(c, "f", 1, &e), 0);
	CHECK_INT(present(c, "a"), 0);
	cache_close(c);
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
	CHECK_INT(publish(c, "a", 1, &e), 0);
	CHECK_INT(publish(c, "b", 1, &e), 0);
	CHECK_INT(publish(c, "c", 1, &e), 0);
	cache_fail(c, &k, "exit status 1");
	CHECK_INT(cache_prune(c, &freed), 0);
	CHECK_INT(freed, 0);
	cache_close(c);

	c = cache_open(dir, STL_SIZE(1), 0.1, &e);
	CHECK(c != NULL);
	sleep_s(0.15);
	CHECK_INT(cache_prune(c, &freed), 2);
	CHECK_INT(freed, 2 * STL_SIZE(1));
	CHECK_INT(present(c, "c"), 1);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.entries, 1);
	CHECK_INT(st.failures, 0);
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
	CHECK_INT(cache_failed(c, &k, &msg), 0);
	CHECK(msg == NULL);
	cache_fail(c, &k, "openscad: exit status 1");
	CHECK_INT(cache_failed(c, &k, &msg), 1);
	CHECK_STR(msg, "openscad: exit status 1");
	free(msg);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.failures, 1);
	sleep_s(0.3);
	CHECK_INT(cache_failed(c, &k, &msg), 0);
	CHECK(msg == NULL);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.failures, 0);
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
	cache_fail(c, &k, "boom");
	CHECK_INT(cache_failed(c, &k, &msg), 0);
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
	cache_fail(c, &k, "timed out");
	CHECK_INT(cache_failed(c, &k, NULL), 1);
	CHECK_INT(publish(c, "flaky", 1, &e), 0);
	CHECK_INT(cache_failed(c, &k, NULL), 0);
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

	/* same size, one byte different */
	blob = blob_of(dir, "rotten");
	fd = open(blob, O_WRONLY);
	CHECK(fd != -1);
	CHECK_INT(pwrite(fd, "X", 1, 100), 1);
	close(fd);
	CHECK_INT(present(c, "rotten"), 1);
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
	cache_fail(c, &k, "boom");
	cache_memo_set(c, "/usr/bin/openscad", "2021.01");
	CHECK_INT(cache_clear(c), 0);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.entries, 0);
	CHECK_INT(st.bytes, 0);
	CHECK_INT(st.failures, 0);
	CHECK_INT(present(c, "a"), 0);
	CHECK_INT(cache_failed(c, &k, NULL), 0);
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

	c = cache_open(dir, 12345, 60, &e);
	CHECK(c != NULL);
	CHECK_INT(publish(c, "a", 1, &e), 0);
	CHECK_INT(publish(c, "b", 3, &e), 0);
	cache_fail(c, &k, "boom");
	cache_pin(c, &k);
	CHECK_INT(cache_stats(c, &st), 0);
	CHECK_INT(st.entries, 2);
	CHECK_INT(st.bytes, STL_SIZE(1) + STL_SIZE(3));
	CHECK_INT(st.max_bytes, 12345);
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
			if (sha256_file(ent.path, got) != 0 ||
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

static char *mounted;

static void
unmount_tmpfs(void)
{
	if (mounted != NULL) {
		if (umount2(mounted, MNT_DETACH) == -1)
			perror(mounted);
		free(mounted);
		mounted = NULL;
	}
}

static void
a_full_disk_fails_publish_with_enospc_and_leaves_nothing_behind(void)
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
	uint64_t written = 0, freed = 0;
	uint32_t ntri;
	ssize_t n;
	int fd, r;

	mnt = xasprintf("%s/mnt", base);
	CHECK_INT(mkdir(mnt, 0755), 0);
	/* In a mount namespace of our own, so the tmpfs goes with the
	 * process however it ends; it is unmounted at exit as well. */
	if (unshare(CLONE_NEWNS) == -1 ||
	    mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount("tmpfs", mnt, "tmpfs", 0, "size=1m") == -1) {
		if (errno == EPERM) {
			tap_note("skipped: cannot mount a tmpfs: %s",
			    strerror(errno));
			free(mnt);
			return;
		}
		CHECK_MSG(0, "mount %s: %s", mnt, strerror(errno));
	}
	mounted = mnt;
	atexit(unmount_tmpfs);
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
		CHECK_INT(sha256_file(ent.path, got), 0);
		CHECK_STR(got, sha[i]);
		cache_entry_clear(&ent);
	}
	cache_close(c);

	/* with a smaller limit an entry goes, and a new part fits */
	c = cache_open(dir, 2 * STL_SIZE(200), 60, &e);
	CHECK_MSG(c != NULL, "%s", e.msg);
	CHECK_INT(cache_prune(c, &freed), 1);
	CHECK_INT(freed, STL_SIZE(200));
	CHECK_INT(present(c, "early 0"), 0);
	CHECK_MSG(publish(c, "late", 200, &e) == 0, "%s", e.msg);
	CHECK_INT(present(c, "late"), 1);
	CHECK_INT(present(c, "early 2"), 1);
	cache_close(c);
	free(filler);
	free(job);
	free(dir);
	unmount_tmpfs();
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
	TAP_CASE(a_file_field_hashes_like_its_bytes),
	TAP_CASE(a_published_part_gives_its_bytes_back_and_survives_reopening),
	TAP_CASE(publish_moves_the_scratch_file_into_the_cache),
	TAP_CASE(publishing_a_missing_file_fails_and_indexes_nothing),
	TAP_CASE(a_blob_deleted_behind_the_cache_makes_lookup_miss_and_drops_the_row),
	TAP_CASE(a_truncated_blob_makes_lookup_miss_and_drops_the_row),
	TAP_CASE(the_check_drops_rows_whose_blob_is_missing_or_has_the_wrong_size),
	TAP_CASE(open_removes_scratch_of_dead_processes_but_not_of_live_ones),
	TAP_CASE(the_check_removes_orphan_blobs_older_than_a_minute_and_keeps_young_ones),
	TAP_CASE(the_check_removes_files_in_blobs_that_are_not_blobs),
	TAP_CASE(open_checks_every_blob_after_a_crash_and_otherwise_hourly),
	TAP_CASE(a_garbage_index_is_set_aside_and_valid_blobs_are_reindexed),
	TAP_CASE(a_deleted_index_is_rebuilt_from_the_blobs),
	TAP_CASE(eviction_removes_the_least_recently_used_first),
	TAP_CASE(eviction_never_removes_a_pinned_entry),
	TAP_CASE(a_part_larger_than_the_limit_is_kept_alone),
	TAP_CASE(prune_evicts_to_a_smaller_limit_and_drops_expired_failures),
	TAP_CASE(a_failure_is_reported_until_its_ttl_has_passed),
	TAP_CASE(a_zero_ttl_remembers_no_failure),
	TAP_CASE(publishing_a_key_forgets_its_failure),
	TAP_CASE(verify_removes_a_blob_whose_content_changed),
	TAP_CASE(clear_removes_every_entry_and_failure),
	TAP_CASE(memo_values_round_trip_and_persist),
	TAP_CASE(stats_count_entries_bytes_failures_and_pins),
	TAP_CASE(scratch_directories_are_private_and_removed_on_request),
	TAP_CASE(a_relative_cache_directory_is_refused),
	TAP_CASE(eight_threads_publish_and_look_up_concurrently),
	TAP_CASE(two_processes_publish_into_one_cache_at_once),
	TAP_CASE(a_full_disk_fails_publish_with_enospc_and_leaves_nothing_behind),
	TAP_CASE(a_cache_of_2000_entries_reopens_with_every_entry)
)
