/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Unit tests for http.c: CONNECT request parsing (front-end), response
 * encoding, the client side (CONNECT request encoding, response parsing),
 * protocol detection and base64. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http.h"

/* A copy of buf in a heap block of exactly n bytes, so that ASan reports any
 * read past the length the parser was given. */
static uint8_t *dup_exact(const void *buf, size_t n)
{
	uint8_t *p = malloc(n > 0 ? n : 1);
	ck_assert_ptr_nonnull(p);
	if (n > 0)
		memcpy(p, buf, n);
	return p;
}

static ssize_t parse_req(const void *buf, size_t n, struct http_request *out)
{
	uint8_t *p = dup_exact(buf, n);
	ssize_t rc = http_parse_connect_request(p, n, out);
	free(p);
	return rc;
}

static ssize_t parse_resp(const void *buf, size_t n, struct http_response *out)
{
	uint8_t *p = dup_exact(buf, n);
	ssize_t rc = http_parse_response(p, n, out);
	free(p);
	return rc;
}

static ssize_t parse_req_str(const char *s, struct http_request *out)
{
	return parse_req(s, strlen(s), out);
}

static ssize_t parse_resp_str(const char *s, struct http_response *out)
{
	return parse_resp(s, strlen(s), out);
}

/* What a client may pipeline behind its header: TLS bytes with a NUL, and a
 * blank line that must not be mistaken for the end of ours. */
static const uint8_t tail[] = { 0x16, 0x03, 0x01, 0x00, 0x00, '\r', '\n', '\r', '\n', 'G' };

/* The three ways a header arrives: byte by byte (0 until complete),
 * coalesced with pipelined data (consume only the header), whole. The whole
 * parse runs last so *out holds its result. */
static void req_all_ways(const char *msg, struct http_request *out)
{
	size_t n = strlen(msg);
	uint8_t *buf = malloc(n + sizeof(tail));

	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(parse_req(msg, i, out), 0);
	memcpy(buf, msg, n);
	memcpy(buf + n, tail, sizeof(tail));
	ck_assert_int_eq(parse_req(buf, n + sizeof(tail), out), (ssize_t)n);
	free(buf);
	ck_assert_int_eq(parse_req(msg, n, out), (ssize_t)n);
}

static void resp_all_ways(const char *msg, struct http_response *out)
{
	size_t n = strlen(msg);
	uint8_t *buf = malloc(n + sizeof(tail));

	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(parse_resp(msg, i, out), 0);
	memcpy(buf, msg, n);
	memcpy(buf + n, tail, sizeof(tail));
	ck_assert_int_eq(parse_resp(buf, n + sizeof(tail), out), (ssize_t)n);
	free(buf);
	ck_assert_int_eq(parse_resp(msg, n, out), (ssize_t)n);
}

static void assert_domain(const struct target *t, const char *name, uint16_t port)
{
	ck_assert_uint_eq(t->type, TARGET_DOMAIN);
	ck_assert_uint_eq(t->domain_len, strlen(name));
	ck_assert_str_eq(t->addr.domain, name);
	ck_assert_uint_eq(t->port, port);
}

static void assert_ip(const struct target *t, int family, const char *text, uint16_t port)
{
	uint8_t want[16];

	ck_assert_int_eq(inet_pton(family, text, want), 1);
	ck_assert_uint_eq(t->type, family == AF_INET ? TARGET_IPV4 : TARGET_IPV6);
	if (family == AF_INET)
		ck_assert_mem_eq(t->addr.ipv4, want, 4);
	else
		ck_assert_mem_eq(t->addr.ipv6, want, 16);
	ck_assert_uint_eq(t->port, port);
}

/* "CONNECT a.example:1 HTTP/1.1\r\n" + fields + "\r\n". */
static char *req_with(const char *fields)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf), "CONNECT a.example:1 HTTP/1.1\r\n%s\r\n", fields);
	return buf;
}

/* ---- request: valid forms ---- */

START_TEST(test_req_domain)
{
	struct http_request r;

	req_all_ways("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", &r);
	assert_domain(&r.dst, "example.com", 443);
	ck_assert_str_eq(r.method, "CONNECT");
	ck_assert_uint_eq(r.version_minor, 1);
	ck_assert_uint_eq(r.auth, HTTP_AUTH_NONE);
	ck_assert_str_eq(r.user, "");
	ck_assert_str_eq(r.pass, "");
}
END_TEST

START_TEST(test_req_ipv4_http10)
{
	struct http_request r;

	req_all_ways("CONNECT 192.0.2.1:80 HTTP/1.0\r\n\r\n", &r);
	assert_ip(&r.dst, AF_INET, "192.0.2.1", 80);
	ck_assert_uint_eq(r.version_minor, 0);
}
END_TEST

START_TEST(test_req_ipv6)
{
	struct http_request r;

	req_all_ways("CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n", &r);
	assert_ip(&r.dst, AF_INET6, "2001:db8::1", 443);
	req_all_ways("CONNECT [::ffff:192.0.2.1]:65535 HTTP/1.1\r\n\r\n", &r);
	assert_ip(&r.dst, AF_INET6, "::ffff:192.0.2.1", 65535);
}
END_TEST

START_TEST(test_req_bare_lf)
{
	struct http_request r;

	req_all_ways("CONNECT a.example:1 HTTP/1.1\nHost: a\n\n", &r);
	assert_domain(&r.dst, "a.example", 1);
	req_all_ways("CONNECT a.example:1 HTTP/1.1\r\nHost: a\n\r\n", &r);
	req_all_ways("CONNECT a.example:1 HTTP/1.1\nHost: a\r\n\n", &r);
}
END_TEST

START_TEST(test_req_fields_syntax)
{
	struct http_request r;

	/* OWS around values, empty values, odd but valid names, obs-text. */
	req_all_ways(req_with("host:a\r\nX-Empty:\r\nUser-Agent: \t curl/8.5 \t\r\n"
			      "x!#$%&'*+-.^_`|~:v\r\nX-Latin: caf\xc3\xa9\r\n"),
		     &r);
	assert_domain(&r.dst, "a.example", 1);
	ck_assert_uint_eq(r.auth, HTTP_AUTH_NONE);
}
END_TEST

START_TEST(test_req_higher_minor_version)
{
	struct http_request r;

	ck_assert_int_gt(parse_req_str("CONNECT a.example:1 HTTP/1.2\r\n\r\n", &r), 0);
	ck_assert_uint_eq(r.version_minor, 2);
}
END_TEST

START_TEST(test_req_target_forms)
{
	static const char *const ok_domains[] = { "localhost", "a-b_c.example.",
						  "xn--bcher-kva.example", "1.2.3.example",
						  "a!$&'()*+,;=~b" };
	struct http_request r;
	char buf[600];
	char name[300];

	for (size_t i = 0; i < sizeof(ok_domains) / sizeof(ok_domains[0]); i++) {
		snprintf(buf, sizeof(buf), "CONNECT %s:8080 HTTP/1.1\r\n\r\n", ok_domains[i]);
		ck_assert_int_eq(parse_req_str(buf, &r), (ssize_t)strlen(buf));
		assert_domain(&r.dst, ok_domains[i], 8080);
	}
	/* Leading zeros in the port are fine within 5 digits. */
	ck_assert_int_gt(parse_req_str("CONNECT a.example:00443 HTTP/1.1\r\n\r\n", &r), 0);
	ck_assert_uint_eq(r.dst.port, 443);

	/* A 255-byte name is the longest. */
	memset(name, 'n', 255);
	name[255] = '\0';
	snprintf(buf, sizeof(buf), "CONNECT %s:1 HTTP/1.1\r\n\r\n", name);
	ck_assert_int_eq(parse_req_str(buf, &r), (ssize_t)strlen(buf));
	assert_domain(&r.dst, name, 1);
}
END_TEST

/* ---- request: Proxy-Authorization ---- */

START_TEST(test_req_auth_basic)
{
	struct http_request r;

	/* alice:s3cr3t */
	req_all_ways(req_with("Proxy-Authorization: Basic YWxpY2U6czNjcjN0\r\n"), &r);
	ck_assert_uint_eq(r.auth, HTTP_AUTH_BASIC);
	ck_assert_str_eq(r.user, "alice");
	ck_assert_str_eq(r.pass, "s3cr3t");

	/* Name and scheme are case-insensitive; whitespace is optional
	 * around the value and may repeat after the scheme. */
	req_all_ways(req_with("proxy-AUTHORIZATION:bAsIc   YWxpY2U6czNjcjN0 \t\r\n"), &r);
	ck_assert_uint_eq(r.auth, HTTP_AUTH_BASIC);
	ck_assert_str_eq(r.user, "alice");
	ck_assert_str_eq(r.pass, "s3cr3t");

	/* Split at the first ':'; the password may hold more of them. */
	ck_assert_int_gt(
		parse_req_str(req_with("Proxy-Authorization: Basic YWxpY2U6cGE6c3M=\r\n"), &r), 0);
	ck_assert_uint_eq(r.auth, HTTP_AUTH_BASIC);
	ck_assert_str_eq(r.user, "alice");
	ck_assert_str_eq(r.pass, "pa:ss");

	/* "alice:" is an empty password. */
	ck_assert_int_gt(parse_req_str(req_with("Proxy-Authorization: Basic YWxpY2U6\r\n"), &r), 0);
	ck_assert_uint_eq(r.auth, HTTP_AUTH_BASIC);
	ck_assert_str_eq(r.pass, "");

	/* Other fields, including look-alike names, are ignored. */
	ck_assert_int_gt(parse_req_str(req_with("Authorization: Basic Ym9iOng=\r\n"
						"Proxy-Authorizations: Basic Ym9iOng=\r\n"),
				       &r),
			 0);
	ck_assert_uint_eq(r.auth, HTTP_AUTH_NONE);
}
END_TEST

static void auth_header(char *out, size_t cap, const char *plain)
{
	char b64[1024];

	ck_assert_int_ge(
		http_base64_encode((const uint8_t *)plain, strlen(plain), b64, sizeof(b64)), 0);
	snprintf(out, cap, "Proxy-Authorization: Basic %s\r\n", b64);
}

START_TEST(test_req_auth_limits)
{
	struct http_request r;
	char plain[600], field[1100];

	/* 255 + 255 is the most. */
	memset(plain, 'u', 255);
	plain[255] = ':';
	memset(plain + 256, 'p', 255);
	plain[511] = '\0';
	auth_header(field, sizeof(field), plain);
	ck_assert_int_gt(parse_req_str(req_with(field), &r), 0);
	ck_assert_uint_eq(r.auth, HTTP_AUTH_BASIC);
	ck_assert_uint_eq(strlen(r.user), 255);
	ck_assert_uint_eq(strlen(r.pass), 255);

	/* 256-byte user. */
	memset(plain, 'u', 256);
	strcpy(plain + 256, ":p");
	auth_header(field, sizeof(field), plain);
	ck_assert_int_gt(parse_req_str(req_with(field), &r), 0);
	ck_assert_uint_eq(r.auth, HTTP_AUTH_MALFORMED);
	ck_assert_str_eq(r.user, "");

	/* 256-byte password. */
	strcpy(plain, "u:");
	memset(plain + 2, 'p', 256);
	plain[258] = '\0';
	auth_header(field, sizeof(field), plain);
	ck_assert_int_gt(parse_req_str(req_with(field), &r), 0);
	ck_assert_uint_eq(r.auth, HTTP_AUTH_MALFORMED);
}
END_TEST

START_TEST(test_req_auth_malformed)
{
	static const struct {
		const char *field;
		uint8_t auth;
	} cases[] = {
		/* not base64; unused bits set; "alice" without ':'; ":pw";
		 * "a\x01b:pw"; "ab:p\0w" */
		{ "Proxy-Authorization: Basic !!!!\r\n", HTTP_AUTH_MALFORMED },
		{ "Proxy-Authorization: Basic YWxpY2V=\r\n", HTTP_AUTH_MALFORMED },
		{ "Proxy-Authorization: Basic YWxpY2U=\r\n", HTTP_AUTH_MALFORMED },
		{ "Proxy-Authorization: Basic OnB3\r\n", HTTP_AUTH_MALFORMED },
		{ "Proxy-Authorization: Basic YQFiOnB3\r\n", HTTP_AUTH_MALFORMED },
		{ "Proxy-Authorization: Basic YWI6cAB3\r\n", HTTP_AUTH_MALFORMED },
		{ "Proxy-Authorization: Basic\r\n", HTTP_AUTH_MALFORMED },
		{ "Proxy-Authorization: Basic YW Jj\r\n", HTTP_AUTH_MALFORMED },
		{ "Proxy-Authorization:\r\n", HTTP_AUTH_MALFORMED },
		{ "Proxy-Authorization: Basic YWxpY2U6czNjcjN0\r\n"
		  "Proxy-Authorization: Basic Ym9iOng=\r\n",
		  HTTP_AUTH_MALFORMED }, /* which one? */
		{ "Proxy-Authorization: Bearer abc.def\r\n", HTTP_AUTH_UNSUPPORTED },
		{ "Proxy-Authorization: Digest username=\"a\"\r\n", HTTP_AUTH_UNSUPPORTED },
		{ "Proxy-Authorization: BasicYWxpY2U6czNjcjN0\r\n", HTTP_AUTH_UNSUPPORTED },
	};
	struct http_request r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *msg = req_with(cases[i].field);
		/* A credential problem is never a parse error: the server
		 * answers 407, not 400. */
		ck_assert_int_eq(parse_req_str(msg, &r), (ssize_t)strlen(msg));
		ck_assert_msg(r.auth == cases[i].auth, "case %zu: auth %u", i, r.auth);
		ck_assert_str_eq(r.user, "");
		ck_assert_str_eq(r.pass, "");
	}
}
END_TEST

/* ---- request: errors ---- */

static void assert_req_err(const char *msg, int err)
{
	struct http_request r;
	ssize_t rc = parse_req_str(msg, &r);

	ck_assert_msg(rc == -err, "'%s': got %zd, want %d", msg, rc, -err);
}

START_TEST(test_req_malformed)
{
	static const char *const cases[] = {
		"\r\nCONNECT a:1 HTTP/1.1\r\n\r\n", /* no leading blank lines */
		" CONNECT a:1 HTTP/1.1\r\n\r\n",
		"CONNECT  a:1 HTTP/1.1\r\n\r\n",
		"CONNECT a:1  HTTP/1.1\r\n\r\n",
		"CONNECT a:1 HTTP/1.1 \r\n\r\n",
		"CONNECT\ta:1 HTTP/1.1\r\n\r\n",
		"CONNECT a:1\r\n\r\n",
		"CONNECT\r\n\r\n",
		"CONNECT a:1 http/1.1\r\n\r\n",
		"CONNECT a:1 HTTP/1.10\r\n\r\n",
		"CONNECT a:1 HTTP/1\r\n\r\n",
		"CONNECT a:1 HTTP/1.x\r\n\r\n",
		"CONN(ECT a:1 HTTP/1.1\r\n\r\n",
		"CONNECT a\x01:1 HTTP/1.1\r\n\r\n",
		"CONNECT a\x7f:1 HTTP/1.1\r\n\r\n",
		"CONNECT a\xc3\xa9:1 HTTP/1.1\r\n\r\n",
		"CONNECT a:1 HTTP/1.1\r\r\n\r\n", /* CR not before LF */
		"CONNECT a:1 HTTP/1.1\r\nX: a\rb\r\n\r\n",
		"CONNECT a:1 HTTP/1.1\r\nX: a\r\n b\r\n\r\n", /* obsolete folding */
		"CONNECT a:1 HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n",
		"CONNECT a:1 HTTP/1.1\r\n Host: a\r\n\r\n",
		"CONNECT a:1 HTTP/1.1\r\nHost : a\r\n\r\n", /* space before colon */
		"CONNECT a:1 HTTP/1.1\r\nHost\t: a\r\n\r\n",
		"CONNECT a:1 HTTP/1.1\r\nHost a\r\n\r\n",
		"CONNECT a:1 HTTP/1.1\r\n: a\r\n\r\n",
		"CONNECT a:1 HTTP/1.1\r\nX(y): a\r\n\r\n",
		"CONNECT a:1 HTTP/1.1\r\nX: a\x7f\r\n\r\n",
		"CONNECT a:1 HTTP/1.1\r\nX: a\x01\r\n\r\n",
		"CONNECT a:1 HTTP/1.1\r\n\r\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_req_err(cases[i], HTTP_EMALFORMED);
}
END_TEST

START_TEST(test_req_nul)
{
	static const char full[] = "CONNECT a:1 HTTP/1.1\r\nX: a\0b\r\n\r\n";
	static const char line[] = "CONNECT a:1\0 HTTP/1.1\r\n\r\n";
	struct http_request r;

	ck_assert_int_eq(parse_req(full, sizeof(full) - 1, &r), -HTTP_EMALFORMED);
	ck_assert_int_eq(parse_req(line, sizeof(line) - 1, &r), -HTTP_EMALFORMED);
	/* Refused as soon as it arrives, without waiting for the line. */
	ck_assert_int_eq(parse_req(full, 27, &r), -HTTP_EMALFORMED);
	ck_assert_int_eq(parse_req(full, 26, &r), 0);
	ck_assert_int_eq(parse_req("\0", 1, &r), -HTTP_EMALFORMED);
}
END_TEST

START_TEST(test_req_version)
{
	struct http_request r;

	assert_req_err("CONNECT a:1 HTTP/2.0\r\n\r\n", HTTP_EVERSION);
	assert_req_err("CONNECT a:1 HTTP/0.9\r\n\r\n", HTTP_EVERSION);
	assert_req_err("CONNECT a:1 HTTP/3.0\r\n\r\n", HTTP_EVERSION);
	/* The HTTP/2 connection preface. */
	assert_req_err("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", HTTP_EVERSION);
	/* The version outranks the method. */
	assert_req_err("GET / HTTP/2.0\r\n\r\n", HTTP_EVERSION);
	/* Decided from the request line alone. */
	ck_assert_int_eq(parse_req_str("CONNECT a:1 HTTP/2.0\r\n", &r), -HTTP_EVERSION);
	ck_assert_int_eq(parse_req_str("CONNECT a:1 HTTP/2.0", &r), 0);
}
END_TEST

START_TEST(test_req_method)
{
	struct http_request r;
	char buf[200];

	ck_assert_int_eq(parse_req_str("GET http://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n", &r),
			 -HTTP_EMETHOD);
	ck_assert_str_eq(r.method, "GET");
	/* Reported once the request line is there; the fields may follow. */
	ck_assert_int_eq(parse_req_str("POST /x HTTP/1.1\r\n", &r), -HTTP_EMETHOD);
	ck_assert_str_eq(r.method, "POST");
	ck_assert_int_eq(parse_req_str("POST /x HTTP/1.1", &r), 0);
	/* Methods are case-sensitive. */
	ck_assert_int_eq(parse_req_str("connect a.example:1 HTTP/1.1\r\n\r\n", &r), -HTTP_EMETHOD);
	ck_assert_str_eq(r.method, "connect");
	ck_assert_int_eq(parse_req_str("CONNECTX a.example:1 HTTP/1.1\r\n\r\n", &r), -HTTP_EMETHOD);
	ck_assert_str_eq(r.method, "CONNECTX");
	/* A long method is kept truncated, for the log line. */
	snprintf(buf, sizeof(buf), "%s / HTTP/1.1\r\n\r\n",
		 "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ");
	ck_assert_int_eq(parse_req_str(buf, &r), -HTTP_EMETHOD);
	ck_assert_uint_eq(strlen(r.method), HTTP_METHOD_MAX);
	ck_assert_mem_eq(r.method, "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEF", HTTP_METHOD_MAX);
}
END_TEST

START_TEST(test_req_bad_targets)
{
	static const char *const cases[] = {
		"example.com",
		"example.com:",
		"example.com:0",
		"example.com:65536",
		"example.com:99999",
		"example.com:000443",
		"example.com:44a",
		"example.com:+443",
		"example.com:-1",
		":443",
		"http://example.com:443",
		"user@example.com:443",
		"exa%6dple.com:443",
		"exa/mple.com:443",
		"a\"b:443",
		"[::1]",
		"[::1]:",
		"[::1:443",
		"::1:443",
		"[::1]x:443",
		"x[::1]:443",
		"[zz::1]:443",
		"[]:443",
		"[1.2.3.4]:443",
		"[fe80::1%25eth0]:443",
		"1.2.3.256:80",
		"1.2.3:80",
		"1.2.3.4.5:80",
		"999:80",
		"010.0.0.1:80",
		"a:b:80",
	};
	char buf[600];
	char name[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "CONNECT %s HTTP/1.1\r\n\r\n", cases[i]);
		assert_req_err(buf, HTTP_ETARGET);
	}
	memset(name, 'n', 256);
	name[256] = '\0';
	snprintf(buf, sizeof(buf), "CONNECT %s:1 HTTP/1.1\r\n\r\n", name);
	assert_req_err(buf, HTTP_ETARGET);
}
END_TEST

/* A request exactly total bytes long: padded with an X-Pad field. */
static char *req_of_size(size_t total)
{
	static const char head[] = "CONNECT a.example:1 HTTP/1.1\r\nX-Pad: ";
	static const char end[] = "\r\n\r\n";
	char *buf = malloc(total + 64);

	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_gt(total, sizeof(head) + sizeof(end));
	size_t pad = total - (sizeof(head) - 1) - (sizeof(end) - 1);
	memcpy(buf, head, sizeof(head) - 1);
	memset(buf + sizeof(head) - 1, 'p', pad);
	memcpy(buf + sizeof(head) - 1 + pad, end, sizeof(end));
	ck_assert_uint_eq(strlen(buf), total);
	return buf;
}

START_TEST(test_req_size_limit)
{
	struct http_request r;
	char *max = req_of_size(HTTP_HEADER_MAX);
	char *over = req_of_size(HTTP_HEADER_MAX + 1);

	/* Exactly HTTP_HEADER_MAX is accepted, also with data behind it. */
	ck_assert_int_eq(parse_req(max, HTTP_HEADER_MAX, &r), HTTP_HEADER_MAX);
	memcpy(max + HTTP_HEADER_MAX, "more", 4);
	ck_assert_int_eq(parse_req(max, HTTP_HEADER_MAX + 4, &r), HTTP_HEADER_MAX);
	ck_assert_int_eq(parse_req(max, HTTP_HEADER_MAX - 1, &r), 0);

	/* One byte more is too large, decided at HTTP_HEADER_MAX bytes. */
	ck_assert_int_eq(parse_req(over, HTTP_HEADER_MAX + 1, &r), -HTTP_ETOOLARGE);
	ck_assert_int_eq(parse_req(over, HTTP_HEADER_MAX, &r), -HTTP_ETOOLARGE);
	ck_assert_int_eq(parse_req(over, HTTP_HEADER_MAX - 1, &r), 0);
	ck_assert_uint_eq(http_err_status(-HTTP_ETOOLARGE), 431);
	free(max);
	free(over);

	/* A never-ending request line, and far more than the limit at once. */
	size_t big = 3 * HTTP_HEADER_MAX;
	char *line = malloc(big);
	ck_assert_ptr_nonnull(line);
	memcpy(line, "CONNECT ", 8);
	memset(line + 8, 'a', big - 8);
	ck_assert_int_eq(parse_req(line, HTTP_HEADER_MAX - 1, &r), 0);
	ck_assert_int_eq(parse_req(line, HTTP_HEADER_MAX, &r), -HTTP_ETOOLARGE);
	ck_assert_int_eq(parse_req(line, big, &r), -HTTP_ETOOLARGE);
	/* A blank line past the limit does not count. */
	memcpy(line + HTTP_HEADER_MAX, " HTTP/1.1\r\n\r\n", 13);
	ck_assert_int_eq(parse_req(line, big, &r), -HTTP_ETOOLARGE);
	free(line);
}
END_TEST

START_TEST(test_err_status)
{
	ck_assert_int_eq(http_err_status(-HTTP_EMALFORMED), 400);
	ck_assert_int_eq(http_err_status(-HTTP_ETARGET), 400);
	ck_assert_int_eq(http_err_status(-HTTP_ETOOLARGE), 431);
	ck_assert_int_eq(http_err_status(-HTTP_EMETHOD), 501);
	ck_assert_int_eq(http_err_status(-HTTP_EVERSION), 505);
	ck_assert_int_eq(http_err_status(HTTP_EVERSION), 505);
	ck_assert_int_eq(http_err_status(-999), 400);

	const char *seen[6];
	int errs[] = { HTTP_EMALFORMED, HTTP_ETARGET, HTTP_ETOOLARGE, HTTP_EMETHOD, HTTP_EVERSION };
	for (size_t i = 0; i < 5; i++) {
		seen[i] = http_strerror(-errs[i]);
		ck_assert_str_eq(seen[i], http_strerror(errs[i]));
		ck_assert_str_ne(seen[i], "unknown HTTP error");
		for (size_t j = 0; j < i; j++)
			ck_assert_str_ne(seen[i], seen[j]);
		/* Every error's status has a reason phrase to answer with. */
		ck_assert_ptr_nonnull(http_reason(http_err_status(errs[i])));
	}
	ck_assert_str_eq(http_strerror(0), "no error");
	ck_assert_str_eq(http_strerror(999), "unknown HTTP error");
}
END_TEST

/* ---- response encoding (front-end) ---- */

static void assert_encoded(int status, const char *detail, const char *want)
{
	uint8_t out[HTTP_RESPONSE_MAX];
	ssize_t n = http_encode_response(out, sizeof(out), status, detail);

	ck_assert_int_eq(n, (ssize_t)strlen(want));
	ck_assert_mem_eq(out, want, strlen(want));
}

START_TEST(test_resp_encode_exact)
{
	assert_encoded(200, NULL, "HTTP/1.1 200 Connection established\r\n\r\n");
	assert_encoded(200, "ignored", "HTTP/1.1 200 Connection established\r\n\r\n");
	assert_encoded(407, NULL,
		       "HTTP/1.1 407 Proxy Authentication Required\r\n"
		       "Proxy-Authenticate: Basic realm=\"hopsocks\"\r\n"
		       "Content-Type: text/plain\r\n"
		       "Content-Length: 30\r\n"
		       "Connection: close\r\n"
		       "\r\n"
		       "Proxy Authentication Required\n");
	assert_encoded(405, NULL,
		       "HTTP/1.1 405 Method Not Allowed\r\n"
		       "Allow: CONNECT\r\n"
		       "Content-Type: text/plain\r\n"
		       "Content-Length: 19\r\n"
		       "Connection: close\r\n"
		       "\r\n"
		       "Method Not Allowed\n");
	assert_encoded(502, "hop socks5://10.0.0.1:1080: connection refused",
		       "HTTP/1.1 502 Bad Gateway\r\n"
		       "Content-Type: text/plain\r\n"
		       "Content-Length: 60\r\n"
		       "Connection: close\r\n"
		       "\r\n"
		       "Bad Gateway: hop socks5://10.0.0.1:1080: connection refused\n");
	/* Control characters in the detail cannot break the body's line. */
	assert_encoded(400, "a\r\nb\x80",
		       "HTTP/1.1 400 Bad Request\r\n"
		       "Content-Type: text/plain\r\n"
		       "Content-Length: 19\r\n"
		       "Connection: close\r\n"
		       "\r\n"
		       "Bad Request: a??b?\n");
}
END_TEST

START_TEST(test_resp_encode_detail_cut)
{
	char detail[HTTP_DETAIL_MAX + 50];
	uint8_t out[HTTP_RESPONSE_MAX];
	struct http_response r;

	memset(detail, 'd', sizeof(detail) - 1);
	detail[sizeof(detail) - 1] = '\0';
	ssize_t n = http_encode_response(out, sizeof(out), 504, detail);
	ck_assert_int_gt(n, 0);
	ssize_t h = http_parse_response(out, (size_t)n, &r);
	ck_assert_int_gt(h, 0);
	ck_assert_uint_eq(r.status, 504);
	/* "Gateway Timeout: " + 200 d + "\n" */
	ck_assert_int_eq(n - h, 17 + HTTP_DETAIL_MAX + 1);
	ck_assert_uint_eq(out[n - 2], 'd');
}
END_TEST

START_TEST(test_resp_encode_errors)
{
	static const int bad[] = { 0, -1, 100, 201, 302, 404, 500, 600, 1000 };
	uint8_t out[HTTP_RESPONSE_MAX];
	uint8_t full[HTTP_RESPONSE_MAX];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(http_encode_response(out, sizeof(out), bad[i], NULL), -EINVAL);

	ssize_t n = http_encode_response(full, sizeof(full), 407, "why");
	ck_assert_int_gt(n, 0);
	for (size_t cap = 0; cap < (size_t)n; cap++) {
		memset(out, 0xaa, sizeof(out));
		ck_assert_int_eq(http_encode_response(out, cap, 407, "why"), -ENOSPC);
		/* Nothing half-written. */
		for (size_t k = 0; k < sizeof(out); k++)
			ck_assert_uint_eq(out[k], 0xaa);
	}
	ck_assert_int_eq(http_encode_response(out, (size_t)n, 407, "why"), n);
	ck_assert_mem_eq(out, full, (size_t)n);
}
END_TEST

START_TEST(test_resp_encode_round_trip)
{
	static const int statuses[] = { 200, 400, 403, 405, 407, 431, 501, 502, 503, 504, 505 };
	char detail[HTTP_DETAIL_MAX + 1];
	uint8_t out[HTTP_RESPONSE_MAX];
	struct http_response r;

	memset(detail, 'x', HTTP_DETAIL_MAX);
	detail[HTTP_DETAIL_MAX] = '\0';
	for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		int st = statuses[i];
		const char *reason = http_reason(st);
		ck_assert_ptr_nonnull(reason);
		for (int with_detail = 0; with_detail < 2; with_detail++) {
			ssize_t n = http_encode_response(out, sizeof(out), st,
							 with_detail ? detail : NULL);
			ck_assert_int_gt(n, 0);
			ssize_t h = parse_resp(out, (size_t)n, &r);
			ck_assert_int_gt(h, 0);
			ck_assert_uint_eq(r.status, st);
			ck_assert_uint_eq(r.version_minor, 1);
			ck_assert_str_eq(r.reason, reason);
			if (st == 200) {
				ck_assert_int_eq(h, n);
				continue;
			}
			/* The body is what Content-Length says, after the header. */
			char cl[64];
			snprintf(cl, sizeof(cl), "\r\nContent-Length: %zd\r\n", n - h);
			ck_assert_ptr_nonnull(memmem(out, (size_t)h, cl, strlen(cl)));
			ck_assert_mem_eq(out + h, reason, strlen(reason));
			ck_assert_uint_eq(out[n - 1], '\n');
		}
	}
}
END_TEST

START_TEST(test_reason)
{
	ck_assert_str_eq(http_reason(200), "Connection established");
	ck_assert_str_eq(http_reason(400), "Bad Request");
	ck_assert_str_eq(http_reason(403), "Forbidden");
	ck_assert_str_eq(http_reason(405), "Method Not Allowed");
	ck_assert_str_eq(http_reason(407), "Proxy Authentication Required");
	ck_assert_str_eq(http_reason(431), "Request Header Fields Too Large");
	ck_assert_str_eq(http_reason(501), "Not Implemented");
	ck_assert_str_eq(http_reason(502), "Bad Gateway");
	ck_assert_str_eq(http_reason(503), "Service Unavailable");
	ck_assert_str_eq(http_reason(504), "Gateway Timeout");
	ck_assert_str_eq(http_reason(505), "HTTP Version Not Supported");
	ck_assert_ptr_null(http_reason(404));
	ck_assert_ptr_null(http_reason(0));
}
END_TEST

/* ---- client side: CONNECT request ---- */

static struct target make_domain(const char *name, uint16_t port)
{
	struct target t;
	ck_assert_int_eq(target_set_domain(&t, name, strlen(name), port), 0);
	return t;
}

static struct target make_ip(int family, const char *text, uint16_t port)
{
	struct target t;

	memset(&t, 0, sizeof(t));
	t.type = family == AF_INET ? TARGET_IPV4 : TARGET_IPV6;
	t.port = port;
	ck_assert_int_eq(inet_pton(family, text,
				   family == AF_INET ? (void *)t.addr.ipv4 : (void *)t.addr.ipv6),
			 1);
	return t;
}

static void assert_connect(const struct target *t, const char *user, const char *pass,
			   const char *want)
{
	uint8_t out[HTTP_CONNECT_REQUEST_MAX];
	ssize_t n = http_encode_connect_request(out, sizeof(out), t, user, pass);

	ck_assert_int_eq(n, (ssize_t)strlen(want));
	ck_assert_mem_eq(out, want, strlen(want));
}

START_TEST(test_connect_encode_exact)
{
	struct target d = make_domain("example.com", 443);
	struct target v4 = make_ip(AF_INET, "192.0.2.1", 80);
	struct target v6 = make_ip(AF_INET6, "2001:db8::1", 8443);

	assert_connect(&d, NULL, NULL,
		       "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
	assert_connect(&v4, NULL, "ignored",
		       "CONNECT 192.0.2.1:80 HTTP/1.1\r\nHost: 192.0.2.1:80\r\n\r\n");
	assert_connect(&v6, NULL, NULL,
		       "CONNECT [2001:db8::1]:8443 HTTP/1.1\r\nHost: [2001:db8::1]:8443\r\n\r\n");
	assert_connect(&d, "alice", "s3cr3t",
		       "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
		       "Proxy-Authorization: Basic YWxpY2U6czNjcjN0\r\n\r\n");
	/* No password is an empty one. */
	assert_connect(&d, "alice", NULL,
		       "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
		       "Proxy-Authorization: Basic YWxpY2U6\r\n\r\n");
}
END_TEST

START_TEST(test_connect_encode_invalid)
{
	static const char *const bad_names[] = { "a b", "a\r\nX: y", "a:1",
						 "a@b", "a/b",	     "a%20b",
						 "999", "1.2.3.256", "caf\xc3\xa9" };
	uint8_t out[HTTP_CONNECT_REQUEST_MAX];
	struct target d = make_domain("example.com", 443);
	struct target t;
	char u256[257];

	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		t = make_domain(bad_names[i], 443);
		ck_assert_int_eq(http_encode_connect_request(out, sizeof(out), &t, NULL, NULL),
				 -EINVAL);
	}
	t = make_domain("example.com", 0);
	ck_assert_int_eq(http_encode_connect_request(out, sizeof(out), &t, NULL, NULL), -EINVAL);
	memset(&t, 0, sizeof(t));
	t.port = 1;
	ck_assert_int_eq(http_encode_connect_request(out, sizeof(out), &t, NULL, NULL), -EINVAL);

	memset(u256, 'u', 256);
	u256[256] = '\0';
	ck_assert_int_eq(http_encode_connect_request(out, sizeof(out), &d, "a:b", "p"), -EINVAL);
	ck_assert_int_eq(http_encode_connect_request(out, sizeof(out), &d, "", "p"), -EINVAL);
	ck_assert_int_eq(http_encode_connect_request(out, sizeof(out), &d, u256, "p"), -EINVAL);
	ck_assert_int_eq(http_encode_connect_request(out, sizeof(out), &d, "u", u256), -EINVAL);
	ck_assert_int_eq(http_encode_connect_request(out, sizeof(out), &d, "u", "p\nq"), -EINVAL);
	ck_assert_int_eq(http_encode_connect_request(out, sizeof(out), &d, "u\x7f", "p"), -EINVAL);
	u256[255] = '\0';
	ck_assert_int_gt(http_encode_connect_request(out, sizeof(out), &d, u256, u256), 0);
}
END_TEST

START_TEST(test_connect_encode_sizes)
{
	uint8_t out[HTTP_CONNECT_REQUEST_MAX + 16];
	uint8_t copy[sizeof(out)];
	char name[256], cred[256];

	/* The worst case fills HTTP_CONNECT_REQUEST_MAX exactly. */
	memset(name, 'n', 255);
	name[255] = '\0';
	memset(cred, 'c', 255);
	cred[255] = '\0';
	struct target t = make_domain(name, 65535);
	ssize_t n = http_encode_connect_request(out, sizeof(out), &t, cred, cred);
	ck_assert_int_eq(n, HTTP_CONNECT_REQUEST_MAX);

	/* Short buffers: -ENOSPC and nothing written. */
	struct target d = make_domain("example.com", 443);
	n = http_encode_connect_request(out, sizeof(out), &d, "alice", "s3cr3t");
	ck_assert_int_gt(n, 0);
	for (size_t cap = 0; cap < (size_t)n; cap++) {
		memset(copy, 0x55, sizeof(copy));
		ck_assert_int_eq(http_encode_connect_request(copy, cap, &d, "alice", "s3cr3t"),
				 -ENOSPC);
		for (size_t k = 0; k < sizeof(copy); k++)
			ck_assert_uint_eq(copy[k], 0x55);
	}
	ck_assert_int_eq(http_encode_connect_request(copy, (size_t)n, &d, "alice", "s3cr3t"), n);
	ck_assert_mem_eq(copy, out, (size_t)n);
}
END_TEST

START_TEST(test_connect_round_trip)
{
	char all[128], name[256], cred[256];
	size_t k = 0;

	/* Every printable character but ':' in the user; all of them in
	 * the password. */
	for (int c = 0x20; c < 0x7f; c++)
		if (c != ':')
			all[k++] = (char)c;
	all[k] = '\0';
	memset(name, 'n', 255);
	name[255] = '\0';
	memset(cred, 'c', 255);
	cred[255] = '\0';

	struct {
		struct target t;
		const char *user, *pass;
	} cases[] = {
		{ make_domain("example.com", 443), NULL, NULL },
		{ make_domain(name, 65535), cred, cred },
		{ make_domain("a!$&'()*+,;=~b", 1), "alice", "" },
		{ make_ip(AF_INET, "0.0.0.0", 1), "a", "p:a:ss" },
		{ make_ip(AF_INET6, "::", 2), all, all },
		{ make_ip(AF_INET6, "fe80::1:2:3:4", 3), "bob", NULL },
	};
	uint8_t out[HTTP_CONNECT_REQUEST_MAX];
	struct http_request r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ssize_t n = http_encode_connect_request(out, sizeof(out), &cases[i].t,
							cases[i].user, cases[i].pass);
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(parse_req(out, (size_t)n, &r), n);
		ck_assert_uint_eq(r.dst.type, cases[i].t.type);
		ck_assert_uint_eq(r.dst.port, cases[i].t.port);
		if (r.dst.type == TARGET_DOMAIN)
			ck_assert_str_eq(r.dst.addr.domain, cases[i].t.addr.domain);
		else
			ck_assert_mem_eq(&r.dst.addr, &cases[i].t.addr,
					 r.dst.type == TARGET_IPV4 ? 4 : 16);
		if (cases[i].user == NULL) {
			ck_assert_uint_eq(r.auth, HTTP_AUTH_NONE);
			continue;
		}
		ck_assert_uint_eq(r.auth, HTTP_AUTH_BASIC);
		ck_assert_str_eq(r.user, cases[i].user);
		ck_assert_str_eq(r.pass, cases[i].pass != NULL ? cases[i].pass : "");
	}
}
END_TEST

/* ---- client side: response ---- */

START_TEST(test_resp_parse)
{
	struct http_response r;

	resp_all_ways("HTTP/1.1 200 Connection established\r\n\r\n", &r);
	ck_assert_uint_eq(r.status, 200);
	ck_assert_uint_eq(r.version_minor, 1);
	ck_assert_str_eq(r.reason, "Connection established");

	resp_all_ways("HTTP/1.0 200 OK\r\nProxy-agent: tinyproxy/1.11\r\n\r\n", &r);
	ck_assert_uint_eq(r.status, 200);
	ck_assert_uint_eq(r.version_minor, 0);
	ck_assert_str_eq(r.reason, "OK");

	/* An empty reason, with or without its SP; bare LF. */
	resp_all_ways("HTTP/1.1 200\r\n\r\n", &r);
	ck_assert_str_eq(r.reason, "");
	resp_all_ways("HTTP/1.1 204 \n\n", &r);
	ck_assert_uint_eq(r.status, 204);
	ck_assert_str_eq(r.reason, "");

	/* A refusal with a body: only the header is consumed. */
	static const char h407[] = "HTTP/1.1 407 Proxy Authentication Required\r\n"
				   "Proxy-Authenticate: Basic realm=\"squid\"\r\n"
				   "Content-Length: 5\r\n\r\n";
	char buf[256];
	snprintf(buf, sizeof(buf), "%shello", h407);
	ck_assert_int_eq(parse_resp_str(buf, &r), (ssize_t)strlen(h407));
	ck_assert_uint_eq(r.status, 407);
	ck_assert_str_eq(r.reason, "Proxy Authentication Required");
}
END_TEST

START_TEST(test_resp_parse_reason)
{
	struct http_response r;
	char buf[300];
	char reason[101];

	/* Tabs and obs-text are valid but logged as '?'. */
	ck_assert_int_gt(parse_resp_str("HTTP/1.1 502 Bad\tGateway \xe2\x80\x94 x\r\n\r\n", &r), 0);
	ck_assert_str_eq(r.reason, "Bad?Gateway ??? x");

	/* Cut to HTTP_REASON_MAX. */
	memset(reason, 'r', 100);
	reason[100] = '\0';
	snprintf(buf, sizeof(buf), "HTTP/1.1 503 %s\r\n\r\n", reason);
	ck_assert_int_eq(parse_resp_str(buf, &r), (ssize_t)strlen(buf));
	ck_assert_uint_eq(strlen(r.reason), HTTP_REASON_MAX);
}
END_TEST

START_TEST(test_resp_parse_1xx)
{
	static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\ntunnel";
	struct http_response r;

	ssize_t n = parse_resp_str(msg, &r);
	ck_assert_int_eq(n, 25);
	ck_assert_uint_eq(r.status, 100);
	ssize_t m = parse_resp(msg + n, strlen(msg) - (size_t)n, &r);
	ck_assert_int_eq(m, 19);
	ck_assert_uint_eq(r.status, 200);
	ck_assert_str_eq(msg + n + m, "tunnel");
}
END_TEST

START_TEST(test_resp_parse_errors)
{
	static const struct {
		const char *msg;
		int err;
	} cases[] = {
		{ "HTTP/2 200 OK\r\n\r\n", HTTP_EMALFORMED },
		{ "HTTP/2.0 200 OK\r\n\r\n", HTTP_EVERSION },
		{ "HTTP/0.9 200 OK\r\n\r\n", HTTP_EVERSION },
		{ "http/1.1 200 OK\r\n\r\n", HTTP_EMALFORMED },
		{ "HTTP/1.1 20 OK\r\n\r\n", HTTP_EMALFORMED },
		{ "HTTP/1.1 2000 OK\r\n\r\n", HTTP_EMALFORMED },
		{ "HTTP/1.1 099 Low\r\n\r\n", HTTP_EMALFORMED },
		{ "HTTP/1.1 600 High\r\n\r\n", HTTP_EMALFORMED },
		{ "HTTP/1.1 2x0 OK\r\n\r\n", HTTP_EMALFORMED },
		{ "HTTP/1.1  200 OK\r\n\r\n", HTTP_EMALFORMED },
		{ "HTTP/1.1\t200 OK\r\n\r\n", HTTP_EMALFORMED },
		{ "HTTP/1.1 200 O\x01K\r\n\r\n", HTTP_EMALFORMED },
		{ "HTTP/1.1 200 OK\r\nX : y\r\n\r\n", HTTP_EMALFORMED },
		{ "HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n", HTTP_EMALFORMED },
		{ "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", HTTP_EMALFORMED },
		{ "SSH-2.0-OpenSSH_9.6\r\n", HTTP_EMALFORMED },
		{ "\x05\x02\x01\x02\r\n\r\n", HTTP_EMALFORMED },
	};
	struct http_response r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ssize_t rc = parse_resp_str(cases[i].msg, &r);
		ck_assert_msg(rc == -cases[i].err, "case %zu: got %zd", i, rc);
	}
	ck_assert_int_eq(parse_resp("HTTP/1.1 200 OK\r\n\0", 18, &r), -HTTP_EMALFORMED);
	ck_assert_int_eq(parse_resp("HTTP/1.1 200 OK\r\n", 17, &r), 0);
	/* A NUL decides before the version, whether or not the line's end has
	 * arrived (found by tests/fuzz/fuzz_http.c). */
	ck_assert_int_eq(parse_resp("HTTP/2.0 200 \0", 14, &r), -HTTP_EMALFORMED);
	ck_assert_int_eq(parse_resp("HTTP/2.0 200 \0\r\n\r\n", 18, &r), -HTTP_EMALFORMED);
}
END_TEST

START_TEST(test_resp_size_limit)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nX: ";
	char *buf = malloc(2 * HTTP_HEADER_MAX);
	struct http_response r;

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, head, sizeof(head) - 1);
	memset(buf + sizeof(head) - 1, 'x', 2 * HTTP_HEADER_MAX - (sizeof(head) - 1));
	/* Exactly HTTP_HEADER_MAX with the blank line. */
	memcpy(buf + HTTP_HEADER_MAX - 4, "\r\n\r\n", 4);
	ck_assert_int_eq(parse_resp(buf, 2 * HTTP_HEADER_MAX, &r), HTTP_HEADER_MAX);
	ck_assert_int_eq(parse_resp(buf, HTTP_HEADER_MAX - 1, &r), 0);
	/* One byte later is too large. */
	memcpy(buf + HTTP_HEADER_MAX - 4, "x\r\n\r\n", 5);
	ck_assert_int_eq(parse_resp(buf, 2 * HTTP_HEADER_MAX, &r), -HTTP_ETOOLARGE);
	ck_assert_int_eq(parse_resp(buf, HTTP_HEADER_MAX, &r), -HTTP_ETOOLARGE);
	ck_assert_int_eq(parse_resp(buf, HTTP_HEADER_MAX - 1, &r), 0);
	free(buf);
}
END_TEST

/* ---- detection ---- */

static int detect(const char *s, size_t n)
{
	uint8_t *p = dup_exact(s, n);
	int rc = http_detect(p, n);
	free(p);
	return rc;
}

START_TEST(test_detect)
{
	ck_assert_int_eq(detect("", 0), HTTP_DETECT_MORE);
	ck_assert_int_eq(detect("C", 1), HTTP_DETECT_MORE);
	ck_assert_int_eq(detect("CONNECT", 7), HTTP_DETECT_MORE);
	ck_assert_int_eq(detect("CONNECT ", 8), HTTP_DETECT_YES);
	ck_assert_int_eq(detect("CONNECT example.com:443", 23), HTTP_DETECT_YES);
	ck_assert_int_eq(detect("GET /", 5), HTTP_DETECT_YES);
	ck_assert_int_eq(detect("M-SEARCH *", 10), HTTP_DETECT_YES);
	ck_assert_int_eq(detect("\x05\x01\x00", 3), HTTP_DETECT_NO);
	ck_assert_int_eq(detect("\x04\x01\x00\x50", 4), HTTP_DETECT_NO);
	ck_assert_int_eq(detect("\x05", 1), HTTP_DETECT_NO);
	ck_assert_int_eq(detect("connect ", 8), HTTP_DETECT_NO);
	ck_assert_int_eq(detect(" GET", 4), HTTP_DETECT_NO);
	ck_assert_int_eq(detect("-GET ", 5), HTTP_DETECT_NO);
	ck_assert_int_eq(detect("GET\r\n", 5), HTTP_DETECT_NO);
	ck_assert_int_eq(detect("C\x05", 2), HTTP_DETECT_NO);
	ck_assert_int_eq(detect("\x16\x03\x01", 3), HTTP_DETECT_NO); /* TLS */

	/* Method length: HTTP_DETECT_METHOD_MAX letters then a space is
	 * the longest; the decision never needs more than one byte more. */
	char m[64];
	memset(m, 'A', sizeof(m));
	m[HTTP_DETECT_METHOD_MAX] = ' ';
	ck_assert_int_eq(detect(m, HTTP_DETECT_METHOD_MAX), HTTP_DETECT_MORE);
	ck_assert_int_eq(detect(m, HTTP_DETECT_METHOD_MAX + 1), HTTP_DETECT_YES);
	m[HTTP_DETECT_METHOD_MAX] = 'A';
	ck_assert_int_eq(detect(m, HTTP_DETECT_METHOD_MAX + 1), HTTP_DETECT_NO);
	ck_assert_int_eq(detect(m, sizeof(m)), HTTP_DETECT_NO);
}
END_TEST

/* ---- base64 ---- */

START_TEST(test_base64_rfc4648)
{
	/* RFC 4648 section 10. */
	static const char *const vec[][2] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	char enc[32];
	uint8_t dec[32];

	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		size_t n = strlen(vec[i][0]);
		ck_assert_int_eq(
			http_base64_encode((const uint8_t *)vec[i][0], n, enc, sizeof(enc)),
			(ssize_t)strlen(vec[i][1]));
		ck_assert_str_eq(enc, vec[i][1]);
		ck_assert_uint_eq(HTTP_BASE64_LEN(n), strlen(vec[i][1]));
		ck_assert_int_eq(http_base64_decode(vec[i][1], strlen(vec[i][1]), dec, sizeof(dec)),
				 (ssize_t)n);
		ck_assert_mem_eq(dec, vec[i][0], n);
	}
}
END_TEST

START_TEST(test_base64_unpadded_and_binary)
{
	uint8_t dec[8];
	char enc[16];
	static const uint8_t bin[] = { 0xfb, 0xff, 0xbf, 0x00 };

	ck_assert_int_eq(http_base64_decode("Zg", 2, dec, sizeof(dec)), 1);
	ck_assert_uint_eq(dec[0], 'f');
	ck_assert_int_eq(http_base64_decode("Zm8", 3, dec, sizeof(dec)), 2);
	ck_assert_mem_eq(dec, "fo", 2);
	ck_assert_int_eq(http_base64_encode(bin, 4, enc, sizeof(enc)), 8);
	ck_assert_str_eq(enc, "+/+/AA==");
	ck_assert_int_eq(http_base64_decode(enc, 8, dec, sizeof(dec)), 4);
	ck_assert_mem_eq(dec, bin, 4);
}
END_TEST

START_TEST(test_base64_errors)
{
	static const char *const bad[] = {
		"Z",	"Zg=",	"Zg===", "Z===", "=",	 "==",	 "Zm9v=", "Zg==Zg==", "Zm9 v",
		"Zm9-", "Zm9_", "Zm9\n", "Zh==", "Zm9=", "Zm+=", "Zm9vY", "Zm9vYg=a", "Zm=v",
	};
	uint8_t dec[32];
	char enc[16];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(http_base64_decode(bad[i], strlen(bad[i]), dec, sizeof(dec)) ==
				      -EINVAL,
			      "'%s' accepted", bad[i]);
	/* Output space. */
	ck_assert_int_eq(http_base64_decode("Zm9vYmFy", 8, dec, 5), -ENOSPC);
	ck_assert_int_eq(http_base64_decode("Zm9vYmFy", 8, dec, 6), 6);
	ck_assert_int_eq(http_base64_decode("Zm9vYg==", 8, dec, 3), -ENOSPC);
	ck_assert_int_eq(http_base64_decode("Zm9vYg==", 8, dec, 4), 4);
	/* The encoder needs room for its NUL. */
	ck_assert_int_eq(http_base64_encode((const uint8_t *)"foo", 3, enc, 4), -ENOSPC);
	ck_assert_int_eq(http_base64_encode((const uint8_t *)"foo", 3, enc, 5), 4);
	ck_assert_int_eq(http_base64_encode((const uint8_t *)"", 0, enc, 0), -ENOSPC);
	ck_assert_int_eq(http_base64_encode((const uint8_t *)"", 0, enc, 1), 0);
	ck_assert_str_eq(enc, "");
}
END_TEST

START_TEST(test_base64_round_trip)
{
	uint8_t in[300], dec[300];
	char enc[HTTP_BASE64_LEN(300) + 1];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof(in); n++) {
		ssize_t e = http_base64_encode(in, n, enc, sizeof(enc));
		ck_assert_int_eq(e, (ssize_t)HTTP_BASE64_LEN(n));
		ck_assert_int_eq(http_base64_decode(enc, (size_t)e, dec, sizeof(dec)), (ssize_t)n);
		ck_assert_mem_eq(dec, in, n);
		/* Without its padding too. */
		while (e > 0 && enc[e - 1] == '=')
			e--;
		ck_assert_int_eq(http_base64_decode(enc, (size_t)e, dec, n), (ssize_t)n);
		ck_assert_mem_eq(dec, in, n);
	}
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("request");
	tcase_add_test(tc, test_req_domain);
	tcase_add_test(tc, test_req_ipv4_http10);
	tcase_add_test(tc, test_req_ipv6);
	tcase_add_test(tc, test_req_bare_lf);
	tcase_add_test(tc, test_req_fields_syntax);
	tcase_add_test(tc, test_req_higher_minor_version);
	tcase_add_test(tc, test_req_target_forms);
	tcase_add_test(tc, test_req_auth_basic);
	tcase_add_test(tc, test_req_auth_limits);
	tcase_add_test(tc, test_req_auth_malformed);
	suite_add_tcase(s, tc);

	tc = tcase_create("request errors");
	tcase_add_test(tc, test_req_malformed);
	tcase_add_test(tc, test_req_nul);
	tcase_add_test(tc, test_req_version);
	tcase_add_test(tc, test_req_method);
	tcase_add_test(tc, test_req_bad_targets);
	tcase_add_test(tc, test_req_size_limit);
	tcase_add_test(tc, test_err_status);
	suite_add_tcase(s, tc);

	tc = tcase_create("response encode");
	tcase_add_test(tc, test_resp_encode_exact);
	tcase_add_test(tc, test_resp_encode_detail_cut);
	tcase_add_test(tc, test_resp_encode_errors);
	tcase_add_test(tc, test_resp_encode_round_trip);
	tcase_add_test(tc, test_reason);
	suite_add_tcase(s, tc);

	tc = tcase_create("client");
	tcase_add_test(tc, test_connect_encode_exact);
	tcase_add_test(tc, test_connect_encode_invalid);
	tcase_add_test(tc, test_connect_encode_sizes);
	tcase_add_test(tc, test_connect_round_trip);
	tcase_add_test(tc, test_resp_parse);
	tcase_add_test(tc, test_resp_parse_reason);
	tcase_add_test(tc, test_resp_parse_1xx);
	tcase_add_test(tc, test_resp_parse_errors);
	tcase_add_test(tc, test_resp_size_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("detect");
	tcase_add_test(tc, test_detect);
	suite_add_tcase(s, tc);

	tc = tcase_create("base64");
	tcase_add_test(tc, test_base64_rfc4648);
	tcase_add_test(tc, test_base64_unpadded_and_binary);
	tcase_add_test(tc, test_base64_errors);
	tcase_add_test(tc, test_base64_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

#include "check_main.h"
