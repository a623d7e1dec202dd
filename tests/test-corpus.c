/* test-corpus.c -- the real BOLTS data (../shared/corpus/bolts): every
 * collection and class loads, every discrete combination resolves, the
 * whole tree lists and resolves, and the known values hold. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "partsfs/tree/describe.h"
#include "tap.h"

static struct library *lib;

/* Every case needs the corpus: without it the case is skipped. */
static bool
setup(void)
{
	if (lib != NULL)
		return true;
	if (!tap_need("corpus"))
		return false;
	lib = fixture_load_dir(tap_corpus());
	return true;
}

static void
every_collection_and_class_loads_without_errors(void)
{
	if (!setup())
		return;
	CHECK_MSG(lib->diags.nerrors == 0, "%s", fixture_diags(lib));
	CHECK_INT(lib->ncolls, 18);
	CHECK_INT(lib->nclasses, 82);
}

static void
the_quirks_of_real_data_are_warnings_at_their_lines(void)
{
	if (!setup())
		return;
	CHECK(fixture_diag(lib, DIAG_WARNING, "data/hex.blt:240:11: warning: "
	    "duplicate key 'nice'") != NULL);
	CHECK(fixture_diag(lib, DIAG_WARNING, "data/hex_socket.blt:423:7: "
	    "warning: duplicate key 'types'") != NULL);
	CHECK(fixture_diag(lib, DIAG_WARNING, "data/profile_c.blt:49:7: "
	    "warning: duplicate key 'columns'") != NULL);
	CHECK(fixture_diag(lib, DIAG_WARNING, "data/profile_c.blt:162:7: "
	    "warning: duplicate key 'columns'") != NULL);
	CHECK(fixture_diag(lib, DIAG_WARNING, "data/profile_i.blt:269:7: "
	    "warning: duplicate key 'columns'") != NULL);
	CHECK(fixture_diag(lib, DIAG_WARNING, "data/hex.blt:120:21: warning: "
	    "parameter 'pitch' comes from a table column and from this 2d "
	    "table") != NULL);
	CHECK(fixture_diag(lib, DIAG_WARNING, "license 'Unlicense'") != NULL);
}

static void
included_tables_are_read(void)
{
	const struct pclass *hea;
	const struct param *type;

	if (!setup())
		return;
	hea = library_class(lib, "ibeam_hea");
	CHECK(hea != NULL);
	type = &hea->ps.params[pset_find(&hea->ps, "type")];
	CHECK_INT(type->nchoices, 24);
	CHECK_STR(type->choices[0], "HEA100");
	CHECK_STR(type->choices[23], "HEA1000");
}

static void
keys_with_dots_blanks_and_commas_are_choices(void)
{
	if (!setup())
		return;
	CHECK(param_choice(&library_class(lib, "hexscrew2")->ps.params[0],
	    "M1.6") == 0);
	const struct pclass *b = library_class(lib, "singlerowradialbearing");
	const struct param *t = &b->ps.params[pset_find(&b->ps, "type")];
	CHECK(param_choice(t, "sealed, double") >= 0);
}

static void
utf8_text_is_kept(void)
{
	const struct collection *c;

	if (!setup())
		return;
	c = library_collection(lib, "bearings");
	bool found = false;
	for (size_t i = 0; i < c->nauthors; i++)
		found |= strchr(c->authors[i], '\xc3') != NULL;
	CHECK_MSG(found, "no UTF-8 author in bearings");
}

static void
classes_without_parameters_have_one_default_part(void)
{
	const struct pclass *w;

	if (!setup())
		return;
	w = library_class(lib, "openbuildsdualvwheel");
	CHECK(w != NULL);
	CHECK_INT(w->ps.nparams, 0);
	CHECK_INT(w->ps.ncommon, 1);
}

/* Resolve one combination; note the first failures. */
struct resolver {
	const struct pclass *cls;
	struct value vals[256];
	size_t failures;
};

static int
resolve_one(void *ctx, const struct value *free)
{
	struct resolver *r = ctx;
	struct perr e = { 0 };

	if (r->cls->ps.nparams > 256 ||
	    pset_collect(&r->cls->ps, free, r->vals, &e) != 0) {
		if (r->failures++ < 5)
			tap_note("%s: %s", r->cls->id, e.msg);
	}
	return 0;
}

static void
every_discrete_combination_of_every_class_resolves(void)
{
	static struct resolver r;
	size_t n = 0, failures = 0;

	if (!setup())
		return;
	for (size_t i = 0; i < lib->ncolls; i++) {
		const struct collection *c = lib->colls[i];
		for (size_t j = 0; j < c->nclasses; j++) {
			size_t k;
			r.cls = &c->classes[j];
			r.failures = 0;
			pset_each_combination(&r.cls->ps, resolve_one, &r, &k);
			n += k;
			failures += r.failures;
		}
	}
	CHECK_INT(failures, 0);
	CHECK_INT(n, 3387);
}

static void
hexscrew2_m8_has_the_iso_4017_dimensions(void)
{
	const struct pclass *c;
	struct value vals[32];
	struct perr e = { 0 };

	if (!setup())
		return;
	c = library_class(lib, "hexscrew2");
	CHECK_INT(fixture_collect(c, (const char *const[]){ "key", "M8", NULL },
	    vals, &e), 0);
	CHECK_STR(fixture_value(c, vals, "d1"), "8");
	CHECK_STR(fixture_value(c, vals, "k"), "5.3");
	CHECK_STR(fixture_value(c, vals, "s"), "13");
	CHECK_STR(fixture_value(c, vals, "e"), "14.38");
	CHECK_STR(fixture_value(c, vals, "h"), "3.75");
	CHECK_STR(fixture_value(c, vals, "l"), "20");
}

static void
hexscrew1_m8_fine_i_has_pitch_1_from_the_2d_table(void)
{
	const struct pclass *c;
	struct value vals[32];
	struct perr e = { 0 };

	if (!setup())
		return;
	c = library_class(lib, "hexscrew1");
	CHECK_INT(fixture_collect(c, (const char *const[]){ "key", "M8",
	    "thread_type", "fine I", NULL }, vals, &e), 0);
	CHECK_STR(fixture_value(c, vals, "pitch"), "1");
	CHECK_STR(fixture_value(c, vals, "pitch_name"), "x1");
	CHECK_INT(fixture_collect(c, (const char *const[]){ "key", "M8",
	    NULL }, vals, &e), 0);
	CHECK_STR(fixture_value(c, vals, "pitch"), "1.25");
}

static void
hexscrew2_defaults_are_m3_and_20(void)
{
	const struct pclass *c;
	struct value vals[32];
	struct perr e = { 0 };

	if (!setup())
		return;
	c = library_class(lib, "hexscrew2");
	CHECK_INT(fixture_collect(c, NULL, vals, &e), 0);
	CHECK_STR(fixture_value(c, vals, "key"), "M3");
	CHECK_STR(fixture_value(c, vals, "l"), "20");
}

struct walk {
	size_t dirs, files, bad;
};

static int walk_dir(void *ctx, const char *name, const struct pnode *child);

static void
walk(struct walk *w, const struct pnode *dir)
{
	struct perr e = { 0 };

	if (pnode_list(lib, dir, walk_dir, w, &e) != 0)
		w->bad++;
}

static int
walk_dir(void *ctx, const char *name, const struct pnode *child)
{
	struct walk *w = ctx;
	struct buf path = BUF_INIT;
	struct pnode again;
	struct perr e = { 0 };

	(void)name;
	pnode_path(child, &path);
	if (pnode_lookup(lib, buf_str(&path), &again, &e) != 0) {
		if (w->bad++ < 5)
			tap_note("%s: %s", buf_str(&path), e.msg);
	} else
		pnode_clear(&again);
	if (child->kind == PN_PART) {
		json_t *j = describe_part(child, &e);
		if (j == NULL && w->bad++ < 5)
			tap_note("%s: %s", buf_str(&path), e.msg);
		json_decref(j);
	}
	buf_free(&path);
	if (pnode_is_dir(child)) {
		w->dirs++;
		if (child->kind != PN_INDEX)
			walk(w, child);
	} else
		w->files++;
	return 0;
}

static void
the_whole_tree_lists_and_every_entry_resolves(void)
{
	struct walk w = { 0 };
	struct pnode root;

	if (!setup())
		return;
	pnode_root(&root);
	walk(&w, &root);
	CHECK_INT(w.bad, 0);
	tap_note("%zu directories, %zu files", w.dirs, w.files);
	CHECK(w.dirs > 3000);
}

static void
every_standard_and_name_has_a_link(void)
{
	if (!setup())
		return;
	/* 94 standards and 68 class names in the corpus README */
	CHECK_INT(lib->nby_standard, 94);
	CHECK_INT(lib->nby_name, 68);
	CHECK(library_link(lib->by_standard, lib->nby_standard, "DIN933") !=
	    NULL);
	CHECK(library_link(lib->by_standard, lib->nby_standard, "ISO4017") !=
	    NULL);
}

TAP_MAIN(
	TAP_CASE(every_collection_and_class_loads_without_errors),
	TAP_CASE(the_quirks_of_real_data_are_warnings_at_their_lines),
	TAP_CASE(included_tables_are_read),
	TAP_CASE(keys_with_dots_blanks_and_commas_are_choices),
	TAP_CASE(utf8_text_is_kept),
	TAP_CASE(classes_without_parameters_have_one_default_part),
	TAP_CASE(every_discrete_combination_of_every_class_resolves),
	TAP_CASE(hexscrew2_m8_has_the_iso_4017_dimensions),
	TAP_CASE(hexscrew1_m8_fine_i_has_pitch_1_from_the_2d_table),
	TAP_CASE(hexscrew2_defaults_are_m3_and_20),
	TAP_CASE(the_whole_tree_lists_and_every_entry_resolves),
	TAP_CASE(every_standard_and_name_has_a_link)
)
