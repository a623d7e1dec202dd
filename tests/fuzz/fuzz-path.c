/* fuzz-path.c -- libFuzzer harness for the path grammar: the input as a
 * path of the fixed library (pnode_lookup), as components fed one by one
 * to pnode_child, and as text for the percent-encoders. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"
#include "partsfs/util/escape.h"

#define LIST_ENTRIES 64        /* entries checked when a path is a directory */
#define LIST_PARTS 16
#define MAX_COMPONENTS 16

static struct library *lib;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	lib = fuzz_fixed_library();
	return 0;
}

struct find {
	const char *name;
	bool found;
};

static int
find_entry(void *ctx, const char *name, const struct pnode *child)
{
	struct find *f = ctx;

	(void)child;
	if (strcmp(name, f->name) == 0) {
		f->found = true;
		return 1;
	}
	return 0;
}

/* Everything that resolves is listed in its directory, except parts with
 * a stem other than default (only common combinations are listed). */
static void
check_listed(const struct pnode *n)
{
	struct buf path = BUF_INIT, name = BUF_INIT;
	struct pnode parent;
	struct perr e = { 0 };
	struct find f = { NULL, false };
	char *slash;

	if (n->kind == PN_ROOT)
		return;
	pnode_name(n, &name);
	if (n->kind == PN_PART && strncmp(buf_str(&name), "default.", 8) != 0)
		goto out;
	pnode_path(n, &path);
	buf_adds(&path, "");
	slash = strrchr(path.p, '/');
	if (slash != NULL)
		*slash = '\0';
	else
		path.p[0] = '\0';
	if (pnode_lookup(lib, path.p, &parent, &e) != 0)
		goto out;       /* fuzz_check_node reports this */
	f.name = buf_str(&name);
	pnode_list(lib, &parent, find_entry, &f, &e);
	pnode_clear(&parent);
	if (!f.found)
		fuzz_fail("'%s' resolves but '%s' does not list it",
		    buf_str(&name), path.p);
out:
	buf_free(&path);
	buf_free(&name);
}

/* A node reached from the input: the invariants, and one listing level
 * when it is a directory. */
static void
check(const struct pnode *n)
{
	struct fuzz_budget b = { LIST_ENTRIES, LIST_PARTS };

	fuzz_check_node(lib, n, &b);
	check_listed(n);
	if (pnode_is_dir(n))
		fuzz_walk(lib, n, 0, &b);
}

/* The whole input (up to a NUL, as the kernel would pass it) as a path. */
static void
fuzz_lookup(const char *path)
{
	struct pnode n;
	struct perr e = { 0 };

	if (pnode_lookup(lib, path, &n, &e) != 0) {
		if (e.code != ENOENT && e.code != ENOTDIR &&
		    e.code != ENAMETOOLONG)
			fuzz_fail("lookup of '%s' failed with code %d: %s", path,
			    e.code, e.msg);
		return;
	}
	check(&n);
	pnode_clear(&n);
}

/* The input split at NULs and newlines, fed to pnode_child step by step
 * (a link in the middle is followed as pnode_lookup does). */
static void
fuzz_steps(const char *data, size_t size)
{
	struct pnode cur, next;
	struct perr e = { 0 };
	const char *p = data, *end = data + size;
	size_t steps = 0;

	pnode_root(&cur);
	while (p <= end && steps++ < MAX_COMPONENTS) {
		const char *q = p;
		char *name;
		int r;
		while (q < end && *q != '\0' && *q != '\n')
			q++;
		name = xstrndup(p, (size_t)(q - p));
		if (cur.kind == PN_LINK) {
			const struct pclass *cls = cur.cls;
			pnode_root(&cur);
			cur.kind = PN_CLASS;
			cur.coll = cls->coll;
			cur.cls = cls;
		}
		r = pnode_child(lib, &cur, name, &next, &e);
		free(name);
		if (r != 0) {
			if (e.code != ENOENT && e.code != ENOTDIR &&
			    e.code != ENAMETOOLONG)
				fuzz_fail("pnode_child failed with code %d: %s",
				    e.code, e.msg);
			break;
		}
		pnode_clear(&cur);
		cur = next;
		check(&cur);
		p = q + 1;
	}
	pnode_clear(&cur);
}

/* Encoding any text and decoding it again gives the text back, and the
 * encoded form holds none of the bytes it protects. */
static void
fuzz_encoding(const char *s)
{
	struct buf enc = BUF_INIT, dec = BUF_INIT;

	path_encode_value(s, &enc);
	if (strpbrk(buf_str(&enc), ",=/") != NULL)
		fuzz_fail("path_encode_value('%s') = '%s' keeps , = or /", s,
		    buf_str(&enc));
	if (path_decode(enc.p != NULL ? enc.p : "", enc.len, &dec) != 0 ||
	    strcmp(buf_str(&dec), s) != 0)
		fuzz_fail("path_encode_value('%s') = '%s' decodes to '%s'", s,
		    buf_str(&enc), buf_str(&dec));
	buf_reset(&enc);
	buf_reset(&dec);
	path_encode_dir(s, &enc);
	if (strchr(buf_str(&enc), '/') != NULL ||
	    strcmp(buf_str(&enc), ".") == 0 || strcmp(buf_str(&enc), "..") == 0)
		fuzz_fail("path_encode_dir('%s') = '%s'", s, buf_str(&enc));
	if (path_decode(enc.p != NULL ? enc.p : "", enc.len, &dec) != 0 ||
	    strcmp(buf_str(&dec), s) != 0)
		fuzz_fail("path_encode_dir('%s') = '%s' decodes to '%s'", s,
		    buf_str(&enc), buf_str(&dec));
	buf_free(&enc);
	buf_free(&dec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (lib == NULL)
		LLVMFuzzerInitialize(NULL, NULL);
	if (size > 16384)
		return -1;      /* longer than any path the kernel passes */
	text = xstrndup((const char *)data, size);
	fuzz_lookup(text);
	fuzz_steps((const char *)data, size);
	fuzz_encoding(text);
	free(text);
	return 0;
}
