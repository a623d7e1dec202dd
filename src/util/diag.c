/* diag.c -- collecting, sorting and printing diagnostics in the compiler
 * format "file:line:col: error: message". */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "partsfs/util/diag.h"

void
diag_add(struct diags *d, enum diag_severity sev, const char *file, int line,
    int col, const char *fmt, ...)
{
	struct diag *dg;
	va_list ap;

	if (d == NULL)
		return;
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->v = xreallocarray(d->v, d->cap, sizeof *d->v);
	}
	dg = &d->v[d->n++];
	dg->severity = sev;
	dg->file = xstrdup(file != NULL ? file : "");
	dg->line = line;
	dg->col = col;
	va_start(ap, fmt);
	dg->msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (sev == DIAG_ERROR)
		d->nerrors++;
	else
		d->nwarnings++;
}

void
diags_append(struct diags *dst, const struct diags *src)
{
	for (size_t i = 0; i < src->n; i++) {
		const struct diag *s = &src->v[i];
		diag_add(dst, s->severity, s->file, s->line, s->col, "%s", s->msg);
	}
}

void
diags_free(struct diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	memset(d, 0, sizeof *d);
}

/* Compare pointers into the unsorted array, so that equal positions keep
 * the order in which they were reported. */
static int
diag_cmp(const void *pa, const void *pb)
{
	const struct diag *a = *(const struct diag *const *)pa;
	const struct diag *b = *(const struct diag *const *)pb;
	int c;

	if ((c = strcmp(a->file, b->file)) != 0)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	return a < b ? -1 : a > b;
}

void
diags_sort(struct diags *d)
{
	const struct diag **ptrs;
	struct diag *sorted;

	if (d->n < 2)
		return;
	ptrs = xmalloc(d->n * sizeof *ptrs);
	for (size_t i = 0; i < d->n; i++)
		ptrs[i] = &d->v[i];
	qsort(ptrs, d->n, sizeof *ptrs, diag_cmp);
	sorted = xmalloc(d->cap * sizeof *sorted);
	for (size_t i = 0; i < d->n; i++)
		sorted[i] = *ptrs[i];
	free(ptrs);
	free(d->v);
	d->v = sorted;
}

char *
diag_format(const struct diag *dg)
{
	const char *sev = dg->severity == DIAG_ERROR ? "error" : "warning";

	if (dg->line > 0 && dg->col > 0)
		return xasprintf("%s:%d:%d: %s: %s", dg->file, dg->line,
		    dg->col, sev, dg->msg);
	if (dg->line > 0)
		return xasprintf("%s:%d: %s: %s", dg->file, dg->line, sev,
		    dg->msg);
	if (dg->file[0] != '\0')
		return xasprintf("%s: %s: %s", dg->file, sev, dg->msg);
	return xasprintf("%s: %s", sev, dg->msg);
}

void
diags_print(const struct diags *d, FILE *fp)
{
	for (size_t i = 0; i < d->n; i++) {
		char *s = diag_format(&d->v[i]);
		fprintf(fp, "%s\n", s);
		free(s);
	}
}
