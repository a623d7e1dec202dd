/* occi-map.c -- the library as the OCCI FreeCAD plugin sees it: routes,
 * scripts, parameters, presets, search, model requests parsed into tree
 * paths, and the JSON of jobs and results (see occi.h for the mapping). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/base64.h>
#include <nettle/sha2.h>

#include "partsfs/model/makers.h"
#include "partsfs/model/params.h"
#include "partsfs/serve/occi-map.h"
#include "partsfs/tree/describe.h"
#include "partsfs/util/escape.h"
#include "partsfs/util/value.h"

/* Routes. */

/* The segments of `path`, %-decoded: at most `max`, each into seg[i];
 * -1 for a path the OCCI routes never have. */
static int
split_segments(const char *path, char seg[][256], int max)
{
	int n = 0;
	const char *s = path;

	if (*s != '/')
		return -1;
	s++;
	if (*s == '\0')
		return 0;
	for (;;) {
		const char *end = strchr(s, '/');
		size_t len = end != NULL ? (size_t)(end - s) : strlen(s);
		ssize_t dlen;
		if (len == 0 || len >= 256 || n == max)
			return -1;
		if ((dlen = path_decode_into(s, len, seg[n])) <= 0)
			return -1;
		if (strcmp(seg[n], ".") == 0 || strcmp(seg[n], "..") == 0)
			return -1;
		n++;
		if (end == NULL)
			return n;
		s = end + 1;
	}
}

enum occi_route_kind
occi_route(const char *path, struct occi_route *r)
{
	char seg[5][256];
	int n;

	memset(r, 0, sizeof *r);
	r->kind = OCCI_NOT_FOUND;
	if (path == NULL || (n = split_segments(path, seg, 5)) < 0)
		return r->kind;
	if (n == 0)
		return r->kind = OCCI_ROOT;
	if (n == 1) {
		if (strcmp(seg[0], "search") == 0)
			r->kind = OCCI_SEARCH;
		return r->kind;
	}
	memcpy(r->org, seg[0], sizeof r->org);
	memcpy(r->name, seg[1], sizeof r->name);
	switch (n) {
	case 2:
		r->kind = OCCI_SCRIPT;
		break;
	case 3:
		memcpy(r->version, seg[2], sizeof r->version);
		r->kind = strcmp(seg[2], "versions") == 0 ? OCCI_VERSIONS :
		    OCCI_MODEL;
		break;
	case 4:
		memcpy(r->version, seg[2], sizeof r->version);
		if (strcmp(seg[3], "params") == 0)
			r->kind = OCCI_PARAMS;
		else if (strcmp(seg[3], "presets") == 0)
			r->kind = OCCI_PRESETS;
		break;
	case 5:
		if (strcmp(seg[3], "job") == 0) {
			memcpy(r->hash, seg[2], sizeof r->hash);
			memcpy(r->job, seg[4], sizeof r->job);
			r->kind = OCCI_JOB;
		}
		break;
	}
	if (r->kind == OCCI_NOT_FOUND)
		memset(r, 0, sizeof *r);
	return r->kind;
}

/* The server. */

/* `s` without the characters the plugin splits its table on, blanks
 * squeezed and trimmed, appended to `out`. */
static void
plain_text(const char *s, size_t n, struct buf *out)
{
	bool blank = false;
	size_t start = out->len;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '~' || c == '<' || c == '>' || c == '"' ||
		    isspace(c) || c < 0x20 || c == 0x7f) {
			blank = true;
			continue;
		}
		if (blank && out->len > start)
			buf_addc(out, ' ');
		blank = false;
		buf_addc(out, (char)c);
	}
}

json_t *
occi_info(const struct occi_site *site, const struct library *lib)
{
	struct buf library = BUF_INIT, maint = BUF_INIT, mail = BUF_INIT;
	const struct collection *first = lib->ncolls > 0 ? lib->colls[0] : NULL;
	json_t *j;

	if (site->library != NULL)
		plain_text(site->library, strlen(site->library), &library);
	else if (lib->ncolls == 1)
		plain_text(first->name != NULL ? first->name : first->id,
		    strlen(first->name != NULL ? first->name : first->id),
		    &library);
	else {
		const char *slash = strrchr(lib->root, '/');
		const char *base = slash != NULL && slash[1] != '\0' ?
		    slash + 1 : lib->root;
		plain_text(base, strlen(base), &library);
	}
	if (site->maintainer != NULL) {
		plain_text(site->maintainer, strlen(site->maintainer), &maint);
		if (site->maintainer_email != NULL)
			buf_adds(&mail, site->maintainer_email);
	} else if (first != NULL && first->nauthors > 0) {
		/* "Name <mail>" */
		const char *a = first->authors[0], *lt = strchr(a, '<');
		const char *gt = lt != NULL ? strchr(lt, '>') : NULL;
		plain_text(a, lt != NULL ? (size_t)(lt - a) : strlen(a),
		    &maint);
		if (gt != NULL)
			plain_text(lt + 1, (size_t)(gt - lt - 1), &mail);
	}
	if (library.len == 0)
		buf_adds(&library, "partsfs");
	if (maint.len == 0)
		buf_adds(&maint, "partsfs");
	if (site->maintainer_email != NULL && mail.len == 0)
		buf_adds(&mail, site->maintainer_email);
	j = json_pack("{s:s, s:s, s:o}", "library", buf_str(&library),
	    "maintainer", buf_str(&maint), "maintainer_email",
	    mail.len > 0 ? json_string(buf_str(&mail)) : json_null());
	buf_free(&library);
	buf_free(&maint);
	buf_free(&mail);
	return j;
}

/* Scripts. */

const struct pclass *
occi_class(const struct library *lib, const char *org, const char *name)
{
	const struct collection *c = library_collection(lib, org);

	return c != NULL ? collection_class(c, name) : NULL;
}

bool
occi_listed(const struct pclass *cls)
{
	return (cls->formats & FMT_BIT(FMT_STEP)) != 0;
}

/* The class directory node of `cls`. */
static void
class_dir(const struct pclass *cls, struct pnode *dir)
{
	pnode_root(dir);
	dir->kind = PN_CLASS;
	dir->coll = cls->coll;
	dir->cls = cls;
	dir->depth = 0;
}

/* A value as the plugin's widgets want it: numbers always as reals (a
 * float field), bools, strings. */
static json_t *
widget_value(const struct value *v)
{
	switch (v->kind) {
	case V_NUM:
		return json_real(v->u.num);
	case V_BOOL:
		return json_boolean(v->u.b);
	case V_STR:
		return json_string(v->u.str);
	case V_NULL:
		break;
	}
	return json_null();
}

/* The default of free parameter `p`, never V_NULL. */
static struct value
param_default(const struct param *p)
{
	if (p->def.kind != V_NULL)
		return p->def;
	return value_type_default(p->type);
}

static json_t *
param_json(const struct pset *ps, const struct param *p)
{
	double max = ps->value_max > 0 ? ps->value_max : 1e6;
	struct value def = param_default(p);
	const char *type, *units = NULL;
	double start = 0, end = 0, step = 1;
	json_t *j, *opts;

	switch (p->type) {
	case PT_TABLE_INDEX:
		type = "options";
		break;
	case PT_BOOL:
		type = "boolean";
		break;
	case PT_STRING:
		type = "text";
		break;
	case PT_LENGTH_MM:
		type = "number";
		units = "mm";
		end = max;
		break;
	case PT_LENGTH_IN:
		type = "number";
		units = "inch";
		end = max / 25.4;
		step = 0.125;
		break;
	case PT_ANGLE:
		type = "number";
		units = "deg";
		start = -360;
		end = 360;
		break;
	case PT_NUMBER:
	default:
		type = "number";
		start = -max;
		end = max;
		break;
	}
	j = json_pack("{s:s, s:s, s:o, s:s, s:o}", "name", p->name,
	    "description", p->description != NULL ? p->description : "",
	    "units", units != NULL ? json_string(units) : json_null(),
	    "type", type, "default", widget_value(&def));
	if (strcmp(type, "number") == 0) {
		json_object_set_new(j, "start", json_real(start));
		json_object_set_new(j, "end", json_real(end));
		json_object_set_new(j, "step", json_real(step));
	} else if (p->type == PT_TABLE_INDEX) {
		opts = json_array();
		for (size_t i = 0; i < p->nchoices; i++)
			json_array_append_new(opts,
			    json_string(p->choices[i]));
		json_object_set_new(j, "options", opts);
	}
	return j;
}

json_t *
occi_params(const struct pclass *cls)
{
	const struct pset *ps = class_pset_for_format(cls, FMT_STEP);
	json_t *j;

	if (ps == NULL)
		return NULL;
	j = json_object();
	for (size_t f = 0; f < ps->nfree; f++) {
		const struct param *p = &ps->params[ps->free[f]];
		json_object_set_new(j, p->name, param_json(ps, p));
	}
	return j;
}

/* The name of a preset: the path of its part below the class directory,
 * without the extension ("M8/length=20"). */
static int
preset_part(const struct pclass *cls, const struct value *row,
    struct pnode *part, struct buf *name)
{
	const struct pset *cps = &cls->ps;
	struct buf val = BUF_INIT, path = BUF_INIT;
	struct pnode dir;
	size_t skip;
	int r;

	class_dir(cls, &dir);
	if ((r = pnode_part_of(&dir, FMT_STEP, part, NULL)) != 0)
		return r;
	for (size_t f = 0; f < cps->nfree && r == 0; f++) {
		if (row[f].kind == V_NULL)
			continue;
		buf_reset(&val);
		value_canon(&row[f], &val);
		r = pnode_set_param(part, cps->params[cps->free[f]].name,
		    buf_str(&val), NULL);
	}
	buf_free(&val);
	if (r != 0) {
		pnode_clear(part);
		return r;
	}
	pnode_path(part, &path);
	skip = strlen(cls->coll->id) + strlen(cls->id) + 2;
	if (path.len > skip + 5)
		buf_add(name, path.p + skip, path.len - skip - 5);
	buf_free(&path);
	return 0;
}

json_t *
occi_presets(const struct pclass *cls)
{
	const struct pset *cps = &cls->ps;
	struct buf name = BUF_INIT;
	json_t *j = json_object();

	for (size_t r = 0; r < cps->ncommon; r++) {
		const struct value *row = &cps->common[r * cps->nfree];
		struct pnode part;
		json_t *values;

		buf_reset(&name);
		if (preset_part(cls, row, &part, &name) != 0)
			continue;
		values = json_object();
		for (size_t f = 0; f < cps->nfree; f++) {
			const struct param *p = &cps->params[cps->free[f]];
			if (row[f].kind != V_NULL)
				json_object_set_new(values, p->name,
				    widget_value(&row[f]));
		}
		json_object_set_new(j, buf_str(&name), values);
		pnode_clear(&part);
	}
	buf_free(&name);
	return j;
}

/* The engine of the class's model, as the script's language. */
static const char *
language(const struct pclass *cls)
{
	if (cls->model.kind == GEN_COMMAND &&
	    cls->model.index < cls->extra->ncommands)
		return cls->extra->commands[cls->model.index].name;
	return generator_name((enum generator)cls->model.kind);
}

static void
describe_text(const struct pclass *cls, struct buf *out)
{
	const char *desc = NULL;

	if (cls->nnames > 0)
		buf_adds(out, cls->names[0].name.nice);
	else
		buf_adds(out, cls->id);
	for (size_t i = 0; i < cls->nstandards; i++)
		buf_printf(out, "%s%s", i == 0 ? " (" : ", ",
		    cls->standards[i].standard.nice);
	if (cls->nstandards > 0)
		buf_addc(out, ')');
	if (cls->nnames > 0)
		desc = cls->names[0].description;
	for (size_t i = 0; desc == NULL && i < cls->nstandards; i++)
		desc = cls->standards[i].description;
	if (desc != NULL)
		buf_printf(out, ": %s", desc);
}

json_t *
occi_script(const struct occi_site *site, const struct pclass *cls)
{
	const struct collection *c = cls->coll;
	struct buf author = BUF_INIT, desc = BUF_INIT;
	json_t *j, *params;

	if (!occi_listed(cls) || (params = occi_params(cls)) == NULL)
		return NULL;
	for (size_t i = 0; i < c->nauthors; i++)
		buf_printf(&author, "%s%s", i ? ", " : "", c->authors[i]);
	if (author.len == 0)
		buf_adds(&author, "unknown");
	describe_text(cls, &desc);
	j = json_object();
	json_object_set_new(j, "id", json_sprintf("%s/%s/%s", c->id, cls->id,
	    OCCI_VERSION));
	json_object_set_new(j, "namespace", json_sprintf("%s/%s", c->id,
	    cls->id));
	json_object_set_new(j, "status", json_string("success"));
	json_object_set_new(j, "org", json_string(c->id));
	json_object_set_new(j, "name", json_string(cls->id));
	json_object_set_new(j, "version", json_string(OCCI_VERSION));
	json_object_set_new(j, "url", json_sprintf("%s/%s/%s", site->url,
	    c->id, cls->id));
	json_object_set_new(j, "author", json_string(buf_str(&author)));
	json_object_set_new(j, "license", json_string(c->license != NULL ?
	    c->license : ""));
	json_object_set_new(j, "description", json_string(buf_str(&desc)));
	json_object_set_new(j, "params", params);
	json_object_set_new(j, "param_presets", occi_presets(cls));
	json_object_set_new(j, "script_cad_language",
	    json_string(language(cls)));
	json_object_set_new(j, "path", json_sprintf("%s/%s", c->id,
	    cls->id));
	buf_free(&author);
	buf_free(&desc);
	return j;
}

/* Search. */

static void
add_lower(struct buf *b, const char *s)
{
	if (s == NULL)
		return;
	buf_addc(b, ' ');
	for (; *s != '\0'; s++)
		buf_addc(b, (char)tolower((unsigned char)*s));
}

/* Everything a search looks into, lower case. */
static void
search_text(const struct pclass *cls, struct buf *b)
{
	const struct collection *c = cls->coll;
	const struct pset *ps = &cls->ps;

	add_lower(b, c->id);
	add_lower(b, cls->id);
	buf_printf(b, " %s/%s", c->id, cls->id);
	for (size_t i = 0; i < c->nauthors; i++)
		add_lower(b, c->authors[i]);
	for (size_t i = 0; i < cls->nnames; i++) {
		add_lower(b, cls->names[i].name.nice);
		add_lower(b, cls->names[i].name.safe);
		add_lower(b, cls->names[i].group.nice);
		add_lower(b, cls->names[i].description);
	}
	for (size_t i = 0; i < cls->nstandards; i++) {
		add_lower(b, cls->standards[i].standard.nice);
		add_lower(b, cls->standards[i].standard.safe);
		add_lower(b, cls->standards[i].description);
		add_lower(b, cls->standards[i].replaces);
	}
	for (size_t i = 0; i < ps->nfree; i++)
		add_lower(b, ps->params[ps->free[i]].name);
	add_lower(b, language(cls));
}

/* Does `text` hold every blank-separated word of `q`? */
static bool
matches(const char *text, const char *q)
{
	char word[256];

	while (*q != '\0') {
		size_t n = 0;
		while (*q != '\0' && isspace((unsigned char)*q))
			q++;
		while (*q != '\0' && !isspace((unsigned char)*q)) {
			if (n < sizeof word - 1)
				word[n++] = (char)tolower((unsigned char)*q);
			q++;
		}
		word[n] = '\0';
		if (n > 0 && strstr(text, word) == NULL)
			return false;
	}
	return true;
}

json_t *
occi_search(const struct occi_site *site, const struct library *lib,
    const char *q)
{
	struct buf text = BUF_INIT;
	json_t *a = json_array();

	for (size_t ci = 0; ci < lib->ncolls; ci++) {
		const struct collection *c = lib->colls[ci];
		for (size_t k = 0; k < c->nclasses; k++) {
			const struct pclass *cls = &c->classes[c->order[k]];
			json_t *s;
			if (!occi_listed(cls))
				continue;
			if (q != NULL && *q != '\0') {
				buf_reset(&text);
				search_text(cls, &text);
				if (!matches(buf_str(&text), q))
					continue;
			}
			if ((s = occi_script(site, cls)) != NULL)
				json_array_append_new(a, s);
		}
	}
	buf_free(&text);
	return a;
}

/* Model requests. */

void
occi_hash(const char *path, char out[OCCI_HASH_LEN + 1])
{
	struct sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_SIZE];
	struct base64_encode_ctx b64;
	char text[BASE64_ENCODE_LENGTH(9) + 1];

	sha256_init(&ctx);
	sha256_update(&ctx, strlen(path), (const uint8_t *)path);
	sha256_digest(&ctx, sizeof digest, digest);
	/* 9 bytes are 12 characters, without padding */
	base64url_encode_init(&b64);
	base64_encode_update(&b64, text, 9, digest);
	memcpy(out, text, OCCI_HASH_LEN);
	out[OCCI_HASH_LEN] = '\0';
}

const char *
occi_format_name(enum format f)
{
	return f == FMT_GLB ? "gltf" : format_ext(f);
}

json_t *
occi_detail(const char *msg)
{
	return json_pack("{s:s}", "detail", msg);
}

/* Add an error about argument `key` to `detail`; text that is not UTF-8
 * (the user's, echoed) is replaced, never dropped. */
static void
bad_arg(json_t *detail, const char *key, const char *msg, const char *type)
{
	if (!utf8_valid(key, strlen(key)))
		key = "(not UTF-8)";
	if (!utf8_valid(msg, strlen(msg)))
		msg = "the value is not UTF-8 text";
	json_array_append_new(detail, json_pack("{s:[s,s], s:s, s:s}", "loc",
	    "query", key, "msg", msg, "type", type));
}

/* Format and output arguments; 0 or -1 (added to `detail`). */
static int
read_options(const struct occi_arg *args, size_t nargs, enum format *fmt,
    bool *full, json_t *detail)
{
	bool seen_fmt = false, seen_out = false;
	int r = 0;

	*fmt = FMT_STEP;
	*full = false;
	for (size_t i = 0; i < nargs; i++) {
		const char *k = args[i].key, *v = args[i].value;
		if (strcmp(k, "format") == 0) {
			if (seen_fmt) {
				bad_arg(detail, k, "format is given twice",
				    "value_error.duplicate");
				r = -1;
			} else if (strcmp(v, "step") == 0 ||
			    strcmp(v, "stp") == 0)
				*fmt = FMT_STEP;
			else if (strcmp(v, "stl") == 0)
				*fmt = FMT_STL;
			else if (strcmp(v, "gltf") == 0 ||
			    strcmp(v, "glb") == 0)
				*fmt = FMT_GLB;
			else {
				bad_arg(detail, k, "value is not a valid "
				    "enumeration member; permitted: 'step', "
				    "'stl', 'gltf'", "type_error.enum");
				r = -1;
			}
			seen_fmt = true;
		} else if (strcmp(k, "output") == 0) {
			if (seen_out) {
				bad_arg(detail, k, "output is given twice",
				    "value_error.duplicate");
				r = -1;
			} else if (strcmp(v, "model") == 0 ||
			    strcmp(v, "full") == 0)
				*full = strcmp(v, "full") == 0;
			else {
				bad_arg(detail, k, "value is not a valid "
				    "enumeration member; permitted: 'model', "
				    "'full'", "type_error.enum");
				r = -1;
			}
			seen_out = true;
		}
	}
	return r;
}

/* Set one parameter of `part` from the plugin's text. */
static int
set_arg(struct pnode *part, const char *key, const char *value,
    struct perr *e)
{
	const struct pset *ps = part->ps;
	int pi = pset_find(ps, key);

	if (pi >= 0 && ps->params[pi].free_pos >= 0 &&
	    ps->params[pi].type == PT_BOOL) {
		struct value b;
		/* Python's str(bool): True, False */
		if (value_read(PT_BOOL, value, strlen(value), VALUE_ANY_CASE,
		    &b) == VF_NONE)
			value = b.u.b ? "true" : "false";
	}
	return pnode_set_param(part, key, value, e);
}

/* Leave out the values of the stem equal to their defaults. */
static void
drop_defaults(struct pnode *part)
{
	const struct pset *ps = part->ps;
	size_t nclass = part->cls->ps.nfree;

	for (size_t f = 0; f < ps->nfree; f++) {
		const struct param *p = &ps->params[ps->free[f]];
		if (f < nclass && ptype_discrete(p->type))
			continue;        /* a directory level */
		if (part->free[f].kind != V_NULL &&
		    value_equal(&part->free[f], &p->def)) {
			part->free[f].kind = V_NULL;
			part->set[f] = false;
		}
	}
}

static json_t *
request_params(const struct pnode *part)
{
	const struct pset *ps = part->ps;
	json_t *j = json_object();

	for (size_t f = 0; f < ps->nfree; f++) {
		const struct param *p = &ps->params[ps->free[f]];
		struct value v = part->free[f].kind != V_NULL ?
		    part->free[f] : param_default(p);
		json_object_set_new(j, p->name, json_pack("{s:o}", "value",
		    widget_value(&v)));
	}
	return j;
}

int
occi_request_parse(const struct library *lib, const char *org,
    const char *name, const char *version, const struct occi_arg *args,
    size_t nargs, struct occi_request *req, json_t **err)
{
	const struct pclass *cls = occi_class(lib, org, name);
	json_t *detail;
	struct pnode dir;
	struct perr e = { 0 };
	struct buf path = BUF_INIT;
	struct value *vals;

	memset(req, 0, sizeof *req);
	pnode_root(&req->part);
	*err = NULL;
	if (cls == NULL || !occi_listed(cls)) {
		*err = json_pack("{s:s++}", "detail", "no script ", org,
		    "/", name);
		if (*err == NULL)   /* not UTF-8 */
			*err = occi_detail("no such script");
		return 404;
	}
	if (strcmp(version, OCCI_VERSION) != 0) {
		*err = occi_detail("no such version of the script; its "
		    "version is " OCCI_VERSION);
		return 404;
	}
	req->cls = cls;
	detail = json_array();
	if (read_options(args, nargs, &req->fmt, &req->full, detail) == 0) {
		class_dir(cls, &dir);
		if (pnode_part_of(&dir, req->fmt, &req->part, &e) != 0) {
			bad_arg(detail, "format", e.msg, "value_error.format");
			pnode_root(&req->part);
		}
	}
	if (json_array_size(detail) > 0)
		goto fail;
	for (size_t i = 0; i < nargs; i++) {
		const char *k = args[i].key;
		if (strcmp(k, "format") == 0 || strcmp(k, "output") == 0)
			continue;
		perr_clear(&e);
		if (set_arg(&req->part, k, args[i].value, &e) != 0) {
			int pi = pset_find(req->part.ps, k);
			bad_arg(detail, k, e.msg, pi >= 0 &&
			    req->part.ps->params[pi].free_pos >= 0 ?
			    "value_error.param" : "value_error.unknown_param");
		}
	}
	if (json_array_size(detail) > 0)
		goto fail;
	vals = xcalloc(req->part.ps->nparams + 1, sizeof *vals);
	perr_clear(&e);
	if (pnode_collect(&req->part, vals, &e) != 0) {
		json_array_append_new(detail, json_pack("{s:[s], s:s, s:s}",
		    "loc", "query", "msg", e.msg, "type", "value_error.part"));
		free(vals);
		goto fail;
	}
	free(vals);
	drop_defaults(&req->part);
	pnode_path(&req->part, &path);
	req->path = buf_steal(&path);
	occi_hash(req->path, req->hash);
	req->params = request_params(&req->part);
	json_decref(detail);
	return 0;
fail:
	*err = json_pack("{s:o}", "detail", detail);
	occi_request_clear(req);
	return 422;
}

void
occi_request_clear(struct occi_request *req)
{
	pnode_clear(&req->part);
	free(req->path);
	json_decref(req->params);
	memset(req, 0, sizeof *req);
	pnode_root(&req->part);
}

int
occi_request_of_path(const struct library *lib, const char *path,
    bool full, struct occi_request *req)
{
	struct buf canon = BUF_INIT;

	memset(req, 0, sizeof *req);
	if (pnode_lookup(lib, path, &req->part, NULL) != 0) {
		pnode_root(&req->part);
		return -ENOENT;
	}
	if (req->part.kind != PN_PART || req->part.fmt == FMT_JSON ||
	    !occi_listed(req->part.cls)) {
		occi_request_clear(req);
		return -ENOENT;
	}
	req->cls = req->part.cls;
	req->fmt = req->part.fmt;
	req->full = full;
	pnode_path(&req->part, &canon);
	req->path = buf_steal(&canon);
	occi_hash(req->path, req->hash);
	req->params = request_params(&req->part);
	return 0;
}

char *
occi_job_location(const struct occi_request *req, const char *job)
{
	return xasprintf("/%s/%s/%s/job/%s", req->cls->coll->id,
	    req->cls->id, req->hash, job);
}

/* The script of a request with its "request". */
static json_t *
script_request(const struct occi_site *site, const struct occi_request *req)
{
	json_t *j = occi_script(site, req->cls);

	if (j == NULL)
		j = json_object();
	json_object_set_new(j, "request", json_pack("{s:s, s:O, s:s, s:s, "
	    "s:s}", "hash", req->hash, "params", req->params, "format",
	    occi_format_name(req->fmt), "output", req->full ? "full" : "model",
	    "path", req->path));
	return j;
}

json_t *
occi_job_json(const struct occi_site *site, const struct occi_request *req,
    const char *job, const char *state, double seconds)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:o}", "status", "working",
	    "job_id", job, "job_status", state, "elapsed_time",
	    (json_int_t)llround(seconds * 1000), "script",
	    script_request(site, req));
}

/* The model as the reference puts it in a result: STEP text, others in
 * base64.  NULL for a STEP that is not text. */
static json_t *
model_json(enum format fmt, const void *data, size_t len)
{
	char *text;
	json_t *j;

	if (fmt == FMT_STEP)
		return utf8_valid(data, len) && memchr(data, '\0', len) ==
		    NULL ? json_stringn(data, len) : NULL;
	text = xmalloc(BASE64_ENCODE_RAW_LENGTH(len) + 1);
	base64_encode_raw(text, len, data);
	j = json_stringn(text, BASE64_ENCODE_RAW_LENGTH(len));
	free(text);
	return j;
}

json_t *
occi_result(const struct occi_site *site, const struct occi_request *req,
    const char *job, const void *model, size_t len, double seconds,
    const char *error)
{
	json_t *j = script_request(site, req), *models = json_object();
	json_t *errors = json_array();

	if (error == NULL) {
		json_t *m = model_json(req->fmt, model, len);
		if (m != NULL)
			json_object_set_new(models,
			    occi_format_name(req->fmt), m);
		else
			error = "the model is not STEP text";
	}
	if (error != NULL)
		json_array_append_new(errors, json_string(error));
	json_object_set_new(j, "status", json_string(error == NULL ?
	    "success" : "failed"));
	json_object_set_new(j, "results", json_pack("{s:b, s:o, s:o, s:o, "
	    "s:o, s:I, s:o}", "success", error == NULL, "task_id",
	    job != NULL ? json_string(job) : json_null(), "models", models,
	    "errors", errors, "messages", json_array(), "duration",
	    (json_int_t)llround(seconds * 1000), "tables", json_array()));
	return j;
}

char *
occi_dump(const json_t *j)
{
	return describe_dump(j);
}
