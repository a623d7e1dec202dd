/* diag.h -- diagnostics of library loading and validation, each tied to a
 * file position: "file:line:col: error: message". */
#ifndef PARTSFS_DIAG_H
#define PARTSFS_DIAG_H

#include <stddef.h>
#include <stdio.h>

#include "partsfs/util/util.h"

enum diag_severity {
	DIAG_WARNING,
	DIAG_ERROR,
};

struct diag {
	enum diag_severity severity;
	char *file;        /* as shown to the user, relative to the library */
	int line;          /* 1-based; 0 when the problem has no position */
	int col;           /* 1-based; 0 when unknown */
	char *msg;
};

/* A list of diagnostics.  Not thread-safe: one list per loading thread. */
struct diags {
	struct diag *v;
	size_t n;
	size_t cap;
	size_t nerrors;
	size_t nwarnings;
};
#define DIAGS_INIT { NULL, 0, 0, 0, 0 }

void diag_add(struct diags *d, enum diag_severity sev, const char *file,
    int line, int col, const char *fmt, ...) PF_PRINTF(6, 7);
void diags_append(struct diags *dst, const struct diags *src);
void diags_free(struct diags *d);
/* Sort by file, line, column (stable for equal positions). */
void diags_sort(struct diags *d);
/* Print one diagnostic per line in the compiler format. */
void diags_print(const struct diags *d, FILE *fp);
/* "file:line:col: error: msg" into a caller-freed string. */
char *diag_format(const struct diag *dg);

#endif
