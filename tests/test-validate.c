/* test-validate.c -- every validation rule of the BOLTS specification
 * reports an error (or a warning) at the right file:line:col, one run
 * reports every problem, and a broken collection does not stop the others. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partsfs/model/load.h"
#include "fixture.h"
#include "partsfs/tree/describe.h"
#include "partsfs/tree/path.h"
#include "tap.h"

/* A minimal valid class with parameters, for variations. */
#define CLASS_HEAD \
	"  - id: k\n" \
	"    source: s\n"

static struct library *
raw(const char *blt)
{
	const char *dir = tap_tmpdir();

	tap_write(dir, "data/c.blt", blt);
	return fixture_load_dir(dir);
}

static int
add_name(void *ctx, const char *name, const struct pnode *child)
{
	(void)child;
	buf_printf(ctx, "%s\n", name);
	return 0;
}

/* The listing of `path` in `l`, one name per line (static). */
static const char *
ls(const struct library *l, const char *path)
{
	static struct buf b;
	struct pnode n;
	struct perr e = { 0 };

	buf_reset(&b);
	if (pnode_lookup(l, path, &n, &e) != 0 ||
	    pnode_list(l, &n, add_name, &b, &e) != 0)
		buf_printf(&b, "error: %s", e.msg);
	if (e.code == 0)
		pnode_clear(&n);
	return buf_str(&b);
}

static void
a_valid_collection_has_no_diagnostics(void)
{
	struct library *l = fixture_load("c", CLASS_HEAD
	    "    names: {name: K, labeling: 'K %(a)s'}\n"
	    "    parameters: {free: [a], types: {a: Length (mm)}}\n");

	CHECK_MSG(l->diags.n == 0, "%s", fixture_diags(l));
	CHECK_INT(l->nclasses, 1);
	library_unref(l);
}

static void
collection_mandatory_keys_are_required(void)
{
	struct library *l = raw("---\nid: c\nclasses: []\n");

	EXPECT_ERROR(l, "data/c.blt:2:1: error: collection: missing the "
	    "mandatory key 'author'");
	EXPECT_ERROR(l, "missing the mandatory key 'license'");
	EXPECT_ERROR(l, "missing the mandatory key 'blt-version'");
	library_unref(l);
	l = raw("---\nid: c\nauthor: a <b>\nlicense: MIT <x>\n"
	    "blt-version: 0.4\n");
	EXPECT_ERROR(l, "missing the mandatory key 'classes'");
	library_unref(l);
}

static void
collection_id_must_equal_the_file_name(void)
{
	struct library *l = raw("---\nid: other\nauthor: a <b>\n"
	    "license: MIT <x>\nblt-version: 0.4\nclasses: []\n");

	EXPECT_ERROR(l, "data/c.blt:2:5: error: collection id 'other' must "
	    "equal the file name 'c'");
	library_unref(l);
}

static void
collection_file_names_must_be_ids(void)
{
	const char *dir = tap_tmpdir();
	struct library *l;

	tap_write(dir, "data/bad-name.blt", "id: x\n");
	l = fixture_load_dir(dir);
	EXPECT_ERROR(l, "'bad-name.blt': a collection file is named <id>.blt");
	CHECK_INT(l->ncolls, 0);
	library_unref(l);
}

static void
blt_version_must_be_a_number(void)
{
	struct library *l = raw("---\nid: c\nauthor: a <b>\nlicense: MIT <x>\n"
	    "blt-version: new\nclasses: []\n");

	EXPECT_ERROR(l, "data/c.blt:5:14: error: blt-version must be a number");
	library_unref(l);
}

static void
licenses_outside_the_list_and_bare_authors_are_warnings(void)
{
	struct library *l = raw("---\nid: c\nauthor: Someone\n"
	    "license: Unlicense <https://unlicense.org>\nblt-version: 0.4\n"
	    "classes: []\n");

	CHECK_INT(l->diags.nerrors, 0);
	EXPECT_WARNING(l, "license 'Unlicense' is not one of the licenses");
	EXPECT_WARNING(l, "author 'Someone' should end with an address in <>");
	library_unref(l);
}

static void
class_ids_hold_only_letters_digits_and_underscores(void)
{
	struct library *l = fixture_load("c",
	    "  - id: hex.screw\n    source: s\n");

	EXPECT_ERROR(l, "data/c.blt:7:9: error: class id 'hex.screw' may hold "
	    "only letters, digits and underscores");
	CHECK_INT(l->nclasses, 0);
	library_unref(l);
}

static void
class_ids_are_unique_in_the_collection(void)
{
	struct library *l = fixture_load("c", CLASS_HEAD CLASS_HEAD);

	EXPECT_ERROR(l, "data/c.blt:9:9: error: class id 'k' is used twice in "
	    "this collection (first at line 7)");
	CHECK_INT(l->nclasses, 1);
	library_unref(l);
}

static void
class_ids_are_unique_in_the_library(void)
{
	const char *dir = fixture_dir("a", CLASS_HEAD);
	struct library *l;

	tap_write(dir, "data/b.blt", "---\nid: b\nauthor: a <b>\n"
	    "license: MIT <x>\nblt-version: 0.4\nclasses:\n" CLASS_HEAD);
	l = fixture_load_dir(dir);
	EXPECT_ERROR(l, "data/b.blt:7:9: error: class id 'k' is also used in "
	    "collection 'a'");
	library_unref(l);
}

static void
class_source_is_mandatory(void)
{
	struct library *l = fixture_load("c", "  - id: k\n");

	EXPECT_ERROR(l, "data/c.blt:7:5: error: class: missing the mandatory "
	    "key 'source'");
	library_unref(l);
}

static void
names_need_name_and_labeling(void)
{
	struct library *l = fixture_load("c", CLASS_HEAD
	    "    names: {name: K}\n");

	EXPECT_ERROR(l, "data/c.blt:9:12: error: class name: missing the "
	    "mandatory key 'labeling'");
	library_unref(l);
}

static void
safe_names_hold_only_identifier_characters(void)
{
	struct library *l = fixture_load("c", CLASS_HEAD
	    "    names: {name: {nice: K, safe: 'K-1'}, labeling: K}\n");

	EXPECT_ERROR(l, "safe name 'K-1' may hold only letters, digits and "
	    "underscores");
	library_unref(l);
}

static void
standards_need_a_body_and_a_known_status(void)
{
	struct library *l = fixture_load("c", CLASS_HEAD
	    "    standards:\n"
	    "      - {standard: ISO 1, labeling: x}\n"
	    "      - {standard: ISO 2, labeling: x, body: ISO, status: old}\n"
	    "      - {standard: ISO 3, labeling: x, body: ISO, year: soon}\n"
	    "      - {standard: ISO 4, labeling: x, body: ISO, year: 1e300}\n");

	EXPECT_ERROR(l, "data/c.blt:10:9: error: standard: missing the "
	    "mandatory key 'body'");
	EXPECT_ERROR(l, "status 'old' must be active or withdrawn");
	EXPECT_ERROR(l, "year must be an integer");
	EXPECT_ERROR(l, "data/c.blt:13:57: error: standard: year must be an "
	    "integer from 0 to 9999");
	library_unref(l);
}

static void
types_must_be_type_names(void)
{
	struct library *l = fixture_load("c", CLASS_HEAD
	    "    parameters:\n"
	    "      free: [a]\n"
	    "      types: {a: Length}\n");

	EXPECT_ERROR(l, "data/c.blt:11:18: error: types: 'Length' of "
	    "parameter 'a' is not a type");
	library_unref(l);
}

static void
every_typed_name_must_be_a_parameter(void)
{
	struct library *l = fixture_load("c", CLASS_HEAD
	    "    parameters:\n"
	    "      free: [a]\n"
	    "      types: {a: Number, b: Number}\n");

	EXPECT_ERROR(l, "data/c.blt:11:29: error: types: 'b' is not a "
	    "parameter");
	library_unref(l);
}

static void
every_parameter_needs_a_type(void)
{
	struct library *l = fixture_load("c", CLASS_HEAD
	    "    parameters:\n"
	    "      free: [a, b]\n"
	    "      types: {a: Number}\n");

	EXPECT_ERROR(l, "data/c.blt:10:17: error: free: parameter 'b' has no "
	    "entry in types");
	library_unref(l);
}

static void
every_parameter_gets_exactly_one_value(void)
{
	struct library *l = fixture_load("c", CLASS_HEAD
	    "    parameters:\n"
	    "      literal: {a: 1}\n"
	    "      free: [a]\n"
	    "      types: {a: Number, k: Table Index}\n"
	    "      tables: {index: k, columns: [], data: {x: []}}\n");

	EXPECT_ERROR(l, "data/c.blt:11:14: error: parameter 'a' gets its value "
	    "from a literal and from the free list");
	EXPECT_ERROR(l, "parameter 'k' gets no value");
	library_unref(l);
}

static void
table_rows_have_one_value_per_column(void)
{
	struct library *l = fixture_load("c", CLASS_HEAD
	    "    parameters:\n"
	    "      free: [k]\n"
	    "      types: {k: Table Index, d: Length (mm), e: Length (mm)}\n"
	    "      tables:\n"
	    "        index: k\n"
	    "        columns: [d, e]\n"
	    "        data:\n"
	    "          M3: [1, 2]\n"
	    "          M4: [1]\n");

	EXPECT_ERROR(l, "data/c.blt:17:15: error: table row 'M4': expected a "
	    "list of 2 values (one per column), found 1");
	library_unref(l);
}

static void
table_cells_must_fit_their_column_type(void)
{
	struct library *l = fixture_load("c", CLASS_HEAD
	    "    parameters:\n"
	    "      free: [k]\n"
	    "      types: {k: Table Index, d: Length (mm)}\n"
	    "      tables: {index: k, columns: [d], data: {M3: [abc], "
	    "M4: [-1]}}\n");

	EXPECT_ERROR(l, "d: 'abc' is not a number (Length (mm))");
	EXPECT_ERROR(l, "d: -1 is out of range for Length (mm)");
	library_unref(l);
}

static void
a_table_index_must_have_type_table_index(void)
{
	struct library *l = fixture_load("c", CLASS_HEAD
	    "    parameters:\n"
	    "      free: [k]\n"
	    "      types: {k: String, d: Number}\n"
	    "      tables: {index: k, columns: [d], data: {a: [1]}}\n");

	EXPECT_ERROR(l, "parameter 'k' indexes a table, so its type must be "
	    "Table Index, not String");
	library_unref(l);
}

static void
table_keys_may_not_hold_forbidden_characters(void)
{
	struct library *l = fixture_load("c", CLASS_HEAD
	    "    parameters:\n"
	    "      free: [k]\n"
	    "      types: {k: Table Index, d: Number}\n"
	    "      tables: {index: k, columns: [d], data: {'a/b': [1], "
	    "'c?': [2], ok: [3]}}\n");

	EXPECT_ERROR(l, "key 'a/b' is not a valid Table Index value");
	EXPECT_ERROR(l, "key 'c?' is not a valid Table Index value");
	library_unref(l);
}

static void
a_2d_table_has_two_different_indexes(void)
{
	struct library *l = fixture_load("c", CLASS_HEAD
	    "    parameters:\n"
	    "      free: [k]\n"
	    "      types: {k: Table Index, p: Number}\n"
	    "      tables2d: {rowindex: k, colindex: k, columns: [a],\n"
	    "                 result: p, data: {a: [1]}}\n");

	EXPECT_ERROR(l, "rowindex and colindex are the same parameter");
	library_unref(l);
}

/* A 2d table without its result (or an index) is reported, and its cells
 * are not read with the type of a parameter it does not have (that read
 * was the one before the array: enough parameters give the array a block
 * of its own, where ASan sees it). */
static void
a_2d_table_without_result_or_index_is_an_error(void)
{
	static const char *const missing[] = { "result", "rowindex",
	    "colindex" };

	for (size_t m = 0; m < PF_ARRAY_LEN(missing); m++) {
		struct buf y = BUF_INIT;
		struct library *l;
		char *want;

		buf_adds(&y, CLASS_HEAD
		    "    parameters:\n"
		    "      free: [r, c]\n"
		    "      types: {r: Table Index, c: Table Index, p: Number");
		for (int i = 0; i < 150; i++)
			buf_printf(&y, ", x%d: Number", i);
		buf_adds(&y, "}\n      tables2d: {");
		if (strcmp(missing[m], "rowindex") != 0)
			buf_adds(&y, "rowindex: r, ");
		if (strcmp(missing[m], "colindex") != 0)
			buf_adds(&y, "colindex: c, ");
		if (strcmp(missing[m], "result") != 0)
			buf_adds(&y, "result: p, ");
		buf_adds(&y, "columns: [A, B], data: {X: [1, 2], Y: [3, 4]}}\n");
		l = fixture_load("c", buf_str(&y));
		want = xasprintf("2d table: missing the mandatory key '%s'",
		    missing[m]);
		EXPECT_ERROR(l, want);
		library_unref(l);
		free(want);
		buf_free(&y);
	}
}

/* Parameter names go into part file names and labels: those that would
 * break them are errors (the class's parts could not be found by the
 * names listed). */
static void
parameter_names_fit_file_names_and_labels(void)
{
	struct library *l = fixture_load("c", CLASS_HEAD
	    "    parameters:\n"
	    "      free: [ok_1]\n"
	    "      types: {ok_1: Number, \"le/n\": Length (mm), \"a=b\": "
	    "Number,\n"
	    "              \"x,y\": String, \"p%\": Number, \"(q)\": Number,\n"
	    "              \"sp ace\": Number, \"\": Number}\n");

	EXPECT_ERROR(l, "parameter name 'le/n' holds '/'");
	EXPECT_ERROR(l, "parameter name 'a=b' holds '='");
	EXPECT_ERROR(l, "parameter name 'x,y' holds ','");
	EXPECT_ERROR(l, "parameter name 'p%' holds '%'");
	EXPECT_ERROR(l, "parameter name '(q)' holds '('");
	EXPECT_ERROR(l, "parameter name 'sp ace' holds byte 0x20");
	EXPECT_ERROR(l, "a parameter name is empty");
	library_unref(l);
}

/* A Table Index value is a directory name as the tree writes it: '%' as
 * %25, so 100 of them are 300 bytes, over the limit of a name. */
static void
table_keys_are_measured_as_written_in_the_tree(void)
{
	char key[101], *text;
	struct library *l;

	memset(key, '%', 100);
	key[100] = '\0';
	text = xasprintf(CLASS_HEAD
	    "    parameters:\n"
	    "      free: [k]\n"
	    "      types: {k: Table Index, d: Number}\n"
	    "      tables: {index: k, columns: [d], data: {M1: [1], '%s': "
	    "[2]}}\n", key);
	l = fixture_load("c", text);
	EXPECT_ERROR(l, "is 300 bytes long as a name in the tree");
	library_unref(l);
	free(text);
}

static void
defaults_are_for_free_parameters_only(void)
{
	struct library *l = fixture_load("c", CLASS_HEAD
	    "    parameters:\n"
	    "      literal: {b: 2}\n"
	    "      free: [a]\n"
	    "      defaults: {a: 1, b: 3}\n"
	    "      types: {a: Number, b: Number}\n");

	EXPECT_ERROR(l, "data/c.blt:12:24: error: defaults: 'b' is not a free "
	    "parameter");
	library_unref(l);
}

static void
table_index_defaults_are_among_the_choices(void)
{
	struct library *l = fixture_load("c", CLASS_HEAD
	    "    parameters:\n"
	    "      free: [k]\n"
	    "      defaults: {k: M7}\n"
	    "      types: {k: Table Index, d: Number}\n"
	    "      tables: {index: k, columns: [d], data: {M6: [1], M8: [2]}}\n");

	EXPECT_ERROR(l, "data/c.blt:11:21: error: defaults: 'M7' is not a "
	    "choice of k");
	library_unref(l);
}

static void
a_missing_table_index_default_falls_back_to_the_first_choice(void)
{
	struct library *l = fixture_load("c", CLASS_HEAD
	    "    parameters:\n"
	    "      free: [k]\n"
	    "      types: {k: Table Index, d: Number}\n"
	    "      tables: {index: k, columns: [d], data: {M8: [2], M6: [1]}}\n");

	CHECK_INT(l->diags.nerrors, 0);
	EXPECT_WARNING(l, "'k' has no default: its first choice 'M6' is used");
	library_unref(l);
}

static void
common_tuples_fit_the_free_list(void)
{
	struct library *l = fixture_load("c", CLASS_HEAD
	    "    parameters:\n"
	    "      free: [k, l]\n"
	    "      defaults: {k: M6}\n"
	    "      types: {k: Table Index, d: Number, l: Length (mm)}\n"
	    "      tables: {index: k, columns: [d], data: {M6: [1], M8: [2]}}\n"
	    "      common:\n"
	    "        - [[M6]]\n"
	    "        - [[M9], [10]]\n"
	    "        - [[M8], ':']\n");

	EXPECT_ERROR(l, "data/c.blt:15:11: error: common: a tuple needs one "
	    "entry per free parameter (2)");
	EXPECT_ERROR(l, "common: 'M9' is not a choice of k");
	EXPECT_ERROR(l, "':' stands for all choices, but 'l' is not discrete");
	library_unref(l);
}

static void
labels_name_existing_parameters(void)
{
	struct library *l = fixture_load("c", CLASS_HEAD
	    "    names: {name: K, labeling: 'K %(size)s'}\n"
	    "    parameters: {free: [a], types: {a: Number}}\n");

	EXPECT_ERROR(l, "labeling: %(size)s names no parameter of the class");
	library_unref(l);
}

static void
one_run_reports_every_problem(void)
{
	struct library *l = fixture_load("c",
	    "  - id: a\n"
	    "    source: s\n"
	    "    parameters: {free: [x], types: {x: Nothing}}\n"
	    "  - id: b\n"
	    "  - id: c.d\n"
	    "    source: s\n"
	    "  - id: e\n"
	    "    source: s\n");

	/* the bad type also leaves 'x' undeclared: four errors */
	CHECK_MSG(l->diags.nerrors == 4, "%s", fixture_diags(l));
	EXPECT_ERROR(l, "'Nothing' of parameter 'x' is not a type");
	EXPECT_ERROR(l, "free: parameter 'x' has no entry in types");
	EXPECT_ERROR(l, "missing the mandatory key 'source'");
	EXPECT_ERROR(l, "class id 'c.d'");
	/* the valid class is still there */
	CHECK(library_class(l, "e") != NULL);
	library_unref(l);
}

static void
a_broken_collection_does_not_stop_the_others(void)
{
	const char *dir = fixture_dir("good", CLASS_HEAD);
	struct library *l;

	tap_write(dir, "data/bad.blt", "id: bad\nclasses: [\n");
	l = fixture_load_dir(dir);
	EXPECT_ERROR(l, "data/bad.blt:");
	CHECK(library_collection(l, "good") != NULL);
	CHECK(library_collection(l, "bad") == NULL);
	CHECK(library_class(l, "k") != NULL);
	library_unref(l);
}

static void
diagnostics_come_sorted_by_file_and_line(void)
{
	struct library *l = fixture_load("c",
	    "  - id: z\n"
	    "  - id: a\n");

	CHECK_INT(l->diags.n, 2);
	CHECK(l->diags.v[0].line < l->diags.v[1].line);
	library_unref(l);
}

/* Base files. */

static const char *
base_fixture(const char *base, bool with_module)
{
	const char *dir = fixture_dir("c", CLASS_HEAD
	    "    parameters: {free: [a], types: {a: Length (mm)}}\n");

	tap_write(dir, "openscad/c/c.base", base);
	if (with_module)
		tap_write(dir, "openscad/c/m.scad", "module m(a) { cube(a); }\n");
	return dir;
}

static void
base_entries_must_name_classes_of_the_collection(void)
{
	struct library *l = fixture_load_dir(base_fixture(
	    "- filename: m.scad\n  type: module\n  author: a <b>\n"
	    "  license: MIT <x>\n  modules:\n"
	    "    - {name: m, arguments: [a], classids: [k, nope]}\n", true));

	EXPECT_ERROR(l, "openscad/c/c.base:6:47: error: classids: 'nope' is "
	    "not a class of collection 'c'");
	CHECK(library_class(l, "k")->scad != NULL);
	library_unref(l);
}

/* A base file's parameters add to the class's; a default for one of the
 * class's own would make default.stl another part than default.step. */
static void
a_base_file_does_not_change_the_class_defaults(void)
{
	struct library *l = fixture_load_dir(base_fixture(
	    "- filename: m.scad\n  type: module\n  author: a <b>\n"
	    "  license: MIT <x>\n  modules:\n"
	    "    - {name: m, arguments: [a], classids: [k],\n"
	    "       parameters: {types: {}, defaults: {a: 77}}}\n", true));

	EXPECT_ERROR(l, "defaults: 'a' is a parameter of the class, whose "
	    "default is the class's");
	CHECK(library_class(l, "k")->scad == NULL);
	library_unref(l);
}

static void
module_arguments_must_be_parameters(void)
{
	struct library *l = fixture_load_dir(base_fixture(
	    "- filename: m.scad\n  type: module\n  author: a <b>\n"
	    "  license: MIT <x>\n  modules:\n"
	    "    - {name: m, arguments: [a, b], classids: [k]}\n", true));

	EXPECT_ERROR(l, "module m: argument 'b' is not a parameter of class k");
	CHECK(library_class(l, "k")->scad == NULL);
	library_unref(l);
}

static void
module_names_are_identifiers(void)
{
	struct library *l = fixture_load_dir(base_fixture(
	    "- filename: m.scad\n  type: module\n  author: a <b>\n"
	    "  license: MIT <x>\n  modules:\n"
	    "    - {name: 'm(); x', arguments: [a], classids: [k]}\n", true));

	EXPECT_ERROR(l, "module name 'm(); x' is not an OpenSCAD identifier");
	library_unref(l);
}

static void
a_missing_module_file_is_a_warning_and_gives_no_geometry(void)
{
	struct library *l = fixture_load_dir(base_fixture(
	    "- filename: m.scad\n  type: module\n  author: a <b>\n"
	    "  license: MIT <x>\n  modules:\n"
	    "    - {name: m, arguments: [a], classids: [k]}\n", false));

	CHECK_INT(l->diags.nerrors, 0);
	EXPECT_WARNING(l, "openscad/c/c.base:1:13: warning: openscad/c/m.scad "
	    "does not exist");
	CHECK(library_class(l, "k")->scad == NULL);
	library_unref(l);
}

static void
base_file_names_may_not_leave_their_directory(void)
{
	struct library *l = fixture_load_dir(base_fixture(
	    "- filename: ../../etc/passwd\n  type: module\n  author: a <b>\n"
	    "  license: MIT <x>\n  modules: []\n"
	    "- filename: /etc/passwd\n  type: module\n  author: a <b>\n"
	    "  license: MIT <x>\n  modules: []\n", false));

	EXPECT_ERROR(l, "openscad/c/c.base:1:13: error: filename "
	    "'../../etc/passwd' must name a file in openscad/c/");
	EXPECT_ERROR(l, "filename '/etc/passwd' must name a file");
	library_unref(l);
}

static void
base_files_may_not_be_links_out_of_the_library(void)
{
	const char *dir = base_fixture(
	    "- filename: m.scad\n  type: module\n  author: a <b>\n"
	    "  license: MIT <x>\n  modules:\n"
	    "    - {name: m, arguments: [a], classids: [k]}\n", false);
	char *link;
	struct library *l;

	if (asprintf(&link, "%s/openscad/c/m.scad", dir) < 0)
		abort();
	CHECK(symlink("/etc/hostname", link) == 0);
	l = fixture_load_dir(dir);
	EXPECT_ERROR(l, "openscad/c/m.scad is a link to /etc/hostname, outside "
	    "the library: refused");
	CHECK(library_class(l, "k")->scad == NULL);
	library_unref(l);
	free(link);
}

static void
a_class_has_at_most_one_module(void)
{
	struct library *l = fixture_load_dir(base_fixture(
	    "- filename: m.scad\n  type: module\n  author: a <b>\n"
	    "  license: MIT <x>\n  modules:\n"
	    "    - {name: m, arguments: [a], classids: [k]}\n"
	    "    - {name: n, arguments: [a], classids: [k]}\n", true));

	EXPECT_ERROR(l, "class k already has the OpenSCAD module m");
	library_unref(l);
}

static void
base_parameters_join_the_class_parameters(void)
{
	struct library *l = fixture_load_dir(base_fixture(
	    "- filename: m.scad\n  type: module\n  author: a <b>\n"
	    "  license: MIT <x>\n  modules:\n"
	    "    - name: m\n      arguments: [a, detailed]\n"
	    "      classids: [k]\n"
	    "      parameters:\n"
	    "        free: [detailed]\n"
	    "        types: {detailed: Bool}\n"
	    "        defaults: {detailed: true}\n", true));
	const struct pclass *k = library_class(l, "k");

	CHECK_MSG(l->diags.n == 0, "%s", fixture_diags(l));
	CHECK(k->scad != NULL);
	CHECK_INT(k->scad->ps->nfree, 2);
	CHECK_INT(k->ps.nfree, 1);
	CHECK(k->scad->ps->params[pset_find(k->scad->ps, "detailed")].def.u.b);
	library_unref(l);
}

static void
drawings_attach_to_their_classes(void)
{
	const char *dir = fixture_dir("c", CLASS_HEAD);
	struct library *l;

	tap_write(dir, "drawings/c/c.base", "- filename: k1\n"
	    "  type: drawing-dimensions\n  author: a <b>\n"
	    "  license: CC0 1.0 <x>\n  classids: [k]\n"
	    "- filename: gone\n  type: drawing-dimensions\n  author: a <b>\n"
	    "  license: CC0 1.0 <x>\n  classids: [k]\n");
	tap_write(dir, "drawings/c/k1.svg", "<svg/>\n");
	l = fixture_load_dir(dir);
	CHECK(library_class(l, "k")->extra->drawing_svg != NULL);
	CHECK(library_class(l, "k")->extra->drawing_png == NULL);
	EXPECT_WARNING(l, "drawing 'gone' has neither gone.svg nor gone.png");
	library_unref(l);
}

static void
a_blt_that_is_not_a_mapping_is_listed_and_reported(void)
{
	const char *dir = tap_tmpdir();
	struct library *l;

	/* found by fuzzing: these crashed ls and then library_load */
	tap_write(dir, "data/empty.blt", "");
	tap_write(dir, "data/list.blt", "- a\n- b\n");
	tap_write(dir, "data/scalar.blt", "just text\n");
	l = fixture_load_dir(dir);
	EXPECT_ERROR(l, "data/list.blt:1:1: error: a blt file holds one "
	    "mapping");
	EXPECT_ERROR(l, "data/scalar.blt:1:1: error: a blt file holds one "
	    "mapping");
	CHECK_INT(l->nclasses, 0);
	CHECK_CONTAINS(ls(l, ""), "list\n");
	CHECK_CONTAINS(ls(l, ""), "scalar\n");
	CHECK_STR(ls(l, "list"), "");
	for (size_t i = 0; i < l->ncolls; i++) {
		json_t *j = describe_collection(l->colls[i]);
		CHECK_MSG(j != NULL, "%s.json: no description", l->colls[i]->id);
		json_decref(j);
	}
	library_unref(l);
}

static void
by_standard_names_are_unique(void)
{
	struct library *l = fixture_load("c",
	    "  - {id: nut, source: s, standards: {standard: ISO 4032, "
	    "body: ISO, labeling: N}}\n"
	    "  - {id: nut2, source: s, standards: {standard: ISO 4032, "
	    "body: ISO, labeling: N}}\n"
	    "  - {id: other, source: s, standards: {standard: {nice: "
	    "ISO4032_nut, safe: ISO4032_nut}, body: ISO, labeling: N}}\n");
	struct pnode n;
	struct buf t = BUF_INIT;

	/* nut and nut2 share a standard and get ISO4032_<class id>; the
	 * first of them meets the plain name of class other */
	EXPECT_ERROR(l, "by-standard/ISO4032_nut would name both class nut "
	    "(collection c) and class other (collection c)");
	CHECK_STR(ls(l, "by-standard"), "ISO4032_nut\nISO4032_nut2\n");
	CHECK_INT(pnode_lookup(l, "by-standard/ISO4032_nut", &n, NULL), 0);
	pnode_link_target(&n, &t);
	CHECK_STR(buf_str(&t), "../c/nut");
	pnode_clear(&n);
	buf_free(&t);
	library_unref(l);
}

/* Live reloading (library_reload) keeps what did not change. */

#define KEPT_CLASS(id) \
	"  - id: " id "\n" \
	"    names: {name: " id ", labeling: " id "_l}\n" \
	"    parameters: {free: [l], types: {l: Length (mm)}}\n" \
	"    source: test\n"

static const char *
kept_header(const char *id)
{
	static char buf[256];

	snprintf(buf, sizeof buf, "---\nid: %s\nauthor: T <t@example.org>\n"
	    "license: MIT <http://opensource.org/licenses/MIT>\n"
	    "blt-version: 0.4\n", id);
	return buf;
}

/* A library of collections a (inline classes) and b (its classes in an
 * included file, data/b-classes.yaml), loaded once the coarse clock has
 * moved past the files' times. */
static struct library *
kept_library(const char **dirp)
{
	const char *dir = tap_tmpdir();
	char *a, *b;

	if (asprintf(&a, "%sclasses:\n" KEPT_CLASS("ka1") KEPT_CLASS("ka2"),
	    kept_header("a")) < 0 || asprintf(&b, "%sclasses: !include "
	    "b-classes.yaml\n", kept_header("b")) < 0)
		abort();
	tap_write(dir, "data/a.blt", a);
	tap_write(dir, "data/b.blt", b);
	tap_write(dir, "data/b-classes.yaml", KEPT_CLASS("kb1"));
	free(a);
	free(b);
	usleep(30000);
	*dirp = dir;
	return fixture_load_dir(dir);
}

static struct library *
kept_reload(const char *dir, const struct library *old, size_t *nread)
{
	struct perr e = { 0 };
	struct library_opts o = { .threads = 1 };
	struct library *lib = library_reload(dir, &o, old, nread, &e);

	if (lib == NULL) {
		tap_note("library_reload: %s", e.msg);
		abort();
	}
	return lib;
}

static void
an_unchanged_collection_is_kept_by_a_reload(void)
{
	const char *dir;
	struct library *old = kept_library(&dir), *lib;
	size_t nread = 99;

	CHECK_INT(old->diags.nerrors, 0);
	lib = kept_reload(dir, old, &nread);
	CHECK_INT(nread, 0);
	CHECK_INT(lib->ncolls, 2);
	CHECK(library_collection(lib, "a") == library_collection(old, "a"));
	CHECK(library_collection(lib, "b") == library_collection(old, "b"));
	CHECK(library_class(lib, "ka2") == library_class(old, "ka2"));
	CHECK(library_class(lib, "kb1") == library_class(old, "kb1"));
	CHECK(lib->generation != old->generation);
	/* the old snapshot stays whole while it is held */
	library_unref(lib);
	CHECK_STR(library_class(old, "ka1")->id, "ka1");
	library_unref(old);
}

static void
an_edited_collection_is_read_again(void)
{
	const char *dir;
	struct library *old = kept_library(&dir), *lib;
	size_t nread = 99;
	char *a;

	if (asprintf(&a, "%sclasses:\n" KEPT_CLASS("ka1") KEPT_CLASS("ka2")
	    KEPT_CLASS("ka3"), kept_header("a")) < 0)
		abort();
	tap_write(dir, "data/a.blt", a);
	free(a);
	usleep(30000);
	lib = kept_reload(dir, old, &nread);
	CHECK_INT(nread, 1);
	CHECK(library_collection(lib, "a") != library_collection(old, "a"));
	CHECK(library_class(lib, "ka3") != NULL);
	CHECK(library_class(old, "ka3") == NULL);
	CHECK(library_collection(lib, "b") == library_collection(old, "b"));
	CHECK(library_class(lib, "kb1") == library_class(old, "kb1"));
	library_unref(old);
	CHECK_INT(library_collection(lib, "a")->nclasses, 3);
	library_unref(lib);
}

static void
a_changed_include_makes_its_collection_read_again(void)
{
	const char *dir;
	struct library *old = kept_library(&dir), *lib;
	size_t nread = 99;

	tap_write(dir, "data/b-classes.yaml", KEPT_CLASS("kb1")
	    KEPT_CLASS("kb2"));
	usleep(30000);
	lib = kept_reload(dir, old, &nread);
	CHECK_INT(nread, 1);
	CHECK(library_collection(lib, "a") == library_collection(old, "a"));
	CHECK(library_collection(lib, "b") != library_collection(old, "b"));
	CHECK(library_class(lib, "kb2") != NULL);
	library_unref(lib);
	library_unref(old);
}

static void
a_kept_collection_keeps_its_diagnostics(void)
{
	const char *dir = tap_tmpdir();
	struct library *old, *lib;
	size_t nread = 99;
	char *a;

	/* an unknown key: a warning, which the kept snapshot repeats */
	if (asprintf(&a, "%sclasses:\n" KEPT_CLASS("kw1") "    colour: red\n",
	    kept_header("w")) < 0)
		abort();
	tap_write(dir, "data/w.blt", a);
	free(a);
	usleep(30000);
	old = fixture_load_dir(dir);
	EXPECT_WARNING(old, "unknown key 'colour'");
	lib = kept_reload(dir, old, &nread);
	CHECK_INT(nread, 0);
	EXPECT_WARNING(lib, "unknown key 'colour'");
	CHECK_INT(lib->diags.nwarnings, old->diags.nwarnings);
	library_unref(lib);
	library_unref(old);
}

/* A class `id` with a name and standard `std` (a C string literal). */
#define STD_CLASS(id, std) \
	"  - {id: " id ", source: s, names: {name: N" id ", labeling: L}, " \
	"standards: {standard: " std ", body: ISO, labeling: N}}\n"

/* The links of an index, one "name class collection" a line. */
static char *
links_text(const struct class_link *v, size_t n)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s %s %s\n", v[i].name, v[i].cls->id,
		    v[i].cls->coll->id);
	return buf_steal(&b);
}

/* Collection `id` of classes `classes` written in dir, and the library
 * *libp reloaded (the reload replaces it): its indexes and errors must be
 * those of the library loaded afresh. */
static void
reload_as_fresh(const char *dir, struct library **libp, const char *id,
    const char *classes)
{
	struct library *old = *libp, *lib, *full;
	char *text, *path, *a, *b, *c, *d;
	size_t nread;
	bool same;

	path = xasprintf("data/%s.blt", id);
	text = xasprintf("%sclasses:\n%s", kept_header(id), classes);
	tap_write(dir, path, text);
	free(path);
	free(text);
	usleep(30000);
	*libp = lib = kept_reload(dir, old, &nread);
	library_unref(old);
	full = fixture_load_dir(dir);
	CHECK_INT(nread, 1);
	a = links_text(lib->by_name, lib->nby_name);
	b = links_text(full->by_name, full->nby_name);
	c = links_text(lib->by_standard, lib->nby_standard);
	d = links_text(full->by_standard, full->nby_standard);
	same = strcmp(a, b) == 0 && strcmp(c, d) == 0;
	if (!same)
		tap_note("by-name/:\n%s\nafresh:\n%s\nby-standard/:\n%s\n"
		    "afresh:\n%s", a, b, c, d);
	free(a);
	free(b);
	free(c);
	free(d);
	if (!same)
		library_unref(full);
	CHECK(same);
	CHECK_INT(lib->diags.nerrors, full->diags.nerrors);
	CHECK_INT(lib->plain, full->plain);
	library_unref(full);
}

static void
a_reload_builds_the_indexes_a_load_builds(void)
{
	const char *dir = tap_tmpdir();
	struct library *lib;
	char *text;

	for (int i = 0; i < 4; i++) {
		char *id = xasprintf("s%d", i), *path;
		char *classes = xasprintf("  - {id: x%da, source: s, names: "
		    "{name: Na%d, labeling: L}, standards: {standard: ISO "
		    "10%d, body: ISO, labeling: N}}\n"
		    "  - {id: x%db, source: s, names: {name: Nb%d, labeling: "
		    "L}}\n", i, i, i, i, i);
		path = xasprintf("data/%s.blt", id);
		text = xasprintf("%sclasses:\n%s", kept_header(id), classes);
		tap_write(dir, path, text);
		free(text);
		free(path);
		free(classes);
		free(id);
	}
	usleep(30000);
	lib = fixture_load_dir(dir);
	CHECK_INT(lib->diags.nerrors, 0);
	CHECK(lib->plain);
	/* a class added, with a name and a standard of its own: sorted in */
	reload_as_fresh(dir, &lib, "s1", STD_CLASS("x1a", "ISO 101")
	    STD_CLASS("x1c", "ISO 50") "  - {id: x1b, source: s, names: "
	    "{name: Nb1, labeling: L}}\n");
	CHECK(lib->plain);
	/* a standard of a class kept: both get <safe>_<class id> */
	reload_as_fresh(dir, &lib, "s2", STD_CLASS("x2a", "ISO 100"));
	CHECK(!lib->plain);
	CHECK(library_link(lib->by_standard, lib->nby_standard,
	    "ISO100_x0a") != NULL);
	/* and gone again */
	reload_as_fresh(dir, &lib, "s2", STD_CLASS("x2a", "ISO 102"));
	CHECK(lib->plain);
	/* a class id or a safe name of a kept collection: errors */
	reload_as_fresh(dir, &lib, "s3", STD_CLASS("x0b", "ISO 103"));
	EXPECT_ERROR(lib, "class id 'x0b' is also used");
	CHECK(!lib->plain);
	reload_as_fresh(dir, &lib, "s3", STD_CLASS("x3a", "ISO 103")
	    "  - {id: x3b, source: s, names: {name: Nb0, labeling: L}}\n");
	CHECK(!lib->plain);
	reload_as_fresh(dir, &lib, "s3", STD_CLASS("x3a", "ISO 103"));
	CHECK(lib->plain);
	/* a collection gone: its links with it */
	text = xasprintf("%s/data/s0.blt", dir);
	unlink(text);
	free(text);
	usleep(30000);
	{
		size_t nread;
		struct library *next = kept_reload(dir, lib, &nread);
		CHECK(library_link(next->by_name, next->nby_name, "Na0") ==
		    NULL);
		CHECK(library_link(next->by_standard, next->nby_standard,
		    "ISO100") == NULL);
		CHECK(library_link(next->by_name, next->nby_name, "Nb1") !=
		    NULL);
		library_unref(lib);
		library_unref(next);
	}
}

TAP_MAIN(
	TAP_CASE(a_valid_collection_has_no_diagnostics),
	TAP_CASE(collection_mandatory_keys_are_required),
	TAP_CASE(collection_id_must_equal_the_file_name),
	TAP_CASE(collection_file_names_must_be_ids),
	TAP_CASE(blt_version_must_be_a_number),
	TAP_CASE(licenses_outside_the_list_and_bare_authors_are_warnings),
	TAP_CASE(class_ids_hold_only_letters_digits_and_underscores),
	TAP_CASE(class_ids_are_unique_in_the_collection),
	TAP_CASE(class_ids_are_unique_in_the_library),
	TAP_CASE(class_source_is_mandatory),
	TAP_CASE(names_need_name_and_labeling),
	TAP_CASE(safe_names_hold_only_identifier_characters),
	TAP_CASE(standards_need_a_body_and_a_known_status),
	TAP_CASE(types_must_be_type_names),
	TAP_CASE(every_typed_name_must_be_a_parameter),
	TAP_CASE(every_parameter_needs_a_type),
	TAP_CASE(every_parameter_gets_exactly_one_value),
	TAP_CASE(table_rows_have_one_value_per_column),
	TAP_CASE(table_cells_must_fit_their_column_type),
	TAP_CASE(a_table_index_must_have_type_table_index),
	TAP_CASE(table_keys_may_not_hold_forbidden_characters),
	TAP_CASE(a_2d_table_has_two_different_indexes),
	TAP_CASE(a_2d_table_without_result_or_index_is_an_error),
	TAP_CASE(parameter_names_fit_file_names_and_labels),
	TAP_CASE(table_keys_are_measured_as_written_in_the_tree),
	TAP_CASE(defaults_are_for_free_parameters_only),
	TAP_CASE(table_index_defaults_are_among_the_choices),
	TAP_CASE(a_missing_table_index_default_falls_back_to_the_first_choice),
	TAP_CASE(common_tuples_fit_the_free_list),
	TAP_CASE(labels_name_existing_parameters),
	TAP_CASE(one_run_reports_every_problem),
	TAP_CASE(a_broken_collection_does_not_stop_the_others),
	TAP_CASE(diagnostics_come_sorted_by_file_and_line),
	TAP_CASE(base_entries_must_name_classes_of_the_collection),
	TAP_CASE(module_arguments_must_be_parameters),
	TAP_CASE(a_base_file_does_not_change_the_class_defaults),
	TAP_CASE(module_names_are_identifiers),
	TAP_CASE(a_missing_module_file_is_a_warning_and_gives_no_geometry),
	TAP_CASE(base_file_names_may_not_leave_their_directory),
	TAP_CASE(base_files_may_not_be_links_out_of_the_library),
	TAP_CASE(a_class_has_at_most_one_module),
	TAP_CASE(base_parameters_join_the_class_parameters),
	TAP_CASE(drawings_attach_to_their_classes),
	TAP_CASE(a_blt_that_is_not_a_mapping_is_listed_and_reported),
	TAP_CASE(by_standard_names_are_unique),
	TAP_CASE(an_unchanged_collection_is_kept_by_a_reload),
	TAP_CASE(an_edited_collection_is_read_again),
	TAP_CASE(a_changed_include_makes_its_collection_read_again),
	TAP_CASE(a_kept_collection_keeps_its_diagnostics),
	TAP_CASE(a_reload_builds_the_indexes_a_load_builds)
)
