/* key.c -- cache keys: SHA-256 (through Nettle) of labelled fields or of a
 * file's bytes, and keys as text. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "partsfs/cache/key.h"
#include "partsfs/util/util.h"
#include "internal.h"

bool
is_hex(int ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
}

bool
cache_key_valid(const struct cache_key *k)
{
	for (size_t i = 0; i < CACHE_KEY_LEN; i++) {
		if (!is_hex(k->hex[i]))
			return false;
	}
	return k->hex[CACHE_KEY_LEN] == '\0';
}

/* A key from text; false when it is not 64 lower-case hex digits. */
bool
key_parse(const char *s, size_t n, struct cache_key *k)
{
	if (s == NULL || n != CACHE_KEY_LEN)
		return false;
	memcpy(k->hex, s, CACHE_KEY_LEN);
	k->hex[CACHE_KEY_LEN] = '\0';
	return cache_key_valid(k);
}

/* Hashing.  SHA-256 through Nettle: a small library with no set-up
 * call, which matters as a warm `partsctl get` is over in a few
 * milliseconds and hashes once (libgcrypt's loading and initialisation
 * took about a millisecond of that). */

typedef struct sha256_ctx *digest_t;

static digest_t
digest_new(void)
{
	digest_t ctx = xmalloc(sizeof *ctx);

	sha256_init(ctx);
	return ctx;
}

static void
digest_add(digest_t ctx, const void *p, size_t n)
{
	if (n != 0)
		sha256_update(ctx, n, p);
}

static void
digest_free(digest_t ctx)
{
	free(ctx);
}

/* Finish and free the digest, writing it as hex. */
static void
digest_end(digest_t ctx, char out[CACHE_KEY_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[SHA256_DIGEST_SIZE];

	sha256_digest(ctx, sizeof md, md);
	for (unsigned int i = 0; i < CACHE_KEY_LEN / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[CACHE_KEY_LEN] = '\0';
	digest_free(ctx);
}

/* A key is many small fields: they are gathered in a buffer and handed
 * to the digest in large pieces. */
struct keyhash {
	digest_t ctx;
	size_t n;
	unsigned char stage[4096];
};

static void
stage_flush(struct keyhash *h)
{
	digest_add(h->ctx, h->stage, h->n);
	h->n = 0;
}

static void
stage_add(struct keyhash *h, const void *p, size_t n)
{
	if (n > sizeof h->stage - h->n) {
		stage_flush(h);
		if (n > sizeof h->stage) {
			digest_add(h->ctx, p, n);
			return;
		}
	}
	memcpy(h->stage + h->n, p, n);
	h->n += n;
}

/* Hash what is left of fd; the byte count in *total.  0 or -errno. */
static int
digest_fd(digest_t ctx, int fd, uint64_t *total)
{
	char buf[32768];
	ssize_t n;

	*total = 0;
	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -errno;
		if (n == 0)
			return 0;
		digest_add(ctx, buf, (size_t)n);
		*total += (uint64_t)n;
	}
}

/* Hash the whole of fd with pread, leaving its offset alone; the byte
 * count in *total.  0 or -errno. */
static int
digest_pread(digest_t ctx, int fd, uint64_t *total)
{
	char buf[32768];
	ssize_t n;

	*total = 0;
	for (;;) {
		n = pread(fd, buf, sizeof buf, (off_t)*total);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -errno;
		if (n == 0)
			return 0;
		digest_add(ctx, buf, (size_t)n);
		*total += (uint64_t)n;
	}
}

/* A field's head: the label with its NUL, then the length as 8 bytes,
 * little endian.  A NULL string has the length UINT64_MAX, which no data
 * can have. */
static void
field_head(struct keyhash *h, const char *label, uint64_t n)
{
	unsigned char len[8];

	for (int i = 0; i < 8; i++)
		len[i] = (unsigned char)(n >> (8 * i));
	stage_add(h, label, strlen(label) + 1);
	stage_add(h, len, sizeof len);
}

struct keyhash *
keyhash_new(void)
{
	struct keyhash *h = xmalloc(sizeof *h);

	h->ctx = digest_new();
	h->n = 0;
	return h;
}

void
keyhash_add(struct keyhash *h, const char *label, const void *data, size_t n)
{
	field_head(h, label, n);
	if (n != 0)
		stage_add(h, data, n);
}

void
keyhash_add_str(struct keyhash *h, const char *label, const char *s)
{
	if (s == NULL)
		field_head(h, label, UINT64_MAX);
	else
		keyhash_add(h, label, s, strlen(s));
}

int
keyhash_add_file(struct keyhash *h, const char *label, const char *path)
{
	struct stat st;
	uint64_t got;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -errno;
	if (fstat(fd, &st) == -1) {
		r = -errno;
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	/* The length goes first, so it is taken from fstat; a file that
	 * changes while it is read would give a key for neither version. */
	field_head(h, label, (uint64_t)st.st_size);
	stage_flush(h);
	r = digest_fd(h->ctx, fd, &got);
	close(fd);
	if (r == 0 && got != (uint64_t)st.st_size)
		r = -EAGAIN;
	return r;
}

void
keyhash_final(struct keyhash *h, struct cache_key *out)
{
	stage_flush(h);
	digest_end(h->ctx, out->hex);
	free(h);
}

/* SHA-256 of what is left of fd, with the byte count. */
int
sha256_fd(int fd, char out[CACHE_KEY_LEN + 1], uint64_t *n)
{
	digest_t ctx = digest_new();
	int r;

	if ((r = digest_fd(ctx, fd, n)) != 0) {
		digest_free(ctx);
		return r;
	}
	digest_end(ctx, out);
	return 0;
}

int
sha256_pread(int fd, char out[CACHE_KEY_LEN + 1], uint64_t *n)
{
	digest_t ctx = digest_new();
	int r;

	if ((r = digest_pread(ctx, fd, n)) != 0) {
		digest_free(ctx);
		return r;
	}
	digest_end(ctx, out);
	return 0;
}

int
sha256_file(const char *path, char out[CACHE_KEY_LEN + 1], struct stat *st)
{
	struct stat own;
	uint64_t n;
	int fd, r;

	if (st == NULL)
		st = &own;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return -errno;
	if (fstat(fd, st) == -1)
		r = -errno;
	else if (!S_ISREG(st->st_mode))
		r = S_ISDIR(st->st_mode) ? -EISDIR : -EINVAL;
	else if ((r = sha256_fd(fd, out, &n)) == 0 &&
	    n != (uint64_t)st->st_size)
		r = -EAGAIN;           /* it changed while it was read */
	close(fd);
	return r;
}
