/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Unit tests for the escaping of network bytes in log lines (log.c):
 * exact output, the cut that never splits an escape, and a destination
 * name formatted the same way (target.c); the lines written to a log
 * file, as text and as JSON. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* ---- lines in a log file ---- */

static char log_tmp[64];

/* Log to a fresh temporary file, at debug, as JSON or text. */
static void file_open(bool json)
{
	char err[256];
	strcpy(log_tmp, "/tmp/hopsocks-test-log.XXXXXX");
	int fd = mkstemp(log_tmp);
	ck_assert_int_ge(fd, 0);
	close(fd);
	log_open(LOG_LVL_DEBUG, false, true);
	log_set_json(json);
	ck_assert_msg(log_open_file(log_tmp, err, sizeof(err)) == 0, "%s", err);
}

/* The file's lines so far, each without what comes before "]: " in text
 * (time and pid) or before ","level" in JSON (the time), then close. */
static char *file_take(bool json)
{
	static char out[16384];
	char line[8192];
	size_t n = 0;
	FILE *f = fopen(log_tmp, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		const char *from = json ? strstr(line, ",\"level\"") : strstr(line, "]: ");
		ck_assert_ptr_nonnull(from);
		from += json ? 1 : 3;
		size_t len = strlen(from);
		ck_assert(n + len < sizeof(out));
		memcpy(out + n, from, len + 1);
		n += len;
	}
	fclose(f);
	unlink(log_tmp);
	log_set_json(false);
	log_close();
	return out;
}

static void write_sample(void)
{
	struct log_field f[] = {
		{ .key = "client", .str = "[::1]:5" },
		{ .key = "session", .num = 42 },
		{ .key = "user", .str = "a\\x22b" },
		{ .key = "up", .num = 18446744073709551615ULL },
	};
	log_msg(LOG_LVL_WARN, "plain \"q\" back\\slash");
	log_session(LOG_LVL_DEBUG, "127.0.0.1:9", 7, "detect -> %s", "s5-greeting");
	log_session(LOG_LVL_INFO, "127.0.0.1:9", 7, "ctl\nchar");
	log_access_fields(f, 4);
}

START_TEST(file_text_lines)
{
	file_open(false);
	write_sample();
	ck_assert_str_eq(file_take(false),
			 "warn plain \"q\" back\\slash\n"
			 "debug client 127.0.0.1:9 session 7: detect -> s5-greeting\n"
			 "info client 127.0.0.1:9 session 7: ctl?char\n"
			 "info access client=[::1]:5 session=42 user=a\\x22b "
			 "up=18446744073709551615\n");
}
END_TEST

START_TEST(file_json_lines)
{
	char want[1024];
	file_open(true);
	write_sample();
	long pid = (long)getpid();
	snprintf(want, sizeof(want),
		 "\"level\":\"warn\",\"pid\":%ld,\"msg\":\"plain \\\"q\\\" back\\\\slash\"}\n"
		 "\"level\":\"debug\",\"pid\":%ld,\"client\":\"127.0.0.1:9\",\"session\":7,"
		 "\"msg\":\"detect -> s5-greeting\"}\n"
		 "\"level\":\"info\",\"pid\":%ld,\"client\":\"127.0.0.1:9\",\"session\":7,"
		 "\"msg\":\"ctl?char\"}\n"
		 "\"level\":\"info\",\"pid\":%ld,\"type\":\"access\",\"client\":\"[::1]:5\","
		 "\"session\":42,\"user\":\"a\\\\x22b\",\"up\":18446744073709551615}\n",
		 pid, pid, pid, pid);
	ck_assert_str_eq(file_take(true), want);
}
END_TEST

/* A field that does not fit is left out whole, with those after it: the
 * line is still one JSON object. */
START_TEST(file_json_long_field_left_out)
{
	static char big[5000];
	char want[256];
	memset(big, 'x', sizeof(big) - 1);
	struct log_field f[] = {
		{ .key = "client", .str = "127.0.0.1:9" },
		{ .key = "target", .str = big },
		{ .key = "ms", .num = 3 },
	};
	file_open(true);
	log_access_fields(f, 3);
	snprintf(want, sizeof(want),
		 "\"level\":\"info\",\"pid\":%ld,\"type\":\"access\",\"client\":\"127.0.0.1:9\"}\n",
		 (long)getpid());
	ck_assert_str_eq(file_take(true), want);
}
END_TEST

/* A message cut to fit is not cut inside a UTF-8 character. */
START_TEST(file_json_cut_keeps_utf8_whole)
{
	static char msg[6001];
	for (size_t i = 0; i < 3000; i++)
		memcpy(msg + 2 * i, "\xc3\xa9", 2);
	/* With and without one byte before: one of the two cuts falls
	 * inside a character, whatever the length of the pid. */
	for (int shift = 0; shift < 2; shift++) {
		file_open(true);
		log_msg(LOG_LVL_INFO, "%s%s", shift ? "x" : "", msg);
		const char *line = file_take(true);
		const char *body = strstr(line, "\"msg\":\"");
		ck_assert_ptr_nonnull(body);
		body += 7 + shift;
		size_t n = strlen(body);
		ck_assert_str_eq(body + n - 3, "\"}\n");
		ck_assert_uint_eq((n - 3) % 2, 0);
		ck_assert_uint_gt(n, 3000);
		for (size_t i = 0; i + 3 < n; i += 2)
			ck_assert(memcmp(body + i, "\xc3\xa9", 2) == 0);
	}
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
	tc = tcase_create("file");
	tcase_add_test(tc, file_text_lines);
	tcase_add_test(tc, file_json_lines);
	tcase_add_test(tc, file_json_long_field_left_out);
	tcase_add_test(tc, file_json_cut_keeps_utf8_whole);
	suite_add_tcase(s, tc);
	return s;
}

#include "check_main.h"
