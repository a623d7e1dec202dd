/* fuzz-common.h -- what the libFuzzer harnesses share: a scratch library
 * directory per process, the fixed library that fuzz-path and fuzz-params
 * run against, and the checks every node of the tree must pass. */
#ifndef PARTSFS_FUZZ_COMMON_H
#define PARTSFS_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "partsfs/tree/describe.h"
#include "partsfs/model/library.h"
#include "partsfs/tree/path.h"

/* libFuzzer's entry points. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Report a broken invariant with the path or value involved and abort():
 * libFuzzer keeps the input as a crash. */
PF_NORETURN void fuzz_fail(const char *fmt, ...) PF_PRINTF(1, 2);

/* True when PARTSFS_FUZZ_STRICT is set to 1: the harnesses then also run
 * into the bugs they know of and otherwise step around (see
 * tests/fuzz/README), so that the inputs of tests/fuzz/regress/ keep
 * failing until those bugs are fixed. */
bool fuzz_strict(void);

/* A new directory under $TMPDIR (or /tmp), removed with everything in it
 * when the process exits normally.  Aborts when it cannot be made. */
const char *fuzz_tmpdir(const char *tag);

/* Write `len` bytes to `dir`/`rel`, making the directories on the way:
 * false when that fails (fuzz_try_write), or an abort (fuzz_write). */
bool fuzz_try_write(const char *dir, const char *rel, const void *data,
    size_t len);
void fuzz_write(const char *dir, const char *rel, const void *data,
    size_t len);

/* Remove everything inside `dir` (not `dir` itself). */
void fuzz_empty_dir(const char *dir);

/*
 * The fixed library of fuzz-path and fuzz-params, built once: collection
 * bolts with a class of every parameter kind (Table Index with awkward
 * keys, Bool, String, Length, Number, Angle, Length (in), a 2d table),
 * OpenSCAD and FreeCAD bases (with extra base parameters) so that part
 * formats exist, a drawing, and a second collection.  When the
 * environment names a library in PARTSFS_FUZZ_LIBRARY, that one is loaded
 * instead (e.g. the bundled library or the BOLTS corpus).  When it names a
 * directory in PARTSFS_FUZZ_WRITE_FIXED, the fixed library is written
 * there and kept (contrib/fuzz.sh walks it for seeds).
 */
struct library *fuzz_fixed_library(void);

/* Visit budget for tree walks, so that no input makes one run long. */
struct fuzz_budget {
	size_t entries;      /* entries still to visit */
	size_t parts;        /* part descriptions still to make */
};

/*
 * The checks every node `n` reached some way must pass: its canonical path
 * resolves to a node whose canonical path is the same, the last component
 * (pnode_name) resolves from the parent directory to it again, and its
 * JSON description (parts, <coll>.json, <class>.json) can be made and
 * serialised.  A part that cannot be collected is only allowed to fail
 * with ENOENT or EINVAL.  Aborts through fuzz_fail() otherwise.
 */
void fuzz_check_node(const struct library *lib, const struct pnode *n,
    struct fuzz_budget *b);

/* List directory `dir`, check every entry, and descend `depth` more
 * levels, within the budget. */
void fuzz_walk(const struct library *lib, const struct pnode *dir, int depth,
    struct fuzz_budget *b);

/* describe_dump() of a JSON value that must not be NULL; frees both. */
void fuzz_dump(json_t *j, const char *what);

#endif
