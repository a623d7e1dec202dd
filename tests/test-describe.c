/* test-describe.c -- the JSON descriptions of collections, classes and
 * parts (the .json files of the tree), on the bundled library and on a
 * small inch library: units, the values an engine is given (those the
 * planner passes), provenance, and the serialisation with every number
 * in its shortest round-trip form. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "partsfs/tree/describe.h"
#include "tap.h"

static struct library *lib, *inch_lib;
static struct conf *inch_conf;

static void
unload(void)
{
	library_unref(lib);
}

static void
unload_inch(void)
{
	library_unref(inch_lib);
	conf_free(inch_conf);
}

/*
 * A collection in inches, like BOLTS's pipes: a pipe of a Table Index
 * (its outer diameter, in inches, from a table), a free length in inches,
 * an angle, a number, a string and a bool; made by the test engine as the
 * command "fake" (stl), and a class no engine makes.
 */
static const char INCH_CLASSES[] =
    "  - id: pipe\n"
    "    names: {name: Pipe, labeling: 'Pipe %(nps)s x %(l)s in'}\n"
    "    parameters:\n"
    "      literal: {n: 3, s: steel}\n"
    "      free: [nps, l, a, round]\n"
    "      defaults: {nps: NPS 0.5, l: 50, a: 90, round: false}\n"
    "      types: {nps: Table Index, l: Length (in), od: Length (in),\n"
    "              a: Angle (deg), n: Number, s: String, round: Bool,\n"
    "              wall: Length (mm)}\n"
    "      tables:\n"
    "        index: nps\n"
    "        columns: [od, wall]\n"
    "        data:\n"
    "          NPS 0.5: [0.84, 2.77]\n"
    "          NPS 1: [1.315, 3.38]\n"
    "    source: test\n"
    "  - id: bare\n"
    "    parameters: {free: [x], types: {x: Length (in)}, defaults: {x: 2}}\n"
    "    source: test\n";

/* The inch library, loaded once, under a configuration whose command
 * engine "fake" makes its pipe. */
static struct library *
inches(void)
{
	if (inch_lib == NULL) {
		const char *dir = fixture_dir("inch", INCH_CLASSES);
		char *yaml;
		atexit(unload_inch);
		tap_write(dir, "fake/inch/inch.base", "- {filename: pipe.txt, "
		    "type: script, author: t <t@example.org>, "
		    "license: MIT <x>, classids: [pipe]}\n");
		tap_write(dir, "fake/inch/pipe.txt", "pipe script\n");
		yaml = xasprintf("executors:\n  commands:\n    - name: fake\n"
		    "      argv: [%s, \"{params}\", \"{output}\", "
		    "\"{format}\", \"{script}\"]\n      formats: [stl]\n",
		    fixture_yaml_str(fixture_fake_engine()));
		inch_conf = fixture_conf(yaml);
		free(yaml);
		inch_lib = fixture_load_conf(dir, inch_conf);
		if (inch_lib->diags.nerrors > 0) {
			tap_note("%s", fixture_diags(inch_lib));
			abort();
		}
	}
	return inch_lib;
}

/* The bundled library, loaded once. */
static struct library *
bundled(void)
{
	if (lib == NULL) {
		atexit(unload);
		char *dir = xasprintf("%s/library", fixture_srcdir());
		lib = fixture_load_dir(dir);
		free(dir);
		if (lib->diags.nerrors > 0) {
			tap_note("%s", fixture_diags(lib));
			abort();
		}
	}
	return lib;
}

/* The description of the part at `path` of library `l`. */
static json_t *
part_of(struct library *l, const char *path)
{
	struct pnode n;
	struct perr e = { 0 };
	json_t *j;

	if (pnode_lookup(l, path, &n, &e) != 0) {
		tap_note("%s: %s", path, e.msg);
		return NULL;
	}
	j = describe_part(&n, &e);
	if (j == NULL)
		tap_note("%s: %s", path, e.msg);
	pnode_clear(&n);
	return j;
}

/* The description of the part at `path` of the bundled library. */
static json_t *
part(const char *path)
{
	return part_of(bundled(), path);
}

/* j at a path of object keys and array indexes ("a.b.0.c"). */
static json_t *
at(json_t *j, const char *path)
{
	char *copy = xstrdup(path), *save = NULL;

	for (char *k = strtok_r(copy, ".", &save); k != NULL && j != NULL;
	    k = strtok_r(NULL, ".", &save)) {
		if (json_is_array(j))
			j = json_array_get(j, strtoul(k, NULL, 10));
		else
			j = json_object_get(j, k);
	}
	free(copy);
	return j;
}

static const char *
str_at(json_t *j, const char *path)
{
	json_t *v = at(j, path);

	return json_is_string(v) ? json_string_value(v) : "(not a string)";
}

/* An integer that is a JSON integer, a real that is a JSON real. */
#define CHECK_JSON_INT(j, path, want) do { \
	json_t *v_ = at((j), (path)); \
	CHECK_MSG(json_is_integer(v_), "%s is not an integer", (path)); \
	CHECK_INT(json_integer_value(v_), (want)); \
} while (0)
#define CHECK_JSON_REAL(j, path, want) do { \
	json_t *v_ = at((j), (path)); \
	CHECK_MSG(json_is_real(v_), "%s is not a real", (path)); \
	CHECK_NUM(json_real_value(v_), (want)); \
} while (0)

/* The strings of a JSON array joined by spaces (caller frees). */
static char *
joined(json_t *a)
{
	struct buf b = BUF_INIT;
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
		buf_printf(&b, "%s%s", i ? " " : "", json_is_string(v) ?
		    json_string_value(v) : "?");
	return buf_steal(&b);
}

#define CHECK_JOINED(a, want) do { \
	char *j_ = joined(a); \
	bool ok_ = strcmp(j_, (want)) == 0; \
	if (!ok_) \
		tap_fail(__FILE__, __LINE__, "%s: got \"%s\", want \"%s\"", \
		    #a, j_, (want)); \
	free(j_); \
	if (!ok_) \
		return; \
} while (0)

/* Parts. */

static void
a_part_has_every_resolved_parameter_with_numbers_as_json_numbers(void)
{
	json_t *j = part("bolts/hex_screw/M8/length=20.step");

	CHECK(j != NULL);
	CHECK_INT(json_object_size(at(j, "params")), 7);
	CHECK_STR(str_at(j, "params.size"), "M8");
	CHECK_JSON_INT(j, "params.length", 20);
	CHECK_JSON_INT(j, "params.d", 8);
	CHECK_JSON_REAL(j, "params.pitch", 1.25);
	CHECK_JSON_INT(j, "params.s", 13);
	CHECK_JSON_REAL(j, "params.k", 5.3);
	CHECK_JSON_REAL(j, "params.e", 14.38);
	json_decref(j);
}

static void
a_none_cell_of_a_part_is_null(void)
{
	json_t *j = part("bolts/hex_bolt/M8/length=40.step");

	CHECK(j != NULL);
	CHECK_JSON_INT(j, "params.b1", 22);
	CHECK(json_is_null(at(j, "params.b2")));
	CHECK(json_is_null(at(j, "params.b3")));
	json_decref(j);
	/* and a value where the row has one */
	j = part("bolts/hex_bolt/M22/length=200.step");
	CHECK(j != NULL);
	CHECK_JSON_INT(j, "params.b3", 69);
	json_decref(j);
}

static void
a_part_lists_its_free_values_canonically_defaults_included(void)
{
	json_t *j = part("bolts/hex_screw/M10/length=2.5e1.step");

	CHECK(j != NULL);
	CHECK_INT(json_object_size(at(j, "free")), 2);
	CHECK_STR(str_at(j, "free.size"), "M10");
	CHECK_JSON_INT(j, "free.length", 25);
	CHECK_STR(str_at(j, "path"), "bolts/hex_screw/M10/length=25.step");
	json_decref(j);
	j = part("bolts/hex_screw/M8/default.step");
	CHECK(j != NULL);
	CHECK_JSON_INT(j, "free.length", 20);
	CHECK_JSON_INT(j, "params.length", 20);
	json_decref(j);
	j = part("bolts/hex_screw/M8/length=20.5.step");
	CHECK(j != NULL);
	CHECK_JSON_REAL(j, "free.length", 20.5);
	json_decref(j);
}

static void
a_part_has_its_label_nice_and_safe(void)
{
	json_t *j = part("bolts/hex_screw/M8/length=20.step");

	CHECK(j != NULL);
	CHECK_STR(str_at(j, "label.nice"),
	    "Hexagon head screw ISO 4017 - M8 x 20");
	CHECK_STR(str_at(j, "label.safe"),
	    "hexagon_head_screw_ISO4017_M8x20");
	json_decref(j);
}

static void
a_part_names_its_class_collection_path_and_format(void)
{
	json_t *j = part("bolts/hex_screw/M8/length=20.stl");

	CHECK(j != NULL);
	CHECK_STR(str_at(j, "collection"), "bolts");
	CHECK_STR(str_at(j, "class"), "hex_screw");
	CHECK_STR(str_at(j, "path"), "bolts/hex_screw/M8/length=20.stl");
	CHECK_STR(str_at(j, "format"), "stl");
	json_decref(j);
}

static void
a_part_names_its_standard_and_license(void)
{
	json_t *j = part("bolts/hex_screw/M8/length=20.step");

	CHECK(j != NULL);
	CHECK_STR(str_at(j, "standard.nice"), "ISO 4017");
	CHECK_STR(str_at(j, "standard.safe"), "ISO4017");
	CHECK_STR(str_at(j, "standard.body"), "ISO");
	CHECK_STR(str_at(j, "standard.status"), "active");
	CHECK_STR(str_at(j, "license"),
	    "MIT <http://opensource.org/licenses/MIT>");
	json_decref(j);
}

static void
a_part_lists_the_formats_of_its_class(void)
{
	json_t *j = part("bolts/hex_screw/M8/length=20.step");

	CHECK(j != NULL);
	/* FreeCAD's: its own, and glb converted from its STL */
	CHECK_JOINED(at(j, "formats"), "step stl glb 3mf off json");
	json_decref(j);
}

static void
a_part_tells_its_provenance_with_the_generator_that_makes_it(void)
{
	json_t *j = part("bolts/hex_screw/M8/length=20.step");

	CHECK(j != NULL);
	CHECK(str_has_prefix(str_at(j, "provenance.source"),
	    "ISO 4017 Hexagon head screws"));
	CHECK_STR(str_at(j, "provenance.blt"), "data/bolts.blt");
	CHECK_JOINED(at(j, "provenance.authors"),
	    "partsfs developers <partsfs@example.invalid>");
	/* STEP: FreeCAD's function */
	CHECK_STR(str_at(j, "provenance.generator.executor"), "freecad");
	CHECK_STR(str_at(j, "provenance.generator.function"), "hex_screw");
	CHECK_STR(str_at(j, "provenance.generator.file"),
	    "freecad/bolts/bolts.py");
	CHECK_STR(str_at(j, "provenance.generator.license"),
	    "MIT <http://opensource.org/licenses/MIT>");
	json_decref(j);
	/* STL: the same model, meshed */
	j = part("bolts/hex_screw/M8/length=20.stl");
	CHECK(j != NULL);
	CHECK_STR(str_at(j, "provenance.generator.executor"), "freecad");
	json_decref(j);
}

static void
with_model_openscad_every_format_is_openscads(void)
{
	struct conf *conf = fixture_conf("executors:\n  model: openscad\n");
	char *dir = xasprintf("%s/library", fixture_srcdir());
	struct library *l = fixture_load_conf(dir, conf);
	struct perr e = { 0 };
	struct pnode n;
	json_t *j = NULL;

	CHECK_INT(pnode_lookup(l, "bolts/hex_screw/M8/length=20.stl", &n, &e),
	    0);
	j = describe_part(&n, &e);
	pnode_clear(&n);
	CHECK(j != NULL);
	CHECK_STR(str_at(j, "provenance.generator.executor"), "openscad");
	CHECK_STR(str_at(j, "provenance.generator.module"), "hex_screw");
	CHECK_STR(str_at(j, "provenance.generator.file"),
	    "openscad/bolts/bolts.scad");
	CHECK_JOINED(at(j, "formats"), "stl glb 3mf off amf csg png json");
	json_decref(j);
	/* no STEP from OpenSCAD */
	CHECK_INT(pnode_lookup(l, "bolts/hex_screw/M8/length=20.step", &n,
	    &e), -ENOENT);
	library_unref(l);
	conf_free(conf);
	free(dir);
}

/* Units and the values an engine is given. */

/* The one-line dump of j at `path` (caller frees). */
static char *
compact_at(json_t *j, const char *path)
{
	json_t *v = at(j, path);

	return v != NULL ? describe_dump_compact(v) : xstrdup("(none)");
}

#define CHECK_COMPACT(j, path, want) do { \
	char *c_ = compact_at((j), (path)); \
	bool ok_ = strcmp(c_, (want)) == 0; \
	if (!ok_) \
		tap_fail(__FILE__, __LINE__, "%s: got %s, want %s", (path), \
		    c_, (want)); \
	free(c_); \
	if (!ok_) \
		return; \
} while (0)

static void
a_part_gives_the_unit_of_every_dimension_and_of_nothing_else(void)
{
	json_t *j = part_of(inches(), "inch/pipe/NPS 0.5/false/default.json");

	CHECK(j != NULL);
	/* lengths in their unit, angles in degrees; no Table Index, Number,
	 * String nor Bool */
	CHECK_COMPACT(j, "units",
	    "{\"l\":\"in\",\"od\":\"in\",\"a\":\"deg\",\"wall\":\"mm\"}");
	json_decref(j);
	j = part("bolts/hex_screw/M8/length=20.step");
	CHECK(j != NULL);
	CHECK_COMPACT(j, "units", "{\"length\":\"mm\",\"d\":\"mm\","
	    "\"pitch\":\"mm\",\"s\":\"mm\",\"k\":\"mm\",\"e\":\"mm\"}");
	json_decref(j);
}

static void
an_inch_part_gives_params_in_inches_and_given_in_mm(void)
{
	json_t *j = part_of(inches(), "inch/pipe/NPS 0.5/false/default.json");

	CHECK(j != NULL);
	/* params and free stay as named: inches */
	CHECK_JSON_INT(j, "params.l", 50);
	CHECK_JSON_REAL(j, "params.od", 0.84);
	CHECK_JSON_INT(j, "free.l", 50);
	CHECK_STR(str_at(j, "label.nice"), "Pipe NPS 0.5 x 50 in");
	/* given: every parameter, lengths in mm */
	CHECK_INT(json_object_size(at(j, "given")),
	    json_object_size(at(j, "params")));
	CHECK_JSON_INT(j, "given.l", 1270);
	CHECK_JSON_REAL(j, "given.od", 0.84 * 25.4);
	CHECK_JSON_REAL(j, "given.wall", 2.77);
	CHECK_JSON_INT(j, "given.a", 90);
	CHECK_JSON_INT(j, "given.n", 3);
	CHECK_STR(str_at(j, "given.s"), "steel");
	CHECK_STR(str_at(j, "given.nps"), "NPS 0.5");
	CHECK(json_is_false(at(j, "given.round")));
	json_decref(j);
	j = part_of(inches(), "inch/pipe/NPS 1/true/a=-30,l=0.125.json");
	CHECK(j != NULL);
	CHECK_JSON_REAL(j, "params.l", 0.125);
	CHECK_JSON_REAL(j, "given.l", 3.175);
	CHECK_JSON_REAL(j, "given.od", 1.315 * 25.4);
	CHECK_JSON_INT(j, "given.a", -30);
	CHECK(json_is_true(at(j, "given.round")));
	json_decref(j);
}

static void
a_millimetre_part_is_given_its_values_as_they_are(void)
{
	json_t *j = part("bolts/hex_screw/M8/length=20.5.step");

	CHECK(j != NULL);
	CHECK(json_equal(at(j, "given"), at(j, "params")));
	CHECK_JSON_REAL(j, "given.length", 20.5);
	json_decref(j);
}

static void
the_values_given_are_those_the_planner_passes_to_the_engine(void)
{
	static const char *const paths[] = {
		"inch/pipe/NPS 0.5/false/default.stl",
		"inch/pipe/NPS 1/true/a=-30,l=0.125.stl",
		"inch/pipe/NPS 1/false/l=1e3.stl",
		"inch/pipe/NPS 0.5/true/l=0.3.stl",
	};
	struct library *l = inches();
	struct exec_env env = { .conf = inch_conf, .root = l->root };

	for (size_t i = 0; i < PF_ARRAY_LEN(paths); i++) {
		struct perr e = { 0 };
		struct plan p;
		json_t *j = part_of(l, paths[i]);
		char *want, *got;
		bool same;
		CHECK(j != NULL);
		CHECK_MSG(fixture_plan(&env, l, paths[i], &p, &e) == 0,
		    "%s: %s", paths[i], e.msg);
		want = describe_dump_compact(p.params);
		got = compact_at(j, "given");
		same = json_equal(p.params, at(j, "given"));
		if (!same)
			tap_fail(__FILE__, __LINE__, "%s: given %s, the engine "
			    "gets %s", paths[i], got, want);
		free(want);
		free(got);
		plan_clear(&p);
		json_decref(j);
		if (!same)
			return;
	}
}

static void
a_class_description_gives_units_and_defaults_as_given(void)
{
	const struct pclass *cls = library_class(inches(), "pipe");
	json_t *j;

	CHECK(cls != NULL);
	j = describe_class(cls);
	CHECK(j != NULL);
	CHECK_COMPACT(j, "parameters.units",
	    "{\"l\":\"in\",\"od\":\"in\",\"a\":\"deg\",\"wall\":\"mm\"}");
	CHECK_COMPACT(j, "parameters.defaults",
	    "{\"nps\":\"NPS 0.5\",\"l\":50,\"a\":90,\"round\":false}");
	CHECK_COMPACT(j, "parameters.defaults_given",
	    "{\"nps\":\"NPS 0.5\",\"l\":1270,\"a\":90,\"round\":false}");
	CHECK_STR(str_at(j, "parameters.types.l"), "Length (in)");
	json_decref(j);
}

/* Classes and collections. */

static void
a_class_description_has_its_names_standards_and_parameters(void)
{
	const struct pclass *cls = library_class(bundled(), "hex_screw");
	json_t *j;

	CHECK(cls != NULL);
	j = describe_class(cls);
	CHECK(j != NULL);
	CHECK_STR(str_at(j, "id"), "hex_screw");
	CHECK_STR(str_at(j, "collection"), "bolts");
	CHECK_STR(str_at(j, "names.0.name.nice"), "Hexagon head screw");
	CHECK_STR(str_at(j, "names.0.name.safe"), "hexagon_head_screw");
	CHECK_INT(json_array_size(at(j, "standards")), 2);
	CHECK_STR(str_at(j, "standards.0.standard.safe"), "ISO4017");
	CHECK_STR(str_at(j, "standards.0.replaces"), "DIN 933");
	CHECK_STR(str_at(j, "standards.1.standard.safe"), "DIN933");
	CHECK_STR(str_at(j, "standards.1.status"), "withdrawn");
	CHECK_JOINED(at(j, "parameters.free"), "size length");
	CHECK_STR(str_at(j, "parameters.types.length"), "Length (mm)");
	CHECK_STR(str_at(j, "parameters.types.size"), "Table Index");
	CHECK_STR(str_at(j, "parameters.defaults.size"), "M8");
	CHECK_JSON_INT(j, "parameters.defaults.length", 20);
	CHECK_STR(str_at(j, "parameters.choices.size.5"), "M8");
	CHECK_JOINED(at(j, "formats"), "step stl glb 3mf off json");
	CHECK_STR(str_at(j, "license"),
	    "MIT <http://opensource.org/licenses/MIT>");
	json_decref(j);
}

static void
a_class_description_names_its_generators(void)
{
	const struct pclass *cls = library_class(bundled(), "hex_screw");
	json_t *j;

	CHECK(cls != NULL);
	j = describe_class(cls);
	CHECK(j != NULL);
	CHECK_STR(str_at(j, "openscad.module"), "hex_screw");
	CHECK_JOINED(at(j, "openscad.arguments"), "d pitch s k length");
	CHECK_STR(str_at(j, "openscad.file"), "openscad/bolts/bolts.scad");
	CHECK_STR(str_at(j, "freecad.function"), "hex_screw");
	CHECK_STR(str_at(j, "freecad.file"), "freecad/bolts/bolts.py");
	CHECK_INT(json_array_size(at(j, "commands")), 0);
	json_decref(j);
}

static void
a_json_part_names_the_generator_of_its_class_s_model(void)
{
	json_t *j = part("bolts/hex_screw/M8/default.json");
	json_t *step = part("bolts/hex_screw/M8/default.step");
	json_t *stl = part("bolts/hex_screw/M8/default.stl");

	CHECK(j != NULL && step != NULL && stl != NULL);
	/* made by no engine itself: the engine of the class's model, which
	 * makes every format, stands */
	CHECK(json_is_object(at(j, "provenance.generator")));
	CHECK(json_equal(at(j, "provenance.generator"),
	    at(step, "provenance.generator")));
	CHECK(json_equal(at(j, "provenance.generator"),
	    at(stl, "provenance.generator")));
	CHECK_STR(str_at(j, "provenance.generator.executor"), "freecad");
	CHECK_STR(str_at(j, "provenance.generator.function"), "hex_screw");
	json_decref(stl);
	json_decref(step);
	json_decref(j);
}

static void
a_class_description_tells_its_provenance_as_its_json_parts_do(void)
{
	const struct pclass *cls = library_class(bundled(), "hex_screw");
	json_t *j, *p = part("bolts/hex_screw/M8/default.json");

	CHECK(cls != NULL && p != NULL);
	j = describe_class(cls);
	CHECK(j != NULL);
	CHECK(json_equal(at(j, "provenance"), at(p, "provenance")));
	CHECK_STR(str_at(j, "provenance.blt"), "data/bolts.blt");
	CHECK(json_is_string(at(j, "provenance.generator.executor")));
	json_decref(j);
	json_decref(p);
}

static void
a_command_is_a_generator_and_a_class_without_engine_has_none(void)
{
	const struct pclass *bare = library_class(inches(), "bare");
	json_t *j = part_of(inches(), "inch/pipe/NPS 0.5/false/default.json");

	CHECK(j != NULL && bare != NULL);
	CHECK_STR(str_at(j, "provenance.generator.executor"), "command");
	CHECK_STR(str_at(j, "provenance.generator.command"), "fake");
	CHECK_STR(str_at(j, "provenance.generator.file"), "fake/inch/pipe.txt");
	json_decref(j);
	j = part_of(inches(), "inch/bare/default.json");
	CHECK(j != NULL);
	CHECK(json_is_null(at(j, "provenance.generator")));
	json_decref(j);
	j = describe_class(bare);
	CHECK(json_is_null(at(j, "provenance.generator")));
	CHECK_STR(str_at(j, "provenance.source"), "test");
	json_decref(j);
}

static void
a_collection_description_lists_its_classes(void)
{
	const struct collection *c = library_collection(bundled(), "bolts");
	json_t *j;

	CHECK(c != NULL);
	j = describe_collection(c);
	CHECK(j != NULL);
	CHECK_STR(str_at(j, "id"), "bolts");
	CHECK_STR(str_at(j, "name"), "Metric bolts, screws, nuts and washers");
	CHECK(str_has_prefix(str_at(j, "description"), "ISO metric hexagon"));
	CHECK_JOINED(at(j, "authors"),
	    "partsfs developers <partsfs@example.invalid>");
	CHECK_STR(str_at(j, "license"),
	    "MIT <http://opensource.org/licenses/MIT>");
	CHECK_STR(str_at(j, "blt_version"), "0.4");
	CHECK_JOINED(at(j, "classes"),
	    "hex_bolt hex_nut hex_screw plain_washer socket_head_cap_screw");
	json_decref(j);
}

/* Values and numbers. */

static void
a_value_is_a_json_integer_only_when_integral_and_exact(void)
{
	struct value v = { .kind = V_NUM };
	json_t *j;

	v.u.num = 20.0;
	j = value_to_json(&v);
	CHECK(json_is_integer(j) && json_integer_value(j) == 20);
	json_decref(j);
	v.u.num = -3;
	j = value_to_json(&v);
	CHECK(json_is_integer(j) && json_integer_value(j) == -3);
	json_decref(j);
	v.u.num = 0.5;
	j = value_to_json(&v);
	CHECK(json_is_real(j) && json_real_value(j) == 0.5);
	json_decref(j);
	/* beyond 2^53 a double is no exact integer */
	v.u.num = 1e21;
	j = value_to_json(&v);
	CHECK(json_is_real(j) && json_real_value(j) == 1e21);
	json_decref(j);
	v.kind = V_NULL;
	j = value_to_json(&v);
	CHECK(json_is_null(j));
	json_decref(j);
	v.kind = V_BOOL;
	v.u.b = true;
	j = value_to_json(&v);
	CHECK(json_is_true(j));
	json_decref(j);
	v.kind = V_STR;
	v.u.str = "M8";
	j = value_to_json(&v);
	CHECK(json_is_string(j) && strcmp(json_string_value(j), "M8") == 0);
	json_decref(j);
}

/* The dump of a one-number document {"n": x}, without its frame. */
static char *
dumped(json_t *n)
{
	json_t *doc = json_pack("{s:o}", "n", n);
	char *s = describe_dump(doc), *v, *end;

	json_decref(doc);
	v = strstr(s, "\"n\": ");
	if (v == NULL)
		return s;
	v += 5;
	end = strchr(v, '\n');
	v = xstrndup(v, end != NULL ? (size_t)(end - v) : strlen(v));
	free(s);
	return v;
}

#define CHECK_DUMP(n, want) do { \
	char *d_ = dumped(n); \
	bool ok_ = strcmp(d_, (want)) == 0; \
	if (!ok_) \
		tap_fail(__FILE__, __LINE__, "%s: dumped as %s, want %s", \
		    #n, d_, (want)); \
	free(d_); \
	if (!ok_) \
		return; \
} while (0)

static void
dump_writes_each_number_in_its_shortest_round_trip_form(void)
{
	CHECK_DUMP(json_real(0.1), "0.1");
	CHECK_DUMP(json_integer(20), "20");
	CHECK_DUMP(json_real(20.0), "20.0");
	CHECK_DUMP(json_real(2.5), "2.5");
	CHECK_DUMP(json_real(0.375), "0.375");
	CHECK_DUMP(json_real(6.01), "6.01");
	CHECK_DUMP(json_real(0.1 + 0.2), "0.30000000000000004");
	CHECK_DUMP(json_real(-14.38), "-14.38");
	CHECK_DUMP(json_real(1e21), "1e21");
	CHECK_DUMP(json_real(1e20), "100000000000000000000.0");
	CHECK_DUMP(json_real(1.5e-8), "1.5e-8");
	CHECK_DUMP(json_real(5e-324), "5e-324");
	CHECK_DUMP(json_real(1.7976931348623157e308),
	    "1.7976931348623157e308");
	CHECK_DUMP(json_integer(-9007199254740993LL), "-9007199254740993");
}

static void
each_number_keeps_its_own_shortest_form_beside_longer_ones(void)
{
	json_t *doc = json_pack("{s:f, s:f, s:f}", "a", 0.1 + 0.2, "b", 6.01,
	    "c", 0.1);
	char *s = describe_dump(doc);

	CHECK_CONTAINS(s, "\"a\": 0.30000000000000004,");
	CHECK_CONTAINS(s, "\"b\": 6.01,");
	CHECK_CONTAINS(s, "\"c\": 0.1\n");
	free(s);
	json_decref(doc);
}

static void
dump_leaves_numbers_inside_strings_alone(void)
{
	json_t *doc = json_pack("{s:s, s:s, s:s}", "0.10", "1.50",
	    "q", "a \"2.50\" b", "e", "1e21 \\\" 3.0");
	char *s = describe_dump(doc), *want;

	want = xasprintf("{\n  \"0.10\": \"1.50\",\n  \"q\": \"a \\\"2.50\\\" "
	    "b\",\n  \"e\": \"1e21 \\\\\\\" 3.0\"\n}\n");
	CHECK_STR(s, want);
	free(want);
	free(s);
	json_decref(doc);
}

/* xorshift64*, a fixed sequence */
static uint64_t
next_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

#define NRANDOM 20000

static void
every_dumped_real_reads_back_the_same_and_no_shorter_form_would(void)
{
	json_t *a = json_array(), *back;
	json_error_t err;
	uint64_t state = 0x9e3779b97f4a7c15ULL;
	double want[NRANDOM];
	char *s, *p;
	size_t n = 0;

	while (n < NRANDOM) {
		uint64_t bits = next_random(&state);
		double d;
		if (n % 2)
			/* and numbers of the sizes of parts */
			d = (double)(bits % 100000000) / 1000.0 *
			    ((bits >> 40) % 2 ? 1 : 0.0254);
		else
			memcpy(&d, &bits, sizeof d);
		if (!isfinite(d))
			continue;
		want[n++] = d;
		json_array_append_new(a, json_real(d));
	}
	s = describe_dump(a);
	back = json_loads(s, 0, &err);
	CHECK_MSG(back != NULL, "%s", err.text);
	CHECK_INT(json_array_size(back), NRANDOM);
	for (size_t i = 0; i < NRANDOM; i++) {
		json_t *v = json_array_get(back, i);
		CHECK_MSG(json_is_number(v) && json_number_value(v) == want[i],
		    "%.17g read back as %.17g", want[i], json_number_value(v));
	}
	/* shortest: one significant digit less never reads back the same */
	p = s;
	for (size_t i = 0; i < NRANDOM; i++) {
		char *end, digits[32], shorter[48];
		int nd = 0;
		bool exp = false;
		double d;
		p += strspn(p, "[\n ,");
		d = strtod(p, &end);
		for (char *c = p; c < end; c++) {
			exp |= *c == 'e';
			if (!exp && *c >= '0' && *c <= '9' && nd < 31)
				digits[nd++] = *c;
		}
		digits[nd] = '\0';
		/* significant digits: no leading zeros, no trailing ones */
		{
			char *sig = digits + strspn(digits, "0");
			size_t len = strlen(sig);
			while (len > 1 && sig[len - 1] == '0')
				len--;
			if (len > 1) {
				snprintf(shorter, sizeof shorter, "%.*e",
				    (int)len - 2, d);
				CHECK_MSG(strtod(shorter, NULL) != d, "%.*s is "
				    "not the shortest: %s reads the same",
				    (int)(end - p), p, shorter);
			}
		}
		p = end;
	}
	json_decref(back);
	json_decref(a);
	free(s);
}

static void
dump_indents_by_two_spaces_and_ends_with_a_newline(void)
{
	json_t *doc = json_pack("{s:[i,b,n]}", "a", 1, 0);
	char *s = describe_dump(doc);

	CHECK_STR(s, "{\n  \"a\": [\n    1,\n    false,\n    null\n  ]\n}\n");
	free(s);
	json_decref(doc);
}

/* j with each real made an integer: what jansson's own dump must then
 * give byte for byte (only its numbers differ from ours). */
static json_t *
without_reals(json_t *j)
{
	json_t *c;

	switch (json_typeof(j)) {
	case JSON_REAL:
		return json_integer((json_int_t)json_real_value(j));
	case JSON_OBJECT: {
		c = json_object();
		for (void *it = json_object_iter(j); it != NULL;
		    it = json_object_iter_next(j, it))
			json_object_setn_new_nocheck(c, json_object_iter_key(it),
			    json_object_iter_key_len(it),
			    without_reals(json_object_iter_value(it)));
		return c;
	}
	case JSON_ARRAY:
		c = json_array();
		for (size_t i = 0; i < json_array_size(j); i++)
			json_array_append_new(c,
			    without_reals(json_array_get(j, i)));
		return c;
	default:
		return json_incref(j);
	}
}

/* Our dumps of j against jansson's, pretty and compact, reals aside; j
 * itself read back from ours, and its length counted as written.  False
 * (with a note) on a difference. */
static bool
dumps_as_jansson(json_t *j, const char *what)
{
	json_t *plain = without_reals(j), *back;
	char *ours = describe_dump(plain), *theirs, *want;
	char *ours_c = describe_dump_compact(plain);
	char *theirs_c = json_dumps(plain, JSON_COMPACT | JSON_ENCODE_ANY);
	json_error_t err;
	bool ok = true;

	theirs = json_dumps(plain, JSON_INDENT(2) | JSON_ENCODE_ANY);
	want = xasprintf("%s\n", theirs);
	if (strcmp(ours, want) != 0) {
		tap_note("%s: dumped as\n%s\njansson:\n%s", what, ours, want);
		ok = false;
	}
	if (strcmp(ours_c, theirs_c) != 0) {
		tap_note("%s: compact as %s, jansson %s", what, ours_c,
		    theirs_c);
		ok = false;
	}
	free(ours);
	ours = describe_dump(j);
	if (describe_dump_len(j) != strlen(ours)) {
		tap_note("%s: length counted %zu, written %zu", what,
		    describe_dump_len(j), strlen(ours));
		ok = false;
	}
	back = json_loads(ours, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	if (back == NULL || !json_equal(back, j)) {
		tap_note("%s: does not read back as itself (%s):\n%s", what,
		    back == NULL ? err.text : "not equal", ours);
		ok = false;
	}
	json_decref(back);
	free(ours);
	free(ours_c);
	free(theirs);
	free(theirs_c);
	free(want);
	json_decref(plain);
	return ok;
}

static void
dump_lays_out_and_escapes_as_jansson_does(void)
{
	char controls[40];
	json_t *doc;
	size_t n = 0;

	for (int c = 1; c < 0x20; c++)
		controls[n++] = (char)c;
	controls[n++] = 0x7f;
	controls[n++] = '/';
	doc = json_pack("{s:{}, s:[], s:[{}, [], [[]], {s:[i, I, b, b, n]}], "
	    "s:s#, s:s, s:s, s:f, s:[f, i]}",
	    "empty", "none", "nested", "k", 0, (json_int_t)-9007199254740993LL,
	    1, 0, "controls", controls, (int)n,
	    "quotes", "a \"b\" \\c\\ \"",
	    "utf8", "\xc2\xb5m \xe2\x9c\x93 \xf0\x9f\x94\xa9",
	    "real", 2.5, "mixed", 0.1 + 0.2, 7);
	CHECK(doc != NULL);
	/* a NUL inside a string and a key with escapes */
	json_object_set_new(doc, "nul", json_stringn("a\0b", 3));
	json_object_set_new(doc, "key \"\t\\", json_true());
	CHECK(dumps_as_jansson(doc, "document"));
	json_decref(doc);
	/* compact dumps of lone values (xattrs) */
	doc = json_string("M8 \"x\"");
	CHECK(dumps_as_jansson(doc, "a string"));
	json_decref(doc);
	doc = json_integer(-3);
	CHECK(dumps_as_jansson(doc, "an integer"));
	json_decref(doc);
}

static void
every_description_of_the_bundled_library_lays_out_as_janssons(void)
{
	static const char *const parts[] = {
		"bolts/hex_bolt/M8/length=40.json",
		"bolts/hex_nut/M10/default.json",
		"bolts/plain_washer/M6/default.json",
	};
	struct library *l = bundled();
	size_t checked = 0;
	json_t *j;

	for (size_t i = 0; i < l->ncolls; i++) {
		const struct collection *c = l->colls[i];
		j = describe_collection(c);
		CHECK(dumps_as_jansson(j, c->id));
		json_decref(j);
		checked++;
		for (size_t k = 0; k < c->nclasses; k++) {
			j = describe_class(&c->classes[k]);
			CHECK(dumps_as_jansson(j, c->classes[k].id));
			json_decref(j);
			checked++;
		}
	}
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		j = part_of(l, parts[i]);
		CHECK_MSG(j != NULL, "%s", parts[i]);
		CHECK(dumps_as_jansson(j, parts[i]));
		json_decref(j);
		checked++;
	}
	/* every collection and class, and the parts */
	CHECK(l->nclasses > 0);
	CHECK_INT(checked, l->ncolls + l->nclasses +
	    sizeof parts / sizeof parts[0]);
}

TAP_MAIN(
	TAP_CASE(a_part_has_every_resolved_parameter_with_numbers_as_json_numbers),
	TAP_CASE(a_none_cell_of_a_part_is_null),
	TAP_CASE(a_part_lists_its_free_values_canonically_defaults_included),
	TAP_CASE(a_part_has_its_label_nice_and_safe),
	TAP_CASE(a_part_names_its_class_collection_path_and_format),
	TAP_CASE(a_part_names_its_standard_and_license),
	TAP_CASE(a_part_lists_the_formats_of_its_class),
	TAP_CASE(a_part_tells_its_provenance_with_the_generator_that_makes_it),
	TAP_CASE(with_model_openscad_every_format_is_openscads),
	TAP_CASE(a_part_gives_the_unit_of_every_dimension_and_of_nothing_else),
	TAP_CASE(an_inch_part_gives_params_in_inches_and_given_in_mm),
	TAP_CASE(a_millimetre_part_is_given_its_values_as_they_are),
	TAP_CASE(the_values_given_are_those_the_planner_passes_to_the_engine),
	TAP_CASE(a_class_description_gives_units_and_defaults_as_given),
	TAP_CASE(a_class_description_has_its_names_standards_and_parameters),
	TAP_CASE(a_class_description_names_its_generators),
	TAP_CASE(a_json_part_names_the_generator_of_its_class_s_model),
	TAP_CASE(a_class_description_tells_its_provenance_as_its_json_parts_do),
	TAP_CASE(a_command_is_a_generator_and_a_class_without_engine_has_none),
	TAP_CASE(a_collection_description_lists_its_classes),
	TAP_CASE(a_value_is_a_json_integer_only_when_integral_and_exact),
	TAP_CASE(dump_writes_each_number_in_its_shortest_round_trip_form),
	TAP_CASE(each_number_keeps_its_own_shortest_form_beside_longer_ones),
	TAP_CASE(dump_leaves_numbers_inside_strings_alone),
	TAP_CASE(every_dumped_real_reads_back_the_same_and_no_shorter_form_would),
	TAP_CASE(dump_indents_by_two_spaces_and_ends_with_a_newline),
	TAP_CASE(dump_lays_out_and_escapes_as_jansson_does),
	TAP_CASE(every_description_of_the_bundled_library_lays_out_as_janssons),
)
