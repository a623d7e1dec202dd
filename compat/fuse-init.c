/* fuse-init.c -- the session's reads and writes of /dev/fuse, through
 * libfuse's custom I/O hooks, to tell the kernel what libfuse 3.14 leaves
 * out of its answer to INIT.
 *
 * libfuse 3.14 (Debian 12) turns FUSE_CAP_PARALLEL_DIROPS on by default
 * but never sets FUSE_PARALLEL_DIROPS in the INIT reply (fixed in libfuse
 * 3.16).  The kernel then holds a directory's lock for every lookup and
 * listing in it until the answer comes: lookups of one directory go one
 * at a time, and with exact_size, where a lookup waits for its part, one
 * part being made holds up every other lookup and listing of its
 * directory for the whole job.  The reply is amended here when the kernel
 * offered the feature and the file system asked for it (its init sets
 * fix->parallel_dirops).
 *
 * The hooks see every request and reply: they only look at the first
 * INIT request and its reply, found by the request's unique id, and
 * otherwise read, write and splice as libfuse would.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stddef.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fuse-init.h"

/* The session's userdata is the file system's: the state is kept here,
 * for the one session of the process. */
static struct fuse_init_fix *the_fix;

static ssize_t
wire_read(int fd, void *buf, size_t len, void *userdata)
{
	struct fuse_init_fix *fix = the_fix;

	(void)userdata;
	const struct fuse_in_header *in = buf;
	ssize_t n = read(fd, buf, len);

	if (n >= (ssize_t)sizeof *in && in->opcode == FUSE_INIT &&
	    !atomic_load(&fix->init_seen)) {
		fix->init_unique = in->unique;
		atomic_store(&fix->init_seen, true);
	}
	return n;
}

static ssize_t
wire_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct fuse_init_fix *fix = the_fix;

	(void)userdata;
	const struct fuse_out_header *out;
	struct fuse_init_out *init;

	/* libfuse writes the header, then the reply's argument */
	if (count >= 2 && atomic_load(&fix->init_seen) &&
	    !atomic_load(&fix->init_answered) &&
	    iov[0].iov_len == sizeof *out &&
	    iov[1].iov_len >= offsetof(struct fuse_init_out, flags) +
	    sizeof init->flags) {
		out = iov[0].iov_base;
		if (out->unique == fix->init_unique && out->error == 0) {
			init = iov[1].iov_base;
			if (fix->parallel_dirops)
				init->flags |= FUSE_PARALLEL_DIROPS;
			atomic_store(&fix->init_answered, true);
		}
	}
	return writev(fd, iov, count);
}

static ssize_t
wire_splice(int fdin, off_t *offin, int fdout, off_t *offout, size_t len,
    unsigned int flags, void *userdata)
{
	(void)userdata;
	return splice(fdin, offin, fdout, offout, len, flags);
}

int
fuse_init_fix_install(struct fuse_session *se, struct fuse_init_fix *fix)
{
	static const struct fuse_custom_io io = {
		.read = wire_read,
		.writev = wire_writev,
		.splice_send = wire_splice,
		.splice_receive = wire_splice,
	};

	the_fix = fix;
	return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}
