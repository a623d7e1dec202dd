/* bench-load.c -- loads and validates a library and resolves every
 * combination of the discrete free parameters of every class, several
 * times; prints the best wall time in seconds, the number of combinations
 * and the peak resident set size in KiB. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "partsfs/library.h"
#include "partsfs/params.h"

static size_t
resolve_all(const struct pset *ps, size_t f, struct value *freev,
    struct value *vals, size_t *failures)
{
	const struct param *p;
	size_t n = 0;

	if (f == ps->nfree) {
		if (pset_collect(ps, freev, vals, NULL) != 0)
			(*failures)++;
		return 1;
	}
	p = &ps->params[ps->free[f]];
	if (!ptype_discrete(p->type)) {
		freev[f].kind = V_NULL;
		return resolve_all(ps, f + 1, freev, vals, failures);
	}
	for (size_t c = 0; c < p->nchoices; c++) {
		if (p->type == PT_BOOL) {
			freev[f].kind = V_BOOL;
			freev[f].u.b = c == 1;
		} else {
			freev[f].kind = V_STR;
			freev[f].u.str = p->choices[c];
		}
		n += resolve_all(ps, f + 1, freev, vals, failures);
	}
	return n;
}

int
main(int argc, char **argv)
{
	int runs = argc > 2 ? atoi(argv[2]) : 20;
	double best = 1e9;
	size_t combos = 0, failures = 0;
	struct rusage ru;

	if (argc < 2) {
		fprintf(stderr, "usage: bench-load LIBRARY [RUNS]\n");
		return 2;
	}
	for (int r = 0; r < runs; r++) {
		struct perr e = { 0 };
		double t0 = now_s(), dt;
		struct library *lib = library_load(argv[1], NULL, &e);
		struct value freev[PF_MAX_FREE], *vals;
		if (lib == NULL) {
			fprintf(stderr, "bench-load: %s\n", e.msg);
			return 1;
		}
		combos = 0;
		for (size_t i = 0; i < lib->ncolls; i++) {
			const struct collection *c = lib->colls[i];
			for (size_t j = 0; j < c->nclasses; j++) {
				const struct pset *ps = &c->classes[j].ps;
				vals = xcalloc(ps->nparams + 1, sizeof *vals);
				combos += resolve_all(ps, 0, freev, vals,
				    &failures);
				free(vals);
			}
		}
		dt = now_s() - t0;
		if (dt < best)
			best = dt;
		library_unref(lib);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("%.6f %zu %ld\n", best, combos, ru.ru_maxrss);
	return failures != 0;
}
