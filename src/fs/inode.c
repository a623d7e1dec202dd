/* inode.c -- the inode table of the mount: the inodes the kernel knows,
 * their canonical paths, the nodes those resolved to, and lookup counts;
 * numbers are a hash of the path so that listings and lookups agree
 * without extra entries. */
#include "config.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

struct inode {
	fuse_ino_t ino;
	char *path;
	uint64_t hash;              /* fnv(path), for by_path */
	uint64_t nlookup;
	/* the node its path resolved to in snapshot node_gen (packed) */
	unsigned char *node;
	size_t nodelen;
	uint64_t node_gen;
	/* the part's cache key, for one snapshot, since `keyed` */
	uint64_t generation;
	uint64_t keyed;
	struct cache_key key;
	uint64_t touched;           /* when its part was last marked used */
	/* the length of its description's text in snapshot text_gen */
	uint64_t text_gen;
	size_t text_len;
	/* attribute reports: begun, the last that said "not made", the
	 * last covered by an invalidation, and those under way */
	uint64_t reports;
	uint64_t missing_seq;
	uint64_t covered_seq;
	/* the cache file the kernel's pages may come from (given: known) */
	bool given;
	dev_t blob_dev;
	ino_t blob_ino;
	off_t blob_size;
	struct timespec blob_mtime;
	/* its path has another inode since (inodes_retire): not in by_path */
	bool retired;
	struct inode *next_ino;
	struct inode *next_path;
};

/* The tables' smallest size, and how many inodes must have gone (and
 * half of the most held since) before freed memory is handed back to the
 * system; and once the table is all but empty, again after TRIM_LAST: so
 * that after a find over a million names, once the kernel forgets them,
 * the daemon's memory returns to where it was. */
#define MIN_BUCKETS 4096
#define TRIM_MIN 4096
#define TRIM_LAST 1024

struct inodes {
	pthread_mutex_t lock;
	struct inode **by_ino;
	struct inode **by_path;
	size_t nbuckets;
	size_t count;
	/* the most inodes held since the heap was last trimmed */
	size_t peak;
	/* inodes retired: none in the common case, which a getattr then
	 * learns without the lock */
	atomic_size_t nretired;
};

/* A well-spread number for a path (util's FNV-1a); collisions (checked)
 * move on to the next free number. */
static uint64_t
fnv(const char *s)
{
	return str_hash(s, strlen(s));
}

fuse_ino_t
inodes_number(const char *path)
{
	uint64_t h;

	if (path[0] == '\0')
		return FUSE_ROOT_ID;
	/* not 0, not the root; 63 bits keep it positive for 64-bit ino_t */
	h = fnv(path) & 0x7fffffffffffffffull;
	return h < 16 ? h + 16 : h;
}

struct inodes *
inodes_new(void)
{
	struct inodes *t = xcalloc(1, sizeof *t);

	pthread_mutex_init(&t->lock, NULL);
	atomic_init(&t->nretired, 0);
	t->nbuckets = MIN_BUCKETS;
	t->by_ino = xcalloc(t->nbuckets, sizeof *t->by_ino);
	t->by_path = xcalloc(t->nbuckets, sizeof *t->by_path);
	return t;
}

void
inodes_free(struct inodes *t)
{
	if (t == NULL)
		return;
	for (size_t b = 0; b < t->nbuckets; b++) {
		struct inode *i, *next;
		for (i = t->by_ino[b]; i != NULL; i = next) {
			next = i->next_ino;
			free(i->node);
			free(i->path);
			free(i);
		}
	}
	free(t->by_ino);
	free(t->by_path);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static struct inode *
find_ino(struct inodes *t, fuse_ino_t ino)
{
	struct inode *i = t->by_ino[ino % t->nbuckets];

	while (i != NULL && i->ino != ino)
		i = i->next_ino;
	return i;
}

static struct inode *
find_hashed(struct inodes *t, const char *path, uint64_t hash)
{
	struct inode *i = t->by_path[hash % t->nbuckets];

	while (i != NULL && (i->hash != hash || strcmp(i->path, path) != 0))
		i = i->next_path;
	return i;
}

static struct inode *
find_path(struct inodes *t, const char *path)
{
	return find_hashed(t, path, fnv(path));
}

/* Size the tables for n buckets: grown by 4 when they fill up, so chains
 * stay short, and shrunk by 4 when they are a sixteenth full. */
static void
rehash(struct inodes *t, size_t n)
{
	struct inode **by_ino = xcalloc(n, sizeof *by_ino);
	struct inode **by_path = xcalloc(n, sizeof *by_path);

	for (size_t b = 0; b < t->nbuckets; b++) {
		struct inode *i, *next;
		for (i = t->by_ino[b]; i != NULL; i = next) {
			size_t pb = i->hash % n;
			next = i->next_ino;
			i->next_ino = by_ino[i->ino % n];
			by_ino[i->ino % n] = i;
			if (!i->retired) {
				i->next_path = by_path[pb];
				by_path[pb] = i;
			}
		}
	}
	free(t->by_ino);
	free(t->by_path);
	t->by_ino = by_ino;
	t->by_path = by_path;
	t->nbuckets = n;
}

static void
unlink_path(struct inodes *t, struct inode *i)
{
	struct inode **pp;

	for (pp = &t->by_path[i->hash % t->nbuckets]; *pp != i;
	    pp = &(*pp)->next_path)
		;
	*pp = i->next_path;
}

void
inodes_retire(struct inodes *t, fuse_ino_t ino)
{
	struct inode *i;

	if (ino == FUSE_ROOT_ID)
		return;
	pthread_mutex_lock(&t->lock);
	if ((i = find_ino(t, ino)) != NULL && !i->retired) {
		unlink_path(t, i);
		i->retired = true;
		atomic_fetch_add(&t->nretired, 1);
	}
	pthread_mutex_unlock(&t->lock);
}

bool
inodes_retired(struct inodes *t, fuse_ino_t ino)
{
	struct inode *i;
	bool r;

	if (atomic_load(&t->nretired) == 0)
		return false;
	pthread_mutex_lock(&t->lock);
	r = (i = find_ino(t, ino)) != NULL && i->retired;
	pthread_mutex_unlock(&t->lock);
	return r;
}

/* Keep node n of snapshot `generation` in inode i; lock held. */
static void
keep_node(struct inode *i, const struct fnode *n, uint64_t generation)
{
	struct buf b = BUF_INIT;

	buf_addc(&b, (char)n->status);
	if (n->status == ST_NONE)
		pnode_pack(&n->pn, &b);
	free(i->node);
	i->nodelen = b.len;
	i->node = (unsigned char *)buf_steal(&b);
	i->node_gen = generation;
}

fuse_ino_t
inodes_lookup(struct inodes *t, const char *path, const struct fnode *n,
    uint64_t generation)
{
	uint64_t hash = fnv(path);
	struct inode *i;
	fuse_ino_t ino;

	pthread_mutex_lock(&t->lock);
	if ((i = find_hashed(t, path, hash)) != NULL) {
		i->nlookup++;
		ino = i->ino;
		if (n != NULL && i->node_gen != generation)
			keep_node(i, n, generation);
		pthread_mutex_unlock(&t->lock);
		return ino;
	}
	/* inodes_number, from the hash at hand */
	ino = path[0] == '\0' ? FUSE_ROOT_ID : hash & 0x7fffffffffffffffull;
	if (ino < 16)
		ino += 16;
	while (find_ino(t, ino) != NULL)
		ino = ino + 1 < 16 ? 16 : ino + 1;
	if (t->count >= t->nbuckets)
		rehash(t, t->nbuckets * 4);
	i = xcalloc(1, sizeof *i);
	i->ino = ino;
	i->path = xstrdup(path);
	i->hash = hash;
	i->nlookup = 1;
	if (n != NULL)
		keep_node(i, n, generation);
	i->next_ino = t->by_ino[ino % t->nbuckets];
	t->by_ino[ino % t->nbuckets] = i;
	i->next_path = t->by_path[hash % t->nbuckets];
	t->by_path[hash % t->nbuckets] = i;
	if (++t->count > t->peak)
		t->peak = t->count;
	pthread_mutex_unlock(&t->lock);
	return ino;
}

bool
inodes_node(struct inodes *t, fuse_ino_t ino, uint64_t generation,
    struct fnode *out, char **path)
{
	struct inode *i;
	bool kept = false;

	if (ino == FUSE_ROOT_ID) {
		memset(out, 0, sizeof *out);
		out->status = ST_NONE;
		pnode_root(&out->pn);
		if (path != NULL)
			*path = xstrdup("");
		return true;
	}
	pthread_mutex_lock(&t->lock);
	if ((i = find_ino(t, ino)) != NULL && i->node != NULL &&
	    i->node_gen == generation) {
		memset(out, 0, sizeof *out);
		out->status = (enum status_file)i->node[0];
		if (out->status == ST_NONE)
			pnode_unpack(i->node + 1, i->nodelen - 1, &out->pn);
		kept = true;
	}
	if (path != NULL)
		*path = i != NULL ? xstrdup(i->path) : NULL;
	pthread_mutex_unlock(&t->lock);
	return kept;
}

void
inodes_set_node(struct inodes *t, fuse_ino_t ino, uint64_t generation,
    const struct fnode *n)
{
	struct inode *i;

	pthread_mutex_lock(&t->lock);
	if ((i = find_ino(t, ino)) != NULL)
		keep_node(i, n, generation);
	pthread_mutex_unlock(&t->lock);
}

bool
inodes_given(struct inodes *t, const char *path)
{
	struct inode *i;
	bool given;

	pthread_mutex_lock(&t->lock);
	given = (i = find_path(t, path)) != NULL && i->given;
	pthread_mutex_unlock(&t->lock);
	return given;
}

fuse_ino_t
inodes_peek(struct inodes *t, const char *path)
{
	struct inode *i;
	fuse_ino_t ino;

	pthread_mutex_lock(&t->lock);
	ino = (i = find_path(t, path)) != NULL ? i->ino : inodes_number(path);
	pthread_mutex_unlock(&t->lock);
	return ino;
}

char *
inodes_path(struct inodes *t, fuse_ino_t ino)
{
	struct inode *i;
	char *p = NULL;

	if (ino == FUSE_ROOT_ID)
		return xstrdup("");
	pthread_mutex_lock(&t->lock);
	if ((i = find_ino(t, ino)) != NULL)
		p = xstrdup(i->path);
	pthread_mutex_unlock(&t->lock);
	return p;
}

void
inodes_forget(struct inodes *t, fuse_ino_t ino, uint64_t n)
{
	struct inode **pp, *i;
	bool trim = false;

	if (ino == FUSE_ROOT_ID)
		return;
	pthread_mutex_lock(&t->lock);
	if ((i = find_ino(t, ino)) == NULL) {
		pthread_mutex_unlock(&t->lock);
		return;
	}
	i->nlookup = i->nlookup > n ? i->nlookup - n : 0;
	if (i->nlookup == 0) {
		for (pp = &t->by_ino[ino % t->nbuckets]; *pp != i;
		    pp = &(*pp)->next_ino)
			;
		*pp = i->next_ino;
		if (!i->retired)
			unlink_path(t, i);
		else
			atomic_fetch_sub(&t->nretired, 1);
		t->count--;
		free(i->node);
		free(i->path);
		free(i);
		if (t->nbuckets > MIN_BUCKETS && t->count < t->nbuckets / 16)
			rehash(t, t->nbuckets / 4);
		if ((t->peak - t->count >= TRIM_MIN &&
		    t->count <= t->peak / 2) ||
		    (t->count <= 16 && t->peak - t->count >= TRIM_LAST)) {
			t->peak = t->count;
			trim = true;
		}
	}
	pthread_mutex_unlock(&t->lock);
	/* what the inodes held is in free chunks all over the heap and the
	 * threads' arenas: give their pages back (FORGET has no reply to
	 * hold up) */
	if (trim)
		malloc_trim(0);
}

size_t
inodes_snapshot(struct inodes *t, bool (*want)(const char *path, void *arg),
    void *arg, struct inode_ref **out)
{
	struct inode_ref *v;
	size_t n = 0;

	pthread_mutex_lock(&t->lock);
	v = xcalloc(t->count + 1, sizeof *v);
	for (size_t b = 0; b < t->nbuckets; b++) {
		for (struct inode *i = t->by_ino[b]; i != NULL;
		    i = i->next_ino) {
			const char *slash = strrchr(i->path, '/');
			struct inode *parent;
			if (want != NULL && !want(i->path, arg))
				continue;
			v[n].ino = i->ino;
			if (slash == NULL) {
				v[n].parent = FUSE_ROOT_ID;
				v[n].name = xstrdup(i->path);
			} else {
				char *dir = xstrndup(i->path,
				    (size_t)(slash - i->path));
				parent = find_path(t, dir);
				v[n].parent = parent != NULL ? parent->ino : 0;
				v[n].name = xstrdup(slash + 1);
				free(dir);
			}
			n++;
		}
	}
	pthread_mutex_unlock(&t->lock);
	*out = v;
	return n;
}

/* How long a remembered key is trusted: an engine upgraded, or a prelude
 * outside the library edited, shows within this time and the second the
 * key's planning may have trusted what it saw (plan_key_recent). */
#define KEY_TTL_NS (2ull * 1000000000ull)

bool
inodes_get_key(struct inodes *t, fuse_ino_t ino, uint64_t generation,
    struct cache_key *key)
{
	struct inode *i;
	bool ok = false;

	pthread_mutex_lock(&t->lock);
	if ((i = find_ino(t, ino)) != NULL && i->keyed != 0 &&
	    i->generation == generation && now_ns() - i->keyed < KEY_TTL_NS) {
		*key = i->key;
		ok = true;
	}
	pthread_mutex_unlock(&t->lock);
	return ok;
}

void
inodes_set_key(struct inodes *t, fuse_ino_t ino, uint64_t generation,
    const struct cache_key *key)
{
	struct inode *i;

	pthread_mutex_lock(&t->lock);
	if ((i = find_ino(t, ino)) != NULL) {
		i->generation = generation;
		i->keyed = now_ns();
		i->key = *key;
	}
	pthread_mutex_unlock(&t->lock);
}

bool
inodes_get_text_len(struct inodes *t, fuse_ino_t ino, uint64_t generation,
    size_t *len)
{
	struct inode *i;
	bool ok = false;

	pthread_mutex_lock(&t->lock);
	if ((i = find_ino(t, ino)) != NULL && i->text_gen == generation &&
	    generation != 0) {
		*len = i->text_len;
		ok = true;
	}
	pthread_mutex_unlock(&t->lock);
	return ok;
}

void
inodes_set_text_len(struct inodes *t, fuse_ino_t ino, uint64_t generation,
    size_t len)
{
	struct inode *i;

	pthread_mutex_lock(&t->lock);
	if ((i = find_ino(t, ino)) != NULL) {
		i->text_gen = generation;
		i->text_len = len;
	}
	pthread_mutex_unlock(&t->lock);
}

bool
inodes_touch_due(struct inodes *t, fuse_ino_t ino)
{
	uint64_t now = now_ns();
	struct inode *i;
	bool due = false;

	pthread_mutex_lock(&t->lock);
	if ((i = find_ino(t, ino)) != NULL &&
	    (i->touched == 0 || now - i->touched > 60000000000ull)) {
		i->touched = now;
		due = true;
	}
	pthread_mutex_unlock(&t->lock);
	return due;
}

uint64_t
inodes_report_begin(struct inodes *t, fuse_ino_t ino)
{
	struct inode *i;
	uint64_t seq = 0;

	pthread_mutex_lock(&t->lock);
	if ((i = find_ino(t, ino)) != NULL)
		seq = ++i->reports;
	pthread_mutex_unlock(&t->lock);
	return seq;
}

void
inodes_report_end(struct inodes *t, fuse_ino_t ino, uint64_t seq,
    bool missing)
{
	struct inode *i;

	if (seq == 0 || !missing)
		return;
	pthread_mutex_lock(&t->lock);
	if ((i = find_ino(t, ino)) != NULL && seq > i->missing_seq)
		i->missing_seq = seq;
	pthread_mutex_unlock(&t->lock);
}

/* Every report begun so far is covered by a size the kernel was given. */
static void
cover(struct inode *i)
{
	i->covered_seq = i->reports;
}

bool
inodes_stale_size(struct inodes *t, fuse_ino_t ino)
{
	struct inode *i;
	bool stale = false;

	pthread_mutex_lock(&t->lock);
	if ((i = find_ino(t, ino)) != NULL && i->missing_seq > i->covered_seq) {
		stale = true;
		cover(i);
	}
	pthread_mutex_unlock(&t->lock);
	return stale;
}

bool
inodes_content_changed(struct inodes *t, fuse_ino_t ino,
    const struct stat *blob)
{
	struct inode *i;
	bool changed = false;

	pthread_mutex_lock(&t->lock);
	if ((i = find_ino(t, ino)) != NULL) {
		/* a file made again may have the number of the one removed
		 * before it: its time and size tell them apart */
		changed = i->given && (i->blob_dev != blob->st_dev ||
		    i->blob_ino != blob->st_ino ||
		    i->blob_size != blob->st_size ||
		    i->blob_mtime.tv_sec != blob->st_mtim.tv_sec ||
		    i->blob_mtime.tv_nsec != blob->st_mtim.tv_nsec);
		i->given = true;
		i->blob_dev = blob->st_dev;
		i->blob_ino = blob->st_ino;
		i->blob_size = blob->st_size;
		i->blob_mtime = blob->st_mtim;
	}
	pthread_mutex_unlock(&t->lock);
	return changed;
}

fuse_ino_t
inodes_made(struct inodes *t, const char *path, uint64_t *upto)
{
	struct inode *i;
	fuse_ino_t ino = 0;

	*upto = 0;
	pthread_mutex_lock(&t->lock);
	if ((i = find_path(t, path)) != NULL) {
		ino = i->ino;
		*upto = i->reports;
	}
	pthread_mutex_unlock(&t->lock);
	return ino;
}

void
inodes_cover(struct inodes *t, fuse_ino_t ino, uint64_t upto)
{
	struct inode *i;

	pthread_mutex_lock(&t->lock);
	if ((i = find_ino(t, ino)) != NULL && upto > i->covered_seq)
		i->covered_seq = upto;
	pthread_mutex_unlock(&t->lock);
}

size_t
inodes_count(struct inodes *t)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}
