/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Unit tests for the escaping of network bytes in log lines (log.c):
 * exact output, the cut that never splits an escape, and a destination
 * name formatted the same way (target.c). */
#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "base/log.h"
#include "proto/target.h"

START_TEST(escape_exact_bytes)
{
	char out[LOG_ESC_SIZE(64)];
	const char in[] = "a b\n'\"\\=\x1b\x7f\xc3\xb6~!";
	bool cut = true;

	size_t n = log_escape(out, sizeof(out), in, sizeof(in) - 1, &cut);
	ck_assert_str_eq(out, "a\\x20b\\x0a\\x27\\x22\\x5c=\\x1b\\x7f\\xc3\\xb6~!");
	ck_assert_uint_eq(n, strlen(out));
	ck_assert(!cut);
}
END_TEST

START_TEST(escape_cut_never_splits)
{
	char out[8];
	bool cut = false;

	/* "ab" then an escape that needs 4 of the 5 bytes left: it fits; the
	 * next one does not, and is dropped whole. */
	size_t n = log_escape(out, sizeof(out), "ab\n\n", 4, &cut);
	ck_assert_str_eq(out, "ab\\x0a");
	ck_assert_uint_eq(n, 6);
	ck_assert(cut);
	n = log_escape(out, 1, "x", 1, &cut);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(out, "");
	ck_assert(cut);
}
END_TEST

START_TEST(esc_empty_is_dash)
{
	char out[LOG_ESC_SIZE(8)];

	ck_assert_str_eq(log_esc(out, sizeof(out), NULL), "-");
	ck_assert_str_eq(log_esc(out, sizeof(out), ""), "-");
	ck_assert_str_eq(log_esc(out, sizeof(out), "alice"), "alice");
}
END_TEST

START_TEST(target_name_escaped_alike)
{
	struct target t;
	char out[TARGET_TEXT_MAX];

	memset(&t, 0, sizeof(t));
	t.type = TARGET_DOMAIN;
	memcpy(t.addr.domain, "a'b c\n", 6);
	t.domain_len = 6;
	t.port = 80;
	target_format(&t, out, sizeof(out));
	ck_assert_str_eq(out, "a\\x27b\\x20c\\x0a:80");
}
END_TEST

/* A flood gets its first line at once, then one a period with the count
 * of what was not logged in between. */
START_TEST(every_counts_what_it_skips)
{
	struct log_every e = { 0 };
	unsigned skipped = 99;

	ck_assert(log_every_due(&e, 0, 1000, &skipped)); /* a clock at 0 still counts */
	ck_assert_uint_eq(skipped, 0);
	for (int i = 0; i < 5; i++)
		ck_assert(!log_every_due(&e, 999, 1000, &skipped));
	ck_assert(log_every_due(&e, 1001, 1000, &skipped));
	ck_assert_uint_eq(skipped, 5);
	ck_assert(!log_every_due(&e, 2000, 1000, &skipped));
	ck_assert(log_every_due(&e, 2001, 1000, &skipped));
	ck_assert_uint_eq(skipped, 1);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("escape");
	tcase_add_test(tc, escape_exact_bytes);
	tcase_add_test(tc, escape_cut_never_splits);
	tcase_add_test(tc, esc_empty_is_dash);
	tcase_add_test(tc, target_name_escaped_alike);
	tcase_add_test(tc, every_counts_what_it_skips);
	suite_add_tcase(s, tc);
	return s;
}

#include "check_main.h"
