/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Unit tests for the counters' keyed tables (src/stats.c), the admin
 * request parser (src/admin.c), the Prometheus text format
 * (src/admin_format.c) and the status page (src/admin_html.c): exact lines
 * for a known set of counters, label and HTML escaping, and the rules of
 * the exposition format (HELP and TYPE before samples, counters end in
 * _total, no series twice). */
#include "admin/admin.h"

#include <arpa/inet.h>
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_format.h"
#include "admin/admin_html.h"
#include "base/stats.h"
#include "proto/target.h"
#include "session/session_list.h"

static struct stats *st;

static void setup(void)
{
	st = calloc(1, sizeof(*st));
	ck_assert_ptr_nonnull(st);
}

static void teardown(void)
{
	free(st);
}

/* ---- stats tables ---- */

START_TEST(user_table)
{
	struct stats_user *a = stats_user(st, "alice");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_eq(stats_user(st, "alice"), a);
	struct stats_user *b = stats_user(st, "bob");
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_ne(a, b);
	ck_assert_ptr_null(stats_user(st, ""));
	ck_assert_ptr_null(stats_user(st, NULL));
	char longname[STATS_USER_NAME_MAX + 2];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_ptr_null(stats_user(st, longname));
	longname[STATS_USER_NAME_MAX] = '\0';
	ck_assert_ptr_nonnull(stats_user(st, longname));

	const struct stats_user *list[STATS_USERS_MAX];
	size_t n = stats_users_sorted(st, list, STATS_USERS_MAX);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(list[0]->name, "alice");
	ck_assert_str_eq(list[1]->name, "bob");
	ck_assert_uint_eq(strlen(list[2]->name), STATS_USER_NAME_MAX);
	ck_assert_uint_eq(stats_users_sorted(st, list, 1), 1);
}
END_TEST

START_TEST(user_table_full)
{
	char name[32];
	for (int i = 0; i < STATS_USERS_MAX; i++) {
		snprintf(name, sizeof(name), "user%03d", i);
		ck_assert_ptr_nonnull(stats_user(st, name));
	}
	ck_assert_ptr_null(stats_user(st, "one-too-many"));
	ck_assert_uint_eq(stats_get(st, users_overflow), 1);
	/* Existing names are still found when the table is full. */
	ck_assert_ptr_nonnull(stats_user(st, "user123"));
	ck_assert_str_eq(stats_user(st, "user255")->name, "user255");
}
END_TEST

START_TEST(session_accounting)
{
	struct stats_session a = { 0 }, b = { 0 }, c = { 0 }, bad = { 0 };
	stats_session_begin(st, &a, STATS_PROTO_SOCKS5, STATS_CMD_CONNECT, "alice");
	stats_session_begin(st, &a, STATS_PROTO_SOCKS5, STATS_CMD_CONNECT, "alice"); /* no-op */
	stats_session_begin(st, &b, STATS_PROTO_HTTP, STATS_CMD_CONNECT, "alice");
	stats_session_begin(st, &c, STATS_PROTO_SOCKS4A, STATS_CMD_BIND, NULL);
	stats_session_begin(st, &bad, STATS_NPROTO, STATS_CMD_CONNECT, "alice");
	stats_session_begin(st, &bad, STATS_PROTO_SOCKS5, (unsigned)-1, "alice");
	ck_assert(!bad.counted);

	const struct stats_user *u = stats_user(st, "alice");
	ck_assert_int_eq(stats_get(u, active), 2);
	ck_assert_uint_eq(stats_get(u, sessions), 2);
	ck_assert_uint_eq(stats_get(st, cmd_total[STATS_PROTO_SOCKS5][STATS_CMD_CONNECT]), 1);
	ck_assert_int_eq(stats_get(st, cmd_active[STATS_PROTO_SOCKS4A][STATS_CMD_BIND]), 1);

	/* Bytes arrive while the session runs, in steps; its end adds none. */
	stats_session_bytes(&a, 60, 2000);
	ck_assert_uint_eq(stats_get(u, bytes_up), 60);
	ck_assert_int_eq(stats_get(u, active), 2);
	stats_session_bytes(&a, 40, 0);
	stats_session_end(st, &a);
	stats_session_end(st, &a);     /* already ended: no-op */
	stats_session_bytes(&a, 7, 8); /* ended: counts nothing */
	stats_session_bytes(&c, 5, 6); /* no user: nothing per user */
	stats_session_end(st, &c);
	stats_session_bytes(&bad, 7, 8);
	stats_session_end(st, &bad);
	ck_assert_int_eq(stats_get(u, active), 1);
	ck_assert_uint_eq(stats_get(u, bytes_up), 100);
	ck_assert_uint_eq(stats_get(u, bytes_down), 2000);
	ck_assert_int_eq(stats_get(st, cmd_active[STATS_PROTO_SOCKS5][STATS_CMD_CONNECT]), 0);
	ck_assert_int_eq(stats_get(st, cmd_active[STATS_PROTO_SOCKS4A][STATS_CMD_BIND]), 0);
	ck_assert_uint_eq(stats_get(st, cmd_total[STATS_PROTO_SOCKS4A][STATS_CMD_BIND]), 1);

	stats_user_auth_failed(st, "alice");
	stats_user_auth_failed(st, "carol");
	ck_assert_uint_eq(stats_get(u, auth_failed), 1);
	ck_assert_uint_eq(stats_get(stats_user(st, "carol"), auth_failed), 1);
}
END_TEST

START_TEST(listener_and_hop_tables)
{
	atomic_ulong *l1 = stats_listener_counter(st, "127.0.0.1:1080");
	atomic_ulong *l2 = stats_listener_counter(st, "[::1]:1080");
	ck_assert_ptr_nonnull(l1);
	ck_assert_ptr_ne(l1, l2);
	ck_assert_ptr_eq(stats_listener_counter(st, "127.0.0.1:1080"), l1);
	stats_listener_accepted(l1);
	stats_listener_accepted(l1);
	stats_listener_accepted(l2);
	stats_listener_accepted(NULL);
	ck_assert_uint_eq(stats_listener_get(st, "127.0.0.1:1080"), 2);
	ck_assert_uint_eq(stats_listener_get(st, "[::1]:1080"), 1);
	ck_assert_uint_eq(stats_listener_get(st, "10.0.0.1:1080"), 0);

	ck_assert_ptr_null(stats_hop_find(st, "tor", 0, "socks5h://127.0.0.1:9050"));
	stats_hop_attempt(st, "tor", 0, "socks5h://127.0.0.1:9050");
	stats_hop_attempt(st, "tor", 0, "socks5h://127.0.0.1:9050");
	stats_hop_failed(st, "tor", 0, "socks5h://127.0.0.1:9050");
	stats_hop_attempt(st, "tor", 1, "socks5h://127.0.0.1:9050"); /* another position */
	stats_hop_attempt(st, "tor", 0, "socks5h://127.0.0.1:9051"); /* a changed URL */
	const struct stats_hop *h = stats_hop_find(st, "tor", 0, "socks5h://127.0.0.1:9050");
	ck_assert_ptr_nonnull(h);
	ck_assert_uint_eq(stats_get(h, attempts), 2);
	ck_assert_uint_eq(stats_get(h, failures), 1);
	ck_assert_uint_eq(stats_get(st, hop_failures), 1);
	h = stats_hop_find(st, "tor", 1, "socks5h://127.0.0.1:9050");
	ck_assert_uint_eq(stats_get(h, attempts), 1);
	ck_assert_uint_eq(stats_get(h, failures), 0);
	ck_assert_ptr_null(stats_hop_find(st, "corp", 0, "socks5h://127.0.0.1:9050"));
}
END_TEST

#define RACE_THREADS 4
#define RACE_NAMES   64
#define RACE_ROUNDS  50

static void *race_worker(void *arg)
{
	char name[16];
	(void)arg;
	for (int r = 0; r < RACE_ROUNDS; r++) {
		for (int i = 0; i < RACE_NAMES; i++) {
			snprintf(name, sizeof(name), "u%d", i);
			struct stats_session ss = { 0 };
			stats_session_begin(st, &ss, STATS_PROTO_SOCKS5, STATS_CMD_CONNECT, name);
			stats_session_bytes(&ss, 1, 2);
			stats_session_end(st, &ss);
		}
	}
	return NULL;
}

/* Workers creating the same users at once end up with one entry each. */
START_TEST(user_table_concurrent)
{
	pthread_t t[RACE_THREADS];
	for (int i = 0; i < RACE_THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, race_worker, NULL), 0);
	for (int i = 0; i < RACE_THREADS; i++)
		pthread_join(t[i], NULL);
	const struct stats_user *list[STATS_USERS_MAX];
	ck_assert_uint_eq(stats_users_sorted(st, list, STATS_USERS_MAX), RACE_NAMES);
	for (int i = 0; i < RACE_NAMES; i++) {
		ck_assert_uint_eq(stats_get(list[i], sessions), RACE_THREADS * RACE_ROUNDS);
		ck_assert_int_eq(stats_get(list[i], active), 0);
		ck_assert_uint_eq(stats_get(list[i], bytes_down), 2 * RACE_THREADS * RACE_ROUNDS);
	}
}
END_TEST

START_TEST(log_line)
{
	char line[2048];
	stats_add(st, sessions_total, 5);
	stats_add(st, sessions_active, 1);
	stats_add(st, denied, 2);
	stats_add(st, bytes_spliced, 7);
	struct stats_session ss = { 0 };
	stats_session_begin(st, &ss, STATS_PROTO_SOCKS5, STATS_CMD_UDP, NULL);
	int n = stats_format_log_line(st, line, sizeof(line));
	ck_assert_int_eq(n, (int)strlen(line));
	ck_assert_msg(strncmp(line, "stats sessions_active=1 sessions_total=5 ", 41) == 0, "%s",
		      line);
	ck_assert_ptr_nonnull(strstr(line, " denied=2 "));
	ck_assert_msg(strstr(line, " hop_failures=0 bytes_spliced=7 auth_queue_full=0 "
				   "bytes_kernel=0 kernel_sessions=0 relay=- socks5_udp=1/1") !=
			      NULL,
		      "%s", line);
	/* A short buffer: cut, NUL-terminated, and the full length returned. */
	char small[16];
	ck_assert_int_eq(stats_format_log_line(st, small, sizeof(small)), n);
	ck_assert_str_eq(small, "stats sessions_");
}
END_TEST

/* ---- escaping ---- */

static char *escaped(void (*fn)(struct admin_buf *, const char *), const char *s)
{
	static char out[256];
	struct admin_buf b = { 0 };
	fn(&b, s);
	ck_assert(!b.failed);
	snprintf(out, sizeof(out), "%s", b.p ? b.p : "");
	admin_buf_free(&b);
	return out;
}

START_TEST(label_escaping)
{
	ck_assert_str_eq(escaped(admin_escape_label, "plain"), "plain");
	ck_assert_str_eq(escaped(admin_escape_label, "a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
	ck_assert_str_eq(escaped(admin_escape_label, "tab\there {}=,"), "tab\there {}=,");
	ck_assert_str_eq(escaped(admin_escape_label, "\xc3\xa9t\xc3\xa9"), "\xc3\xa9t\xc3\xa9");
	ck_assert_str_eq(escaped(admin_escape_label, ""), "");
}
END_TEST

START_TEST(html_escaping)
{
	ck_assert_str_eq(escaped(admin_escape_html, "<script>alert('x&y')</script>"),
			 "&lt;script&gt;alert(&#39;x&amp;y&#39;)&lt;/script&gt;");
	ck_assert_str_eq(escaped(admin_escape_html, "\"quoted\""), "&quot;quoted&quot;");
	ck_assert_str_eq(escaped(admin_escape_html, "bell\a!"), "bell\xef\xbf\xbd!");
	ck_assert_str_eq(escaped(admin_escape_html, "tab\tok"), "tab\tok");
	ck_assert_str_eq(escaped(admin_escape_html, "\xc3\xa9"), "\xc3\xa9");
}
END_TEST

START_TEST(buf_grows)
{
	struct admin_buf b = { 0 };
	for (int i = 0; i < 2000; i++)
		admin_buf_printf(&b, "%04d,", i);
	char big[600];
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	admin_buf_printf(&b, "[%s]", big); /* longer than printf's first try */
	ck_assert(!b.failed);
	ck_assert_uint_eq(b.len, 2000 * 5 + 601);
	ck_assert_uint_eq(strlen(b.p), b.len);
	ck_assert(strncmp(b.p, "0000,0001,", 10) == 0);
	ck_assert_str_eq(b.p + b.len - 3, "zz]");
	admin_buf_free(&b);
	ck_assert_ptr_null(b.p);
}
END_TEST

/* ---- request parsing ---- */

static ssize_t parse(const char *text, struct admin_request *r)
{
	return admin_parse_request(text, strlen(text), r);
}

START_TEST(parse_requests)
{
	struct admin_request r;
	const char *get = "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n";
	ck_assert_int_eq(parse(get, &r), (ssize_t)strlen(get));
	ck_assert_int_eq(r.method, ADMIN_GET);
	ck_assert_str_eq(r.path, "/metrics");
	ck_assert_uint_eq(r.version_minor, 1);

	ck_assert_int_eq(parse("HEAD / HTTP/1.0\n\n", &r), 17);
	ck_assert_int_eq(r.method, ADMIN_HEAD);
	ck_assert_str_eq(r.path, "/");
	ck_assert_uint_eq(r.version_minor, 0);

	ck_assert_int_eq(parse("GET /?refresh=1&x=y HTTP/1.1\r\n\r\n", &r), 32);
	ck_assert_str_eq(r.path, "/");
	ck_assert_int_eq(parse("POST /metrics HTTP/1.1\r\n\r\nbody", &r), 26);
	ck_assert_int_eq(r.method, ADMIN_OTHER);
	ck_assert_int_eq(parse("get / HTTP/1.1\r\n\r\n", &r), 18);
	ck_assert_int_eq(r.method, ADMIN_OTHER); /* methods are case-sensitive */

	/* Incomplete: more input needed. */
	ck_assert_int_eq(parse("", &r), 0);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\n", &r), 0);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: x\r\n\r", &r), 0);

	/* Malformed. */
	ck_assert_int_eq(parse("GET  / HTTP/1.1\r\n\r\n", &r), -400);
	ck_assert_int_eq(parse("GET metrics HTTP/1.1\r\n\r\n", &r), -400);
	ck_assert_int_eq(parse("GET http://x/ HTTP/1.1\r\n\r\n", &r), -400);
	ck_assert_int_eq(parse("GET /\r\n\r\n", &r), -400);
	ck_assert_int_eq(parse("GET / HTTP/1.1 extra\r\n\r\n", &r), -400);
	ck_assert_int_eq(parse("GET / FTP/1.1\r\n\r\n", &r), -400);
	ck_assert_int_eq(parse("GET /a\rb HTTP/1.1\r\n\r\n", &r), -400);
	ck_assert_int_eq(parse("GET /\x7f HTTP/1.1\r\n\r\n", &r), -400);
	ck_assert_int_eq(parse("\r\n\r\n", &r), -400);
	ck_assert_int_eq(admin_parse_request("GET /\0 HTTP/1.1\r\n\r\n", 20, &r), -400);
	/* What follows a complete header is not looked at, however it
	 * arrives (found by tests/fuzz/fuzz_admin.c). */
	ck_assert_int_eq(admin_parse_request("GET / HTTP/1.1\r\n\r\n\0", 19, &r), 18);
	ck_assert_int_eq(admin_parse_request("GET / HTTP/1.1\r\nX: \0\r\n\r\n", 24, &r), -400);
	ck_assert_int_eq(parse("GET / HTTP/2.0\r\n\r\n", &r), -505);
	ck_assert_int_eq(parse("GET / HTTP/0.9\r\n\r\n", &r), -505);

	char req[ADMIN_PATH_MAX + 64];
	memset(req, 'a', sizeof(req));
	memcpy(req, "GET /", 5);
	snprintf(req + 4 + ADMIN_PATH_MAX + 1, 40, " HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(parse(req, &r), -400); /* the path one byte too long */
	snprintf(req + 4 + ADMIN_PATH_MAX, 40, " HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(parse(req, &r), (ssize_t)strlen(req));
	ck_assert_uint_eq(strlen(r.path), ADMIN_PATH_MAX);
	/* The query string does not count toward the path's length. */
	memcpy(req + 4 + ADMIN_PATH_MAX, "?q", 2);
	snprintf(req + 4 + ADMIN_PATH_MAX + 2, 40, " HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(parse(req, &r), (ssize_t)strlen(req));
}
END_TEST

START_TEST(parse_host_field)
{
	struct admin_request r;

	ck_assert_int_eq(
		parse("GET / HTTP/1.1\r\nAccept: */*\r\nhOsT:  127.0.0.1:9180 \r\n\r\n", &r), 55);
	ck_assert(r.has_host);
	ck_assert_str_eq(r.host, "127.0.0.1:9180");
	ck_assert_int_eq(parse("GET / HTTP/1.0\n\n", &r), 16);
	ck_assert(!r.has_host);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost:\r\n\r\n", &r), 25);
	ck_assert(r.has_host);
	ck_assert_str_eq(r.host, "");
	/* Two Host fields, a bare CR: malformed. */
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", &r), -400);
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", &r), -400);
	/* "Hostname:" and a line without a colon are not the Host field. */
	const char *other = "GET / HTTP/1.1\r\nHostname: evil\r\nHost evil\r\n\r\n";
	ck_assert_int_eq(parse(other, &r), (ssize_t)strlen(other));
	ck_assert(!r.has_host);

	char req[ADMIN_HOST_MAX + 64];
	int n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: ");
	memset(req + n, 'h', ADMIN_HOST_MAX + 1);
	snprintf(req + n + ADMIN_HOST_MAX + 1, 8, "\r\n\r\n");
	ck_assert_int_eq(parse(req, &r), -400); /* one byte too long */
	snprintf(req + n + ADMIN_HOST_MAX, 8, "\r\n\r\n");
	ck_assert_int_eq(parse(req, &r), (ssize_t)strlen(req));
	ck_assert_uint_eq(strlen(r.host), ADMIN_HOST_MAX);
}
END_TEST

static struct sockaddr_storage sa_of(const char *ip)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	return ss;
}

START_TEST(host_allowed)
{
	struct sockaddr_storage lo = sa_of("127.0.0.1"), lan = sa_of("192.0.2.10");
	static const char *const ok_local[] = {
		"localhost",   "LocalHost:9180", "127.0.0.1",  "127.0.0.1:9180",
		"127.9.9.9:1", "[::1]",		 "[::1]:9180", "[::ffff:127.0.0.1]:80",
	};
	static const char *const never[] = {
		"evil.example",
		"evil.example:9180",
		"localhost.evil.example",
		"",
		"::1",
		"[::1",
		"127.0.0.1:80:80",
		"[::1]x",
	};
	for (size_t i = 0; i < sizeof(ok_local) / sizeof(ok_local[0]); i++) {
		ck_assert_msg(admin_host_allowed(ok_local[i], &lo, false), "%s", ok_local[i]);
		ck_assert_msg(admin_host_allowed(ok_local[i], &lan, false), "%s", ok_local[i]);
	}
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		ck_assert_msg(!admin_host_allowed(never[i], &lan, false), "%s", never[i]);
		ck_assert_msg(!admin_host_allowed(never[i], &lan, true), "%s", never[i]);
	}
	/* The listener's own address; any literal only when public. */
	ck_assert(admin_host_allowed("192.0.2.10:9180", &lan, false));
	ck_assert(!admin_host_allowed("192.0.2.10:9180", &lo, false));
	ck_assert(!admin_host_allowed("198.51.100.7", &lan, false));
	ck_assert(admin_host_allowed("198.51.100.7", &lan, true));
	ck_assert(admin_host_allowed("[2001:db8::1]:9180", &lan, true));
}
END_TEST

START_TEST(parse_too_large)
{
	struct admin_request r;
	static char big[ADMIN_REQUEST_MAX + 100];
	size_t n = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\n");
	while (n < sizeof(big) - 20)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "X-Pad: 0123456789\r\n");
	ck_assert_int_eq(admin_parse_request(big, ADMIN_REQUEST_MAX - 1, &r), 0);
	ck_assert_int_eq(admin_parse_request(big, ADMIN_REQUEST_MAX, &r), -431);
	ck_assert_int_eq(admin_parse_request(big, n, &r), -431);
	/* A header section that ends exactly at the limit is fine. */
	memcpy(big + ADMIN_REQUEST_MAX - 4, "\r\n\r\n", 4);
	ck_assert_int_eq(admin_parse_request(big, ADMIN_REQUEST_MAX, &r), ADMIN_REQUEST_MAX);
}
END_TEST

/* ---- Prometheus ---- */

static const struct admin_listener_view listeners[] = {
	{ "127.0.0.1:1080", 7 },
	{ "[::1]:1080", 2 },
};

static const struct admin_hop_view hops[] = {
	{ "tor", 1, "socks5h://127.0.0.1:9050", true, 0, 12, 1 },
	{ "corp", 1, "http://alice@proxy1.corp.example:3128", false, 25500, 4, 3 },
	{ "corp", 2, "http://proxy2.corp.example:3128", true, 0, 0, 0 },
};

static void fill_known(struct admin_view *v)
{
	stats_add(st, sessions_total, 9);
	stats_add(st, sessions_active, 2);
	stats_add(st, connects_ok, 3);
	stats_add(st, connects_failed, 1);
	stats_add(st, bytes_up, 3000);
	stats_add(st, bytes_down, 3145728);
	stats_add(st, bytes_spliced, 2097152);
	stats_add(st, auth_ok, 4);
	stats_add(st, auth_failed, 2);
	stats_add(st, denied, 1);
	stats_add(st, dns_queries, 6);
	stats_add(st, dns_failures, 1);
	stats_add(st, dns_cache_hits, 5);
	stats_add(st, udp_associations, 1);
	stats_add(st, udp_datagrams_up, 2);
	stats_add(st, udp_datagrams_down, 2);
	stats_add(st, udp_dropped, 1);
	struct stats_session s1 = { 0 }, s2 = { 0 }, s3 = { 0 };
	stats_session_begin(st, &s1, STATS_PROTO_SOCKS5, STATS_CMD_CONNECT, "alice");
	stats_session_begin(st, &s2, STATS_PROTO_SOCKS5, STATS_CMD_CONNECT, "alice");
	stats_session_begin(st, &s3, STATS_PROTO_SOCKS5, STATS_CMD_UDP, "we\"ird\\name\n<b>");
	stats_session_bytes(&s1, 1000, 2000);
	stats_session_end(st, &s1);
	stats_user_auth_failed(st, "alice");

	memset(v, 0, sizeof(*v));
	v->stats = st;
	v->version = "9.8.7";
	v->uptime_s = 3723;
	v->start_unix = 1700000000;
	v->generation = 3;
	v->auth = true;
	v->connections = 2;
	v->max_connections = 100;
	v->admin_addr = "127.0.0.1:9901";
	v->listeners = listeners;
	v->nlisteners = 2;
	v->hops = hops;
	v->nhops = 3;
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

#define ck_line(text, line) ck_assert_msg(has_line(text, line), "missing line: %s", line)

START_TEST(metrics_exact_lines)
{
	struct admin_view v;
	struct admin_buf b = { 0 };
	fill_known(&v);
	ck_assert(admin_format_metrics(&v, &b));
	const char *m = b.p;

	ck_assert(strncmp(m, "# HELP hopsocks_build_info ", 27) == 0);
	ck_line(m, "# TYPE hopsocks_build_info gauge");
	ck_line(m, "hopsocks_build_info{version=\"9.8.7\"} 1");
	ck_line(m, "hopsocks_uptime_seconds 3723");
	ck_line(m, "hopsocks_config_generation 3");
	ck_line(m, "hopsocks_connections_open 2");
	ck_line(m, "hopsocks_connections_max 100");
	ck_line(m, "# TYPE hopsocks_listener_accepted_total counter");
	ck_line(m, "hopsocks_listener_accepted_total{listener=\"127.0.0.1:1080\"} 7");
	ck_line(m, "hopsocks_listener_accepted_total{listener=\"[::1]:1080\"} 2");
	ck_line(m, "# HELP hopsocks_sessions_total Client connections accepted.");
	ck_line(m, "# TYPE hopsocks_sessions_total counter");
	ck_line(m, "hopsocks_sessions_total 9");
	ck_line(m, "# TYPE hopsocks_sessions_active gauge");
	ck_line(m, "hopsocks_sessions_active 2");
	ck_line(m, "hopsocks_command_sessions_total{protocol=\"socks5\",command=\"connect\"} 2");
	ck_line(m, "hopsocks_command_sessions_total{protocol=\"socks5\",command=\"udp\"} 1");
	ck_line(m, "hopsocks_command_sessions_total{protocol=\"socks4a\",command=\"bind\"} 0");
	ck_line(m, "hopsocks_command_sessions_active{protocol=\"socks5\",command=\"connect\"} 1");
	ck_line(m, "hopsocks_command_sessions_active{protocol=\"http\",command=\"udp\"} 0");
	ck_line(m, "hopsocks_connects_total{result=\"ok\"} 3");
	ck_line(m, "hopsocks_connects_total{result=\"failed\"} 1");
	ck_line(m, "hopsocks_bytes_total{direction=\"up\"} 3000");
	ck_line(m, "hopsocks_bytes_total{direction=\"down\"} 3145728");
	ck_line(m, "# TYPE hopsocks_spliced_bytes_total counter");
	ck_line(m, "hopsocks_spliced_bytes_total 2097152");
	ck_line(m, "hopsocks_auth_total{result=\"ok\"} 4");
	ck_line(m, "hopsocks_auth_total{result=\"failed\"} 2");
	ck_line(m, "hopsocks_denied_total 1");
	ck_line(m, "hopsocks_dns_queries_total 6");
	ck_line(m, "hopsocks_dns_failures_total 1");
	ck_line(m, "hopsocks_dns_cache_hits_total 5");
	ck_line(m, "hopsocks_udp_associations_total 1");
	ck_line(m, "hopsocks_udp_datagrams_total{direction=\"up\"} 2");
	ck_line(m, "hopsocks_udp_datagrams_total{direction=\"down\"} 2");
	ck_line(m, "hopsocks_udp_dropped_total 1");
	ck_line(m, "hopsocks_binds_total{result=\"accepted\"} 0");
	ck_line(m, "# TYPE hopsocks_hop_up gauge");
	ck_line(m, "hopsocks_hop_up{chain=\"tor\",hop=\"1\",url=\"socks5h://127.0.0.1:9050\"} 1");
	ck_line(m, "hopsocks_hop_up{chain=\"corp\",hop=\"1\","
		   "url=\"http://alice@proxy1.corp.example:3128\"} 0");
	ck_line(m, "hopsocks_hop_attempts_total{chain=\"tor\",hop=\"1\","
		   "url=\"socks5h://127.0.0.1:9050\"} 12");
	ck_line(m, "hopsocks_hop_failures_total{chain=\"corp\",hop=\"1\","
		   "url=\"http://alice@proxy1.corp.example:3128\"} 3");
	ck_line(m, "hopsocks_hop_failures_total{chain=\"corp\",hop=\"2\","
		   "url=\"http://proxy2.corp.example:3128\"} 0");
	ck_line(m, "hopsocks_user_sessions_active{user=\"alice\"} 1");
	ck_line(m, "hopsocks_user_sessions_total{user=\"alice\"} 2");
	ck_line(m, "hopsocks_user_bytes_total{user=\"alice\",direction=\"up\"} 1000");
	ck_line(m, "hopsocks_user_bytes_total{user=\"alice\",direction=\"down\"} 2000");
	ck_line(m, "hopsocks_user_auth_failures_total{user=\"alice\"} 1");
	/* The odd name, escaped as the format says: \" \\ \n; < > untouched. */
	ck_line(m, "hopsocks_user_sessions_active{user=\"we\\\"ird\\\\name\\n<b>\"} 1");
	ck_line(m, "hopsocks_stats_untracked_total{table=\"users\"} 0");
	ck_assert_int_eq(m[b.len - 1], '\n');
	admin_buf_free(&b);
}
END_TEST

/* The format's rules, checked over the whole output: every sample's
 * family was announced by HELP then TYPE just before its samples began,
 * counters end in _total, and no series appears twice. */
START_TEST(metrics_well_formed)
{
	struct admin_view v;
	struct admin_buf b = { 0 };
	fill_known(&v);
	ck_assert(admin_format_metrics(&v, &b));

	char family[128] = "", type[16] = "";
	size_t nseries = 0, cap = 1024;
	char **series = calloc(cap, sizeof(*series));
	char *save = NULL;
	bool expect_type = false;
	for (char *line = strtok_r(b.p, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			ck_assert(!expect_type);
			ck_assert_int_eq(sscanf(line + 7, "%127s", family), 1);
			expect_type = true;
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			char name[128];
			ck_assert(expect_type);
			ck_assert_int_eq(sscanf(line + 7, "%127s %15s", name, type), 2);
			ck_assert_str_eq(name, family);
			ck_assert_msg(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0,
				      "%s", line);
			if (strcmp(type, "counter") == 0) {
				size_t n = strlen(name);
				ck_assert_msg(n > 6 && strcmp(name + n - 6, "_total") == 0, "%s",
					      name);
			}
			expect_type = false;
			continue;
		}
		ck_assert_msg(line[0] != '#', "stray comment: %s", line);
		ck_assert(!expect_type);
		size_t n = strcspn(line, "{ ");
		ck_assert_msg(n == strlen(family) && strncmp(line, family, n) == 0,
			      "sample %s outside its family %s", line, family);
		const char *sp = strrchr(line, ' ');
		ck_assert_ptr_nonnull(sp);
		char *end;
		strtoll(sp + 1, &end, 10);
		ck_assert_msg(*end == '\0' && end > sp + 1, "bad value: %s", line);
		for (size_t i = 0; i < nseries; i++)
			ck_assert_msg(strncmp(series[i], line, (size_t)(sp - line)) != 0 ||
					      series[i][sp - line] != ' ',
				      "series twice: %s", line);
		ck_assert_uint_lt(nseries, cap);
		series[nseries++] = line;
	}
	ck_assert_uint_gt(nseries, 60);
	free(series);
	admin_buf_free(&b);
}
END_TEST

/* ---- the status page ---- */

START_TEST(html_page)
{
	struct admin_view v;
	struct admin_buf b = { 0 };
	fill_known(&v);
	ck_assert(admin_format_html(&v, &b));
	const char *h = b.p;

	ck_assert(strncmp(h, "<!DOCTYPE html>", 15) == 0);
	ck_assert_ptr_nonnull(strstr(h, "<meta http-equiv=\"refresh\" content=\"5\">"));
	ck_assert_ptr_nonnull(strstr(h, "<small id=\"version\">9.8.7</small>"));
	ck_assert_ptr_nonnull(strstr(h, "data-seconds=\"3723\">1h 2m 3s</b>"));
	ck_assert_ptr_nonnull(strstr(h, "<td class=\"n\" id=\"cmd-socks5-connect-total\">2</td>"));
	ck_assert_ptr_nonnull(strstr(h, "<td class=\"n\" id=\"bytes-down\">3145728 "
					"<small>3.0 MiB</small></td>"));
	ck_assert_ptr_nonnull(strstr(h, "<tr data-listener=\"127.0.0.1:1080\"><td>127.0.0.1:1080"
					"</td><td class=\"n\">7</td></tr>"));
	ck_assert_ptr_nonnull(strstr(h, "<tr data-user=\"alice\"><td>alice</td>"
					"<td class=\"n\">1</td><td class=\"n\">2</td>"));
	ck_assert_ptr_nonnull(strstr(h, "<td class=\"down\">DOWN <small>retry in 26 s</small>"));
	ck_assert_ptr_nonnull(strstr(h, "Generated 2023-11-14 23:15:23 UTC."));
	/* The user name never reaches the page unescaped, as text or attribute. */
	ck_assert_ptr_null(strstr(h, "<b>"));
	ck_assert_ptr_null(strstr(h, "we\"ird"));
	ck_assert_ptr_nonnull(strstr(h, "<tr data-user=\"we&quot;ird\\name\xef\xbf\xbd&lt;b&gt;\">"
					"<td>we&quot;ird\\name\xef\xbf\xbd&lt;b&gt;</td>"));
	/* Self-contained: no script, no external resource. */
	ck_assert_ptr_null(strstr(h, "<script"));
	ck_assert_ptr_null(strstr(h, "src="));
	ck_assert_ptr_null(strstr(h, "href="));
	ck_assert_ptr_null(strstr(h, "url("));
	ck_assert(strstr(h, "</html>\n") == h + b.len - 8);
	admin_buf_free(&b);
}
END_TEST

START_TEST(html_page_empty)
{
	struct admin_view v = { .stats = st, .version = "1", .generation = 1 };
	struct admin_buf b = { 0 };
	ck_assert(admin_format_html(&v, &b));
	ck_assert_ptr_nonnull(strstr(b.p, "No authenticated sessions yet."));
	ck_assert_ptr_nonnull(strstr(b.p, "No chains configured."));
	ck_assert_ptr_nonnull(strstr(b.p, "authentication <b id=\"auth\">off</b>"));
	admin_buf_free(&b);
}
END_TEST

/* The live-session list: sorted as given, names shown as the log shows
 * them and then escaped for HTML, the count when the list is cut. */
START_TEST(html_sessions)
{
	struct session_info si[2];
	memset(si, 0, sizeof(si));
	si[0].client.v4.sin_family = AF_INET;
	si[0].client.v4.sin_port = htons(40001);
	inet_pton(AF_INET, "127.0.0.1", &si[0].client.v4.sin_addr);
	const char evil[] = "x\"<script>\x01.example";
	ck_assert_int_eq(target_set_domain(&si[0].target, evil, strlen(evil), 443), 0);
	snprintf(si[0].user, sizeof(si[0].user), "alice");
	snprintf(si[0].route, sizeof(si[0].route), "direct");
	si[0].proto = 3;  /* socks5 */
	si[0].cmd = 1;	  /* connect */
	si[0].state = 11; /* relay */
	si[0].started_ms = 1000;
	si[0].up = 5000;
	si[0].down = 70;
	si[0].id = 17;
	si[0].relay = "kernel";
	si[1] = si[0];
	si[1].relay = NULL; /* before the relay: "-" */
	si[1].client.v4.sin_port = htons(40002);
	si[1].target.type = 0; /* no request yet */
	si[1].user[0] = '\0';
	si[1].route[0] = '\0';
	si[1].cmd = 0;
	si[1].state = 1; /* detect */
	si[1].up = si[1].down = 0;

	struct admin_view v = { .stats = st, .version = "1", .generation = 1 };
	v.sessions = si;
	v.nsessions = 2;
	v.sessions_all = 2;
	v.now_ms = 66000;
	struct admin_buf b = { 0 };
	ck_assert(admin_format_html(&v, &b));
	ck_assert_ptr_nonnull(strstr(b.p, "<p id=\"sessions-count\" data-total=\"2\" "
					  "data-listed=\"2\">2 sessions open."));
	ck_assert_msg(strstr(b.p, "<tr data-session=\"17\" data-client=\"127.0.0.1:40001\">"
				  "<td>127.0.0.1:40001</td>"
				  "<td>alice</td><td>socks5</td><td>connect</td>"
				  "<td>x\\x22&lt;script&gt;\\x01.example:443</td><td>direct</td>"
				  "<td>relay</td><td class=\"n\" data-seconds=\"65\">1m 5s</td>"
				  "<td class=\"n\">5000 <small>4.9 KiB</small></td>"
				  "<td class=\"n\">70</td><td class=\"n\">17</td>"
				  "<td>kernel</td></tr>") != NULL,
		      "%s", b.p);
	ck_assert_ptr_nonnull(strstr(b.p, "data-client=\"127.0.0.1:40002\"><td>127.0.0.1:40002"
					  "</td><td>-</td><td>socks5</td><td>-</td><td>-</td>"
					  "<td>-</td><td>detect</td>"));
	ck_assert_ptr_nonnull(strstr(b.p, "<td class=\"n\">17</td><td>-</td></tr>"));
	ck_assert(strstr(b.p, "40001") < strstr(b.p, "40002"));
	ck_assert_ptr_null(strstr(b.p, "<script"));
	admin_buf_free(&b);

	/* Cut: the page says how many there are in all. */
	v.nsessions = 1;
	v.sessions_all = 73;
	ck_assert(admin_format_html(&v, &b));
	ck_assert_ptr_nonnull(strstr(b.p, "data-total=\"73\" data-listed=\"1\">The 1 with the "
					  "most bytes of 73 sessions open."));
	ck_assert_ptr_null(strstr(b.p, "40002"));
	admin_buf_free(&b);

	/* None. */
	v.nsessions = v.sessions_all = 0;
	ck_assert(admin_format_html(&v, &b));
	ck_assert_ptr_nonnull(strstr(b.p, "<p class=\"empty\" id=\"sessions\" data-total=\"0\">"
					  "No sessions open.</p>"));
	admin_buf_free(&b);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("admin");
	TCase *tc = tcase_create("stats");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, user_table);
	tcase_add_test(tc, user_table_full);
	tcase_add_test(tc, session_accounting);
	tcase_add_test(tc, listener_and_hop_tables);
	tcase_add_test(tc, user_table_concurrent);
	tcase_add_test(tc, log_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, label_escaping);
	tcase_add_test(tc, html_escaping);
	tcase_add_test(tc, buf_grows);
	tcase_add_test(tc, metrics_exact_lines);
	tcase_add_test(tc, metrics_well_formed);
	tcase_add_test(tc, html_page);
	tcase_add_test(tc, html_page_empty);
	tcase_add_test(tc, html_sessions);
	suite_add_tcase(s, tc);

	tc = tcase_create("request");
	tcase_add_test(tc, parse_requests);
	tcase_add_test(tc, parse_too_large);
	tcase_add_test(tc, parse_host_field);
	tcase_add_test(tc, host_allowed);
	suite_add_tcase(s, tc);
	return s;
}

#include "check_main.h"
