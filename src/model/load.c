/* load.c -- loading a library directory: finding its collections, loading
 * each (its blt file and database files) on a few threads, and assembling
 * the snapshot. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "partsfs/model/basefile.h"
#include "partsfs/model/blt.h"
#include "partsfs/model/load.h"
#include "partsfs/model/makers.h"
#include "partsfs/util/confine.h"

/*
 * A collection file is read only from inside the library: data/<id>.blt
 * may be a link, to a file anywhere in the library (a collection shared
 * by two names, a checkout that keeps its data elsewhere in the tree),
 * but one that leads out of the library root is refused unread.  Its
 * !includes stay inside data/ (see ydoc_load).
 */
static void
include_seen(void *arg, const char *path, const struct stat *st)
{
	collection_dep(arg, path, st);
}

struct collection *
collection_load(const char *root, const char *id, const struct conf *conf,
    const struct ydoc_limits *limits, struct diags *diags)
{
	struct collection *coll = NULL;
	char *incroot, *display, *link = NULL, *target = NULL, *path;
	const struct ynode *doc;
	struct arena *a, *pa = NULL;
	struct diags own = DIAGS_INIT;
	struct ydoc_seen seen;
	struct timespec start;
	struct stat st;
	int fd;

	/* before anything is read: a file changed from now on is not kept
	 * by a live reload (collection_dep) */
	clock_gettime(CLOCK_REALTIME_COARSE, &start);
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
	/*
	 * The model goes into the collection's arena, its strings interned
	 * while it loads; the parse tree into one of its own, freed once
	 * the model is built (its nodes hold several times the bytes of the
	 * file).
	 */
	a = arena_new();
	arena_intern_begin(a);
	coll = arena_alloc(a, sizeof *coll);
	coll->arena = a;
	coll->load_start = start;
	atomic_init(&coll->refs, 1);
	path = xasprintf("%s/%s", root, display);
	collection_dep(coll, path, fstat(fd, &st) == 0 ? &st : NULL);
	free(path);
	pa = arena_new();
	seen = (struct ydoc_seen){ include_seen, coll };
	doc = ydoc_load_fd_seen(pa, fd, display, incroot, limits, &own,
	    &seen);
	if (doc == NULL) {
		free(coll->deps);
		arena_free(a);
		coll = NULL;
		goto out;
	}
	coll->display = arena_strdup(a, display);
	if (fstat(fd, &st) == 0)
		coll->mtime = st.st_mtim;
	blt_read(coll, doc, id, &own);
	for (size_t i = 0; i < coll->nclasses; i++)
		coll->classes[i].ps.value_max = conf != NULL ?
		    conf->value_max : CONF_VALUE_MAX;
	bases_read(coll, root, conf, limits, &own);
	for (size_t i = 0; i < coll->nclasses; i++)
		class_makers(&coll->classes[i], conf);
	/* the parse tree goes now */
	free(coll->class_nodes);
	coll->class_nodes = NULL;
	coll->nerrors = own.nerrors;
	arena_intern_end(a);
	diags_append(&coll->diags, &own);
out:
	diags_append(diags, &own);
	diags_free(&own);
	arena_free(pa);
	if (fd != -1)
		close(fd);
	free(incroot);
	free(display);
	free(link);
	free(target);
	return coll;
}

/* Loading: one task per collection, on a few threads. */

struct load_task {
	const char *root;
	char *id;
	const struct conf *conf;
	const struct ydoc_limits *limits;
	struct collection *old;      /* of the last snapshot, or NULL */
	const struct library_opts *opts;
	struct collection *coll;
	bool kept;                   /* coll is `old`, unchanged */
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
		if (t->old != NULL && (t->opts == NULL ||
		    t->opts->suspect == NULL ||
		    t->opts->suspect(t->old, t->opts->suspect_arg) ?
		    collection_unchanged(t->old) : true)) {
			collection_ref(t->old);
			t->coll = t->old;
			t->kept = true;
			diags_append(&t->diags, &t->old->diags);
			continue;
		}
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
	return library_reload(root, opts, NULL, NULL, e);
}

struct library *
library_reload(const char *root, const struct library_opts *opts,
    const struct library *old, size_t *nread, struct perr *e)
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
		pool.tasks[i].opts = opts;
		if (old != NULL && strcmp(old->root, real) == 0)
			pool.tasks[i].old = (struct collection *)
			    library_collection(old, ids[i]);
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
	if (nread != NULL)
		*nread = 0;
	for (size_t i = 0; i < nids; i++) {
		if (nread != NULL && !pool.tasks[i].kept)
			(*nread)++;
		diags_append(&diags, &pool.tasks[i].diags);
		diags_free(&pool.tasks[i].diags);
		if (pool.tasks[i].coll != NULL)
			colls[ncolls++] = pool.tasks[i].coll;
		free(ids[i]);
	}
	free(ids);
	free(pool.tasks);
	lib = library_assemble_next(real, colls, ncolls, old, &diags);
	for (size_t i = 0; i < ncolls; i++)
		collection_unref(colls[i]);
	free(colls);
	free(real);
	diags_sort(&diags);
	lib->diags = diags;
	/* the parse trees freed as each collection was built are most of
	 * what loading allocated: give them back to the system rather
	 * than keep the peak for good */
	malloc_trim(0);
	return lib;
}
