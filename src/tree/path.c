/* path.c -- the virtual tree: turning names into nodes, listing
 * directories, and writing canonical names, following the path grammar of
 * DESIGN.md.  A listing is made of names that go through pnode_child()
 * themselves, so what is listed is always what resolves. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "partsfs/util/escape.h"
#include "partsfs/model/makers.h"
#include "partsfs/model/params.h"
#include "partsfs/tree/path.h"

static const char *const index_names[] = { "by-standard", "by-name" };

void
pnode_root(struct pnode *out)
{
	memset(out, 0, sizeof *out);
	out->kind = PN_ROOT;
}

void
pnode_clear(struct pnode *n)
{
	free(n->strings);
	n->strings = NULL;
	n->strings_len = 0;
}

/* Point string values that pointed into `old` at the same offset in
 * `now`. */
static void
rebase_strings(struct pnode *n, const char *old, size_t len, char *now)
{
	for (size_t i = 0; i < PF_MAX_FREE; i++) {
		const char *s = n->free[i].u.str;
		if (n->free[i].kind == V_STR && old != NULL && s >= old &&
		    s < old + len)
			n->free[i].u.str = now + (s - old);
	}
}

void
pnode_copy(struct pnode *dst, const struct pnode *src)
{
	*dst = *src;
	if (src->strings == NULL)
		return;
	dst->strings = xmalloc(src->strings_len);
	memcpy(dst->strings, src->strings, src->strings_len);
	rebase_strings(dst, src->strings, src->strings_len, dst->strings);
}

/* Keep a copy of n bytes (plus a NUL) in the node; returns it. */
static char *
pnode_store(struct pnode *node, const char *s, size_t n)
{
	size_t len = node->strings_len;
	char *old = node->strings, *now;

	/* realloc would leave the old pointers dangling before rebasing */
	now = xmalloc(len + n + 1);
	if (old != NULL)
		memcpy(now, old, len);
	memcpy(now + len, s, n);
	now[len + n] = '\0';
	rebase_strings(node, old, len, now);
	free(old);
	node->strings = now;
	node->strings_len = len + n + 1;
	return now + len;
}

/*
 * The packed form of a node: what it was resolved to, without its names.
 * A fixed head, then a choice index per fixed level, then the free
 * values that are set (default ones are V_NULL and not stored), each as
 * its position, its kind and its value; a string as its length and
 * bytes.  The pointers are into the snapshot the node came from.
 */
struct packed {
	uint8_t kind;
	uint8_t fmt;
	uint8_t index;
	uint8_t depth;
	uint8_t fixed;
	uint8_t nvals;
	const struct collection *coll;
	const struct pclass *cls;
	const void *ref;        /* ps, file or link, by kind */
};

void
pnode_pack(const struct pnode *n, struct buf *out)
{
	struct packed h = {
		.kind = (uint8_t)n->kind,
		.fmt = (uint8_t)n->fmt,
		.index = (uint8_t)n->index,
		.depth = (uint8_t)n->depth,
		.fixed = (uint8_t)n->fixed,
		.coll = n->coll,
		.cls = n->cls,
		.ref = n->kind == PN_PART ? (const void *)n->ps :
		    n->kind == PN_DRAWING ? (const void *)n->file :
		    (const void *)n->link,
	};
	size_t nfree = n->kind == PN_PART ? n->ps->nfree : 0;

	for (size_t i = 0; i < nfree; i++)
		h.nvals += n->free[i].kind != V_NULL;
	buf_add(out, &h, sizeof h);
	buf_add(out, n->choice, n->depth * sizeof n->choice[0]);
	for (size_t i = 0; i < nfree; i++) {
		const struct value *v = &n->free[i];
		uint8_t head[2] = { (uint8_t)i, (uint8_t)v->kind };
		uint32_t len;

		if (v->kind == V_NULL)
			continue;
		buf_add(out, head, sizeof head);
		switch (v->kind) {
		case V_NUM:
			buf_add(out, &v->u.num, sizeof v->u.num);
			break;
		case V_BOOL:
			buf_addc(out, v->u.b ? 1 : 0);
			break;
		case V_STR:
			len = (uint32_t)strlen(v->u.str);
			buf_add(out, &len, sizeof len);
			buf_add(out, v->u.str, len);
			break;
		case V_NULL:
			break;
		}
	}
}

void
pnode_unpack(const void *data, size_t n, struct pnode *out)
{
	const unsigned char *p = data, *end = p + n;
	struct packed h;

	memcpy(&h, p, sizeof h);
	p += sizeof h;
	pnode_root(out);
	out->kind = (enum pnode_kind)h.kind;
	out->fmt = (enum format)h.fmt;
	out->index = (enum pnode_index)h.index;
	out->depth = h.depth;
	out->fixed = h.fixed;
	out->coll = h.coll;
	out->cls = h.cls;
	if (out->kind == PN_PART)
		out->ps = h.ref;
	else if (out->kind == PN_DRAWING)
		out->file = h.ref;
	else if (out->kind == PN_LINK)
		out->link = h.ref;
	memcpy(out->choice, p, h.depth * sizeof out->choice[0]);
	p += h.depth * sizeof out->choice[0];
	for (uint8_t k = 0; k < h.nvals && p + 2 <= end; k++) {
		size_t i = p[0];
		struct value *v = &out->free[i];
		uint32_t len;

		v->kind = (enum vkind)p[1];
		p += 2;
		switch (v->kind) {
		case V_NUM:
			memcpy(&v->u.num, p, sizeof v->u.num);
			p += sizeof v->u.num;
			break;
		case V_BOOL:
			v->u.b = *p++ != 0;
			break;
		case V_STR:
			memcpy(&len, p, sizeof len);
			p += sizeof len;
			v->u.str = pnode_store(out, (const char *)p, len);
			p += len;
			break;
		case V_NULL:
			break;
		}
	}
}

bool
pnode_is_dir(const struct pnode *n)
{
	return n->kind == PN_ROOT || n->kind == PN_COLLECTION ||
	    n->kind == PN_CLASS || n->kind == PN_INDEX;
}

/* The parameter index of the d-th discrete free parameter of a class. */
static int
discrete_param(const struct pset *ps, size_t d)
{
	for (size_t f = 0; f < ps->nfree; f++) {
		if (ptype_discrete(ps->params[ps->free[f]].type) && d-- == 0)
			return ps->free[f];
	}
	return -1;
}

static void
choice_value(const struct param *p, uint32_t idx, struct value *v)
{
	if (p->type == PT_BOOL) {
		v->kind = V_BOOL;
		v->u.b = idx == 1;
	} else {
		v->kind = V_STR;
		v->u.str = p->choices[idx];
	}
}

/* Set free parameter `fpos` of a part from already-decoded text. */
static int
set_free(struct pnode *part, int pi, const char *text, size_t len,
    struct perr *e)
{
	const struct param *p = &part->ps->params[pi];
	struct value v;
	const char *copy;
	int r;

	copy = pnode_store(part, text, len);
	if ((r = value_parse(p->type, p->name, copy, len, &v, e)) != 0)
		return r;
	if (p->type == PT_TABLE_INDEX && param_choice(p, copy) < 0)
		return param_no_choice(p, copy, e);
	if ((r = pset_check_bound(part->ps, pi, &v, e)) != 0)
		return r;
	part->free[p->free_pos] = v;
	return 0;
}

/* Parse "<stem>.<ext>" in a leaf directory. */
static int
child_part(const struct pclass *cls, const struct pnode *dir,
    const char *name, struct pnode *out, struct perr *e)
{
	const char *dot = strrchr(name, '.');
	const struct pset *ps;
	size_t stemlen, nclass = cls->ps.nfree;
	bool seen[PF_MAX_FREE] = { false };
	char *dec = NULL;
	int fmt;

	if (dot == NULL || dot == name)
		return perr_set(e, ENOENT, "'%s': a part file is named "
		    "<stem>.<format>, e.g. default.step", name);
	fmt = format_from_ext(dot + 1, strlen(dot + 1));
	if (fmt < 0)
		return perr_set(e, ENOENT, "'%s': unknown format '%s'", name,
		    dot + 1);
	if (class_pset_for_format(cls, (enum format)fmt) == NULL)
		return perr_set(e, ENOENT, "'%s': class %s cannot be made in the "
		    "%s format", name, cls->id, format_ext(fmt));
	if (pnode_part_of(dir, (enum format)fmt, out, e) != 0)
		return -ENOENT;
	ps = out->ps;
	stemlen = (size_t)(dot - name);
	if (stemlen == 7 && memcmp(name, "default", 7) == 0)
		return 0;
	dec = xmalloc(stemlen + 1);
	/* every pair up to the dot, so "a=1,.step" holds an empty one */
	for (const char *s = name, *end;; s = end + 1) {
		const char *eq;
		char pname[256];
		ssize_t vlen;
		int pi, fpos;
		end = memchr(s, ',', (size_t)(dot - s));
		if (end == NULL)
			end = dot;
		eq = memchr(s, '=', (size_t)(end - s));
		if (eq == NULL || eq == s || (size_t)(eq - s) >= sizeof pname) {
			perr_set(e, ENOENT, "'%.*s': expected name=value",
			    (int)(end - s), s);
			goto fail;
		}
		memcpy(pname, s, (size_t)(eq - s));
		pname[eq - s] = '\0';
		pi = pset_find(ps, pname);
		fpos = pi >= 0 ? ps->params[pi].free_pos : -1;
		if (fpos < 0) {
			perr_set(e, ENOENT, "'%s' is not a free parameter of %s",
			    pname, cls->id);
			goto fail;
		}
		if ((size_t)fpos < nclass && ptype_discrete(ps->params[pi].type)) {
			perr_set(e, ENOENT, "'%s' is chosen by a directory "
			    "level, not in the file name", pname);
			goto fail;
		}
		if (seen[fpos]) {
			perr_set(e, ENOENT, "parameter '%s' is given twice",
			    pname);
			goto fail;
		}
		seen[fpos] = true;
		if ((vlen = path_decode_into(eq + 1, (size_t)(end - eq - 1),
		    dec)) < 0) {
			perr_set(e, ENOENT, "%s: bad %%-escape in the value",
			    pname);
			goto fail;
		}
		if (set_free(out, pi, dec, (size_t)vlen, e) != 0) {
			if (e != NULL)
				e->code = ENOENT;
			goto fail;
		}
		if (end == dot)
			break;
	}
	free(dec);
	return 0;
fail:
	free(dec);
	pnode_clear(out);
	return -ENOENT;
}

int
pnode_part_of(const struct pnode *dir, enum format fmt, struct pnode *out,
    struct perr *e)
{
	const struct pclass *cls = dir->cls;
	const struct pset *cps = &cls->ps, *ps;
	size_t d = 0;

	if (dir->kind != PN_CLASS && dir->kind != PN_LINK)
		return perr_set(e, EINVAL, "not a class directory");
	if ((ps = class_pset_for_format(cls, fmt)) == NULL)
		return perr_set(e, ENOENT, "class %s cannot be made in the %s "
		    "format", cls->id, format_ext(fmt));
	pnode_root(out);
	out->kind = PN_PART;
	out->coll = cls->coll;
	out->cls = cls;
	out->fmt = fmt;
	out->ps = ps;
	out->depth = pset_ndiscrete(cps);
	out->fixed = dir->kind == PN_CLASS ? dir->depth : 0;
	/* discrete values: from the directory levels, then defaults */
	for (size_t f = 0; f < cps->nfree; f++) {
		const struct param *p = &cps->params[cps->free[f]];
		uint32_t idx;
		if (!ptype_discrete(p->type))
			continue;
		if (dir->kind == PN_CLASS && d < dir->depth)
			idx = dir->choice[d];
		else if (p->type == PT_BOOL)
			idx = p->def.u.b ? 1 : 0;
		else {
			int c = param_choice(p, p->def.u.str);
			idx = c >= 0 ? (uint32_t)c : 0;
		}
		out->choice[d++] = idx;
		choice_value(p, idx, &out->free[f]);
	}
	return 0;
}

int
pnode_set_param(struct pnode *part, const char *name, const char *value,
    struct perr *e)
{
	const struct pset *ps = part->ps;
	int pi = pset_find(ps, name), fpos;
	struct pnode probe;
	const struct param *p;
	size_t d = 0;
	int r;

	if (part->kind != PN_PART)
		return perr_set(e, EINVAL, "not a part");
	if (pi < 0 || (fpos = ps->params[pi].free_pos) < 0) {
		struct buf b = BUF_INIT;
		for (size_t f = 0; f < ps->nfree; f++)
			buf_printf(&b, "%s%s", f ? ", " : "",
			    ps->params[ps->free[f]].name);
		r = perr_set(e, EINVAL, "'%s' is not a free parameter of %s; "
		    "its free parameters are: %s", name, part->cls->id,
		    ps->nfree ? buf_str(&b) : "(none)");
		buf_free(&b);
		return r;
	}
	p = &ps->params[pi];
	if (part->set[fpos])
		return perr_set(e, EINVAL, "parameter '%s' is given twice",
		    name);
	if (!ptype_discrete(p->type) || (size_t)fpos >= part->cls->ps.nfree) {
		if ((r = set_free(part, pi, value, strlen(value), e)) == 0)
			part->set[fpos] = true;
		return r;
	}
	/* a directory level: find its depth and choice */
	for (size_t f = 0; f < (size_t)fpos; f++) {
		if (ptype_discrete(ps->params[ps->free[f]].type))
			d++;
	}
	pnode_copy(&probe, part);
	r = set_free(&probe, pi, value, strlen(value), e);
	if (r == 0) {
		int idx = p->type == PT_BOOL ? (probe.free[fpos].u.b ? 1 : 0) :
		    param_choice(p, probe.free[fpos].u.str);
		if (d < part->fixed && (uint32_t)idx != part->choice[d])
			r = perr_set(e, EINVAL, "%s=%s contradicts the path, "
			    "which chose %s", name, value, p->type == PT_BOOL ?
			    (part->choice[d] ? "true" : "false") :
			    p->choices[part->choice[d]]);
		else {
			part->choice[d] = (uint32_t)idx;
			choice_value(p, (uint32_t)idx, &part->free[fpos]);
			part->set[fpos] = true;
		}
	}
	pnode_clear(&probe);
	return r;
}

static int
child_class_level(const struct pclass *cls, const struct pnode *dir,
    const char *name, struct pnode *out, struct perr *e)
{
	size_t k = pset_ndiscrete(&cls->ps);
	const struct param *p;
	struct buf dec = BUF_INIT;
	int idx = -1;

	if (dir->depth == k)
		return child_part(cls, dir, name, out, e);
	p = &cls->ps.params[discrete_param(&cls->ps, dir->depth)];
	if (path_decode(name, strlen(name), &dec) == 0) {
		if (p->type == PT_BOOL) {
			if (strcmp(buf_str(&dec), "false") == 0)
				idx = 0;
			else if (strcmp(buf_str(&dec), "true") == 0)
				idx = 1;
		} else
			idx = param_choice(p, buf_str(&dec));
	}
	buf_free(&dec);
	if (idx < 0 && p->type == PT_BOOL)
		return perr_set(e, ENOENT, "'%s' is not a choice of %s: true or "
		    "false", name, p->name);
	if (idx < 0)
		return param_no_choice(p, name, e);
	*out = *dir;
	out->strings = NULL;
	out->choice[dir->depth] = (uint32_t)idx;
	out->depth = dir->depth + 1;
	return 0;
}

static int
child_collection(const struct collection *c, const char *name,
    struct pnode *out, struct perr *e)
{
	const char *dot = strrchr(name, '.');
	const struct pclass *cls;

	pnode_root(out);
	out->coll = c;
	if (dot == NULL) {
		if ((cls = collection_class(c, name)) == NULL)
			return perr_set(e, ENOENT, "no class '%s' in collection "
			    "%s", name, c->id);
		out->kind = PN_CLASS;
		out->cls = cls;
		return 0;
	}
	{
		char *id = xstrndup(name, (size_t)(dot - name));
		cls = collection_class(c, id);
		free(id);
	}
	if (cls == NULL)
		return perr_set(e, ENOENT, "no class '%.*s' in collection %s",
		    (int)(dot - name), name, c->id);
	out->cls = cls;
	if (strcmp(dot, ".json") == 0) {
		out->kind = PN_CLASS_JSON;
		return 0;
	}
	if (strcmp(dot, ".svg") == 0 && cls->extra->drawing_svg != NULL) {
		out->kind = PN_DRAWING;
		out->file = cls->extra->drawing_svg;
		return 0;
	}
	if (strcmp(dot, ".png") == 0 && cls->extra->drawing_png != NULL) {
		out->kind = PN_DRAWING;
		out->file = cls->extra->drawing_png;
		return 0;
	}
	return perr_set(e, ENOENT, "'%s': a class has <class>.json and its "
	    "drawings only", name);
}

static int
child_root(const struct library *lib, const char *name, struct pnode *out,
    struct perr *e)
{
	const struct collection *c;
	size_t len = strlen(name);

	pnode_root(out);
	for (int i = 0; i < 2; i++) {
		if (strcmp(name, index_names[i]) == 0) {
			out->kind = PN_INDEX;
			out->index = (enum pnode_index)i;
			return 0;
		}
	}
	if (len > 5 && strcmp(name + len - 5, ".json") == 0) {
		char *id = xstrndup(name, len - 5);
		c = library_collection(lib, id);
		free(id);
		if (c != NULL) {
			out->kind = PN_COLLECTION_JSON;
			out->coll = c;
			return 0;
		}
	} else if ((c = library_collection(lib, name)) != NULL) {
		out->kind = PN_COLLECTION;
		out->coll = c;
		return 0;
	}
	return perr_set(e, ENOENT, "no collection '%s'", name);
}

int
pnode_child(const struct library *lib, const struct pnode *dir,
    const char *name, struct pnode *out, struct perr *e)
{
	const struct class_link *l;

	if (name[0] == '\0' || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return perr_set(e, ENOENT, "'%s' is not a name in the tree",
		    name);
	if (strlen(name) > PF_NAME_MAX)
		return perr_set(e, ENAMETOOLONG, "name too long: a name in "
		    "the tree holds at most %d bytes", PF_NAME_MAX);
	switch (dir->kind) {
	case PN_ROOT:
		return child_root(lib, name, out, e);
	case PN_COLLECTION:
		return child_collection(dir->coll, name, out, e);
	case PN_CLASS:
		return child_class_level(dir->cls, dir, name, out, e);
	case PN_INDEX:
		l = dir->index == PI_STANDARD ?
		    library_link(lib->by_standard, lib->nby_standard, name) :
		    library_link(lib->by_name, lib->nby_name, name);
		if (l == NULL)
			return perr_set(e, ENOENT, "no %s '%s'",
			    dir->index == PI_STANDARD ? "standard" : "name",
			    name);
		pnode_root(out);
		out->kind = PN_LINK;
		out->index = dir->index;
		out->link = l;
		out->coll = l->cls->coll;
		out->cls = l->cls;
		return 0;
	default:
		return perr_set(e, ENOTDIR, "not a directory");
	}
}

int
pnode_lookup(const struct library *lib, const char *path, struct pnode *out,
    struct perr *e)
{
	struct pnode cur, next;
	const char *s = path;
	int r;

	pnode_root(&cur);
	while (*s != '\0') {
		const char *end = strchr(s, '/');
		size_t len = end != NULL ? (size_t)(end - s) : strlen(s);
		char *name;
		if (len == 0) {
			s++;
			continue;
		}
		if (cur.kind == PN_LINK) {
			/* follow a link in the middle of a path */
			const struct pclass *cls = cur.cls;
			pnode_root(&cur);
			cur.kind = PN_CLASS;
			cur.coll = cls->coll;
			cur.cls = cls;
		}
		name = xstrndup(s, len);
		r = pnode_child(lib, &cur, name, &next, e);
		free(name);
		pnode_clear(&cur);
		if (r != 0)
			return r;
		cur = next;
		s += len;
	}
	*out = cur;
	return 0;
}

/* Names. */

static void
class_levels(const struct pnode *n, struct buf *out)
{
	const struct pset *ps = &n->cls->ps;

	for (size_t d = 0; d < n->depth; d++) {
		const struct param *p = &ps->params[discrete_param(ps, d)];
		buf_addc(out, '/');
		if (p->type == PT_BOOL)
			buf_adds(out, n->choice[d] ? "true" : "false");
		else
			path_encode_dir(p->choices[n->choice[d]], out);
	}
}

/* "length=20,thread=fine" or "default" */
static void
part_stem(const struct pnode *n, struct buf *out)
{
	const struct pset *ps = n->ps;
	size_t nclass = n->cls->ps.nfree, start = out->len;
	struct buf val = BUF_INIT;

	for (size_t f = 0; f < ps->nfree; f++) {
		const struct param *p = &ps->params[ps->free[f]];
		if (n->free[f].kind == V_NULL)
			continue;
		if (f < nclass && ptype_discrete(p->type))
			continue;
		if (out->len > start)
			buf_addc(out, ',');
		buf_adds(out, p->name);
		buf_addc(out, '=');
		buf_reset(&val);
		value_canon(&n->free[f], &val);
		path_encode_value(buf_str(&val), out);
	}
	if (out->len == start)
		buf_adds(out, "default");
	buf_free(&val);
}

void
pnode_name(const struct pnode *n, struct buf *out)
{
	struct buf full = BUF_INIT;
	const char *slash;

	if (n->kind == PN_PART) {
		/* the last component alone: a listing names every part */
		part_stem(n, out);
		buf_addc(out, '.');
		buf_adds(out, format_ext(n->fmt));
		return;
	}
	pnode_path(n, &full);
	slash = strrchr(buf_str(&full), '/');
	buf_adds(out, slash != NULL ? slash + 1 : buf_str(&full));
	buf_free(&full);
}

void
pnode_path(const struct pnode *n, struct buf *out)
{
	switch (n->kind) {
	case PN_ROOT:
		break;
	case PN_COLLECTION:
		buf_adds(out, n->coll->id);
		break;
	case PN_COLLECTION_JSON:
		buf_printf(out, "%s.json", n->coll->id);
		break;
	case PN_CLASS:
		buf_printf(out, "%s/%s", n->coll->id, n->cls->id);
		class_levels(n, out);
		break;
	case PN_CLASS_JSON:
		buf_printf(out, "%s/%s.json", n->coll->id, n->cls->id);
		break;
	case PN_DRAWING:
		buf_printf(out, "%s/%s.%s", n->coll->id, n->cls->id,
		    str_has_suffix(n->file, ".svg") ? "svg" : "png");
		break;
	case PN_PART:
		buf_printf(out, "%s/%s", n->coll->id, n->cls->id);
		class_levels(n, out);
		buf_addc(out, '/');
		part_stem(n, out);
		buf_printf(out, ".%s", format_ext(n->fmt));
		break;
	case PN_INDEX:
		buf_adds(out, index_names[n->index]);
		break;
	case PN_LINK:
		buf_printf(out, "%s/%s", index_names[n->index], n->link->name);
		break;
	}
}

void
pnode_link_target(const struct pnode *n, struct buf *out)
{
	if (n->kind == PN_LINK)
		buf_printf(out, "../%s/%s", n->coll->id, n->cls->id);
}

int
pnode_collect(const struct pnode *part, struct value *vals, struct perr *e)
{
	if (part->kind != PN_PART)
		return perr_set(e, EINVAL, "not a part");
	return pset_collect(part->ps, part->free, vals, e);
}

/* Listing. */

struct names {
	char **v;
	size_t n;
	size_t cap;
};

static void
names_add(struct names *ns, char *s)
{
	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? ns->cap * 2 : 32;
		ns->v = xreallocarray(ns->v, ns->cap, sizeof *ns->v);
	}
	ns->v[ns->n++] = s;
}

/*
 * The common rows of a class with many of them, indexed by their discrete
 * values (those a leaf directory chooses): a leaf lists the rows of its
 * own choices, found by a binary search, instead of going through every
 * row, which made a walk of every leaf quadratic.  The index of a pset is
 * kept for one library snapshot (its generation, unique in the process,
 * so a pset freed since cannot be mistaken for another at its address);
 * the few last used are kept.
 */
#define ROWS_INDEXED 256          /* fewer rows are gone through */
#define ROW_INDEXES 16            /* psets whose index is kept */

struct row_key {
	uint64_t hash;
	size_t row;
};

struct row_index {
	uint64_t generation;
	const struct pset *ps;
	struct row_key *v;
	size_t n;
	struct row_index *next;
};

static pthread_mutex_t row_lock = PTHREAD_MUTEX_INITIALIZER;
static struct row_index *row_indexes;   /* most recently used first */

static uint64_t
hash_text(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	/* a separator, so that ("ab","c") and ("a","bc") differ */
	h ^= 0xff;
	return h * 0x100000001b3ull;
}

/* The hash of the discrete values of `row` (NULL: the choices of leaf
 * directory `dir`): values equal for value_equal hash alike (a choice is
 * a string or a boolean; a row's value of another kind matches none). */
static uint64_t
discrete_hash(const struct pset *ps, const struct value *row,
    const struct pnode *dir)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t d = 0;

	for (size_t f = 0; f < ps->nfree; f++) {
		const struct param *p = &ps->params[ps->free[f]];
		struct value dv;
		char tag;
		if (!ptype_discrete(p->type))
			continue;
		if (row == NULL)
			choice_value(p, dir->choice[d++], &dv);
		else
			dv = row[f];
		tag = (char)dv.kind;
		h = hash_text(h, &tag, 1);
		if (dv.kind == V_STR)
			h = hash_text(h, dv.u.str, strlen(dv.u.str));
		else if (dv.kind == V_BOOL)
			h = hash_text(h, dv.u.b ? "1" : "0", 1);
	}
	return h;
}

static int
row_key_cmp(const void *a, const void *b)
{
	const struct row_key *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

static void
row_index_free(struct row_index *ri)
{
	free(ri->v);
	free(ri);
}

/* The index of ps in snapshot `generation`, made if need be, moved to
 * the front; row_lock held. */
static struct row_index *
row_index_get(const struct pset *ps, uint64_t generation)
{
	struct row_index **pp, *ri;
	size_t kept = 0;

	for (pp = &row_indexes; (ri = *pp) != NULL; pp = &ri->next) {
		if (ri->ps == ps && ri->generation == generation) {
			*pp = ri->next;
			ri->next = row_indexes;
			row_indexes = ri;
			return ri;
		}
	}
	ri = xcalloc(1, sizeof *ri);
	ri->generation = generation;
	ri->ps = ps;
	ri->n = ps->ncommon;
	ri->v = xreallocarray(NULL, ps->ncommon, sizeof *ri->v);
	for (size_t r = 0; r < ps->ncommon; r++) {
		ri->v[r].hash = discrete_hash(ps, &ps->common[r * ps->nfree],
		    NULL);
		ri->v[r].row = r;
	}
	qsort(ri->v, ri->n, sizeof *ri->v, row_key_cmp);
	ri->next = row_indexes;
	row_indexes = ri;
	/* the oldest go */
	for (pp = &row_indexes; *pp != NULL; pp = &(*pp)->next) {
		if (++kept > ROW_INDEXES) {
			struct row_index *old = *pp;
			*pp = NULL;
			while (old != NULL) {
				struct row_index *next = old->next;
				row_index_free(old);
				old = next;
			}
			break;
		}
	}
	return ri;
}

void
pnode_indexes_free(void)
{
	pthread_mutex_lock(&row_lock);
	while (row_indexes != NULL) {
		struct row_index *next = row_indexes->next;
		row_index_free(row_indexes);
		row_indexes = next;
	}
	pthread_mutex_unlock(&row_lock);
}

/* The common rows that may belong to leaf `dir` (all of them for a class
 * with few), in *rows (caller frees), in their order. */
static size_t
leaf_rows(const struct pnode *dir, uint64_t generation, size_t **rows)
{
	const struct pset *ps = &dir->cls->ps;
	const struct row_index *ri;
	size_t lo, hi, n = 0;
	uint64_t h;

	if (ps->ncommon < ROWS_INDEXED || pset_ndiscrete(ps) == 0) {
		*rows = xreallocarray(NULL, ps->ncommon + 1, sizeof **rows);
		for (size_t r = 0; r < ps->ncommon; r++)
			(*rows)[r] = r;
		return ps->ncommon;
	}
	h = discrete_hash(ps, NULL, dir);
	pthread_mutex_lock(&row_lock);
	ri = row_index_get(ps, generation);
	/* the first key of hash h */
	for (lo = 0, hi = ri->n; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		if (ri->v[mid].hash < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (hi = lo; hi < ri->n && ri->v[hi].hash == h; hi++)
		;
	*rows = xreallocarray(NULL, hi - lo + 1, sizeof **rows);
	for (size_t i = lo; i < hi; i++)
		(*rows)[n++] = ri->v[i].row;
	pthread_mutex_unlock(&row_lock);
	return n;
}

static void
leaf_names(const struct pnode *dir, uint64_t generation, struct names *ns)
{
	const struct pclass *cls = dir->cls;
	const struct pset *ps = &cls->ps;
	struct buf stem = BUF_INIT, val = BUF_INIT;
	char **stems = NULL;
	size_t nstems = 0, *rows, nrows;

	nrows = leaf_rows(dir, generation, &rows);
	stems = xcalloc(nrows + 1, sizeof *stems);
	stems[nstems++] = xstrdup("default");
	for (size_t k = 0; k < nrows; k++) {
		const struct value *row = &ps->common[rows[k] * ps->nfree];
		size_t d = 0;
		bool match = true;
		buf_reset(&stem);
		for (size_t f = 0; f < ps->nfree && match; f++) {
			const struct param *p = &ps->params[ps->free[f]];
			struct value dv;
			if (ptype_discrete(p->type)) {
				choice_value(p, dir->choice[d++], &dv);
				match = value_equal(&dv, &row[f]);
				continue;
			}
			/* a common value beyond values.max names no part */
			if (pset_check_bound(ps, ps->free[f], &row[f],
			    NULL) != 0) {
				match = false;
				continue;
			}
			if (stem.len > 0)
				buf_addc(&stem, ',');
			buf_printf(&stem, "%s=", p->name);
			buf_reset(&val);
			value_canon(&row[f], &val);
			path_encode_value(buf_str(&val), &stem);
		}
		if (match && stem.len > 0)
			stems[nstems++] = xstrdup(buf_str(&stem));
	}
	natsort((const char **)stems, nstems);
	for (size_t i = 0; i < nstems; i++) {
		/* stems are sorted so that duplicates are neighbours */
		if (i > 0 && strcmp(stems[i], stems[i - 1]) == 0)
			continue;
		for (int f = 0; f < FMT__COUNT; f++) {
			if (cls->formats & FMT_BIT(f))
				names_add(ns, xasprintf("%s.%s", stems[i],
				    format_ext(f)));
		}
	}
	for (size_t i = 0; i < nstems; i++)
		free(stems[i]);
	free(stems);
	free(rows);
	buf_free(&stem);
	buf_free(&val);
}

static void
dir_names(const struct library *lib, const struct pnode *dir,
    struct names *ns)
{
	struct buf b = BUF_INIT;

	switch (dir->kind) {
	case PN_ROOT:
		for (size_t i = 0; i < lib->ncolls; i++) {
			names_add(ns, xstrdup(lib->colls[i]->id));
			names_add(ns, xasprintf("%s.json", lib->colls[i]->id));
		}
		names_add(ns, xstrdup(index_names[PI_STANDARD]));
		names_add(ns, xstrdup(index_names[PI_NAME]));
		break;
	case PN_COLLECTION:
		for (size_t i = 0; i < dir->coll->nclasses; i++) {
			const struct pclass *c = &dir->coll->classes[i];
			names_add(ns, xstrdup(c->id));
			names_add(ns, xasprintf("%s.json", c->id));
			if (c->extra->drawing_svg != NULL)
				names_add(ns, xasprintf("%s.svg", c->id));
			if (c->extra->drawing_png != NULL)
				names_add(ns, xasprintf("%s.png", c->id));
		}
		break;
	case PN_CLASS:
		if (dir->depth == pset_ndiscrete(&dir->cls->ps)) {
			leaf_names(dir, lib->generation, ns);
			break;
		}
		{
			const struct pset *ps = &dir->cls->ps;
			const struct param *p =
			    &ps->params[discrete_param(ps, dir->depth)];
			for (size_t i = 0; i < p->nchoices; i++) {
				buf_reset(&b);
				path_encode_dir(p->choices[i], &b);
				names_add(ns, xstrdup(buf_str(&b)));
			}
		}
		break;
	case PN_INDEX:
		if (dir->index == PI_STANDARD) {
			for (size_t i = 0; i < lib->nby_standard; i++)
				names_add(ns, xstrdup(lib->by_standard[i].name));
		} else {
			for (size_t i = 0; i < lib->nby_name; i++)
				names_add(ns, xstrdup(lib->by_name[i].name));
		}
		break;
	default:
		break;
	}
	buf_free(&b);
}

int
pnode_list(const struct library *lib, const struct pnode *dir,
    pnode_list_fn fn, void *ctx, struct perr *e)
{
	struct names ns = { 0 };
	int r = 0;

	if (!pnode_is_dir(dir))
		return perr_set(e, ENOTDIR, "not a directory");
	dir_names(lib, dir, &ns);
	natsort((const char **)ns.v, ns.n);
	for (size_t i = 0; i < ns.n && r == 0; i++) {
		struct pnode child;
		/* too long for a file name: `check` reports it; a part's
		 * stem made of long values is not listed either */
		if (strlen(ns.v[i]) > PF_NAME_MAX)
			continue;
		if (pnode_child(lib, dir, ns.v[i], &child, e) != 0) {
			/* The listing and the grammar disagree: a bug, which
			 * the test suite's debug builds turn into a crash. */
#ifdef PF_DEBUG
			pf_fatal("listed name '%s' does not resolve: %s",
			    ns.v[i], e != NULL ? e->msg : "");
#endif
			perr_clear(e);
			continue;
		}
		r = fn(ctx, ns.v[i], &child);
		pnode_clear(&child);
	}
	for (size_t i = 0; i < ns.n; i++)
		free(ns.v[i]);
	free(ns.v);
	return r;
}
