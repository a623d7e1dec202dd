/* confine.c -- opening a library's files without leaving the library:
 * through no "..", absolute link or link that leads out of it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "openat2.h"
#include "partsfs/util/confine.h"

bool
path_beneath(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '/' ||
	    path[n] == '\0');
}

int
open_inside(const char *root, const char *path, int flags)
{
	const char *rel = path + strlen(root);

	if (!path_beneath(path, root)) {
		errno = EXDEV;
		return -1;
	}
	while (*rel == '/')
		rel++;
	return open_beneath(root, *rel != '\0' ? rel : ".", flags, NULL,
	    NULL);
}

/*
 * Does `rel` lead out of `root` on the way, and by which component: the
 * first prefix of it whose real path is outside, named in *link with its
 * real path in *target when it is a symbolic link (not a ".."), caller
 * frees.  realpath(3), lstat(2) and readlink(2) read links and open
 * nothing.
 */
static bool
find_escape(const char *real_root, const char *root, const char *rel,
    char **link, char **target)
{
	for (const char *end = rel; *end != '\0';) {
		char *prefix, *path, *real, buf[PATH_MAX];
		struct stat st;
		bool islink;
		ssize_t n;

		end += strcspn(end, "/");
		prefix = xstrndup(rel, (size_t)(end - rel));
		path = xasprintf("%s/%s", root, prefix);
		while (*end == '/')
			end++;
		islink = lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
		if ((real = realpath(path, NULL)) == NULL && islink &&
		    (n = readlink(path, buf, sizeof buf - 1)) > 0 &&
		    buf[0] == '/') {
			/* dangling: only an absolute target can be told */
			buf[n] = '\0';
			real = xstrdup(buf);
		}
		free(path);
		if (real != NULL && !path_beneath(real, real_root)) {
			if (islink) {
				*link = prefix;
				*target = real;
			} else {
				free(prefix);
				free(real);
			}
			return true;
		}
		free(real);
		free(prefix);
	}
	return false;
}

int
open_beneath(const char *root, const char *rel, int flags, char **link,
    char **target)
{
	char *joined = NULL, *real_root = NULL, *real = NULL;
	char *l = NULL, *t = NULL;
	const char *inside;
	int fd = -1, saved, dirfd;

	if ((dirfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	fd = compat_openat2(dirfd, rel, flags | O_CLOEXEC,
	    RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
	saved = errno;
	close(dirfd);
	if (fd != -1 || (saved != EXDEV && saved != ENOSYS &&
	    saved != EPERM)) {
		errno = saved;
		return fd;
	}
	/* EXDEV: a link out, a "..", or an absolute link that stays inside
	 * (RESOLVE_BENEATH refuses every absolute link), told apart below.
	 * ENOSYS or EPERM: no openat2 (an old kernel or C library, a seccomp
	 * filter).
	 *
	 * The real path of the file, checked against the root's, and opened
	 * as that path relative to the real root following no link at all,
	 * so that nothing swapped in since realpath leads out (ELOOP then).
	 * Without openat2 only the last component is opened without
	 * following, and a swap of a directory can race it.
	 */
	joined = xasprintf("%s/%s", root, rel);
	if ((real_root = realpath(root, NULL)) == NULL)
		goto out;
	if ((real = realpath(joined, NULL)) == NULL) {
		/* missing, or out on the way to something missing */
		saved = errno;
		errno = find_escape(real_root, root, rel, &l, &t) ? EXDEV :
		    saved;
		goto out;
	}
	if (!path_beneath(real, real_root)) {
		find_escape(real_root, root, rel, &l, &t);
		errno = EXDEV;
		goto out;
	}
	inside = real + strlen(real_root);
	while (*inside == '/')
		inside++;
	if ((dirfd = open(real_root, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1)
		goto out;
	fd = compat_openat2(dirfd, *inside ? inside : ".", flags | O_CLOEXEC,
	    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
	saved = errno;
	close(dirfd);
	errno = saved;
	if (fd == -1 && (errno == ENOSYS || errno == EPERM))
		fd = open(real, flags | O_CLOEXEC | O_NOFOLLOW);
out:
	saved = errno;
	free(joined);
	free(real_root);
	free(real);
	if (fd == -1 && saved == EXDEV && link != NULL && target != NULL) {
		*link = l;
		*target = t;
	} else {
		free(l);
		free(t);
	}
	errno = saved;
	return fd;
}

DIR *
opendir_beneath(const char *root, const char *rel)
{
	DIR *d;
	int fd, err;

	if ((fd = open_beneath(root, rel, O_RDONLY | O_DIRECTORY, NULL,
	    NULL)) == -1)
		return NULL;
	if ((d = fdopendir(fd)) == NULL) {
		err = errno;
		close(fd);
		errno = err;
	}
	return d;
}
