/* describe.c -- JSON descriptions of collections, classes and parts (the
 * .json files of the tree, `partsctl params` and the xattrs), with the
 * unit of every dimension, the values an engine is given, and numbers
 * written in their shortest round-trip form. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "partsfs/model/label.h"
#include "partsfs/model/makers.h"
#include "partsfs/tree/describe.h"
#include "partsfs/model/params.h"

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *
strings(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* The unit of a type's values: lengths in mm or in, angles in degrees;
 * NULL for Number, Bool, String and Table Index, which have none. */
static const char *
unit_of(enum ptype t)
{
	switch (t) {
	case PT_LENGTH_MM:
		return "mm";
	case PT_LENGTH_IN:
		return "in";
	case PT_ANGLE:
		return "deg";
	default:
		return NULL;
	}
}

/*
 * A value as an engine is given it.  plan_build (src/make/plan.c) turns
 * a Length (in) into mm, times 25.4, and passes every other value as it
 * is; tests/test-describe.c holds this to what the planner gives.
 */
static struct value
given_value(enum ptype t, struct value v)
{
	if (t == PT_LENGTH_IN && v.kind == V_NUM)
		v.u.num *= 25.4;
	return v;
}

json_t *
value_to_json(const struct value *v)
{
	switch (v->kind) {
	case V_NULL:
		return json_null();
	case V_NUM:
		if (v->u.num == floor(v->u.num) && fabs(v->u.num) < 9007199254740992.0)
			return json_integer((json_int_t)v->u.num);
		return json_real(v->u.num);
	case V_BOOL:
		return json_boolean(v->u.b);
	case V_STR:
		return json_string(v->u.str);
	}
	return json_null();
}

static json_t *
ident_json(const struct ident *id)
{
	if (id->nice == NULL)
		return json_null();
	return json_pack("{s:s, s:s}", "nice", id->nice, "safe", id->safe);
}

static json_t *
subst_json(const struct subst *s)
{
	return json_pack("{s:s, s:s}", "nice", s->nice, "safe", s->safe);
}

static json_t *
formats_json(uint32_t mask)
{
	json_t *a = json_array();

	for (int f = 0; f < FMT__COUNT; f++) {
		if (mask & FMT_BIT(f))
			json_array_append_new(a, json_string(format_ext(f)));
	}
	return a;
}

json_t *
describe_collection(const struct collection *c)
{
	json_t *classes = json_array();

	for (size_t i = 0; i < c->nclasses; i++)
		json_array_append_new(classes,
		    json_string(c->classes[c->order[i]].id));
	return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "id", c->id,
	    "name", str_or_null(c->name),
	    "description", str_or_null(c->description),
	    "authors", strings(c->authors, c->nauthors),
	    "license", str_or_null(c->license),
	    "blt_version", str_or_null(c->blt_version),
	    "classes", classes);
}

static json_t *
pset_json(const struct pset *ps)
{
	json_t *types = json_object(), *defaults = json_object();
	json_t *desc = json_object(), *choices = json_object();
	json_t *freev = json_array(), *units = json_object();
	json_t *given = json_object();

	for (size_t i = 0; i < ps->nparams; i++) {
		const struct param *p = &ps->params[i];
		const char *unit = unit_of(p->type);
		json_object_set_new(types, p->name, json_string(ptype_name(p->type)));
		if (unit != NULL)
			json_object_set_new(units, p->name, json_string(unit));
		if (p->description != NULL)
			json_object_set_new(desc, p->name,
			    json_string(p->description));
	}
	for (size_t f = 0; f < ps->nfree; f++) {
		const struct param *p = &ps->params[ps->free[f]];
		struct value g = given_value(p->type, p->def);
		json_array_append_new(freev, json_string(p->name));
		json_object_set_new(defaults, p->name, value_to_json(&p->def));
		json_object_set_new(given, p->name, value_to_json(&g));
		if (p->type == PT_TABLE_INDEX)
			json_object_set_new(choices, p->name,
			    strings(p->choices, p->nchoices));
	}
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I}",
	    "free", freev, "types", types, "units", units,
	    "defaults", defaults, "defaults_given", given,
	    "choices", choices, "description", desc,
	    "common", (json_int_t)ps->ncommon);
}

static json_t *
base_json(const struct base_file *bf)
{
	return json_pack("{s:s, s:o, s:o, s:o}", "file", bf->display,
	    "authors", strings(bf->authors, bf->nauthors),
	    "license", str_or_null(bf->license),
	    "source", str_or_null(bf->source));
}

/* The generator that makes format `fmt` of a class: its file (authors,
 * licence, source), its executor and its module, function or command;
 * null when nothing makes the format. */
static json_t *
generator_json(const struct pclass *cls, enum format fmt)
{
	enum generator g = class_generator(cls, fmt);
	const struct base_file *file;
	const char *key, *name;
	json_t *gen;

	switch (g) {
	case GEN_OPENSCAD:
		file = cls->scad->file;
		key = "module";
		name = cls->scad->module;
		break;
	case GEN_FREECAD:
		file = cls->freecad->file;
		key = "function";
		name = cls->freecad->function;
		break;
	case GEN_COMMAND:
		file = cls->extra->commands[cls->makers[fmt].index].file;
		key = "command";
		name = cls->extra->commands[cls->makers[fmt].index].name;
		break;
	default:
		return json_null();
	}
	gen = base_json(file);
	json_object_set_new(gen, "executor", json_string(generator_name(g)));
	json_object_set_new(gen, key, json_string(name));
	return gen;
}

/* The format whose engine stands for the class where no format is asked
 * for (the class and its json parts): the first one an engine makes, in
 * the tree's order, whose engine is that of the class's model (which
 * makes every format); FMT_JSON when no engine makes the class. */
static enum format
model_format(const struct pclass *cls)
{
	for (int f = 0; f < FMT__COUNT; f++) {
		if (class_generator(cls, (enum format)f) != GEN_NONE)
			return (enum format)f;
	}
	return FMT_JSON;
}

/* Where a class comes from: its source, its collection file and authors,
 * and the generator that makes format `fmt`. */
static json_t *
provenance_json(const struct pclass *cls, enum format fmt)
{
	return json_pack("{s:s, s:s, s:o, s:o}",
	    "source", cls->source,
	    "blt", cls->coll->display,
	    "authors", strings(cls->coll->authors, cls->coll->nauthors),
	    "generator", generator_json(cls, fmt));
}

json_t *
describe_class(const struct pclass *cls)
{
	json_t *names = json_array(), *stds = json_array(), *j;

	for (size_t i = 0; i < cls->nnames; i++) {
		const struct class_name *n = &cls->names[i];
		json_array_append_new(names, json_pack("{s:o, s:o, s:o, s:o}",
		    "name", ident_json(&n->name), "group", ident_json(&n->group),
		    "labeling", subst_json(&n->labeling),
		    "description", str_or_null(n->description)));
	}
	for (size_t i = 0; i < cls->nstandards; i++) {
		const struct class_standard *s = &cls->standards[i];
		json_array_append_new(stds, json_pack(
		    "{s:o, s:o, s:o, s:s, s:o, s:s, s:o, s:o}",
		    "standard", ident_json(&s->standard),
		    "group", ident_json(&s->group),
		    "labeling", subst_json(&s->labeling),
		    "body", s->body,
		    "year", s->year ? json_integer(s->year) : json_null(),
		    "status", s->status,
		    "replaces", str_or_null(s->replaces),
		    "description", str_or_null(s->description)));
	}
	j = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:s}",
	    "id", cls->id, "collection", cls->coll->id,
	    "names", names, "standards", stds,
	    "parameters", pset_json(class_pset(cls)),
	    "formats", formats_json(cls->formats),
	    "url", strings(cls->extra->urls, cls->extra->nurls),
	    "notes", str_or_null(cls->extra->notes),
	    "source", cls->source,
	    "license", cls->coll->license);
	if (cls->scad != NULL) {
		json_t *o = base_json(cls->scad->file);
		json_object_set_new(o, "module", json_string(cls->scad->module));
		json_object_set_new(o, "arguments",
		    strings(cls->scad->args, cls->scad->nargs));
		json_object_set_new(j, "openscad", o);
	} else
		json_object_set_new(j, "openscad", json_null());
	if (cls->freecad != NULL) {
		json_t *o = base_json(cls->freecad->file);
		json_object_set_new(o, "function",
		    json_string(cls->freecad->function));
		json_object_set_new(j, "freecad", o);
	} else
		json_object_set_new(j, "freecad", json_null());
	{
		json_t *cmds = json_array();
		for (size_t i = 0; i < cls->extra->ncommands; i++) {
			json_t *o = base_json(cls->extra->commands[i].file);
			json_object_set_new(o, "command",
			    json_string(cls->extra->commands[i].name));
			json_array_append_new(cmds, o);
		}
		json_object_set_new(j, "commands", cmds);
	}
	json_object_set_new(j, "provenance",
	    provenance_json(cls, model_format(cls)));
	return j;
}

json_t *
describe_part(const struct pnode *part, struct perr *e)
{
	const struct pclass *cls = part->cls;
	const struct pset *ps = part->ps;
	struct value *vals = xcalloc(ps->nparams + 1, sizeof *vals);
	json_t *params, *units, *given, *freev, *std, *j;
	struct buf nice = BUF_INIT, safe = BUF_INIT, path = BUF_INIT;

	if (pnode_collect(part, vals, e) != 0) {
		free(vals);
		return NULL;
	}
	params = json_object();
	units = json_object();
	given = json_object();
	for (size_t i = 0; i < ps->nparams; i++) {
		const struct param *p = &ps->params[i];
		struct value g = given_value(p->type, vals[i]);
		json_object_set_new(params, p->name, value_to_json(&vals[i]));
		if (unit_of(p->type) != NULL)
			json_object_set_new(units, p->name,
			    json_string(unit_of(p->type)));
		json_object_set_new(given, p->name, value_to_json(&g));
	}
	freev = json_object();
	for (size_t f = 0; f < ps->nfree; f++)
		json_object_set_new(freev, ps->params[ps->free[f]].name,
		    value_to_json(&vals[ps->free[f]]));
	class_label(cls, ps, vals, false, &nice);
	class_label(cls, ps, vals, true, &safe);
	pnode_path(part, &path);
	if (cls->nstandards > 0) {
		const struct class_standard *s = &cls->standards[0];
		std = json_pack("{s:s, s:s, s:s, s:s}", "nice",
		    s->standard.nice, "safe", s->standard.safe, "body", s->body,
		    "status", s->status);
	} else
		std = json_null();
	/* a json part is made by no engine: that of its class's model
	 * stands for it */
	j = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:o, s:o, s:o, s:o, "
	    "s:o, s:s, s:o, s:o}",
	    "collection", cls->coll->id,
	    "class", cls->id,
	    "path", buf_str(&path),
	    "format", format_ext(part->fmt),
	    "label", "nice", buf_str(&nice), "safe", buf_str(&safe),
	    "params", params,
	    "units", units,
	    "given", given,
	    "free", freev,
	    "standard", std,
	    "license", cls->coll->license,
	    "formats", formats_json(cls->formats),
	    "provenance", provenance_json(cls, part->fmt == FMT_JSON ?
	    model_format(cls) : part->fmt));
	buf_free(&nice);
	buf_free(&safe);
	buf_free(&path);
	free(vals);
	return j;
}

/*
 * The text of a description, written straight from its tree: jansson's
 * own layout (two spaces a level, "key": value, {} and [] when empty;
 * compact: no spaces) and its escapes (\" \\ \b \f \n \r \t, \u00XX
 * for other control characters, UTF-8 as it is), with each number in its
 * own shortest form: jansson has one precision per dump, and at its
 * longest every other number came out with as many digits (6.0099999999999998
 * for 6.01 beside a length of 0.30000000000000004).  A real keeps a '.'
 * (20.0, as jansson writes it).  jansson's dump at 17 digits read again
 * by a second pass cost a third of the daemon's time in a cold find over
 * the bundled library (every .json entry's exact size; bench/mount.py
 * T4); tests/test-describe.c holds the layout to jansson's.
 */

/* Where a dump goes: its length counted, its text written to b unless
 * NULL (an entry's size in a listing needs only the length). */
struct sink {
	struct buf *b;
	size_t len;
};

static void
put(struct sink *o, const char *s, size_t n)
{
	o->len += n;
	if (o->b != NULL)
		buf_add(o->b, s, n);
}

static void
put_char(struct sink *o, char c)
{
	o->len++;
	if (o->b != NULL)
		buf_addc(o->b, c);
}

static void
dump_string(struct sink *o, const char *s, size_t n)
{
	/* the characters with a short escape, and its letter */
	static const char special[] = "\"\\\b\f\n\r\t", letter[] = "\"\\bfnrt";
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0;

	put_char(o, '"');
	while (i < n) {
		size_t run = i;
		unsigned char c;
		const char *sp;

		while (run < n && (unsigned char)s[run] >= 0x20 &&
		    s[run] != '"' && s[run] != '\\')
			run++;
		put(o, s + i, run - i);
		if (run == n)
			break;
		c = (unsigned char)s[run];
		if (c != '\0' && (sp = strchr(special, c)) != NULL) {
			char e[2] = { '\\', letter[sp - special] };
			put(o, e, sizeof e);
		} else {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4],
			    hex[c & 0xf] };
			put(o, u, sizeof u);
		}
		i = run + 1;
	}
	put_char(o, '"');
}

/* A new line at `depth` levels, or nothing when compact. */
static void
dump_break(struct sink *o, int depth, bool pretty)
{
	if (!pretty)
		return;
	put_char(o, '\n');
	for (int i = 0; i < depth; i++)
		put(o, "  ", 2);
}

static void
dump_value(struct sink *o, json_t *j, int depth, bool pretty)
{
	char num[40];
	size_t n;
	int digits;

	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		bool first = true;
		put_char(o, '{');
		for (void *it = json_object_iter(j); it != NULL;
		    it = json_object_iter_next(j, it)) {
			if (!first)
				put_char(o, ',');
			first = false;
			dump_break(o, depth + 1, pretty);
			dump_string(o, json_object_iter_key(it),
			    json_object_iter_key_len(it));
			put(o, ": ", pretty ? 2 : 1);
			dump_value(o, json_object_iter_value(it), depth + 1,
			    pretty);
		}
		if (!first)
			dump_break(o, depth, pretty);
		put_char(o, '}');
		break;
	}
	case JSON_ARRAY:
		put_char(o, '[');
		for (size_t i = 0; i < json_array_size(j); i++) {
			if (i > 0)
				put_char(o, ',');
			dump_break(o, depth + 1, pretty);
			dump_value(o, json_array_get(j, i), depth + 1, pretty);
		}
		if (json_array_size(j) > 0)
			dump_break(o, depth, pretty);
		put_char(o, ']');
		break;
	case JSON_STRING:
		dump_string(o, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		n = (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(j));
		put(o, num, n);
		break;
	case JSON_REAL:
		n = num_canon(json_real_value(j), num, &digits);
		put(o, num, n);
		if (strpbrk(num, ".eE") == NULL)
			put(o, ".0", 2);
		break;
	case JSON_TRUE:
		put(o, "true", 4);
		break;
	case JSON_FALSE:
		put(o, "false", 5);
		break;
	case JSON_NULL:
		put(o, "null", 4);
		break;
	}
}

char *
describe_dump(const json_t *j)
{
	struct buf b = BUF_INIT;
	struct sink o = { &b, 0 };

	buf_reserve(&b, 4096);
	dump_value(&o, (json_t *)j, 0, true);
	put_char(&o, '\n');
	return buf_steal(&b);
}

size_t
describe_dump_len(const json_t *j)
{
	struct sink o = { NULL, 0 };

	dump_value(&o, (json_t *)j, 0, true);
	return o.len + 1;
}

char *
describe_dump_compact(const json_t *j)
{
	struct buf b = BUF_INIT;
	struct sink o = { &b, 0 };

	dump_value(&o, (json_t *)j, 0, false);
	return buf_steal(&b);
}
