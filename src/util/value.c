/* value.c -- parameter types and values: strict parsing of user text,
 * range checks and canonical (shortest round-trip) text. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "partsfs/util/value.h"

static const char *const type_names[PT__COUNT] = {
	[PT_LENGTH_MM] = "Length (mm)",
	[PT_LENGTH_IN] = "Length (in)",
	[PT_NUMBER] = "Number",
	[PT_BOOL] = "Bool",
	[PT_TABLE_INDEX] = "Table Index",
	[PT_STRING] = "String",
	[PT_ANGLE] = "Angle (deg)",
};

const char *
ptype_name(enum ptype t)
{
	return (unsigned)t < PT__COUNT ? type_names[t] : "?";
}

int
ptype_from_name(const char *s)
{
	for (int t = 0; t < PT__COUNT; t++) {
		if (strcmp(s, type_names[t]) == 0)
			return t;
	}
	return -1;
}

bool
ptype_discrete(enum ptype t)
{
	return t == PT_BOOL || t == PT_TABLE_INDEX;
}

bool
ptype_numeric(enum ptype t)
{
	return t == PT_LENGTH_MM || t == PT_LENGTH_IN || t == PT_NUMBER ||
	    t == PT_ANGLE;
}

struct value
value_type_default(enum ptype t)
{
	struct value v = { .kind = V_NUM };

	switch (t) {
	case PT_LENGTH_MM:
		v.u.num = 10;
		break;
	case PT_LENGTH_IN:
	case PT_NUMBER:
		v.u.num = 1;
		break;
	case PT_ANGLE:
		v.u.num = 0;
		break;
	case PT_BOOL:
		v.kind = V_BOOL;
		v.u.b = false;
		break;
	case PT_TABLE_INDEX:
	case PT_STRING:
	case PT__COUNT:
		v.kind = V_STR;
		v.u.str = "";
		break;
	}
	return v;
}

bool
num_parse(const char *s, size_t n, double *out)
{
	char buf[128];
	size_t i = 0, digits = 0;
	char *end;
	double d;

	if (n == 0 || n >= sizeof buf)
		return false;
	if (s[i] == '+' || s[i] == '-')
		i++;
	while (i < n && isdigit((unsigned char)s[i])) {
		i++;
		digits++;
	}
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && isdigit((unsigned char)s[i])) {
			i++;
			digits++;
		}
	}
	if (digits == 0)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t expdigits = 0;
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		while (i < n && isdigit((unsigned char)s[i])) {
			i++;
			expdigits++;
		}
		if (expdigits == 0)
			return false;
	}
	if (i != n)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	d = strtod(buf, &end);
	if (*end != '\0' || !isfinite(d))
		return false;
	/* too small for a double: a value that is not zero must not read as
	 * 0 (another part) */
	if (d == 0 && errno == ERANGE) {
		for (size_t k = 0; k < n && buf[k] != 'e' && buf[k] != 'E'; k++)
			if (buf[k] >= '1' && buf[k] <= '9')
				return false;
	}
	*out = d == 0 ? 0 : d;      /* -0 reads as 0 */
	return true;
}

/*
 * The fewest significant digits that read back as `d`, written in plain
 * decimal when the exponent is between -7 and 21 (20, 0.375, 2.5e-8 is
 * 2.5e-8), else in exponent form without '+' or leading zeros (1e21).
 *
 * A decimal of at most 15 significant digits survives the trip through a
 * double (DBL_DIG), so when the value printed to 15 digits reads back the
 * same, its shortest form is those digits without trailing zeros; only
 * values that need more are printed to 16 and then 17 digits.  The text is
 * then laid out by hand from the digits and the exponent.
 */
/*
 * The common case without printf: a value that is an integer m of fewer
 * than 2^53 scaled by 10^-k.  Both are exact doubles and IEEE division is
 * correctly rounded, so m / 10^k == d means the decimal text of m with k
 * decimals reads back as d; the smallest k gives the shortest text.
 */
static bool
num_canon_scaled(double d, char *out, int *digits, size_t *len)
{
	double a = fabs(d), scale = 1, m = 0;
	char rev[24], *w = out;
	int k, n = 0, sig;
	uint64_t u;

	if (!(a >= 1e-7 && a < 1e15))
		return false;
	for (k = 0; k <= 15; k++, scale *= 10) {
		if (a * scale >= 9007199254740992.0)
			return false;
		m = nearbyint(a * scale);
		if (m / scale == a)
			break;
	}
	if (k > 15)
		return false;
	for (u = (uint64_t)m; u != 0 || n <= k; u /= 10)
		rev[n++] = (char)('0' + u % 10);
	/* significant digits: without leading and trailing zeros */
	for (sig = n; sig > 1 && rev[sig - 1] == '0'; sig--)
		;
	for (int tz = 0; tz < n - 1 && rev[tz] == '0' && sig > 1; tz++)
		sig--;
	if (d < 0)
		*w++ = '-';
	for (int i = n - 1; i >= 0; i--) {
		*w++ = rev[i];
		if (i == k && k > 0)
			*w++ = '.';
	}
	*w = '\0';
	if (digits != NULL)
		*digits = sig;
	*len = (size_t)(w - out);
	return true;
}

size_t
num_canon(double d, char *out, int *digits)
{
	char tmp[48], mant[24], *e, *w = out;
	int p, exp, nd = 0;
	size_t len;

	if (d == 0)
		d = 0;              /* no "-0" */
	if (num_canon_scaled(d, out, digits, &len))
		return len;
	if (!isfinite(d)) {
		len = (size_t)snprintf(out, 32, "%s", isnan(d) ? "nan" :
		    d > 0 ? "inf" : "-inf");
		if (digits != NULL)
			*digits = 17;
		return len;
	}
	/* subnormals hold fewer digits: search them all */
	for (p = fabs(d) < DBL_MIN ? 1 : 15; p < 17; p++) {
		snprintf(tmp, sizeof tmp, "%.*e", p - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	if (p == 17)
		snprintf(tmp, sizeof tmp, "%.16e", d);
	/* tmp is [-]D.DDDDe[+-]XX: collect the digits and the exponent */
	e = strchr(tmp, 'e');
	exp = atoi(e + 1);
	for (const char *c = tmp; c < e; c++) {
		if (*c >= '0' && *c <= '9')
			mant[nd++] = *c;
	}
	while (nd > 1 && mant[nd - 1] == '0')
		nd--;
	if (digits != NULL)
		*digits = nd;
	if (d < 0)
		*w++ = '-';
	if (exp >= -7 && exp < 21) {
		if (exp < 0) {
			*w++ = '0';
			*w++ = '.';
			for (int i = -1; i > exp; i--)
				*w++ = '0';
			for (int i = 0; i < nd; i++)
				*w++ = mant[i];
		} else {
			for (int i = 0; i <= exp; i++)
				*w++ = i < nd ? mant[i] : '0';
			if (nd > exp + 1) {
				*w++ = '.';
				for (int i = exp + 1; i < nd; i++)
					*w++ = mant[i];
			}
		}
		*w = '\0';
	} else {
		*w++ = mant[0];
		if (nd > 1) {
			*w++ = '.';
			for (int i = 1; i < nd; i++)
				*w++ = mant[i];
		}
		w += sprintf(w, "e%d", exp);
	}
	return (size_t)(w - out);
}

void
value_canon(const struct value *v, struct buf *b)
{
	char tmp[40];

	switch (v->kind) {
	case V_NULL:
		break;
	case V_NUM:
		num_canon(v->u.num, tmp, NULL);
		buf_adds(b, tmp);
		break;
	case V_BOOL:
		buf_adds(b, v->u.b ? "true" : "false");
		break;
	case V_STR:
		buf_adds(b, v->u.str);
		break;
	}
}

bool
value_equal(const struct value *a, const struct value *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case V_NULL:
		return true;
	case V_NUM:
		return a->u.num == b->u.num;
	case V_BOOL:
		return a->u.b == b->u.b;
	case V_STR:
		return strcmp(a->u.str, b->u.str) == 0;
	}
	return false;
}

int
value_check(enum ptype t, const char *pname, const struct value *v,
    struct perr *e)
{
	char tmp[40];

	if (v->kind == V_NULL)
		return 0;
	switch (t) {
	case PT_LENGTH_MM:
	case PT_LENGTH_IN:
		if (v->kind != V_NUM || !isfinite(v->u.num) || v->u.num < 0) {
			num_canon(v->u.num, tmp, NULL);
			return perr_set(e, EINVAL, "%s=%s: a length must be a "
			    "number >= 0", pname, tmp);
		}
		break;
	case PT_ANGLE:
		if (v->kind != V_NUM || !isfinite(v->u.num) ||
		    fabs(v->u.num) > 360) {
			num_canon(v->u.num, tmp, NULL);
			return perr_set(e, EINVAL, "%s=%s: an angle must be "
			    "between -360 and 360 degrees", pname, tmp);
		}
		break;
	case PT_NUMBER:
		if (v->kind != V_NUM || !isfinite(v->u.num))
			return perr_set(e, EINVAL, "%s: a number must be "
			    "finite", pname);
		break;
	case PT_BOOL:
		if (v->kind != V_BOOL)
			return perr_set(e, EINVAL, "%s: expected true or "
			    "false", pname);
		break;
	case PT_TABLE_INDEX:
	case PT_STRING:
		if (v->kind != V_STR)
			return perr_set(e, EINVAL, "%s: expected text", pname);
		break;
	case PT__COUNT:
		break;
	}
	return 0;
}

enum value_fault
value_read(enum ptype t, const char *s, size_t n, unsigned flags,
    struct value *out)
{
	switch (t) {
	case PT_LENGTH_MM:
	case PT_LENGTH_IN:
	case PT_NUMBER:
	case PT_ANGLE:
		out->kind = V_NUM;
		if (!num_parse(s, n, &out->u.num))
			return VF_SYNTAX;
		return value_check(t, "", out, NULL) == 0 ? VF_NONE :
		    VF_RANGE;
	case PT_BOOL:
		out->kind = V_BOOL;
		if (n == 4 && ((flags & VALUE_ANY_CASE) ?
		    strncasecmp(s, "true", 4) : memcmp(s, "true", 4)) == 0)
			out->u.b = true;
		else if (n == 5 && ((flags & VALUE_ANY_CASE) ?
		    strncasecmp(s, "false", 5) : memcmp(s, "false", 5)) == 0)
			out->u.b = false;
		else
			return VF_SYNTAX;
		return VF_NONE;
	case PT_TABLE_INDEX:
	case PT_STRING:
		if (memchr(s, '\0', n) != NULL || !utf8_valid(s, n))
			return VF_SYNTAX;
		out->kind = V_STR;
		out->u.str = s;
		return VF_NONE;
	case PT__COUNT:
		break;
	}
	return VF_SYNTAX;
}

int
value_parse(enum ptype t, const char *pname, const char *s, size_t n,
    struct value *out, struct perr *e)
{
	int shown = (int)(n > 64 ? 64 : n);
	const char *what;

	switch (value_read(t, s, n, 0, out)) {
	case VF_NONE:
		return 0;
	case VF_RANGE:
		return value_check(t, pname, out, e);
	case VF_SYNTAX:
		break;
	}
	switch (t) {
	case PT_BOOL:
		return perr_set(e, EINVAL, "%s=%.*s: expected true or false "
		    "(Bool)", pname, shown, s);
	case PT_TABLE_INDEX:
	case PT_STRING:
		return perr_set(e, EINVAL, "%s: the value is not valid UTF-8 "
		    "text", pname);
	default:
		what = t == PT_NUMBER ? "a finite decimal number" :
		    t == PT_ANGLE ? "a decimal angle in degrees, -360 to 360" :
		    "a decimal length >= 0";
		return perr_set(e, EINVAL, "%s=%.*s: not %s (%s)", pname, shown,
		    s, what, ptype_name(t));
	}
}
