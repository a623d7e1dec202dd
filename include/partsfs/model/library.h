/* library.h -- the in-memory model of a BOLTS library: collections,
 * classes, their parameter sets and the database bindings (OpenSCAD
 * modules, FreeCAD functions, drawings), loaded and validated from a
 * library directory. */
#ifndef PARTSFS_LIBRARY_H
#define PARTSFS_LIBRARY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "partsfs/util/diag.h"
#include "partsfs/util/format.h"
#include "partsfs/util/util.h"
#include "partsfs/util/value.h"
#include "partsfs/util/ydoc.h"
#include "partsfs/model/params.h"

struct ident {
	const char *nice;
	const char *safe;
};

/* A labeling template; %(name)s placeholders. */
struct subst {
	const char *nice;
	const char *safe;
};

struct class_name {
	struct ident name;
	struct ident group;           /* nice == NULL when absent */
	struct subst labeling;
	const char *description;
};

struct class_standard {
	struct ident standard;
	struct ident group;
	struct subst labeling;
	const char *body;
	int year;                     /* 0 when absent */
	const char *status;           /* "active" when absent */
	const char *replaces;
	const char *description;
};

/* Common fields of a base file element (one file of a database). */
struct base_file {
	const char *filename;         /* as written in the .base file */
	const char *path;             /* absolute path, NULL when missing */
	const char *display;          /* path relative to the library root */
	const char **authors;
	size_t nauthors;
	const char *license;
	const char *source;
};

/* An OpenSCAD module serving a class. */
struct scad_binding {
	const struct base_file *file;
	const char *module;
	const char **args;            /* positional, in call order */
	size_t nargs;
	const struct pset *ps;        /* class ∪ base parameters */
};

/* A FreeCAD function serving a class. */
struct freecad_binding {
	const struct base_file *file;
	const char *function;
	const struct pset *ps;
};

/* A script of a `command` executor's database serving a class. */
struct command_binding {
	const char *name;             /* the command (its database directory) */
	const struct base_file *file;
};

/* Which engine makes a format of a class: none for json (answered from the
 * parameters alone) and formats no chain reaches. */
enum generator {
	GEN_NONE,
	GEN_OPENSCAD,
	GEN_FREECAD,
	GEN_COMMAND,
};

/* How one format of a class is made: by the engine of its model (for
 * GEN_COMMAND, `index` into the class's commands) writing `fmt` directly,
 * or writing STL that the converter turns into `fmt`. */
struct maker {
	uint8_t kind : 4;             /* enum generator */
	bool convert : 1;
	uint8_t index;
};

struct collection;
struct conf;

/* A place in a library file (diagnostics after loading, when the parse
 * tree is gone): the file as diagnostics name it, 1-based line and
 * column. */
struct fpos {
	const char *file;
	int line, col;
};

/* What few classes have: URLs, notes, drawings, scripts of command
 * engines.  A class without any of them points at class_extra_none. */
struct class_extra {
	const char **urls;                      /* NULL when none */
	const char *notes;
	const struct command_binding *commands; /* scripts of command engines */
	const char *drawing_svg;                /* absolute paths or NULL */
	const char *drawing_png;
	uint32_t nurls;
	uint32_t ncommands;
};

/* A class (176 bytes on x86-64: a library holds one per class, in one
 * array per collection, so what most classes lack costs a pointer or a
 * count, never an array, and what few have is out of line in `extra`;
 * its names and standards share the block of its parameters). */
struct pclass {
	const char *id;
	struct collection *coll;
	struct class_name *names;               /* NULL when none */
	struct class_standard *standards;       /* NULL when none */
	struct pset ps;
	const char *source;
	const struct scad_binding *scad;        /* NULL: no OpenSCAD module */
	const struct freecad_binding *freecad;  /* NULL: no FreeCAD function */
	const struct class_extra *extra;        /* never NULL */
	struct fpos pos;                        /* the class element */
	int id_line, id_col;                    /* its id's value (pos.file) */
	uint32_t formats;                       /* bit per enum format */
	uint32_t nnames;
	uint32_t nstandards;
	struct maker model;                     /* the engine of every
						 * format (GEN_NONE: json
						 * only) */
	struct maker makers[FMT__COUNT];
};

/* The extra of a class that has none: every field NULL or 0. */
extern const struct class_extra class_extra_none;

/* A file a collection was read from, or looked for (a directory, a
 * missing .base file): what stat(2) said then.  A collection all of
 * whose files are as they were is kept by a live reload. */
struct file_dep {
	const char *path;             /* absolute */
	bool exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

struct collection {
	const char *id;
	const char *name;
	const char *description;
	const char **authors;
	size_t nauthors;
	const char *license;
	const char *blt_version;
	const char *display;          /* data/<id>.blt */
	size_t nclasses;
	struct pclass *classes;       /* file order */
	/* the class elements in the parse tree, one per class: only while
	 * the collection loads (collection_load frees the tree, and this) */
	const struct ynode **class_nodes;
	uint32_t *order;              /* classes by id, natural order */
	size_t nbase_files;
	struct base_file **base_files;
	struct timespec mtime;        /* newest of the files it was read from */
	size_t nerrors;               /* errors found while loading it */
	struct diags diags;           /* what loading it reported */
	struct file_dep *deps;        /* the files it was read from */
	size_t ndeps, depcap;
	struct timespec load_start;   /* when its loading began */
	/* a file of it changed as it was read (or so soon before that the
	 * file times cannot tell): never kept */
	bool racy;
	struct arena *arena;
	atomic_uint refs;
};

/* A by-standard/ or by-name/ entry. */
struct class_link {
	const char *name;             /* safe name: the class's own, or
	                               * <safe>_<class id> in the snapshot's
	                               * `names` */
	const struct pclass *cls;
};

/* A loaded library: an immutable snapshot, shared by reference counting.
 * A live edit loads the library again into a new snapshot, which keeps
 * the last good version of a collection the edit broke (core/reload.c). */
struct library {
	char *root;                   /* absolute, symlinks resolved */
	uint64_t generation;          /* unique to this snapshot */
	size_t ncolls;
	struct collection **colls;    /* natural order of id */
	size_t nclasses;
	size_t nby_standard;
	struct class_link *by_standard;
	size_t nby_name;
	struct class_link *by_name;
	struct arena *names;          /* by-standard/ names made up */
	struct timespec mtime;        /* newest file of the library */
	struct diags diags;           /* everything loading reported */
	/* the checks across collections found nothing, and no standard
	 * names several classes: library_assemble_next may take its
	 * indexes as they are */
	bool plain;
	atomic_uint refs;
};

/*
 * Assemble a library snapshot from loaded collections (takes a reference
 * on each), checking what spans collections: unique class ids, unique
 * safe names, by-standard/ and by-name/ links.  Cross-collection problems
 * are added to `diags`.
 */
struct library *library_assemble(const char *root, struct collection **colls,
    size_t ncolls, struct diags *diags);
/*
 * The same, from `prev` (a snapshot of the same library, or NULL): when
 * prev is plain, the index entries of the collections `colls` keeps (the
 * same objects) are taken from it as they are, and only those of the
 * other collections are checked and sorted in: the cost is that of what
 * changed.  What would not be plain (a class id or safe name met twice,
 * a standard of several classes) is assembled afresh, as
 * library_assemble does.
 */
struct library *library_assemble_next(const char *root,
    struct collection **colls, size_t ncolls, const struct library *prev,
    struct diags *diags);

struct library *library_ref(struct library *lib);
void library_unref(struct library *lib);
void collection_ref(struct collection *c);
void collection_unref(struct collection *c);

/* While `c` loads: it was read from (or looked for) file `path`, whose
 * status is `st` (NULL: it could not be had). */
void collection_dep(struct collection *c, const char *path,
    const struct stat *st);
/* Whether every file `c` was read from is as it was (stat(2) of each:
 * device, inode, size, modification and change times, or still
 * missing), and none changed as it was read.  Lock-free; `c` only read. */
bool collection_unchanged(const struct collection *c);

/* The extra of class `c`, to fill in while its collection loads: made
 * (zeroed, in arena `a`) the first time. */
struct class_extra *class_extra_edit(struct pclass *c, struct arena *a);

const struct collection *library_collection(const struct library *lib,
    const char *id);
const struct pclass *collection_class(const struct collection *c,
    const char *id);
/* A class by id anywhere in the library, or NULL. */
const struct pclass *library_class(const struct library *lib, const char *id);
const struct class_link *library_link(const struct class_link *v, size_t n,
    const char *name);

#endif
