/* escape.h -- percent-encoding of the values and choices that become names
 * in the tree (a stem's "length=20", a directory "M8"), and decoding. */
#ifndef PARTSFS_ESCAPE_H
#define PARTSFS_ESCAPE_H

#include <stddef.h>
#include <sys/types.h>

#include "partsfs/util/util.h"

/* Percent-encoding of a value inside a stem (%, ',', '=', '/', control
 * bytes and DEL), and of a choice used as a directory name (%, '/', control
 * bytes, and a leading '.' of "." or ".."). */
void path_encode_value(const char *s, struct buf *out);
void path_encode_dir(const char *s, struct buf *out);
/* Decode %XX escapes; a stray % or an encoded NUL is -ENOENT. */
int path_decode(const char *s, size_t n, struct buf *out);
/* The same into `dst`, which has room for n + 1 bytes: the decoded
 * length (a NUL is added), or -1. */
ssize_t path_decode_into(const char *s, size_t n, char *dst);

#endif
