/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* SOCKS4 and SOCKS4a: pure parsers and encoders, server and client side.
 * Same conventions as socks5.h. */
#ifndef HOPSOCKS_SOCKS4_H
#define HOPSOCKS_SOCKS4_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <netinet/in.h>

#include "proto/proto.h"
#include "proto/target.h"

#define SOCKS4_VERSION 0x04
#define SOCKS4_USERID_MAX 255

enum socks4_cmd {
	SOCKS4_CMD_CONNECT = 0x01,
	SOCKS4_CMD_BIND = 0x02,
};

enum socks4_cd {
	SOCKS4_CD_GRANTED = 90,
	SOCKS4_CD_REJECTED = 91,
	SOCKS4_CD_NO_IDENTD = 92,
	SOCKS4_CD_IDENT_MISMATCH = 93,
};

#define SOCKS4_REPLY_LEN 8
#define SOCKS4_REQUEST_MAX (8 + SOCKS4_USERID_MAX + 1 + 255 + 1)

struct socks4_request {
	uint8_t cmd;
	bool is_4a;        /* DSTIP was 0.0.0.x, x != 0, and a host name followed */
	struct target dst; /* TARGET_IPV4, or TARGET_DOMAIN for SOCKS4a */
	char userid[SOCKS4_USERID_MAX + 1];
};

/* VN(4) CD DSTPORT DSTIP USERID NUL [HOST NUL]. A USERID or host longer than
 * 255 bytes without its NUL is -PROTO_ETOOLONG (so a stream of garbage cannot
 * make us buffer forever); an empty SOCKS4a host is -PROTO_EDOMAIN; an
 * unknown CD is -PROTO_ECMD. */
ssize_t socks4_parse_request(const uint8_t *buf, size_t len, struct socks4_request *out);
/* Writes SOCKS4a when dst is a domain, plain SOCKS4 for IPv4; IPv6 is -EINVAL. */
ssize_t socks4_encode_request(uint8_t *out, size_t cap, uint8_t cmd, const struct target *dst,
			      const char *userid);

struct socks4_reply {
	uint8_t cd;
	struct target bnd; /* TARGET_IPV4 */
};

/* VN(0) CD DSTPORT DSTIP: 8 bytes. bnd may be NULL or non-IPv4: zeros are sent
 * (an IPv4-mapped IPv6 bnd counts as IPv4). */
ssize_t socks4_encode_reply(uint8_t *out, size_t cap, uint8_t cd, const struct sockaddr *bnd);
ssize_t socks4_parse_reply(const uint8_t *buf, size_t len, struct socks4_reply *out);

#endif
