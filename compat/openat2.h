/* openat2.h -- openat2(2) (Linux 5.6) where the C library's headers have
 * it, and a stand-in failing with ENOSYS where they do not: callers then
 * check paths with realpath(3) instead (see src/util/confine.c). */
#ifndef PARTSFS_COMPAT_OPENAT2_H
#define PARTSFS_COMPAT_OPENAT2_H

#include <errno.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(SYS_openat2) && defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define COMPAT_HAVE_OPENAT2 1
#endif
#endif

#ifndef COMPAT_HAVE_OPENAT2
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#endif

/* openat2(dirfd, path, {flags, 0, resolve}): a descriptor, or -1 with
 * errno set (ENOSYS where openat2 is unknown).  EAGAIN (a rename or a
 * mount anywhere raced a ".." of the lookup, which RESOLVE_BENEATH then
 * cannot vouch for; openat2(2) says to try again) is tried again, a few
 * times. */
static inline int
compat_openat2(int dirfd, const char *path, int flags, uint64_t resolve)
{
#ifdef COMPAT_HAVE_OPENAT2
	struct open_how how = {
		.flags = (uint64_t)flags,
		.resolve = resolve,
	};
	int fd, tries = 0;

	do
		fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
	while (fd == -1 && errno == EAGAIN && ++tries < 16);
	return fd;
#else
	(void)dirfd, (void)path, (void)flags, (void)resolve;
	errno = ENOSYS;
	return -1;
#endif
}

#endif
