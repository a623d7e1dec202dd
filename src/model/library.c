/* library.c -- loading a library directory into a snapshot: finding the
 * collections, loading them (in parallel), checking what spans them, and
 * building the by-standard/ and by-name/ indexes. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "partsfs/util/format.h"
#include "partsfs/model/library.h"

/*
 * A collection file is read only from inside the library: data/<id>.blt
 * may be a link, to a file anywhere in the library (a collection shared
 * by two names, a checkout that keeps its data elsewhere in the tree),
 * but one that leads out of the library root is refused unread.  Its
 * !includes stay inside data/ (see ydoc_load).
 */
struct collection *
collection_load(const char *root, const char *id, const struct conf *conf,
    const struct ydoc_limits *limits, struct diags *diags)
{
	struct collection *coll = NULL;
	char *incroot, *display, *link = NULL, *target = NULL;
	const struct ynode *doc;
	struct arena *a;
	size_t errors = diags->nerrors;
	struct stat st;
	int fd;

	incroot = xasprintf("%s/data", root);
	display = xasprintf("data/%s.blt", id);
	/* O_NONBLOCK: a FIFO is refused as not a regular file, not waited on */
	if ((fd = open_beneath(root, display, O_RDONLY | O_NONBLOCK, &link,
	    &target)) == -1) {
		if (errno == EXDEV && link != NULL)
			diag_add(diags, DIAG_ERROR, display, 0, 0, "%s is a "
			    "link to %s, outside the library: refused", link,
			    target);
		else if (errno == EXDEV)
			diag_add(diags, DIAG_ERROR, display, 0, 0, "leads "
			    "outside the library: refused");
		else
			diag_add(diags, DIAG_ERROR, display, 0, 0, "cannot "
			    "read: %s", strerror(errno));
		goto out;
	}
	a = arena_new();
	doc = ydoc_load_fd(a, fd, display, incroot, limits, diags);
	if (doc == NULL) {
		arena_free(a);
		goto out;
	}
	coll = arena_alloc(a, sizeof *coll);
	coll->arena = a;
	coll->display = arena_strdup(a, display);
	atomic_init(&coll->refs, 1);
	if (fstat(fd, &st) == 0)
		coll->mtime = st.st_mtim;
	blt_read(coll, doc, id, diags);
	bases_read(coll, root, conf, limits, diags);
	for (size_t i = 0; i < coll->nclasses; i++)
		class_makers(&coll->classes[i], conf);
	coll->nerrors = diags->nerrors - errors;
out:
	if (fd != -1)
		close(fd);
	free(incroot);
	free(display);
	free(link);
	free(target);
	return coll;
}

void
collection_ref(struct collection *c)
{
	atomic_fetch_add(&c->refs, 1);
}

void
collection_unref(struct collection *c)
{
	if (c != NULL && atomic_fetch_sub(&c->refs, 1) == 1)
		arena_free(c->arena);
}

const struct pclass *
collection_class(const struct collection *c, const char *id)
{
	size_t lo = 0, hi = c->nclasses;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pclass *cls = &c->classes[c->order[mid]];
		int r = natcmp(cls->id, id);
		if (r == 0)
			return cls;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct collection *
library_collection(const struct library *lib, const char *id)
{
	size_t lo = 0, hi = lib->ncolls;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = natcmp(lib->colls[mid]->id, id);
		if (r == 0)
			return lib->colls[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
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

const struct class_link *
library_link(const struct class_link *v, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = natcmp(v[mid].name, name);
		if (r == 0)
			return &v[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
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
	for (size_t i = 0; i < lib->nby_standard; i++)
		free((char *)lib->by_standard[i].name);
	for (size_t i = 0; i < lib->nby_name; i++)
		free((char *)lib->by_name[i].name);
	free(lib->colls);
	free(lib->by_standard);
	free(lib->by_name);
	diags_free(&lib->diags);
	free(lib->root);
	free(lib);
}

/* Assembly. */

struct named {
	const char *name;
	const char *nice;
	const struct pclass *cls;
	const struct ynode *node;
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
push_link(struct library *lib, bool standard, char *name,
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
			    cls, ymap_get(cls->node, "id") });
		}
	}
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_named);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(v[i - 1].name, v[i].name) == 0)
			diag_add(d, DIAG_ERROR, v[i].node->file, v[i].node->line,
			    v[i].node->col, "class id '%s' is also used in "
			    "collection '%s': class ids are unique in a "
			    "library", v[i].name, v[i - 1].cls->coll->id);
	}
	free(v);
}

/* Every class name (or, with `standards`, every standard) of the library
 * with its class, in the order of its safe form; the count in *np. */
static struct named *
all_named(const struct library *lib, bool standards, size_t *np)
{
	struct named *v = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < lib->ncolls; i++) {
		const struct collection *c = lib->colls[i];
		for (size_t j = 0; j < c->nclasses; j++) {
			const struct pclass *cls = &c->classes[j];
			size_t count = standards ? cls->nstandards :
			    cls->nnames;
			for (size_t k = 0; k < count; k++) {
				const struct ident *id = standards ?
				    &cls->standards[k].standard :
				    &cls->names[k].name;
				push_named(&v, &n, &cap, (struct named){
				    id->safe, id->nice, cls, cls->node });
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
	struct named *v = all_named(lib, false, &n);

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
		push_link(lib, false, xstrdup(v[i].name), v[i].cls, &lcap);
	}
	free(v);
}

/* by-standard/: a standard that covers several classes (the spec allows
 * it) gives each of them <safe>_<class id>. */
static void
build_by_standard(struct library *lib, struct diags *d)
{
	size_t n, lcap = 0;
	struct named *v = all_named(lib, true, &n);

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
			push_link(lib, true, nclasses == 1 ? xstrdup(v[k].name) :
			    xasprintf("%s_%s", v[k].name, v[k].cls->id),
			    v[k].cls, &lcap);
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
			diag_add(d, DIAG_ERROR, l->cls->node->file,
			    l->cls->node->line, l->cls->node->col,
			    "by-standard/%s would name both class %s "
			    "(collection %s) and class %s (collection %s); "
			    "only the first is listed there", l->name,
			    first->cls->id, first->cls->coll->id, l->cls->id,
			    l->cls->coll->id);
			free((char *)l->name);
			continue;
		}
		lib->by_standard[kept++] = *l;
	}
	lib->nby_standard = kept;
}

struct library *
library_assemble(const char *root, struct collection **colls, size_t ncolls,
    struct diags *diags)
{
	static atomic_uint_fast64_t generations;
	struct library *lib = xcalloc(1, sizeof *lib);

	atomic_init(&lib->refs, 1);
	lib->generation = atomic_fetch_add(&generations, 1) + 1;
	lib->root = xstrdup(root);
	lib->colls = xcalloc(ncolls ? ncolls : 1, sizeof *lib->colls);
	for (size_t i = 0; i < ncolls; i++) {
		collection_ref(colls[i]);
		lib->colls[lib->ncolls++] = colls[i];
		lib->nclasses += colls[i]->nclasses;
		timespec_max(&lib->mtime, &colls[i]->mtime);
	}
	qsort(lib->colls, lib->ncolls, sizeof *lib->colls, cmp_coll);
	check_global_ids(lib, diags);
	build_by_name(lib, diags);
	build_by_standard(lib, diags);
	return lib;
}

/* Loading: one task per collection, on a few threads. */

struct load_task {
	const char *root;
	char *id;
	const struct conf *conf;
	const struct ydoc_limits *limits;
	struct collection *coll;
	struct diags diags;
};

struct load_pool {
	struct load_task *tasks;
	size_t ntasks;
	size_t next;
	pthread_mutex_t lock;
};

static void *
load_worker(void *arg)
{
	struct load_pool *pool = arg;

	for (;;) {
		struct load_task *t;
		pthread_mutex_lock(&pool->lock);
		t = pool->next < pool->ntasks ? &pool->tasks[pool->next++] :
		    NULL;
		pthread_mutex_unlock(&pool->lock);
		if (t == NULL)
			return NULL;
		t->coll = collection_load(t->root, t->id, t->conf, t->limits,
		    &t->diags);
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return natcmp(*(char *const *)a, *(char *const *)b);
}

/* The collection ids: data/<id>.blt, from data/ open as `fd` (taken). */
static char **
list_collections(int fd, size_t *n, struct diags *d)
{
	DIR *dir = fdopendir(fd);
	struct dirent *de;
	char **ids = NULL;
	size_t cap = 0;

	*n = 0;
	if (dir == NULL) {
		diag_add(d, DIAG_ERROR, "data", 0, 0, "cannot list: %s",
		    strerror(errno));
		close(fd);
		return NULL;
	}
	while ((de = readdir(dir)) != NULL) {
		size_t len = strlen(de->d_name);
		char *stem;
		if (len <= 4 || strcmp(de->d_name + len - 4, ".blt") != 0 ||
		    de->d_name[0] == '.')
			continue;
		stem = xstrndup(de->d_name, len - 4);
		if (!id_valid(stem)) {
			diag_add(d, DIAG_ERROR, "data", 0, 0, "'%s': a "
			    "collection file is named <id>.blt, and an id holds "
			    "only letters, digits and underscores (ignored)",
			    de->d_name);
			free(stem);
			continue;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			ids = xreallocarray(ids, cap, sizeof *ids);
		}
		ids[(*n)++] = stem;
	}
	closedir(dir);
	if (*n > 1)
		qsort(ids, *n, sizeof *ids, cmp_str);
	return ids;
}

/*
 * data/ of the library at `real` (its real path), open for listing; -1
 * with `e` set, naming the real cause, when it cannot be: missing, a link
 * out of the library, not readable.
 */
static int
open_data(const char *root, const char *real, struct perr *e)
{
	char *link = NULL, *target = NULL;
	int fd;

	fd = open_beneath(real, "data", O_RDONLY | O_DIRECTORY, &link,
	    &target);
	if (fd != -1)
		return fd;
	if (errno == ENOENT || errno == ENOTDIR)
		perr_set(e, ENOTDIR, "%s is not a BOLTS library: it has no "
		    "data/ directory", root);
	else if (errno == EXDEV && link != NULL)
		perr_set(e, EXDEV, "%s/data is a link to %s, outside the "
		    "library: refused", root, target);
	else if (errno == EXDEV)
		perr_set(e, EXDEV, "%s/data leads outside the library: "
		    "refused", root);
	else
		perr_set(e, errno, "%s/data: %s", root, strerror(errno));
	free(link);
	free(target);
	return -1;
}

struct library *
library_load(const char *root, const struct library_opts *opts,
    struct perr *e)
{
	const struct ydoc_limits *limits = opts && opts->limits ? opts->limits :
	    &ydoc_default_limits;
	struct load_pool pool = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct diags diags = DIAGS_INIT;
	struct collection **colls;
	struct library *lib;
	pthread_t threads[8];
	size_t nids, ncolls = 0;
	int nthreads, fd;
	char *real;
	char **ids;

	if ((real = realpath(root, NULL)) == NULL) {
		perr_set(e, errno, "%s: %s", root, strerror(errno));
		return NULL;
	}
	if ((fd = open_data(root, real, e)) == -1) {
		free(real);
		return NULL;
	}
	ids = list_collections(fd, &nids, &diags);
	pool.tasks = xcalloc(nids ? nids : 1, sizeof *pool.tasks);
	for (size_t i = 0; i < nids; i++) {
		pool.tasks[i].root = real;
		pool.tasks[i].id = ids[i];
		pool.tasks[i].limits = limits;
		pool.tasks[i].conf = opts != NULL ? opts->conf : NULL;
	}
	pool.ntasks = nids;
	nthreads = opts && opts->threads > 0 ? opts->threads :
	    (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (nthreads > (int)PF_ARRAY_LEN(threads))
		nthreads = (int)PF_ARRAY_LEN(threads);
	if (nthreads > (int)nids)
		nthreads = (int)nids;
	if (nthreads <= 1)
		load_worker(&pool);
	else {
		int started = 0;
		for (int i = 0; i < nthreads; i++) {
			if (pthread_create(&threads[i], NULL, load_worker,
			    &pool) != 0)
				break;
			started++;
		}
		if (started == 0)
			load_worker(&pool);
		for (int i = 0; i < started; i++)
			pthread_join(threads[i], NULL);
	}
	colls = xcalloc(nids ? nids : 1, sizeof *colls);
	for (size_t i = 0; i < nids; i++) {
		diags_append(&diags, &pool.tasks[i].diags);
		diags_free(&pool.tasks[i].diags);
		if (pool.tasks[i].coll != NULL)
			colls[ncolls++] = pool.tasks[i].coll;
		free(ids[i]);
	}
	free(ids);
	free(pool.tasks);
	lib = library_assemble(real, colls, ncolls, &diags);
	for (size_t i = 0; i < ncolls; i++)
		collection_unref(colls[i]);
	free(colls);
	free(real);
	diags_sort(&diags);
	lib->diags = diags;
	return lib;
}
