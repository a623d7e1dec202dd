/* test-remote.c -- the remote client's parsing (client.c, http.c):
 * Repr-Digest fields of RFC 9530, URL paths, local keys, base URLs. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "partsfs/remote/client.h"
#include "tap.h"

/* SHA-256 of the empty string */
static const uint8_t EMPTY[32] = {
	0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
	0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
	0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
};
#define B64 "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

static void
repr_digest_gives_the_sha_256_member(void)
{
	uint8_t d[32];

	CHECK(remote_repr_digest("sha-256=:" B64 ":", d) == 0);
	CHECK(memcmp(d, EMPTY, 32) == 0);
	memset(d, 0, sizeof d);
	/* among other members, with parameters and blanks */
	CHECK(remote_repr_digest("sha-512=:AAAA:, sha-256=:" B64 ":;x=1",
	    d) == 0);
	CHECK(memcmp(d, EMPTY, 32) == 0);
	CHECK(remote_repr_digest("unixsum=\"a,b\",sha-256=:" B64 ":", d) ==
	    0);
	CHECK(memcmp(d, EMPTY, 32) == 0);
}

static void
repr_digest_without_sha_256_is_enoent(void)
{
	uint8_t d[32];

	CHECK(remote_repr_digest("sha-512=:AAAA:", d) == -ENOENT);
	CHECK(remote_repr_digest("", d) == -ENOENT);
	/* a longer name is not sha-256 */
	CHECK(remote_repr_digest("sha-2567=:" B64 ":", d) == -ENOENT);
}

static void
malformed_repr_digests_are_einval(void)
{
	uint8_t d[32];

	/* the old Digest header's form, a token, a short or bad value */
	CHECK(remote_repr_digest("SHA-256=" B64, d) == -EINVAL);
	CHECK(remote_repr_digest("sha-256=" B64, d) == -EINVAL);
	CHECK(remote_repr_digest("sha-256=:AAAA:", d) == -EINVAL);
	CHECK(remote_repr_digest("sha-256=:" B64, d) == -EINVAL);
	CHECK(remote_repr_digest("sha-256=:!!" B64 ":", d) == -EINVAL);
	CHECK(remote_repr_digest("sha-256=:" B64 ":junk", d) == -EINVAL);
	CHECK(remote_repr_digest("sha-256=\"unterminated", d) == -EINVAL);
	CHECK(remote_repr_digest("sha-256", d) == -EINVAL);
}

static void
paths_are_percent_encoded_but_slashes(void)
{
	struct buf b = BUF_INIT;

	rhttp_escape_path(&b, "bolts/hex_screw/M8/length=20,x=a%2Fb c.step");
	CHECK(strcmp(buf_str(&b),
	    "bolts/hex_screw/M8/length%3D20%2Cx%3Da%252Fb%20c.step") == 0);
	buf_reset(&b);
	rhttp_escape_path(&b, "?#\xc3\xa9");
	CHECK(strcmp(buf_str(&b), "%3F%23%C3%A9") == 0);
	buf_free(&b);
}

static void
local_keys_depend_on_server_and_etag(void)
{
	struct cache_key a, b, c, a2;

	remote_local_key("http://a/", "\"1\"", &a);
	remote_local_key("http://b/", "\"1\"", &b);
	remote_local_key("http://a/", "\"2\"", &c);
	remote_local_key("http://a/", "\"1\"", &a2);
	CHECK(strlen(a.hex) == CACHE_KEY_LEN);
	CHECK(strcmp(a.hex, a2.hex) == 0);
	CHECK(strcmp(a.hex, b.hex) != 0);
	CHECK(strcmp(a.hex, c.hex) != 0);
}

static void
only_http_and_https_urls_of_a_host_are_servers(void)
{
	struct perr e = { 0 };
	struct remote *r;

	CHECK(remote_is_url("http://x/"));
	CHECK(remote_is_url("https://x:1/"));
	CHECK(!remote_is_url("library"));
	CHECK(!remote_is_url("file:///etc"));
	r = remote_open("http://127.0.0.1:8080", NULL, NULL, &e);
	CHECK(r != NULL);
	CHECK(strcmp(remote_base(r), "http://127.0.0.1:8080/") == 0);
	remote_close(r);
	r = remote_open("https://h/parts/", NULL, NULL, &e);
	CHECK(r != NULL);
	CHECK(strcmp(remote_base(r), "https://h/parts/") == 0);
	remote_close(r);
	CHECK(remote_open("ftp://h/", NULL, NULL, &e) == NULL);
	CHECK(e.code == EINVAL);
	CHECK(remote_open("http://", NULL, NULL, &e) == NULL);
	CHECK(remote_open("http://h/?q=1", NULL, NULL, &e) == NULL);
}

static void
token_files_must_hold_a_token(void)
{
	const char *dir = tap_tmpdir();
	struct rhttp_opts o = { 0 };
	struct perr e = { 0 };
	struct remote *r;
	char *f;

	tap_write(dir, "empty", "\n");
	tap_write(dir, "ok", "  abc.DEF-123  \nsecond line\n");
	tap_write(dir, "bad", "a b\n");
	f = xasprintf("%s/empty", dir);
	o.token_file = f;
	CHECK(remote_open("http://h/", &o, NULL, &e) == NULL);
	CHECK(e.code == EINVAL);
	free(f);
	f = xasprintf("%s/bad", dir);
	o.token_file = f;
	CHECK(remote_open("http://h/", &o, NULL, &e) == NULL);
	free(f);
	f = xasprintf("%s/missing", dir);
	o.token_file = f;
	CHECK(remote_open("http://h/", &o, NULL, &e) == NULL);
	CHECK(e.code == ENOENT);
	free(f);
	f = xasprintf("%s/ok", dir);
	o.token_file = f;
	r = remote_open("http://h/", &o, NULL, &e);
	free(f);
	CHECK(r != NULL);
	remote_close(r);
}

TAP_MAIN(
	TAP_CASE(repr_digest_gives_the_sha_256_member),
	TAP_CASE(repr_digest_without_sha_256_is_enoent),
	TAP_CASE(malformed_repr_digests_are_einval),
	TAP_CASE(paths_are_percent_encoded_but_slashes),
	TAP_CASE(local_keys_depend_on_server_and_etag),
	TAP_CASE(only_http_and_https_urls_of_a_host_are_servers),
	TAP_CASE(token_files_must_hold_a_token),
)
