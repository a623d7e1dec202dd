/* internal.h -- what the files of the cache share among themselves; not
 * part of the core's public interface.  Declarations go by defining file. */
#ifndef PARTSFS_CACHE_INTERNAL_H
#define PARTSFS_CACHE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "partsfs/cache/key.h"

/* key.c: keys as text, and hashing an open file. */

/* A lower-case hex digit? */
bool is_hex(int ch);
/* Is the key 64 lower-case hex digits? */
bool cache_key_valid(const struct cache_key *k);
/* A key from the n bytes at s; false when they are not one. */
bool key_parse(const char *s, size_t n, struct cache_key *k);
/* SHA-256 of what is left of fd, with the byte count.  0 or -errno. */
int sha256_fd(int fd, char out[CACHE_KEY_LEN + 1], uint64_t *n);

#endif
