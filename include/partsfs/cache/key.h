/* key.h -- cache keys: SHA-256 of labelled fields, or of a file's content,
 * as 64 lower-case hex digits.  None of this needs a cache opened. */
#ifndef PARTSFS_CACHE_KEY_H
#define PARTSFS_CACHE_KEY_H

#include <stddef.h>
#include <sys/stat.h>

/* A cache key: SHA-256, as 64 lower-case hex digits. */
#define CACHE_KEY_LEN 64
struct cache_key {
	char hex[CACHE_KEY_LEN + 1];
};

/* An incremental key computation (SHA-256 through Nettle).  One thread at
 * a time may use a keyhash; separate ones need no locking. */
struct keyhash;
/* A new computation, ended (and freed) by keyhash_final.  Never NULL:
 * running out of memory aborts. */
struct keyhash *keyhash_new(void);
/* Add a labelled field: the label and the length are hashed too, so no
 * two different sequences of fields give the same input. */
void keyhash_add(struct keyhash *h, const char *label, const void *data,
    size_t n);
/* The same for a string; a NULL string is a field of its own, different
 * from any string, "" included. */
void keyhash_add_str(struct keyhash *h, const char *label, const char *s);
/* Add a regular file's bytes, its length taken from fstat.  0, or -errno
 * when it cannot be read: -EISDIR for a directory, -EINVAL for anything
 * else that is not a regular file, -EAGAIN when it changed while it was
 * read. */
int keyhash_add_file(struct keyhash *h, const char *label, const char *path);
/* Write the key to `out` and free h. */
void keyhash_final(struct keyhash *h, struct cache_key *out);

/* SHA-256 of a regular file's content as hex, and the stat(2) of the file
 * read (st may be NULL): a FIFO or a device is refused (-EINVAL) without
 * waiting for it, a directory with -EISDIR, a file that changed while it
 * was read with -EAGAIN.  0 or -errno. */
int sha256_file(const char *path, char out[CACHE_KEY_LEN + 1],
    struct stat *st);

#endif
