/* label.c -- names and labels: BOLTS's sanitising of nice names into safe
 * ones, and the %(name)s substitution that labels a part. */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "partsfs/model/label.h"

/* The identifier rule of BOLTS: split at blanks, capitalise each word that
 * is not all upper case (lower-casing the rest of it), join, then turn '-'
 * into '_' and drop anything else that is not a letter, digit or '_'.
 * "DIN 933" gives DIN933, "Hexagon head screw" HexagonHeadScrew. */
const char *
ident_sanitize(struct arena *a, const char *nice)
{
	struct buf b = BUF_INIT;
	const char *s = nice;
	const char *out;

	while (*s != '\0') {
		const char *w;
		bool has_lower = false, has_upper = false;
		while (*s != '\0' && isspace((unsigned char)*s))
			s++;
		for (w = s; *s != '\0' && !isspace((unsigned char)*s); s++) {
			if (islower((unsigned char)*s))
				has_lower = true;
			if (isupper((unsigned char)*s))
				has_upper = true;
		}
		for (const char *p = w; p < s; p++) {
			unsigned char c = (unsigned char)*p;
			if (has_upper && !has_lower)
				;               /* an all-caps word stays */
			else if (p == w)
				c = (unsigned char)toupper(c);
			else
				c = (unsigned char)tolower(c);
			if (isalnum(c) || c == '_')
				buf_addc(&b, (char)c);
			else if (c == '-')
				buf_addc(&b, '_');
		}
	}
	out = arena_intern(a, buf_str(&b), b.len);
	buf_free(&b);
	return out;
}

static bool
safe_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("/\\?*:|\"'<>", c) == NULL;
}

/* A safe labeling template from a nice one: runs of blanks become one '_',
 * characters a safe name may not hold are dropped (the % and parentheses
 * of placeholders are kept). */
const char *
subst_sanitize(struct arena *a, const char *nice)
{
	struct buf b = BUF_INIT;
	bool blank = false;
	const char *out;

	for (const unsigned char *s = (const unsigned char *)nice; *s; s++) {
		if (isspace(*s)) {
			blank = b.len > 0;
			continue;
		}
		if (!safe_char(*s))
			continue;
		if (blank)
			buf_addc(&b, '_');
		blank = false;
		buf_addc(&b, (char)*s);
	}
	out = arena_intern(a, buf_str(&b), b.len);
	buf_free(&b);
	return out;
}

void
subst_expand(const char *tmpl, const struct pset *ps, const struct value *vals,
    bool safe, struct buf *out)
{
	struct buf val = BUF_INIT;

	for (const char *s = tmpl; *s != '\0'; s++) {
		const char *end;
		int pi = -1;
		if (*s != '%') {
			buf_addc(out, *s);
			continue;
		}
		if (s[1] == '%') {
			buf_addc(out, '%');
			s++;
			continue;
		}
		if (s[1] == '(' && (end = strstr(s + 2, ")s")) != NULL) {
			char name[256];
			size_t n = (size_t)(end - s - 2);
			if (n < sizeof name) {
				memcpy(name, s + 2, n);
				name[n] = '\0';
				pi = pset_find(ps, name);
			}
			if (pi >= 0) {
				buf_reset(&val);
				value_canon(&vals[pi], &val);
				for (size_t i = 0; i < val.len; i++) {
					unsigned char c = (unsigned char)val.p[i];
					buf_addc(out, safe && !safe_char(c) ?
					    '_' : (char)c);
				}
				s = end + 1;
				continue;
			}
		}
		buf_addc(out, '%');
	}
	buf_free(&val);
}

void
class_label(const struct pclass *cls, const struct pset *ps,
    const struct value *vals, bool safe, struct buf *out)
{
	const struct subst *s = NULL;

	if (cls->nstandards > 0)
		s = &cls->standards[0].labeling;
	else if (cls->nnames > 0)
		s = &cls->names[0].labeling;
	if (s == NULL) {
		buf_adds(out, cls->id);
		return;
	}
	subst_expand(safe ? s->safe : s->nice, ps, vals, safe, out);
}
