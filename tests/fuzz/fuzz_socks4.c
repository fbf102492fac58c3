/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* libFuzzer target: SOCKS4/4a request (server side) and reply (chain side).
 *
 * Both parsers see every input. Beyond the streaming contract that
 * fuzz_check_stream() checks, a request or reply that parses must encode
 * back to the bytes it came from, and the encoding must parse to the same
 * struct: what the chain code sends is what the server code reads. */
#include "fuzz.h"

#include <errno.h>
#include <netinet/in.h>

#include "proto/socks4.h"

static ssize_t parse_request(const uint8_t *buf, size_t len, void *out)
{
	return socks4_parse_request(buf, len, out);
}

static ssize_t parse_reply(const uint8_t *buf, size_t len, void *out)
{
	return socks4_parse_reply(buf, len, out);
}

static void check_request(const uint8_t *data, size_t size)
{
	struct socks4_request req, again;
	uint8_t enc[SOCKS4_REQUEST_MAX];
	ssize_t n, e;

	n = fuzz_check_stream(parse_request, data, size, &req, sizeof(req));
	if (n <= 0)
		return;
	FUZZ_CHECK(n <= SOCKS4_REQUEST_MAX);
	FUZZ_CHECK(req.cmd == SOCKS4_CMD_CONNECT || req.cmd == SOCKS4_CMD_BIND);
	FUZZ_CHECK(strlen(req.userid) <= SOCKS4_USERID_MAX);
	/* 4a exactly when DSTIP is 0.0.0.x with x != 0. */
	FUZZ_CHECK(req.is_4a == (data[4] == 0 && data[5] == 0 && data[6] == 0 && data[7] != 0));
	FUZZ_CHECK(req.dst.type == (req.is_4a ? TARGET_DOMAIN : TARGET_IPV4));
	FUZZ_CHECK(req.dst.port == (uint16_t)(data[2] << 8 | data[3]));
	fuzz_check_target(&req.dst);

	e = socks4_encode_request(enc, sizeof(enc), req.cmd, &req.dst, req.userid);
	FUZZ_CHECK(e == n);
	/* The encoder always marks 4a with 0.0.0.1; the client may have sent
	 * any 0.0.0.x. Everything else is byte for byte. */
	FUZZ_CHECK(memcmp(enc, data, 4) == 0);
	if (!req.is_4a)
		FUZZ_CHECK(memcmp(enc + 4, data + 4, 4) == 0);
	FUZZ_CHECK(memcmp(enc + 8, data + 8, (size_t)n - 8) == 0);

	memset(&again, 0, sizeof(again));
	FUZZ_CHECK(socks4_parse_request(enc, (size_t)e, &again) == e);
	FUZZ_CHECK(memcmp(&again, &req, sizeof(req)) == 0);

	/* One byte short of the buffer it needs: refused, not overrun. */
	FUZZ_CHECK(socks4_encode_request(enc, (size_t)e - 1, req.cmd, &req.dst, req.userid) ==
		   -ENOSPC);
}

static void check_reply(const uint8_t *data, size_t size)
{
	struct socks4_reply rep, again;
	struct sockaddr_in sin;
	uint8_t enc[SOCKS4_REPLY_LEN];
	ssize_t n;

	n = fuzz_check_stream(parse_reply, data, size, &rep, sizeof(rep));
	if (n <= 0)
		return;
	FUZZ_CHECK(n == SOCKS4_REPLY_LEN);
	FUZZ_CHECK(data[0] == 0 || data[0] == SOCKS4_VERSION);
	FUZZ_CHECK(rep.cd == data[1]);
	FUZZ_CHECK(rep.bnd.type == TARGET_IPV4);
	fuzz_check_target(&rep.bnd);

	/* What our server would send for this address: the same 7 bytes after
	 * VN (which we always send as 0). */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(rep.bnd.port);
	memcpy(&sin.sin_addr, rep.bnd.addr.ipv4, 4);
	FUZZ_CHECK(socks4_encode_reply(enc, sizeof(enc), rep.cd, (const struct sockaddr *)&sin) ==
		   SOCKS4_REPLY_LEN);
	FUZZ_CHECK(enc[0] == 0);
	FUZZ_CHECK(memcmp(enc + 1, data + 1, SOCKS4_REPLY_LEN - 1) == 0);
	FUZZ_CHECK(socks4_parse_reply(enc, sizeof(enc), &again) == SOCKS4_REPLY_LEN);
	FUZZ_CHECK(memcmp(&again, &rep, sizeof(rep)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_request(data, size);
	check_reply(data, size);
	return 0;
}
