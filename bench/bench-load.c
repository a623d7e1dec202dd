/* bench-load.c -- loads and validates a library and resolves every
 * combination of the discrete free parameters of every class, several
 * times; prints the best wall time in seconds, the number of combinations
 * the peak resident set size in KiB and the resident set size in KiB
 * with the last library loaded (after malloc_trim). */
#include "config.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "partsfs/model/load.h"
#include "partsfs/model/library.h"
#include "partsfs/model/params.h"

struct resolver {
	const struct pset *ps;
	struct value *vals;
	size_t failures;
};

static int
resolve_one(void *ctx, const struct value *free)
{
	struct resolver *r = ctx;

	if (pset_collect(r->ps, free, r->vals, NULL) != 0)
		r->failures++;
	return 0;
}

/* VmRSS of this process in KiB, or 0. */
static long
rss_kib(void)
{
	char line[256];
	long kib = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = atol(line + 6);
	}
	fclose(f);
	return kib;
}

int
main(int argc, char **argv)
{
	int runs = argc > 2 ? atoi(argv[2]) : 20;
	double best = 1e9;
	size_t combos = 0, failures = 0;
	struct rusage ru;
	long held = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: bench-load LIBRARY [RUNS]\n");
		return 2;
	}
	for (int r = 0; r < runs; r++) {
		struct perr e = { 0 };
		double t0 = now_s(), dt;
		struct library *lib = library_load(argv[1], NULL, &e);
		if (lib == NULL) {
			fprintf(stderr, "bench-load: %s\n", e.msg);
			return 1;
		}
		combos = 0;
		for (size_t i = 0; i < lib->ncolls; i++) {
			const struct collection *c = lib->colls[i];
			for (size_t j = 0; j < c->nclasses; j++) {
				struct resolver res = {
					.ps = &c->classes[j].ps,
				};
				size_t n;
				res.vals = xcalloc(res.ps->nparams + 1,
				    sizeof *res.vals);
				pset_each_combination(res.ps, resolve_one, &res,
				    &n);
				combos += n;
				failures += res.failures;
				free(res.vals);
			}
		}
		dt = now_s() - t0;
		if (dt < best)
			best = dt;
		if (r == runs - 1) {
			malloc_trim(0);
			held = rss_kib();
		}
		library_unref(lib);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("%.6f %zu %ld %ld\n", best, combos, ru.ru_maxrss, held);
	return failures != 0;
}
