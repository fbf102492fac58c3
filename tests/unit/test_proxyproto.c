/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Unit tests for proxyproto.c: PROXY protocol v1 and v2, parse and encode. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proxyproto.h"

/* A copy in a heap block of exactly n bytes: ASan catches a read past n. */
static ssize_t parse_exact(const uint8_t *buf, size_t n, struct proxyproto_header *out)
{
	uint8_t *p = malloc(n > 0 ? n : 1);
	ssize_t rc;

	ck_assert_ptr_nonnull(p);
	if (n > 0)
		memcpy(p, buf, n);
	rc = proxyproto_parse(p, n, out);
	free(p);
	return rc;
}

/* Every prefix needs more; the whole parses to n; pipelined bytes after it
 * are left alone and change nothing. */
static void check_all_ways(const uint8_t *msg, size_t n, struct proxyproto_header *out)
{
	static const uint8_t tail[] = "\x05\x01\x00GET / HTTP/1.1\r\n";
	uint8_t buf[PROXYPROTO_V2_MAX + sizeof(tail)];
	struct proxyproto_header again;

	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(parse_exact(msg, i, out), 0);
	ck_assert_int_eq(parse_exact(msg, n, out), (ssize_t)n);
	memcpy(buf, msg, n);
	memcpy(buf + n, tail, sizeof(tail));
	ck_assert_int_eq(parse_exact(buf, n + sizeof(tail), &again), (ssize_t)n);
	ck_assert_mem_eq(&again, out, sizeof(again));
}

/* An error is decided by its own bytes: every longer input gives it too. */
static void check_error(const uint8_t *msg, size_t n, int err)
{
	struct proxyproto_header out;
	uint8_t buf[PROXYPROTO_V2_MAX + 64];

	memset(&out, 0x5a, sizeof(out));
	ck_assert_int_eq(parse_exact(msg, n, &out), -err);
	memcpy(buf, msg, n);
	memset(buf + n, '\n', 32);
	ck_assert_int_eq(parse_exact(buf, n + 32, &out), -err);
	/* out untouched on failure */
	for (size_t i = 0; i < sizeof(out); i++)
		ck_assert_int_eq(((uint8_t *)&out)[i], 0x5a);
}

static void check_v1_error(const char *line, int err)
{
	check_error((const uint8_t *)line, strlen(line), err);
}

static void check_sin(const struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	char text[INET_ADDRSTRLEN];

	ck_assert_int_eq(ss->ss_family, AF_INET);
	ck_assert_ptr_nonnull(inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text)));
	ck_assert_str_eq(text, addr);
	ck_assert_uint_eq(ntohs(sin->sin_port), port);
}

static void check_sin6(const struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	char text[INET6_ADDRSTRLEN];

	ck_assert_int_eq(ss->ss_family, AF_INET6);
	ck_assert_ptr_nonnull(inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text)));
	ck_assert_str_eq(text, addr);
	ck_assert_uint_eq(ntohs(sin6->sin6_port), port);
}

static void check_unspec(const struct sockaddr_storage *ss)
{
	static const struct sockaddr_storage zero;

	ck_assert_mem_eq(ss, &zero, sizeof(zero));
}

/* ---- v1 ---- */

START_TEST(v1_tcp4)
{
	static const char msg[] = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n";
	struct proxyproto_header h;

	check_all_ways((const uint8_t *)msg, strlen(msg), &h);
	ck_assert_int_eq(h.version, 1);
	ck_assert_int_eq(h.cmd, PROXYPROTO_CMD_PROXY);
	check_sin(&h.src, "192.0.2.7", 56324);
	check_sin(&h.dst, "198.51.100.1", 443);
}
END_TEST

START_TEST(v1_tcp6)
{
	static const char msg[] = "PROXY TCP6 2001:db8::7 ::1 0 65535\r\n";
	struct proxyproto_header h;

	check_all_ways((const uint8_t *)msg, strlen(msg), &h);
	ck_assert_int_eq(h.version, 1);
	ck_assert_int_eq(h.cmd, PROXYPROTO_CMD_PROXY);
	check_sin6(&h.src, "2001:db8::7", 0);
	check_sin6(&h.dst, "::1", 65535);
}
END_TEST

START_TEST(v1_longest)
{
	/* The longest TCP6 line (104 bytes), and the spec's worst case,
	 * 107 bytes exactly, which only UNKNOWN reaches. */
	static const char msg[] = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
				  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	static const char unknown[] = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
				      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	struct proxyproto_header h;

	ck_assert_uint_eq(strlen(msg), 104);
	check_all_ways((const uint8_t *)msg, strlen(msg), &h);
	check_sin6(&h.src, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
	ck_assert_uint_eq(strlen(unknown), PROXYPROTO_V1_MAX);
	check_all_ways((const uint8_t *)unknown, strlen(unknown), &h);
	ck_assert_int_eq(h.cmd, PROXYPROTO_CMD_LOCAL);
}
END_TEST

START_TEST(v1_unknown)
{
	static const char *const msgs[] = {
		"PROXY UNKNOWN\r\n",
		"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n",
		"PROXY UNKNOWN \r\n",
	};

	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		struct proxyproto_header h;

		check_all_ways((const uint8_t *)msgs[i], strlen(msgs[i]), &h);
		ck_assert_int_eq(h.version, 1);
		ck_assert_int_eq(h.cmd, PROXYPROTO_CMD_LOCAL);
		check_unspec(&h.src);
		check_unspec(&h.dst);
	}
}
END_TEST

START_TEST(v1_malformed)
{
	/* The signature is refused at its first wrong byte. */
	check_v1_error("proxy TCP4 1.2.3.4 1.2.3.4 1 1\r\n", PROTO_EVERSION);
	check_v1_error("PROXX", PROTO_EVERSION);
	check_v1_error("PROXY\r\n", PROTO_EVERSION);
	check_v1_error("PROXY\tTCP4", PROTO_EVERSION);
	check_v1_error("\x05\x01\x00", PROTO_EVERSION);
	check_v1_error("GET / HTTP/1.1\r\n", PROTO_EVERSION);
	check_v1_error("CONNECT example.com:443 HTTP/1.1\r\n", PROTO_EVERSION);
	/* The line itself. */
	static const char *const bad[] = {
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",	   /* LF without CR */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",	   /* trailing space */
		"PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",	   /* double space */
		"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",	   /* double space */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",	   /* three fields */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",	   /* five fields */
		"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",	   /* leading zero */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 00\r\n",	   /* leading zero */
		"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",  /* port range */
		"PROXY TCP4 1.2.3.4 5.6.7.8 100000 2\r\n", /* port range */
		"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",	   /* sign */
		"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",	   /* sign */
		"PROXY TCP4 1.2.3.4 5.6.7.8 0x1 2\r\n",	   /* hex */
		"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",	   /* short address */
		"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",	   /* octet range */
		"PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",	   /* leading zero */
		"PROXY TCP4 ::1 5.6.7.8 1 2\r\n",	   /* wrong family */
		"PROXY TCP6 1.2.3.4 ::1 1 2\r\n",	   /* wrong family */
		"PROXY TCP6 ::1 ::g 1 2\r\n",		   /* bad IPv6 */
		"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",	   /* scope id */
		"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",	   /* protocol */
		"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",	   /* protocol */
		"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",	   /* case */
		"PROXY TCP4\r\n",			   /* no fields */
		"PROXY TCP4 \r\n",			   /* empty fields */
		"PROXY UNKNOWNX\r\n",			   /* protocol */
		"PROXY \r\n",				   /* nothing */
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n",	   /* CR in a field */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_v1_error(bad[i], PROTO_EMALFORMED);
	/* A NUL inside a field. */
	check_error((const uint8_t *)"PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n", 33, PROTO_EMALFORMED);
	check_error((const uint8_t *)"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\0\r\n", 33, PROTO_EMALFORMED);
}
END_TEST

START_TEST(v1_too_long)
{
	char line[200];
	struct proxyproto_header h;

	/* 107 bytes without a LF: never a header. 106: still need more. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	ck_assert_int_eq(parse_exact((uint8_t *)line, PROXYPROTO_V1_MAX - 1, &h), 0);
	ck_assert_int_eq(parse_exact((uint8_t *)line, PROXYPROTO_V1_MAX, &h), -PROTO_ETOOLONG);
	ck_assert_int_eq(parse_exact((uint8_t *)line, sizeof(line), &h), -PROTO_ETOOLONG);
	/* A LF at byte 108 is too late. */
	line[PROXYPROTO_V1_MAX - 1 + 1] = '\r';
	line[PROXYPROTO_V1_MAX + 1] = '\n';
	ck_assert_int_eq(parse_exact((uint8_t *)line, PROXYPROTO_V1_MAX + 2, &h), -PROTO_ETOOLONG);
	/* ...and at byte 107 just in time. */
	line[PROXYPROTO_V1_MAX - 2] = '\r';
	line[PROXYPROTO_V1_MAX - 1] = '\n';
	ck_assert_int_eq(parse_exact((uint8_t *)line, PROXYPROTO_V1_MAX, &h), PROXYPROTO_V1_MAX);
	ck_assert_int_eq(h.cmd, PROXYPROTO_CMD_LOCAL);
}
END_TEST

/* ---- v2 ---- */

#define SIG "\x0d\x0a\x0d\x0a\x00\x0d\x0a\x51\x55\x49\x54\x0a"

START_TEST(v2_tcp4)
{
	static const uint8_t msg[] = SIG "\x21\x11\x00\x0c"
					 "\xc0\x00\x02\x07"
					 "\xc6\x33\x64\x01"
					 "\xdc\x04\x01\xbb";
	struct proxyproto_header h;

	check_all_ways(msg, sizeof(msg) - 1, &h);
	ck_assert_int_eq(h.version, 2);
	ck_assert_int_eq(h.cmd, PROXYPROTO_CMD_PROXY);
	check_sin(&h.src, "192.0.2.7", 56324);
	check_sin(&h.dst, "198.51.100.1", 443);
}
END_TEST

START_TEST(v2_tcp6)
{
	static const uint8_t msg[] =
		SIG "\x21\x21\x00\x24"
		    "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x07"
		    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
		    "\x00\x00\xff\xff";
	struct proxyproto_header h;

	check_all_ways(msg, sizeof(msg) - 1, &h);
	ck_assert_int_eq(h.version, 2);
	ck_assert_int_eq(h.cmd, PROXYPROTO_CMD_PROXY);
	check_sin6(&h.src, "2001:db8::7", 0);
	check_sin6(&h.dst, "::1", 65535);
}
END_TEST

START_TEST(v2_tlvs)
{
	/* TCP4 + PP2_TYPE_ALPN "h2" + PP2_TYPE_NOOP (empty) + AUTHORITY. */
	static const uint8_t msg[] = SIG "\x21\x11\x00\x22"
					 "\x7f\x00\x00\x02\x7f\x00\x00\x01\x30\x39\x04\x38"
					 "\x01\x00\x02h2"
					 "\x04\x00\x00"
					 "\x02\x00\x0b"
					 "example.com";
	struct proxyproto_header h;

	check_all_ways(msg, sizeof(msg) - 1, &h);
	ck_assert_int_eq(h.cmd, PROXYPROTO_CMD_PROXY);
	check_sin(&h.src, "127.0.0.2", 12345);
	check_sin(&h.dst, "127.0.0.1", 1080);
}
END_TEST

START_TEST(v2_local)
{
	/* HAProxy's health check: LOCAL, UNSPEC, no block. */
	static const uint8_t local[] = SIG "\x20\x00\x00\x00";
	/* LOCAL with an address block and junk: all ignored (the spec). */
	static const uint8_t local_block[] =
		SIG "\x20\x11\x00\x0e"
		    "\x7f\x00\x00\x02\x7f\x00\x00\x01\x30\x39\x04\x38\xff\xff";
	/* PROXY with UNSPEC: use the real endpoints, like LOCAL. */
	static const uint8_t unspec[] = SIG "\x21\x00\x00\x03\x04\x00\x00";
	const struct {
		const uint8_t *msg;
		size_t len;
	} cases[] = {
		{ local, sizeof(local) - 1 },
		{ local_block, sizeof(local_block) - 1 },
		{ unspec, sizeof(unspec) - 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proxyproto_header h;

		check_all_ways(cases[i].msg, cases[i].len, &h);
		ck_assert_int_eq(h.version, 2);
		ck_assert_int_eq(h.cmd, PROXYPROTO_CMD_LOCAL);
		check_unspec(&h.src);
		check_unspec(&h.dst);
	}
}
END_TEST

START_TEST(v2_malformed)
{
	/* Signature: wrong at any of its 12 bytes. */
	for (size_t i = 1; i < 12; i++) {
		uint8_t msg[] =
			SIG "\x21\x11\x00\x0c\x7f\x00\x00\x02\x7f\x00\x00\x01\x30\x39\x04\x38";
		msg[i] ^= 0x40;
		check_error(msg, i + 1, PROTO_EVERSION);
	}
	/* Version nibble 1 and 3; commands 2..15. */
	check_error((const uint8_t *)SIG "\x11", 13, PROTO_EVERSION);
	check_error((const uint8_t *)SIG "\x31", 13, PROTO_EVERSION);
	for (int c = 2; c < 16; c++) {
		uint8_t msg[] = SIG "\x20";
		msg[12] = (uint8_t)(0x20 | c);
		check_error(msg, 13, PROTO_ECMD);
	}
	/* Families and transports refused for PROXY. */
	static const uint8_t fams[] = { 0x01, 0x02, 0x10, 0x12, 0x13, 0x20,
					0x22, 0x31, 0x32, 0x41, 0xff };
	for (size_t i = 0; i < sizeof(fams); i++) {
		uint8_t msg[] = SIG "\x21\x00";
		msg[13] = fams[i];
		check_error(msg, 14, PROTO_EATYP);
	}
	/* Length above the cap; the cap itself is fine. */
	check_error((const uint8_t *)SIG "\x21\x11\x02\x09", 16, PROTO_ETOOLONG);
	check_error((const uint8_t *)SIG "\x20\x00\xff\xff", 16, PROTO_ETOOLONG);
	{
		uint8_t msg[PROXYPROTO_V2_MAX];
		struct proxyproto_header h;

		memset(msg, 0, sizeof(msg));
		memcpy(msg, SIG "\x21\x11\x02\x08", 16);
		/* One TLV covering the rest: 520 - 12 - 3 = 505 bytes. */
		msg[28] = 0x04;
		msg[29] = 505 >> 8;
		msg[30] = 505 & 0xff;
		ck_assert_int_eq(parse_exact(msg, sizeof(msg) - 1, &h), 0);
		ck_assert_int_eq(parse_exact(msg, sizeof(msg), &h), PROXYPROTO_V2_MAX);
		msg[30]++;
		check_error(msg, sizeof(msg), PROTO_EMALFORMED);
	}
	/* Address block shorter than its family needs. */
	check_error((const uint8_t *)SIG "\x21\x11\x00\x0b"
					 "\x7f\x00\x00\x02\x7f\x00\x00\x01\x30\x39\x04",
		    27, PROTO_EMALFORMED);
	check_error((const uint8_t *)SIG "\x21\x21\x00\x0c"
					 "\x7f\x00\x00\x02\x7f\x00\x00\x01\x30\x39\x04\x38",
		    28, PROTO_EMALFORMED);
	/* TLVs: a partial TLV head; a value running past the header. */
	check_error((const uint8_t *)SIG "\x21\x11\x00\x0e"
					 "\x7f\x00\x00\x02\x7f\x00\x00\x01\x30\x39\x04\x38\x04\x00",
		    30, PROTO_EMALFORMED);
	check_error((const uint8_t *)SIG
		    "\x21\x11\x00\x10"
		    "\x7f\x00\x00\x02\x7f\x00\x00\x01\x30\x39\x04\x38\x04\x00\x02x",
		    32, PROTO_EMALFORMED);
	check_error((const uint8_t *)SIG "\x21\x00\x00\x01\x00", 17, PROTO_EMALFORMED);
}
END_TEST

/* ---- encoder and round trip ---- */

static void make_sin(struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':') != NULL) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
		sin6->sin6_port = htons(port);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
		sin->sin_port = htons(port);
	}
}

START_TEST(encode_exact)
{
	struct proxyproto_header h;
	uint8_t out[PROXYPROTO_ENCODE_MAX];
	static const uint8_t v2[] = SIG "\x21\x11\x00\x0c"
					"\xc0\x00\x02\x07\xc6\x33\x64\x01\xdc\x04\x01\xbb";
	static const uint8_t local_hdr[] = SIG "\x20\x00\x00\x00";
	static const char v1[] = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n";

	memset(&h, 0, sizeof(h));
	h.cmd = PROXYPROTO_CMD_PROXY;
	make_sin(&h.src, "192.0.2.7", 56324);
	make_sin(&h.dst, "198.51.100.1", 443);
	ck_assert_int_eq(proxyproto_encode(out, sizeof(out), 1, &h), (ssize_t)strlen(v1));
	ck_assert_mem_eq(out, v1, strlen(v1));
	ck_assert_int_eq(proxyproto_encode(out, sizeof(out), 2, &h), (ssize_t)sizeof(v2) - 1);
	ck_assert_mem_eq(out, v2, sizeof(v2) - 1);
	/* Short buffers are refused, never overrun. */
	ck_assert_int_eq(proxyproto_encode(out, strlen(v1) - 1, 1, &h), -ENOSPC);
	ck_assert_int_eq(proxyproto_encode(out, sizeof(v2) - 2, 2, &h), -ENOSPC);
	ck_assert_int_eq(proxyproto_encode(out, sizeof(out), 3, &h), -EINVAL);

	/* Mixed families: IPv6, the IPv4 side mapped. */
	make_sin(&h.dst, "::1", 1080);
	ck_assert_int_gt(proxyproto_encode(out, sizeof(out), 1, &h), 0);
	ck_assert_mem_eq(out, "PROXY TCP6 ::ffff:192.0.2.7 ::1 56324 1080\r\n", 44);
	h.src.ss_family = AF_UNIX;
	ck_assert_int_eq(proxyproto_encode(out, sizeof(out), 2, &h), -EINVAL);

	memset(&h, 0, sizeof(h));
	h.cmd = PROXYPROTO_CMD_LOCAL;
	ck_assert_int_eq(proxyproto_encode(out, sizeof(out), 1, &h), 15);
	ck_assert_mem_eq(out, "PROXY UNKNOWN\r\n", 15);
	ck_assert_int_eq(proxyproto_encode(out, sizeof(out), 2, &h), 16);
	ck_assert_mem_eq(out, local_hdr, 16);
}
END_TEST

START_TEST(round_trip)
{
	static const char *const addrs[][2] = {
		{ "127.0.0.7", "127.0.0.1" },
		{ "0.0.0.0", "255.255.255.255" },
		{ "::1", "2001:db8::1" },
		{ "::ffff:10.0.0.1", "fe80::1" },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::" },
	};
	static const uint16_t ports[] = { 0, 1, 1080, 65535 };

	for (int version = 1; version <= 2; version++) {
		for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
			for (size_t j = 0; j < sizeof(ports) / sizeof(ports[0]); j++) {
				struct proxyproto_header h, back;
				uint8_t out[PROXYPROTO_ENCODE_MAX];
				ssize_t n;

				memset(&h, 0, sizeof(h));
				h.version = (uint8_t)version;
				h.cmd = PROXYPROTO_CMD_PROXY;
				make_sin(&h.src, addrs[i][0], ports[j]);
				make_sin(&h.dst, addrs[i][1], ports[3 - j]);
				n = proxyproto_encode(out, sizeof(out), version, &h);
				ck_assert_int_gt(n, 0);
				check_all_ways(out, (size_t)n, &back);
				ck_assert_mem_eq(&back, &h, sizeof(h));
			}
		}
	}
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("proxyproto");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, v1_tcp4);
	tcase_add_test(tc, v1_tcp6);
	tcase_add_test(tc, v1_longest);
	tcase_add_test(tc, v1_unknown);
	tcase_add_test(tc, v1_malformed);
	tcase_add_test(tc, v1_too_long);
	tcase_add_test(tc, v2_tcp4);
	tcase_add_test(tc, v2_tcp6);
	tcase_add_test(tc, v2_tlvs);
	tcase_add_test(tc, v2_local);
	tcase_add_test(tc, v2_malformed);
	tcase_add_test(tc, encode_exact);
	tcase_add_test(tc, round_trip);
	suite_add_tcase(s, tc);
	return s;
}

#include "check_main.h"
