/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The PROXY protocol (HAProxy's, versions 1 and 2): the header a load
 * balancer puts in front of a TCP stream to name the client it accepted.
 * A pure parser for the listener side and an encoder for the hop side;
 * same conventions as socks5.h: (buf, len, out) -> bytes consumed, 0 for
 * "need more", or -PROTO_E*; out is written only on success. */
#ifndef HOPSOCKS_PROXYPROTO_H
#define HOPSOCKS_PROXYPROTO_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "proto/proto.h"

/* v1: "PROXY TCP6 " + 2 * 39 + 2 * 5 + 3 spaces + CRLF = 107 bytes. */
#define PROXYPROTO_V1_MAX 107
/* v2: 16 fixed bytes, then at most this many bytes of addresses and TLVs.
 * 536 in all is the smallest MSS an IPv4 host must accept, so a header
 * this size always came in one segment from a real balancer; the largest
 * address block (AF_UNIX, 216 bytes) fits with room for TLVs. */
#define PROXYPROTO_V2_MAX    536
#define PROXYPROTO_V2_HEADER 16
/* The most the encoder writes (v1 with two IPv6 addresses). */
#define PROXYPROTO_ENCODE_MAX PROXYPROTO_V1_MAX

enum proxyproto_cmd {
	/* The header names a client: src/dst are set (AF_INET or AF_INET6). */
	PROXYPROTO_CMD_PROXY = 1,
	/* The balancer's own connection (v2 LOCAL, v1 UNKNOWN, v2 AF_UNSPEC),
	 * usually a health check: src/dst are AF_UNSPEC (all zero) and the
	 * socket's own addresses stay the truth. */
	PROXYPROTO_CMD_LOCAL = 2,
};

struct proxyproto_header {
	uint8_t version; /* 1 or 2 */
	uint8_t cmd;	 /* enum proxyproto_cmd */
	/* The client (src) and the address it connected to on the balancer
	 * (dst); all-zero for PROXYPROTO_CMD_LOCAL. */
	struct sockaddr_storage src;
	struct sockaddr_storage dst;
};

/* One header, v1 or v2 (told apart by the first byte). Errors:
 * -PROTO_EVERSION: neither signature (decided at the first byte that
 *   differs from both), or a v2 version nibble other than 2;
 * -PROTO_ECMD: a v2 command other than LOCAL/PROXY;
 * -PROTO_EATYP: a v2 PROXY header of a family or transport we cannot use
 *   as a TCP client address (AF_UNIX, DGRAM, unknown);
 * -PROTO_ETOOLONG: v1 without CRLF in 107 bytes, or a v2 length above
 *   PROXYPROTO_V2_MAX;
 * -PROTO_EMALFORMED: anything else (v1 syntax, address block too short,
 *   a TLV running past the header). */
ssize_t proxyproto_parse(const uint8_t *buf, size_t len, struct proxyproto_header *out);

/* Write h in the given version (1 or 2) into out. For PROXYPROTO_CMD_PROXY
 * src and dst must be AF_INET or AF_INET6; if their families differ the
 * IPv4 one is written as an IPv4-mapped IPv6 address. Returns the length,
 * -EINVAL for a header that cannot be written, -ENOSPC if cap is short. */
ssize_t proxyproto_encode(uint8_t *out, size_t cap, int version, const struct proxyproto_header *h);

#endif
