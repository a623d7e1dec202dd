/* format.h -- the file formats a part can be read in, their extensions,
 * the signature every produced file must carry, and which formats a class
 * offers. */
#ifndef PARTSFS_FORMAT_H
#define PARTSFS_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "partsfs/util/util.h"

enum format {
	FMT_STEP,
	FMT_STL,
	FMT_GLB,
	FMT_3MF,
	FMT_OFF,
	FMT_AMF,
	FMT_CSG,
	FMT_PNG,
	FMT_JSON,
	FMT__COUNT
};

#define FMT_BIT(f) (1u << (f))

/* The canonical extension: "step", "stl", ... */
const char *format_ext(enum format f);
/* A MIME type for the format, for xattrs and the JSON description. */
const char *format_mime(enum format f);
/* Extension to format, accepting the alias "stp"; -1 when unknown.
 * Extensions are case-sensitive (lower case), like every other name. */
int format_from_ext(const char *ext, size_t n);

/*
 * Check that the file at `path` is a plausible `f` file: non-empty and
 * with the right signature (STEP starts "ISO-10303-21;", binary STL is
 * 84 + 50 n bytes, ASCII STL starts "solid" and ends "endsolid", GLB starts
 * "glTF", PNG with its 8-byte magic, 3MF is a zip, OFF starts "OFF", AMF and
 * CSG are text of their kind).  Returns 0 or -EBADMSG with a message.
 */
int format_check_file(enum format f, const char *path, struct perr *e);
/* The same for a file open as `fd` (read with pread: its offset stays);
 * format_check_file opens its path following no link and waiting on no
 * FIFO. */
int format_check_fd(enum format f, int fd, struct perr *e);

#endif
