/* test-ydoc.c -- the YAML layer: positions, the quirks of real BOLTS data
 * (!include, duplicate keys, None, aliases) and limits against hostile
 * documents. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partsfs/util/ydoc.h"
#include "tap.h"

static struct arena *A;
static struct diags D;

static struct ynode *
load(const char *text)
{
	arena_free(A);
	diags_free(&D);
	A = arena_new();
	return ydoc_load_buffer(A, text, strlen(text), "t.blt", NULL, NULL, &D);
}

static const char *
first_diag(void)
{
	static char *s;

	free(s);
	s = D.n ? diag_format(&D.v[0]) : NULL;
	return s;
}

/* Every diagnostic of the last load, one per line. */
static const char *
all_diags(void)
{
	static struct buf b;

	buf_free(&b);
	for (size_t i = 0; i < D.n; i++) {
		char *s = diag_format(&D.v[i]);
		buf_printf(&b, "%s\n", s);
		free(s);
	}
	return buf_str(&b);
}

static void
nodes_carry_one_based_line_and_column(void)
{
	struct ynode *r = load("a: 1\nb:\n  c: [x, y]\n");

	CHECK(r != NULL && r->kind == Y_MAP);
	struct ynode *c = ymap_get(ymap_get(r, "b"), "c");
	CHECK(c != NULL && c->kind == Y_SEQ && c->n == 2);
	CHECK_INT(c->line, 3);
	CHECK_INT(c->col, 6);
	CHECK_INT(c->items[1]->line, 3);
	CHECK_INT(c->items[1]->col, 10);
}

static void
duplicate_keys_keep_the_later_value_with_a_warning(void)
{
	struct ynode *r = load("labeling:\n  nice: first\n  nice: second\n");

	CHECK(r != NULL);
	CHECK_STR(ymap_get(ymap_get(r, "labeling"), "nice")->str, "second");
	CHECK_INT(ymap_get(r, "labeling")->n, 1);
	CHECK_INT(D.nwarnings, 1);
	CHECK_INT(D.nerrors, 0);
	CHECK_STR(first_diag(), "t.blt:3:3: warning: duplicate key 'nice': "
	    "this later value replaces the one at line 2");
}

static void
an_empty_first_duplicate_is_replaced(void)
{
	/* hex_socket.blt: `types:` twice, the first empty */
	struct ynode *r = load("types:\ntypes:\n  key: Table Index\n");

	CHECK(r != NULL);
	CHECK(ymap_get(r, "types")->kind == Y_MAP);
}

static void
unquoted_none_is_recognised_and_quoted_none_is_text(void)
{
	struct ynode *r = load("a: [None, 'None', \"None\", none]\n");
	struct ynode *a;

	CHECK(r != NULL);
	a = ymap_get(r, "a");
	CHECK(yscalar_is_none(a->items[0]));
	CHECK(!yscalar_is_none(a->items[1]));
	CHECK(!yscalar_is_none(a->items[2]));
	CHECK(!yscalar_is_none(a->items[3]));
}

static void
null_spellings_become_null_nodes(void)
{
	struct ynode *r = load("a:\nb: ~\nc: null\nd: ''\n");

	CHECK(r != NULL);
	CHECK(ymap_get(r, "a")->kind == Y_NULL);
	CHECK(ymap_get(r, "b")->kind == Y_NULL);
	CHECK(ymap_get(r, "c")->kind == Y_NULL);
	CHECK(ymap_get(r, "d")->kind == Y_SCALAR);   /* quoted: text */
}

static void
aliases_share_the_anchored_node(void)
{
	/* washer.blt uses &DIN125 / *DIN125 */
	struct ynode *r = load("a: &T\n  M8: [1, 2]\nb: *T\n");

	CHECK(r != NULL);
	CHECK(ymap_get(r, "a") == ymap_get(r, "b"));
}

static void
alias_bombs_are_refused(void)
{
	struct ynode *r = load(
	    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
	    "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
	    "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
	    "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n");

	CHECK(r == NULL);
	CHECK_INT(D.nerrors, 1);
	CHECK_CONTAINS(first_diag(), "YAML bomb");
}

static void
deep_nesting_is_refused(void)
{
	char text[400];

	memset(text, '[', 200);
	text[200] = '\0';
	CHECK(load(text) == NULL);
	CHECK_CONTAINS(first_diag(), "nesting deeper than 64");
}

static void
aliases_to_an_enclosing_node_are_refused(void)
{
	struct ynode *r = load("a: &x [1, *x]\n");

	CHECK(r != NULL);        /* reported, the rest still read */
	CHECK_INT(D.nerrors, 1);
	CHECK_CONTAINS(first_diag(), "refers to a node that contains it");
}

static void
syntax_errors_give_the_position(void)
{
	CHECK(load("a: [1, 2\nb: 3\n") == NULL);
	CHECK_CONTAINS(first_diag(), "t.blt:");
	CHECK_CONTAINS(first_diag(), "error: YAML syntax");
}

static void
a_second_document_is_an_error(void)
{
	CHECK(load("---\na: 1\n---\nb: 2\n") == NULL);
	CHECK_CONTAINS(first_diag(), "exactly one");
}

static void
documents_without_content_are_null(void)
{
	struct ynode *r = load("# only a comment\n");

	CHECK(r != NULL && r->kind == Y_NULL);
	CHECK_INT(D.n, 0);
}

static void
unknown_tags_are_reported(void)
{
	struct ynode *r = load("a: !python/object x\n");

	CHECK(r != NULL);
	CHECK_INT(D.nerrors, 1);
	CHECK_CONTAINS(first_diag(), "unknown tag");
}

static void
an_explicit_string_tag_keeps_text(void)
{
	struct ynode *r = load("a: !!str 1.5\nb: !!str None\n");

	CHECK(r != NULL);
	CHECK(!ymap_get(r, "a")->plain);
	CHECK(!yscalar_is_none(ymap_get(r, "b")));
}

static void
include_reads_a_file_relative_to_the_data_directory(void)
{
	const char *dir = tap_tmpdir();
	char *path, *inc;
	struct ynode *r, *d;

	tap_write(dir, "data/sub/t.yaml", "M8: [1, 2]\nM8: [3, 4]\n");
	tap_write(dir, "data/x.blt", "data: !include sub/t.yaml\n");
	if (asprintf(&path, "%s/data/x.blt", dir) < 0 ||
	    asprintf(&inc, "%s/data", dir) < 0)
		abort();
	arena_free(A);
	diags_free(&D);
	A = arena_new();
	r = ydoc_load(A, path, "data/x.blt", inc, NULL, &D);
	CHECK(r != NULL);
	d = ymap_get(r, "data");
	CHECK(d != NULL && d->kind == Y_MAP && d->n == 1);
	CHECK_STR(ymap_get(d, "M8")->items[0]->str, "3");
	/* diagnostics inside the included file name that file */
	CHECK_STR(first_diag(), "data/sub/t.yaml:2:1: warning: duplicate key "
	    "'M8': this later value replaces the one at line 1");
	free(path);
	free(inc);
}

/* Load "data: !include TARGET" as data/x.blt of library `dir`, under
 * `lim` (NULL: the defaults). */
static struct ynode *
load_including(const char *dir, const char *target,
    const struct ydoc_limits *lim)
{
	char *text, *inc;
	struct ynode *r;

	if (asprintf(&text, "data: !include %s\n", target) < 0 ||
	    asprintf(&inc, "%s/data", dir) < 0)
		abort();
	arena_free(A);
	diags_free(&D);
	A = arena_new();
	r = ydoc_load_buffer(A, text, strlen(text), "data/x.blt", inc, lim,
	    &D);
	free(text);
	free(inc);
	return r;
}

static struct ynode *
load_with_include(const char *dir, const char *target)
{
	return load_including(dir, target, NULL);
}

/* Includes share the document's node budget: one that includes another
 * many times, which includes another many times, multiplies what a few
 * kilobytes hold (here 30 x 30 x 200 nodes, against a budget of 100000
 * for the test); an alias of an included tree costs the tree.  With a
 * budget each, 44 KB of files made 200 M nodes of the default 4 M. */
/* Under a budget of 100000 nodes. */
static struct ynode *
load_limited(const char *dir, const char *target)
{
	struct ydoc_limits lim = ydoc_default_limits;

	lim.max_nodes = 100000;
	return load_including(dir, target, &lim);
}

static void
includes_share_the_node_budget(void)
{
	const char *dir = tap_tmpdir();
	struct buf leaf = BUF_INIT, mid = BUF_INIT, top = BUF_INIT;
	struct buf alias = BUF_INIT;
	struct ynode *r;

	buf_adds(&leaf, "[0");
	for (int i = 1; i < 200; i++)
		buf_printf(&leaf, ", %d", i);
	buf_adds(&leaf, "]\n");
	tap_write(dir, "data/leaf.yaml", buf_str(&leaf));
	buf_adds(&mid, "[!include leaf.yaml");
	buf_adds(&top, "[!include mid.yaml");
	for (int i = 1; i < 30; i++) {
		buf_adds(&mid, ", !include leaf.yaml");
		buf_adds(&top, ", !include mid.yaml");
	}
	buf_adds(&mid, "]\n");
	buf_adds(&top, "]\n");
	tap_write(dir, "data/mid.yaml", buf_str(&mid));
	tap_write(dir, "data/top.yaml", buf_str(&top));
	/* one mid (6000 nodes) is within the budget, the top (180000) not */
	r = load_limited(dir, "mid.yaml");
	CHECK(r != NULL && ymap_get(r, "data")->n == 30);
	CHECK_INT(D.nerrors, 0);
	load_limited(dir, "top.yaml");
	CHECK_CONTAINS(all_diags(), "expands to more than 100000 nodes");

	/* an anchored include (200 nodes), aliased 1000 times */
	buf_adds(&alias, "x: &x !include leaf.yaml\ny: [*x");
	for (int i = 1; i < 1000; i++)
		buf_adds(&alias, ", *x");
	buf_adds(&alias, "]\n");
	tap_write(dir, "data/alias.yaml", buf_str(&alias));
	load_limited(dir, "alias.yaml");
	CHECK_CONTAINS(all_diags(), "expands to more than 100000 nodes");
	buf_free(&leaf);
	buf_free(&mid);
	buf_free(&top);
	buf_free(&alias);
}

/* The includes of an included file are relative to the data directory,
 * as the file itself is, and diagnostics name the file that was read. */
static void
a_nested_include_is_named_as_read(void)
{
	const char *dir = tap_tmpdir();

	tap_write(dir, "data/sub/a.yaml", "x: !include b.yaml\n");
	tap_write(dir, "data/b.yaml", "k: 1\nk: 2\n");
	load_with_include(dir, "sub/a.yaml");
	CHECK_CONTAINS(all_diags(), "data/b.yaml:2:1: warning: duplicate "
	    "key 'k'");
}

/* Seconds to load n anchors and n aliases of the first one (which a
 * search from the latest anchor back finds last). */
static void
anchors_load_time(int n, double *t)
{
	struct buf y = BUF_INIT;
	double t0;
	struct ynode *r;

	buf_adds(&y, "a:\n");
	for (int i = 0; i < n; i++)
		buf_printf(&y, "  - &a%d %d\n", i, i);
	buf_adds(&y, "b:\n");
	for (int i = 0; i < n; i++)
		buf_adds(&y, "  - *a0\n");
	t0 = now_s();
	r = load(buf_str(&y));
	*t = now_s() - t0;
	buf_free(&y);
	CHECK(r != NULL);
}

/* Finding an alias's anchor does not search every anchor: eight times the
 * anchors and aliases take about eight times as long (a search through
 * them all took 64 times: 100000 of each, 25 s).  A ratio, not a time, so
 * that a slow machine or valgrind does not change the verdict. */
static void
aliases_find_their_anchor_without_a_search(void)
{
	double warm, small = 1e9, big = 1e9, t;

	anchors_load_time(2000, &warm);
	/* the best of five of each: a busy machine stops a run now and
	 * then, never all five */
	for (int i = 0; i < 5; i++) {
		anchors_load_time(5000, &t);
		small = t < small ? t : small;
		anchors_load_time(40000, &t);
		big = t < big ? t : big;
	}
	tap_note("5000 anchors: %.3f s, 40000: %.3f s", small, big);
	/* 8 times as long, against 64 for a search: 32 tells them apart
	 * with room for a loaded machine's noise */
	CHECK_MSG(big < 32 * small + 0.05, "40000 anchors took %.3f s, 5000 "
	    "%.3f s", big, small);
}

static void
include_may_not_leave_the_data_directory(void)
{
	const char *dir = tap_tmpdir();
	char *link;

	tap_write(dir, "data/ok.yaml", "a: 1\n");
	tap_write(dir, "secret.yaml", "a: 1\n");
	load_with_include(dir, "../secret.yaml");
	CHECK_CONTAINS(first_diag(), "outside the data directory");
	load_with_include(dir, "/etc/passwd");
	CHECK_CONTAINS(first_diag(), "must be relative");
	if (asprintf(&link, "%s/data/link.yaml", dir) < 0)
		abort();
	CHECK(symlink("/etc/hostname", link) == 0);
	load_with_include(dir, "link.yaml");
	CHECK_CONTAINS(first_diag(), "outside the data directory");
	load_with_include(dir, "missing.yaml");
	CHECK_CONTAINS(first_diag(), "No such file");
	free(link);
}

static void
include_is_refused_where_not_allowed(void)
{
	struct ynode *r = load("data: !include x.yaml\n");

	CHECK(r != NULL);
	CHECK(ymap_get(r, "data")->kind == Y_NULL);
	CHECK_CONTAINS(first_diag(), "!include is not allowed here");
}

static void
files_over_the_size_limit_are_refused(void)
{
	const char *dir = tap_tmpdir();
	struct ydoc_limits lim = ydoc_default_limits;
	char *path;
	struct ynode *r;

	lim.max_file_bytes = 16;
	tap_write(dir, "big.blt", "a: 12345678901234567890\n");
	if (asprintf(&path, "%s/big.blt", dir) < 0)
		abort();
	arena_free(A);
	diags_free(&D);
	A = arena_new();
	r = ydoc_load(A, path, "big.blt", NULL, &lim, &D);
	CHECK(r == NULL);
	CHECK_CONTAINS(first_diag(), "more than the limit of 16");
	free(path);
}

TAP_MAIN(
	TAP_CASE(nodes_carry_one_based_line_and_column),
	TAP_CASE(duplicate_keys_keep_the_later_value_with_a_warning),
	TAP_CASE(an_empty_first_duplicate_is_replaced),
	TAP_CASE(unquoted_none_is_recognised_and_quoted_none_is_text),
	TAP_CASE(null_spellings_become_null_nodes),
	TAP_CASE(aliases_share_the_anchored_node),
	TAP_CASE(alias_bombs_are_refused),
	TAP_CASE(deep_nesting_is_refused),
	TAP_CASE(aliases_to_an_enclosing_node_are_refused),
	TAP_CASE(syntax_errors_give_the_position),
	TAP_CASE(a_second_document_is_an_error),
	TAP_CASE(documents_without_content_are_null),
	TAP_CASE(unknown_tags_are_reported),
	TAP_CASE(an_explicit_string_tag_keeps_text),
	TAP_CASE(include_reads_a_file_relative_to_the_data_directory),
	TAP_CASE(include_may_not_leave_the_data_directory),
	TAP_CASE(includes_share_the_node_budget),
	TAP_CASE(aliases_find_their_anchor_without_a_search),
	TAP_CASE(a_nested_include_is_named_as_read),
	TAP_CASE(include_is_refused_where_not_allowed),
	TAP_CASE(files_over_the_size_limit_are_refused)
)
