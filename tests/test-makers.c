/* test-makers.c -- one part, one shape: the engine of a class's model, as
 * the configuration chooses it, makes every format of the class (written
 * by it or converted from its STL), and its parameters are those of every
 * format. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "fixture.h"
#include "partsfs/model/makers.h"
#include "partsfs/tree/path.h"
#include "tap.h"

/* k: an OpenSCAD module (which adds `detailed`) and a FreeCAD function
 * (which adds `arch`); s: OpenSCAD only; f: FreeCAD only; q: a script of
 * the command engine `cad` and an OpenSCAD module. */
static const char *
library(void)
{
	static const char *dir;

	if (dir != NULL)
		return dir;
	dir = fixture_dir("c",
	    "  - id: k\n    names: {name: K, labeling: K %(a)s}\n"
	    "    parameters: {free: [a], types: {a: Length (mm)}}\n"
	    "    source: s\n"
	    "  - id: s\n    names: {name: S, labeling: S %(a)s}\n"
	    "    parameters: {free: [a], types: {a: Length (mm)}}\n"
	    "    source: s\n"
	    "  - id: f\n    names: {name: F, labeling: F %(a)s}\n"
	    "    parameters: {free: [a], types: {a: Length (mm)}}\n"
	    "    source: s\n"
	    "  - id: q\n    names: {name: Q, labeling: Q %(a)s}\n"
	    "    parameters: {free: [a], types: {a: Length (mm)}}\n"
	    "    source: s\n");
	tap_write(dir, "openscad/c/c.base",
	    "- filename: m.scad\n  type: module\n  author: a <b>\n"
	    "  license: MIT <x>\n  modules:\n"
	    "    - name: m\n      arguments: [a, detailed]\n"
	    "      classids: [k]\n"
	    "      parameters: {free: [detailed], types: {detailed: Bool}}\n"
	    "    - {name: n, arguments: [a], classids: [s, q]}\n");
	tap_write(dir, "openscad/c/m.scad",
	    "module m(a, detailed) { cube(a); }\nmodule n(a) { cube(a); }\n");
	tap_write(dir, "freecad/c/c.base",
	    "- filename: f.py\n  type: function\n  author: a <b>\n"
	    "  license: MIT <x>\n  functions:\n"
	    "    - name: fk\n      classids: [k]\n"
	    "      parameters: {free: [arch], types: {arch: Bool}}\n"
	    "    - {name: ff, classids: [f]}\n");
	tap_write(dir, "freecad/c/f.py", "def fk(p, d): pass\n"
	    "def ff(p, d): pass\n");
	tap_write(dir, "cad/c/c.base",
	    "- {filename: q.txt, type: script, author: a <b>, "
	    "license: MIT <x>, classids: [q]}\n");
	tap_write(dir, "cad/c/q.txt", "q\n");
	return dir;
}

static struct library *
load(const char *executors)
{
	char yaml[1024];
	struct conf *conf;
	struct library *l;

	snprintf(yaml, sizeof yaml, "executors:\n%s  commands:\n"
	    "    - {name: cad, argv: [cad, '{output}'], formats: [step, stl]}\n",
	    executors);
	conf = fixture_conf(yaml);
	l = fixture_load_conf(library(), conf);
	conf_free(conf);
	if (l->diags.nerrors != 0)
		tap_note("%s", fixture_diags(l));
	return l;
}

/* Formats as their extensions in enum order, in one of two buffers (a
 * check compares two). */
static const char *
fmt_text(uint32_t bits)
{
	static char text[2][128];
	static int turn;
	char *t = text[turn++ % 2];

	t[0] = '\0';
	for (int f = 0; f < FMT__COUNT; f++) {
		if (bits & FMT_BIT(f)) {
			strcat(t, t[0] ? " " : "");
			strcat(t, format_ext((enum format)f));
		}
	}
	return t;
}

/* The engine of every format but json: one name, "mixed", or "not its
 * model's". */
static const char *
engine(const struct pclass *cls)
{
	enum generator g = GEN_NONE;

	for (int f = 0; f < FMT__COUNT; f++) {
		enum generator h = class_generator(cls, (enum format)f);
		if (h == GEN_NONE)
			continue;
		if (g != GEN_NONE && h != g)
			return "mixed";
		g = h;
	}
	if (g != cls->model.kind)
		return "not its model's";
	return generator_name(g);
}

#define FREECAD_ALL (FMT_BIT(FMT_STEP) | FMT_BIT(FMT_STL) | \
	FMT_BIT(FMT_OFF) | FMT_BIT(FMT_3MF) | FMT_BIT(FMT_GLB) | \
	FMT_BIT(FMT_JSON))
#define OPENSCAD_ALL (FMT_BIT(FMT_STL) | FMT_BIT(FMT_OFF) | \
	FMT_BIT(FMT_AMF) | FMT_BIT(FMT_3MF) | FMT_BIT(FMT_CSG) | \
	FMT_BIT(FMT_PNG) | FMT_BIT(FMT_GLB) | FMT_BIT(FMT_JSON))

static void
by_default_freecad_makes_every_format_of_a_class_it_can_make(void)
{
	struct library *l = load("");
	const struct pclass *k = library_class(l, "k");

	CHECK_STR(engine(k), "freecad");
	CHECK_STR(fmt_text(k->formats), fmt_text(FREECAD_ALL));
	/* glb is FreeCAD's STL through the converter */
	CHECK(k->makers[FMT_GLB].convert);
	CHECK(!k->makers[FMT_STL].convert);
	/* no OpenSCAD format sneaks in */
	CHECK(class_pset_for_format(k, FMT_PNG) == NULL);
	CHECK(class_pset_for_format(k, FMT_AMF) == NULL);
	library_unref(l);
}

static void
a_class_without_the_wanted_engine_takes_the_next(void)
{
	struct library *l = load("");

	/* OpenSCAD only */
	CHECK_STR(engine(library_class(l, "s")), "openscad");
	CHECK_STR(fmt_text(library_class(l, "s")->formats),
	    fmt_text(OPENSCAD_ALL));
	CHECK_STR(engine(library_class(l, "f")), "freecad");
	/* a command before OpenSCAD */
	CHECK_STR(engine(library_class(l, "q")), "command");
	CHECK_STR(fmt_text(library_class(l, "q")->formats),
	    fmt_text(FMT_BIT(FMT_STEP) | FMT_BIT(FMT_STL) |
	    FMT_BIT(FMT_GLB) | FMT_BIT(FMT_JSON)));
	library_unref(l);
}

static void
the_configuration_chooses_the_engine_for_the_library_a_collection_a_class(
    void)
{
	struct library *l = load("  model: openscad\n");

	CHECK_STR(engine(library_class(l, "k")), "openscad");
	CHECK_STR(fmt_text(library_class(l, "k")->formats),
	    fmt_text(OPENSCAD_ALL));
	/* a class OpenSCAD cannot make keeps the B-rep engine */
	CHECK_STR(engine(library_class(l, "f")), "freecad");
	CHECK_STR(engine(library_class(l, "q")), "openscad");
	library_unref(l);

	l = load("  model: openscad\n  models: {c: cad, k: freecad}\n");
	CHECK_STR(engine(library_class(l, "k")), "freecad");
	CHECK_STR(engine(library_class(l, "q")), "command");
	/* the collection's engine cannot make s: the order decides */
	CHECK_STR(engine(library_class(l, "s")), "openscad");
	library_unref(l);
}

static void
base_parameters_belong_to_every_format_of_their_engine_or_none(void)
{
	struct library *l = load("");
	const struct pclass *k = library_class(l, "k");
	struct pnode n;
	struct perr e = { 0 };

	/* FreeCAD's model: arch in every format, json too; detailed in
	 * none */
	CHECK(pset_find(class_pset(k), "arch") >= 0);
	CHECK(pset_find(class_pset(k), "detailed") < 0);
	for (int f = 0; f < FMT__COUNT; f++) {
		if (k->formats & FMT_BIT(f))
			CHECK(class_pset_for_format(k, (enum format)f) ==
			    class_pset(k));
	}
	CHECK_INT(pnode_lookup(l, "c/k/arch=true.json", &n, &e), 0);
	pnode_clear(&n);
	CHECK_INT(pnode_lookup(l, "c/k/arch=true.stl", &n, &e), 0);
	pnode_clear(&n);
	CHECK_INT(pnode_lookup(l, "c/k/detailed=true.stl", &n, &e), -ENOENT);
	CHECK_CONTAINS(e.msg, "'detailed' is not a free parameter of k");
	library_unref(l);

	l = load("  model: openscad\n");
	k = library_class(l, "k");
	CHECK(pset_find(class_pset(k), "detailed") >= 0);
	CHECK(pset_find(class_pset(k), "arch") < 0);
	CHECK_INT(pnode_lookup(l, "c/k/detailed=true.json", &n, &e), 0);
	pnode_clear(&n);
	CHECK_INT(pnode_lookup(l, "c/k/detailed=true.png", &n, &e), 0);
	pnode_clear(&n);
	CHECK_INT(pnode_lookup(l, "c/k/default.step", &n, &e), -ENOENT);
	library_unref(l);
}

TAP_MAIN(
	TAP_CASE(by_default_freecad_makes_every_format_of_a_class_it_can_make),
	TAP_CASE(a_class_without_the_wanted_engine_takes_the_next),
	TAP_CASE(the_configuration_chooses_the_engine_for_the_library_a_collection_a_class),
	TAP_CASE(base_parameters_belong_to_every_format_of_their_engine_or_none),
)
