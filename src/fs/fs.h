/* fs.h -- the partsfs daemon: the FUSE front end over the core.  Kernel
 * requests are mapped onto the core's tree, parts and jobs; nothing here
 * knows about BOLTS. */
#ifndef PARTSFS_FS_H
#define PARTSFS_FS_H

#define FUSE_USE_VERSION 314

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fuse-init.h"
#include "partsfs/core/core.h"
#include "partsfs/tree/path.h"
#include "partsfs/util/util.h"

/* The status directory at the root. */
#define STATUS_DIR ".partsfs"

/* The inode table: every inode the kernel holds a reference to, by
 * canonical tree path.  Inode numbers are a hash of the path, so a plain
 * readdir can give the same numbers without adding entries. */
struct inode;
struct inodes;

struct inodes *inodes_new(void);
void inodes_free(struct inodes *t);
/* A part's cache key remembered in its inode for one library snapshot
 * (generation) and at most two seconds: listings and opens then skip
 * planning the part again.  true with the key when it is still good. */
bool inodes_get_key(struct inodes *t, fuse_ino_t ino, uint64_t generation,
    struct cache_key *key);
void inodes_set_key(struct inodes *t, fuse_ino_t ino, uint64_t generation,
    const struct cache_key *key);
/* true at most once a minute per inode: time to mark its part used in the
 * cache's LRU order. */
bool inodes_touch_due(struct inodes *t, fuse_ino_t ino);
/*
 * The sizes the kernel was told.  A part not made yet is reported with
 * size 0.  The kernel applies answers about an inode in the order they
 * arrive and drops the answers to requests sent before the last one it
 * applied: an answer "size 0" worked out just before the part was made can
 * arrive after a reader's open, and make the kernel drop that reader's own
 * fresh answer, so that its read ends at 0 bytes.  The daemon therefore
 * gives the kernel the made part's size itself (a store of its last page,
 * which also makes the kernel drop every older answer): when a job of
 * ours made it (inodes_made: the inode of that path, if the kernel has
 * it), and at an open when a report said "not made" since the size was
 * last given (inodes_stale_size: a part made by another process).  Every
 * report of a part's attributes is bracketed by report_begin and
 * report_end, `missing` when it said "not made".
 */
uint64_t inodes_report_begin(struct inodes *t, fuse_ino_t ino);
void inodes_report_end(struct inodes *t, fuse_ino_t ino, uint64_t seq,
    bool missing);
bool inodes_stale_size(struct inodes *t, fuse_ino_t ino);
fuse_ino_t inodes_made(struct inodes *t, const char *path);
/*
 * The content of a part is the same for a key, up to what engines stamp
 * into it (FreeCAD's STEP header has the time): a part evicted and made
 * again is another file, maybe of another size, and pages the kernel kept
 * from the first must not mix with the second.  true when the cache file
 * `blob` (its stat) differs from the one last given for inode ino (which is
 * then forgotten for this one): its pages and attributes must go.
 */
bool inodes_content_changed(struct inodes *t, fuse_ino_t ino,
    const struct stat *blob);
/* The inode number of `path`, adding the inode or counting one more
 * lookup of it. */
fuse_ino_t inodes_lookup(struct inodes *t, const char *path);
/* Whether the kernel has an inode for `path` that was given a cache
 * file's content (inodes_content_changed): it may hold its pages. */
bool inodes_given(struct inodes *t, const char *path);
/* The inode number `path` would have. */
fuse_ino_t inodes_number(const char *path);
/* The inode number of `path` without counting a lookup (for readdir):
 * that of its inode if the kernel has one (another number after a
 * collision, or after inodes_retire), else inodes_number. */
fuse_ino_t inodes_peek(struct inodes *t, const char *path);
/* The path of inode `ino` (caller frees), or NULL when unknown. */
char *inodes_path(struct inodes *t, fuse_ino_t ino);
/* The kernel forgets `n` lookups. */
void inodes_forget(struct inodes *t, fuse_ino_t ino, uint64_t n);
/*
 * Give inode ino's path another inode at its next lookup, ino keeping its
 * path for the files open on it: after a live reload, the attributes of
 * an open part (an fstat, which comes without the open file) are those
 * of the part it reads, and the path's those of what it is now.
 */
void inodes_retire(struct inodes *t, fuse_ino_t ino);
bool inodes_retired(struct inodes *t, fuse_ino_t ino);
/* Every inode but the root, as (inode, parent inode, name) for
 * invalidation; caller frees each name and the array. */
struct inode_ref {
	fuse_ino_t ino;
	fuse_ino_t parent;
	char *name;
};
size_t inodes_snapshot(struct inodes *t, struct inode_ref **out);
size_t inodes_count(struct inodes *t);

/* A node of the mount: a node of the core's tree, or one of the status
 * files. */
enum status_file {
	ST_NONE,
	ST_DIR,
	ST_JOBS,
	ST_STATS,
	ST_ERRORS,
	ST_VERSION,
};

struct fnode {
	enum status_file status;
	struct pnode pn;           /* when status == ST_NONE */
};

struct watch;

struct fs {
	struct core *core;
	struct fuse_session *se;
	struct inodes *inodes;
	uid_t uid;
	gid_t gid;
	bool exact_size;
	double timeout;            /* entry and attribute timeout, seconds */
	time_t started;
	/* when the library served first began loading (the coarse
	 * clock of file times): files changed since are loaded again */
	struct timespec loaded;
	char *config_file;
	struct watch *watch;
	/* what live reloads reported, for /.partsfs/errors */
	pthread_mutex_t lock;
	struct buf library_errors;
	/* per directory: when a part in it was last opened, to see a
	 * program reading the directory's parts (cp -r) */
	struct seq {
		char *dir;
		char *name;         /* the part last opened in it */
		uint64_t last;      /* now_ns() of that open */
	} seq[16];
	size_t seqpos;
	atomic_uint_fast64_t opens;
	atomic_uint_fast64_t interrupted;
	/* the kernel's INIT and our answer (compat/fuse-init.c) */
	struct fuse_init_fix init_fix;
};

extern const struct fuse_lowlevel_ops fs_ops;

/* Resolve a canonical path (of an inode) in the current library. */
int fs_resolve(struct fs *fs, const struct library *lib, const char *path,
    struct fnode *out, struct perr *e);
void fnode_clear(struct fnode *n);

/* The content of a status file (caller frees). */
char *status_text(struct fs *fs, enum status_file f);

/* Live reload: watch the library and swap in a new snapshot when it
 * changes, keeping the last good version of a broken collection. */
struct watch *watch_start(struct fs *fs, struct perr *e);
void watch_stop(struct watch *w);
/* Record a library problem for /.partsfs/errors and the log. */
void fs_library_error(struct fs *fs, const char *msg);
/* Free the open files and directories the kernel never released (the
 * session has ended). */
void fs_handles_free(struct fs *fs);
/* Stop watching the readers of declined interrupts (the session has
 * ended). */
void fs_interrupts_stop(void);
/* Give the kernel the sizes of the parts open again, after a reload's
 * invalidation (see ops.c). */
void fs_open_sizes(struct fs *fs);
/* Before a reload's invalidation: the paths of the parts open get new
 * inodes at their next lookups (inodes_retire). */
void fs_retire_open_parts(struct fs *fs);
/* Make the kernel forget the entries of v (a reload's inodes_snapshot):
 * at once, or, in a directory where a lookup waits for its part, held
 * back until none does (see ops.c).  Never waits for a part.  The watch
 * thread's, as the two below. */
void fs_inval_entries(struct fs *fs, const struct inode_ref *v, size_t n);
/* Invalidate the entries held back in the directories where no lookup
 * waits any more: whether some are still held back. */
bool fs_release_entries(struct fs *fs);
/* Free the entries still held back (the session has ended). */
void fs_held_entries_free(void);
/* The jobs' hook: a part was made (jobs_on_made). */
void fs_part_made(void *arg, const char *path,
    const struct cache_entry *entry);

#endif
