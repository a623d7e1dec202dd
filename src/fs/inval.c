/* inval.c -- the entry-invalidation protocol of live reloads: the kernel
 * forgets the names and attributes it holds of what a reload changed,
 * without an invalidation ever waiting for a part (see the comment
 * below). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "partsfs/model/blt.h"

/*
 * A live reload (core/reload.c) makes the kernel forget the entries it
 * holds of the collections that changed (those that are not the same
 * objects in the snapshots before and after it: read again, new or gone)
 * and of what is outside every collection (the root, by-standard/,
 * by-name/, the status directory), whose listings and links any
 * collection may change.  A collection kept by the reload is the same
 * object, with the same attributes and content, and the kernel keeps
 * what it holds of it.  To forget one the kernel takes its directory's lock alone.  A
 * lookup holds that lock (shared) until it is answered: one parked for
 * its part (exact_size), for the whole job.  The invalidation would wait
 * for the job, and every lookup and listing of the directory would queue
 * behind it.  So, under park.lock:
 *
 * - The reloading thread invalidates an entry only when no lookup of a
 *   part is parked in its directory or on its way there (fs_lookup_begin
 *   to fs_lookup_end), and marks the directory meanwhile
 *   (park.inval_dir).  Otherwise the entry is held back, with the
 *   directory's next ones, and the reloading thread invalidates them a
 *   moment after no lookup is there (fs_release_entries, its tick every
 *   tenth of a second): not as the last one is
 *   answered, when its reader's next lookup is often on its way already.
 *   A lookup answered after the reload resolves its path in the new
 *   library (lookup_done).
 * - A lookup that starts in the marked directory does not wait: it may
 *   have been on its way in the kernel since before the mark, and the
 *   invalidation then waits for it.  It is answered at once with the
 *   placeholder of a part not made and no entry timeout, so that the
 *   next stat looks the part up again, and waits; the directory's other
 *   entries are held back.
 * - The entry of a directory itself is one of its parent's: a lookup
 *   holds the lock of the directory it looks in, not of those above.
 *
 * So an invalidation never waits for a job, and in a directory only
 * the lookups of parts not made wait.  The attributes go at once
 * (fs_reloaded); an entry held back is kept by the kernel for its timeout
 * (a second) at most, then asked for again.  A lookup answered from the
 * library of before a reload, racing it, keeps that answer as long, as
 * any lookup does.  The entries still held back when the session ends
 * are freed unnotified (fs_held_entries_free).
 */

/* The entries of a directory held back; none for the rest of a reload
 * after a lookup there did not wait. */
struct held_dir {
	fuse_ino_t dir;
	char **names;
	size_t n;
	struct held_dir *next;
};

bool
fs_lookup_in(struct fs *fs, fuse_ino_t dir)
{
	for (const struct pending *p = fs->park.list; p != NULL;
	    p = p->next) {
		if (p->kind == P_LOOKUP && p->parent == dir)
			return true;
	}
	for (const struct lookup_mark *m = fs->park.marks; m != NULL;
	    m = m->next) {
		if (m->dir == dir)
			return true;
	}
	return false;
}

bool
fs_lookup_begin(struct fs *fs, struct lookup_mark *m, fuse_ino_t dir)
{
	bool begun;

	pthread_mutex_lock(&fs->park.lock);
	if ((begun = dir != fs->park.inval_dir)) {
		m->dir = dir;
		m->next = fs->park.marks;
		fs->park.marks = m;
	} else
		fs->park.inval_refused = true;
	pthread_mutex_unlock(&fs->park.lock);
	return begun;
}

void
fs_lookup_end(struct fs *fs, struct lookup_mark *m)
{
	struct lookup_mark **mp;

	pthread_mutex_lock(&fs->park.lock);
	for (mp = &fs->park.marks; *mp != m; mp = &(*mp)->next)
		;
	*mp = m->next;
	pthread_mutex_unlock(&fs->park.lock);
}

/* The entries held back of directory `dir`, NULL when none and not
 * `add`; park.lock held. */
static struct held_dir *
held_dir(struct fs *fs, fuse_ino_t dir, bool add)
{
	struct held_dir *h;

	for (h = fs->park.held; h != NULL && h->dir != dir; h = h->next)
		;
	if (h == NULL && add) {
		h = xcalloc(1, sizeof *h);
		h->dir = dir;
		h->next = fs->park.held;
		fs->park.held = h;
	}
	return h;
}

/* Invalidate entry `name` of directory `dir`, marked as park.inval_dir by the
 * caller: false when a lookup there did not wait meanwhile (its other
 * entries are then held back). */
static bool
inval_marked(struct fs *fs, fuse_ino_t dir, const char *name)
{
	bool refused;

	/* once the session has ended the kernel has forgotten them all */
	if (fs->se != NULL && !fuse_session_exited(fs->se))
		fuse_lowlevel_notify_inval_entry(fs->se, dir, name,
		    strlen(name));
	pthread_mutex_lock(&fs->park.lock);
	if ((refused = fs->park.inval_refused))
		held_dir(fs, dir, true);
	fs->park.inval_dir = 0;
	fs->park.inval_refused = false;
	pthread_mutex_unlock(&fs->park.lock);
	return !refused;
}

/* Make the kernel forget the entries of v (a reload's inodes_snapshot):
 * at once, or, in a directory where a lookup waits for its part, held
 * back until none does.  Never waits for a part. */
static void
inval_entries(struct fs *fs, const struct inode_ref *v, size_t n)
{
	struct held_dir *h;

	/* the entries held back by an earlier reload stay held back (v has
	 * only what this one changed) */
	pthread_mutex_lock(&fs->park.lock);
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		if (v[i].parent == 0)
			continue;
		if ((h = held_dir(fs, v[i].parent, false)) == NULL &&
		    !fs_lookup_in(fs, v[i].parent)) {
			fs->park.inval_dir = v[i].parent;
			pthread_mutex_unlock(&fs->park.lock);
			inval_marked(fs, v[i].parent, v[i].name);
			pthread_mutex_lock(&fs->park.lock);
			continue;
		}
		if (h == NULL)
			h = held_dir(fs, v[i].parent, true);
		for (size_t j = 0; j < h->n && !dup; j++)
			dup = strcmp(h->names[j], v[i].name) == 0;
		if (dup)
			continue;
		h->names = xreallocarray(h->names, h->n + 1,
		    sizeof *h->names);
		h->names[h->n++] = xstrdup(v[i].name);
	}
	pthread_mutex_unlock(&fs->park.lock);
}

bool
fs_release_entries(void *arg)
{
	struct fs *fs = arg;
	struct held_dir **hp, *h;
	bool left;

	pthread_mutex_lock(&fs->park.lock);
	for (hp = &fs->park.held; (h = *hp) != NULL;) {
		bool quiet = !fs_lookup_in(fs, h->dir);
		/* only this thread adds and takes away held entries */
		while (quiet && h->n > 0) {
			char *name = h->names[--h->n];
			fs->park.inval_dir = h->dir;
			pthread_mutex_unlock(&fs->park.lock);
			quiet = inval_marked(fs, h->dir, name);
			free(name);
			pthread_mutex_lock(&fs->park.lock);
			quiet = quiet && !fs_lookup_in(fs, h->dir);
		}
		if (!quiet) {
			hp = &h->next;
			continue;
		}
		*hp = h->next;
		free(h->names);
		free(h);
	}
	left = fs->park.held != NULL;
	pthread_mutex_unlock(&fs->park.lock);
	return left;
}

void
fs_held_entries_free(struct fs *fs)
{
	struct held_dir *h;

	pthread_mutex_lock(&fs->park.lock);
	while ((h = fs->park.held) != NULL) {
		fs->park.held = h->next;
		for (size_t i = 0; i < h->n; i++)
			free(h->names[i]);
		free(h->names);
		free(h);
	}
	pthread_mutex_unlock(&fs->park.lock);
}

/* The ids of the collections a reload changed, sorted (strcmp). */
struct changed {
	const char **ids;
	size_t n;
};

/* The collections of `from` that are not the same objects in `to`:
 * read again, or not in `to` at all. */
static void
changed_add(struct changed *c, const struct library *from,
    const struct library *to)
{
	for (size_t i = 0; i < from->ncolls; i++) {
		const struct collection *o = from->colls[i];
		if (library_collection(to, o->id) == o)
			continue;
		c->ids = xreallocarray(c->ids, c->n + 1, sizeof *c->ids);
		c->ids[c->n++] = o->id;
	}
}

/* Whether the kernel may hold something stale of `path`: the first
 * name of it (less .json: a collection's description) is a collection
 * that changed, or no collection's id at all (by-standard, by-name, the
 * status directory: no id holds a dash or a dot). */
static bool
changed_path(const char *path, void *arg)
{
	const struct changed *c = arg;
	size_t len = strcspn(path, "/");
	char id[256];
	const char *key = id;

	if (path[len] == '\0' && len > 5 &&
	    strcmp(path + len - 5, ".json") == 0)
		len -= 5;
	if (len >= sizeof id)
		return true;
	memcpy(id, path, len);
	id[len] = '\0';
	if (!id_valid(id))
		return true;
	/* none changed (an edit with errors): ids is NULL */
	return c->n > 0 &&
	    bsearch(&key, c->ids, c->n, sizeof *c->ids, str_ptr_cmp) != NULL;
}

/* Make the kernel forget the names and attributes it holds of what the
 * reload from `before` to `after` changed: lookups and reads go through
 * the new snapshot.  The names of a directory where a lookup waits for its
 * part go once none does (inval_entries): the kernel would hold the
 * whole directory until then. */
void
fs_reloaded(void *arg, const struct library *before,
    const struct library *after)
{
	struct fs *fs = arg;
	struct changed c = { NULL, 0 };
	struct inode_ref *v;
	size_t n;

	changed_add(&c, before, after);
	changed_add(&c, after, before);
	if (c.n > 1)
		qsort(c.ids, c.n, sizeof *c.ids, str_ptr_cmp);
	/* a part open keeps its inode, the path gets another */
	fs_retire_open_parts(fs, changed_path, &c);
	n = inodes_snapshot(fs->inodes, changed_path, &c, &v);
	inval_entries(fs, v, n);
	for (size_t i = 0; i < n; i++) {
		fuse_lowlevel_notify_inval_inode(fs->se, v[i].ino, 0, 0);
		free(v[i].name);
	}
	fuse_lowlevel_notify_inval_inode(fs->se, FUSE_ROOT_ID, 0, 0);
	free(v);
	free(c.ids);
	fs_open_sizes(fs);
}
