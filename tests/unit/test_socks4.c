/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Unit tests for socks4.c: SOCKS4/4a request and reply, parse and encode. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "proto/socks4.h"

/* A copy of buf in a heap block of exactly n bytes, so that ASan reports any
 * read past the length the parser was given. */
static uint8_t *dup_exact(const uint8_t *buf, size_t n)
{
	uint8_t *p = malloc(n > 0 ? n : 1);
	ck_assert_ptr_nonnull(p);
	if (n > 0)
		memcpy(p, buf, n);
	return p;
}

static ssize_t parse_req_exact(const uint8_t *buf, size_t n, struct socks4_request *out)
{
	uint8_t *p = dup_exact(buf, n);
	ssize_t rc = socks4_parse_request(p, n, out);
	free(p);
	return rc;
}

static ssize_t parse_rep_exact(const uint8_t *buf, size_t n, struct socks4_reply *out)
{
	uint8_t *p = dup_exact(buf, n);
	ssize_t rc = socks4_parse_reply(p, n, out);
	free(p);
	return rc;
}

/* The three ways a message arrives: byte by byte (0 until complete), whole,
 * and followed by pipelined bytes that must be left alone. */
static void check_request_all_ways(const uint8_t *msg, size_t n, struct socks4_request *out)
{
	static const uint8_t tail[] = "GET / HTTP/1.1\r\n";
	uint8_t buf[SOCKS4_REQUEST_MAX + sizeof(tail)];

	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(parse_req_exact(msg, i, out), 0);
	memcpy(buf, msg, n);
	memcpy(buf + n, tail, sizeof(tail));
	ck_assert_int_eq(parse_req_exact(buf, n + sizeof(tail), out), (ssize_t)n);
	ck_assert_int_eq(parse_req_exact(msg, n, out), (ssize_t)n);
}

/* Build a request: header, userid of ulen bytes of 'u', then for SOCKS4a a
 * host of hlen bytes of 'h'. Returns the length. */
static size_t build_request(uint8_t *buf, const uint8_t ip[4], size_t ulen, size_t hlen,
			    bool nul_after_user, bool nul_after_host)
{
	size_t n = 0;
	buf[n++] = 0x04;
	buf[n++] = 0x01;
	buf[n++] = 0x1f;
	buf[n++] = 0x90; /* 8080 */
	memcpy(buf + n, ip, 4);
	n += 4;
	memset(buf + n, 'u', ulen);
	n += ulen;
	if (!nul_after_user)
		return n;
	buf[n++] = 0;
	memset(buf + n, 'h', hlen);
	n += hlen;
	if (nul_after_host)
		buf[n++] = 0;
	return n;
}

/* Compare the meaningful fields only: union bytes past the active member are
 * not guaranteed to be zero in an initialized automatic struct. */
static void assert_target_eq(const struct target *a, const struct target *b)
{
	ck_assert_uint_eq(a->type, b->type);
	ck_assert_uint_eq(a->port, b->port);
	if (a->type == TARGET_IPV4)
		ck_assert_mem_eq(a->addr.ipv4, b->addr.ipv4, 4);
	if (a->type == TARGET_DOMAIN) {
		ck_assert_uint_eq(a->domain_len, b->domain_len);
		ck_assert_mem_eq(a->addr.domain, b->addr.domain, a->domain_len + 1u);
	}
}

static const uint8_t ip_4a[4] = { 0, 0, 0, 1 };
static const uint8_t ip_lan[4] = { 192, 168, 1, 2 };

/* ---- request parsing ---- */

START_TEST(test_parse_connect_ipv4)
{
	static const uint8_t msg[] = {
		0x04, 0x01, 0x00, 0x50, 192, 168, 1, 2, 'b', 'o', 'b', 0x00
	};
	struct socks4_request r;

	check_request_all_ways(msg, sizeof(msg), &r);
	ck_assert_uint_eq(r.cmd, SOCKS4_CMD_CONNECT);
	ck_assert(!r.is_4a);
	ck_assert_uint_eq(r.dst.type, TARGET_IPV4);
	ck_assert_uint_eq(r.dst.port, 80);
	ck_assert_mem_eq(r.dst.addr.ipv4, ip_lan, 4);
	ck_assert_str_eq(r.userid, "bob");
}
END_TEST

START_TEST(test_parse_bind_empty_userid)
{
	static const uint8_t msg[] = { 0x04, 0x02, 0xff, 0xfe, 10, 0, 0, 1, 0x00 };
	struct socks4_request r;

	check_request_all_ways(msg, sizeof(msg), &r);
	ck_assert_uint_eq(r.cmd, SOCKS4_CMD_BIND);
	ck_assert_uint_eq(r.dst.port, 65534);
	ck_assert_str_eq(r.userid, "");
}
END_TEST

START_TEST(test_parse_socks4a)
{
	/* clang-format off */
	static const uint8_t msg[] = {
		0x04, 0x01, 0x01, 0xbb, 0, 0, 0, 0x2a,                  /* VN CD 443 0.0.0.42 */
		'u', 0x00,                                              /* USERID */
		'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 0x00, /* HOST */
	};
	/* clang-format on */
	struct socks4_request r;

	check_request_all_ways(msg, sizeof(msg), &r);
	ck_assert(r.is_4a);
	ck_assert_uint_eq(r.dst.type, TARGET_DOMAIN);
	ck_assert_uint_eq(r.dst.domain_len, 11);
	ck_assert_str_eq(r.dst.addr.domain, "example.com");
	ck_assert_uint_eq(r.dst.port, 443);
	ck_assert_str_eq(r.userid, "u");
}
END_TEST

START_TEST(test_parse_zero_ip_is_not_4a)
{
	/* 0.0.0.0 is not the SOCKS4a marker: the bytes after USERID are data. */
	static const uint8_t msg[] = { 0x04, 0x01, 0x00, 0x50, 0, 0, 0, 0, 0x00, 'x', 'y' };
	struct socks4_request r;

	ck_assert_int_eq(parse_req_exact(msg, sizeof(msg), &r), 9);
	ck_assert(!r.is_4a);
	ck_assert_uint_eq(r.dst.type, TARGET_IPV4);
}
END_TEST

START_TEST(test_parse_4a_high_octets_not_4a)
{
	/* 0.0.1.1 has a non-zero third octet: plain SOCKS4. */
	static const uint8_t msg[] = { 0x04, 0x01, 0x00, 0x50, 0, 0, 1, 1, 0x00, 'x' };
	struct socks4_request r;

	ck_assert_int_eq(parse_req_exact(msg, sizeof(msg), &r), 9);
	ck_assert(!r.is_4a);
}
END_TEST

START_TEST(test_parse_bad_version)
{
	static const uint8_t msg[] = { 0x05, 0x01, 0x00 };
	struct socks4_request r;

	ck_assert_int_eq(parse_req_exact(msg, 0, &r), 0);
	ck_assert_int_eq(parse_req_exact(msg, 1, &r), -PROTO_EVERSION);
	ck_assert_int_eq(parse_req_exact(msg, 3, &r), -PROTO_EVERSION);
}
END_TEST

START_TEST(test_parse_bad_command)
{
	static const uint8_t cmds[] = { 0x00, 0x03, 0x04, 0xff };
	struct socks4_request r;

	for (size_t i = 0; i < sizeof(cmds); i++) {
		const uint8_t msg[] = { 0x04, cmds[i], 0x00, 0x50, 1, 2, 3, 4, 0x00 };
		ck_assert_int_eq(parse_req_exact(msg, 1, &r), 0);
		/* Reported as soon as CD is there, not after the whole request. */
		ck_assert_int_eq(parse_req_exact(msg, 2, &r), -PROTO_ECMD);
		ck_assert_int_eq(parse_req_exact(msg, sizeof(msg), &r), -PROTO_ECMD);
	}
}
END_TEST

START_TEST(test_parse_userid_255_ok)
{
	uint8_t buf[SOCKS4_REQUEST_MAX];
	size_t n = build_request(buf, ip_lan, 255, 0, true, false);
	struct socks4_request r;

	ck_assert_uint_eq(n, 8 + 255 + 1);
	check_request_all_ways(buf, n, &r);
	ck_assert_uint_eq(strlen(r.userid), 255);
	ck_assert_uint_eq((uint8_t)r.userid[254], 'u');
}
END_TEST

START_TEST(test_parse_userid_256_too_long)
{
	uint8_t buf[SOCKS4_REQUEST_MAX + 8];
	struct socks4_request r;

	/* 255 bytes and no NUL yet: still possibly valid. */
	size_t n = build_request(buf, ip_lan, 255, 0, false, false);
	ck_assert_int_eq(parse_req_exact(buf, n, &r), 0);
	/* The 256th byte without a NUL settles it. */
	n = build_request(buf, ip_lan, 256, 0, false, false);
	ck_assert_int_eq(parse_req_exact(buf, n, &r), -PROTO_ETOOLONG);
	/* Even if the NUL follows later. */
	n = build_request(buf, ip_lan, 256, 0, true, false);
	ck_assert_int_eq(parse_req_exact(buf, n, &r), -PROTO_ETOOLONG);
}
END_TEST

START_TEST(test_parse_host_255_ok_is_max)
{
	uint8_t buf[SOCKS4_REQUEST_MAX + 8];
	size_t n = build_request(buf, ip_4a, 255, 255, true, true);
	struct socks4_request r;

	ck_assert_uint_eq(n, SOCKS4_REQUEST_MAX);
	check_request_all_ways(buf, n, &r);
	ck_assert(r.is_4a);
	ck_assert_uint_eq(r.dst.domain_len, 255);
	ck_assert_uint_eq(strlen(r.dst.addr.domain), 255);
	ck_assert_uint_eq(strlen(r.userid), 255);
}
END_TEST

START_TEST(test_parse_host_256_too_long)
{
	uint8_t buf[SOCKS4_REQUEST_MAX + 8];
	struct socks4_request r;

	size_t n = build_request(buf, ip_4a, 3, 255, true, false);
	ck_assert_int_eq(parse_req_exact(buf, n, &r), 0);
	n = build_request(buf, ip_4a, 3, 256, true, false);
	ck_assert_int_eq(parse_req_exact(buf, n, &r), -PROTO_ETOOLONG);
	n = build_request(buf, ip_4a, 3, 256, true, true);
	ck_assert_int_eq(parse_req_exact(buf, n, &r), -PROTO_ETOOLONG);
}
END_TEST

START_TEST(test_parse_empty_host)
{
	uint8_t buf[64];
	struct socks4_request r;

	size_t n = build_request(buf, ip_4a, 2, 0, true, false);
	ck_assert_int_eq(parse_req_exact(buf, n, &r), 0);
	n = build_request(buf, ip_4a, 2, 0, true, true);
	ck_assert_int_eq(parse_req_exact(buf, n, &r), -PROTO_EDOMAIN);
}
END_TEST

START_TEST(test_parse_leaves_out_alone_until_done)
{
	static const uint8_t msg[] = { 0x04, 0x01, 0x00, 0x50, 1, 2, 3, 4, 'a' };
	struct socks4_request r;

	memset(&r, 0xa5, sizeof(r));
	ck_assert_int_eq(parse_req_exact(msg, sizeof(msg), &r), 0);
	ck_assert_uint_eq(r.cmd, 0xa5);
}
END_TEST

/* ---- request encoding ---- */

START_TEST(test_encode_request_ipv4)
{
	static const uint8_t want[] = { 0x04, 0x01, 0x00, 0x16, 10, 1, 2, 3, 'a', 'l', 'i', 0x00 };
	struct target t = { .type = TARGET_IPV4, .port = 22, .addr.ipv4 = { 10, 1, 2, 3 } };
	uint8_t out[64];

	ck_assert_int_eq(socks4_encode_request(out, sizeof(out), SOCKS4_CMD_CONNECT, &t, "ali"),
			 (ssize_t)sizeof(want));
	ck_assert_mem_eq(out, want, sizeof(want));
	/* Exactly enough room works, one less does not. */
	ck_assert_int_eq(socks4_encode_request(out, sizeof(want), SOCKS4_CMD_CONNECT, &t, "ali"),
			 (ssize_t)sizeof(want));
	ck_assert_int_eq(
		socks4_encode_request(out, sizeof(want) - 1, SOCKS4_CMD_CONNECT, &t, "ali"),
		-ENOSPC);
	ck_assert_int_eq(socks4_encode_request(out, 0, SOCKS4_CMD_CONNECT, &t, "ali"), -ENOSPC);
}
END_TEST

START_TEST(test_encode_request_null_userid)
{
	static const uint8_t want[] = { 0x04, 0x02, 0x00, 0x50, 1, 2, 3, 4, 0x00 };
	struct target t = { .type = TARGET_IPV4, .port = 80, .addr.ipv4 = { 1, 2, 3, 4 } };
	uint8_t out[16];

	ck_assert_int_eq(socks4_encode_request(out, sizeof(out), SOCKS4_CMD_BIND, &t, NULL), 9);
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(test_encode_request_socks4a)
{
	/* clang-format off */
	static const uint8_t want[] = {
		0x04, 0x01, 0x00, 0x50, 0, 0, 0, 1,     /* VN CD 80 0.0.0.1 */
		'u', 0x00,                              /* USERID */
		'a', '.', 'b', 0x00,                    /* HOST */
	};
	/* clang-format on */
	struct target t;
	uint8_t out[64];

	ck_assert_int_eq(target_set_domain(&t, "a.b", 3, 80), 0);
	ck_assert_int_eq(socks4_encode_request(out, sizeof(out), SOCKS4_CMD_CONNECT, &t, "u"),
			 (ssize_t)sizeof(want));
	ck_assert_mem_eq(out, want, sizeof(want));
	ck_assert_int_eq(socks4_encode_request(out, sizeof(want) - 1, SOCKS4_CMD_CONNECT, &t, "u"),
			 -ENOSPC);
}
END_TEST

START_TEST(test_encode_request_invalid)
{
	struct target v6 = { .type = TARGET_IPV6, .port = 80 };
	struct target none = { .type = TARGET_NONE };
	struct target v4 = { .type = TARGET_IPV4, .port = 80 };
	struct target empty = { .type = TARGET_DOMAIN, .domain_len = 0 };
	struct target nul = { .type = TARGET_DOMAIN, .domain_len = 3, .addr.domain = "a\0b" };
	char longuser[SOCKS4_USERID_MAX + 2];
	uint8_t out[SOCKS4_REQUEST_MAX];

	memset(longuser, 'x', sizeof(longuser) - 1);
	longuser[sizeof(longuser) - 1] = '\0';
	ck_assert_int_eq(socks4_encode_request(out, sizeof(out), 1, &v6, ""), -EINVAL);
	ck_assert_int_eq(socks4_encode_request(out, sizeof(out), 1, &none, ""), -EINVAL);
	ck_assert_int_eq(socks4_encode_request(out, sizeof(out), 1, &empty, ""), -EINVAL);
	ck_assert_int_eq(socks4_encode_request(out, sizeof(out), 1, &nul, ""), -EINVAL);
	ck_assert_int_eq(socks4_encode_request(out, sizeof(out), 3, &v4, ""), -EINVAL);
	ck_assert_int_eq(socks4_encode_request(out, sizeof(out), 1, &v4, longuser), -EINVAL);
	/* A 255-byte userid is the limit, not over it. */
	longuser[SOCKS4_USERID_MAX] = '\0';
	ck_assert_int_eq(socks4_encode_request(out, sizeof(out), 1, &v4, longuser), 8 + 255 + 1);
}
END_TEST

START_TEST(test_request_round_trip)
{
	char user[SOCKS4_USERID_MAX + 1];
	char host[TARGET_DOMAIN_MAX];
	struct target t;
	struct socks4_request r;
	uint8_t out[SOCKS4_REQUEST_MAX];

	memset(user, 'U', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	memset(host, 'h', sizeof(host));
	ck_assert_int_eq(target_set_domain(&t, host, sizeof(host), 65535), 0);
	ssize_t n = socks4_encode_request(out, sizeof(out), SOCKS4_CMD_BIND, &t, user);
	ck_assert_int_eq(n, SOCKS4_REQUEST_MAX);
	ck_assert_int_eq(socks4_parse_request(out, (size_t)n, &r), n);
	ck_assert_uint_eq(r.cmd, SOCKS4_CMD_BIND);
	ck_assert(r.is_4a);
	assert_target_eq(&r.dst, &t);
	ck_assert_str_eq(r.userid, user);

	struct target v4 = { .type = TARGET_IPV4, .port = 1, .addr.ipv4 = { 255, 0, 0, 7 } };
	n = socks4_encode_request(out, sizeof(out), SOCKS4_CMD_CONNECT, &v4, "x");
	ck_assert_int_eq(n, 10);
	ck_assert_int_eq(socks4_parse_request(out, (size_t)n, &r), n);
	ck_assert(!r.is_4a);
	assert_target_eq(&r.dst, &v4);
}
END_TEST

/* ---- reply ---- */

START_TEST(test_encode_reply_ipv4)
{
	static const uint8_t want[] = { 0x00, 90, 0x04, 0x38, 127, 0, 0, 1 };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(1080) };
	uint8_t out[16];

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(socks4_encode_reply(out, sizeof(out), SOCKS4_CD_GRANTED,
					     (const struct sockaddr *)&sin),
			 SOCKS4_REPLY_LEN);
	ck_assert_mem_eq(out, want, sizeof(want));
	ck_assert_int_eq(
		socks4_encode_reply(out, 8, SOCKS4_CD_GRANTED, (const struct sockaddr *)&sin), 8);
	ck_assert_int_eq(
		socks4_encode_reply(out, 7, SOCKS4_CD_GRANTED, (const struct sockaddr *)&sin),
		-ENOSPC);
}
END_TEST

START_TEST(test_encode_reply_no_ipv4)
{
	static const uint8_t want[] = { 0x00, 91, 0, 0, 0, 0, 0, 0 };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(1080) };
	uint8_t out[8];

	sin6.sin6_addr = in6addr_loopback;
	memset(out, 0xee, sizeof(out));
	ck_assert_int_eq(socks4_encode_reply(out, sizeof(out), SOCKS4_CD_REJECTED, NULL), 8);
	ck_assert_mem_eq(out, want, sizeof(want));
	memset(out, 0xee, sizeof(out));
	ck_assert_int_eq(socks4_encode_reply(out, sizeof(out), SOCKS4_CD_REJECTED,
					     (const struct sockaddr *)&sin6),
			 8);
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(test_encode_reply_v4_mapped)
{
	static const uint8_t want[] = { 0x00, 90, 0x00, 0x50, 192, 0, 2, 1 };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(80) };
	uint8_t out[8];

	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:192.0.2.1", &sin6.sin6_addr), 1);
	ck_assert_int_eq(socks4_encode_reply(out, sizeof(out), SOCKS4_CD_GRANTED,
					     (const struct sockaddr *)&sin6),
			 8);
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(test_parse_reply)
{
	static const uint8_t msg[] = { 0x00, 90, 0x1f, 0x90, 10, 0, 0, 9, 'S', 'S', 'H' };
	static const uint8_t ip[4] = { 10, 0, 0, 9 };
	struct socks4_reply r;

	for (size_t i = 0; i < 8; i++)
		ck_assert_int_eq(parse_rep_exact(msg, i, &r), 0);
	ck_assert_int_eq(parse_rep_exact(msg, 8, &r), 8);
	/* Data the server sends right after the reply stays for the relay. */
	ck_assert_int_eq(parse_rep_exact(msg, sizeof(msg), &r), 8);
	ck_assert_uint_eq(r.cd, SOCKS4_CD_GRANTED);
	ck_assert_uint_eq(r.bnd.type, TARGET_IPV4);
	ck_assert_uint_eq(r.bnd.port, 8080);
	ck_assert_mem_eq(r.bnd.addr.ipv4, ip, 4);
}
END_TEST

START_TEST(test_parse_reply_versions)
{
	uint8_t msg[] = { 0x04, 91, 0, 0, 0, 0, 0, 0 };
	struct socks4_reply r;

	/* VN 4 is tolerated; the CD (rejected) is passed through. */
	ck_assert_int_eq(parse_rep_exact(msg, sizeof(msg), &r), 8);
	ck_assert_uint_eq(r.cd, SOCKS4_CD_REJECTED);
	msg[0] = 0x05;
	ck_assert_int_eq(parse_rep_exact(msg, 1, &r), -PROTO_EVERSION);
	msg[0] = 'H'; /* an HTTP proxy answering a SOCKS4 client */
	ck_assert_int_eq(parse_rep_exact(msg, 1, &r), -PROTO_EVERSION);
}
END_TEST

START_TEST(test_reply_round_trip)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(65535) };
	struct socks4_reply r;
	struct sockaddr_storage ss;
	uint8_t out[8];

	ck_assert_int_eq(inet_pton(AF_INET, "203.0.113.77", &sin.sin_addr), 1);
	ck_assert_int_eq(socks4_encode_reply(out, sizeof(out), SOCKS4_CD_IDENT_MISMATCH,
					     (const struct sockaddr *)&sin),
			 8);
	ck_assert_int_eq(socks4_parse_reply(out, sizeof(out), &r), 8);
	ck_assert_uint_eq(r.cd, SOCKS4_CD_IDENT_MISMATCH);
	ck_assert_int_eq(target_to_sockaddr(&r.bnd, &ss), (int)sizeof(sin));
	ck_assert_mem_eq(&ss, &sin, sizeof(sin));
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("socks4");
	TCase *tc = tcase_create("request");

	tcase_add_test(tc, test_parse_connect_ipv4);
	tcase_add_test(tc, test_parse_bind_empty_userid);
	tcase_add_test(tc, test_parse_socks4a);
	tcase_add_test(tc, test_parse_zero_ip_is_not_4a);
	tcase_add_test(tc, test_parse_4a_high_octets_not_4a);
	tcase_add_test(tc, test_parse_bad_version);
	tcase_add_test(tc, test_parse_bad_command);
	tcase_add_test(tc, test_parse_userid_255_ok);
	tcase_add_test(tc, test_parse_userid_256_too_long);
	tcase_add_test(tc, test_parse_host_255_ok_is_max);
	tcase_add_test(tc, test_parse_host_256_too_long);
	tcase_add_test(tc, test_parse_empty_host);
	tcase_add_test(tc, test_parse_leaves_out_alone_until_done);
	tcase_add_test(tc, test_encode_request_ipv4);
	tcase_add_test(tc, test_encode_request_null_userid);
	tcase_add_test(tc, test_encode_request_socks4a);
	tcase_add_test(tc, test_encode_request_invalid);
	tcase_add_test(tc, test_request_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("reply");
	tcase_add_test(tc, test_encode_reply_ipv4);
	tcase_add_test(tc, test_encode_reply_no_ipv4);
	tcase_add_test(tc, test_encode_reply_v4_mapped);
	tcase_add_test(tc, test_parse_reply);
	tcase_add_test(tc, test_parse_reply_versions);
	tcase_add_test(tc, test_reply_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

#include "check_main.h"
