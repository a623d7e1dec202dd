/* files.c -- the cache directory's files: where a key's blob lives, what a
 * name under blobs/ says, removing trees, and the clock files are aged by. */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "partsfs/cache/key.h"
#include "partsfs/util/format.h"
#include "partsfs/util/util.h"
#include "internal.h"

double
wall_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return (double)time(NULL);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
mtime_of(const struct stat *st)
{
	return (double)st->st_mtim.tv_sec + (double)st->st_mtim.tv_nsec / 1e9;
}

/* A format from its canonical extension only ("stp" is not a blob's). */
int
fmt_parse(const char *ext)
{
	int f;

	if (ext == NULL || (f = format_from_ext(ext, strlen(ext))) < 0 ||
	    strcmp(format_ext(f), ext) != 0)
		return -1;
	return f;
}

/* The key and format of a blob's file name, "<key>.<ext>"; -1 when no
 * blob has that name. */
int
blob_name(const char *name, struct cache_key *k)
{
	size_t i;

	for (i = 0; i < CACHE_KEY_LEN; i++) {
		if (!is_hex(name[i]))
			return -1;
	}
	if (name[i] != '.')
		return -1;
	memcpy(k->hex, name, CACHE_KEY_LEN);
	k->hex[CACHE_KEY_LEN] = '\0';
	return fmt_parse(name + CACHE_KEY_LEN + 1);
}

/* The directory as cache_open keeps it: no trailing slashes. */
size_t
dir_len(const char *dir)
{
	size_t len = strlen(dir);

	while (len > 1 && dir[len - 1] == '/')
		len--;
	return len;
}

/* Where the blob of key `hex` in format `fmt` lives under cache `dir`. */
char *
blob_path_in(const char *dir, const char *hex, int fmt)
{
	return xasprintf("%.*s/blobs/%.2s/%s.%s", (int)dir_len(dir), dir,
	    hex, hex, format_ext(fmt));
}

char *
blob_path(const struct cache *c, const char *hex, int fmt)
{
	return blob_path_in(c->dir, hex, fmt);
}

/* Remove what directory `name` under `parent` holds, keeping it, never
 * following a symbolic link.  0 or the first -errno; removal goes on
 * after errors. */
int
empty_dir_at(int parent, const char *name)
{
	struct dirent *de;
	DIR *d;
	int fd, r = 0, r2;

	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 0 : -errno;
	if ((d = fdopendir(fd)) == NULL) {
		r = -errno;
		close(fd);
		return r;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0 && r == 0)
				r = -errno;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((r2 = remove_tree_at(fd, de->d_name)) != 0 && r == 0)
			r = r2;
	}
	closedir(d);
	return r;
}

/* Remove `name` under `dirfd` and everything below it, never following a
 * symbolic link.  0 or the first -errno; removal goes on after errors. */
int
remove_tree_at(int dirfd, const char *name)
{
	struct stat st;
	int r;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) == -1 && errno != ENOENT)
			return -errno;
		return 0;
	}
	r = empty_dir_at(dirfd, name);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) == -1 && errno != ENOENT &&
	    r == 0)
		r = -errno;
	return r;
}
