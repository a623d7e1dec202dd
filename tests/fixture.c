/* fixture.c -- small libraries for tests (see fixture.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "partsfs/model/load.h"
#include "fixture.h"
#include "tap.h"

const char *
fixture_dir(const char *coll, const char *classes)
{
	const char *dir = tap_tmpdir();
	char *rel, *text;

	if (asprintf(&rel, "data/%s.blt", coll) < 0 ||
	    asprintf(&text, "---\nid: %s\nauthor: Test Author <t@example.org>\n"
	    "license: MIT <http://opensource.org/licenses/MIT>\n"
	    "blt-version: 0.4\nclasses:\n%s", coll, classes) < 0)
		abort();
	tap_write(dir, rel, text);
	free(rel);
	free(text);
	return dir;
}

struct library *
fixture_load_dir(const char *dir)
{
	struct perr e = { 0 };
	struct library_opts o = { .threads = 1 };
	struct library *lib = library_load(dir, &o, &e);

	if (lib == NULL) {
		tap_note("library_load: %s", e.msg);
		abort();
	}
	return lib;
}

struct library *
fixture_load(const char *coll, const char *classes)
{
	return fixture_load_dir(fixture_dir(coll, classes));
}

const char *
fixture_diag(const struct library *lib, enum diag_severity sev,
    const char *needle)
{
	static char *s;

	for (size_t i = 0; i < lib->diags.n; i++) {
		if (lib->diags.v[i].severity != sev)
			continue;
		free(s);
		s = diag_format(&lib->diags.v[i]);
		if (strstr(s, needle) != NULL)
			return s;
	}
	return NULL;
}

const char *
fixture_diags(const struct library *lib)
{
	static struct buf b;

	buf_reset(&b);
	for (size_t i = 0; i < lib->diags.n; i++) {
		char *s = diag_format(&lib->diags.v[i]);
		buf_printf(&b, "%s\n", s);
		free(s);
	}
	return buf_str(&b);
}

int
fixture_collect(const struct pclass *cls, const char *const *pairs,
    struct value *vals, struct perr *e)
{
	struct value freev[PF_MAX_FREE];
	const struct pset *ps = &cls->ps;
	int r;

	for (size_t i = 0; i < PF_MAX_FREE; i++)
		freev[i].kind = V_NULL;
	for (size_t i = 0; pairs != NULL && pairs[i] != NULL; i += 2) {
		int pi = pset_find(ps, pairs[i]);
		if (pi < 0 || ps->params[pi].free_pos < 0)
			return perr_set(e, 22, "no free parameter %s", pairs[i]);
		r = value_parse(ps->params[pi].type, pairs[i], pairs[i + 1],
		    strlen(pairs[i + 1]), &freev[ps->params[pi].free_pos], e);
		if (r != 0)
			return r;
	}
	return pset_collect(ps, freev, vals, e);
}

const char *
fixture_value(const struct pclass *cls, const struct value *vals,
    const char *name)
{
	static struct buf b;
	int pi = pset_find(&cls->ps, name);

	buf_reset(&b);
	if (pi < 0)
		return "(no such parameter)";
	if (vals[pi].kind == V_NULL)
		return "(null)";
	value_canon(&vals[pi], &b);
	return buf_str(&b);
}
