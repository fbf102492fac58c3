/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* SOCKS5 (RFC 1928) and username/password authentication (RFC 1929):
 * pure parsers and encoders for both the server and the client side. No I/O.
 *
 * Parsers: (buf, len, out) -> bytes consumed (> 0), 0 = need more input,
 * or -PROTO_E* (see proto.h). A parser never reads past len and consumes
 * only whole messages, so trailing pipelined bytes stay in the caller's
 * buffer. Encoders write into out (cap bytes) and return the length
 * written, or -ENOSPC / -EINVAL. */
#ifndef HOPSOCKS_SOCKS5_H
#define HOPSOCKS_SOCKS5_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>

#include "proto/proto.h"
#include "proto/target.h"

#define SOCKS5_VERSION 0x05
#define SOCKS5_USERPASS_VERSION 0x01

enum socks5_method {
	SOCKS5_METHOD_NONE = 0x00,
	SOCKS5_METHOD_GSSAPI = 0x01,
	SOCKS5_METHOD_USERPASS = 0x02,
	SOCKS5_METHOD_UNACCEPTABLE = 0xff,
};

enum socks5_cmd {
	SOCKS5_CMD_CONNECT = 0x01,
	SOCKS5_CMD_BIND = 0x02,
	SOCKS5_CMD_UDP_ASSOCIATE = 0x03,
	/* Tor's extensions (torsocks resolves names with them): a name in,
	 * its address in BND; an address in, its name (ATYP 3) in BND. */
	SOCKS5_CMD_RESOLVE = 0xf0,
	SOCKS5_CMD_RESOLVE_PTR = 0xf1,
};

enum socks5_rep {
	SOCKS5_REP_SUCCEEDED = 0x00,
	SOCKS5_REP_GENERAL_FAILURE = 0x01,
	SOCKS5_REP_NOT_ALLOWED = 0x02,
	SOCKS5_REP_NET_UNREACHABLE = 0x03,
	SOCKS5_REP_HOST_UNREACHABLE = 0x04,
	SOCKS5_REP_CONN_REFUSED = 0x05,
	SOCKS5_REP_TTL_EXPIRED = 0x06,
	SOCKS5_REP_CMD_NOT_SUPPORTED = 0x07,
	SOCKS5_REP_ATYP_NOT_SUPPORTED = 0x08,
};

/* Longest possible messages, for sizing buffers. */
#define SOCKS5_GREETING_MAX (2 + 255)
#define SOCKS5_USERPASS_MAX (3 + 255 + 255)
#define SOCKS5_REQUEST_MAX (4 + 1 + 255 + 2)
#define SOCKS5_REPLY_MAX SOCKS5_REQUEST_MAX
#define SOCKS5_UDP_HEADER_MAX (4 + 1 + 255 + 2)

/* ---- method negotiation ---- */

struct socks5_greeting {
	uint8_t nmethods;
	uint8_t methods[255];
};

/* Client -> server: VER NMETHODS METHODS... NMETHODS = 0 is -PROTO_ENOMETHODS. */
ssize_t socks5_parse_greeting(const uint8_t *buf, size_t len, struct socks5_greeting *out);
bool socks5_greeting_offers(const struct socks5_greeting *g, uint8_t method);
ssize_t socks5_encode_greeting(uint8_t *out, size_t cap, const uint8_t *methods, size_t n);

/* Server -> client: VER METHOD (2 bytes). */
ssize_t socks5_encode_method_choice(uint8_t *out, size_t cap, uint8_t method);
ssize_t socks5_parse_method_choice(const uint8_t *buf, size_t len, uint8_t *method);

/* ---- RFC 1929 ---- */

struct socks5_userpass {
	uint8_t ulen, plen;
	char user[256]; /* NUL-terminated copies */
	char pass[256];
};

/* VER(0x01) ULEN UNAME PLEN PASSWD. ULEN = 0 is -PROTO_EUSER; PLEN = 0 is
 * accepted (an empty password). A NUL inside a field is -PROTO_EMALFORMED. */
ssize_t socks5_parse_userpass(const uint8_t *buf, size_t len, struct socks5_userpass *out);
ssize_t socks5_encode_userpass(uint8_t *out, size_t cap, const char *user, const char *pass);
/* VER(0x01) STATUS (0x00 success). */
ssize_t socks5_encode_userpass_reply(uint8_t *out, size_t cap, uint8_t status);
ssize_t socks5_parse_userpass_reply(const uint8_t *buf, size_t len, uint8_t *status);

/* ---- request and reply ---- */

struct socks5_request {
	uint8_t cmd; /* enum socks5_cmd */
	struct target dst;
};

/* VER CMD RSV ATYP DST.ADDR DST.PORT. Any CMD is parsed, with its target,
 * so the server can log what an unknown one asked for before it answers
 * 0x07 (socks5_cmd_known says which it serves). An unknown ATYP is
 * -PROTO_EATYP as soon as that byte is in the buffer (0x08 at once). A
 * zero-length domain or one containing a NUL is -PROTO_EDOMAIN. RSV is not
 * checked (RFC 1928 says it is reserved; some clients send garbage there). */
ssize_t socks5_parse_request(const uint8_t *buf, size_t len, struct socks5_request *out);
/* CONNECT, BIND, UDP ASSOCIATE, RESOLVE or RESOLVE_PTR. */
bool socks5_cmd_known(uint8_t cmd);
ssize_t socks5_encode_request(uint8_t *out, size_t cap, uint8_t cmd, const struct target *dst);

struct socks5_reply {
	uint8_t rep;
	struct target bnd;
};

/* VER REP RSV ATYP BND.ADDR BND.PORT. bnd may be NULL: 0.0.0.0:0 is sent
 * (also for a family other than AF_INET/AF_INET6). An IPv4-mapped IPv6 bnd
 * is sent as IPv4. */
ssize_t socks5_encode_reply(uint8_t *out, size_t cap, uint8_t rep, const struct sockaddr *bnd);
ssize_t socks5_parse_reply(const uint8_t *buf, size_t len, struct socks5_reply *out);
/* A reply whose BND is any target: a name (ATYP 3) for RESOLVE_PTR's
 * answer. */
ssize_t socks5_encode_reply_target(uint8_t *out, size_t cap, uint8_t rep, const struct target *bnd);

/* ---- UDP datagram header (RFC 1928 section 7) ---- */

struct socks5_udp_header {
	uint8_t frag;
	struct target dst;
};

/* RSV(2) FRAG ATYP DST.ADDR DST.PORT DATA. Returns the header length; a
 * datagram is whole, so a short one is -PROTO_EMALFORMED, never 0. */
ssize_t socks5_parse_udp_header(const uint8_t *buf, size_t len, struct socks5_udp_header *out);
ssize_t socks5_encode_udp_header(uint8_t *out, size_t cap, const struct target *dst);

/* ---- error mapping (DESIGN.md) ---- */

/* errno of a failed connect (positive: ECONNREFUSED, ETIMEDOUT, ...) to REP. */
uint8_t socks5_rep_from_errno(int err);
/* Short English name of a REP code, for logs ("connection refused"). */
const char *socks5_rep_name(uint8_t rep);

#endif
