/* test-occi.c -- the library as the OCCI FreeCAD plugin sees it: routes,
 * the server's self-description, search results, parameters and presets
 * in the shapes the plugin's widgets need, model requests as the plugin
 * writes them parsed into canonical tree paths, errors as the reference
 * server gives them, and the job and result JSON. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "partsfs/serve/occi-map.h"
#include "tap.h"

static const struct occi_site SITE = { "http://127.0.0.1:8090", NULL, NULL,
    NULL };

static struct library *bundled_lib, *typed_lib;

static void
unload(void)
{
	library_unref(bundled_lib);
	library_unref(typed_lib);
}

/* The bundled library, loaded once. */
static struct library *
bundled(void)
{
	if (bundled_lib == NULL) {
		char *dir = xasprintf("%s/library", fixture_srcdir());
		if (typed_lib == NULL)
			atexit(unload);
		bundled_lib = fixture_load_dir(dir);
		free(dir);
		if (bundled_lib->diags.nerrors > 0) {
			tap_note("%s", fixture_diags(bundled_lib));
			abort();
		}
	}
	return bundled_lib;
}

/* A library whose class "gadget" has a free parameter of every type, and
 * "plain" one that cannot be made in STEP (no engine). */
static struct library *
typed(void)
{
	const char *dir;

	if (typed_lib != NULL)
		return typed_lib;
	if (bundled_lib == NULL)
		atexit(unload);
	dir = fixture_dir("kit",
	    "  - id: gadget\n"
	    "    names: {name: Test gadget, labeling: 'Gadget %(size)s',\n"
	    "            description: a gadget with every kind of parameter}\n"
	    "    standards: {standard: ISO 9999, body: ISO, labeling: G}\n"
	    "    parameters:\n"
	    "      free: [size, hollow, length, inch, count, angle, note]\n"
	    "      defaults: {size: M8, hollow: false, length: 20, inch: 0.5,\n"
	    "                 count: 3, angle: 45, note: plain}\n"
	    "      types: {size: Table Index, hollow: Bool,\n"
	    "              length: Length (mm), inch: Length (in),\n"
	    "              count: Number, angle: Angle (deg), note: String,\n"
	    "              s: Length (mm)}\n"
	    "      description: {length: how long, size: thread size}\n"
	    "      tables:\n"
	    "        index: size\n"
	    "        columns: [s]\n"
	    "        data: {M10: [16], M8: [13], M3: [5.5]}\n"
	    "      common:\n"
	    "        - [[M8, M10], [true], [16, 2.5], [0.5], [3], [45],"
	    " [plain]]\n"
	    "    source: s\n"
	    "  - id: plain\n"
	    "    names: {name: Plain thing, labeling: P}\n"
	    "    parameters: {free: [d], types: {d: Length (mm)}}\n"
	    "    source: s\n");
	tap_write(dir, "freecad/kit/kit.base", "- filename: g.py\n"
	    "  type: function\n  author: a <b>\n  license: MIT <x>\n"
	    "  functions:\n    - {name: gadget, classids: [gadget]}\n");
	tap_write(dir, "freecad/kit/g.py", "def gadget(p, d): pass\n");
	typed_lib = fixture_load_dir(dir);
	if (typed_lib->diags.nerrors != 0) {
		tap_note("%s", fixture_diags(typed_lib));
		abort();
	}
	return typed_lib;
}

/* j at a path of object keys and array indexes ("a.b.0.c"; keys with a
 * '.' cannot be reached). */
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
	return json_string_value(at(j, path));
}

/* The element of a search result with namespace `ns`, or NULL. */
static json_t *
find_ns(json_t *list, const char *ns)
{
	size_t i;
	json_t *s;

	json_array_foreach(list, i, s) {
		const char *n = str_at(s, "namespace");
		if (n != NULL && strcmp(n, ns) == 0)
			return s;
	}
	return NULL;
}

/* Parse a model request with a query string of key=value pairs (already
 * decoded, as the server hands them over): the status. */
static int
parse(const struct library *lib, const char *org, const char *name,
    const char *version, const char *const *pairs, struct occi_request *req,
    json_t **err)
{
	struct occi_arg args[32];
	size_t n = 0;

	for (; pairs != NULL && pairs[2 * n] != NULL && n < 32; n++) {
		args[n].key = pairs[2 * n];
		args[n].value = pairs[2 * n + 1];
	}
	return occi_request_parse(lib, org, name, version, args, n, req, err);
}

#define ARGS(...) ((const char *const []){ __VA_ARGS__, NULL })

/* The tree path of a request that must parse (static), or NULL. */
static const char *
path_of(const struct library *lib, const char *org, const char *name,
    const char *const *pairs)
{
	static char path[1024];
	struct occi_request req;
	json_t *err = NULL;
	int r = parse(lib, org, name, OCCI_VERSION, pairs, &req, &err);

	if (r != 0) {
		char *s = occi_dump(err);
		tap_note("status %d: %s", r, s);
		free(s);
		json_decref(err);
		return NULL;
	}
	snprintf(path, sizeof path, "%s", req.path);
	occi_request_clear(&req);
	return path;
}

/* The 422 detail of a request that must fail: its first message (static),
 * and its status in *status. */
static const char *
error_of(const struct library *lib, const char *const *pairs,
    const char *org, const char *name, int *status, json_t **errp)
{
	static char msg[1024];
	struct occi_request req;
	json_t *err = NULL;
	json_t *d;

	*status = parse(lib, org, name, OCCI_VERSION, pairs, &req, &err);
	if (*status == 0) {
		tap_note("parsed into %s", req.path);
		occi_request_clear(&req);
		return NULL;
	}
	d = at(err, "detail");
	snprintf(msg, sizeof msg, "%s", json_is_string(d) ?
	    json_string_value(d) : str_at(err, "detail.0.msg"));
	if (errp != NULL)
		*errp = err;
	else
		json_decref(err);
	return msg;
}

/* Routes. */

static void
routes_are_the_reference_servers_url_scheme(void)
{
	struct occi_route r;

	CHECK_INT(occi_route("/", &r), OCCI_ROOT);
	CHECK_INT(occi_route("/search", &r), OCCI_SEARCH);
	CHECK_INT(occi_route("/bolts/hex_nut", &r), OCCI_SCRIPT);
	CHECK_STR(r.org, "bolts");
	CHECK_STR(r.name, "hex_nut");
	CHECK_INT(occi_route("/bolts/hex_nut/1.0", &r), OCCI_MODEL);
	CHECK_STR(r.version, "1.0");
	CHECK_INT(occi_route("/bolts/hex_nut/versions", &r), OCCI_VERSIONS);
	CHECK_INT(occi_route("/bolts/hex_nut/1.0/params", &r), OCCI_PARAMS);
	CHECK_STR(r.version, "1.0");
	CHECK_INT(occi_route("/bolts/hex_nut/1.0/presets", &r), OCCI_PRESETS);
	CHECK_INT(occi_route("/bolts/hex_nut/Ab-_9xYzQ0w/job/17", &r),
	    OCCI_JOB);
	CHECK_STR(r.org, "bolts");
	CHECK_STR(r.name, "hex_nut");
	CHECK_STR(r.hash, "Ab-_9xYzQ0w");
	CHECK_STR(r.job, "17");
	/* segments are %-decoded */
	CHECK_INT(occi_route("/bolts/hex%5Fnut/1%2e0", &r), OCCI_MODEL);
	CHECK_STR(r.name, "hex_nut");
	CHECK_STR(r.version, "1.0");
	CHECK_INT(occi_route("/a%2Fb/c", &r), OCCI_SCRIPT);
	CHECK_STR(r.org, "a/b");
}

static void
other_paths_are_not_found(void)
{
	static const char *const bad[] = {
		"", "search", "//", "/search/", "/bolts/", "/bolts//1.0",
		"/bolts", "/bolts/hex_nut/", "/bolts/hex_nut/1.0/", "/a/b/c/d",
		"/bolts/../hex_nut", "/./bolts/hex_nut", "/bolts/hex_nut/..",
		"/bolts/hex_nut/h/jobs/1", "/bolts/hex_nut/h/job/1/x",
		"/bolts/hex_nut/1.0/params/x", "/bolts/%2e%2E/1.0",
		"/bolts/hex_nut/%2e", "/bolts/hex%00nut", "/bolts/hex%zznut",
		"/bolts/hex_nut%", "/%2E%2E/hex_nut",
	};
	struct occi_route r;
	char *longseg;

	for (size_t i = 0; i < PF_ARRAY_LEN(bad); i++)
		CHECK_MSG(occi_route(bad[i], &r) == OCCI_NOT_FOUND &&
		    r.org[0] == '\0', "'%s' is a route", bad[i]);
	CHECK_INT(occi_route(NULL, &r), OCCI_NOT_FOUND);
	longseg = xmalloc(300);
	memset(longseg, 'a', 299);
	longseg[0] = '/';
	longseg[299] = '\0';
	CHECK_INT(occi_route(longseg, &r), OCCI_NOT_FOUND);
	free(longseg);
}

/* GET / */

static void
root_names_the_library_and_its_maintainer_from_the_library(void)
{
	json_t *j = occi_info(&SITE, bundled());

	CHECK_STR(str_at(j, "library"), "Metric bolts, screws, nuts and "
	    "washers");
	CHECK_STR(str_at(j, "maintainer"), "partsfs developers");
	CHECK_STR(str_at(j, "maintainer_email"), "partsfs@example.invalid");
	json_decref(j);
}

static void
root_says_what_the_site_configures_without_the_plugins_separators(void)
{
	struct occi_site site = { "http://h:1", "Our <parts> ~ \"lib\"",
	    "Jane  Doe\t<j>", "jane@example.org" };
	json_t *j = occi_info(&site, bundled());

	CHECK_STR(str_at(j, "library"), "Our parts lib");
	CHECK_STR(str_at(j, "maintainer"), "Jane Doe j");
	CHECK_STR(str_at(j, "maintainer_email"), "jane@example.org");
	json_decref(j);
	/* never empty: the plugin refuses a server without them */
	site.library = "<>";
	site.maintainer = "~";
	j = occi_info(&site, bundled());
	CHECK_STR(str_at(j, "library"), "partsfs");
	CHECK_STR(str_at(j, "maintainer"), "partsfs");
	json_decref(j);
}

/* Search. */

static void
empty_search_lists_every_class_made_in_step_once(void)
{
	json_t *all = occi_search(&SITE, bundled(), "");
	json_t *none = occi_search(&SITE, bundled(), NULL);
	size_t want = 0;
	const struct library *lib = bundled();

	for (size_t c = 0; c < lib->ncolls; c++)
		for (size_t k = 0; k < lib->colls[c]->nclasses; k++)
			want += occi_listed(&lib->colls[c]->classes[k]);
	CHECK(want >= 5);
	CHECK(json_is_array(all));
	CHECK_INT(json_array_size(all), want);
	CHECK(json_equal(all, none));
	CHECK(find_ns(all, "bolts/hex_screw") != NULL);
	CHECK(find_ns(all, "bolts/hex_nut") != NULL);
	json_decref(all);
	json_decref(none);
	/* a class no engine makes is not listed */
	all = occi_search(&SITE, typed(), "");
	CHECK_INT(json_array_size(all), 1);
	CHECK(find_ns(all, "kit/gadget") != NULL);
	json_decref(all);
}

static void
every_script_has_the_fields_the_plugin_reads_as_strings(void)
{
	json_t *all = occi_search(&SITE, bundled(), "");
	size_t i;
	json_t *s;

	json_array_foreach(all, i, s) {
		static const char *const strs[] = { "name", "author",
		    "description", "namespace", "url", "version",
		    "script_cad_language", "org", "id", "license" };
		char want[512];
		for (size_t k = 0; k < PF_ARRAY_LEN(strs); k++)
			CHECK_MSG(json_is_string(json_object_get(s, strs[k])),
			    "%s of script %zu is not a string", strs[k], i);
		CHECK(json_is_object(json_object_get(s, "params")));
		CHECK(json_is_object(json_object_get(s, "param_presets")));
		CHECK_STR(str_at(s, "version"), OCCI_VERSION);
		snprintf(want, sizeof want, "%s/%s", str_at(s, "org"),
		    str_at(s, "name"));
		CHECK_STR(str_at(s, "namespace"), want);
		snprintf(want, sizeof want, "http://127.0.0.1:8090/%s",
		    str_at(s, "namespace"));
		CHECK_STR(str_at(s, "url"), want);
	}
	s = find_ns(all, "bolts/hex_screw");
	CHECK_STR(str_at(s, "name"), "hex_screw");
	CHECK_STR(str_at(s, "org"), "bolts");
	CHECK_STR(str_at(s, "author"), "partsfs developers "
	    "<partsfs@example.invalid>");
	CHECK_CONTAINS(str_at(s, "description"), "Hexagon head screw (ISO "
	    "4017, DIN 933)");
	CHECK_STR(str_at(s, "script_cad_language"), "freecad");
	CHECK_STR(str_at(s, "path"), "bolts/hex_screw");
	json_decref(all);
}

static void
search_finds_every_word_in_names_standards_and_descriptions(void)
{
	json_t *r;

	r = occi_search(&SITE, bundled(), "hexagon NUT");
	CHECK(find_ns(r, "bolts/hex_nut") != NULL);
	CHECK(find_ns(r, "bolts/washer") == NULL);
	CHECK(find_ns(r, "bolts/hex_screw") == NULL);
	json_decref(r);
	r = occi_search(&SITE, bundled(), "iso 4017");
	CHECK_INT(json_array_size(r), 1);
	CHECK_STR(str_at(r, "0.namespace"), "bolts/hex_screw");
	json_decref(r);
	r = occi_search(&SITE, bundled(), "  DIN933 ");
	CHECK(find_ns(r, "bolts/hex_screw") != NULL);
	json_decref(r);
	r = occi_search(&SITE, bundled(), "bolts/hex_bolt");
	CHECK_INT(json_array_size(r), 1);
	json_decref(r);
	r = occi_search(&SITE, bundled(), "washer nut zzzz");
	CHECK(json_is_array(r));
	CHECK_INT(json_array_size(r), 0);
	json_decref(r);
}

/* Parameters. */

static void
params_map_table_index_to_options_and_lengths_to_float_numbers(void)
{
	const struct pclass *cls = occi_class(bundled(), "bolts",
	    "hex_screw");
	json_t *p = occi_params(cls);
	const char *key;
	json_t *v;
	size_t n = 0;
	char *text;

	CHECK(p != NULL);
	/* the rows in the order of the class's free list */
	json_object_foreach(p, key, v) {
		CHECK_STR(key, n == 0 ? "size" : "length");
		CHECK_STR(str_at(v, "name"), key);
		CHECK(json_is_string(json_object_get(v, "description")));
		n++;
	}
	CHECK_INT(n, 2);
	CHECK_STR(str_at(p, "size.type"), "options");
	CHECK_STR(str_at(p, "size.default"), "M8");
	CHECK(json_is_null(at(p, "size.units")));
	CHECK_STR(str_at(p, "size.options.0"), "M3");
	CHECK_STR(str_at(p, "size.options.1"), "M3.5");
	CHECK_INT(json_array_size(at(p, "size.options")), 14);
	CHECK_STR(str_at(p, "size.description"), "thread size");
	CHECK_STR(str_at(p, "length.type"), "number");
	CHECK_STR(str_at(p, "length.units"), "mm");
	/* a float default makes the plugin's field a float one */
	CHECK(json_is_real(at(p, "length.default")));
	CHECK_NUM(json_real_value(at(p, "length.default")), 20);
	CHECK(json_is_real(at(p, "length.start")));
	CHECK(json_is_real(at(p, "length.end")));
	CHECK(json_is_real(at(p, "length.step")));
	CHECK_NUM(json_real_value(at(p, "length.start")), 0);
	CHECK(json_real_value(at(p, "length.end")) >= 1000);
	text = occi_dump(p);
	CHECK_CONTAINS(text, "\"default\": 20.0");
	free(text);
	json_decref(p);
}

static void
params_map_bool_string_number_and_angle(void)
{
	json_t *p = occi_params(occi_class(typed(), "kit", "gadget"));

	CHECK(p != NULL);
	CHECK_STR(str_at(p, "hollow.type"), "boolean");
	CHECK(json_is_false(at(p, "hollow.default")));
	CHECK_STR(str_at(p, "note.type"), "text");
	CHECK_STR(str_at(p, "note.default"), "plain");
	CHECK_STR(str_at(p, "count.type"), "number");
	CHECK(json_is_null(at(p, "count.units")));
	CHECK(json_is_real(at(p, "count.default")));
	CHECK(json_real_value(at(p, "count.start")) < 0);
	CHECK_STR(str_at(p, "inch.units"), "inch");
	CHECK_NUM(json_real_value(at(p, "inch.default")), 0.5);
	CHECK_STR(str_at(p, "angle.units"), "deg");
	CHECK_NUM(json_real_value(at(p, "angle.start")), -360);
	CHECK_NUM(json_real_value(at(p, "angle.end")), 360);
	CHECK_STR(str_at(p, "length.description"), "how long");
	CHECK_STR(str_at(p, "count.description"), "");
	json_decref(p);
	CHECK(occi_params(occi_class(typed(), "kit", "plain")) == NULL);
}

static void
presets_are_the_common_combinations_named_by_their_paths(void)
{
	const struct pclass *cls = occi_class(bundled(), "bolts",
	    "hex_screw");
	json_t *p = occi_presets(cls), *nut, *v;

	CHECK(json_object_size(p) == cls->ps.ncommon);
	CHECK(json_object_get(p, "M8/length=20") != NULL);
	CHECK_STR(json_string_value(json_object_get(json_object_get(p,
	    "M8/length=20"), "size")), "M8");
	CHECK(json_is_real(json_object_get(json_object_get(p, "M3/length=6"),
	    "length")));
	CHECK_NUM(json_real_value(json_object_get(json_object_get(p,
	    "M3/length=6"), "length")), 6);
	json_decref(p);
	nut = occi_presets(occi_class(bundled(), "bolts", "hex_nut"));
	CHECK(json_object_get(nut, "M8/default") != NULL);
	CHECK_INT(json_object_size(json_object_get(nut, "M8/default")), 1);
	json_decref(nut);
	/* every type keeps its JSON type; the names are listed by the mount */
	p = occi_presets(occi_class(typed(), "kit", "gadget"));
	CHECK_INT(json_object_size(p), 4);
	v = json_object_get(p, "M10/true/length=2.5,inch=0.5,count=3,angle=45,"
	    "note=plain");
	CHECK(json_is_true(json_object_get(v, "hollow")));
	CHECK_STR(json_string_value(json_object_get(v, "note")), "plain");
	CHECK(json_is_real(json_object_get(v, "count")));
	CHECK_STR(json_string_value(json_object_get(v, "size")), "M10");
	json_decref(p);
}

/* Model requests. */

static void
a_request_as_the_plugin_writes_it_is_a_canonical_tree_path(void)
{
	CHECK_STR(path_of(bundled(), "bolts", "hex_screw",
	    ARGS("size", "M10", "length", "35.0")),
	    "bolts/hex_screw/M10/length=35.step");
	CHECK_STR(path_of(bundled(), "bolts", "hex_screw",
	    ARGS("length", "35", "size", "M10")),
	    "bolts/hex_screw/M10/length=35.step");
	CHECK_STR(path_of(bundled(), "bolts", "hex_screw",
	    ARGS("size", "M3.5", "length", "99.99")),
	    "bolts/hex_screw/M3.5/length=99.99.step");
	CHECK_STR(path_of(bundled(), "bolts", "hex_nut", ARGS("size", "M20")),
	    "bolts/hex_nut/M20/default.step");
}

static void
values_equal_to_their_defaults_are_left_out_of_the_path(void)
{
	CHECK_STR(path_of(bundled(), "bolts", "hex_screw",
	    ARGS("size", "M8", "length", "20.0")),
	    "bolts/hex_screw/M8/default.step");
	CHECK_STR(path_of(bundled(), "bolts", "hex_screw", NULL),
	    "bolts/hex_screw/M8/default.step");
	CHECK_STR(path_of(bundled(), "bolts", "hex_screw",
	    ARGS("length", "2e1")), "bolts/hex_screw/M8/default.step");
}

static void
booleans_come_as_python_prints_them(void)
{
	CHECK_STR(path_of(typed(), "kit", "gadget",
	    ARGS("size", "M3", "hollow", "True", "length", "20.0", "inch",
	    "0.5", "count", "3.0", "angle", "45.0", "note", "plain")),
	    "kit/gadget/M3/true/default.step");
	CHECK_STR(path_of(typed(), "kit", "gadget",
	    ARGS("hollow", "False", "count", "7.0", "note", "two words")),
	    "kit/gadget/M8/false/count=7,note=two words.step");
	CHECK_STR(path_of(typed(), "kit", "gadget", ARGS("hollow", "true")),
	    "kit/gadget/M8/true/default.step");
	CHECK_STR(path_of(typed(), "kit", "gadget", ARGS("note", "")),
	    "kit/gadget/M8/false/note=.step");
	CHECK_STR(path_of(typed(), "kit", "gadget", ARGS("note", "a,b=c/d%")),
	    "kit/gadget/M8/false/note=a%2Cb%3Dc%2Fd%25.step");
}

static void
format_and_output_pick_the_part_file_and_the_answer(void)
{
	struct occi_request req;
	json_t *err = NULL;

	CHECK_INT(parse(bundled(), "bolts", "hex_nut", "1.0",
	    ARGS("format", "stl", "output", "full", "size", "M10"), &req,
	    &err), 0);
	CHECK_STR(req.path, "bolts/hex_nut/M10/default.stl");
	CHECK(req.full);
	CHECK_INT(req.fmt, FMT_STL);
	occi_request_clear(&req);
	CHECK_INT(parse(bundled(), "bolts", "hex_nut", "1.0",
	    ARGS("format", "step", "output", "model"), &req, &err), 0);
	CHECK_STR(req.path, "bolts/hex_nut/M8/default.step");
	CHECK(!req.full);
	occi_request_clear(&req);
	if (occi_class(bundled(), "bolts", "hex_nut")->formats &
	    FMT_BIT(FMT_GLB)) {
		CHECK_INT(parse(bundled(), "bolts", "hex_nut", "1.0",
		    ARGS("format", "gltf"), &req, &err), 0);
		CHECK_STR(req.path, "bolts/hex_nut/M8/default.glb");
		occi_request_clear(&req);
	}
}

static void
the_hash_is_short_url_safe_and_one_per_part(void)
{
	struct occi_request a, b, c;
	json_t *err = NULL;
	char h[OCCI_HASH_LEN + 1];

	CHECK_INT(parse(bundled(), "bolts", "hex_screw", "1.0",
	    ARGS("size", "M8", "length", "20.0"), &a, &err), 0);
	CHECK_INT(parse(bundled(), "bolts", "hex_screw", "1.0", NULL, &b,
	    &err), 0);
	CHECK_INT(parse(bundled(), "bolts", "hex_screw", "1.0",
	    ARGS("length", "25.0"), &c, &err), 0);
	CHECK_INT(strlen(a.hash), OCCI_HASH_LEN);
	for (const char *s = a.hash; *s != '\0'; s++)
		CHECK(isalnum((unsigned char)*s) || *s == '-' || *s == '_');
	CHECK_STR(a.hash, b.hash);
	CHECK(strcmp(a.hash, c.hash) != 0);
	occi_hash(a.path, h);
	CHECK_STR(h, a.hash);
	/* the same on every run and every machine */
	occi_hash("bolts/hex_screw/M8/default.step", h);
	CHECK_STR(h, a.hash);
	occi_hash("", h);
	CHECK_STR(h, "47DEQpj8HBS");   /* SHA-256 of "" is e3b0c44298fc... */
	occi_request_clear(&a);
	occi_request_clear(&b);
	occi_request_clear(&c);
}

static void
request_params_hold_every_parameter_with_its_value(void)
{
	struct occi_request req;
	json_t *err = NULL;

	CHECK_INT(parse(typed(), "kit", "gadget", "1.0",
	    ARGS("hollow", "True", "length", "16.0"), &req, &err), 0);
	CHECK_INT(json_object_size(req.params), 7);
	CHECK(json_is_true(at(req.params, "hollow.value")));
	CHECK_STR(str_at(req.params, "size.value"), "M8");
	CHECK_NUM(json_real_value(at(req.params, "length.value")), 16);
	CHECK_NUM(json_real_value(at(req.params, "count.value")), 3);
	CHECK_STR(str_at(req.params, "note.value"), "plain");
	occi_request_clear(&req);
}

static void
bad_values_are_422_naming_the_parameter_and_what_is_accepted(void)
{
	int status;
	json_t *err = NULL;
	const char *msg;

	msg = error_of(bundled(), ARGS("length", "abc"), "bolts", "hex_screw",
	    &status, &err);
	CHECK_INT(status, 422);
	CHECK_CONTAINS(msg, "length");
	CHECK_STR(str_at(err, "detail.0.loc.0"), "query");
	CHECK_STR(str_at(err, "detail.0.loc.1"), "length");
	CHECK(json_is_string(at(err, "detail.0.type")));
	json_decref(err);
	msg = error_of(bundled(), ARGS("size", "M7"), "bolts", "hex_screw",
	    &status, NULL);
	CHECK_INT(status, 422);
	CHECK_CONTAINS(msg, "M7");
	CHECK_CONTAINS(msg, "M8");
	msg = error_of(bundled(), ARGS("length", "-5.0"), "bolts",
	    "hex_screw", &status, NULL);
	CHECK_INT(status, 422);
	msg = error_of(bundled(), ARGS("length", ""), "bolts", "hex_screw",
	    &status, NULL);
	CHECK_INT(status, 422);
	msg = error_of(bundled(), ARGS("length", "1e300"), "bolts",
	    "hex_screw", &status, NULL);
	CHECK_INT(status, 422);
	msg = error_of(typed(), ARGS("hollow", "maybe"), "kit", "gadget",
	    &status, NULL);
	CHECK_INT(status, 422);
	CHECK_CONTAINS(msg, "hollow");
	msg = error_of(typed(), ARGS("angle", "400.0"), "kit", "gadget",
	    &status, NULL);
	CHECK_INT(status, 422);
}

static void
unknown_twice_and_fixed_parameters_are_422(void)
{
	int status;
	json_t *err = NULL;
	const char *msg;

	msg = error_of(bundled(), ARGS("colour", "red"), "bolts", "hex_screw",
	    &status, NULL);
	CHECK_INT(status, 422);
	CHECK_CONTAINS(msg, "colour");
	CHECK_CONTAINS(msg, "size, length");
	msg = error_of(bundled(), ARGS("s", "13"), "bolts", "hex_screw",
	    &status, NULL);
	CHECK_INT(status, 422);
	msg = error_of(bundled(), ARGS("length", "20", "length", "25"),
	    "bolts", "hex_screw", &status, NULL);
	CHECK_INT(status, 422);
	CHECK_CONTAINS(msg, "twice");
	/* every bad argument is listed */
	error_of(bundled(), ARGS("size", "M7", "length", "x", "q", "1"),
	    "bolts", "hex_screw", &status, &err);
	CHECK_INT(status, 422);
	CHECK_INT(json_array_size(at(err, "detail")), 3);
	CHECK_STR(str_at(err, "detail.2.loc.1"), "q");
	json_decref(err);
}

static void
bad_format_and_output_are_422(void)
{
	int status;

	CHECK(error_of(bundled(), ARGS("format", "obj"), "bolts", "hex_nut",
	    &status, NULL) != NULL);
	CHECK_INT(status, 422);
	CHECK(error_of(bundled(), ARGS("format", "json"), "bolts", "hex_nut",
	    &status, NULL) != NULL);
	CHECK_INT(status, 422);
	CHECK(error_of(bundled(), ARGS("output", "file"), "bolts", "hex_nut",
	    &status, NULL) != NULL);
	CHECK_INT(status, 422);
	CHECK(error_of(bundled(), ARGS("format", "stl", "format", "step"),
	    "bolts", "hex_nut", &status, NULL) != NULL);
	CHECK_INT(status, 422);
}

static void
unknown_scripts_and_versions_are_404(void)
{
	struct occi_request req;
	json_t *err = NULL;

	CHECK_INT(parse(bundled(), "bolts", "hex_rivet", "1.0", NULL, &req,
	    &err), 404);
	CHECK(json_is_string(at(err, "detail")));
	json_decref(err);
	CHECK_INT(parse(bundled(), "nuts", "hex_nut", "1.0", NULL, &req,
	    &err), 404);
	json_decref(err);
	CHECK_INT(parse(bundled(), "bolts", "hex_nut", "2.0", NULL, &req,
	    &err), 404);
	CHECK_CONTAINS(str_at(err, "detail"), OCCI_VERSION);
	json_decref(err);
	CHECK_INT(parse(typed(), "kit", "plain", "1.0", NULL, &req, &err),
	    404);
	json_decref(err);
	CHECK_INT(parse(bundled(), "bolts", "\xff", "1.0", NULL, &req, &err),
	    404);
	CHECK(json_is_string(at(err, "detail")));
	json_decref(err);
}

static void
values_that_are_not_utf8_are_422_not_a_crash(void)
{
	int status;
	json_t *err = NULL;

	CHECK(error_of(typed(), ARGS("note", "\xc3\x28"), "kit", "gadget",
	    &status, &err) != NULL);
	CHECK_INT(status, 422);
	CHECK_INT(json_array_size(at(err, "detail")), 1);
	json_decref(err);
	CHECK(error_of(typed(), ARGS("n\xffte", "x"), "kit", "gadget",
	    &status, &err) != NULL);
	CHECK_INT(status, 422);
	CHECK_INT(json_array_size(at(err, "detail")), 1);
	json_decref(err);
}

/* The text a widget of the plugin gives for `p` before the user touches
 * it: the first option, the default bool, text as it is, a float clamped
 * to 0..99.99 (Qt's default range, set before the script's), then to the
 * script's range, printed as Python's str(float). */
static char *
initial_value(json_t *p)
{
	const char *type = json_string_value(json_object_get(p, "type"));
	json_t *def = json_object_get(p, "default");
	double v, lo, hi;

	if (strcmp(type, "options") == 0)
		return xstrdup(json_string_value(json_array_get(
		    json_object_get(p, "options"), 0)));
	if (strcmp(type, "boolean") == 0)
		return xstrdup(json_is_true(def) ? "True" : "False");
	if (strcmp(type, "text") == 0)
		return xstrdup(json_string_value(def));
	v = json_real_value(def);
	v = v < 0 ? 0 : v > 99.99 ? 99.99 : v;
	v = round(v * 100) / 100;
	lo = json_real_value(json_object_get(p, "start"));
	hi = json_real_value(json_object_get(p, "end"));
	v = v < lo ? lo : v > hi ? hi : v;
	return xasprintf("%.17g%s", v, v == floor(v) ? ".0" : "");
}

/* Parse the request the plugin makes of script `s` with the widgets at
 * their initial values, overridden by `preset` (NULL: none): 0 or the
 * status, with a note saying why. */
static int
plugin_request(const struct library *lib, json_t *s, json_t *preset)
{
	json_t *params = json_object_get(s, "params"), *p, *err = NULL;
	struct occi_arg args[PF_MAX_FREE];
	char *vals[PF_MAX_FREE];
	struct occi_request req;
	const char *key;
	size_t n = 0;
	int r;

	json_object_foreach(params, key, p) {
		json_t *pv = preset != NULL ? json_object_get(preset, key) :
		    NULL;
		if (n == PF_MAX_FREE)
			break;
		if (json_is_string(pv))
			vals[n] = xstrdup(json_string_value(pv));
		else if (json_is_boolean(pv))
			vals[n] = xstrdup(json_is_true(pv) ? "True" : "False");
		else if (json_is_number(pv))
			vals[n] = xasprintf("%.2f", json_number_value(pv));
		else
			vals[n] = initial_value(p);
		args[n].key = key;
		args[n].value = vals[n];
		n++;
	}
	r = occi_request_parse(lib, str_at(s, "org"), str_at(s, "name"),
	    OCCI_VERSION, args, n, &req, &err);
	if (r == 0)
		occi_request_clear(&req);
	else {
		char *d = occi_dump(err);
		tap_note("%s: %s", str_at(s, "namespace"), d);
		free(d);
		json_decref(err);
	}
	for (size_t i = 0; i < n; i++)
		free(vals[i]);
	return r;
}

static void
the_plugins_first_request_and_every_preset_parse_on_the_real_library(void)
{
	struct library *corpus;
	json_t *all, *s, *preset;
	size_t i, nbad = 0, npresets = 0;
	const char *name;

	NEED("corpus");
	corpus = fixture_load_dir(tap_corpus());
	all = occi_search(&SITE, corpus, NULL);
	CHECK(json_array_size(all) > 20);
	json_array_foreach(all, i, s) {
		nbad += plugin_request(corpus, s, NULL) != 0;
		json_object_foreach(json_object_get(s, "param_presets"), name,
		    preset) {
			nbad += plugin_request(corpus, s, preset) != 0;
			npresets++;
		}
	}
	tap_note("%zu scripts, %zu presets", json_array_size(all), npresets);
	json_decref(all);
	library_unref(corpus);
	CHECK_INT(nbad, 0);
}

/* Jobs and results. */

static void
a_jobs_path_gives_back_its_request(void)
{
	struct occi_request a, b;
	json_t *err = NULL;

	CHECK_INT(parse(bundled(), "bolts", "hex_screw", "1.0",
	    ARGS("size", "M10", "length", "30.0", "format", "stl"), &a, &err),
	    0);
	CHECK_INT(occi_request_of_path(bundled(), a.path, true, &b), 0);
	CHECK_STR(b.path, a.path);
	CHECK_STR(b.hash, a.hash);
	CHECK(b.cls == a.cls);
	CHECK_INT(b.fmt, FMT_STL);
	CHECK(b.full);
	CHECK(json_equal(a.params, b.params));
	occi_request_clear(&a);
	occi_request_clear(&b);
	CHECK_INT(occi_request_of_path(bundled(), "bolts/hex_screw/M8",
	    true, &b), -ENOENT);
	CHECK_INT(occi_request_of_path(bundled(), "bolts/hex_screw/M8/"
	    "default.json", true, &b), -ENOENT);
	CHECK_INT(occi_request_of_path(bundled(), "bolts/hex_screw/M7/"
	    "default.step", true, &b), -ENOENT);
	CHECK_INT(occi_request_of_path(typed(), "kit/plain/default.stl",
	    true, &b), -ENOENT);
}

static void
the_job_location_is_a_path_with_job_in_it(void)
{
	struct occi_request req;
	json_t *err = NULL;
	char *loc, *want;
	struct occi_route r;

	CHECK_INT(parse(bundled(), "bolts", "hex_nut", "1.0",
	    ARGS("size", "M10"), &req, &err), 0);
	loc = occi_job_location(&req, "42");
	want = xasprintf("/bolts/hex_nut/%s/job/42", req.hash);
	CHECK_STR(loc, want);
	CHECK_INT(occi_route(loc, &r), OCCI_JOB);
	CHECK_STR(r.hash, req.hash);
	free(loc);
	free(want);
	occi_request_clear(&req);
}

static void
a_job_under_way_is_working_with_its_script_and_request(void)
{
	struct occi_request req;
	json_t *err = NULL, *j;

	CHECK_INT(parse(bundled(), "bolts", "hex_nut", "1.0",
	    ARGS("size", "M10"), &req, &err), 0);
	j = occi_job_json(&SITE, &req, "42", "running", 2.5);
	CHECK_STR(str_at(j, "status"), "working");
	CHECK_STR(str_at(j, "job_id"), "42");
	CHECK_STR(str_at(j, "job_status"), "running");
	CHECK_INT(json_integer_value(at(j, "elapsed_time")), 2500);
	CHECK_STR(str_at(j, "script.namespace"), "bolts/hex_nut");
	CHECK_STR(str_at(j, "script.request.hash"), req.hash);
	CHECK_STR(str_at(j, "script.request.params.size.value"), "M10");
	CHECK_STR(str_at(j, "script.request.format"), "step");
	CHECK_STR(str_at(j, "script.request.output"), "model");
	json_decref(j);
	occi_request_clear(&req);
}

static void
a_result_holds_step_as_text_and_stl_as_base64(void)
{
	static const char step[] = "ISO-10303-21;\nHEADER;\nENDSEC;\n";
	struct occi_request req;
	json_t *err = NULL, *j;
	static const char *const fields[] = { "id", "namespace", "status",
	    "org", "name", "author", "license", "version", "url",
	    "description", "params", "param_presets", "script_cad_language",
	    "request", "results" };

	CHECK_INT(parse(bundled(), "bolts", "hex_nut", "1.0",
	    ARGS("size", "M10", "output", "full"), &req, &err), 0);
	j = occi_result(&SITE, &req, "7", step, strlen(step), 1.25, NULL);
	for (size_t i = 0; i < PF_ARRAY_LEN(fields); i++)
		CHECK_MSG(json_object_get(j, fields[i]) != NULL,
		    "no %s", fields[i]);
	CHECK_STR(str_at(j, "id"), "bolts/hex_nut/1.0");
	CHECK_STR(str_at(j, "status"), "success");
	CHECK_STR(str_at(j, "request.hash"), req.hash);
	CHECK_STR(str_at(j, "request.output"), "full");
	CHECK_STR(str_at(j, "request.path"), "bolts/hex_nut/M10/default.step");
	CHECK(json_is_true(at(j, "results.success")));
	CHECK_STR(str_at(j, "results.models.step"), step);
	CHECK_INT(json_array_size(at(j, "results.errors")), 0);
	CHECK(json_is_array(at(j, "results.messages")));
	CHECK_INT(json_integer_value(at(j, "results.duration")), 1250);
	CHECK_STR(str_at(j, "results.task_id"), "7");
	json_decref(j);
	occi_request_clear(&req);

	CHECK_INT(parse(bundled(), "bolts", "hex_nut", "1.0",
	    ARGS("format", "stl"), &req, &err), 0);
	j = occi_result(&SITE, &req, NULL, "solid x\n", 8, 0, NULL);
	CHECK_STR(str_at(j, "results.models.stl"), "c29saWQgeAo=");
	CHECK(at(j, "results.models.step") == NULL);
	CHECK_STR(str_at(j, "request.format"), "stl");
	json_decref(j);
	occi_request_clear(&req);
}

static void
a_failed_result_is_success_false_with_the_error(void)
{
	struct occi_request req;
	json_t *err = NULL, *j;

	CHECK_INT(parse(bundled(), "bolts", "hex_nut", "1.0", NULL, &req,
	    &err), 0);
	j = occi_result(&SITE, &req, "9", NULL, 0, 3, "freecad: exit 1");
	CHECK(json_is_false(at(j, "results.success")));
	CHECK_STR(str_at(j, "results.errors.0"), "freecad: exit 1");
	CHECK_INT(json_object_size(at(j, "results.models")), 0);
	CHECK_STR(str_at(j, "status"), "failed");
	json_decref(j);
	/* a STEP that is not text cannot go into the JSON */
	j = occi_result(&SITE, &req, "9", "ISO\xff\0", 5, 3, NULL);
	CHECK(json_is_false(at(j, "results.success")));
	CHECK_INT(json_object_size(at(j, "results.models")), 0);
	json_decref(j);
	occi_request_clear(&req);
}

static void
dumped_reals_keep_their_point_and_shortest_digits(void)
{
	json_t *j = json_pack("{s:f, s:f, s:i}", "a", 20.0, "b", 6.01, "c",
	    3);
	char *s = occi_dump(j);

	CHECK_CONTAINS(s, "\"a\": 20.0");
	CHECK_CONTAINS(s, "\"b\": 6.01");
	CHECK_CONTAINS(s, "\"c\": 3");
	free(s);
	json_decref(j);
}

TAP_MAIN(
	TAP_CASE(routes_are_the_reference_servers_url_scheme),
	TAP_CASE(other_paths_are_not_found),
	TAP_CASE(root_names_the_library_and_its_maintainer_from_the_library),
	TAP_CASE(root_says_what_the_site_configures_without_the_plugins_separators),
	TAP_CASE(empty_search_lists_every_class_made_in_step_once),
	TAP_CASE(every_script_has_the_fields_the_plugin_reads_as_strings),
	TAP_CASE(search_finds_every_word_in_names_standards_and_descriptions),
	TAP_CASE(params_map_table_index_to_options_and_lengths_to_float_numbers),
	TAP_CASE(params_map_bool_string_number_and_angle),
	TAP_CASE(presets_are_the_common_combinations_named_by_their_paths),
	TAP_CASE(a_request_as_the_plugin_writes_it_is_a_canonical_tree_path),
	TAP_CASE(values_equal_to_their_defaults_are_left_out_of_the_path),
	TAP_CASE(booleans_come_as_python_prints_them),
	TAP_CASE(format_and_output_pick_the_part_file_and_the_answer),
	TAP_CASE(the_hash_is_short_url_safe_and_one_per_part),
	TAP_CASE(request_params_hold_every_parameter_with_its_value),
	TAP_CASE(bad_values_are_422_naming_the_parameter_and_what_is_accepted),
	TAP_CASE(unknown_twice_and_fixed_parameters_are_422),
	TAP_CASE(bad_format_and_output_are_422),
	TAP_CASE(unknown_scripts_and_versions_are_404),
	TAP_CASE(values_that_are_not_utf8_are_422_not_a_crash),
	TAP_CASE(the_plugins_first_request_and_every_preset_parse_on_the_real_library),
	TAP_CASE(a_jobs_path_gives_back_its_request),
	TAP_CASE(the_job_location_is_a_path_with_job_in_it),
	TAP_CASE(a_job_under_way_is_working_with_its_script_and_request),
	TAP_CASE(a_result_holds_step_as_text_and_stl_as_base64),
	TAP_CASE(a_failed_result_is_success_false_with_the_error),
	TAP_CASE(dumped_reals_keep_their_point_and_shortest_digits),
)
