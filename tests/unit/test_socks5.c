/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Unit tests for socks5.c (RFC 1928 / RFC 1929 parse and encode) and for
 * target.c (formatting, socket address conversion, the compact forms a
 * session keeps, proto_strerror). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "proto/socks5.h"

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

/* Every parser has the same shape; wrap each once so the "all ways" check
 * below can drive any of them without casting function pointers. */
enum parser { P_GREETING, P_CHOICE, P_USERPASS, P_UPREPLY, P_REQUEST, P_REPLY, P_UDP };

union parsed {
	struct socks5_greeting greeting;
	uint8_t byte;
	struct socks5_userpass userpass;
	struct socks5_request request;
	struct socks5_reply reply;
	struct socks5_udp_header udp;
};

static ssize_t run_parser(enum parser which, const uint8_t *buf, size_t n, union parsed *out)
{
	uint8_t *p = dup_exact(buf, n);
	ssize_t rc = -1000;

	switch (which) {
	case P_GREETING:
		rc = socks5_parse_greeting(p, n, &out->greeting);
		break;
	case P_CHOICE:
		rc = socks5_parse_method_choice(p, n, &out->byte);
		break;
	case P_USERPASS:
		rc = socks5_parse_userpass(p, n, &out->userpass);
		break;
	case P_UPREPLY:
		rc = socks5_parse_userpass_reply(p, n, &out->byte);
		break;
	case P_REQUEST:
		rc = socks5_parse_request(p, n, &out->request);
		break;
	case P_REPLY:
		rc = socks5_parse_reply(p, n, &out->reply);
		break;
	case P_UDP:
		rc = socks5_parse_udp_header(p, n, &out->udp);
		break;
	}
	free(p);
	return rc;
}

/* The three ways a stream message arrives: byte by byte (0 until complete),
 * coalesced with the next pipelined message (consume only ours), whole. The
 * whole parse runs last so *out holds its result. */
static void check_all_ways(enum parser which, const uint8_t *msg, size_t n, union parsed *out)
{
	static const uint8_t tail[] = { 0x05, 0x01, 0x00, 0x01, 'G', 'E', 'T', ' ' };
	uint8_t buf[600];

	ck_assert_uint_le(n + sizeof(tail), sizeof(buf));
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(run_parser(which, msg, i, out), 0);
	memcpy(buf, msg, n);
	memcpy(buf + n, tail, sizeof(tail));
	ck_assert_int_eq(run_parser(which, buf, n + sizeof(tail), out), (ssize_t)n);
	ck_assert_int_eq(run_parser(which, msg, n, out), (ssize_t)n);
}

/* Compare the meaningful fields only: union bytes past the active member are
 * not guaranteed to be zero in an initialized automatic struct. */
static void assert_target_eq(const struct target *a, const struct target *b)
{
	ck_assert_uint_eq(a->type, b->type);
	ck_assert_uint_eq(a->port, b->port);
	if (a->type == TARGET_IPV4)
		ck_assert_mem_eq(a->addr.ipv4, b->addr.ipv4, 4);
	if (a->type == TARGET_IPV6)
		ck_assert_mem_eq(a->addr.ipv6, b->addr.ipv6, 16);
	if (a->type == TARGET_DOMAIN) {
		ck_assert_uint_eq(a->domain_len, b->domain_len);
		ck_assert_mem_eq(a->addr.domain, b->addr.domain, a->domain_len + 1u);
	}
}

static struct target make_ipv6(const char *text, uint16_t port)
{
	struct target t = { .type = TARGET_IPV6, .port = port };
	ck_assert_int_eq(inet_pton(AF_INET6, text, t.addr.ipv6), 1);
	return t;
}

static struct target make_domain(const char *name, uint16_t port)
{
	struct target t;
	ck_assert_int_eq(target_set_domain(&t, name, strlen(name), port), 0);
	return t;
}

/* ---- greeting and method choice ---- */

START_TEST(test_greeting_parse)
{
	static const uint8_t msg[] = { 0x05, 0x02, 0x00, 0x02 };
	union parsed u;

	check_all_ways(P_GREETING, msg, sizeof(msg), &u);
	ck_assert_uint_eq(u.greeting.nmethods, 2);
	ck_assert(socks5_greeting_offers(&u.greeting, SOCKS5_METHOD_NONE));
	ck_assert(socks5_greeting_offers(&u.greeting, SOCKS5_METHOD_USERPASS));
	ck_assert(!socks5_greeting_offers(&u.greeting, SOCKS5_METHOD_GSSAPI));
	ck_assert(!socks5_greeting_offers(&u.greeting, SOCKS5_METHOD_UNACCEPTABLE));
}
END_TEST

START_TEST(test_greeting_255_methods)
{
	uint8_t msg[SOCKS5_GREETING_MAX];
	union parsed u;

	msg[0] = 0x05;
	msg[1] = 255;
	for (size_t i = 0; i < 255; i++)
		msg[2 + i] = (uint8_t)i;
	check_all_ways(P_GREETING, msg, sizeof(msg), &u);
	ck_assert_uint_eq(u.greeting.nmethods, 255);
	ck_assert_mem_eq(u.greeting.methods, msg + 2, 255);
	ck_assert(socks5_greeting_offers(&u.greeting, 254));
	ck_assert(!socks5_greeting_offers(&u.greeting, 255));
}
END_TEST

START_TEST(test_greeting_errors)
{
	static const uint8_t v4[] = { 0x04, 0x01, 0x00 };
	static const uint8_t none[] = { 0x05, 0x00, 0x00 };
	union parsed u;

	ck_assert_int_eq(run_parser(P_GREETING, v4, 1, &u), -PROTO_EVERSION);
	ck_assert_int_eq(run_parser(P_GREETING, none, 1, &u), 0);
	ck_assert_int_eq(run_parser(P_GREETING, none, 2, &u), -PROTO_ENOMETHODS);
	ck_assert_int_eq(run_parser(P_GREETING, none, 3, &u), -PROTO_ENOMETHODS);
}
END_TEST

START_TEST(test_greeting_encode)
{
	static const uint8_t methods[] = { 0x00, 0x02 };
	static const uint8_t want[] = { 0x05, 0x02, 0x00, 0x02 };
	uint8_t many[256] = { 0 };
	uint8_t out[300];
	union parsed u;

	ck_assert_int_eq(socks5_encode_greeting(out, sizeof(out), methods, 2), 4);
	ck_assert_mem_eq(out, want, sizeof(want));
	ck_assert_int_eq(socks5_encode_greeting(out, 4, methods, 2), 4);
	ck_assert_int_eq(socks5_encode_greeting(out, 3, methods, 2), -ENOSPC);
	ck_assert_int_eq(socks5_encode_greeting(out, sizeof(out), methods, 0), -EINVAL);
	ck_assert_int_eq(socks5_encode_greeting(out, sizeof(out), NULL, 1), -EINVAL);
	ck_assert_int_eq(socks5_encode_greeting(out, sizeof(out), many, 256), -EINVAL);
	ck_assert_int_eq(socks5_encode_greeting(out, sizeof(out), many, 255), SOCKS5_GREETING_MAX);

	/* Round trip. */
	ck_assert_int_eq(socks5_encode_greeting(out, sizeof(out), methods, 2), 4);
	ck_assert_int_eq(socks5_parse_greeting(out, 4, &u.greeting), 4);
	ck_assert_uint_eq(u.greeting.nmethods, 2);
	ck_assert_mem_eq(u.greeting.methods, methods, 2);
}
END_TEST

START_TEST(test_method_choice)
{
	static const uint8_t want[] = { 0x05, 0xff };
	uint8_t out[2];
	union parsed u;

	ck_assert_int_eq(socks5_encode_method_choice(out, sizeof(out), SOCKS5_METHOD_UNACCEPTABLE),
			 2);
	ck_assert_mem_eq(out, want, 2);
	ck_assert_int_eq(socks5_encode_method_choice(out, 1, 0x00), -ENOSPC);

	check_all_ways(P_CHOICE, want, sizeof(want), &u);
	ck_assert_uint_eq(u.byte, 0xff);
	static const uint8_t bad[] = { 0x01, 0x00 };
	ck_assert_int_eq(run_parser(P_CHOICE, bad, 1, &u), -PROTO_EVERSION);
}
END_TEST

/* ---- RFC 1929 ---- */

START_TEST(test_userpass_parse)
{
	static const uint8_t msg[] = { 0x01, 0x05, 'a', 'l', 'i', 'c', 'e', 0x03, 'p', 'w', '!' };
	union parsed u;

	check_all_ways(P_USERPASS, msg, sizeof(msg), &u);
	ck_assert_uint_eq(u.userpass.ulen, 5);
	ck_assert_uint_eq(u.userpass.plen, 3);
	ck_assert_str_eq(u.userpass.user, "alice");
	ck_assert_str_eq(u.userpass.pass, "pw!");
}
END_TEST

START_TEST(test_userpass_empty_password)
{
	static const uint8_t msg[] = { 0x01, 0x01, 'x', 0x00 };
	union parsed u;

	check_all_ways(P_USERPASS, msg, sizeof(msg), &u);
	ck_assert_str_eq(u.userpass.user, "x");
	ck_assert_uint_eq(u.userpass.plen, 0);
	ck_assert_str_eq(u.userpass.pass, "");
}
END_TEST

START_TEST(test_userpass_max)
{
	uint8_t msg[SOCKS5_USERPASS_MAX];
	union parsed u;

	msg[0] = 0x01;
	msg[1] = 255;
	memset(msg + 2, 'u', 255);
	msg[257] = 255;
	memset(msg + 258, 'p', 255);
	check_all_ways(P_USERPASS, msg, sizeof(msg), &u);
	ck_assert_uint_eq(strlen(u.userpass.user), 255);
	ck_assert_uint_eq(strlen(u.userpass.pass), 255);
}
END_TEST

START_TEST(test_userpass_errors)
{
	static const uint8_t v5[] = { 0x05, 0x01, 'x', 0x00 };
	static const uint8_t nouser[] = { 0x01, 0x00, 0x01, 'p' };
	static const uint8_t nul_user[] = { 0x01, 0x02, 'a', 0x00, 0x01, 'p' };
	static const uint8_t nul_pass[] = { 0x01, 0x01, 'a', 0x02, 'p', 0x00 };
	union parsed u;

	ck_assert_int_eq(run_parser(P_USERPASS, v5, 1, &u), -PROTO_EVERSION);
	ck_assert_int_eq(run_parser(P_USERPASS, nouser, 1, &u), 0);
	ck_assert_int_eq(run_parser(P_USERPASS, nouser, 2, &u), -PROTO_EUSER);
	ck_assert_int_eq(run_parser(P_USERPASS, nouser, sizeof(nouser), &u), -PROTO_EUSER);
	ck_assert_int_eq(run_parser(P_USERPASS, nul_user, sizeof(nul_user) - 1, &u), 0);
	ck_assert_int_eq(run_parser(P_USERPASS, nul_user, sizeof(nul_user), &u), -PROTO_EMALFORMED);
	ck_assert_int_eq(run_parser(P_USERPASS, nul_pass, sizeof(nul_pass), &u), -PROTO_EMALFORMED);
}
END_TEST

START_TEST(test_userpass_encode)
{
	static const uint8_t want[] = { 0x01, 0x03, 'b', 'o', 'b', 0x02, 'h', 'i' };
	static const uint8_t want_nopass[] = { 0x01, 0x01, 'b', 0x00 };
	char big[257];
	uint8_t out[SOCKS5_USERPASS_MAX + 8];
	union parsed u;

	ck_assert_int_eq(socks5_encode_userpass(out, sizeof(out), "bob", "hi"), 8);
	ck_assert_mem_eq(out, want, sizeof(want));
	ck_assert_int_eq(socks5_encode_userpass(out, 8, "bob", "hi"), 8);
	ck_assert_int_eq(socks5_encode_userpass(out, 7, "bob", "hi"), -ENOSPC);
	ck_assert_int_eq(socks5_encode_userpass(out, sizeof(out), "b", NULL), 4);
	ck_assert_mem_eq(out, want_nopass, sizeof(want_nopass));
	ck_assert_int_eq(socks5_encode_userpass(out, sizeof(out), "", "x"), -EINVAL);
	ck_assert_int_eq(socks5_encode_userpass(out, sizeof(out), NULL, "x"), -EINVAL);

	memset(big, 'z', 256);
	big[256] = '\0';
	ck_assert_int_eq(socks5_encode_userpass(out, sizeof(out), big, "x"), -EINVAL);
	ck_assert_int_eq(socks5_encode_userpass(out, sizeof(out), "x", big), -EINVAL);
	big[255] = '\0';
	ck_assert_int_eq(socks5_encode_userpass(out, sizeof(out), big, big), SOCKS5_USERPASS_MAX);

	/* Round trip at the limits. */
	ck_assert_int_eq(socks5_parse_userpass(out, SOCKS5_USERPASS_MAX, &u.userpass),
			 SOCKS5_USERPASS_MAX);
	ck_assert_str_eq(u.userpass.user, big);
	ck_assert_str_eq(u.userpass.pass, big);
}
END_TEST

START_TEST(test_userpass_reply)
{
	static const uint8_t ok[] = { 0x01, 0x00 };
	static const uint8_t v5_fail[] = { 0x05, 0x01 };
	static const uint8_t bad[] = { 0x02, 0x00 };
	uint8_t out[2];
	union parsed u;

	ck_assert_int_eq(socks5_encode_userpass_reply(out, sizeof(out), 0x00), 2);
	ck_assert_mem_eq(out, ok, 2);
	ck_assert_int_eq(socks5_encode_userpass_reply(out, 1, 0x00), -ENOSPC);

	check_all_ways(P_UPREPLY, ok, sizeof(ok), &u);
	ck_assert_uint_eq(u.byte, 0x00);
	/* Some servers answer with VER 5; the status byte still counts. */
	check_all_ways(P_UPREPLY, v5_fail, sizeof(v5_fail), &u);
	ck_assert_uint_eq(u.byte, 0x01);
	ck_assert_int_eq(run_parser(P_UPREPLY, bad, 1, &u), -PROTO_EVERSION);
}
END_TEST

/* ---- request ---- */

START_TEST(test_request_ipv4)
{
	static const uint8_t msg[] = { 0x05, 0x01, 0x00, 0x01, 93, 184, 216, 34, 0x00, 0x50 };
	static const uint8_t ip[4] = { 93, 184, 216, 34 };
	union parsed u;

	check_all_ways(P_REQUEST, msg, sizeof(msg), &u);
	ck_assert_uint_eq(u.request.cmd, SOCKS5_CMD_CONNECT);
	ck_assert_uint_eq(u.request.dst.type, TARGET_IPV4);
	ck_assert_uint_eq(u.request.dst.port, 80);
	ck_assert_mem_eq(u.request.dst.addr.ipv4, ip, 4);
}
END_TEST

START_TEST(test_request_ipv6)
{
	/* clang-format off */
	static const uint8_t msg[] = {
		0x05, 0x02, 0x00, 0x04,                                 /* VER CMD RSV ATYP */
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,     /* 2001:db8::1 */
		0x01, 0xbb,                                             /* 443 */
	};
	/* clang-format on */
	struct target want = make_ipv6("2001:db8::1", 443);
	union parsed u;

	check_all_ways(P_REQUEST, msg, sizeof(msg), &u);
	ck_assert_uint_eq(u.request.cmd, SOCKS5_CMD_BIND);
	assert_target_eq(&u.request.dst, &want);
}
END_TEST

START_TEST(test_request_domain)
{
	/* clang-format off */
	static const uint8_t msg[] = {
		0x05, 0x03, 0x00, 0x03,                 /* VER CMD RSV ATYP */
		0x05, 'a', '.', 'b', 'c', 'd',          /* LEN NAME */
		0x00, 0x35,                             /* 53 */
	};
	/* clang-format on */
	struct target want = make_domain("a.bcd", 53);
	union parsed u;

	check_all_ways(P_REQUEST, msg, sizeof(msg), &u);
	ck_assert_uint_eq(u.request.cmd, SOCKS5_CMD_UDP_ASSOCIATE);
	assert_target_eq(&u.request.dst, &want);
}
END_TEST

/* Tor's RESOLVE (a name, port 0) and RESOLVE_PTR (an address), as torsocks
 * sends them: parsed, and encoded back to the same bytes. */
START_TEST(test_request_resolve)
{
	/* clang-format off */
	static const uint8_t resolve[] = {
		0x05, 0xf0, 0x00, 0x03, 0x08, 'w', 'e', 'b', '.', 't', 'e', 's', 't', 0x00, 0x00,
	};
	static const uint8_t ptr[] = {
		0x05, 0xf1, 0x00, 0x01, 10, 200, 0, 2, 0x00, 0x00,
	};
	/* clang-format on */
	struct target name = make_domain("web.test", 0);
	uint8_t enc[SOCKS5_REQUEST_MAX];
	union parsed u;

	check_all_ways(P_REQUEST, resolve, sizeof(resolve), &u);
	ck_assert_uint_eq(u.request.cmd, SOCKS5_CMD_RESOLVE);
	assert_target_eq(&u.request.dst, &name);
	ck_assert(socks5_cmd_known(SOCKS5_CMD_RESOLVE));
	ck_assert_int_eq(socks5_encode_request(enc, sizeof(enc), SOCKS5_CMD_RESOLVE, &name),
			 (ssize_t)sizeof(resolve));
	ck_assert_mem_eq(enc, resolve, sizeof(resolve));

	check_all_ways(P_REQUEST, ptr, sizeof(ptr), &u);
	ck_assert_uint_eq(u.request.cmd, SOCKS5_CMD_RESOLVE_PTR);
	ck_assert_uint_eq(u.request.dst.type, TARGET_IPV4);
	ck_assert_mem_eq(u.request.dst.addr.ipv4, ptr + 4, 4);
	ck_assert_int_eq(
		socks5_encode_request(enc, sizeof(enc), SOCKS5_CMD_RESOLVE_PTR, &u.request.dst),
		(ssize_t)sizeof(ptr));
	ck_assert_mem_eq(enc, ptr, sizeof(ptr));
}
END_TEST

START_TEST(test_request_domain_255)
{
	uint8_t msg[SOCKS5_REQUEST_MAX];
	union parsed u;

	msg[0] = 0x05;
	msg[1] = 0x01;
	msg[2] = 0x00;
	msg[3] = 0x03;
	msg[4] = 255;
	memset(msg + 5, 'd', 255);
	msg[260] = 0x01;
	msg[261] = 0x00;
	check_all_ways(P_REQUEST, msg, sizeof(msg), &u);
	ck_assert_uint_eq(u.request.dst.domain_len, 255);
	ck_assert_uint_eq(strlen(u.request.dst.addr.domain), 255);
	ck_assert_uint_eq(u.request.dst.port, 256);
}
END_TEST

START_TEST(test_request_rsv_ignored)
{
	static const uint8_t msg[] = { 0x05, 0x01, 0xee, 0x01, 1, 2, 3, 4, 0x00, 0x50 };
	union parsed u;

	ck_assert_int_eq(run_parser(P_REQUEST, msg, sizeof(msg), &u), 10);
}
END_TEST

START_TEST(test_request_errors)
{
	static const uint8_t v4[] = { 0x04, 0x01 };
	static const uint8_t cmds[] = { 0x00, 0x04, 0xff };
	static const uint8_t atyps[] = { 0x00, 0x02, 0x05, 0xff };
	union parsed u;

	ck_assert_int_eq(run_parser(P_REQUEST, v4, 1, &u), -PROTO_EVERSION);
	for (size_t i = 0; i < sizeof(cmds); i++) {
		const uint8_t msg[] = { 0x05, cmds[i], 0x00, 0x01, 1, 2, 3, 4, 0, 80 };
		uint8_t enc[SOCKS5_REQUEST_MAX];
		ck_assert_int_eq(run_parser(P_REQUEST, msg, 2, &u), 0);
		/* An unknown command parses whole, so the server can log its
		 * target before it answers 0x07; it is never encoded. */
		ck_assert_int_eq(run_parser(P_REQUEST, msg, sizeof(msg), &u), (ssize_t)sizeof(msg));
		ck_assert_uint_eq(u.request.cmd, cmds[i]);
		ck_assert(!socks5_cmd_known(cmds[i]));
		ck_assert_int_eq(socks5_encode_request(enc, sizeof(enc), cmds[i], &u.request.dst),
				 -EINVAL);
	}
	for (size_t i = 0; i < sizeof(atyps); i++) {
		const uint8_t msg[] = { 0x05, 0x01, 0x00, atyps[i], 1, 2, 3, 4, 0, 80 };
		ck_assert_int_eq(run_parser(P_REQUEST, msg, 3, &u), 0);
		/* And 0x08 as soon as ATYP is in. */
		ck_assert_int_eq(run_parser(P_REQUEST, msg, 4, &u), -PROTO_EATYP);
		ck_assert_int_eq(run_parser(P_REQUEST, msg, sizeof(msg), &u), -PROTO_EATYP);
	}
}
END_TEST

START_TEST(test_request_bad_domains)
{
	static const uint8_t empty[] = { 0x05, 0x01, 0x00, 0x03, 0x00, 0x00, 0x50 };
	static const uint8_t nul[] = { 0x05, 0x01, 0x00, 0x03, 0x03, 'a', 0x00, 'b', 0x00, 0x50 };
	union parsed u;

	ck_assert_int_eq(run_parser(P_REQUEST, empty, 4, &u), 0);
	ck_assert_int_eq(run_parser(P_REQUEST, empty, 5, &u), -PROTO_EDOMAIN);
	ck_assert_int_eq(run_parser(P_REQUEST, empty, sizeof(empty), &u), -PROTO_EDOMAIN);
	ck_assert_int_eq(run_parser(P_REQUEST, nul, sizeof(nul) - 1, &u), 0);
	ck_assert_int_eq(run_parser(P_REQUEST, nul, sizeof(nul), &u), -PROTO_EDOMAIN);
}
END_TEST

START_TEST(test_request_encode)
{
	static const uint8_t want4[] = { 0x05, 0x01, 0x00, 0x01, 10, 0, 0, 1, 0x1f, 0x90 };
	/* clang-format off */
	static const uint8_t want6[] = {
		0x05, 0x01, 0x00, 0x04,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,         /* ::1 */
		0x00, 0x16,                                             /* 22 */
	};
	static const uint8_t wantd[] = {
		0x05, 0x01, 0x00, 0x03,
		0x04, 'h', '.', 'i', 'o',
		0x01, 0xbb,
	};
	/* clang-format on */
	struct target v4 = { .type = TARGET_IPV4, .port = 8080, .addr.ipv4 = { 10, 0, 0, 1 } };
	struct target v6 = make_ipv6("::1", 22);
	struct target dom = make_domain("h.io", 443);
	uint8_t out[SOCKS5_REQUEST_MAX];

	ck_assert_int_eq(socks5_encode_request(out, sizeof(out), 1, &v4), (ssize_t)sizeof(want4));
	ck_assert_mem_eq(out, want4, sizeof(want4));
	ck_assert_int_eq(socks5_encode_request(out, sizeof(out), 1, &v6), (ssize_t)sizeof(want6));
	ck_assert_mem_eq(out, want6, sizeof(want6));
	ck_assert_int_eq(socks5_encode_request(out, sizeof(out), 1, &dom), (ssize_t)sizeof(wantd));
	ck_assert_mem_eq(out, wantd, sizeof(wantd));

	ck_assert_int_eq(socks5_encode_request(out, sizeof(want4), 1, &v4), (ssize_t)sizeof(want4));
	ck_assert_int_eq(socks5_encode_request(out, sizeof(want4) - 1, 1, &v4), -ENOSPC);
	ck_assert_int_eq(socks5_encode_request(out, sizeof(want6) - 1, 1, &v6), -ENOSPC);
	ck_assert_int_eq(socks5_encode_request(out, sizeof(wantd) - 1, 1, &dom), -ENOSPC);
	ck_assert_int_eq(socks5_encode_request(out, 0, 1, &dom), -ENOSPC);
}
END_TEST

START_TEST(test_request_encode_invalid)
{
	struct target v4 = { .type = TARGET_IPV4 };
	struct target none = { .type = TARGET_NONE };
	struct target weird = { .type = 2 };
	struct target empty = { .type = TARGET_DOMAIN, .domain_len = 0 };
	struct target nul = { .type = TARGET_DOMAIN, .domain_len = 3, .addr.domain = "a\0b" };
	uint8_t out[SOCKS5_REQUEST_MAX];

	ck_assert_int_eq(socks5_encode_request(out, sizeof(out), 0x00, &v4), -EINVAL);
	ck_assert_int_eq(socks5_encode_request(out, sizeof(out), 0x04, &v4), -EINVAL);
	ck_assert_int_eq(socks5_encode_request(out, sizeof(out), 1, &none), -EINVAL);
	ck_assert_int_eq(socks5_encode_request(out, sizeof(out), 1, &weird), -EINVAL);
	ck_assert_int_eq(socks5_encode_request(out, sizeof(out), 1, &empty), -EINVAL);
	ck_assert_int_eq(socks5_encode_request(out, sizeof(out), 1, &nul), -EINVAL);
}
END_TEST

START_TEST(test_request_round_trip)
{
	char name[TARGET_DOMAIN_MAX + 1];
	struct target targets[4];
	uint8_t out[SOCKS5_REQUEST_MAX];
	struct socks5_request r;

	memset(name, 'n', TARGET_DOMAIN_MAX);
	name[TARGET_DOMAIN_MAX] = '\0';
	targets[0] = (struct target){ .type = TARGET_IPV4, .port = 1, .addr.ipv4 = { 1, 2, 3, 4 } };
	targets[1] = make_ipv6("fe80::1:2:3:4", 65535);
	targets[2] = make_domain("example.org", 0);
	targets[3] = make_domain(name, 443);
	for (size_t i = 0; i < 4; i++) {
		ssize_t n =
			socks5_encode_request(out, sizeof(out), SOCKS5_CMD_CONNECT, &targets[i]);
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(socks5_parse_request(out, (size_t)n, &r), n);
		ck_assert_uint_eq(r.cmd, SOCKS5_CMD_CONNECT);
		assert_target_eq(&r.dst, &targets[i]);
	}
	ck_assert_int_eq(socks5_encode_request(out, sizeof(out), 1, &targets[3]),
			 SOCKS5_REQUEST_MAX);
}
END_TEST

/* ---- reply ---- */

START_TEST(test_reply_encode)
{
	static const uint8_t want4[] = { 0x05, 0x00, 0x00, 0x01, 127, 0, 0, 1, 0x04, 0x38 };
	/* clang-format off */
	static const uint8_t want6[] = {
		0x05, 0x00, 0x00, 0x04,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,     /* 2001:db8::2 */
		0x04, 0x38,                                             /* 1080 */
	};
	/* clang-format on */
	static const uint8_t wantnull[] = { 0x05, 0x05, 0x00, 0x01, 0, 0, 0, 0, 0, 0 };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(1080) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(1080) };
	uint8_t out[SOCKS5_REPLY_MAX];

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::2", &sin6.sin6_addr), 1);
	ck_assert_int_eq(socks5_encode_reply(out, sizeof(out), 0, (struct sockaddr *)&sin), 10);
	ck_assert_mem_eq(out, want4, sizeof(want4));
	ck_assert_int_eq(socks5_encode_reply(out, sizeof(out), 0, (struct sockaddr *)&sin6), 22);
	ck_assert_mem_eq(out, want6, sizeof(want6));
	ck_assert_int_eq(socks5_encode_reply(out, sizeof(out), SOCKS5_REP_CONN_REFUSED, NULL), 10);
	ck_assert_mem_eq(out, wantnull, sizeof(wantnull));

	ck_assert_int_eq(socks5_encode_reply(out, 10, 0, (struct sockaddr *)&sin), 10);
	ck_assert_int_eq(socks5_encode_reply(out, 9, 0, (struct sockaddr *)&sin), -ENOSPC);
	ck_assert_int_eq(socks5_encode_reply(out, 21, 0, (struct sockaddr *)&sin6), -ENOSPC);
	ck_assert_int_eq(socks5_encode_reply(out, 9, 1, NULL), -ENOSPC);
}
END_TEST

START_TEST(test_reply_encode_odd_families)
{
	static const uint8_t want[] = { 0x05, 0x00, 0x00, 0x01, 192, 0, 2, 7, 0x00, 0x50 };
	static const uint8_t unspec[] = { 0x05, 0x01, 0x00, 0x01, 0, 0, 0, 0, 0, 0 };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(80) };
	struct sockaddr_un sun = { .sun_family = AF_UNIX, .sun_path = "/tmp/x" };
	uint8_t out[SOCKS5_REPLY_MAX];

	/* A dual-stack socket's view of an IPv4 client: told as plain IPv4. */
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:192.0.2.7", &sin6.sin6_addr), 1);
	ck_assert_int_eq(socks5_encode_reply(out, sizeof(out), 0, (struct sockaddr *)&sin6), 10);
	ck_assert_mem_eq(out, want, sizeof(want));
	/* A family SOCKS5 cannot carry (or a zeroed sockaddr): still a reply. */
	memset(out, 0xee, sizeof(out));
	ck_assert_int_eq(socks5_encode_reply(out, sizeof(out), 1, (struct sockaddr *)&sun), 10);
	ck_assert_mem_eq(out, unspec, sizeof(unspec));
	memset(&sin6, 0, sizeof(sin6));
	ck_assert_int_eq(socks5_encode_reply(out, sizeof(out), 1, (struct sockaddr *)&sin6), 10);
	ck_assert_mem_eq(out, unspec, sizeof(unspec));
}
END_TEST

START_TEST(test_reply_parse)
{
	static const uint8_t msg[] = { 0x05, 0x00, 0x00, 0x01, 10, 9, 8, 7, 0xc0, 0x01 };
	static const uint8_t ip[4] = { 10, 9, 8, 7 };
	union parsed u;

	check_all_ways(P_REPLY, msg, sizeof(msg), &u);
	ck_assert_uint_eq(u.reply.rep, SOCKS5_REP_SUCCEEDED);
	ck_assert_uint_eq(u.reply.bnd.type, TARGET_IPV4);
	ck_assert_uint_eq(u.reply.bnd.port, 0xc001);
	ck_assert_mem_eq(u.reply.bnd.addr.ipv4, ip, 4);
}
END_TEST

START_TEST(test_reply_parse_domain_and_failure)
{
	static const uint8_t msg[] = { 0x05, 0x04, 0x00, 0x03, 0x03, 'f', 'o', 'o', 0x00, 0x01 };
	struct target want = make_domain("foo", 1);
	union parsed u;

	check_all_ways(P_REPLY, msg, sizeof(msg), &u);
	ck_assert_uint_eq(u.reply.rep, SOCKS5_REP_HOST_UNREACHABLE);
	assert_target_eq(&u.reply.bnd, &want);
}
END_TEST

START_TEST(test_reply_parse_errors)
{
	static const uint8_t v4[] = { 0x00, 0x5a, 0, 0, 0, 0, 0, 0 };
	static const uint8_t atyp[] = { 0x05, 0x00, 0x00, 0x07, 0, 0, 0, 0, 0, 0 };
	static const uint8_t empty[] = { 0x05, 0x00, 0x00, 0x03, 0x00, 0, 0 };
	union parsed u;

	ck_assert_int_eq(run_parser(P_REPLY, v4, 1, &u), -PROTO_EVERSION);
	ck_assert_int_eq(run_parser(P_REPLY, atyp, 3, &u), 0);
	ck_assert_int_eq(run_parser(P_REPLY, atyp, 4, &u), -PROTO_EATYP);
	ck_assert_int_eq(run_parser(P_REPLY, empty, 5, &u), -PROTO_EDOMAIN);
}
END_TEST

START_TEST(test_reply_round_trip)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(9999) };
	struct sockaddr_storage ss;
	struct socks5_reply r;
	uint8_t out[SOCKS5_REPLY_MAX];

	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8:1:2::abcd", &sin6.sin6_addr), 1);
	ssize_t n = socks5_encode_reply(out, sizeof(out), SOCKS5_REP_TTL_EXPIRED,
					(struct sockaddr *)&sin6);
	ck_assert_int_eq(n, 22);
	ck_assert_int_eq(socks5_parse_reply(out, (size_t)n, &r), n);
	ck_assert_uint_eq(r.rep, SOCKS5_REP_TTL_EXPIRED);
	ck_assert_int_eq(target_to_sockaddr(&r.bnd, &ss), (int)sizeof(sin6));
	ck_assert_mem_eq(&ss, &sin6, sizeof(sin6));
}
END_TEST

/* ---- UDP header ---- */

START_TEST(test_udp_parse)
{
	/* clang-format off */
	static const uint8_t dg[] = {
		0x00, 0x00, 0x00, 0x01,         /* RSV RSV FRAG ATYP */
		8, 8, 4, 4, 0x00, 0x35,         /* 8.8.4.4:53 */
		'D', 'N', 'S',                  /* DATA */
	};
	/* clang-format on */
	static const uint8_t ip[4] = { 8, 8, 4, 4 };
	union parsed u;

	ck_assert_int_eq(run_parser(P_UDP, dg, sizeof(dg), &u), 10);
	ck_assert_uint_eq(u.udp.frag, 0);
	ck_assert_uint_eq(u.udp.dst.type, TARGET_IPV4);
	ck_assert_uint_eq(u.udp.dst.port, 53);
	ck_assert_mem_eq(u.udp.dst.addr.ipv4, ip, 4);
	/* A datagram with an empty payload is still a whole header. */
	ck_assert_int_eq(run_parser(P_UDP, dg, 10, &u), 10);
}
END_TEST

START_TEST(test_udp_parse_domain_ipv6_frag)
{
	static const uint8_t dom[] = { 0x00, 0x00, 0x02, 0x03, 0x01, 'x', 0x00, 0x07, 0xaa };
	/* clang-format off */
	static const uint8_t v6[] = {
		0x00, 0x00, 0x00, 0x04,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,         /* ::1 */
		0, 7,
	};
	/* clang-format on */
	struct target want_dom = make_domain("x", 7);
	struct target want_v6 = make_ipv6("::1", 7);
	union parsed u;

	/* FRAG is reported, not judged: dropping is the caller's policy. */
	ck_assert_int_eq(run_parser(P_UDP, dom, sizeof(dom), &u), 8);
	ck_assert_uint_eq(u.udp.frag, 2);
	assert_target_eq(&u.udp.dst, &want_dom);
	ck_assert_int_eq(run_parser(P_UDP, v6, sizeof(v6), &u), 22);
	assert_target_eq(&u.udp.dst, &want_v6);
}
END_TEST

START_TEST(test_udp_parse_short_is_malformed)
{
	static const uint8_t v4[] = { 0x00, 0x00, 0x00, 0x01, 1, 2, 3, 4, 0x00, 0x35 };
	static const uint8_t dom[] = { 0x00, 0x00, 0x00, 0x03, 0x03, 'a', 'b', 'c', 0x00, 0x35 };
	union parsed u;

	/* Never 0: a datagram cannot grow. */
	for (size_t i = 0; i < sizeof(v4); i++)
		ck_assert_int_eq(run_parser(P_UDP, v4, i, &u), -PROTO_EMALFORMED);
	for (size_t i = 0; i < sizeof(dom); i++)
		ck_assert_int_eq(run_parser(P_UDP, dom, i, &u), -PROTO_EMALFORMED);
}
END_TEST

START_TEST(test_udp_parse_errors)
{
	static const uint8_t atyp[] = { 0x00, 0x00, 0x00, 0x09, 1, 2, 3, 4, 0, 1 };
	static const uint8_t empty[] = { 0x00, 0x00, 0x00, 0x03, 0x00, 0, 1 };
	static const uint8_t nul[] = { 0x00, 0x00, 0x00, 0x03, 0x02, 'a', 0x00, 0, 1 };
	union parsed u;

	ck_assert_int_eq(run_parser(P_UDP, atyp, 4, &u), -PROTO_EATYP);
	ck_assert_int_eq(run_parser(P_UDP, atyp, sizeof(atyp), &u), -PROTO_EATYP);
	ck_assert_int_eq(run_parser(P_UDP, empty, sizeof(empty), &u), -PROTO_EDOMAIN);
	ck_assert_int_eq(run_parser(P_UDP, nul, sizeof(nul), &u), -PROTO_EDOMAIN);
}
END_TEST

START_TEST(test_udp_encode)
{
	static const uint8_t want4[] = { 0x00, 0x00, 0x00, 0x01, 1, 1, 1, 1, 0x00, 0x35 };
	static const uint8_t wantd[] = { 0x00, 0x00, 0x00, 0x03, 0x02, 'a', 'b', 0x30, 0x39 };
	struct target v4 = { .type = TARGET_IPV4, .port = 53, .addr.ipv4 = { 1, 1, 1, 1 } };
	struct target dom = make_domain("ab", 12345);
	struct target v6 = make_ipv6("2001:db8::5", 5353);
	struct target none = { .type = TARGET_NONE };
	uint8_t out[SOCKS5_UDP_HEADER_MAX];
	union parsed u;

	ck_assert_int_eq(socks5_encode_udp_header(out, sizeof(out), &v4), 10);
	ck_assert_mem_eq(out, want4, sizeof(want4));
	ck_assert_int_eq(socks5_encode_udp_header(out, sizeof(out), &dom), 9);
	ck_assert_mem_eq(out, wantd, sizeof(wantd));
	ck_assert_int_eq(socks5_encode_udp_header(out, 9, &v4), -ENOSPC);
	ck_assert_int_eq(socks5_encode_udp_header(out, 8, &dom), -ENOSPC);
	ck_assert_int_eq(socks5_encode_udp_header(out, sizeof(out), &none), -EINVAL);

	ssize_t n = socks5_encode_udp_header(out, sizeof(out), &v6);
	ck_assert_int_eq(n, 22);
	ck_assert_int_eq(socks5_parse_udp_header(out, (size_t)n, &u.udp), n);
	ck_assert_uint_eq(u.udp.frag, 0);
	assert_target_eq(&u.udp.dst, &v6);
}
END_TEST

/* ---- error mapping ---- */

START_TEST(test_rep_from_errno)
{
	ck_assert_uint_eq(socks5_rep_from_errno(ENETUNREACH), 0x03);
	ck_assert_uint_eq(socks5_rep_from_errno(EHOSTUNREACH), 0x04);
	ck_assert_uint_eq(socks5_rep_from_errno(ECONNREFUSED), 0x05);
	ck_assert_uint_eq(socks5_rep_from_errno(ETIMEDOUT), 0x06);
	ck_assert_uint_eq(socks5_rep_from_errno(EACCES), 0x02);
	ck_assert_uint_eq(socks5_rep_from_errno(EPERM), 0x02);
	ck_assert_uint_eq(socks5_rep_from_errno(EIO), 0x01);
	ck_assert_uint_eq(socks5_rep_from_errno(ECONNRESET), 0x01);
	ck_assert_uint_eq(socks5_rep_from_errno(ENOMEM), 0x01);
	ck_assert_uint_eq(socks5_rep_from_errno(0), 0x01);
	/* The house style hands errors around negated; both signs work. */
	ck_assert_uint_eq(socks5_rep_from_errno(-ECONNREFUSED), 0x05);
	ck_assert_uint_eq(socks5_rep_from_errno(-ETIMEDOUT), 0x06);
}
END_TEST

START_TEST(test_rep_name)
{
	ck_assert_str_eq(socks5_rep_name(0x00), "succeeded");
	ck_assert_str_eq(socks5_rep_name(0x01), "general failure");
	ck_assert_str_eq(socks5_rep_name(0x02), "not allowed by ruleset");
	ck_assert_str_eq(socks5_rep_name(0x03), "network unreachable");
	ck_assert_str_eq(socks5_rep_name(0x04), "host unreachable");
	ck_assert_str_eq(socks5_rep_name(0x05), "connection refused");
	ck_assert_str_eq(socks5_rep_name(0x06), "TTL expired");
	ck_assert_str_eq(socks5_rep_name(0x07), "command not supported");
	ck_assert_str_eq(socks5_rep_name(0x08), "address type not supported");
	ck_assert_str_eq(socks5_rep_name(0x09), "unknown reply code");
	ck_assert_str_eq(socks5_rep_name(0xff), "unknown reply code");
}
END_TEST

START_TEST(test_proto_strerror)
{
	ck_assert_str_eq(proto_strerror(-PROTO_EVERSION), "wrong protocol version");
	ck_assert_str_eq(proto_strerror(PROTO_EVERSION), "wrong protocol version");
	ck_assert_str_eq(proto_strerror(-PROTO_ENOMETHODS), "no authentication methods offered");
	ck_assert_str_eq(proto_strerror(-PROTO_ECMD), "unknown command");
	ck_assert_str_eq(proto_strerror(-PROTO_EATYP), "unknown address type");
	ck_assert_str_eq(proto_strerror(-PROTO_EDOMAIN), "empty domain name or NUL in domain name");
	ck_assert_str_eq(proto_strerror(-PROTO_ETOOLONG), "field too long");
	ck_assert_str_eq(proto_strerror(-PROTO_EUSER), "empty user name");
	ck_assert_str_eq(proto_strerror(-PROTO_EMALFORMED), "malformed message");
	ck_assert_str_eq(proto_strerror(0), "no error");
	ck_assert_str_eq(proto_strerror(-999), "unknown protocol error");
}
END_TEST

/* ---- target.c ---- */

START_TEST(test_format_ip)
{
	struct target v4 = { .type = TARGET_IPV4, .port = 80, .addr.ipv4 = { 1, 2, 3, 4 } };
	struct target v6 = make_ipv6("::1", 80);
	struct target v6b = make_ipv6("2001:db8::1:0:0:1", 65535);
	struct target none = { .type = TARGET_NONE };
	char buf[TARGET_TEXT_MAX];

	ck_assert_uint_eq(target_format(&v4, buf, sizeof(buf)), 10);
	ck_assert_str_eq(buf, "1.2.3.4:80");
	ck_assert_uint_eq(target_format(&v6, buf, sizeof(buf)), 8);
	ck_assert_str_eq(buf, "[::1]:80");
	target_format(&v6b, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[2001:db8::1:0:0:1]:65535");
	ck_assert_uint_eq(target_format(&none, buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, "-");
}
END_TEST

START_TEST(test_format_domain_escapes)
{
	static const char name[] = "a\nb\x7f\xff \\c.example";
	struct target t;
	char buf[TARGET_TEXT_MAX];

	ck_assert_int_eq(target_set_domain(&t, name, sizeof(name) - 1, 443), 0);
	size_t n = target_format(&t, buf, sizeof(buf));
	ck_assert_str_eq(buf, "a\\x0ab\\x7f\\xff\\x20\\x5cc.example:443");
	ck_assert_uint_eq(n, strlen(buf));

	t = make_domain("Plain-Host_1.example.COM", 8080);
	target_format(&t, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Plain-Host_1.example.COM:8080");
}
END_TEST

START_TEST(test_format_worst_case_fits)
{
	char name[TARGET_DOMAIN_MAX];
	struct target t;
	char buf[TARGET_TEXT_MAX];

	memset(name, 0x01, sizeof(name));
	ck_assert_int_eq(target_set_domain(&t, name, sizeof(name), 65535), 0);
	size_t n = target_format(&t, buf, sizeof(buf));
	ck_assert_uint_eq(n, 255 * 4 + 6);
	ck_assert_uint_lt(n, TARGET_TEXT_MAX);
	ck_assert_str_eq(buf + 255 * 4, ":65535");
	ck_assert_int_eq(memcmp(buf, "\\x01\\x01", 8), 0);
}
END_TEST

START_TEST(test_format_truncates)
{
	struct target v4 = { .type = TARGET_IPV4, .port = 80, .addr.ipv4 = { 1, 2, 3, 4 } };
	struct target dom = make_domain("ab\ncd", 1);
	char buf[16];

	memset(buf, 'Z', sizeof(buf));
	ck_assert_uint_eq(target_format(&v4, buf, 6), 5);
	ck_assert_str_eq(buf, "1.2.3");
	ck_assert_uint_eq((uint8_t)buf[6], 'Z'); /* nothing written past cap */
	ck_assert_uint_eq(target_format(&v4, buf, 1), 0);
	ck_assert_str_eq(buf, "");
	buf[0] = 'Z';
	ck_assert_uint_eq(target_format(&v4, buf, 0), 0);
	ck_assert_uint_eq((uint8_t)buf[0], 'Z');
	/* An escape that does not fit whole is left out, not cut in half. */
	ck_assert_uint_eq(target_format(&dom, buf, 5), 2);
	ck_assert_str_eq(buf, "ab");
	ck_assert_uint_eq(target_format(&dom, buf, 7), 6);
	ck_assert_str_eq(buf, "ab\\x0a");
}
END_TEST

START_TEST(test_sockaddr_format)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(1080) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[64];

	ck_assert_int_eq(inet_pton(AF_INET, "192.0.2.33", &sin.sin_addr), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::7", &sin6.sin6_addr), 1);
	ck_assert_uint_eq(sockaddr_format((struct sockaddr *)&sin, buf, sizeof(buf)), 15);
	ck_assert_str_eq(buf, "192.0.2.33:1080");
	sockaddr_format((struct sockaddr *)&sin6, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[2001:db8::7]:443");
	sockaddr_format((struct sockaddr *)&sun, buf, sizeof(buf));
	ck_assert_str_eq(buf, "-");
	sockaddr_format(NULL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "-");
	ck_assert_uint_eq(sockaddr_format((struct sockaddr *)&sin, buf, 4), 3);
	ck_assert_str_eq(buf, "192");
}
END_TEST

START_TEST(test_sockaddr_round_trip)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(65535) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(1) };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sockaddr_storage ss;
	struct target t;

	ck_assert_int_eq(inet_pton(AF_INET, "198.51.100.1", &sin.sin_addr), 1);
	ck_assert_int_eq(target_from_sockaddr(&t, (struct sockaddr *)&sin), 0);
	ck_assert_uint_eq(t.type, TARGET_IPV4);
	ck_assert_uint_eq(t.port, 65535);
	ck_assert_int_eq(target_to_sockaddr(&t, &ss), (int)sizeof(sin));
	ck_assert_mem_eq(&ss, &sin, sizeof(sin));

	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::ff", &sin6.sin6_addr), 1);
	ck_assert_int_eq(target_from_sockaddr(&t, (struct sockaddr *)&sin6), 0);
	ck_assert_uint_eq(t.type, TARGET_IPV6);
	ck_assert_uint_eq(t.port, 1);
	ck_assert_int_eq(target_to_sockaddr(&t, &ss), (int)sizeof(sin6));
	ck_assert_mem_eq(&ss, &sin6, sizeof(sin6));

	/* A v4-mapped address survives the round trip as IPv6... */
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:10.1.2.3", &sin6.sin6_addr), 1);
	ck_assert_int_eq(target_from_sockaddr(&t, (struct sockaddr *)&sin6), 0);
	ck_assert_uint_eq(t.type, TARGET_IPV6);
	/* ...until it is unmapped on purpose. */
	target_unmap_ipv4(&t);
	ck_assert_uint_eq(t.type, TARGET_IPV4);
	ck_assert_uint_eq(t.port, 1);
	static const uint8_t ip[4] = { 10, 1, 2, 3 };
	ck_assert_mem_eq(t.addr.ipv4, ip, 4);
	target_unmap_ipv4(&t); /* no-op on IPv4 */
	ck_assert_uint_eq(t.type, TARGET_IPV4);

	struct target v6 = make_ipv6("::1", 5);
	target_unmap_ipv4(&v6);
	ck_assert_uint_eq(v6.type, TARGET_IPV6);

	ck_assert_int_eq(target_from_sockaddr(&t, (struct sockaddr *)&sun), -EAFNOSUPPORT);
	t = make_domain("example.com", 80);
	ck_assert_int_eq(target_to_sockaddr(&t, &ss), -EINVAL);
	t.type = TARGET_NONE;
	ck_assert_int_eq(target_to_sockaddr(&t, &ss), -EINVAL);
}
END_TEST

START_TEST(test_set_domain)
{
	char name[TARGET_DOMAIN_MAX + 1];
	struct target t;

	memset(name, 'q', sizeof(name));
	ck_assert_int_eq(target_set_domain(&t, name, 255, 8), 0);
	ck_assert_uint_eq(t.type, TARGET_DOMAIN);
	ck_assert_uint_eq(t.domain_len, 255);
	ck_assert_uint_eq(t.port, 8);
	ck_assert_uint_eq(strlen(t.addr.domain), 255);
	ck_assert_int_eq(target_set_domain(&t, name, 256, 8), -EINVAL);
	ck_assert_int_eq(target_set_domain(&t, name, 0, 8), -EINVAL);
	ck_assert_int_eq(target_set_domain(&t, "a\0b", 3, 8), -EINVAL);
	/* A failed call leaves the target as it was. */
	ck_assert_uint_eq(t.domain_len, 255);
	ck_assert_int_eq(target_set_domain(&t, "short", 5, 9), 0);
	ck_assert_str_eq(t.addr.domain, "short");
}
END_TEST

/* What a session keeps: the same target back, a name at its own length. */
START_TEST(test_compact_round_trip)
{
	char name[TARGET_DOMAIN_MAX];
	struct target in[4], out;
	struct target_compact c = { 0 };
	char a[TARGET_TEXT_MAX], b[TARGET_TEXT_MAX];

	memset(name, 'z', sizeof(name));
	in[0] = (struct target){ .type = TARGET_IPV4, .port = 80, .addr.ipv4 = { 192, 0, 2, 1 } };
	in[1] = make_ipv6("2001:db8::1", 65535);
	in[2] = make_domain("a\nb.example", 443);
	ck_assert_int_eq(target_set_domain(&in[3], name, sizeof(name), 1), 0);
	for (size_t i = 0; i < 4; i++) {
		/* Each set replaces (and frees) what the previous one kept. */
		ck_assert_int_eq(target_compact_set(&c, &in[i]), 0);
		target_compact_get(&c, &out);
		ck_assert_uint_eq(out.type, in[i].type);
		ck_assert_uint_eq(out.port, in[i].port);
		target_format(&in[i], a, sizeof(a));
		target_format(&out, b, sizeof(b));
		ck_assert_str_eq(a, b);
		target_compact_format(&c, b, sizeof(b));
		ck_assert_str_eq(a, b);
	}
	ck_assert_uint_eq(out.domain_len, sizeof(name));
	ck_assert_int_eq(memcmp(out.addr.domain, name, sizeof(name)), 0);
	ck_assert_uint_eq(out.addr.domain[sizeof(name)], '\0');
	ck_assert_uint_eq(strlen(c.addr.domain), sizeof(name));
	target_compact_clear(&c);
	ck_assert_uint_eq(c.type, TARGET_NONE);
	target_compact_format(&c, b, sizeof(b));
	ck_assert_str_eq(b, "-");
	target_compact_clear(&c); /* clearing an empty one is harmless */
	ck_assert_uint_le(sizeof(struct target_compact), 24);
}
END_TEST

START_TEST(test_sockaddr_ip)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(1080) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sockaddr_storage ss;
	union sockaddr_ip ip;
	char buf[64];

	ck_assert_int_eq(inet_pton(AF_INET, "192.0.2.33", &sin.sin_addr), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::7", &sin6.sin6_addr), 1);
	sin6.sin6_scope_id = 3;

	ck_assert_int_eq(sockaddr_ip_set(&ip, (struct sockaddr *)&sin, sizeof(sin)), 0);
	sockaddr_format(&ip.sa, buf, sizeof(buf));
	ck_assert_str_eq(buf, "192.0.2.33:1080");
	memset(&ss, 0xaa, sizeof(ss));
	sockaddr_ip_to_storage(&ip, &ss);
	ck_assert_int_eq(memcmp(&ss, &sin, sizeof(sin)), 0);
	ck_assert_uint_eq(((const uint8_t *)&ss)[sizeof(ss) - 1], 0); /* the rest zeroed */

	ck_assert_int_eq(sockaddr_ip_set(&ip, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
	sockaddr_ip_to_storage(&ip, &ss);
	ck_assert_int_eq(memcmp(&ss, &sin6, sizeof(sin6)), 0);
	sockaddr_format((struct sockaddr *)&ss, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[2001:db8::7]:443");

	/* Other families and short lengths leave it empty. */
	ck_assert_int_eq(sockaddr_ip_set(&ip, (struct sockaddr *)&sun, sizeof(sun)), -EAFNOSUPPORT);
	ck_assert_uint_eq(ip.sa.sa_family, AF_UNSPEC);
	ck_assert_int_eq(sockaddr_ip_set(&ip, (struct sockaddr *)&sin6, sizeof(sin6) - 1),
			 -EAFNOSUPPORT);
	ck_assert_uint_eq(ip.sa.sa_family, AF_UNSPEC);
	sockaddr_format(&ip.sa, buf, sizeof(buf));
	ck_assert_str_eq(buf, "-");
	ck_assert_uint_eq(sizeof(union sockaddr_ip), sizeof(struct sockaddr_in6));
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("socks5");
	TCase *tc = tcase_create("negotiation");

	tcase_add_test(tc, test_greeting_parse);
	tcase_add_test(tc, test_greeting_255_methods);
	tcase_add_test(tc, test_greeting_errors);
	tcase_add_test(tc, test_greeting_encode);
	tcase_add_test(tc, test_method_choice);
	tcase_add_test(tc, test_userpass_parse);
	tcase_add_test(tc, test_userpass_empty_password);
	tcase_add_test(tc, test_userpass_max);
	tcase_add_test(tc, test_userpass_errors);
	tcase_add_test(tc, test_userpass_encode);
	tcase_add_test(tc, test_userpass_reply);
	suite_add_tcase(s, tc);

	tc = tcase_create("request");
	tcase_add_test(tc, test_request_ipv4);
	tcase_add_test(tc, test_request_ipv6);
	tcase_add_test(tc, test_request_domain);
	tcase_add_test(tc, test_request_domain_255);
	tcase_add_test(tc, test_request_rsv_ignored);
	tcase_add_test(tc, test_request_errors);
	tcase_add_test(tc, test_request_resolve);
	tcase_add_test(tc, test_request_bad_domains);
	tcase_add_test(tc, test_request_encode);
	tcase_add_test(tc, test_request_encode_invalid);
	tcase_add_test(tc, test_request_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("reply");
	tcase_add_test(tc, test_reply_encode);
	tcase_add_test(tc, test_reply_encode_odd_families);
	tcase_add_test(tc, test_reply_parse);
	tcase_add_test(tc, test_reply_parse_domain_and_failure);
	tcase_add_test(tc, test_reply_parse_errors);
	tcase_add_test(tc, test_reply_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("udp");
	tcase_add_test(tc, test_udp_parse);
	tcase_add_test(tc, test_udp_parse_domain_ipv6_frag);
	tcase_add_test(tc, test_udp_parse_short_is_malformed);
	tcase_add_test(tc, test_udp_parse_errors);
	tcase_add_test(tc, test_udp_encode);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_rep_from_errno);
	tcase_add_test(tc, test_rep_name);
	tcase_add_test(tc, test_proto_strerror);
	suite_add_tcase(s, tc);

	tc = tcase_create("target");
	tcase_add_test(tc, test_format_ip);
	tcase_add_test(tc, test_format_domain_escapes);
	tcase_add_test(tc, test_format_worst_case_fits);
	tcase_add_test(tc, test_format_truncates);
	tcase_add_test(tc, test_sockaddr_format);
	tcase_add_test(tc, test_sockaddr_round_trip);
	tcase_add_test(tc, test_set_domain);
	tcase_add_test(tc, test_compact_round_trip);
	tcase_add_test(tc, test_sockaddr_ip);
	suite_add_tcase(s, tc);
	return s;
}

#include "check_main.h"
