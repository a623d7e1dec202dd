/* test-params.c -- parameter collection as the BOLTS specification defines
 * it: literals, free values and defaults, table and 2d table lookups,
 * choices, common combinations and labels. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "fixture.h"
#include "partsfs/model/label.h"
#include "partsfs/model/pset.h"
#include "tap.h"

/* A class with a literal, a table, a 2d table that overrides one table
 * column, and None cells. */
static const char *const SCREW =
"  - id: screw\n"
"    names:\n"
"      name: Screw\n"
"      labeling:\n"
"        nice: Screw %(key)s x %(l)s %(note)s\n"
"    standards:\n"
"      body: ISO\n"
"      standard: ISO 4017\n"
"      labeling: Screw ISO 4017 %(key)s - %(l)s\n"
"    parameters:\n"
"      literal: {note: plain}\n"
"      free: [key, l, thread]\n"
"      defaults: {key: M8, l: 20, thread: coarse}\n"
"      types:\n"
"        key: Table Index\n"
"        l: Length (mm)\n"
"        d: Length (mm)\n"
"        k: Length (mm)\n"
"        h: Length (mm)\n"
"        pitch: Length (mm)\n"
"        thread: Table Index\n"
"        note: String\n"
"      tables:\n"
"        index: key\n"
"        columns: [d, k, h, pitch]\n"
"        data:\n"
"          M10: [10, 6.4, 4.5, 1.5]\n"
"          M8: [8, 5.3, None, 1.25]\n"
"          M1.6: [1.6, 1.1, None, 0.35]\n"
"          M2: [2, 1.4, None, 0.4]\n"
"          M99: [99, 1, 1, 1]\n"
"      tables2d:\n"
"        rowindex: key\n"
"        colindex: thread\n"
"        columns: [coarse, fine I, fine II]\n"
"        result: pitch\n"
"        data:\n"
"          M1.6: [0.35, 0.2, None]\n"
"          M2: [0.4, 0.25, None]\n"
"          M8: [1.25, 1, 0.75]\n"
"          M10: [1.5, 1.25, 1]\n"
"      common:\n"
"        - [[M8], [16, 20], [coarse, fine I]]\n"
"        - [[M10, M2], [25], ':']\n"
"    source: test\n";

static struct library *lib;
static const struct pclass *screw;

static void
setup(void)
{
	if (lib == NULL) {
		lib = fixture_load("c", SCREW);
		screw = library_class(lib, "screw");
	}
}

#define COLLECT(...) \
	(setup(), fixture_collect(screw, (const char *const[]){ __VA_ARGS__, \
	    NULL }, vals, &e))

static void
the_class_loads_with_one_warning_for_the_double_source(void)
{
	setup();
	CHECK(screw != NULL);
	CHECK_MSG(lib->diags.nerrors == 0, "%s", fixture_diags(lib));
	CHECK_INT(lib->diags.nwarnings, 1);
	CHECK(fixture_diag(lib, DIAG_WARNING, "'pitch' comes from a table "
	    "column and from this 2d table") != NULL);
}

static void
omitted_free_parameters_take_their_defaults(void)
{
	struct value vals[16];
	struct perr e = { 0 };

	CHECK_INT(COLLECT(NULL), 0);
	CHECK_STR(fixture_value(screw, vals, "key"), "M8");
	CHECK_STR(fixture_value(screw, vals, "l"), "20");
	CHECK_STR(fixture_value(screw, vals, "thread"), "coarse");
}

static void
literals_are_assigned(void)
{
	struct value vals[16];
	struct perr e = { 0 };

	CHECK_INT(COLLECT(NULL), 0);
	CHECK_STR(fixture_value(screw, vals, "note"), "plain");
}

static void
table_columns_come_from_the_indexed_row(void)
{
	struct value vals[16];
	struct perr e = { 0 };

	CHECK_INT(COLLECT("key", "M10"), 0);
	CHECK_STR(fixture_value(screw, vals, "d"), "10");
	CHECK_STR(fixture_value(screw, vals, "k"), "6.4");
	CHECK_STR(fixture_value(screw, vals, "h"), "4.5");
}

static void
none_cells_have_no_value(void)
{
	struct value vals[16];
	struct perr e = { 0 };

	CHECK_INT(COLLECT("key", "M8"), 0);
	CHECK_STR(fixture_value(screw, vals, "h"), "(null)");
	CHECK_INT(COLLECT("key", "M8", "thread", "fine II"), 0);
	CHECK_STR(fixture_value(screw, vals, "pitch"), "0.75");
	CHECK_INT(COLLECT("key", "M2", "thread", "fine II"), 0);
	CHECK_STR(fixture_value(screw, vals, "pitch"), "(null)");
}

static void
a_2d_table_result_wins_over_a_table_column(void)
{
	struct value vals[16];
	struct perr e = { 0 };

	CHECK_INT(COLLECT("key", "M8", "thread", "fine I"), 0);
	CHECK_STR(fixture_value(screw, vals, "pitch"), "1");
	CHECK_INT(COLLECT("key", "M8", "thread", "coarse"), 0);
	CHECK_STR(fixture_value(screw, vals, "pitch"), "1.25");
}

static void
choices_are_the_keys_common_to_every_table_in_natural_order(void)
{
	const struct param *key, *thread;

	setup();
	key = &screw->ps.params[pset_find(&screw->ps, "key")];
	thread = &screw->ps.params[pset_find(&screw->ps, "thread")];
	/* M99 is only in the first table */
	CHECK_INT(key->nchoices, 4);
	CHECK_STR(key->choices[0], "M1.6");
	CHECK_STR(key->choices[1], "M2");
	CHECK_STR(key->choices[2], "M8");
	CHECK_STR(key->choices[3], "M10");
	CHECK_INT(thread->nchoices, 3);
	CHECK_STR(thread->choices[0], "coarse");
	CHECK_STR(thread->choices[2], "fine II");
}

static void
a_value_outside_the_choices_names_what_is_accepted(void)
{
	struct value vals[16];
	struct perr e = { 0 };

	CHECK_INT(COLLECT("key", "M99"), -ENOENT);
	CHECK_CONTAINS(e.msg, "key=M99");
	CHECK_CONTAINS(e.msg, "M1.6, M2, M8, M10");
}

static void
free_values_are_range_checked(void)
{
	struct value vals[16];
	struct perr e = { 0 };

	CHECK_INT(COLLECT("l", "-5"), -EINVAL);
	CHECK_CONTAINS(e.msg, "l=-5");
	CHECK_INT(COLLECT("l", "abc"), -EINVAL);
	CHECK_CONTAINS(e.msg, "Length (mm)");
}

/* Lengths in millimetres and inches, a number, an angle, and a table
 * whose second row is beyond the bound. */
static const char *const BIG =
"  - id: big\n"
"    names: {name: Big, labeling: Big %(key)s}\n"
"    parameters:\n"
"      free: [key, l, inch, n, a]\n"
"      defaults: {key: A, l: 1, inch: 1, n: 1, a: 0}\n"
"      types: {key: Table Index, l: Length (mm), inch: Length (in),\n"
"              n: Number, a: Angle (deg), d: Length (mm)}\n"
"      tables: {index: key, columns: [d], data: {A: [1000000], B: [2e6]}}\n"
"    source: test\n";

static void
values_beyond_the_bound_make_no_part(void)
{
	struct library *l = fixture_load("b", BIG);
	const struct pclass *big = library_class(l, "big");
	struct value vals[16];
	struct perr e = { 0 };

	CHECK_MSG(l->diags.nerrors == 0, "%s", fixture_diags(l));
	CHECK(big->ps.value_max == CONF_VALUE_MAX);
	/* at the bound: a part; beyond it: none (ENOENT), with the bound */
	CHECK_INT(fixture_collect(big, (const char *const[]){ "l", "1e6",
	    "n", "-1000000", NULL }, vals, &e), 0);
	CHECK_INT(fixture_collect(big, (const char *const[]){ "l",
	    "1000000.0000001", NULL }, vals, &e), -ENOENT);
	CHECK_CONTAINS(e.msg, "l=1000000.0000001");
	CHECK_CONTAINS(e.msg, "beyond 1000000 mm");
	CHECK_CONTAINS(e.msg, "values.max");
	CHECK_INT(fixture_collect(big, (const char *const[]){ "n", "-1e7",
	    NULL }, vals, &e), -ENOENT);
	CHECK_CONTAINS(e.msg, "n=-10000000");
	/* inches are bounded at the same length: 1e6 mm is 39370.08 in */
	CHECK_INT(fixture_collect(big, (const char *const[]){ "inch", "39370",
	    NULL }, vals, &e), 0);
	CHECK_INT(fixture_collect(big, (const char *const[]){ "inch", "39371",
	    NULL }, vals, &e), -ENOENT);
	CHECK_CONTAINS(e.msg, " in,");
	/* angles keep their own range only */
	CHECK_INT(fixture_collect(big, (const char *const[]){ "a", "360",
	    NULL }, vals, &e), 0);
	/* a table's value counts like a given one */
	CHECK_INT(fixture_collect(big, (const char *const[]){ "key", "B",
	    NULL }, vals, &e), -ENOENT);
	CHECK_CONTAINS(e.msg, "d=2000000");
	library_unref(l);
}

static void
the_bound_comes_from_the_configuration(void)
{
	struct conf *conf = conf_default();
	struct library *l;
	const struct pclass *big;
	struct value vals[16];
	struct perr e = { 0 };

	conf->value_max = 50;
	l = fixture_load_conf(fixture_dir("b2", BIG), conf);
	big = library_class(l, "big");
	CHECK_INT(fixture_collect(big, (const char *const[]){ "l", "50",
	    "key", "B", NULL }, vals, &e), -ENOENT);
	CHECK_CONTAINS(e.msg, "d=2000000");
	CHECK_INT(fixture_collect(big, (const char *const[]){ "l", "51",
	    NULL }, vals, &e), -ENOENT);
	CHECK_CONTAINS(e.msg, "beyond 50 mm");
	/* the default row's 1e6 is beyond it too: no part at all */
	CHECK_INT(fixture_collect(big, (const char *const[]){ "l", "50",
	    NULL }, vals, &e), -ENOENT);
	CHECK_CONTAINS(e.msg, "d=1000000");
	library_unref(l);
	conf_free(conf);
}

static void
common_tuples_expand_to_their_cartesian_product(void)
{
	const struct pset *ps;
	size_t m8 = 0, colon = 0;

	setup();
	ps = &screw->ps;
	/* 1 x 2 x 2 + 2 x 1 x 3 (":" = all three thread choices) */
	CHECK_INT(ps->ncommon, 10);
	for (size_t r = 0; r < ps->ncommon; r++) {
		const struct value *row = &ps->common[r * ps->nfree];
		if (strcmp(row[0].u.str, "M8") == 0)
			m8++;
		if (row[1].u.num == 25)
			colon++;
	}
	CHECK_INT(m8, 4);
	CHECK_INT(colon, 6);
}

static void
all_discrete_classes_without_common_list_every_combination(void)
{
	struct library *l = fixture_load("c",
	    "  - id: nut\n"
	    "    parameters:\n"
	    "      free: [key, flat]\n"
	    "      defaults: {key: M3}\n"
	    "      types: {key: Table Index, flat: Bool, m: Length (mm)}\n"
	    "      tables:\n"
	    "        index: key\n"
	    "        columns: [m]\n"
	    "        data: {M3: [2.4], M4: [3.2], M5: [4.7]}\n"
	    "    source: test\n");
	const struct pclass *nut = library_class(l, "nut");

	CHECK_MSG(l->diags.nerrors == 0, "%s", fixture_diags(l));
	CHECK_INT(nut->ps.ncommon, 6);
	library_unref(l);
}

static void
classes_with_a_continuous_parameter_and_no_common_have_none(void)
{
	struct library *l = fixture_load("c",
	    "  - id: rod\n"
	    "    parameters:\n"
	    "      free: [d, l]\n"
	    "      types: {d: Length (mm), l: Length (mm)}\n"
	    "    source: test\n");
	const struct pclass *rod = library_class(l, "rod");
	struct value vals[4];
	struct perr e = { 0 };

	CHECK_MSG(l->diags.nerrors == 0, "%s", fixture_diags(l));
	CHECK_INT(rod->ps.ncommon, 0);
	/* and the type defaults apply */
	CHECK_INT(fixture_collect(rod, NULL, vals, &e), 0);
	CHECK_STR(fixture_value(rod, vals, "d"), "10");
	library_unref(l);
}

static void
type_defaults_apply_to_every_type(void)
{
	struct library *l = fixture_load("c",
	    "  - id: all\n"
	    "    parameters:\n"
	    "      free: [a, b, c, d, e, f]\n"
	    "      types: {a: Length (mm), b: Length (in), c: Number,\n"
	    "              d: Bool, e: String, f: Angle (deg)}\n"
	    "    source: test\n");
	const struct pclass *c = library_class(l, "all");
	struct value vals[8];
	struct perr e = { 0 };

	CHECK_MSG(l->diags.nerrors == 0, "%s", fixture_diags(l));
	CHECK_INT(fixture_collect(c, NULL, vals, &e), 0);
	CHECK_STR(fixture_value(c, vals, "a"), "10");
	CHECK_STR(fixture_value(c, vals, "b"), "1");
	CHECK_STR(fixture_value(c, vals, "c"), "1");
	CHECK_STR(fixture_value(c, vals, "d"), "false");
	CHECK_STR(fixture_value(c, vals, "e"), "");
	CHECK_STR(fixture_value(c, vals, "f"), "0");
	library_unref(l);
}

static void
labels_substitute_parameters_in_nice_and_safe_form(void)
{
	struct value vals[16];
	struct perr e = { 0 };
	struct buf nice = BUF_INIT, safe = BUF_INIT;

	CHECK_INT(COLLECT("key", "M10", "l", "25.5", "thread", "fine I"), 0);
	class_label(screw, &screw->ps, vals, false, &nice);
	class_label(screw, &screw->ps, vals, true, &safe);
	/* the standard's labeling comes first; its safe form is the
	 * sanitised nice one */
	CHECK_STR(buf_str(&nice), "Screw ISO 4017 M10 - 25.5");
	CHECK_STR(buf_str(&safe), "Screw_ISO_4017_M10_-_25.5");
	buf_reset(&nice);
	subst_expand(screw->names[0].labeling.nice, &screw->ps, vals, false,
	    &nice);
	CHECK_STR(buf_str(&nice), "Screw M10 x 25.5 plain");
	buf_free(&nice);
	buf_free(&safe);
}

static void
safe_labels_replace_blanks_inside_values(void)
{
	struct value vals[16];
	struct perr e = { 0 };
	struct buf b = BUF_INIT;

	CHECK_INT(COLLECT("thread", "fine I"), 0);
	subst_expand("x_%(thread)s_%%", &screw->ps, vals, true, &b);
	CHECK_STR(buf_str(&b), "x_fine_I_%");
	buf_free(&b);
}

static void
identifiers_are_sanitised_the_bolts_way(void)
{
	struct arena *a = arena_new();

	CHECK_STR(ident_sanitize(a, "DIN 933"), "DIN933");
	CHECK_STR(ident_sanitize(a, "ISO 4017"), "ISO4017");
	CHECK_STR(ident_sanitize(a, "Hexagon head screw"), "HexagonHeadScrew");
	CHECK_STR(ident_sanitize(a, "DIN EN ISO 4017"), "DINENISO4017");
	CHECK_STR(ident_sanitize(a, "DIN 1025-3"), "DIN1025_3");
	CHECK_STR(ident_sanitize(a, "BlueScope i-beam (universal)"),
	    "BluescopeI_beamuniversal");
	arena_free(a);
}

/* pset_build_tail: the caller's tail in the block of the parameters,
 * between them and the free indices, zeroed and 8-aligned; the set is
 * the one pset_build makes. */
static void
a_set_built_with_a_tail_holds_it_after_its_parameters(void)
{
	static const char yaml[] =
	    "free: [l, key]\n"
	    "defaults: {key: M4}\n"
	    "types: {key: Table Index, l: Length (mm), m: Length (mm)}\n"
	    "tables: {index: key, columns: [m], data: {M3: [2.4], M4: [3]}}\n";
	struct arena *a = arena_new();
	struct diags d = DIAGS_INIT;
	const struct ynode *n = ydoc_load_buffer(a, yaml, sizeof yaml - 1,
	    "t.yaml", NULL, NULL, &d);
	struct pset plain, ps;
	void *tail = (void *)1;
	unsigned char *t;

	CHECK(n != NULL);
	CHECK_INT(pset_build(a, n, NULL, &plain, &d), 0);
	CHECK_INT(pset_build_tail(a, n, NULL, &ps, 0, &tail, &d), 0);
	CHECK(tail == NULL);
	CHECK_INT(pset_build_tail(a, n, NULL, &ps, 61, &tail, &d), 0);
	CHECK_MSG(d.n == 0, "%s", d.n ? d.v[0].msg : "");
	t = tail;
	CHECK(t != NULL);
	CHECK_INT((uintptr_t)t % 8, 0);
	for (size_t i = 0; i < 64; i++)
		CHECK_INT(t[i], 0);
	/* after the parameters, before the free indices */
	CHECK(t >= (unsigned char *)(ps.params + ps.nparams));
	CHECK((unsigned char *)ps.free >= t + 64);
	CHECK_INT(ps.nparams, plain.nparams);
	CHECK_INT(ps.nfree, 2);
	CHECK_STR(ps.params[ps.free[0]].name, "l");
	CHECK_STR(ps.params[ps.free[1]].name, "key");
	CHECK_INT(ps.params[ps.free[1]].free_pos, 1);
	CHECK_INT(ps.params[pset_find(&ps, "m")].free_pos, -1);
	CHECK(ps.tabs != NULL && ps.tabs->ntables == 1 &&
	    ps.tabs->ntables2d == 0);
	CHECK_INT(ps.params[ps.free[1]].nchoices, 2);
	CHECK(plain.tabs != NULL);
	diags_free(&d);
	arena_free(a);
}

/* What a class lacks costs it no array (and without URLs, notes,
 * drawings or scripts no block of extras either), strings several
 * classes use are one copy, and by-name/ names the class's own safe
 * name. */
static void
classes_hold_what_they_have_and_share_their_strings(void)
{
	struct library *l = fixture_load("c",
	    "  - id: rod\n"
	    "    names: {name: Steel rod, labeling: Rod %(d)s}\n"
	    "    parameters: {free: [d], types: {d: Length (mm)}}\n"
	    "    source: test\n"
	    "  - id: bar\n"
	    "    names: {name: Steel bar, labeling: Rod %(d)s}\n"
	    "    standards: {standard: DIN 1, body: DIN, labeling: Bar}\n"
	    "    url: http://example.invalid/bar\n"
	    "    parameters: {free: [d], types: {d: Length (mm)}}\n"
	    "    source: test\n"
	    "  - id: bare\n"
	    "    parameters: {types: {x: Number}, literal: {x: 1}}\n"
	    "    source: test\n");
	const struct pclass *rod = library_class(l, "rod");
	const struct pclass *bar = library_class(l, "bar");
	const struct pclass *bare = library_class(l, "bare");
	const struct class_link *link;

	CHECK_MSG(l->diags.nerrors == 0, "%s", fixture_diags(l));
	CHECK(rod != NULL && bar != NULL && bare != NULL);
	CHECK(rod->nstandards == 0 && rod->standards == NULL);
	CHECK(rod->extra == &class_extra_none && bare->extra ==
	    &class_extra_none);
	CHECK(rod->extra->nurls == 0 && rod->extra->urls == NULL);
	CHECK(bar->extra != &class_extra_none && bar->extra->notes == NULL);
	CHECK(bare->nnames == 0 && bare->names == NULL);
	CHECK_INT(bar->nstandards, 1);
	CHECK_STR(bar->standards[0].standard.safe, "DIN1");
	CHECK_INT(bar->extra->nurls, 1);
	CHECK_STR(bar->extra->urls[0], "http://example.invalid/bar");
	CHECK_STR(rod->names[0].labeling.safe, "Rod_%(d)s");
	CHECK(rod->names[0].labeling.nice == bar->names[0].labeling.nice);
	CHECK(rod->names[0].labeling.safe == bar->names[0].labeling.safe);
	CHECK(rod->ps.params[0].name == bar->ps.params[0].name);
	CHECK(rod->source == bar->source);
	link = library_link(l->by_name, l->nby_name, "SteelRod");
	CHECK(link != NULL && link->cls == rod);
	CHECK(link->name == rod->names[0].name.safe);
	link = library_link(l->by_standard, l->nby_standard, "DIN1");
	CHECK(link != NULL && link->cls == bar);
	library_unref(l);
}

TAP_MAIN(
	TAP_CASE(the_class_loads_with_one_warning_for_the_double_source),
	TAP_CASE(omitted_free_parameters_take_their_defaults),
	TAP_CASE(literals_are_assigned),
	TAP_CASE(table_columns_come_from_the_indexed_row),
	TAP_CASE(none_cells_have_no_value),
	TAP_CASE(a_2d_table_result_wins_over_a_table_column),
	TAP_CASE(choices_are_the_keys_common_to_every_table_in_natural_order),
	TAP_CASE(a_value_outside_the_choices_names_what_is_accepted),
	TAP_CASE(free_values_are_range_checked),
	TAP_CASE(values_beyond_the_bound_make_no_part),
	TAP_CASE(the_bound_comes_from_the_configuration),
	TAP_CASE(common_tuples_expand_to_their_cartesian_product),
	TAP_CASE(all_discrete_classes_without_common_list_every_combination),
	TAP_CASE(classes_with_a_continuous_parameter_and_no_common_have_none),
	TAP_CASE(type_defaults_apply_to_every_type),
	TAP_CASE(labels_substitute_parameters_in_nice_and_safe_form),
	TAP_CASE(safe_labels_replace_blanks_inside_values),
	TAP_CASE(identifiers_are_sanitised_the_bolts_way),
	TAP_CASE(a_set_built_with_a_tail_holds_it_after_its_parameters),
	TAP_CASE(classes_hold_what_they_have_and_share_their_strings)
)
