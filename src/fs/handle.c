/* handle.c -- open files and directories, and what the kernel is told of
 * the sizes of the parts open: handles of cache files (read by splice),
 * drawings and generated texts, kept in lists so that those the kernel
 * never released are freed at the end. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"

static void
open_add(struct fs *fs, struct open_link **head, struct open_link *l)
{
	pthread_mutex_lock(&fs->handles.lock);
	l->prev = NULL;
	l->next = *head;
	if (*head != NULL)
		(*head)->prev = l;
	*head = l;
	pthread_mutex_unlock(&fs->handles.lock);
}

static void
open_del(struct fs *fs, struct open_link **head, struct open_link *l)
{
	pthread_mutex_lock(&fs->handles.lock);
	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		*head = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	pthread_mutex_unlock(&fs->handles.lock);
}

/* The first of a list (NULL when empty), to free what is left. */
static struct open_link *
open_first(struct fs *fs, struct open_link **head)
{
	struct open_link *l;

	pthread_mutex_lock(&fs->handles.lock);
	l = *head;
	pthread_mutex_unlock(&fs->handles.lock);
	return l;
}

/*
 * A cache file (`blob`: its stat, taken as it was opened) is immutable, so
 * its size at open is its size for good and reads are spliced from it.  A
 * drawing (`blob` NULL) is the library's file, which can be edited while
 * open: it is read with pread.
 */
struct handle *
fs_handle_fd(struct fs *fs, int fd, const struct stat *blob)
{
	struct handle *h = xcalloc(1, sizeof *h);

	atomic_init(&h->refs, 1);
	h->fd = fd;
	if (blob != NULL && S_ISREG(blob->st_mode)) {
		h->splice = true;
		h->len = (size_t)blob->st_size;
		h->st = *blob;
	}
	open_add(fs, &fs->handles.files, &h->link);
	return h;
}

struct handle *
fs_handle_data(struct fs *fs, char *data, size_t len)
{
	struct handle *h = xcalloc(1, sizeof *h);

	atomic_init(&h->refs, 1);
	h->fd = -1;
	h->data = data;
	h->len = len;
	open_add(fs, &fs->handles.files, &h->link);
	return h;
}

struct handle *
fs_handle_text(struct fs *fs, char *text)
{
	return fs_handle_data(fs, text, strlen(text));
}

/*
 * A read holds a reference until its reply is written, so a RELEASE that
 * overtakes the end of that call (the reader has its data once the kernel
 * has copied it) frees nothing a reply still points into.  A cache file's
 * descriptor, open, keeps its part from eviction (cache_blob_open).
 */
void
fs_handle_free(struct fs *fs, struct handle *h)
{
	if (atomic_fetch_sub(&h->refs, 1) != 1)
		return;
	open_del(fs, &fs->handles.files, &h->link);
	if (h->fd != -1)
		close(h->fd);
	free(h->data);
	free(h);
}

struct dirhandle *
fs_dirhandle_new(struct fs *fs, const char *path)
{
	struct dirhandle *d = xcalloc(1, sizeof *d);

	d->path = xstrdup(path);
	open_add(fs, &fs->handles.dirs, &d->link);
	return d;
}

void
fs_dirhandle_free(struct fs *fs, struct dirhandle *d)
{
	open_del(fs, &fs->handles.dirs, &d->link);
	for (size_t i = 0; i < d->n; i++)
		free(d->names[i]);
	free(d->names);
	free(d->path);
	free(d);
}

void
fs_handles_free(struct fs *fs)
{
	struct handle *h;
	struct dirhandle *d;

	/* link is the first member of both */
	while ((h = (struct handle *)open_first(fs,
	    &fs->handles.files)) != NULL) {
		atomic_store(&h->refs, 1);
		fs_handle_free(fs, h);
	}
	while ((d = (struct dirhandle *)open_first(fs,
	    &fs->handles.dirs)) != NULL)
		fs_dirhandle_free(fs, d);
}

/* The size of an open file for its reader: what it reads (a part's cache
 * file, a generated text), whatever a live edit made of its path since.
 * False for a drawing (the library's own file, read as it is now). */
bool
fs_handle_size(const struct fuse_file_info *fi, off_t *size)
{
	const struct handle *h;

	if (fi == NULL || fi->fh == 0)
		return false;
	h = (const struct handle *)(uintptr_t)fi->fh;
	if (!h->splice && h->data == NULL)
		return false;
	*size = (off_t)h->len;
	return true;
}

/* Any of the open files of inode ino: they read one cache file. */
bool
fs_open_part_size(struct fs *fs, fuse_ino_t ino, off_t *size)
{
	bool found = false;

	pthread_mutex_lock(&fs->handles.lock);
	for (struct open_link *l = fs->handles.files; l != NULL && !found;
	    l = l->next) {
		const struct handle *h = (const struct handle *)l;
		if (h->splice && h->ino == ino) {
			*size = (off_t)h->len;
			found = true;
		}
	}
	pthread_mutex_unlock(&fs->handles.lock);
	return found;
}

/* Give the kernel the size of the made part open as `fd` by storing its
 * last page in the inode's page cache (see fs.h).  The part's content is
 * what any read would get, so nothing wrong can be cached. */
static bool
store_size(struct fs *fs, fuse_ino_t ino, int fd, off_t size)
{
	long pagesize = sysconf(_SC_PAGESIZE);
	bool stored = false;
	off_t off;
	size_t n;
	char *page;

	/* once the session has ended nobody would answer the reads a
	 * store may have to wait for */
	if (fs->se == NULL || fuse_session_exited(fs->se) || size <= 0)
		return false;
	off = (size - 1) / pagesize * pagesize;
	n = (size_t)(size - off);
	page = xmalloc(n);
	if (pread(fd, page, n, off) == (ssize_t)n) {
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(n);
		bv.buf[0].mem = page;
		/* -ENOENT: the kernel has no such inode (yet) */
		stored = fuse_lowlevel_notify_store(fs->se, ino, off, &bv,
		    0) == 0;
	}
	free(page);
	return stored;
}

/*
 * After a live reload made the kernel forget every attribute: the parts
 * open are given their sizes again.  An open file's reads ask with its
 * handle (see fs_op_getattr), but an answer that crosses the reload's
 * invalidation of its inode is dropped by the kernel, which then reads
 * on with the size a stat of the path left (0 for a part not made, after
 * an edit): the read ended at once.  A store of the last page sets the
 * size whatever came in between.
 */
void
fs_open_sizes(struct fs *fs)
{
	struct handle *v[64];
	size_t n = 0;

	pthread_mutex_lock(&fs->handles.lock);
	for (struct open_link *l = fs->handles.files; l != NULL && n < 64;
	    l = l->next) {
		struct handle *h = (struct handle *)l;
		if (h->splice && h->ino != 0) {
			atomic_fetch_add(&h->refs, 1);
			v[n++] = h;
		}
	}
	pthread_mutex_unlock(&fs->handles.lock);
	for (size_t i = 0; i < n; i++) {
		store_size(fs, v[i]->ino, v[i]->fd, (off_t)v[i]->len);
		fs_handle_free(fs, v[i]);
	}
}

void
fs_retire_open_parts(struct fs *fs, bool (*want)(const char *path,
    void *arg), void *arg)
{
	pthread_mutex_lock(&fs->handles.lock);
	for (struct open_link *l = fs->handles.files; l != NULL; l = l->next) {
		const struct handle *h = (const struct handle *)l;
		char *path;
		if (!h->splice || h->ino == 0)
			continue;
		if (want != NULL && (path = inodes_path(fs->inodes,
		    h->ino)) != NULL) {
			bool wanted = want(path, arg);
			free(path);
			if (!wanted)
				continue;
		}
		inodes_retire(fs->inodes, h->ino);
	}
	pthread_mutex_unlock(&fs->handles.lock);
}

/* Before the kernel is given anything of the made part whose cache file
 * has the stat `st`: when it is another cache file than the kernel's
 * pages may come from, they and the attributes go (see
 * inodes_content_changed). */
static void
drop_other_content(struct fs *fs, fuse_ino_t ino, const struct stat *st)
{
	if (inodes_content_changed(fs->inodes, ino, st) && fs->se != NULL &&
	    !fuse_session_exited(fs->se))
		fuse_lowlevel_notify_inval_inode(fs->se, ino, 0, 0);
}

/* A job made a part (or found it made by another process): the kernel
 * learns its size before any open of it is answered, from the job's own
 * descriptor (the file checked against the index, whatever its path
 * holds by now). */
void
fs_part_made(void *arg, const char *path, int fd,
    const struct cache_entry *entry)
{
	struct fs *fs = arg;
	struct stat st;
	fuse_ino_t ino;
	uint64_t upto;

	(void)entry;
	if ((ino = inodes_made(fs->inodes, path, &upto)) == 0)
		return;             /* the kernel has no inode for it */
	if (fd != -1 && fstat(fd, &st) == 0) {
		drop_other_content(fs, ino, &st);
		/* the placeholder the kernel may keep is replaced; when the
		 * store found no inode, the reports stay uncovered and the
		 * next open gives the size */
		if (store_size(fs, ino, fd, st.st_size))
			inodes_cover(fs->inodes, ino, upto);
	}
}

void
fs_reply_part_open(struct fs *fs, fuse_req_t req, fuse_ino_t ino,
    struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	h->ino = ino;
	drop_other_content(fs, ino, &h->st);
	if (inodes_stale_size(fs->inodes, ino))
		store_size(fs, ino, h->fd, h->st.st_size);
	/* content is immutable per key: keep the page cache */
	fi->keep_cache = 1;
	if (fuse_reply_open(req, fi) != 0)
		fs_handle_free(fs, h);
}
