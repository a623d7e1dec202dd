/* fuzz-common.c -- scratch directories, the fixed fuzzing library and the
 * invariants every node of the tree must satisfy (see fuzz-common.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "partsfs/model/load.h"
#include "fuzz-common.h"
#include "partsfs/tree/describe.h"
#include "partsfs/model/params.h"

void
fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("partsfs fuzz: invariant broken: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

bool
fuzz_strict(void)
{
	static int strict = -1;

	if (strict < 0) {
		const char *s = getenv("PARTSFS_FUZZ_STRICT");
		strict = s != NULL && strcmp(s, "1") == 0;
	}
	return strict == 1;
}

/* Scratch directories. */

static char *tmpdirs[8];
static size_t ntmpdirs;

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static int
rm_inside(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (ftw->level == 0)
		return 0;
	return rm_entry(path, st, flag, ftw);
}

void
fuzz_empty_dir(const char *dir)
{
	nftw(dir, rm_inside, 16, FTW_DEPTH | FTW_PHYS);
}

static void
remove_tmpdirs(void)
{
	for (size_t i = 0; i < ntmpdirs; i++) {
		nftw(tmpdirs[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		free(tmpdirs[i]);
	}
	ntmpdirs = 0;
}

const char *
fuzz_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *dir;

	if (ntmpdirs == PF_ARRAY_LEN(tmpdirs))
		abort();
	dir = xasprintf("%s/partsfs-%s-XXXXXX", base != NULL && base[0] ?
	    base : "/tmp", tag);
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		abort();
	}
	if (ntmpdirs == 0)
		atexit(remove_tmpdirs);
	tmpdirs[ntmpdirs++] = dir;
	return dir;
}

bool
fuzz_try_write(const char *dir, const char *rel, const void *data,
    size_t len)
{
	char *path = xasprintf("%s/%s", dir, rel);
	const char *p = data;
	bool ok = false;
	int fd;

	for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')) != NULL;
	    s++) {
		*s = '\0';
		if (mkdir(path, 0755) == -1 && errno != EEXIST)
			goto out;
		*s = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1)
		goto out;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n <= 0)
			break;
		p += n;
		len -= (size_t)n;
	}
	ok = len == 0;
	close(fd);
out:
	free(path);
	return ok;
}

void
fuzz_write(const char *dir, const char *rel, const void *data, size_t len)
{
	if (!fuzz_try_write(dir, rel, data, len)) {
		fprintf(stderr, "fuzz: cannot write %s/%s: %s\n", dir, rel,
		    strerror(errno));
		abort();
	}
}

/* The fixed library. */

static const char BOLTS_BLT[] =
"---\n"
"id: bolts\n"
"name: Fuzzing fixture\n"
"author: Fuzz Author <fuzz@example.org>\n"
"license: MIT <http://opensource.org/licenses/MIT>\n"
"blt-version: 0.4\n"
"classes:\n"
"  - id: hex_screw\n"
"    names: {name: Hexagon head screw, labeling: 'Screw %(size)s x %(length)s'}\n"
"    standards:\n"
"      - {standard: ISO 4017, body: ISO,\n"
"         labeling: 'ISO 4017 %(size)s x %(length)s %(note)s'}\n"
"      - {standard: DIN 933, body: DIN, status: withdrawn,\n"
"         labeling: 'DIN 933 %(size)s x %(length)s'}\n"
"    parameters:\n"
"      free: [size, length, finish, note]\n"
"      defaults: {size: M8, length: 20, finish: false, note: plain}\n"
"      types: {size: Table Index, length: Length (mm), finish: Bool,\n"
"              note: String, s: Length (mm), k: Length (mm)}\n"
"      tables:\n"
"        index: size\n"
"        columns: [s, k]\n"
"        data:\n"
"          M10: [16, 6.4]\n"
"          M8: [13, 5.3]\n"
"          M1.6: [3.2, None]\n"
"          'x%y': [1, 1]\n"
"          '.': [2, 2]\n"
"          '..': [2.5, 2]\n"
"          'a,b=c': [4, 3]\n"
"          '10': [5, 3]\n"
"          '10.0': [6, 3]\n"
"          '010': [6.5, 3]\n"
"          'a b': [7, 4]\n"
"          '%2F': [8, 4]\n"
"          ' sp ': [9, 5]\n"
"          'None': [10, 5]\n"
"          '1e1': [11, 5]\n"
"          'default': [12, 5]\n"
"          'x.step': [13, 6]\n"
"      common:\n"
"        - [[M8], [16, 20, 2.5], [false], [plain]]\n"
"        - [[M10], [30], ':', ['a,b=c/d%', '', 'x.y']]\n"
"        - [['x%y', '.', '..'], [0, 1e-7, 123456789012], [true], ['=%,/']]\n"
"    source: own work\n"
"  - id: pin\n"
"    names: {name: Cylindrical pin, labeling: 'Pin %(d)s %(material)s %(grade)s'}\n"
"    standards: {standard: ISO 2338, body: ISO, labeling: 'ISO 2338 %(d)s'}\n"
"    parameters:\n"
"      free: [material, grade, d, angle, count, inch, label]\n"
"      defaults: {material: steel, grade: A, d: 3, angle: 45, count: 2,\n"
"                 inch: 0.375, label: ''}\n"
"      literal: {kind: pin, version: 2}\n"
"      types: {material: Table Index, grade: Table Index, d: Length (mm),\n"
"              angle: Angle (deg), count: Number, inch: Length (in),\n"
"              label: String, density: Number, strength: Number,\n"
"              kind: String, version: Number}\n"
"      tables:\n"
"        index: material\n"
"        columns: [density]\n"
"        data: {steel: [7.85], brass: [8.4], 'ti-6al': [None]}\n"
"      tables2d:\n"
"        - rowindex: material\n"
"          colindex: grade\n"
"          result: strength\n"
"          columns: [A, B, 'C+']\n"
"          data:\n"
"            steel: [400, 600, None]\n"
"            brass: [200, None, 250]\n"
"            'ti-6al': [900, 950, 1000]\n"
"      common:\n"
"        - [[steel, brass], ':', [1, 2.5, 10], [0, -90, 360], [1],\n"
"           [0.25], ['', x]]\n"
"    source: own work\n"
"  - id: washer\n"
"    names: {name: Plain washer, labeling: 'Washer %(d)s'}\n"
"    standards: {standard: ISO 7089, body: ISO, labeling: 'W %(d)s'}\n"
"    parameters: {free: [d], types: {d: Length (mm)}, defaults: {d: 8}}\n"
"    source: own work\n";

static const char BOLTS_SCAD_BASE[] =
"- filename: b.scad\n"
"  type: module\n"
"  author: Fuzz Author <fuzz@example.org>\n"
"  license: MIT <http://opensource.org/licenses/MIT>\n"
"  modules:\n"
"    - name: hex_screw\n"
"      arguments: [s, k, length, note, quality]\n"
"      classids: [hex_screw]\n"
"      parameters:\n"
"        free: [quality, fine]\n"
"        types: {quality: Number, fine: Bool}\n"
"        defaults: {quality: 3, fine: false}\n"
"    - name: pin\n"
"      arguments: [d, angle, count, inch, density, strength, label]\n"
"      classids: [pin]\n";

static const char BOLTS_FC_BASE[] =
"- filename: b.py\n"
"  type: function\n"
"  author: Fuzz Author <fuzz@example.org>\n"
"  license: MIT <http://opensource.org/licenses/MIT>\n"
"  functions:\n"
"    - name: hex_screw\n"
"      classids: [hex_screw]\n"
"    - name: washer\n"
"      classids: [washer]\n"
"      parameters:\n"
"        free: [arch]\n"
"        types: {arch: Bool}\n"
"        defaults: {arch: false}\n";

static const char BOLTS_DRAWINGS_BASE[] =
"- filename: hex\n"
"  type: drawing-dimensions\n"
"  author: Fuzz Author <fuzz@example.org>\n"
"  license: CC0 1.0 <http://creativecommons.org/publicdomain/zero/1.0/>\n"
"  classids: [hex_screw]\n";

static const char NUTS_BLT[] =
"---\n"
"id: nuts\n"
"author: Fuzz Author <fuzz@example.org>\n"
"license: MIT <http://opensource.org/licenses/MIT>\n"
"blt-version: 0.4\n"
"classes:\n"
"  - id: hex_nut\n"
"    names: {name: Hexagon nut, labeling: 'Nut %(size)s'}\n"
"    standards: {standard: ISO 4032, body: ISO, labeling: 'ISO 4032 %(size)s'}\n"
"    parameters:\n"
"      free: [size, thin]\n"
"      types: {size: Table Index, thin: Bool, m: Length (mm)}\n"
"      defaults: {size: M8}\n"
"      tables: {index: size, columns: [m], data: {M8: [6.8], M10: [8.4]}}\n"
"    source: own work\n";

static struct library *fixed;

static void
drop_fixed(void)
{
	library_unref(fixed);
	fixed = NULL;
}

struct library *
fuzz_fixed_library(void)
{
	struct library_opts o = { .threads = 1 };
	struct perr e = { 0 };
	const char *dir = getenv("PARTSFS_FUZZ_LIBRARY");
	const char *keep = getenv("PARTSFS_FUZZ_WRITE_FIXED");

	if (fixed != NULL)
		return fixed;
	if (dir == NULL || dir[0] == '\0') {
		/* contrib/fuzz.sh keeps a copy to walk with partsctl ls */
		if (keep != NULL && keep[0] != '\0') {
			mkdir(keep, 0755);
			dir = keep;
		} else
			dir = fuzz_tmpdir("fixed");
		fuzz_write(dir, "data/bolts.blt", BOLTS_BLT,
		    sizeof BOLTS_BLT - 1);
		fuzz_write(dir, "openscad/bolts/bolts.base", BOLTS_SCAD_BASE,
		    sizeof BOLTS_SCAD_BASE - 1);
		fuzz_write(dir, "openscad/bolts/b.scad", "module hex_screw() {}\n",
		    22);
		fuzz_write(dir, "freecad/bolts/bolts.base", BOLTS_FC_BASE,
		    sizeof BOLTS_FC_BASE - 1);
		fuzz_write(dir, "freecad/bolts/b.py", "def f(p, d): pass\n", 18);
		fuzz_write(dir, "drawings/bolts/bolts.base", BOLTS_DRAWINGS_BASE,
		    sizeof BOLTS_DRAWINGS_BASE - 1);
		fuzz_write(dir, "drawings/bolts/hex.svg", "<svg/>\n", 7);
		fuzz_write(dir, "drawings/bolts/hex.png", "\x89PNG\r\n\x1a\n", 8);
		fuzz_write(dir, "data/nuts.blt", NUTS_BLT, sizeof NUTS_BLT - 1);
	}
	if ((fixed = library_load(dir, &o, &e)) == NULL) {
		fprintf(stderr, "fuzz: cannot load the fixed library: %s\n",
		    e.msg);
		abort();
	}
	if (fixed->diags.nerrors != 0) {
		/* A broken fixture would make the fuzzer explore nothing. */
		diags_print(&fixed->diags, stderr);
		if (getenv("PARTSFS_FUZZ_LIBRARY") == NULL)
			abort();
	}
	atexit(drop_fixed);
	return fixed;
}

/* Invariants. */

void
fuzz_dump(json_t *j, const char *what)
{
	char *s;

	if (j == NULL)
		fuzz_fail("%s: no JSON description", what);
	s = describe_dump(j);
	free(s);
	json_decref(j);
}

/* The canonical path of `n` (caller frees). */
static char *
node_path(const struct pnode *n)
{
	struct buf b = BUF_INIT;

	pnode_path(n, &b);
	buf_adds(&b, "");
	return buf_steal(&b);
}

/* The collected values of part `n` (NULL when it cannot be collected). */
static struct value *
collect(const struct pnode *n, struct perr *e)
{
	struct value *v = xcalloc(n->ps->nparams + 1, sizeof *v);

	if (pnode_collect(n, v, e) != 0) {
		free(v);
		return NULL;
	}
	return v;
}

static void
same_part(const struct pnode *a, const struct pnode *b, const char *path)
{
	struct perr e = { 0 };
	struct value *va, *vb;

	if (a->ps != b->ps || a->fmt != b->fmt || a->cls != b->cls)
		fuzz_fail("%s: resolves to another class, format or "
		    "parameter set", path);
	va = collect(a, &e);
	vb = collect(b, &e);
	if ((va == NULL) != (vb == NULL))
		fuzz_fail("%s: collects in one spelling and not in the other: "
		    "%s", path, e.msg);
	for (size_t i = 0; va != NULL && i < a->ps->nparams; i++) {
		if (!value_equal(&va[i], &vb[i])) {
			struct buf x = BUF_INIT, y = BUF_INIT;
			value_canon(&va[i], &x);
			value_canon(&vb[i], &y);
			fuzz_fail("%s: parameter %s is '%s' but '%s' after "
			    "resolving the canonical path", path,
			    a->ps->params[i].name, buf_str(&x), buf_str(&y));
		}
	}
	free(va);
	free(vb);
}

void
fuzz_check_node(const struct library *lib, const struct pnode *n,
    struct fuzz_budget *b)
{
	struct pnode again, parent, child;
	struct perr e = { 0 };
	char *path = node_path(n), *path2, *slash;
	struct buf name = BUF_INIT;
	json_t *j;
	int r;

	/* the canonical path resolves, to itself */
	if ((r = pnode_lookup(lib, path, &again, &e)) != 0) {
		if (e.code == ENAMETOOLONG)
			goto describe;
		fuzz_fail("canonical path '%s' does not resolve: %s", path,
		    e.msg);
	}
	path2 = node_path(&again);
	if (strcmp(path, path2) != 0)
		fuzz_fail("canonical path '%s' resolves to '%s'", path, path2);
	if (again.kind != n->kind)
		fuzz_fail("'%s' resolves to a node of another kind", path);
	if (n->kind == PN_PART)
		same_part(n, &again, path);
	free(path2);
	pnode_clear(&again);

	/* its name, from its parent directory, is the same node again */
	pnode_name(n, &name);
	slash = strrchr(path, '/');
	if (slash != NULL && strcmp(slash + 1, buf_str(&name)) != 0)
		fuzz_fail("pnode_name '%s' is not the last component of '%s'",
		    buf_str(&name), path);
	if (slash != NULL) {
		*slash = '\0';
		if (pnode_lookup(lib, path, &parent, &e) != 0)
			fuzz_fail("the parent '%s' of a node does not resolve: "
			    "%s", path, e.msg);
		*slash = '/';
		if (pnode_child(lib, &parent, buf_str(&name), &child, &e) != 0)
			fuzz_fail("'%s' does not resolve as a child of its "
			    "parent: %s", path, e.msg);
		path2 = node_path(&child);
		if (strcmp(path, path2) != 0)
			fuzz_fail("'%s' as a child of its parent is '%s'", path,
			    path2);
		free(path2);
		pnode_clear(&child);
		pnode_clear(&parent);
	}

describe:
	switch (n->kind) {
	case PN_PART:
		if (b->parts == 0)
			break;
		b->parts--;
		perr_clear(&e);
		if ((j = describe_part(n, &e)) == NULL) {
			if (e.code != ENOENT && e.code != EINVAL)
				fuzz_fail("%s: no description and no error "
				    "(code %d: %s)", path, e.code, e.msg);
			break;
		}
		fuzz_dump(j, path);
		break;
	case PN_COLLECTION_JSON:
		fuzz_dump(describe_collection(n->coll), path);
		break;
	case PN_CLASS_JSON:
		fuzz_dump(describe_class(n->cls), path);
		break;
	default:
		break;
	}
	buf_free(&name);
	free(path);
}

struct walk {
	const struct library *lib;
	struct fuzz_budget *b;
	int depth;
	const struct pnode *dir;
	char *prev;           /* the previous name of the listing */
};

static int
walk_entry(void *ctx, const char *name, const struct pnode *child)
{
	struct walk *w = ctx;

	/* A listing is in natural order, without duplicates.  Known bug:
	 * by-standard/ can list a name twice (tests/fuzz/regress/fuzz-yaml/
	 * by-standard-duplicate). */
	if (w->prev != NULL && natcmp(w->prev, name) >= 0 &&
	    (fuzz_strict() || w->dir->kind != PN_INDEX ||
	    strcmp(w->prev, name) != 0)) {
		struct buf path = BUF_INIT;
		pnode_path(w->dir, &path);
		fuzz_fail("the listing of '%s' has '%s' before '%s'",
		    buf_str(&path), w->prev, name);
	}
	free(w->prev);
	w->prev = xstrdup(name);
	if (w->b->entries == 0)
		return 1;
	w->b->entries--;
	fuzz_check_node(w->lib, child, w->b);
	if (w->depth > 0 && pnode_is_dir(child))
		fuzz_walk(w->lib, child, w->depth - 1, w->b);
	return 0;
}

void
fuzz_walk(const struct library *lib, const struct pnode *dir, int depth,
    struct fuzz_budget *b)
{
	struct walk w = { lib, b, depth, dir, NULL };
	struct perr e = { 0 };

	if (b->entries == 0)
		return;
	pnode_list(lib, dir, walk_entry, &w, &e);
	free(w.prev);
}
