/* path.h -- the path grammar of the virtual tree: parsing a name into a
 * node, listing a directory, and writing a node's canonical path.  The
 * mount and `partsctl ls` both show exactly what these functions give. */
#ifndef PARTSFS_PATH_H
#define PARTSFS_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "partsfs/util/format.h"
#include "partsfs/model/library.h"
#include "partsfs/util/util.h"
#include "partsfs/util/value.h"

enum pnode_kind {
	PN_ROOT,
	PN_COLLECTION,        /* /<coll>/ */
	PN_COLLECTION_JSON,   /* /<coll>.json */
	PN_CLASS,             /* /<coll>/<class>/ and the choice levels below */
	PN_CLASS_JSON,        /* /<coll>/<class>.json */
	PN_DRAWING,           /* /<coll>/<class>.svg|.png */
	PN_PART,              /* /<coll>/<class>/<v1>/.../<stem>.<ext> */
	PN_INDEX,             /* /by-standard/ and /by-name/ */
	PN_LINK,              /* /by-standard/<name>, /by-name/<name> */
};

enum pnode_index {
	PI_STANDARD,
	PI_NAME,
};

/*
 * A node of the tree.  It points into the library snapshot it was made
 * from, so the snapshot must outlive it.  A part node owns the text of its
 * string values; release it with pnode_clear().
 */
struct pnode {
	enum pnode_kind kind;
	const struct collection *coll;
	const struct pclass *cls;
	/* PN_CLASS: how many discrete levels are fixed (0 = class directory;
	 * pset_ndiscrete(&cls->ps) = leaf directory).  PN_PART: all of them. */
	size_t depth;
	uint32_t choice[PF_MAX_FREE];   /* choice index per discrete level */
	/* PN_PART */
	enum format fmt;
	/* PN_DRAWING: the drawing file (absolute path) */
	const char *file;
	/* PN_PART: the parameter set used (the class's, or the union with the
	 * executor's base parameters) and one value per free parameter of it,
	 * V_NULL where the default applies. */
	const struct pset *ps;
	struct value free[PF_MAX_FREE];
	char *strings;                  /* owned storage of string values */
	size_t strings_len;
	/* pnode_set_param bookkeeping: which free values were set, and how
	 * many discrete levels the directory fixed */
	bool set[PF_MAX_FREE];
	size_t fixed;
	/* PN_INDEX and PN_LINK */
	enum pnode_index index;
	const struct class_link *link;
};

/* The root node. */
void pnode_root(struct pnode *out);

/*
 * The child `name` of directory `dir`, or -ENOENT (-ENOTDIR when `dir` is
 * not a directory) with a message saying what is wrong with the name.
 * Never starts a job and never reads a file.  `out` must be cleared with
 * pnode_clear() after a successful call.
 */
int pnode_child(const struct library *lib, const struct pnode *dir,
    const char *name, struct pnode *out, struct perr *e);

/*
 * Resolve a whole path ("bolts/hex_screw/M8/length=20.step", with or
 * without a leading slash), following by-standard/ and by-name/ links in
 * the middle of the path as the kernel would.  Empty components are
 * ignored; "." and ".." are refused (-ENOENT).
 */
int pnode_lookup(const struct library *lib, const char *path,
    struct pnode *out, struct perr *e);

/* Called once per entry, in listing order.  A non-zero return stops the
 * listing and is returned by pnode_list. */
typedef int (*pnode_list_fn)(void *ctx, const char *name,
    const struct pnode *child);

/*
 * List directory `dir` in its listing order (natural order of names).  A
 * leaf directory lists default.<ext> for every format the class offers and
 * one stem per `common` combination that falls in the directory.
 */
int pnode_list(const struct library *lib, const struct pnode *dir,
    pnode_list_fn fn, void *ctx, struct perr *e);
/* Free the indexes of common rows kept for listing the leaves of classes
 * with many (they are kept for the last few classes listed). */
void pnode_indexes_free(void);

/* The canonical path of a node, from the root, without a leading slash
 * ("" for the root). */
void pnode_path(const struct pnode *n, struct buf *out);
/* The canonical name of a node (last path component). */
void pnode_name(const struct pnode *n, struct buf *out);
/* The target of a link: "../<coll>/<class>". */
void pnode_link_target(const struct pnode *n, struct buf *out);

bool pnode_is_dir(const struct pnode *n);
void pnode_clear(struct pnode *n);
/* Deep copy (the copy owns its own strings). */
void pnode_copy(struct pnode *dst, const struct pnode *src);

/*
 * A node in a few dozen bytes (a node takes hundreds), for keeping many:
 * appended to `out`, and read back by pnode_unpack into a node equal to
 * `n` (clear it with pnode_clear), with no name parsed again.  What a
 * packed node points into is the snapshot `n` came from: unpack it only
 * while that snapshot is alive, and only its own bytes.
 */
void pnode_pack(const struct pnode *n, struct buf *out);
void pnode_unpack(const void *data, size_t n, struct pnode *out);

/*
 * A part node for a class directory node (`dir` is PN_CLASS at any depth,
 * or a PN_LINK): the choices fixed by `dir`, defaults for everything else,
 * in format `fmt`.  -ENOENT when the class does not offer the format.
 */
int pnode_part_of(const struct pnode *dir, enum format fmt,
    struct pnode *out, struct perr *e);

/*
 * Set free parameter `name` of a part node from raw text (no %-decoding;
 * a command-line argument): checked like a path value, and a discrete
 * value must be one of the choices.  A discrete parameter already fixed by
 * a directory level must get the same value.  Setting a parameter twice is
 * an error.  0, or -EINVAL / -ENOENT with a message.
 */
int pnode_set_param(struct pnode *part, const char *name, const char *value,
    struct perr *e);

/*
 * Collect the full parameter set of a part node into `vals` (ps->nparams
 * values).  Strings point into the node and the library.
 */
int pnode_collect(const struct pnode *part, struct value *vals,
    struct perr *e);

#endif
