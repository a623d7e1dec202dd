/* library.c -- a library snapshot: its collections and classes by id,
 * shared by reference counting, assembled from loaded collections with the
 * checks that span them and the by-standard/ and by-name/ indexes. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "partsfs/model/library.h"

void
collection_ref(struct collection *c)
{
	atomic_fetch_add(&c->refs, 1);
}

void
collection_unref(struct collection *c)
{
	if (c != NULL && atomic_fetch_sub(&c->refs, 1) == 1) {
		free(c->deps);
		diags_free(&c->diags);
		arena_free(c->arena);
	}
}

/* a >= b */
static bool
ts_not_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec &&
	    a->tv_nsec >= b->tv_nsec);
}

void
collection_dep(struct collection *c, const char *path, const struct stat *st)
{
	struct file_dep *d;

	if (c->ndeps == c->depcap) {
		c->depcap = c->depcap ? c->depcap * 2 : 8;
		c->deps = xreallocarray(c->deps, c->depcap, sizeof *c->deps);
	}
	d = &c->deps[c->ndeps++];
	memset(d, 0, sizeof *d);
	d->path = arena_intern(c->arena, path, strlen(path));
	if (st == NULL)
		return;
	d->exists = true;
	d->dev = st->st_dev;
	d->ino = st->st_ino;
	d->size = st->st_size;
	d->mtime = st->st_mtim;
	d->ctime = st->st_ctim;
	/* File times come from the coarse clock that stamped load_start: a
	 * change made after the load began has a time at least as late,
	 * and one in the same tick cannot be told from one just before. */
	if (ts_not_before(&st->st_mtim, &c->load_start) ||
	    ts_not_before(&st->st_ctim, &c->load_start))
		c->racy = true;
}

bool
collection_unchanged(const struct collection *c)
{
	if (c->racy)
		return false;
	for (size_t i = 0; i < c->ndeps; i++) {
		const struct file_dep *d = &c->deps[i];
		struct stat st;
		if (stat(d->path, &st) == -1) {
			if (d->exists || (errno != ENOENT && errno != ENOTDIR))
				return false;
			continue;
		}
		if (!d->exists || st.st_dev != d->dev || st.st_ino != d->ino ||
		    st.st_size != d->size ||
		    st.st_mtim.tv_sec != d->mtime.tv_sec ||
		    st.st_mtim.tv_nsec != d->mtime.tv_nsec ||
		    st.st_ctim.tv_sec != d->ctime.tv_sec ||
		    st.st_ctim.tv_nsec != d->ctime.tv_nsec)
			return false;
	}
	return true;
}

static const char *
class_id_at(const void *ctx, size_t i)
{
	const struct collection *c = ctx;

	return c->classes[c->order[i]].id;
}

const struct class_extra class_extra_none;

struct class_extra *
class_extra_edit(struct pclass *c, struct arena *a)
{
	struct class_extra *x;

	if (c->extra != &class_extra_none)
		return (struct class_extra *)c->extra;
	x = arena_alloc(a, sizeof *x);
	c->extra = x;
	return x;
}

const struct pclass *
collection_class(const struct collection *c, const char *id)
{
	ssize_t i = sorted_find(c->nclasses, id, class_id_at, c, natcmp);

	return i < 0 ? NULL : &c->classes[c->order[i]];
}

static const char *
collection_id_at(const void *ctx, size_t i)
{
	const struct library *lib = ctx;

	return lib->colls[i]->id;
}

const struct collection *
library_collection(const struct library *lib, const char *id)
{
	ssize_t i = sorted_find(lib->ncolls, id, collection_id_at, lib,
	    natcmp);

	return i < 0 ? NULL : lib->colls[i];
}

const struct pclass *
library_class(const struct library *lib, const char *id)
{
	for (size_t i = 0; i < lib->ncolls; i++) {
		const struct pclass *c = collection_class(lib->colls[i], id);
		if (c != NULL)
			return c;
	}
	return NULL;
}

static const char *
link_name_at(const void *ctx, size_t i)
{
	const struct class_link *v = ctx;

	return v[i].name;
}

const struct class_link *
library_link(const struct class_link *v, size_t n, const char *name)
{
	ssize_t i = sorted_find(n, name, link_name_at, v, natcmp);

	return i < 0 ? NULL : &v[i];
}

struct library *
library_ref(struct library *lib)
{
	atomic_fetch_add(&lib->refs, 1);
	return lib;
}

void
library_unref(struct library *lib)
{
	if (lib == NULL || atomic_fetch_sub(&lib->refs, 1) != 1)
		return;
	for (size_t i = 0; i < lib->ncolls; i++)
		collection_unref(lib->colls[i]);
	free(lib->colls);
	free(lib->by_standard);
	free(lib->by_name);
	diags_free(&lib->diags);
	arena_free(lib->names);
	free(lib->root);
	free(lib);
}

/* Assembly. */

struct named {
	const char *name;
	const char *nice;
	const struct pclass *cls;
	const struct fpos *node;
};

/* By name, then by collection and class: the order of by-name/ and
 * by-standard/ entries, ties included. */
static int
cmp_name_class(const char *an, const struct pclass *ac, const char *bn,
    const struct pclass *bc)
{
	int c = natcmp(an, bn);

	if (c != 0)
		return c;
	if ((c = natcmp(ac->coll->id, bc->coll->id)) != 0)
		return c;
	return natcmp(ac->id, bc->id);
}

static int
cmp_named(const void *pa, const void *pb)
{
	const struct named *a = pa, *b = pb;

	return cmp_name_class(a->name, a->cls, b->name, b->cls);
}

static int
cmp_coll(const void *pa, const void *pb)
{
	return natcmp((*(struct collection *const *)pa)->id,
	    (*(struct collection *const *)pb)->id);
}

static int
cmp_link(const void *pa, const void *pb)
{
	const struct class_link *a = pa, *b = pb;

	return cmp_name_class(a->name, a->cls, b->name, b->cls);
}

static void
push_named(struct named **v, size_t *n, size_t *cap, struct named item)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*v = xreallocarray(*v, *cap, sizeof **v);
	}
	(*v)[(*n)++] = item;
}

static void
push_link(struct library *lib, bool standard, const char *name,
    const struct pclass *cls, size_t *cap)
{
	struct class_link **v = standard ? &lib->by_standard : &lib->by_name;
	size_t *n = standard ? &lib->nby_standard : &lib->nby_name;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*v = xreallocarray(*v, *cap, sizeof **v);
	}
	(*v)[*n].name = name;
	(*v)[*n].cls = cls;
	(*n)++;
}

/* An index grown by doubling, cut to its size: it lives as long as the
 * snapshot. */
static void
fit_links(struct class_link **v, size_t n)
{
	if (n != 0)
		*v = xreallocarray(*v, n, sizeof **v);
}

/* Class ids are unique in the whole repository. */
static void
check_global_ids(struct library *lib, struct diags *d)
{
	struct named *v = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < lib->ncolls; i++) {
		const struct collection *c = lib->colls[i];
		for (size_t j = 0; j < c->nclasses; j++) {
			const struct pclass *cls = &c->classes[j];
			push_named(&v, &n, &cap, (struct named){ cls->id, NULL,
			    cls, NULL });
		}
	}
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_named);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(v[i - 1].name, v[i].name) == 0)
			diag_add(d, DIAG_ERROR, v[i].cls->pos.file,
			    v[i].cls->id_line, v[i].cls->id_col,
			    "class id '%s' is also used in "
			    "collection '%s': class ids are unique in a "
			    "library", v[i].name, v[i - 1].cls->coll->id);
	}
	free(v);
}

/* Every class name (or, with `standards`, every standard) of the
 * collections with its class, in the order of its safe form; the count in
 * *np. */
static struct named *
all_named(struct collection *const *colls, size_t ncolls, bool standards,
    size_t *np)
{
	struct named *v = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < ncolls; i++) {
		const struct collection *c = colls[i];
		for (size_t j = 0; j < c->nclasses; j++) {
			const struct pclass *cls = &c->classes[j];
			size_t count = standards ? cls->nstandards :
			    cls->nnames;
			for (size_t k = 0; k < count; k++) {
				const struct ident *id = standards ?
				    &cls->standards[k].standard :
				    &cls->names[k].name;
				push_named(&v, &n, &cap, (struct named){
				    id->safe, id->nice, cls, &cls->pos });
			}
		}
	}
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_named);
	*np = n;
	return v;
}

/* by-name/: a class name's safe name is unique in the library. */
static void
build_by_name(struct library *lib, struct diags *d)
{
	size_t n, lcap = 0;
	struct named *v = all_named(lib->colls, lib->ncolls, false, &n);

	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i - 1].name, v[i].name) == 0) {
			if (v[i - 1].cls != v[i].cls)
				diag_add(d, DIAG_ERROR, v[i].node->file,
				    v[i].node->line, v[i].node->col, "class "
				    "name '%s' of class %s is also the name of "
				    "class %s: safe names are unique in a "
				    "library", v[i].name, v[i].cls->id,
				    v[i - 1].cls->id);
			continue;
		}
		/* the class's own safe name: the snapshot holds its
		 * collection */
		push_link(lib, false, v[i].name, v[i].cls, &lcap);
	}
	free(v);
	fit_links(&lib->by_name, lib->nby_name);
}

/* by-standard/: a standard that covers several classes (the spec allows
 * it) gives each of them <safe>_<class id>. */
static void
build_by_standard(struct library *lib, struct diags *d)
{
	size_t n, lcap = 0;
	struct named *v = all_named(lib->colls, lib->ncolls, true, &n);

	for (size_t i = 0; i < n;) {
		size_t j = i + 1, nclasses = 1;
		while (j < n && strcmp(v[j].name, v[i].name) == 0) {
			if (v[j].cls != v[j - 1].cls)
				nclasses++;
			if (strcmp(v[j].nice, v[i].nice) != 0)
				diag_add(d, DIAG_ERROR, v[j].node->file,
				    v[j].node->line, v[j].node->col, "standard "
				    "'%s' is called '%s' here but '%s' in "
				    "class %s", v[j].name, v[j].nice, v[i].nice,
				    v[i].cls->id);
			j++;
		}
		for (size_t k = i; k < j; k++) {
			if (k > i && v[k].cls == v[k - 1].cls)
				continue;
			push_link(lib, true, nclasses == 1 ? v[k].name :
			    arena_printf(lib->names, "%s_%s", v[k].name,
			    v[k].cls->id), v[k].cls, &lcap);
		}
		i = j;
	}
	free(v);
	if (lib->nby_standard > 1)
		qsort(lib->by_standard, lib->nby_standard,
		    sizeof *lib->by_standard, cmp_link);
	/*
	 * A made-up <safe>_<class id> can meet a standard's plain safe name,
	 * and a class id used twice makes the same link twice: a directory
	 * lists each name once, so the first keeps it and the rest are errors.
	 */
	size_t kept = 0;
	for (size_t i = 0; i < lib->nby_standard; i++) {
		struct class_link *l = &lib->by_standard[i];
		if (kept > 0 && strcmp(lib->by_standard[kept - 1].name,
		    l->name) == 0) {
			const struct class_link *first =
			    &lib->by_standard[kept - 1];
			diag_add(d, DIAG_ERROR, l->cls->pos.file,
			    l->cls->pos.line, l->cls->pos.col,
			    "by-standard/%s would name both class %s "
			    "(collection %s) and class %s (collection %s); "
			    "only the first is listed there", l->name,
			    first->cls->id, first->cls->coll->id, l->cls->id,
			    l->cls->coll->id);
			continue;
		}
		lib->by_standard[kept++] = *l;
	}
	lib->nby_standard = kept;
	fit_links(&lib->by_standard, lib->nby_standard);
}

/* A snapshot of the collections (a reference taken on each), its indexes
 * empty. */
static struct library *
library_new(const char *root, struct collection **colls, size_t ncolls)
{
	static atomic_uint_fast64_t generations;
	struct library *lib = xcalloc(1, sizeof *lib);

	atomic_init(&lib->refs, 1);
	lib->generation = atomic_fetch_add(&generations, 1) + 1;
	lib->root = xstrdup(root);
	lib->names = arena_new();
	lib->colls = xcalloc(ncolls ? ncolls : 1, sizeof *lib->colls);
	for (size_t i = 0; i < ncolls; i++) {
		collection_ref(colls[i]);
		lib->colls[lib->ncolls++] = colls[i];
		lib->nclasses += colls[i]->nclasses;
		timespec_max(&lib->mtime, &colls[i]->mtime);
	}
	qsort(lib->colls, lib->ncolls, sizeof *lib->colls, cmp_coll);
	return lib;
}

/* Whether every by-standard/ link is named by a standard of its class
 * (none made up as <safe>_<class id>). */
static bool
standards_plain(const struct library *lib)
{
	for (size_t i = 0; i < lib->nby_standard; i++) {
		const struct class_link *l = &lib->by_standard[i];
		bool own = false;
		for (size_t k = 0; k < l->cls->nstandards && !own; k++)
			own = strcmp(l->cls->standards[k].standard.safe,
			    l->name) == 0;
		if (!own)
			return false;
	}
	return true;
}

struct library *
library_assemble(const char *root, struct collection **colls, size_t ncolls,
    struct diags *diags)
{
	struct library *lib = library_new(root, colls, ncolls);
	size_t errors = diags->nerrors;

	check_global_ids(lib, diags);
	build_by_name(lib, diags);
	build_by_standard(lib, diags);
	lib->plain = diags->nerrors == errors && standards_plain(lib);
	return lib;
}

/* Assembly from the last snapshot. */

static int
cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a;
	uintptr_t y = (uintptr_t)*(void *const *)b;

	return x < y ? -1 : x > y;
}

/* Is collection c one of `kept` (sorted by address)? */
static bool
is_kept(struct collection *const *kept, size_t n, const struct collection *c)
{
	return bsearch(&c, kept, n, sizeof *kept, cmp_ptr) != NULL;
}

/* The first of the links v[lo..n) not before (name, cls). */
static size_t
link_lower_bound(const struct class_link *v, size_t lo, size_t n,
    const char *name, const struct pclass *cls)
{
	while (lo < n) {
		size_t mid = lo + (n - lo) / 2;
		if (cmp_name_class(v[mid].name, v[mid].cls, name, cls) < 0)
			lo = mid + 1;
		else
			n = mid;
	}
	return lo;
}

/* Append link (name, cls) to the index: false when its name is the last
 * one's, for another class (a class named alike twice is listed once). */
static bool
append_link(struct class_link *out, size_t *nout, const char *name,
    const struct pclass *cls)
{
	if (*nout > 0 && strcmp(out[*nout - 1].name, name) == 0)
		return out[*nout - 1].cls == cls;
	/* a plain snapshot's links are named by their classes' own
	 * strings, which the collections it holds keep */
	out[*nout].name = name;
	out[(*nout)++].cls = cls;
	return true;
}

/*
 * Index `standard` (by-standard/, else by-name/) of lib: the links of the
 * last snapshot (v, n: plain) whose collections are kept, merged with the
 * names `add` (sorted) of the other collections, each found by a binary
 * search.  false, and the index left empty, when a name is met twice for
 * two classes: that is for library_assemble to report.
 */
static bool
merge_links(struct library *lib, bool standard, const struct class_link *v,
    size_t n, struct collection *const *kept, size_t nkept,
    const struct named *add, size_t nadd)
{
	struct class_link **out = standard ? &lib->by_standard : &lib->by_name;
	size_t *nout = standard ? &lib->nby_standard : &lib->nby_name;
	size_t i = 0;
	bool ok = true;

	*out = xcalloc(n + nadd + 1, sizeof **out);
	*nout = 0;
	for (size_t j = 0; j <= nadd && ok; j++) {
		size_t upto = j < nadd ? link_lower_bound(v, i, n, add[j].name,
		    add[j].cls) : n;
		for (; i < upto && ok; i++) {
			if (is_kept(kept, nkept, v[i].cls->coll))
				ok = append_link(*out, nout, v[i].name,
				    v[i].cls);
		}
		if (j < nadd && ok)
			ok = append_link(*out, nout, add[j].name, add[j].cls);
	}
	if (!ok)
		*nout = 0;
	return ok;
}

/* Are the class ids of the collections `fresh` unique among them and
 * in the collections of `prev` that are kept? */
static bool
ids_unique(struct collection *const *fresh, size_t nfresh,
    const struct library *prev, struct collection *const *kept,
    size_t nkept)
{
	const char **ids = NULL;
	size_t n = 0;
	bool unique = true;

	for (size_t i = 0; i < nfresh; i++) {
		/* the version it replaces: its ids were unique in prev */
		const struct collection *was = library_collection(prev,
		    fresh[i]->id);
		ids = xreallocarray(ids, n + fresh[i]->nclasses + 1,
		    sizeof *ids);
		for (size_t j = 0; j < fresh[i]->nclasses; j++) {
			const char *id = fresh[i]->classes[j].id;
			const struct pclass *o;
			ids[n++] = id;
			if (was != NULL && collection_class(was, id) != NULL)
				continue;
			o = library_class(prev, id);
			if (o != NULL && is_kept(kept, nkept, o->coll))
				unique = false;
		}
	}
	if (n > 1)
		qsort(ids, n, sizeof *ids, str_ptr_cmp);
	for (size_t i = 1; i < n && unique; i++)
		unique = strcmp(ids[i - 1], ids[i]) != 0;
	free(ids);
	return unique;
}

struct library *
library_assemble_next(const char *root, struct collection **colls,
    size_t ncolls, const struct library *prev, struct diags *diags)
{
	struct collection **kept, **fresh;
	size_t nkept = 0, nfresh = 0, n;
	struct library *lib;
	struct named *add;
	bool ok;

	if (prev == NULL || !prev->plain || strcmp(prev->root, root) != 0)
		return library_assemble(root, colls, ncolls, diags);
	kept = xcalloc(ncolls + 1, sizeof *kept);
	fresh = xcalloc(ncolls + 1, sizeof *fresh);
	for (size_t i = 0; i < ncolls; i++) {
		if (library_collection(prev, colls[i]->id) == colls[i])
			kept[nkept++] = colls[i];
		else
			fresh[nfresh++] = colls[i];
	}
	if (nkept > 1)
		qsort(kept, nkept, sizeof *kept, cmp_ptr);
	lib = library_new(root, colls, ncolls);
	ok = ids_unique(fresh, nfresh, prev, kept, nkept);
	if (ok) {
		add = all_named(fresh, nfresh, false, &n);
		ok = merge_links(lib, false, prev->by_name, prev->nby_name,
		    kept, nkept, add, n);
		free(add);
	}
	if (ok) {
		add = all_named(fresh, nfresh, true, &n);
		ok = merge_links(lib, true, prev->by_standard,
		    prev->nby_standard, kept, nkept, add, n);
		free(add);
	}
	free(kept);
	free(fresh);
	if (!ok) {
		library_unref(lib);
		return library_assemble(root, colls, ncolls, diags);
	}
	lib->plain = true;
	return lib;
}
