/* escape.c -- percent-encoding of the values and choices that become names
 * in the tree (a stem's "length=20", a directory "M8"), and decoding. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "partsfs/util/escape.h"

static const char hexdigits[] = "0123456789ABCDEF";

static void
encode(const char *s, const char *special, struct buf *out)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || strchr(special, *p) != NULL) {
			buf_addc(out, '%');
			buf_addc(out, hexdigits[*p >> 4]);
			buf_addc(out, hexdigits[*p & 15]);
		} else
			buf_addc(out, (char)*p);
	}
}

void
path_encode_value(const char *s, struct buf *out)
{
	encode(s, "%,=/", out);
}

void
path_encode_dir(const char *s, struct buf *out)
{
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
		for (; *s; s++)
			buf_adds(out, "%2E");
		return;
	}
	encode(s, "%/", out);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

ssize_t
path_decode_into(const char *s, size_t n, char *dst)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			dst[o++] = s[i];
			continue;
		}
		if (i + 2 >= n)
			return -1;      /* a stray % at the end */
		int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
		if (h < 0 || l < 0 || (h == 0 && l == 0))
			return -1;
		dst[o++] = (char)(h << 4 | l);
		i += 2;
	}
	dst[o] = '\0';
	return (ssize_t)o;
}

int
path_decode(const char *s, size_t n, struct buf *out)
{
	char *tmp = xmalloc(n + 1);
	ssize_t len = path_decode_into(s, n, tmp);

	if (len < 0) {
		free(tmp);
		return -ENOENT;
	}
	buf_add(out, tmp, (size_t)len);
	free(tmp);
	return 0;
}
