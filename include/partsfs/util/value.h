/* value.h -- BOLTS parameter types and typed values: strict parsing of user
 * text, range checks, and the canonical text that path names and cache keys
 * are built from. */
#ifndef PARTSFS_VALUE_H
#define PARTSFS_VALUE_H

#include <stdbool.h>
#include <stddef.h>

#include "partsfs/util/util.h"

enum ptype {
	PT_LENGTH_MM,
	PT_LENGTH_IN,
	PT_NUMBER,
	PT_BOOL,
	PT_TABLE_INDEX,
	PT_STRING,
	PT_ANGLE,
	PT__COUNT
};

/* "Length (mm)", "Length (in)", "Number", "Bool", "Table Index", "String",
 * "Angle (deg)". */
const char *ptype_name(enum ptype t);
/* Exact match on the names above; -1 when unknown. */
int ptype_from_name(const char *s);
/* Bool and Table Index are discrete: they become directory levels. */
bool ptype_discrete(enum ptype t);
bool ptype_numeric(enum ptype t);

enum vkind {
	V_NULL,        /* no value: a None table cell */
	V_NUM,
	V_BOOL,
	V_STR,         /* Table Index and String */
};

struct value {
	enum vkind kind;
	union {
		double num;
		bool b;
		const char *str;    /* not owned */
	} u;
};

/* The spec's type defaults: Length (mm) 10, Length (in) 1, Number 1, Bool
 * false, Table Index "", String "", Angle 0. */
struct value value_type_default(enum ptype t);

/*
 * Parse user text (a path component or a command-line argument) as type
 * `t`.  Numbers are decimal only ([+-]digits[.digits][e[+-]digits]); hex,
 * inf, nan and surrounding blanks are refused.  Bools are true or false.
 * Table Index and String values must be valid UTF-8 without NUL; the
 * result points into `s` (the caller keeps `s` alive).  Range checks of
 * value_check() are applied too.  Returns 0 or -EINVAL with a message that
 * names `pname`, the value and what would be accepted.
 */
int value_parse(enum ptype t, const char *pname, const char *s, size_t n,
    struct value *out, struct perr *e);

/*
 * The one parser of typed values: text `s` (n bytes) as type `t`, with the
 * syntax value_parse describes.  VALUE_ANY_CASE also takes True, TRUE,
 * False and FALSE for a Bool, as YAML does.  A string value points into
 * `s`.  What was wrong, for the caller's message: VF_SYNTAX (not such a
 * value), VF_RANGE (out of value_check's range; *out holds the value).
 */
enum value_fault {
	VF_NONE,
	VF_SYNTAX,
	VF_RANGE,
};
#define VALUE_ANY_CASE 0x1
enum value_fault value_read(enum ptype t, const char *s, size_t n,
    unsigned flags, struct value *out);

/* Range checks: Length >= 0, |Angle| <= 360, numbers finite. */
int value_check(enum ptype t, const char *pname, const struct value *v,
    struct perr *e);

/* Shortest decimal text that reads back as the same double: 20, 2.5,
 * 0.375, 1e+21 is written 1e21, -0 is written 0.  `out` must hold 32 bytes.
 * Returns the length.  Also reports the number of significant digits. */
size_t num_canon(double d, char *out, int *digits);

/* Canonical text of a value: numbers as num_canon, bools true/false,
 * strings as they are, null as the empty string.  Appends to `b`. */
void value_canon(const struct value *v, struct buf *b);

bool value_equal(const struct value *a, const struct value *b);

/* Strict decimal number syntax check and conversion, shared by value_parse
 * and the YAML loader.  Returns false when `s` is not a finite decimal. */
bool num_parse(const char *s, size_t n, double *out);

#endif
