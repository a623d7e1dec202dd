/* test-value.c -- types, strict value parsing, range checks and the
 * canonical number text that names and cache keys are built from. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "partsfs/util/value.h"
#include "tap.h"

static const char *
canon(double d)
{
	static char out[64];

	num_canon(d, out, NULL);
	return out;
}

static void
canonical_numbers_are_shortest_round_trip(void)
{
	CHECK_STR(canon(20), "20");
	CHECK_STR(canon(2.5), "2.5");
	CHECK_STR(canon(0.375), "0.375");
	CHECK_STR(canon(5.3), "5.3");
	CHECK_STR(canon(0.1), "0.1");
	CHECK_STR(canon(100), "100");
	CHECK_STR(canon(1000000), "1000000");
	CHECK_STR(canon(0.30000000000000004), "0.30000000000000004");
	CHECK_STR(canon(-12.75), "-12.75");
}

static void
canonical_numbers_use_exponents_only_for_extremes(void)
{
	CHECK_STR(canon(1e21), "1e21");
	CHECK_STR(canon(1.5e-8), "1.5e-8");
	CHECK_STR(canon(1e-7), "0.0000001");
	CHECK_STR(canon(1e20), "100000000000000000000");
	CHECK_STR(canon(1e308), "1e308");
}

static void
canonical_numbers_count_significant_digits(void)
{
	static const struct { double d; int digits; } v[] = {
		{ 1000, 1 }, { 60000, 1 }, { 1200, 2 }, { 0.05, 1 },
		{ 10.25, 4 }, { 0, 1 }, { 1e20, 1 }, { 0.30000000000000004, 17 },
		{ 123456789012345, 15 }, { 1e-7, 1 },
	};
	char out[64];
	int digits;

	/* found by fuzzing: 1000 counted 2 */
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		num_canon(v[i].d, out, &digits);
		CHECK_MSG(digits == v[i].digits, "%s: %d digits, not %d", out,
		    digits, v[i].digits);
	}
}

static void
canonical_text_of_negative_zero_is_zero(void)
{
	CHECK_STR(canon(-0.0), "0");
}

static void
canonical_text_reads_back_exactly(void)
{
	const double v[] = { 1.0 / 3, 2.0 / 3, 123456.789, 6.02214076e23,
	    1e-300, 0.1 + 0.2, 25.4 };

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		double back;
		const char *s = canon(v[i]);
		CHECK_MSG(num_parse(s, strlen(s), &back) && back == v[i],
		    "%.17g -> %s does not read back", v[i], s);
	}
}

static void
numbers_accept_plain_decimal_spellings(void)
{
	double d;

	CHECK(num_parse("20", 2, &d) && d == 20);
	CHECK(num_parse("20.0", 4, &d) && d == 20);
	CHECK(num_parse("2e1", 3, &d) && d == 20);
	CHECK(num_parse("+20", 3, &d) && d == 20);
	CHECK(num_parse(".5", 2, &d) && d == 0.5);
	CHECK(num_parse("5.", 2, &d) && d == 5);
	CHECK(num_parse("1E-3", 4, &d) && d == 0.001);
	CHECK(num_parse("-0", 2, &d) && d == 0 && !signbit(d));
	/* zero however small its exponent; a denormal is a value */
	CHECK(num_parse("0e-999", 6, &d) && d == 0);
	CHECK(num_parse("0.000e-400", 10, &d) && d == 0);
	CHECK(num_parse("1e-310", 6, &d) && d > 0);
}

static void
numbers_refuse_everything_else(void)
{
	const char *bad[] = { "", "+", "-", ".", "e5", "1e", "1e+", "abc",
	    "20mm", " 20", "20 ", "0x10", "inf", "-inf", "nan", "NaN",
	    "1e400", "1,5", "1..2", "--1", "1e-400", "-2.5e-999" };
	double d;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_MSG(!num_parse(bad[i], strlen(bad[i]), &d),
		    "'%s' was accepted", bad[i]);
}

static void
lengths_must_not_be_negative(void)
{
	struct value v;
	struct perr e = { 0 };

	CHECK_INT(value_parse(PT_LENGTH_MM, "length", "-5", 2, &v, &e),
	    -EINVAL);
	CHECK_CONTAINS(e.msg, "length=-5");
	CHECK_CONTAINS(e.msg, ">= 0");
	CHECK_INT(value_parse(PT_LENGTH_IN, "l", "0", 1, &v, &e), 0);
}

static void
angles_stay_within_a_full_turn(void)
{
	struct value v;
	struct perr e = { 0 };

	CHECK_INT(value_parse(PT_ANGLE, "a", "360", 3, &v, &e), 0);
	CHECK_INT(value_parse(PT_ANGLE, "a", "-360", 4, &v, &e), 0);
	CHECK_INT(value_parse(PT_ANGLE, "a", "360.5", 5, &v, &e), -EINVAL);
	CHECK_CONTAINS(e.msg, "-360 and 360");
}

static void
bools_are_lower_case_true_or_false(void)
{
	struct value v;
	struct perr e = { 0 };

	CHECK_INT(value_parse(PT_BOOL, "b", "true", 4, &v, &e), 0);
	CHECK(v.kind == V_BOOL && v.u.b);
	CHECK_INT(value_parse(PT_BOOL, "b", "false", 5, &v, &e), 0);
	CHECK(v.kind == V_BOOL && !v.u.b);
	CHECK_INT(value_parse(PT_BOOL, "b", "True", 4, &v, &e), -EINVAL);
	CHECK_INT(value_parse(PT_BOOL, "b", "1", 1, &v, &e), -EINVAL);
	CHECK_CONTAINS(e.msg, "true or false");
}

static void
numbers_errors_name_parameter_value_and_type(void)
{
	struct value v;
	struct perr e = { 0 };

	CHECK_INT(value_parse(PT_LENGTH_MM, "length", "abc", 3, &v, &e),
	    -EINVAL);
	CHECK_CONTAINS(e.msg, "length=abc");
	CHECK_CONTAINS(e.msg, "Length (mm)");
	CHECK_INT(value_parse(PT_NUMBER, "n", "nan", 3, &v, &e), -EINVAL);
	CHECK_CONTAINS(e.msg, "finite");
}

static void
text_values_must_be_utf8_without_nul(void)
{
	struct value v;
	struct perr e = { 0 };

	CHECK_INT(value_parse(PT_STRING, "s", "caf\xc3\xa9", 5, &v, &e), 0);
	CHECK_STR(v.u.str, "caf\xc3\xa9");
	CHECK_INT(value_parse(PT_STRING, "s", "\xff\xfe", 2, &v, &e), -EINVAL);
	CHECK_INT(value_parse(PT_TABLE_INDEX, "k", "a\0b", 3, &v, &e),
	    -EINVAL);
}

static void
type_defaults_follow_the_specification(void)
{
	struct value v;

	v = value_type_default(PT_LENGTH_MM);
	CHECK(v.kind == V_NUM && v.u.num == 10);
	v = value_type_default(PT_LENGTH_IN);
	CHECK(v.kind == V_NUM && v.u.num == 1);
	v = value_type_default(PT_NUMBER);
	CHECK(v.kind == V_NUM && v.u.num == 1);
	v = value_type_default(PT_ANGLE);
	CHECK(v.kind == V_NUM && v.u.num == 0);
	v = value_type_default(PT_BOOL);
	CHECK(v.kind == V_BOOL && !v.u.b);
	v = value_type_default(PT_TABLE_INDEX);
	CHECK(v.kind == V_STR && v.u.str[0] == '\0');
	v = value_type_default(PT_STRING);
	CHECK(v.kind == V_STR && v.u.str[0] == '\0');
}

static void
type_names_are_exact(void)
{
	CHECK_INT(ptype_from_name("Length (mm)"), PT_LENGTH_MM);
	CHECK_INT(ptype_from_name("Angle (deg)"), PT_ANGLE);
	CHECK_INT(ptype_from_name("Table Index"), PT_TABLE_INDEX);
	CHECK_INT(ptype_from_name("length (mm)"), -1);
	CHECK_INT(ptype_from_name("Length"), -1);
	CHECK(ptype_discrete(PT_BOOL) && ptype_discrete(PT_TABLE_INDEX));
	CHECK(!ptype_discrete(PT_STRING) && !ptype_discrete(PT_LENGTH_MM));
}

TAP_MAIN(
	TAP_CASE(canonical_numbers_are_shortest_round_trip),
	TAP_CASE(canonical_numbers_use_exponents_only_for_extremes),
	TAP_CASE(canonical_numbers_count_significant_digits),
	TAP_CASE(canonical_text_of_negative_zero_is_zero),
	TAP_CASE(canonical_text_reads_back_exactly),
	TAP_CASE(numbers_accept_plain_decimal_spellings),
	TAP_CASE(numbers_refuse_everything_else),
	TAP_CASE(lengths_must_not_be_negative),
	TAP_CASE(angles_stay_within_a_full_turn),
	TAP_CASE(bools_are_lower_case_true_or_false),
	TAP_CASE(numbers_errors_name_parameter_value_and_type),
	TAP_CASE(text_values_must_be_utf8_without_nul),
	TAP_CASE(type_defaults_follow_the_specification),
	TAP_CASE(type_names_are_exact)
)
