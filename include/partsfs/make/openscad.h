/* openscad.h -- the openscad executor: the preludes a module file is
 * given (configured, or BOLTS's own helpers), a part's values as OpenSCAD
 * literals, and a run of openscad on a wrapper that uses a scratch
 * library of the preludes and the module file and calls the module. */
#ifndef PARTSFS_OPENSCAD_H
#define PARTSFS_OPENSCAD_H

#include "partsfs/make/engine.h"
#include "partsfs/make/plan.h"
#include "partsfs/util/value.h"

/* A value as an OpenSCAD literal, never code: numbers and booleans in
 * their canonical text, strings quoted with every quote, backslash and
 * control byte escaped, null as undef.  Caller frees. */
char *openscad_literal(const struct value *v);

/*
 * Add the preludes of an OpenSCAD part to plan `p`, as sources whose bytes
 * go into its key: the files of executors.openscad.include when the
 * configuration has that key (even empty), labelled "include" (relative
 * ones beneath env->root); else, when the library at env->root has
 * BOLTS's helpers where a checkout keeps them (backends/openscad/
 * common.scad and conf.scad, and local.scad when it is there), those,
 * labelled "helper"; else none.  0, or -EXDEV with `e` set when a
 * relative prelude or a helper leads out of the library.  Thread-safe.
 */
int openscad_preludes(const struct exec_env *env, struct plan *p,
    struct perr *e);

/*
 * Make the plan's part with openscad into `output` (its native format),
 * in `scratch`: 0, or -EIO with `fail` filled (what OpenSCAD warned of
 * that makes it another part, unless executors.openscad.allow-warnings
 * allows its kind; a CSG that draws nothing).  The module file and the
 * preludes (the plan's "include" or "helper" sources; with helpers, the
 * functions of BOLTS's version.scad too) are included by a scratch
 * lib.scad, which the wrapper part.scad uses and calls the module from:
 * nothing at the top level of those files reaches the part.
 */
int openscad_run(const struct exec_env *env, const struct plan *p,
    const char *scratch, const char *output, struct engine_failure *fail);

/* What OpenSCAD said, by kind: a CONF_SCAD_* kind, OPENSCAD_ERROR for
 * one of its own errors ("ERROR: ...", never allowed), or 0 for a line
 * that means nothing for the part. */
#define OPENSCAD_ERROR (CONF_SCAD_ALL + 1)
unsigned openscad_message_kind(const char *line, size_t len);

/* One call of a module, for openscad_eval. */
struct openscad_call {
	const char *entry;
	char *const *args;       /* OpenSCAD literals */
	size_t nargs;
};
/* What openscad_eval echoes before each call (then its number) and
 * after the last. */
#define OPENSCAD_MARK "partsfs check: call "

/*
 * For partsctl check: evaluate `calls` of the module file of plan `p`
 * (its preludes, program and sandbox as openscad_run takes them; its
 * entry, arguments and format unused) to CSG in `scratch`, without
 * rendering: echo(OPENSCAD_MARK "0"), the first call in a group of its
 * own, echo(OPENSCAD_MARK "1"), ... echo(OPENSCAD_MARK "<ncalls>").
 * Nothing it says is judged: *text gets all its standard error kept
 * (caller frees; NULL when it did not run), its file names absolute,
 * *whole false when its start was lost; *csg the CSG (caller frees; NULL
 * on failure), a top-level object a call (openscad_csg_objects).  0, or
 * -EIO with `fail` filled as openscad_run fills it (a failed evaluation,
 * no engine).
 */
int openscad_eval(const struct exec_env *env, const struct plan *p,
    const struct openscad_call *calls, size_t ncalls, const char *scratch,
    char **text, bool *whole, char **csg, struct engine_failure *fail);

/* The top-level objects of a CSG text, their number returned; whether
 * each draws anything (holds a node that is no operation: a cube, a
 * polyhedron, an import) in (*drawn)[i] (caller frees). */
size_t openscad_csg_objects(const char *csg, bool **drawn);

/*
 * OpenSCAD's parse of the module file of plan `p` alone (its script, not
 * its preludes), as `openscad -o file.ast` dumps it, in *ast (caller
 * frees), run as openscad_run runs.  *text gets all its standard error
 * kept (caller frees; NULL when it did not run).  0, or -EIO with `fail`
 * filled (a parse error: its messages in *text).
 */
int openscad_ast(const struct exec_env *env, const struct plan *p,
    const char *scratch, char **ast, char **text,
    struct engine_failure *fail);

/*
 * The statements of a parse (openscad_ast) at its top level that are not
 * definitions of modules or functions, nor assignments: what would run
 * in every part that includes the file.  Their first lines, each at most
 * 512 bytes, as a NULL-terminated vector (caller frees each and it), the
 * number in *n.
 */
char **openscad_ast_strays(const char *ast, size_t *n);

#endif
