/* format.c -- part file formats: extensions, MIME types, the signature
 * check every produced file must pass, and the formats a class offers. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "partsfs/util/format.h"

static const struct {
	const char *ext;
	const char *mime;
} formats[FMT__COUNT] = {
	[FMT_STEP] = { "step", "model/step" },
	[FMT_STL] = { "stl", "model/stl" },
	[FMT_GLB] = { "glb", "model/gltf-binary" },
	[FMT_3MF] = { "3mf", "model/3mf" },
	[FMT_OFF] = { "off", "model/x-off" },
	[FMT_AMF] = { "amf", "application/x-amf" },
	[FMT_CSG] = { "csg", "text/x-openscad-csg" },
	[FMT_PNG] = { "png", "image/png" },
	[FMT_JSON] = { "json", "application/json" },
};

const char *
format_ext(enum format f)
{
	return (unsigned)f < FMT__COUNT ? formats[f].ext : "?";
}

const char *
format_mime(enum format f)
{
	return (unsigned)f < FMT__COUNT ? formats[f].mime : "?";
}

int
format_from_ext(const char *ext, size_t n)
{
	if (n == 3 && memcmp(ext, "stp", 3) == 0)
		return FMT_STEP;
	for (int f = 0; f < FMT__COUNT; f++) {
		if (strlen(formats[f].ext) == n &&
		    memcmp(formats[f].ext, ext, n) == 0)
			return f;
	}
	return -1;
}

/* Read up to n bytes at offset off. */
static ssize_t
read_at(int fd, void *buf, size_t n, off_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (char *)buf + got, n - got,
		    off + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static bool
has_text(const char *head, size_t n, const char *needle)
{
	return memmem(head, n, needle, strlen(needle)) != NULL;
}

int
format_check_file(enum format f, const char *path, struct perr *e)
{
	int fd, r;

	/* not through a link, nor waiting on a FIFO: what an engine left
	 * is not to be trusted */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return perr_set(e, errno == ELOOP ? EBADMSG : errno,
		    errno == ELOOP ? "the output is a symbolic link" :
		    "cannot open the output: %s", strerror(errno));
	r = format_check_fd(f, fd, e);
	close(fd);
	return r;
}

int
format_check_fd(enum format f, int fd, struct perr *e)
{
	unsigned char head[512], tail[64];
	ssize_t nh, nt = 0;
	struct stat st;
	off_t size;
	int r = 0;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		return perr_set(e, EBADMSG, "the output is not a regular file");
	size = st.st_size;
	if (size == 0)
		return perr_set(e, EBADMSG, "the output is empty");
	nh = read_at(fd, head, sizeof head, 0);
	if (size > (off_t)sizeof tail)
		nt = read_at(fd, tail, sizeof tail, size - (off_t)sizeof tail);
	else
		nt = read_at(fd, tail, sizeof tail, 0);
	if (nh <= 0 || nt < 0)
		return perr_set(e, EIO, "cannot read the output");
#define BAD(...) (r = perr_set(e, EBADMSG, __VA_ARGS__))
	switch (f) {
	case FMT_STEP:
		if (nh < 13 || memcmp(head, "ISO-10303-21;", 13) != 0)
			BAD("not a STEP file: it does not start with "
			    "ISO-10303-21;");
		else if (!has_text((char *)tail, (size_t)nt,
		    "END-ISO-10303-21;"))
			BAD("truncated STEP file: no END-ISO-10303-21;");
		break;
	case FMT_STL:
		/* ASCII when it starts "solid" and ends "endsolid"; binary
		 * headers may also start "solid", so the end decides. */
		if (nh >= 5 && memcmp(head, "solid", 5) == 0 &&
		    has_text((char *)tail, (size_t)nt, "endsolid")) {
			if (!has_text((char *)head, (size_t)nh, "facet"))
				BAD("empty STL file: no facets");
		} else if (size < 84) {
			BAD("not an STL file: %jd bytes", (intmax_t)size);
		} else {
			uint32_t ntri;
			memcpy(&ntri, head + 80, 4);   /* little endian */
			if (size != 84 + 50 * (off_t)ntri)
				BAD("not an STL file: binary STL of %u "
				    "triangles must be %jd bytes, not %jd",
				    ntri, (intmax_t)(84 + 50 * (off_t)ntri),
				    (intmax_t)size);
			else if (ntri == 0)
				BAD("empty STL file: no triangles");
		}
		break;
	case FMT_GLB:
		if (nh < 12 || memcmp(head, "glTF", 4) != 0)
			BAD("not a GLB file: no glTF magic");
		else {
			uint32_t len;
			memcpy(&len, head + 8, 4);
			if ((off_t)len != size)
				BAD("truncated GLB file: header says %u bytes, "
				    "file has %jd", len, (intmax_t)size);
		}
		break;
	case FMT_3MF:
		if (nh < 4 || memcmp(head, "PK\x03\x04", 4) != 0)
			BAD("not a 3MF file: not a zip archive");
		break;
	case FMT_OFF:
		if (nh < 3 || memcmp(head, "OFF", 3) != 0)
			BAD("not an OFF file");
		break;
	case FMT_AMF:
		if (!has_text((char *)head, (size_t)nh, "<amf"))
			BAD("not an AMF file: no <amf> element");
		else if (!has_text((char *)tail, (size_t)nt, "</amf>"))
			BAD("truncated AMF file: no </amf>");
		break;
	case FMT_CSG:
		if (memchr(head, '\0', (size_t)nh) != NULL)
			BAD("not a CSG file: binary data");
		break;
	case FMT_PNG:
		if (nh < 8 || memcmp(head, "\x89PNG\r\n\x1a\n", 8) != 0)
			BAD("not a PNG image");
		break;
	case FMT_JSON:
		if (head[0] != '{' && head[0] != '[')
			BAD("not JSON");
		break;
	case FMT__COUNT:
		BAD("unknown format");
		break;
	}
#undef BAD
	return r;
}
