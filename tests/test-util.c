/* test-util.c -- natural order, UTF-8 checks, buffers, arenas and
 * write_all. */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "partsfs/util/util.h"
#include "tap.h"

static void
natural_order_compares_numbers_by_value(void)
{
	CHECK(natcmp("M1.6", "M2") < 0);
	CHECK(natcmp("M2", "M10") < 0);
	CHECK(natcmp("M10", "M2") > 0);
	CHECK(natcmp("HEA100", "HEA120") < 0);
	CHECK(natcmp("HEA120", "HEA1000") < 0);
	CHECK(natcmp("M8", "M8") == 0);
}

static void
natural_order_compares_decimal_fractions(void)
{
	CHECK(natcmp("0.375 in", "0.5 in") < 0);
	CHECK(natcmp("M1.6", "M1.8") < 0);
	CHECK(natcmp("M1", "M1.6") < 0);
	CHECK(natcmp("21.3-2.3", "21.3-2.6") < 0);
}

static void
natural_order_is_total_for_equal_numbers(void)
{
	/* numerically equal spellings still have a fixed order */
	CHECK(natcmp("M08", "M8") != 0);
	CHECK(natcmp("M08", "M8") == -natcmp("M8", "M08"));
}

static void
natural_sort_orders_bolts_sizes(void)
{
	const char *v[] = { "M10", "M2", "M1.6", "M24", "M3", "M2.5", "M12" };
	const char *want[] = { "M1.6", "M2", "M2.5", "M3", "M10", "M12",
	    "M24" };

	natsort(v, 7);
	for (size_t i = 0; i < 7; i++)
		CHECK_STR(v[i], want[i]);
}

static void
natural_order_keeps_words_alphabetical(void)
{
	CHECK(natcmp("coarse", "fine I") < 0);
	CHECK(natcmp("fine I", "fine II") < 0);
	CHECK(natcmp("fine II", "fine III") < 0);
}

static void
utf8_accepts_valid_and_refuses_invalid_text(void)
{
	CHECK(utf8_valid("M8", 2));
	CHECK(utf8_valid("Stra\xc3\x9f" "e", 7));
	CHECK(utf8_valid("\xe2\x82\xac", 3));
	CHECK(!utf8_valid("\xff", 1));
	CHECK(!utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
	CHECK(!utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	CHECK(!utf8_valid("\xe2\x82", 2));         /* truncated */
	CHECK(!utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
}

static void
buffers_grow_and_stay_terminated(void)
{
	struct buf b = BUF_INIT;

	CHECK_STR(buf_str(&b), "");
	for (int i = 0; i < 1000; i++)
		buf_printf(&b, "%d,", i);
	CHECK(b.len > 3000);
	CHECK(b.p[b.len] == '\0');
	CHECK(strncmp(b.p, "0,1,2,", 6) == 0);
	buf_reset(&b);
	CHECK_STR(buf_str(&b), "");
	buf_free(&b);

	/* a text that fills the room exactly, then one that does not fit
	 * in what is left, then one longer than the whole buffer */
	{
		char fill[64], big[300];
		memset(fill, 'a', 63);
		fill[63] = '\0';
		memset(big, 'b', 299);
		big[299] = '\0';
		buf_printf(&b, "%s", fill);
		CHECK(b.len == 63 && b.p[63] == '\0');
		buf_printf(&b, "%c%d", 'x', 42);
		CHECK(b.len == 66 && strcmp(b.p + 63, "x42") == 0);
		CHECK(strspn(b.p, "a") == 63);
		buf_printf(&b, "[%s]", big);
		CHECK(b.len == 66 + 301 && b.p[b.len] == '\0');
		CHECK(b.p[66] == '[' && b.p[67] == 'b' && b.p[b.len - 1] == ']');
		CHECK(strspn(b.p + 67, "b") == 299);
		buf_free(&b);
	}
}

static void
arenas_hand_out_zeroed_aligned_memory(void)
{
	struct arena *a = arena_new();
	char *big;

	for (int i = 0; i < 10000; i++) {
		unsigned char *p = arena_alloc(a, (size_t)(i % 37) + 1);
		CHECK(((uintptr_t)p % 16) == 0);
		CHECK(p[0] == 0);
		p[0] = 0xff;
	}
	big = arena_alloc(a, 1 << 20);
	CHECK(big[(1 << 20) - 1] == 0);
	CHECK_STR(arena_printf(a, "%s-%d", "M", 8), "M-8");
	arena_free(a);
}

static void
errors_carry_code_and_message(void)
{
	struct perr e = { 0 };

	CHECK_INT(perr_set(&e, 2, "no %s", "file"), -2);
	CHECK_INT(e.code, 2);
	CHECK_STR(e.msg, "no file");
	CHECK_INT(perr_set(NULL, 5, "ignored"), -5);
}

static void
write_all_writes_everything_and_reports_errors(void)
{
	static char data[256 * 1024], got[sizeof data];
	size_t off = 0;
	ssize_t n;
	pid_t pid;
	int p[2], status;

	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (char)(i * 7 + i / 251);
	/* more than a pipe holds, so the writer is cut short and goes on */
	CHECK_INT(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		_exit(write_all(p[1], data, sizeof data) == 0 ? 0 : 1);
	}
	close(p[1]);
	while (off < sizeof got &&
	    (n = read(p[0], got + off, sizeof got - off)) > 0)
		off += (size_t)n;
	CHECK_INT(read(p[0], got, 1), 0);
	close(p[0]);
	CHECK_INT(waitpid(pid, &status, 0), pid);
	CHECK_INT(status, 0);
	CHECK(off == sizeof data);
	CHECK(memcmp(got, data, sizeof data) == 0);
	CHECK_INT(write_all(-1, data, 1), -EBADF);
	/* no reader left: EPIPE (SIGPIPE ignored) */
	CHECK_INT(pipe(p), 0);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	CHECK_INT(write_all(p[1], data, 10), -EPIPE);
	signal(SIGPIPE, SIG_DFL);
	close(p[1]);
	CHECK_INT(write_all(p[1], data, 0), 0);
}

TAP_MAIN(
	TAP_CASE(natural_order_compares_numbers_by_value),
	TAP_CASE(natural_order_compares_decimal_fractions),
	TAP_CASE(natural_order_is_total_for_equal_numbers),
	TAP_CASE(natural_sort_orders_bolts_sizes),
	TAP_CASE(natural_order_keeps_words_alphabetical),
	TAP_CASE(utf8_accepts_valid_and_refuses_invalid_text),
	TAP_CASE(buffers_grow_and_stay_terminated),
	TAP_CASE(arenas_hand_out_zeroed_aligned_memory),
	TAP_CASE(errors_carry_code_and_message),
	TAP_CASE(write_all_writes_everything_and_reports_errors)
)
