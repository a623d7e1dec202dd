/* fixture.h -- small libraries written to a temporary directory for
 * tests: a blt text wrapped in a valid collection header. */
#ifndef PARTSFS_FIXTURE_H
#define PARTSFS_FIXTURE_H

#include "partsfs/model/library.h"
#include "partsfs/model/params.h"
#include "partsfs/tree/path.h"

/* A library directory holding data/<coll>.blt = header + `classes`
 * (YAML text of the class list, indented by two spaces under
 * "classes:").  Returns the directory. */
const char *fixture_dir(const char *coll, const char *classes);
/* The same, loaded.  The diagnostics are in lib->diags. */
struct library *fixture_load(const char *coll, const char *classes);
/* Load an existing directory. */
struct library *fixture_load_dir(const char *dir);
/* The first diagnostic with `severity` whose text contains `needle`, as
 * "file:line:col: severity: msg" (static), or NULL. */
const char *fixture_diag(const struct library *lib, enum diag_severity sev,
    const char *needle);
/* All diagnostics, one per line (static), for test notes. */
const char *fixture_diags(const struct library *lib);
/* Test that loading `lib` reported an error or a warning containing
 * `text` (CHECK_MSG of tap.h). */
#define EXPECT_ERROR(lib, text) \
	CHECK_MSG(fixture_diag(lib, DIAG_ERROR, text) != NULL, \
	    "no error containing \"%s\"; got:\n%s", text, fixture_diags(lib))
#define EXPECT_WARNING(lib, text) \
	CHECK_MSG(fixture_diag(lib, DIAG_WARNING, text) != NULL, \
	    "no warning containing \"%s\"; got:\n%s", text, fixture_diags(lib))
/* Collect a class's parameters with name=value text for free parameters
 * (NULL-terminated pairs); returns 0 or the error, vals has nparams. */
int fixture_collect(const struct pclass *cls, const char *const *pairs,
    struct value *vals, struct perr *e);
/* The collected value of `name` as canonical text (static). */
const char *fixture_value(const struct pclass *cls, const struct value *vals,
    const char *name);

#endif
