/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* libFuzzer target: the PROXY protocol header (v1 text and v2 binary).
 *
 * Every input goes through the parser under fuzz_check_stream()'s
 * contract (every prefix of a header is "need more", bytes behind it
 * change nothing, an error is decided by its own bytes). A header that
 * parses must be one we can use and must survive encode -> parse in its
 * own version. Separately, the input's bytes are read as a header to
 * send (version, families, addresses, ports): what the hop side encodes
 * must parse back to exactly that. */
#include "fuzz.h"

#include <errno.h>
#include <netinet/in.h>

#include "proto/proxyproto.h"

static ssize_t parse_header(const uint8_t *buf, size_t len, void *out)
{
	return proxyproto_parse(buf, len, out);
}

static void check_reencode(const struct proxyproto_header *h)
{
	uint8_t enc[PROXYPROTO_ENCODE_MAX];
	struct proxyproto_header back;
	ssize_t e;

	e = proxyproto_encode(enc, sizeof(enc), h->version, h);
	FUZZ_CHECK(e > 0 && (size_t)e <= sizeof(enc));
	memset(&back, 0, sizeof(back));
	FUZZ_CHECK(proxyproto_parse(enc, (size_t)e, &back) == e);
	FUZZ_CHECK(memcmp(&back, h, sizeof(back)) == 0);
	/* One byte short: refused, not overrun. */
	FUZZ_CHECK(proxyproto_encode(enc, (size_t)e - 1, h->version, h) == -ENOSPC);
}

static void check_parse(const uint8_t *data, size_t size)
{
	static const struct sockaddr_storage zero;
	struct proxyproto_header h;
	ssize_t n;

	n = fuzz_check_stream(parse_header, data, size, &h, sizeof(h));
	if (n <= 0)
		return;
	FUZZ_CHECK(h.version == 1 || h.version == 2);
	FUZZ_CHECK(n <= (h.version == 1 ? PROXYPROTO_V1_MAX : PROXYPROTO_V2_MAX));
	if (h.version == 1)
		FUZZ_CHECK(data[n - 2] == '\r' && data[n - 1] == '\n');
	if (h.cmd == PROXYPROTO_CMD_LOCAL) {
		FUZZ_CHECK(memcmp(&h.src, &zero, sizeof(zero)) == 0);
		FUZZ_CHECK(memcmp(&h.dst, &zero, sizeof(zero)) == 0);
	} else {
		FUZZ_CHECK(h.cmd == PROXYPROTO_CMD_PROXY);
		FUZZ_CHECK(h.src.ss_family == AF_INET || h.src.ss_family == AF_INET6);
		FUZZ_CHECK(h.dst.ss_family == h.src.ss_family);
	}
	check_reencode(&h);
}

/* Input bytes as a header to send: [flags][src 16][dst 16][sport 2][dport 2]. */
static void check_encode(const uint8_t *data, size_t size)
{
	struct proxyproto_header h;
	uint8_t flags;

	if (size < 37)
		return;
	flags = data[0];
	memset(&h, 0, sizeof(h));
	h.version = (flags & 1) ? 2 : 1;
	h.cmd = (flags & 2) ? PROXYPROTO_CMD_LOCAL : PROXYPROTO_CMD_PROXY;
	if (h.cmd == PROXYPROTO_CMD_PROXY) {
		int af = (flags & 4) ? AF_INET6 : AF_INET;
		const uint8_t *a[2] = { data + 1, data + 17 };
		const uint8_t *p[2] = { data + 33, data + 35 };
		struct sockaddr_storage *ss[2] = { &h.src, &h.dst };

		for (int i = 0; i < 2; i++) {
			if (af == AF_INET) {
				struct sockaddr_in *sin = (struct sockaddr_in *)ss[i];
				sin->sin_family = AF_INET;
				memcpy(&sin->sin_addr, a[i], 4);
				memcpy(&sin->sin_port, p[i], 2);
			} else {
				struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss[i];
				sin6->sin6_family = AF_INET6;
				memcpy(&sin6->sin6_addr, a[i], 16);
				memcpy(&sin6->sin6_port, p[i], 2);
			}
		}
	}
	check_reencode(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_parse(data, size);
	check_encode(data, size);
	return 0;
}
