/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* libFuzzer target: every SOCKS5 and RFC 1929 parser.
 *
 * The first input byte picks the parser (modulo the number of parsers), the
 * rest is the message. Stream parsers are checked against the shared
 * contract (fuzz_check_stream); the UDP header parser against the datagram
 * one (a datagram is whole: never "need more"). Whatever parses must encode
 * back to the same bytes (RSV and FRAG aside) and parse again to the same
 * struct, because the chain code encodes what the server code parses. */
#include "fuzz.h"

#include <errno.h>
#include <netinet/in.h>

#include "proto/socks5.h"

enum which {
	W_GREETING,
	W_USERPASS,
	W_REQUEST,
	W_REPLY,
	W_UDP,
	W_METHOD_CHOICE,
	W_USERPASS_REPLY,
	W_COUNT,
};

static ssize_t parse_greeting(const uint8_t *buf, size_t len, void *out)
{
	return socks5_parse_greeting(buf, len, out);
}

static ssize_t parse_userpass(const uint8_t *buf, size_t len, void *out)
{
	return socks5_parse_userpass(buf, len, out);
}

static ssize_t parse_request(const uint8_t *buf, size_t len, void *out)
{
	return socks5_parse_request(buf, len, out);
}

static ssize_t parse_reply(const uint8_t *buf, size_t len, void *out)
{
	return socks5_parse_reply(buf, len, out);
}

static ssize_t parse_method_choice(const uint8_t *buf, size_t len, void *out)
{
	return socks5_parse_method_choice(buf, len, out);
}

static ssize_t parse_userpass_reply(const uint8_t *buf, size_t len, void *out)
{
	return socks5_parse_userpass_reply(buf, len, out);
}

static void check_greeting(const uint8_t *msg, size_t len)
{
	struct socks5_greeting g;
	uint8_t enc[SOCKS5_GREETING_MAX];
	ssize_t n = fuzz_check_stream(parse_greeting, msg, len, &g, sizeof(g));

	if (n <= 0)
		return;
	FUZZ_CHECK(g.nmethods >= 1 && n == 2 + g.nmethods);
	for (size_t i = 0; i < g.nmethods; i++)
		FUZZ_CHECK(socks5_greeting_offers(&g, msg[2 + i]));
	FUZZ_CHECK(socks5_encode_greeting(enc, sizeof(enc), g.methods, g.nmethods) == n);
	FUZZ_CHECK(memcmp(enc, msg, (size_t)n) == 0);
}

static void check_userpass(const uint8_t *msg, size_t len)
{
	struct socks5_userpass up, again;
	uint8_t enc[SOCKS5_USERPASS_MAX];
	ssize_t n = fuzz_check_stream(parse_userpass, msg, len, &up, sizeof(up));

	if (n <= 0)
		return;
	/* The copies are whole C strings: no NUL cut a name short. */
	FUZZ_CHECK(up.ulen >= 1 && strlen(up.user) == up.ulen);
	FUZZ_CHECK(strlen(up.pass) == up.plen);
	FUZZ_CHECK(n == 3 + up.ulen + up.plen);
	FUZZ_CHECK(socks5_encode_userpass(enc, sizeof(enc), up.user, up.pass) == n);
	FUZZ_CHECK(memcmp(enc, msg, (size_t)n) == 0);
	FUZZ_CHECK(socks5_parse_userpass(enc, (size_t)n, &again) == n);
	FUZZ_CHECK(memcmp(&again, &up, sizeof(up)) == 0);
}

static void check_request(const uint8_t *msg, size_t len)
{
	struct socks5_request req, again;
	uint8_t enc[SOCKS5_REQUEST_MAX];
	ssize_t n = fuzz_check_stream(parse_request, msg, len, &req, sizeof(req));

	if (n <= 0)
		return;
	FUZZ_CHECK(n <= SOCKS5_REQUEST_MAX);
	FUZZ_CHECK(req.cmd == msg[1]); /* any command parses, for the log */
	fuzz_check_target(&req.dst);
	if (!socks5_cmd_known(req.cmd)) {
		/* We never send a command we do not know. */
		FUZZ_CHECK(socks5_encode_request(enc, sizeof(enc), req.cmd, &req.dst) == -EINVAL);
		return;
	}

	/* Same bytes, except RSV, which the parser ignores and we send as 0. */
	FUZZ_CHECK(socks5_encode_request(enc, sizeof(enc), req.cmd, &req.dst) == n);
	FUZZ_CHECK(enc[2] == 0);
	FUZZ_CHECK(memcmp(enc, msg, 2) == 0);
	FUZZ_CHECK(memcmp(enc + 3, msg + 3, (size_t)n - 3) == 0);
	FUZZ_CHECK(socks5_encode_request(enc, (size_t)n - 1, req.cmd, &req.dst) == -ENOSPC);

	FUZZ_CHECK(socks5_encode_request(enc, sizeof(enc), req.cmd, &req.dst) == n);
	FUZZ_CHECK(socks5_parse_request(enc, (size_t)n, &again) == n);
	FUZZ_CHECK(again.cmd == req.cmd);
	FUZZ_CHECK(memcmp(&again.dst, &req.dst, sizeof(req.dst)) == 0);
}

static void check_reply(const uint8_t *msg, size_t len)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	struct socks5_reply rep;
	struct sockaddr_storage ss;
	uint8_t enc[SOCKS5_REPLY_MAX];
	ssize_t n = fuzz_check_stream(parse_reply, msg, len, &rep, sizeof(rep));
	ssize_t e;

	if (n <= 0)
		return;
	FUZZ_CHECK(n <= SOCKS5_REPLY_MAX);
	FUZZ_CHECK(rep.rep == msg[1]);
	fuzz_check_target(&rep.bnd);

	/* The address part is the one the UDP header uses too. */
	e = socks5_encode_udp_header(enc, sizeof(enc), &rep.bnd);
	FUZZ_CHECK(e == n);
	FUZZ_CHECK(memcmp(enc + 3, msg + 3, (size_t)n - 3) == 0);

	/* Our server encodes replies from socket addresses; a domain cannot be
	 * one, and an IPv4-mapped IPv6 address goes out as IPv4. */
	if (rep.bnd.type == TARGET_DOMAIN)
		return;
	FUZZ_CHECK(target_to_sockaddr(&rep.bnd, &ss) > 0);
	e = socks5_encode_reply(enc, sizeof(enc), rep.rep, (const struct sockaddr *)&ss);
	FUZZ_CHECK(e > 0 && enc[0] == SOCKS5_VERSION && enc[1] == rep.rep && enc[2] == 0);
	if (rep.bnd.type == TARGET_IPV6 && memcmp(rep.bnd.addr.ipv6, mapped, 12) == 0) {
		FUZZ_CHECK(e == 10 && enc[3] == TARGET_IPV4);
		FUZZ_CHECK(memcmp(enc + 4, rep.bnd.addr.ipv6 + 12, 4) == 0);
		FUZZ_CHECK(memcmp(enc + 8, msg + n - 2, 2) == 0);
	} else {
		FUZZ_CHECK(e == n);
		FUZZ_CHECK(memcmp(enc + 3, msg + 3, (size_t)n - 3) == 0);
	}
}

/* A datagram arrives whole, so this parser never says "need more": a
 * header parses from the first n bytes or the datagram is refused, and
 * cutting a datagram short of its header makes it an error. */
static void check_udp(const uint8_t *msg, size_t len)
{
	struct socks5_udp_header h, tmp;
	uint8_t enc[SOCKS5_UDP_HEADER_MAX];
	struct fuzz_tail tail;
	ssize_t n;

	memset(&h, 0xa5, sizeof(h));
	memset(&tmp, 0xa5, sizeof(tmp));
	n = socks5_parse_udp_header(msg, len, &h);
	FUZZ_CHECK(n != 0);
	FUZZ_CHECK(n <= (ssize_t)len && n >= -PROTO_EMALFORMED);
	if (n < 0)
		FUZZ_CHECK(memcmp(&h, &tmp, sizeof(h)) == 0);

	fuzz_tail_init(&tail, len);
	for (size_t k = 0; k < len; k++) {
		struct socks5_udp_header p;
		ssize_t r;

		memset(&p, 0xa5, sizeof(p));
		r = socks5_parse_udp_header(fuzz_tail_copy(&tail, msg, k), k, &p);
		if (n > 0 && (ssize_t)k >= n) {
			FUZZ_CHECK(r == n && memcmp(&p, &h, sizeof(p)) == 0);
		} else {
			FUZZ_CHECK(r < 0 && r >= -PROTO_EMALFORMED);
			FUZZ_CHECK(memcmp(&p, &tmp, sizeof(p)) == 0);
		}
	}
	fuzz_tail_free(&tail);
	if (n < 0)
		return;

	FUZZ_CHECK(n <= SOCKS5_UDP_HEADER_MAX);
	FUZZ_CHECK(h.frag == msg[2]);
	fuzz_check_target(&h.dst);
	/* We send RSV and FRAG as 0; the address part is byte for byte. */
	FUZZ_CHECK(socks5_encode_udp_header(enc, sizeof(enc), &h.dst) == n);
	FUZZ_CHECK(enc[0] == 0 && enc[1] == 0 && enc[2] == 0);
	FUZZ_CHECK(memcmp(enc + 3, msg + 3, (size_t)n - 3) == 0);
	FUZZ_CHECK(socks5_encode_udp_header(enc, (size_t)n - 1, &h.dst) == -ENOSPC);
}

static void check_method_choice(const uint8_t *msg, size_t len)
{
	uint8_t method, enc[2];
	ssize_t n = fuzz_check_stream(parse_method_choice, msg, len, &method, sizeof(method));

	if (n <= 0)
		return;
	FUZZ_CHECK(n == 2 && method == msg[1]);
	FUZZ_CHECK(socks5_encode_method_choice(enc, sizeof(enc), method) == 2);
	FUZZ_CHECK(memcmp(enc, msg, 2) == 0);
}

static void check_userpass_reply(const uint8_t *msg, size_t len)
{
	uint8_t status, enc[2];
	ssize_t n = fuzz_check_stream(parse_userpass_reply, msg, len, &status, sizeof(status));

	if (n <= 0)
		return;
	/* VER 0x05 is tolerated from servers; we always send 0x01. */
	FUZZ_CHECK(n == 2 && status == msg[1]);
	FUZZ_CHECK(msg[0] == SOCKS5_USERPASS_VERSION || msg[0] == SOCKS5_VERSION);
	FUZZ_CHECK(socks5_encode_userpass_reply(enc, sizeof(enc), status) == 2);
	FUZZ_CHECK(enc[0] == SOCKS5_USERPASS_VERSION && enc[1] == status);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static fuzz_check_fn *const checks[W_COUNT] = {
		[W_GREETING] = check_greeting,
		[W_USERPASS] = check_userpass,
		[W_REQUEST] = check_request,
		[W_REPLY] = check_reply,
		[W_UDP] = check_udp,
		[W_METHOD_CHOICE] = check_method_choice,
		[W_USERPASS_REPLY] = check_userpass_reply,
	};
	return fuzz_dispatch(checks, W_COUNT, data, size);
}
