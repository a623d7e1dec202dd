/* fs.h -- the partsfs daemon: the FUSE front end over the core.  Kernel
 * requests are mapped onto the core's tree and its fetches of parts;
 * nothing here knows about BOLTS.  One internal header for the files of
 * the front end, a section each. */
#ifndef PARTSFS_FS_H
#define PARTSFS_FS_H

#define FUSE_USE_VERSION 314

#include <fuse_lowlevel.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fuse-init.h"
#include "partsfs/core/core.h"
#include "partsfs/core/fetch.h"
#include "partsfs/core/reload.h"
#include "partsfs/remote/client.h"
#include "partsfs/tree/path.h"
#include "partsfs/util/util.h"

/* The status directory at the root. */
#define STATUS_DIR ".partsfs"

struct inodes;
struct pending;
struct held_dir;
struct lookup_mark;
struct open_link;

/*
 * Parked requests (park.c): an open (or, with exact_size, a lookup)
 * waiting for its part, and the entry-invalidation protocol of reloads
 * (inval.c), which looks at them: one lock for both.
 */
struct parking {
	pthread_mutex_t lock;
	struct pending *list;
	uint64_t next_id;
	/* inval.c */
	struct held_dir *held;
	struct lookup_mark *marks;
	fuse_ino_t inval_dir;      /* whose entry is being invalidated */
	bool inval_refused;        /* a lookup there did not wait */
};

/* The thread watching the readers of declined interrupts (park.c). */
struct interrupts {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool running, stopping;
	bool poked;                /* an interrupt was declined since */
};

/* Open files and directories the kernel has not released (handle.c). */
struct handles {
	pthread_mutex_t lock;
	struct open_link *files, *dirs;
};

/* Per directory: when a part in it was last opened, and who last listed
 * it to its end, to see a program reading the directory's parts
 * (prefetch.c). */
struct reading {
	char *dir;
	char *name;                /* the part last opened in it */
	uint64_t last;             /* now_ns() of that open */
	pid_t lister;              /* the thread that last listed it */
	uint64_t listed;           /* now_ns() of that listing's end */
};

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
	struct reload *reload;
	struct parking park;
	struct interrupts intr;
	struct handles handles;
	pthread_mutex_t lock;      /* reading[] */
	struct reading reading[16];
	size_t readpos;
	atomic_uint_fast64_t opens;
	atomic_uint_fast64_t interrupted;
	/* the kernel's INIT and our answer (compat/fuse-init.c) */
	struct fuse_init_fix init_fix;
};

/* ops.c: the operations, and read-only answers to every change. */
extern const struct fuse_lowlevel_ops fs_ops;
/* What the session asks of the kernel at INIT (splice, parallel
 * directory operations, READDIRPLUS unless exact_size). */
void fs_init_conn(struct fs *fs, struct fuse_conn_info *conn);
/* Answer a statfs: the cache's size limit and use as the file system's
 * blocks, the inodes the kernel holds as its files, read-only. */
void fs_reply_statfs(fuse_req_t req, struct cache *cache,
    struct inodes *inodes);
void fs_init(struct fs *fs);
void fs_free(struct fs *fs);

/* inode.c: the inode table.  Every inode the kernel holds a reference to,
 * by canonical tree path.  Inode numbers are a hash of the path, so a
 * plain readdir can give the same numbers without adding entries. */
struct inodes *inodes_new(void);
void inodes_free(struct inodes *t);
/* A part's cache key remembered in its inode for one library snapshot
 * (generation) and at most two seconds: listings and opens then skip
 * planning the part again.  true with the key when it is still good. */
bool inodes_get_key(struct inodes *t, fuse_ino_t ino, uint64_t generation,
    struct cache_key *key);
void inodes_set_key(struct inodes *t, fuse_ino_t ino, uint64_t generation,
    const struct cache_key *key);
/* The length of the JSON description of inode ino in snapshot
 * `generation`, remembered so that listings and stats do not make its
 * text again (it is the same for the whole snapshot). */
bool inodes_get_text_len(struct inodes *t, fuse_ino_t ino,
    uint64_t generation, size_t *len);
void inodes_set_text_len(struct inodes *t, fuse_ino_t ino,
    uint64_t generation, size_t len);
/* true at most once a minute per inode: time to mark its part used in the
 * cache's LRU order. */
bool inodes_touch_due(struct inodes *t, fuse_ino_t ino);
/*
 * The sizes the kernel was told.  A part not made yet is reported with
 * size 0.  The kernel applies answers about an inode in the order they
 * arrive and drops the answers to requests sent before the last one it
 * applied: an answer "size 0" worked out just before the part was made can
 * arrive after a reader's open, and make the kernel drop that reader's own
 * fresh answer, so that its read ends at 0 bytes.  And the kernel keeps
 * the placeholder as long as any attribute (the mount's timeout): a read
 * would end there too.  The daemon therefore gives the kernel the made
 * part's size itself (a store of its last page, which also makes the
 * kernel drop every older answer): when a job of ours made it, from the
 * job's thread (inodes_made: the inode of that path and the reports
 * begun so far, which inodes_cover marks answered once the store reached
 * the kernel), and at an open when a report said "not made" since the
 * size was last given (inodes_stale_size: a part made by another
 * process, or a store that found no inode in the kernel because the
 * answer creating it was still on its way).  Every report of a part's
 * attributes is bracketed by report_begin and report_end, `missing` when
 * it said "not made".
 */
uint64_t inodes_report_begin(struct inodes *t, fuse_ino_t ino);
void inodes_report_end(struct inodes *t, fuse_ino_t ino, uint64_t seq,
    bool missing);
bool inodes_stale_size(struct inodes *t, fuse_ino_t ino);
fuse_ino_t inodes_made(struct inodes *t, const char *path, uint64_t *upto);
void inodes_cover(struct inodes *t, fuse_ino_t ino, uint64_t upto);
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
 * lookup of it; it keeps node n (may be NULL), resolved in snapshot
 * `generation`. */
struct fnode;
fuse_ino_t inodes_lookup(struct inodes *t, const char *path,
    const struct fnode *n, uint64_t generation);
/* The node inode ino's path resolved to, when it was kept for snapshot
 * `generation` (the current one): true with *out set (fnode_clear it),
 * and no name parsed.  *path (may be NULL) gets the inode's path either
 * way, NULL when there is no such inode (caller frees). */
bool inodes_node(struct inodes *t, fuse_ino_t ino, uint64_t generation,
    struct fnode *out, char **path);
/* Keep node n, resolved in snapshot `generation`, in inode ino. */
void inodes_set_node(struct inodes *t, fuse_ino_t ino, uint64_t generation,
    const struct fnode *n);
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
/* Every inode but the root whose path `want` says true of (NULL: all),
 * as (inode, parent inode, name) for invalidation; caller frees each name
 * and the array.  `want` is called with the table locked. */
struct inode_ref {
	fuse_ino_t ino;
	fuse_ino_t parent;
	char *name;
};
size_t inodes_snapshot(struct inodes *t, bool (*want)(const char *path,
    void *arg), void *arg, struct inode_ref **out);
size_t inodes_count(struct inodes *t);

/* node.c: a node of the mount (a node of the core's tree, or one of the
 * status files), and its attributes. */
enum status_file {
	ST_NONE,
	ST_DIR,
	ST_JOBS,
	ST_STATS,
	ST_ERRORS,
	ST_WARNINGS,
	ST_VERSION,                /* the last: ST_JOBS..ST_VERSION are listed */
};

struct fnode {
	enum status_file status;
	struct pnode pn;           /* when status == ST_NONE */
};

/* Resolve a canonical path (of an inode) in library `lib`. */
int fs_resolve(const struct library *lib, const char *path,
    struct fnode *out, struct perr *e);
/* The child `name` of node `parent` (whose path is `path`): its node and
 * canonical path (caller frees).  The name is parsed once, the parent's
 * path not at all. */
int fs_child(const struct library *lib, const struct fnode *parent,
    const char *path, const char *name, struct fnode *child,
    char **childpath, struct perr *e);
void fnode_clear(struct fnode *n);
bool fnode_is_dir(const struct fnode *n);
/* A part made by an engine (not a json description). */
bool fnode_is_made(const struct fnode *n);
/* The JSON text of a description node, or NULL (caller frees). */
char *fnode_json(const struct fnode *n, struct perr *e);
/* Its length, without writing it: false when n has no description. */
bool fnode_json_len(const struct fnode *n, size_t *len);
/* Is a part in the cache?  1 with its size, 0 no, -errno when it cannot
 * be planned.  The key is remembered in inode ino. */
int fs_part_cached(struct fs *fs, const struct library *lib,
    const struct pnode *pn, fuse_ino_t ino, uint64_t *size);
/* A drawing of the library, opened without leaving it (see node.c). */
int fs_open_drawing(const struct library *lib, const char *file, int flags,
    struct stat *st);
/*
 * The attributes of node n (inode ino) and how long the kernel may keep
 * them: the timeout of the mount, also for a part not made yet (size 0),
 * whose exact size the kernel is given when it is made (fs_part_made).
 */
void fs_node_attr(struct fs *fs, const struct library *lib,
    const struct fnode *n, fuse_ino_t ino, struct stat *st, double *timeout);
void fs_set_time(struct stat *st, const struct timespec *t);
/* The node of inode ino in snapshot `lib` and its path (caller frees):
 * the one the inode kept, else its path resolved (and kept).  false with
 * *err ESTALE (no such inode) or ENOENT (gone in a live edit). */
bool fs_node(struct fs *fs, const struct library *lib, fuse_ino_t ino,
    struct fnode *n, char **path, int *err);
/* The same for a request, in the current snapshot (*lib referenced);
 * replies the error itself (false). */
bool fs_node_of(fuse_req_t req, fuse_ino_t ino, struct library **lib,
    struct fnode *n, char **path);

/* status.c: the content of a status file (caller frees). */
char *fs_status_text(struct fs *fs, enum status_file f);
/* The name of a status file, or NULL. */
const char *fs_status_name(enum status_file f);

/* park.c: requests parked for their part, without holding a FUSE thread;
 * found by id: whichever of the fetch's end and an interrupt takes the
 * entry out of the table answers the request. */
enum pending_kind {
	P_OPEN,
	P_LOOKUP,
};
struct pending {
	uint64_t id;
	enum pending_kind kind;
	fuse_req_t req;
	struct fuse_file_info fi;
	fuse_ino_t ino;
	fuse_ino_t parent;
	char *path;
	struct fetch *fetch;       /* NULL until core_fetch gave it */
	pid_t reader;              /* an interrupt was declined: its thread */
	struct pending *next;
};
/* Park `req`, its interrupt function set: its id.  An interrupt may
 * answer it at once. */
uint64_t fs_park(struct fs *fs, fuse_req_t req, enum pending_kind kind,
    fuse_ino_t ino, fuse_ino_t parent, const char *path,
    const struct fuse_file_info *fi);
/* Take parked request `id` out (NULL: answered already). */
struct pending *fs_unpark(struct fs *fs, uint64_t id);
/* Give parked request `id` its fetch (a reference, taken over; dropped
 * at once when the request was answered meanwhile). */
void fs_park_fetch(struct fs *fs, uint64_t id, struct fetch *f);
void fs_pending_free(struct pending *p);
/* Stop watching the readers of declined interrupts (the session ended). */
void fs_interrupts_stop(struct fs *fs);

/* inval.c: the entry-invalidation protocol of live reloads. */
struct lookup_mark {
	fuse_ino_t dir;
	struct lookup_mark *next;
};
/* A lookup of a part in directory `dir` starts, marked by m until
 * fs_lookup_end: false, and nothing marked, when an entry there is being
 * invalidated. */
bool fs_lookup_begin(struct fs *fs, struct lookup_mark *m, fuse_ino_t dir);
void fs_lookup_end(struct fs *fs, struct lookup_mark *m);
/* Is a lookup of a part parked in directory `dir`?  park.lock held. */
bool fs_lookup_in(struct fs *fs, fuse_ino_t dir);
/* The reload hooks: the kernel forgets what it cached of the
 * collections that changed. */
void fs_reloaded(void *arg, const struct library *before,
    const struct library *after);
bool fs_release_entries(void *arg);
/* Free the entries still held back (the session has ended). */
void fs_held_entries_free(struct fs *fs);

/* handle.c: open files and directories. */
struct open_link {
	struct open_link *prev, *next;
};
struct handle {
	struct open_link link;     /* first: the open ones (handles.lock) */
	atomic_int refs;           /* the open file's, and a read's */
	int fd;                    /* a cache file or drawing, or -1 */
	bool splice;               /* fd never changes: read by splice */
	char *data;                /* generated text */
	size_t len;                /* of data, or of fd when splice is set */
	fuse_ino_t ino;            /* a made part's, once its open is answered */
	struct stat st;            /* a made part's cache file, at its open */
};
struct dirhandle {
	struct open_link link;     /* first: the open ones (handles.lock) */
	char *path;
	char **names;
	size_t n;
	bool read;                 /* listed once: a new start (rewinddir)
				    * lists the directory as it is then */
};
/* A handle of a cache file (`blob`: its stat; read by splice, its size
 * for good) or of a drawing (`blob` NULL: read as it is now); `fd` is
 * taken over. */
struct handle *fs_handle_fd(struct fs *fs, int fd, const struct stat *blob);
struct handle *fs_handle_text(struct fs *fs, char *text);
/* A handle of `len` bytes at `data` (taken over, freed with it). */
struct handle *fs_handle_data(struct fs *fs, char *data, size_t len);
/* Let go of a handle: freed with its last reference. */
void fs_handle_free(struct fs *fs, struct handle *h);
struct dirhandle *fs_dirhandle_new(struct fs *fs, const char *path);
void fs_dirhandle_free(struct fs *fs, struct dirhandle *d);
/* The size of an open file for its reader (false for a drawing). */
bool fs_handle_size(const struct fuse_file_info *fi, off_t *size);
/* The size of a part open on inode ino, false when none is. */
bool fs_open_part_size(struct fs *fs, fuse_ino_t ino, off_t *size);
/* Reply to the open of a made part, giving the kernel its size first when
 * it may hold a stale 0. */
void fs_reply_part_open(struct fs *fs, fuse_req_t req, fuse_ino_t ino,
    struct fuse_file_info *fi);
/* Before a reload's invalidation: the paths of the parts open (those
 * whose path `want` says true of; NULL: all) get new inodes; after it,
 * the kernel is given their sizes again. */
void fs_retire_open_parts(struct fs *fs, bool (*want)(const char *path,
    void *arg), void *arg);
void fs_open_sizes(struct fs *fs);
/* The core's hook: a part was made (core_on_made). */
void fs_part_made(void *arg, const char *path, int fd,
    const struct cache_entry *entry);
/* Free the open files and directories the kernel never released. */
void fs_handles_free(struct fs *fs);

/* lookup.c and open.c: the operations on names and on files. */
void fs_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void fs_op_forget_multi(fuse_req_t req, size_t count,
    struct fuse_forget_data *f);
void fs_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_readlink(fuse_req_t req, fuse_ino_t ino);
void fs_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi);
void fs_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi);
void fs_op_releasedir(fuse_req_t req, fuse_ino_t ino,
    struct fuse_file_info *fi);
/* Add entry "." (i 0, inode ino) or ".." (i 1) of a listing at buf
 * (size bytes left), with attributes when `plus`: the bytes it needs
 * (more than size: not added). */
size_t fs_add_dot(fuse_req_t req, char *buf, size_t size, off_t i,
    fuse_ino_t ino, bool plus);
/* The names of directory n, for handle d. */
void fs_dirhandle_fill(struct dirhandle *d, const struct library *lib,
    const struct fnode *n);
void fs_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi);
void fs_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);

/* prefetch.c: the parts of a directory a program reads (cp -r) made
 * ahead by idle workers.  fs_prefetch is called as part `path` (of format
 * `fmt`) is opened by thread `pid` and is not made: when that thread
 * listed the directory to its end just before, or another part of it was
 * opened a moment ago, the next parts in listing order are queued for
 * idle workers.  fs_listed records that thread `pid` has just read
 * directory `dir` to its end. */
void fs_prefetch(struct fs *fs, const struct library *lib, const char *path,
    enum format fmt, pid_t pid);
void fs_listed(struct fs *fs, const char *dir, pid_t pid);

/* xattr.c: the extended attributes of parts (of the remote mount's too). */
#define FS_XATTRS 9
extern const char *const fs_xattr_names[FS_XATTRS];
/* The attribute `name` (user.partsfs.label, params, units, given,
 * generator, standard, license) of a part whose description is `j`
 * (caller frees), or NULL: not one of those, or none. */
char *fs_xattr_described(json_t *j, const char *name);
/* Is `name` of our namespace?  false when it is not, with the request
 * answered (EOPNOTSUPP outside user., ENODATA for another user. name). */
bool fs_xattr_ours(fuse_req_t req, const char *name);
/* Answer a getxattr with value v (taken over; NULL: ENODATA), and a
 * listxattr with our names when `part`, else none. */
void fs_reply_xattr_value(fuse_req_t req, char *v, size_t size);
void fs_reply_xattr_list(fuse_req_t req, bool part, size_t size);
void fs_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
    size_t size);
void fs_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);

/* rdir.c: the directories of a remote mount, as the server lists them. */
enum rtype {
	RT_DIR,
	RT_PART,
	RT_JSON,
	RT_DRAWING,
	RT_LINK,
	RT_OTHER,                  /* none of the server's (status files) */
};
struct rentry {
	char *name;
	enum rtype type;
	enum format fmt;           /* a part's */
	int64_t size;              /* a part made on the server; else -1 */
	char *etag;                /* that part's ETag, with its size */
	char *target;              /* a link's, a path from the root */
};
/* A listing: entries sorted by name; shared, read-only. */
struct rlisting {
	atomic_int refs;
	struct rentry *v;
	size_t n;
};
struct rdirs;
/* The directories of the server of `r`, a listing kept `ttl` seconds. */
struct rdirs *rdirs_new(struct remote *r, double ttl);
void rdirs_free(struct rdirs *d);
/*
 * The listing of directory `path` ("" the root; a reference:
 * rlisting_unref it): the one kept while it is younger than the ttl;
 * else asked for again with its ETag (a 304 keeps it), or kept as it is
 * when the server cannot be reached.  One request at a time per
 * directory: others wait for its answer.  NULL with `e` set (ENOENT,
 * ENOTDIR, or why the server could not be asked).
 */
struct rlisting *rdirs_get(struct rdirs *d, const char *path,
    struct perr *e);
void rlisting_unref(struct rlisting *l);
/* The entry `name` of a listing, or NULL. */
const struct rentry *rlisting_find(const struct rlisting *l,
    const char *name);
/* The entry of `path` (a copy in *out: rentry_clear it): from its
 * directory's listing, or asked for alone when that does not list it (a
 * parameter value beyond the common ones).  0, or -errno with `e` set. */
int rdirs_entry(struct rdirs *d, const char *path, struct rentry *out,
    struct perr *e);
void rentry_clear(struct rentry *x);
/* Listing requests (200 or 304), 304s, listings served while the server
 * could not be reached, and requests for single entries. */
void rdirs_counts(struct rdirs *d, uint64_t *listings, uint64_t *revalidated,
    uint64_t *offline, uint64_t *stats);

/* rmount.c: the remote mount (partsfs URL MOUNTPOINT). */
/* Parts fetched at once: each worker waits on one request. */
#define RFS_WORKERS 16
struct rfetch;
struct rfailure;
struct rdirh;
/* A part fetched here: its ETag and size (a slot per path hash). */
#define RFS_KNOWN 1024
struct rknown {
	char *path;
	char *etag;
	int64_t size;
};
struct rfs {
	struct fs fs;              /* first (the session's userdata): the
				    * handles, inodes and parked opens */
	struct cache *cache;       /* the local one, of the parts fetched */
	struct remote *r;
	struct rdirs *dirs;
	double ttl;                /* dir_cache */
	pthread_mutex_t lock;      /* the fetches and the failures */
	pthread_cond_t cond;
	struct rfetch *queue;      /* not started */
	struct rfetch *underway;
	pthread_t workers[RFS_WORKERS];
	size_t nworkers;
	bool stopping;
	struct rdirh *dirhs;       /* open directories */
	struct rfailure *failures; /* a ring, the last nfailures */
	size_t nfailures;
	atomic_uint_fast64_t transfers, cached, offline;
	struct rknown known[RFS_KNOWN];
};
/* The operations of a remote mount. */
void rfs_ops_fill(struct fuse_lowlevel_ops *ops);
/* Open the local cache of `conf` and the client of `url`, and start the
 * fetching threads (conf stays the caller's).  0, or -errno with `e`
 * set; rfs_stop cleans up either way. */
int rfs_start(struct rfs *rfs, const char *url, struct conf *conf,
    struct perr *e);
/* Stop the fetches (requests under way are given up) and close all. */
void rfs_stop(struct rfs *rfs);

#endif
